//! Which commit is judged and whose rules apply (issue #16), against the
//! GitHub-shaped server: each scenario is judged three ways, the commit
//! named by a branch (or tag, or `pull/N`), by its SHA, and by the GitHub
//! Actions environment, and must give the same verdict every time. Each
//! run is recorded, then replayed offline to the same items with the same
//! requests.
//!
//! The answers GitHub has no recording of in the shared fixtures (the
//! repository, a branch, a comparison, a job list, a `Branch not found`)
//! are written in the shapes GitHub's REST documentation gives.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use gate_ci::{Config, Environment, Progress};
use gate_core::{Evidence, GateOutcome, Status};
use serde_json::{Value, json};
use support::{Captured, GitHub, REPO, Recorded, fixture, go, item, listing, run_with};
use wiremock::ResponseTemplate;

/// The commit of `commit.get.json` and `check-runs.one-failure.json`.
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";
/// An older commit of `main`, tagged `v1.0`.
const OLD: &str = "5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea50";
/// A commit on no branch, tagged `v0.9-hotfix`.
const STRAY: &str = "de7ac4edde7ac4edde7ac4edde7ac4edde7ac4ed";
/// The synthetic merge commit of pull request 486: GitHub's API does not know it.
const MERGE: &str = "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e";
const RECORDING: &str = "ci-recording";

fn json_response(body: Value) -> Recorded {
    Recorded { body, status: 200, headers: vec![] }
}

fn not_found(message: &str, documentation: &str) -> Recorded {
    Recorded {
        body: json!({"message": message, "documentation_url": documentation}),
        status: 404,
        headers: vec![],
    }
}

/// `commit.get.json` as commit `sha`.
fn commit(sha: &str) -> Value {
    let mut body = fixture("commit.get").body;
    body["sha"] = json!(sha);
    body
}

/// Answers `GET …/commits/{name}` (a branch, tag or SHA) with commit `sha`.
fn resolves(gh: &GitHub, name: &str, sha: &str) {
    gh.serve(&format!("{REPO}/commits/{name}"), &json_response(commit(sha)));
}

/// `main` at [`SHA`] with the given rules and classic protection, and the
/// repository, whose default branch it is.
fn main_at(gh: &GitHub, rules: Recorded, protection: Recorded) {
    resolves(gh, "main", SHA);
    resolves(gh, SHA, SHA);
    gh.serve(&format!("{REPO}/branches/main"), &support::branch("main", &commit(SHA)));
    gh.serve(&format!("{REPO}/rules/branches/main"), &rules);
    gh.serve(&format!("{REPO}/branches/main/protection/required_status_checks"), &protection);
    // GET /repos/{owner}/{repo}, abridged to documented fields.
    gh.serve(
        REPO,
        &json_response(json!({
            "id": 1296269, "name": "app", "full_name": "octo/app", "private": false,
            "html_url": "https://github.com/octo/app", "default_branch": "main"
        })),
    );
}

/// `GET …/compare/main...{head}` in the documented shape.
fn compares(gh: &GitHub, head: &str, status: &str, ahead_by: u64, behind_by: u64) {
    let base = commit(SHA);
    gh.serve(
        &format!("{REPO}/compare/main...{head}"),
        &json_response(json!({
            "url": format!("https://api.github.com{REPO}/compare/main...{head}"),
            "html_url": format!("https://github.com/octo/app/compare/main...{head}"),
            "permalink_url": format!("https://github.com/octo/app/compare/octo:{SHA}...octo:{head}"),
            "diff_url": format!("https://github.com/octo/app/compare/main...{head}.diff"),
            "patch_url": format!("https://github.com/octo/app/compare/main...{head}.patch"),
            "base_commit": base, "merge_base_commit": base,
            "status": status, "ahead_by": ahead_by, "behind_by": behind_by,
            "total_commits": ahead_by, "commits": [], "files": []
        })),
    );
}

/// A ruleset (id 42) requiring `checks` (name, app id), in the documented shape.
fn ruleset(checks: &[(&str, Option<u64>)]) -> Recorded {
    let required: Vec<Value> =
        checks.iter().map(|(name, app)| json!({"context": name, "integration_id": app})).collect();
    let mut rules = fixture("rules-branch.200-no-status-checks");
    rules.body.as_array_mut().unwrap().push(json!({
        "type": "required_status_checks", "ruleset_source_type": "Repository",
        "ruleset_source": "octo/app", "ruleset_id": 42,
        "parameters": {"strict_required_status_checks_policy": false, "do_not_enforce_on_create": false,
                       "required_status_checks": required}
    }));
    rules
}

/// `check-runs.one-failure.json` with its runs renamed, each `(name, status, conclusion)`.
fn runs(runs: &[(&str, &str, Option<&str>)]) -> Recorded {
    let mut recorded = fixture("check-runs.one-failure");
    let template = recorded.body["check_runs"][0].clone();
    let list: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, (name, status, conclusion))| {
            let mut run = template.clone();
            run["id"] = json!(1000 + i);
            run["name"] = json!(name);
            run["status"] = json!(status);
            run["conclusion"] = json!(conclusion);
            if *status != "completed" {
                run["completed_at"] = Value::Null;
            }
            run
        })
        .collect();
    recorded.body = json!({"total_count": list.len(), "check_runs": list});
    recorded
}

fn green(names: &[&str]) -> Recorded {
    runs(&names.iter().map(|n| (*n, "completed", Some("success"))).collect::<Vec<_>>())
}

/// What ran on `sha`, no commit statuses, no workflow runs.
fn ran(gh: &GitHub, sha: &str, check_runs: &Recorded) {
    gh.ran(sha, check_runs, &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(sha);
}

/// One way to name the commit.
struct Naming {
    what: &'static str,
    /// `ref`; `None`: from the environment.
    target: Option<String>,
    env: Vec<(&'static str, String)>,
    /// The event file's content, written beside the repository.
    event: Option<Value>,
}

fn by_ref(what: &'static str, target: &str) -> Naming {
    Naming { what, target: Some(target.to_owned()), env: Vec::new(), event: None }
}

fn by_env(env: &[(&'static str, &str)], event: Value) -> Naming {
    Naming {
        what: "the Actions environment",
        target: None,
        env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        event: Some(event),
    }
}

/// A push of `main` at `sha`, as GitHub Actions describes it.
fn push_env(git_ref: &str, sha: &str) -> Naming {
    let (kind, name) = match git_ref.strip_prefix("refs/heads/") {
        Some(branch) => ("branch", branch),
        None => ("tag", git_ref.trim_start_matches("refs/tags/")),
    };
    by_env(
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_SHA", sha),
            ("GITHUB_REF", git_ref),
            ("GITHUB_REF_NAME", name),
            ("GITHUB_REF_TYPE", kind),
            ("GITHUB_REPOSITORY", "octo/app"),
        ],
        json!({"ref": git_ref, "before": "0000000000000000000000000000000000000000", "after": sha,
               "created": false, "deleted": false, "forced": false, "commits": [],
               "repository": {"full_name": "octo/app", "default_branch": "main"}}),
    )
}

/// What one naming gave, live.
struct Judged {
    what: &'static str,
    outcome: GateOutcome,
    progress: String,
    elapsed: Duration,
}

/// Judges `serve`'s repository once per naming, each on a fresh server:
/// records the live run, replays it offline (the API URL pointing at a
/// closed port), and requires the same items and requests; then requires
/// the same verdict from every naming.
fn judge_every_way(serve: impl Fn(&GitHub), extra: &str, namings: Vec<Naming>) -> Vec<Judged> {
    let mut judged = Vec::new();
    for naming in namings {
        let gh = GitHub::start();
        serve(&gh);
        let repo = tempfile::tempdir().unwrap();
        let mut env = naming.env.clone();
        if let Some(event) = &naming.event {
            let path = repo.path().join("event.json");
            std::fs::write(&path, serde_json::to_vec_pretty(event).unwrap()).unwrap();
            env.push(("GITHUB_EVENT_PATH", path.display().to_string()));
        }
        let env = Environment::from_pairs(env);
        let mut config = support::config(&gh, extra);
        config.target = naming.target.clone();
        config.record = Some(RECORDING.into());
        let captured = Captured::default();
        let started = Instant::now();
        let live = run_with(repo.path(), config.clone(), env.clone(), Progress::to(captured.clone(), false));
        let elapsed = started.elapsed();
        let served = gh.requests();
        drop(gh);

        let replayed = replay(repo.path(), config, env);
        let what = naming.what;
        assert_eq!(
            normalised(&replayed),
            normalised(&live),
            "{what}: live:\n{}replayed:\n{}",
            listing(&live),
            listing(&replayed)
        );
        assert_eq!(requests(&live), served.len(), "{what}: every request reached the server: {served:?}");
        assert_eq!(requests(&replayed), served.len(), "{what}: the replay asked what the live run asked");
        assert_eq!(
            std::fs::read_dir(repo.path().join(RECORDING)).unwrap().count(),
            served.len(),
            "{what}: one file per answer the live run used"
        );
        judged.push(Judged { what, outcome: live, progress: captured.text(), elapsed });
    }
    let verdicts: Vec<(&str, bool)> = judged.iter().map(|j| (j.what, go(&j.outcome))).collect();
    assert!(
        verdicts.iter().all(|(_, v)| *v == verdicts[0].1),
        "the same verdict every way: {verdicts:?}\n{}",
        judged.iter().map(|j| format!("{}:\n{}", j.what, listing(&j.outcome))).collect::<String>()
    );
    judged
}

fn replay(repo: &Path, mut config: Config, env: Environment) -> GateOutcome {
    let port = test_support::http::closed_port();
    config.api_url = Some(format!("http://127.0.0.1:{port}"));
    config.record = None;
    config.replay = Some(RECORDING.into());
    let started = Instant::now();
    let outcome = run_with(repo, config, env, Progress::to(std::io::sink(), false));
    assert!(started.elapsed() < Duration::from_secs(5), "a replay does not wait: {:?}", started.elapsed());
    outcome
}

/// Items with waited times blotted out (a replay waits its own time).
fn normalised(outcome: &GateOutcome) -> Vec<(String, String, Status, String)> {
    outcome
        .items
        .iter()
        .map(|i| {
            let mut reason = i.reason.clone();
            while let Some(at) = reason.find("after waiting ") {
                let start = at + "after waiting ".len();
                let end = reason[start..].find([' ', ')']).map_or(reason.len(), |e| start + e);
                reason.replace_range(at..end, "after WAITING");
            }
            (i.check.to_string(), i.subject.clone(), i.status, reason)
        })
        .collect()
}

/// The gate's own count of its requests, from its note.
fn requests(outcome: &GateOutcome) -> usize {
    outcome
        .notes
        .iter()
        .find_map(|n| n.strip_suffix(" GitHub request(s)")?.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {:?}", outcome.notes))
}

fn note<'a>(outcome: &'a GateOutcome, start: &str) -> &'a str {
    outcome
        .notes
        .iter()
        .find(|n| n.starts_with(start))
        .unwrap_or_else(|| panic!("no note starting {start:?} in {:#?}", outcome.notes))
}

fn fact<'a>(outcome: &'a GateOutcome, label: &str) -> &'a str {
    let head = outcome.items.iter().find(|i| i.check == "head").expect("a head item");
    head.evidence
        .iter()
        .find_map(|e| match e {
            Evidence::Fact { label: l, value } if l == label => Some(value.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no fact {label:?} in {:?}", head.evidence))
}

#[test]
fn a_push_to_main_under_classic_protection() {
    let serve = |gh: &GitHub| {
        main_at(gh, fixture("rules-branch.200-no-status-checks"), fixture("required-status-checks.200"));
        compares(gh, SHA, "identical", 0, 0);
        let mut checks = green(&["check1", "check2", "check3"]);
        checks.body["check_runs"][2]["app"]["id"] = json!(123456);
        ran(gh, SHA, &checks);
    };
    let judged = judge_every_way(
        serve,
        "",
        vec![by_ref("the branch", "main"), by_ref("the SHA", SHA), push_env("refs/heads/main", SHA)],
    );
    for j in &judged {
        assert!(go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert_eq!(item(&j.outcome, "required", "check3").status, Status::Pass);
        assert_eq!(fact(&j.outcome, "commit"), SHA, "{}", j.what);
        assert_eq!(fact(&j.outcome, "branch"), "main", "{}", j.what);
        assert_eq!(
            note(&j.outcome, "branch protection of main"),
            "branch protection of main: 3 required check(s)"
        );
    }
    assert_eq!(fact(&judged[0].outcome, "ref"), "main");
    assert_eq!(fact(&judged[0].outcome, "ref from"), "configuration");
    assert_eq!(
        note(&judged[1].outcome, "rules of branch"),
        "rules of branch main: the default branch, which has this commit in its history (its head, by GitHub's compare)"
    );
    assert_eq!(fact(&judged[2].outcome, "ref from"), "GITHUB_SHA");
    assert_eq!(
        note(&judged[2].outcome, "rules of branch"),
        "rules of branch main: the branch the workflow ran for (GITHUB_REF), whose commit GITHUB_SHA this is"
    );
}

#[test]
fn rulesets_only_and_a_required_circleci_status_that_never_reported() {
    let serve = |gh: &GitHub| {
        main_at(
            gh,
            ruleset(&[("test (Python 3.7)", Some(15368)), ("ci/circleci: build", None)]),
            fixture("branch-protection.404-not-protected"),
        );
        compares(gh, SHA, "identical", 0, 0);
        ran(gh, SHA, &fixture("check-runs.one-failure"));
    };
    let dispatch = by_env(
        &[
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("GITHUB_SHA", SHA),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_REF_TYPE", "branch"),
        ],
        json!({"ref": "refs/heads/main", "inputs": {}, "workflow": ".github/workflows/release.yml"}),
    );
    let judged =
        judge_every_way(serve, "", vec![by_ref("the branch", "main"), by_ref("the SHA", SHA), dispatch]);
    for j in &judged {
        assert!(!go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        let circleci = item(&j.outcome, "required", "ci/circleci: build");
        assert!(circleci.reason.starts_with("missing"), "{}: {}", j.what, circleci.reason);
        assert!(circleci.evidence.contains(&Evidence::fact("required by", "ruleset 42")));
        assert_eq!(item(&j.outcome, "required", "test (Python 3.7)").status, Status::Pass);
        // Not required: the failing 3.6 run is no item, and there is no fallback.
        assert!(j.outcome.items.iter().all(|i| i.check != "ran"), "{}: {}", j.what, listing(&j.outcome));
    }
}

#[test]
fn a_tag_on_an_older_commit_of_the_default_branch() {
    let serve = |gh: &GitHub| {
        main_at(
            gh,
            ruleset(&[("test (Python 3.7)", Some(15368))]),
            fixture("branch-protection.404-not-protected"),
        );
        resolves(gh, "v1.0", OLD);
        resolves(gh, OLD, OLD);
        // GitHub answers rules for any name; v1.0 is no branch.
        gh.serve(&format!("{REPO}/rules/branches/v1.0"), &json_response(json!([])));
        let branch_not_found = not_found(
            "Branch not found",
            "https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
        );
        gh.serve(&format!("{REPO}/branches/v1.0/protection/required_status_checks"), &branch_not_found);
        gh.serve(&format!("{REPO}/branches/v1.0"), &branch_not_found);
        compares(gh, OLD, "behind", 0, 3);
        ran(gh, OLD, &fixture("check-runs.one-failure"));
    };
    let judged = judge_every_way(
        serve,
        "",
        vec![by_ref("the tag", "v1.0"), by_ref("the SHA", OLD), push_env("refs/tags/v1.0", OLD)],
    );
    for j in &judged {
        assert!(go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert_eq!(fact(&j.outcome, "commit"), OLD);
        assert_eq!(
            note(&j.outcome, "rules of branch"),
            "rules of branch main: the default branch, which has this commit in its history (3 commit(s) behind its head, by GitHub's compare)",
            "{}",
            j.what
        );
        assert_eq!(item(&j.outcome, "required", "test (Python 3.7)").status, Status::Pass);
    }
    assert!(
        note(&judged[0].outcome, "v1.0 is not a branch").contains("looking for the branch whose rules apply")
    );
}

#[test]
fn a_pull_request_is_judged_at_its_head_under_its_base_branch_rules() {
    let pull = fixture("pull.get");
    let head = pull.body["head"]["sha"].as_str().unwrap().to_owned();
    let serve = |gh: &GitHub| {
        main_at(gh, fixture("rules-branch.200-no-status-checks"), fixture("required-status-checks.200"));
        gh.serve(&format!("{REPO}/pulls/486"), &pull);
        resolves(gh, &head, &head);
        compares(gh, &head, "diverged", 2, 5);
        gh.serve(&format!("{REPO}/commits/{head}/pulls"), &json_response(json!([pull.body])));
        let mut checks = green(&["check1", "check2", "check3"]);
        checks.body["check_runs"][2]["app"]["id"] = json!(123456);
        ran(gh, &head, &checks);
        // The merge commit is unknown to the API, as GitHub answers for a SHA it has not.
        let unknown = not_found(
            &format!("No commit found for SHA: {MERGE}"),
            "https://docs.github.com/rest/commits/commits#get-a-commit",
        );
        gh.serve(&format!("{REPO}/commits/{MERGE}"), &unknown);
    };
    let event = json!({
        "action": "synchronize", "number": 486,
        "pull_request": {"number": 486, "state": "open", "title": pull.body["title"],
                         "head": {"sha": head, "ref": "test/stable"},
                         "base": {"sha": "c4b41922197a1d595bff30e89bb8540013ee4fd3", "ref": "main"},
                         "merge_commit_sha": MERGE},
        "repository": {"full_name": "octo/app", "default_branch": "main"}
    });
    let env = by_env(
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_SHA", MERGE),
            ("GITHUB_REF", "refs/pull/486/merge"),
            ("GITHUB_REF_NAME", "486/merge"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_HEAD_REF", "test/stable"),
        ],
        event,
    );
    let judged = judge_every_way(
        serve,
        "",
        vec![by_ref("the pull request", "pull/486"), by_ref("the SHA", &head), env],
    );
    for j in &judged {
        assert!(go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert_eq!(fact(&j.outcome, "commit"), head, "{}: the head, never the merge commit", j.what);
        let named = j.outcome.judged.as_ref().expect("the gate names the commit it judged");
        assert_eq!(
            (named.sha.as_str(), named.git_ref.from.as_str()),
            (head.as_str(), fact(&j.outcome, "ref from"))
        );
        assert_eq!(named.git_ref.name, fact(&j.outcome, "ref"));
        assert_eq!(fact(&j.outcome, "branch"), "main");
        assert_eq!(item(&j.outcome, "required", "check3").status, Status::Pass);
    }
    assert_eq!(
        note(&judged[1].outcome, "rules of branch"),
        "rules of branch main: the base branch of pull request #486, whose head this commit is (GitHub's pull requests of the commit)"
    );
    let from_env = &judged[2].outcome;
    assert_eq!(
        fact(from_env, "ref from"),
        "the pull_request event: the head of pull request #486, not GITHUB_SHA 3e3e3e3e3e3e, its merge commit"
    );
    assert_eq!(
        note(from_env, "rules of branch"),
        "rules of branch main: the base branch of pull request #486 (GITHUB_BASE_REF), whose head this commit is"
    );
}

#[test]
fn the_merge_commit_of_a_pull_request_event_is_never_asked_about() {
    let pull = fixture("pull.get");
    let head = pull.body["head"]["sha"].as_str().unwrap().to_owned();
    let gh = GitHub::start();
    main_at(&gh, fixture("rules-branch.200-no-status-checks"), fixture("required-status-checks.200"));
    resolves(&gh, &head, &head);
    ran(&gh, &head, &green(&["check1", "check2"]));
    let repo = tempfile::tempdir().unwrap();
    let event = repo.path().join("event.json");
    std::fs::write(
        &event,
        json!({"number": 486, "pull_request": {"number": 486, "head": {"sha": head, "ref": "test/stable"},
                                                 "base": {"sha": SHA, "ref": "main"}}})
        .to_string(),
    )
    .unwrap();
    let env = Environment::from_pairs([
        ("GITHUB_EVENT_NAME", "pull_request_target"),
        ("GITHUB_SHA", MERGE),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    let mut config = support::config(&gh, "");
    config.target = None;
    let outcome = run_with(repo.path(), config, env, Progress::to(std::io::sink(), false));
    assert_eq!(fact(&outcome, "commit"), head);
    assert!(gh.requests().iter().all(|r| !r.contains(MERGE)), "{:?}", gh.requests());
    // The event's base ref when GITHUB_BASE_REF is not set.
    assert!(note(&outcome, "rules of branch main").contains("the event's pull_request.base.ref"));
    // check3 is required but never reported.
    assert!(!go(&outcome));
    assert!(item(&outcome, "required", "check3").reason.starts_with("missing"));
}

#[test]
fn a_commit_on_no_branch_has_unknown_required_checks_and_is_never_go() {
    let serve = |gh: &GitHub| {
        main_at(gh, fixture("rules-branch.200-no-status-checks"), fixture("required-status-checks.200"));
        resolves(gh, "v0.9-hotfix", STRAY);
        resolves(gh, STRAY, STRAY);
        gh.serve(&format!("{REPO}/rules/branches/v0.9-hotfix"), &json_response(json!([])));
        let branch_not_found = not_found(
            "Branch not found",
            "https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
        );
        gh.serve(
            &format!("{REPO}/branches/v0.9-hotfix/protection/required_status_checks"),
            &branch_not_found,
        );
        gh.serve(&format!("{REPO}/branches/v0.9-hotfix"), &branch_not_found);
        compares(gh, STRAY, "diverged", 1, 4);
        gh.serve(&format!("{REPO}/commits/{STRAY}/pulls"), &json_response(json!([])));
        // Everything that ran passed: the old fallback would have said GO.
        ran(gh, STRAY, &green(&["check1", "check2"]));
    };
    let judged = judge_every_way(
        serve,
        "wait = \"30s\"\npoll-interval = \"100ms\"",
        vec![
            by_ref("the tag", "v0.9-hotfix"),
            by_ref("the SHA", STRAY),
            push_env("refs/tags/v0.9-hotfix", STRAY),
        ],
    );
    for j in &judged {
        assert!(!go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        let blocker = item(&j.outcome, "target", "branch");
        assert_eq!(blocker.status, Status::Fail);
        assert!(blocker.reason.contains("are unknown"), "{}", blocker.reason);
        assert!(blocker.reason.contains("Set `[gates.ci] branch`"), "{}", blocker.reason);
        assert!(
            blocker.reason.contains("is not in the history of the default branch main (GitHub's compare: diverged, 1 ahead, 4 behind) and no open pull request has it as its head"),
            "{}",
            blocker.reason
        );
        assert!(j.outcome.items.iter().all(|i| i.check != "ran"), "no fallback: {}", listing(&j.outcome));
        assert_eq!(fact(&j.outcome, "branch"), "unknown");
        // It cannot become GO, so it does not wait.
        assert!(j.elapsed < Duration::from_secs(5), "{}: {:?}", j.what, j.elapsed);
    }
}

#[test]
fn a_failing_required_check_stops_the_wait_while_another_is_queued() {
    let parent = "1111111111111111111111111111111111111111";
    let serve = |gh: &GitHub| {
        main_at(
            gh,
            fixture("rules-branch.200-no-status-checks"),
            fixture("required-status-checks.404-not-enabled"),
        );
        compares(gh, SHA, "identical", 0, 0);
        let route = format!("{REPO}/commits/{SHA}/check-runs?filter=latest");
        let running = runs(&[("test (Python 3.6)", "in_progress", None), ("deploy-preview", "queued", None)]);
        let failed =
            runs(&[("test (Python 3.6)", "completed", Some("failure")), ("deploy-preview", "queued", None)]);
        gh.serve_times(&route, &running, 1);
        gh.serve(&route, &failed);
        gh.serve(&format!("{REPO}/commits/{SHA}/status"), &fixture("combined-status.pending-no-statuses"));
        gh.no_workflow_runs(SHA);
        let history = json!([
            {"sha": SHA, "parents": [{"sha": parent}], "commit": {"committer": {"date": "2020-08-28T04:20:12Z"}}},
            {"sha": parent, "parents": [], "commit": {"committer": {"date": "2020-08-27T10:00:00Z"}}}
        ]);
        gh.serve(&format!("{REPO}/commits?sha={SHA}"), &json_response(history));
        gh.serve(
            &format!("{REPO}/commits/{parent}/check-runs?filter=latest"),
            &green(&["test (Python 3.6)", "deploy-preview"]),
        );
        gh.serve(&format!("{REPO}/commits/{SHA}/pulls"), &json_response(json!([])));
    };
    let judged = judge_every_way(
        serve,
        "required = [\"test (Python 3.6)\", \"deploy-preview\"]\nwait = \"60s\"\npoll-interval = \"300ms\"\ngrace = \"30s\"",
        vec![by_ref("the branch", "main"), by_ref("the SHA", SHA), push_env("refs/heads/main", SHA)],
    );
    for j in &judged {
        assert!(!go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert!(j.elapsed < Duration::from_secs(10), "{}: stopped once 3.6 failed: {:?}", j.what, j.elapsed);
        let failed = item(&j.outcome, "required", "test (Python 3.6)");
        assert_eq!(
            failed.reason,
            format!(
                "failed: failure, check run 1000 (github-actions); failing since 6bc9ecc8c849 (2020-08-28T04:20:12Z), last green 111111111111 (2020-08-27T10:00:00Z)"
            )
        );
        assert!(failed.evidence.contains(&Evidence::fact("last green on", "2020-08-27T10:00:00Z")));
        let queued = item(&j.outcome, "required", "deploy-preview");
        assert!(queued.reason.starts_with("still queued after waiting "), "{}", queued.reason);
        assert!(
            queued.reason.ends_with("(test (Python 3.6) failed, so the verdict cannot become GO)"),
            "{}",
            queued.reason
        );
        assert!(
            note(&j.outcome, "waited ")
                .ends_with("for pending checks: test (Python 3.6) failed, so the verdict cannot become GO")
        );
        // Progress: one plain line per poll, then why it stopped.
        let lines: Vec<&str> = j.progress.lines().collect();
        assert_eq!(lines.len(), 2, "{}: {:?}", j.what, j.progress);
        assert!(
            lines[0].starts_with("ci: waiting on 6bc9ecc8c849 for 2 pending check(s): test (Python 3.6) (in_progress), deploy-preview (queued) ("),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(" of 1m 00s)"), "{}", lines[0]);
        assert!(lines[1].starts_with("ci: waited "), "{}", lines[1]);
        assert!(
            lines[1].ends_with("on 6bc9ecc8c849: test (Python 3.6) failed, so the verdict cannot become GO"),
            "{}",
            lines[1]
        );
    }
}

#[test]
fn a_history_walk_keeps_what_it_learnt_when_one_commit_cannot_be_read() {
    let chain = [
        SHA,
        "a000000000000000000000000000000000000001",
        "b000000000000000000000000000000000000002",
        "c000000000000000000000000000000000000003",
        "d000000000000000000000000000000000000004",
    ];
    let serve = |gh: &GitHub| {
        main_at(
            gh,
            fixture("rules-branch.200-no-status-checks"),
            fixture("required-status-checks.404-not-enabled"),
        );
        compares(gh, SHA, "identical", 0, 0);
        ran(gh, SHA, &runs(&[("build", "completed", Some("failure"))]));
        let history: Vec<Value> = chain
            .iter()
            .enumerate()
            .map(|(i, sha)| {
                let parents: Vec<Value> = chain.get(i + 1).map(|p| json!({"sha": p})).into_iter().collect();
                json!({"sha": sha, "parents": parents, "commit": {"committer": {"date": format!("2020-08-2{}T00:00:00Z", 8 - i)}}})
            })
            .collect();
        gh.serve(&format!("{REPO}/commits?sha={SHA}"), &json_response(Value::Array(history)));
        gh.serve(
            &format!("{REPO}/commits/{}/check-runs?filter=latest", chain[1]),
            &runs(&[("build", "completed", Some("failure"))]),
        );
        gh.serve_raw(
            &format!("{REPO}/commits/{}/check-runs", chain[2]),
            ResponseTemplate::new(502).set_body_raw("Server Error", "text/plain"),
        );
        for sha in &chain[3..] {
            gh.serve(&format!("{REPO}/commits/{sha}/check-runs?filter=latest"), &green(&["build"]));
        }
        gh.serve(&format!("{REPO}/commits/{}/pulls", chain[1]), &json_response(json!([])));
    };
    let judged = judge_every_way(
        serve,
        "required = [\"build\"]",
        vec![by_ref("the branch", "main"), by_ref("the SHA", SHA), push_env("refs/heads/main", SHA)],
    );
    for j in &judged {
        assert!(!go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert!(j.outcome.items.iter().all(|i| i.status != Status::Error), "{}", listing(&j.outcome));
        let build = item(&j.outcome, "required", "build");
        assert_eq!(
            build.reason,
            "failed: failure, check run 1000 (github-actions); failing since at least a00000000000 (2020-08-27T00:00:00Z); could not read the checks of b00000000000, so since when is not known further back"
        );
        let request = format!(
            "GET {REPO}/commits/{}/check-runs?filter=latest&per_page=100: HTTP 502: Server Error (after 2 attempts)",
            chain[2]
        );
        assert!(build.evidence.contains(&Evidence::fact("could not read", request)), "{:?}", build.evidence);
        assert!(build.evidence.contains(&Evidence::fact("failing since at least", chain[1])));
    }
}

#[test]
fn release_checks_own_job_is_left_out_and_never_waited_for() {
    let jobs = json!({"total_count": 2, "jobs": [
        {"id": 777, "run_id": 7001, "run_attempt": 1, "head_sha": SHA, "name": "release-check",
         "status": "in_progress", "conclusion": null, "started_at": "2020-08-28T04:30:00Z", "completed_at": null,
         "check_run_url": format!("https://api.github.com{REPO}/check-runs/777"),
         "html_url": "https://github.com/octo/app/actions/runs/7001/job/777",
         "labels": ["ubuntu-latest"], "runner_id": 3, "runner_name": "GitHub Actions 3",
         "runner_group_id": 2, "runner_group_name": "GitHub Actions", "workflow_name": "release", "steps": []},
        {"id": 1000, "run_id": 7001, "run_attempt": 1, "head_sha": SHA, "name": "build",
         "status": "completed", "conclusion": "success", "started_at": "2020-08-28T04:21:00Z",
         "completed_at": "2020-08-28T04:29:00Z",
         "check_run_url": format!("https://api.github.com{REPO}/check-runs/1000"),
         "html_url": "https://github.com/octo/app/actions/runs/7001/job/1000",
         "labels": ["ubuntu-latest"], "runner_id": 2, "runner_name": "GitHub Actions 2",
         "runner_group_id": 2, "runner_group_name": "GitHub Actions", "workflow_name": "release", "steps": []}
    ]});
    let serve = |gh: &GitHub| {
        main_at(
            gh,
            fixture("rules-branch.200-no-status-checks"),
            fixture("required-status-checks.404-not-enabled"),
        );
        let mut checks =
            runs(&[("build", "completed", Some("success")), ("release-check", "in_progress", None)]);
        checks.body["check_runs"][1]["id"] = json!(777);
        ran(gh, SHA, &checks);
        gh.serve(&format!("{REPO}/actions/runs/7001/attempts/1/jobs"), &json_response(jobs.clone()));
    };
    let actions: Vec<(&'static str, String)> = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_RUN_ID", "7001"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("GITHUB_JOB", "release-check"),
        ("RUNNER_NAME", "GitHub Actions 3"),
    ]
    .map(|(k, v)| (k, v.to_owned()))
    .to_vec();
    let mut namings =
        vec![by_ref("the branch", "main"), by_ref("the SHA", SHA), push_env("refs/heads/main", SHA)];
    for naming in &mut namings {
        naming.env.extend(actions.iter().cloned());
        naming.env.push(("GITHUB_SHA", SHA.to_owned()));
        naming.env.push(("GITHUB_REF", "refs/heads/main".to_owned()));
    }
    let judged = judge_every_way(serve, "wait = \"30s\"\npoll-interval = \"100ms\"", namings);
    for j in &judged {
        assert!(go(&j.outcome), "{}: {}", j.what, listing(&j.outcome));
        assert!(j.elapsed < Duration::from_secs(5), "{}: waited on itself: {:?}", j.what, j.elapsed);
        assert_eq!(item(&j.outcome, "ran", "build").status, Status::Pass);
        assert_eq!(item(&j.outcome, "ran", "").status, Status::Warn, "the fallback is named");
        assert!(j.outcome.items.iter().all(|i| i.subject != "release-check"), "{}", listing(&j.outcome));
        assert!(
            note(&j.outcome, "left out release-check (check run 777)")
                .contains("the job running release-check")
        );
    }
}

#[test]
fn an_unreadable_event_file_is_an_error_naming_it() {
    let gh = GitHub::start();
    let repo = tempfile::tempdir().unwrap();
    let event = repo.path().join("event.json");
    std::fs::write(&event, "{\n  \"pull_request\": {\"number\": 486, \"head\": {\"sha\": 7}}\n}\n").unwrap();
    let env = Environment::from_pairs([
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_SHA", MERGE),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    let mut config = support::config(&gh, "");
    config.target = None;
    let outcome = run_with(repo.path(), config, env, Progress::to(std::io::sink(), false));
    let error = item(&outcome, "target", "event");
    assert_eq!(error.status, Status::Error);
    assert!(
        error.reason.starts_with(&format!("GITHUB_EVENT_PATH {}:2:", event.display())),
        "{}",
        error.reason
    );
    assert!(error.reason.contains("invalid type: integer `7`"), "{}", error.reason);
    assert!(gh.requests().is_empty(), "nothing asked without knowing the commit: {:?}", gh.requests());
}

//! The ci gate against a GitHub-shaped server answering with real recorded
//! GitHub responses: one test per scenario of what CI can look like.

mod support;

use gate_core::Status;
use serde_json::{Value, json};
use support::{GitHub, REPO, Recorded, config, fixture, go, item, listing, run};

/// The commit of `check-runs.one-failure.json` and `commit.get.json`.
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";

fn json_response(body: Value) -> Recorded {
    Recorded { body, status: 200, headers: vec![] }
}

#[test]
fn all_required_checks_green_is_go() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.all-success"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);
    let outcome = run(config(
        &gh,
        r#"required = ["Cargo test on nix (ubuntu-20.04, stable)", { name = "Cargo test on nix (*)", app = 15368 }]"#,
    ));
    assert!(go(&outcome), "{}", listing(&outcome));
    let passed = item(&outcome, "required", "Cargo test on nix (ubuntu-20.04, stable)");
    assert_eq!(passed.status, Status::Pass);
    assert!(passed.reason.contains("github-actions"), "{}", passed.reason);
    // The pattern matched both runs; the empty combined status is "no statuses", not pending.
    assert_eq!(item(&outcome, "required", "Cargo test on nix (ubuntu-20.04, 1.68)").status, Status::Pass);
    assert_eq!(item(&outcome, "head", "main").status, Status::Pass);
}

#[test]
fn a_failed_required_check_is_no_go_and_named() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.one-failure"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);
    // A history where the parent of SHA is green.
    let mut history = fixture("commits.list-page1");
    history.body = json!([
        commit_json(SHA, "1111111111111111111111111111111111111111"),
        commit_json("1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222")
    ]);
    gh.serve(&format!("{REPO}/commits?sha={SHA}"), &history);
    let green = runs_named(&["test (Python 3.6)"], "success");
    gh.serve(
        &format!("{REPO}/commits/1111111111111111111111111111111111111111/check-runs?filter=latest"),
        &green,
    );
    // Commits are read in batches: the grandparent is read too.
    gh.serve(
        &format!("{REPO}/commits/2222222222222222222222222222222222222222/check-runs?filter=latest"),
        &fixture("check-runs.empty"),
    );
    gh.serve(&format!("{REPO}/commits/{SHA}/pulls"), &json_response(json!([])));
    let outcome = run(config(&gh, r#"required = ["test (Python 3.6)", "test (Python 3.7)"]"#));
    assert!(!go(&outcome));
    let failed = item(&outcome, "required", "test (Python 3.6)");
    assert_eq!(failed.status, Status::Fail);
    assert!(failed.reason.starts_with("failed: failure"), "{}", failed.reason);
    assert!(failed.reason.contains("failing since 6bc9ecc8c849"), "{}", failed.reason);
    assert!(failed.reason.contains("last green 111111111111"), "{}", failed.reason);
    assert_eq!(item(&outcome, "required", "test (Python 3.7)").status, Status::Pass);
}

#[test]
fn a_required_check_that_never_reported_is_missing() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.all-success"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);
    let outcome = run(config(&gh, r#"required = ["deploy-preview"]"#));
    let missing = item(&outcome, "required", "deploy-preview");
    assert_eq!(missing.status, Status::Fail);
    assert!(missing.reason.starts_with("missing"), "{}", missing.reason);
    assert!(!go(&outcome));
}

#[test]
fn statuses_only_repository() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.empty"), &fixture("combined-status.failure"));
    let outcome = run(config(&gh, r#"required = ["example/2"]"#));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert!(item(&outcome, "required", "example/2").reason.contains("commit status"));

    let outcome = run(config(&gh, r#"required = ["example/1"]"#));
    // example/1 fails; the history walk reads statuses; with no history
    // served, since when stays open and the failed request is evidence.
    assert!(!go(&outcome));
    let failed = item(&outcome, "required", "example/1");
    assert!(
        failed.reason.starts_with("failed: failure, commit status; failing since at least 6bc9ecc8c849"),
        "{}",
        failed.reason
    );
    assert!(failed.reason.contains("could not read the history before 6bc9ecc8c849"), "{}", failed.reason);
    assert!(!failed.reason.contains("GET "), "requests belong in the evidence: {}", failed.reason);
    assert!(
        failed.evidence.iter().any(|e| matches!(e, gate_core::Evidence::Fact { label, value } if label == "could not read" && value.starts_with("GET /repos/octo/app/commits?sha="))),
        "{:?}",
        failed.evidence
    );
    assert!(outcome.items.iter().all(|i| i.status != Status::Error), "{}", listing(&outcome));
}

#[test]
fn without_required_checks_every_check_that_ran_must_pass() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.all-success"), &fixture("combined-status.success"));
    gh.no_workflow_runs(SHA);
    let outcome = run(config(&gh, ""));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert_eq!(item(&outcome, "ran", "continuous-integration/travis-ci/push").status, Status::Pass);
    // GO only with a warning that names the fallback.
    let fallback = item(&outcome, "ran", "");
    assert_eq!(fallback.status, Status::Warn);
    assert!(
        fallback.reason.contains("judged by the fallback, every check that ran must pass"),
        "{}",
        fallback.reason
    );

    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.empty"), &fixture("combined-status.pending-no-statuses"));
    let outcome = run(config(&gh, ""));
    assert!(!go(&outcome));
    assert!(
        outcome.items.iter().any(|i| i.check == "ran" && i.reason.contains("nothing shows CI ran")),
        "{}",
        listing(&outcome)
    );
}

#[test]
fn required_checks_come_from_rulesets_and_branch_protection_with_their_source() {
    let gh = GitHub::start();
    let mut commit = fixture("commit.get");
    commit.body["sha"] = Value::String(SHA.into());
    gh.serve(&format!("{REPO}/commits/main"), &commit);
    // A ruleset rule as GitHub documents it (no real recording exists).
    let rules = json!([
        {"type": "deletion"},
        {"type": "required_status_checks", "ruleset_source_type": "Repository", "ruleset_source": "octo/app", "ruleset_id": 42,
         "parameters": {"strict_required_status_checks_policy": true, "do_not_enforce_on_create": false,
                        "required_status_checks": [{"context": "test (Python 3.6)", "integration_id": 15368}]}}
    ]);
    gh.serve(&format!("{REPO}/rules/branches/main"), &json_response(rules));
    gh.serve(
        &format!("{REPO}/branches/main/protection/required_status_checks"),
        &fixture("branch-protection.404-not-protected"),
    );
    gh.ran(SHA, &fixture("check-runs.one-failure"), &fixture("combined-status.pending-no-statuses"));
    gh.serve(
        &format!("{REPO}/commits?sha={SHA}"),
        &json_response(json!([commit_json(SHA, "1111111111111111111111111111111111111111")])),
    );
    gh.serve(
        &format!("{REPO}/commits/1111111111111111111111111111111111111111/check-runs?filter=latest"),
        &fixture("check-runs.empty"),
    );
    gh.serve(&format!("{REPO}/commits?sha=1111111111111111111111111111111111111111"), &json_response(json!([{"sha": "1111111111111111111111111111111111111111", "parents": [], "commit": {"committer": null}}])));
    gh.serve(&format!("{REPO}/commits/{SHA}/pulls"), &fixture("issue-comments.list-empty"));
    let outcome = run(config(&gh, ""));
    let failed = item(&outcome, "required", "test (Python 3.6)");
    assert_eq!(failed.status, Status::Fail, "{}", listing(&outcome));
    assert!(
        failed.evidence.contains(&gate_core::Evidence::fact("required by", "ruleset 42")),
        "{:?}",
        failed.evidence
    );
    assert!(
        failed.reason.contains("no green commit in 2 commits back: reached the first commit"),
        "{}",
        failed.reason
    );
    assert!(
        outcome.notes.iter().any(|n| n.contains("branch protection of main: no required checks")),
        "{:?}",
        outcome.notes
    );
    // Only the required check is an item: the other three runs are not required.
    assert_eq!(outcome.items.iter().filter(|i| i.check == "required").count(), 1, "{}", listing(&outcome));
}

#[test]
fn classic_protection_with_app_bound_checks() {
    let gh = GitHub::start();
    let mut commit = fixture("commit.get");
    commit.body["sha"] = Value::String(SHA.into());
    gh.serve(&format!("{REPO}/commits/main"), &commit);
    gh.serve(&format!("{REPO}/rules/branches/main"), &fixture("rules-branch.200-no-status-checks"));
    gh.serve(
        &format!("{REPO}/branches/main/protection/required_status_checks"),
        &fixture("required-status-checks.200"),
    );
    // check1 and check2 from any app, check3 only from app 123456: reported by another app, it is missing.
    let mut runs = runs_named(&["check1", "check2", "check3"], "success");
    runs.body["check_runs"][2]["app"]["id"] = json!(15368);
    gh.ran(SHA, &runs, &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);
    let outcome = run(config(&gh, ""));
    assert_eq!(item(&outcome, "required", "check1").status, Status::Pass, "{}", listing(&outcome));
    let check3 = item(&outcome, "required", "check3");
    assert_eq!(check3.status, Status::Fail);
    assert!(check3.evidence.contains(&gate_core::Evidence::fact("must be reported by", "app 123456")));
    assert!(check3.evidence.contains(&gate_core::Evidence::fact("required by", "branch protection")));
}

#[test]
fn every_page_of_check_runs_is_read() {
    let gh = GitHub::start();
    let sha = "78b9ff49d47daaa158eb373c4e2e040f739df8b9";
    gh.branch_main(sha);
    gh.serve(&format!("{REPO}/commits/{sha}/check-runs?filter=latest"), &fixture("check-runs.paged-p1"));
    for page in 2..=4 {
        gh.serve(
            &format!("/repositories/617210/commits/{sha}/check-runs?page={page}"),
            &fixture(&format!("check-runs.paged-p{page}")),
        );
    }
    gh.serve(&format!("{REPO}/commits/{sha}/status"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(sha);
    let outcome = run(config(&gh, ""));
    let names: Vec<&str> = outcome
        .items
        .iter()
        .filter(|i| i.check == "ran" && !i.subject.is_empty())
        .map(|i| i.subject.as_str())
        .collect();
    assert_eq!(names.len(), 8, "{}", listing(&outcome));
    let pages = gh.requests().iter().filter(|r| r.contains("/repositories/617210/")).count();
    assert_eq!(pages, 3, "{:?}", gh.requests());
}

#[test]
fn a_pull_request_is_resolved_to_its_head_and_base_branch() {
    let gh = GitHub::start();
    let pull = fixture("pull.get");
    let head = pull.body["head"]["sha"].as_str().unwrap().to_owned();
    gh.serve(&format!("{REPO}/pulls/486"), &pull);
    gh.serve(&format!("{REPO}/rules/branches/main"), &fixture("rules-branch.200-no-status-checks"));
    gh.serve(
        &format!("{REPO}/branches/main/protection/required_status_checks"),
        &fixture("required-status-checks.404-not-enabled"),
    );
    gh.ran(&head, &fixture("check-runs.all-success"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(&head);
    let mut config = config(&gh, "");
    config.target = Some("pull/486".into());
    let outcome = run(config);
    assert!(go(&outcome), "{}", listing(&outcome));
    assert!(
        outcome.notes.iter().any(|n| n == &format!("pull request #486 is {head}")),
        "{:?}",
        outcome.notes
    );
    assert_eq!(item(&outcome, "head", "pull request #486").status, Status::Pass);
}

#[test]
fn a_head_that_moves_during_the_check_is_reported() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    let mut first = fixture("commit.get");
    first.body["sha"] = json!("0000000000000000000000000000000000000001");
    gh.serve_times(&format!("{REPO}/commits/main"), &first, 1);
    gh.ran(
        "0000000000000000000000000000000000000001",
        &fixture("check-runs.all-success"),
        &fixture("combined-status.pending-no-statuses"),
    );
    gh.no_workflow_runs("0000000000000000000000000000000000000001");
    let outcome = run(config(&gh, ""));
    let head = item(&outcome, "head", "main");
    assert_eq!(head.status, Status::Fail);
    assert!(head.reason.contains("moved from 000000000000 to 6bc9ecc8c849"), "{}", head.reason);
}

#[test]
fn waiting_starts_over_when_the_head_moves() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    let mut first = fixture("commit.get");
    first.body["sha"] = json!("0000000000000000000000000000000000000001");
    gh.serve_times(&format!("{REPO}/commits/main"), &first, 1);
    for sha in ["0000000000000000000000000000000000000001", SHA] {
        gh.ran(sha, &fixture("check-runs.all-success"), &fixture("combined-status.pending-no-statuses"));
        gh.no_workflow_runs(sha);
    }
    let outcome = run(config(&gh, "wait = \"5s\"\npoll-interval = \"1s\""));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("moved from 000000000000 to 6bc9ecc8c849 while waiting: starting over")),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn pending_then_green_under_wait() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    let queued = fixture("check-runs.queued");
    let mut running = fixture("check-runs.queued");
    running.body["check_runs"][0]["status"] = json!("in_progress");
    let mut done = fixture("check-runs.queued");
    done.body["check_runs"][0]["status"] = json!("completed");
    done.body["check_runs"][0]["conclusion"] = json!("success");
    done.body["check_runs"][0]["completed_at"] = json!("2020-10-23T03:10:00Z");
    let route = format!("{REPO}/commits/{SHA}/check-runs?filter=latest");
    gh.serve_times(&route, &queued, 1);
    gh.serve_times(&route, &running, 1);
    gh.serve(&route, &done);
    gh.serve(&format!("{REPO}/commits/{SHA}/status"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);

    // Without waiting, a queued check is pending: NO-GO.
    let gh2 = GitHub::start();
    gh2.branch_main(SHA);
    gh2.ran(SHA, &queued, &fixture("combined-status.pending-no-statuses"));
    let outcome = run(config(&gh2, r#"required = ["test_create_check_run"]"#));
    assert!(
        item(&outcome, "required", "test_create_check_run").reason.starts_with("pending (queued)"),
        "{}",
        listing(&outcome)
    );

    let outcome =
        run(config(&gh, "required = [\"test_create_check_run\"]\nwait = \"20s\"\npoll-interval = \"100ms\""));
    assert!(go(&outcome), "{}", listing(&outcome));
    let polls = gh.requests().iter().filter(|r| r.contains("/check-runs")).count();
    assert_eq!(polls, 3, "{:?}", gh.requests());
}

#[test]
fn a_check_that_never_starts_is_no_go_after_the_grace_time() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.queued"), &fixture("combined-status.pending-no-statuses"));
    let started = std::time::Instant::now();
    let outcome = run(config(
        &gh,
        "required = [\"test_create_check_run\", \"lint\"]\nwait = \"60s\"\ngrace = \"1s\"\npoll-interval = \"200ms\"",
    ));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "gave up after the grace time, not the wait"
    );
    assert!(
        item(&outcome, "required", "test_create_check_run").reason.starts_with("never started: still queued"),
        "{}",
        listing(&outcome)
    );
    assert!(
        item(&outcome, "required", "lint").reason.starts_with("never started: not reported after waiting 1."),
        "{}",
        listing(&outcome)
    );
}

#[test]
fn a_check_that_passed_only_on_a_rerun_is_flaky() {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    let run_fixture = fixture("actions-run.attempt-2");
    let suite = run_fixture.body["check_suite_id"].clone();
    let run_id = run_fixture.body["id"].as_u64().unwrap();
    let mut runs = runs_named(&["Analyze (python)"], "success");
    runs.body["check_runs"][0]["check_suite"] = json!({ "id": suite });
    gh.ran(SHA, &runs, &fixture("combined-status.pending-no-statuses"));
    gh.serve(
        &format!("{REPO}/actions/runs?head_sha={SHA}"),
        &json_response(json!({"total_count": 1, "workflow_runs": [run_fixture.body]})),
    );
    // The jobs of attempt 1, in the shape GitHub documents (no real recording exists).
    let jobs = json!({"total_count": 1, "jobs": [{
        "id": 1, "run_id": run_id, "run_attempt": 1, "name": "Analyze (python)", "status": "completed",
        "conclusion": "failure", "html_url": "https://github.com/octo/app/actions/runs/1/job/1"}]});
    gh.serve(&format!("{REPO}/actions/runs/{run_id}/attempts/1/jobs"), &json_response(jobs));
    let outcome = run(config(&gh, r#"required = ["Analyze (python)"]"#));
    assert!(go(&outcome), "a flaky pass is a warning: {}", listing(&outcome));
    let flaky = item(&outcome, "flaky", "Analyze (python)");
    assert_eq!(flaky.status, Status::Warn);
    assert_eq!(flaky.reason, "passed on attempt 2 of CodeQL Advanced after attempt 1 failed (failure)");
}

#[test]
fn since_when_walks_thirty_commits_back() {
    let gh = GitHub::start();
    let shas: Vec<String> = (0..45).map(|i| format!("{:040x}", 0xa000 + i)).collect();
    gh.branch_main(&shas[0]);
    // First-parent chain shas[0] <- shas[1] <- …; every commit also has a second (merged) parent.
    let history: Vec<Value> = shas
        .iter()
        .enumerate()
        .map(|(i, sha)| {
            let mut c = commit_json(sha, shas.get(i + 1).map_or("", String::as_str));
            if i + 1 < shas.len() {
                c["parents"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"sha": "ffffffffffffffffffffffffffffffffffffffff"}));
            }
            c
        })
        .collect();
    gh.serve(&format!("{REPO}/commits?sha={}", shas[0]), &json_response(Value::Array(history)));
    for (i, sha) in shas.iter().enumerate() {
        let conclusion = if i < 30 { "failure" } else { "success" };
        gh.serve(
            &format!("{REPO}/commits/{sha}/check-runs?filter=latest"),
            &runs_named(&["build"], conclusion),
        );
    }
    gh.serve(&format!("{REPO}/commits/{}/status", shas[0]), &fixture("combined-status.pending-no-statuses"));
    gh.serve(&format!("{REPO}/commits/{}/pulls", shas[29]), &json_response(json!([{"number": 77, "title": "Bump setuptools-scm", "html_url": "https://github.com/octo/app/pull/77"}])));
    let outcome = run(config(&gh, r#"required = ["build"]"#));
    let build = item(&outcome, "required", "build");
    assert!(build.reason.contains(&format!("failing since {}", &shas[29][..12])), "{}", build.reason);
    assert!(build.reason.contains(&format!("last green {}", &shas[30][..12])), "{}", build.reason);
    assert!(
        build
            .evidence
            .contains(&gate_core::Evidence::fact("introduced by", "pull request #77 Bump setuptools-scm"))
    );

    // Bounded: with 20 commits allowed it says how far it looked.
    let outcome = run(config(&gh, "required = [\"build\"]\nhistory-commits = 20"));
    let build = item(&outcome, "required", "build");
    assert!(
        build.reason.contains("no green commit in 21 commits back: walked the limit of 20 commits"),
        "{}",
        build.reason
    );
}

/// A commit in the commits-listing shape, with one parent (none if empty).
fn commit_json(sha: &str, parent: &str) -> Value {
    let mut commit = fixture("commits.list-page1").body[0].clone();
    commit["sha"] = json!(sha);
    commit["parents"] =
        if parent.is_empty() { json!([]) } else { json!([{"sha": parent, "url": "", "html_url": ""}]) };
    commit
}

/// The one-failure listing with its runs renamed to `names`, all with `conclusion`.
fn runs_named(names: &[&str], conclusion: &str) -> Recorded {
    let mut recorded = fixture("check-runs.one-failure");
    let template = recorded.body["check_runs"][0].clone();
    let runs: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut run = template.clone();
            run["id"] = json!(1000 + i);
            run["name"] = json!(name);
            run["conclusion"] = json!(conclusion);
            run
        })
        .collect();
    recorded.body = json!({"total_count": runs.len(), "check_runs": runs});
    recorded
}

#[test]
fn a_source_the_token_may_not_read_is_a_warning_with_the_request_in_the_evidence() {
    let gh = GitHub::start();
    let mut commit = fixture("commit.get");
    commit.body["sha"] = Value::String(SHA.into());
    gh.serve(&format!("{REPO}/commits/main"), &commit);
    gh.serve(&format!("{REPO}/rules/branches/main"), &fixture("error.403-not-accessible-by-integration"));
    gh.serve(
        &format!("{REPO}/branches/main/protection/required_status_checks"),
        &fixture("required-status-checks.200"),
    );
    gh.ran(
        SHA,
        &runs_named(&["check1", "check2", "check3"], "success"),
        &fixture("combined-status.pending-no-statuses"),
    );
    gh.no_workflow_runs(SHA);
    let outcome = run(config(&gh, ""));
    let source = item(&outcome, "sources", "rulesets of branch main");
    assert_eq!(source.status, Status::Warn);
    assert_eq!(
        source.reason,
        "could not be read: GitHub refused the token (HTTP 403: Resource not accessible by integration); the other sources still apply"
    );
    assert!(
        source.evidence.iter().any(|e| matches!(e, gate_core::Evidence::Fact { label, value }
            if label == "request" && value.starts_with("GET /repos/octo/app/rules/branches/main?per_page=100: HTTP 403"))),
        "{:?}",
        source.evidence
    );
    // Branch protection still applies: check3 must come from app 123456.
    assert_eq!(item(&outcome, "required", "check3").status, Status::Fail, "{}", listing(&outcome));
}

//! `release-check publish` end to end: the real binary against a stateful
//! GitHub-shaped server on 127.0.0.1 (the publish crate's test server).
//! The dry run sends nothing; `--post` creates then updates the comment;
//! exit codes keep the report's verdict unless posting failed (3) or the
//! report could not be read (2); the token never appears in any output.

#[path = "../../publish/tests/support/mod.rs"]
mod support;

use gate_core::{Item, Location, Report};
use release_check_e2e::{Run, release_check_with_env};
use support::{GitHub, PR, REPO, SHA, report};
use wiremock::ResponseTemplate;

/// A token value that must never be printed.
const CANARY: &str = "ghp_canaryTOKEN0123456789abcdefghijklmnop";
const MARKER: &str = "<!-- release-check: release-check -->";

fn no_go() -> Report {
    report(vec![(
        "wheels",
        vec![
            Item::pass("sums", "a.whl", "matches"),
            Item::fail("sums", "b.whl", "differs from the sums file").at(Location::at("SHA256SUMS", 4, 1)),
        ],
    )])
}

/// Writes `report` as JSON into `dir`; its path.
fn write(dir: &tempfile::TempDir, report: &Report) -> String {
    let path = dir.path().join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(report).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Runs `release-check publish REPORT --repository octo/app --pr 7 --sha SHA --api-url SERVER ARGS…`
/// with the canary token and `env`; checks the token is in no output.
fn publish(github: &GitHub, report: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let pr = PR.to_string();
    let url = github.url();
    let mut all = vec!["publish", report, "--repository", REPO, "--pr", &pr, "--sha", SHA, "--api-url", &url];
    all.extend_from_slice(args);
    // A pull_request event of the CI running these tests must not leak in.
    let mut vars = vec![("GITHUB_TOKEN", CANARY), ("GITHUB_EVENT_PATH", "")];
    vars.extend_from_slice(env);
    let run = release_check_with_env(all, &vars);
    assert!(!run.stdout.contains(CANARY) && !run.stderr.contains(CANARY), "the token leaked: {run:#?}");
    run
}

/// The commit statuses the server received: (state, description, target_url).
fn statuses(github: &GitHub) -> Vec<(String, String, Option<String>)> {
    let state = github.state.lock().unwrap();
    state
        .statuses
        .iter()
        .map(|(sha, s)| {
            assert_eq!(sha, SHA);
            (
                s["state"].as_str().unwrap().to_owned(),
                s["description"].as_str().unwrap().to_owned(),
                s["target_url"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn the_dry_run_prints_everything_and_sends_nothing() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let summary = dir.path().join("summary.md");
    let env = actions_env(&summary);
    let run = publish(&github, &report, &[], &env);
    assert_eq!(run.code, 1, "the NO-GO report's code: {run:#?}");
    assert!(run.stdout.starts_with("Dry run: nothing was posted (add --post to publish)."), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("--- comment on pull request #7 (created, or updated in place)\n{MARKER}\n## release-check: ❌ NO-GO")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("--- commit status on {SHA}")), "{}", run.stdout);
    assert!(run.stdout.contains(r#""state": "failure""#), "{}", run.stdout);
    assert!(
        run.stdout.contains(r#""target_url": "https://github.com/octo/app/actions/runs/99""#),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("--- appended to the job summary {}", summary.display())),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("::error file=SHA256SUMS,line=4,col=1,title=wheels/sums/b.whl::differs"));
    assert_eq!(github.requests(), Vec::<String>::new(), "the dry run sends no request");
    assert!(!summary.exists(), "the dry run writes no job summary");
}

#[test]
fn post_creates_the_comment_then_updates_it() {
    let github = GitHub::start("release-bot");
    github.seed(120, "a-reviewer");
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let first = publish(&github, &report, &["--post"], &[]);
    assert_eq!(first.code, 1, "{first:#?}");
    assert!(first.stderr.contains("posted: comment 1000120 created on pull request #7"), "{}", first.stderr);
    assert!(first.stderr.contains(&format!("posted: commit status failure `release-check` on {SHA}")));
    assert_eq!(first.stdout, "", "no workflow commands outside GitHub Actions");
    let second = publish(&github, &report, &["--post"], &[]);
    assert_eq!(second.code, 1, "{second:#?}");
    assert!(
        second.stderr.contains("posted: comment 1000120 updated on pull request #7"),
        "{}",
        second.stderr
    );
    assert_eq!(github.comments_containing(MARKER).len(), 1);
    assert_eq!(github.requests_of("PATCH"), vec![format!("PATCH /repos/{REPO}/issues/comments/1000120")]);
    let statuses = statuses(&github);
    assert_eq!(statuses.len(), 2);
    assert!(statuses.iter().all(|(state, description, url)| state == "failure"
        && description == "NO-GO: 1 blocker"
        && url.is_none()));
}

#[test]
fn inside_actions_it_appends_the_summary_and_annotates() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let summary = dir.path().join("summary.md");
    let env = actions_env(&summary);
    let run = publish(&github, &report, &["--post"], &env);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stdout,
        "::group::release-check annotations\n\
         ::error file=SHA256SUMS,line=4,col=1,title=wheels/sums/b.whl::differs from the sums file\n\
         ::endgroup::\n"
    );
    assert!(run.stderr.contains(&format!("posted: job summary ({})", summary.display())), "{}", run.stderr);
    assert!(std::fs::read_to_string(&summary).unwrap().starts_with("## release-check: ❌ NO-GO"));
    assert_eq!(statuses(&github)[0].2.as_deref(), Some("https://github.com/octo/app/actions/runs/99"));
}

#[test]
fn a_failed_step_exits_with_3_and_every_step_is_printed() {
    let github = GitHub::start("release-bot");
    github.fail_with("POST", &format!("/repos/{REPO}/issues/{PR}/comments"), ResponseTemplate::new(502));
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let run = publish(&github, &report, &["--post"], &[]);
    assert_eq!(run.code, 3, "{run:#?}");
    assert!(
        run.stderr.contains(&format!("error: comment: POST /repos/{REPO}/issues/{PR}/comments")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("posted: commit status failure"), "{}", run.stderr);
    assert!(run.stderr.contains("error: could not publish everything (exit code 3)"), "{}", run.stderr);
}

#[test]
fn an_unreachable_github_exits_with_3() {
    // A port nothing listens on: connecting is refused.
    let closed = format!("127.0.0.1:{}", test_support::http::closed_port());
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let url = format!("http://{closed}");
    let run = release_check_with_env(
        ["publish", &report, "--post", "--repository", REPO, "--pr", "7", "--sha", SHA, "--api-url", &url],
        &[("GITHUB_TOKEN", CANARY), ("GITHUB_EVENT_PATH", "")],
    );
    assert_eq!(run.code, 3, "{run:#?}");
    assert!(run.stderr.contains("error: comment: GET /user"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("error: commit status: POST /repos/{REPO}/statuses/{SHA}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(CANARY) && !run.stdout.contains(CANARY));
}

#[test]
fn an_unreadable_report_exits_with_2_and_posts_an_error_status() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let run = publish(&github, missing.to_str().unwrap(), &["--post"], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("error: cannot read the report"), "{}", run.stderr);
    let statuses = statuses(&github);
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].0, "error");
    assert!(statuses[0].1.starts_with("no verdict: cannot read the report"), "{}", statuses[0].1);
    assert!(statuses[0].1.chars().count() <= 140);
    assert!(github.requests().iter().all(|r| !r.contains("/comments")), "no comment without a report");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\n  \"schema_version\": 2,\n  oops\n}\n").unwrap();
    let run = publish(&github, garbage.to_str().unwrap(), &[], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(&format!("{}:3:3: not a release-check JSON report", garbage.display())),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains(r#""state": "error""#), "the dry run shows the error status: {}", run.stdout);
}

#[test]
fn a_read_only_token_keeps_the_reports_exit_code() {
    let github = GitHub::start("release-bot");
    github.read_only();
    let dir = tempfile::tempdir().unwrap();
    let report = write(&dir, &no_go());
    let run = publish(&github, &report, &["--post"], &[]);
    assert_eq!(run.code, 1, "NO-GO stays NO-GO: {run:#?}");
    assert!(run.stderr.contains("warning: no comment: the token may not write it"), "{}", run.stderr);
    assert!(run.stderr.contains("warning: no commit status: the token may not write it"), "{}", run.stderr);
    assert!(run.stderr.contains("Resource not accessible by integration"), "{}", run.stderr);
    assert!(!run.stderr.contains("could not publish"), "{}", run.stderr);

    let go = write(&dir, &report_go());
    assert_eq!(publish(&github, &go, &["--post"], &[]).code, 0, "GO stays GO");
}

/// Writes `report` as JSON into `dir` after `edit` changed it; its path.
fn write_edited(
    dir: &tempfile::TempDir,
    report: &Report,
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let mut json = serde_json::to_value(report).unwrap();
    edit(&mut json);
    let path = dir.path().join("edited.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_report_edited_to_say_go_exits_with_2_and_posts_an_error_status() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let forged = write_edited(&dir, &no_go(), |json| json["verdict"] = "GO".into());
    let run = publish(&github, &forged, &["--post"], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("the report is inconsistent: it says GO, but its items make it NO-GO"),
        "{}",
        run.stderr
    );
    let statuses = statuses(&github);
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].0, "error");
    assert!(statuses[0].1.starts_with("no verdict: "), "{}", statuses[0].1);
    assert!(statuses[0].1.contains("the report is inconsistent"), "{}", statuses[0].1);
    assert!(github.requests().iter().all(|r| !r.contains("/comments")), "no comment for a forged report");

    let dry = publish(&github, &forged, &[], &[]);
    assert_eq!(dry.code, 2, "{dry:#?}");
    assert!(dry.stdout.contains(r#""state": "error""#), "{}", dry.stdout);
    assert!(!dry.stdout.contains(r#""state": "success""#), "{}", dry.stdout);
}

#[test]
fn a_blocker_marked_waived_without_a_waiver_exits_with_2() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    // The verdict, headline and counts edited to match: only the waiver gives it away.
    let forged = write_edited(&dir, &no_go(), |json| {
        json["gates"][0]["items"][1]["waived_by"] = "wheels/*".into();
        json["verdict"] = "GO".into();
        json["headline"] = "no blockers, 1 waived".into();
        json["summary"]["blockers"] = 0.into();
        json["summary"]["waived"] = 1.into();
    });
    let run = publish(&github, &forged, &["--post"], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("item `wheels/sums/b.whl` is waived by `wheels/*`, which is not an applied waiver"),
        "{}",
        run.stderr
    );
    assert_eq!(statuses(&github)[0].0, "error");
}

#[test]
fn hostile_names_print_no_workflow_command_but_the_annotations() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let hostile = report(vec![(
        "wheels",
        vec![
            Item::fail("sums", "b\n::error::pwned\u{202e}", "differs\r\n::add-mask::GO ##[stop-commands]t")
                .at(Location::at("SHA256SUMS\n::warning::x", 4, 1)),
        ],
    )]);
    let report = write(&dir, &hostile);
    let summary = dir.path().join("summary.md");
    let env = actions_env(&summary);
    let run = publish(&github, &report, &["--post"], &env);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stdout,
        "::group::release-check annotations\n\
         ::error file=SHA256SUMS%0A%3A%3Awarning%3A%3Ax,line=4,col=1,title=wheels/sums/b%0A%3A%3Aerror%3A%3Apwned\\u{202e}::differs%0D%0A::add-mask::GO ##[stop-commands]t\n\
         ::endgroup::\n"
    );
    assert!(
        !run.stderr.lines().any(|l| l.trim_start().starts_with("::") || l.contains("##[")),
        "{}",
        run.stderr
    );
    let dry = publish(&github, &report, &[], &env);
    let annotations: Vec<&str> = run.stdout.lines().collect();
    for line in dry.stdout.lines().filter(|l| !annotations.contains(l)) {
        assert!(!line.trim_start().starts_with("::") && !line.contains("##["), "{line:?} in {}", dry.stdout);
    }
}

fn report_go() -> Report {
    report(vec![("wheels", vec![Item::pass("sums", "a.whl", "matches")])])
}

/// The environment of a GitHub Actions run of octo/app whose job summary is `summary`.
fn actions_env(summary: &std::path::Path) -> [(&'static str, &str); 5] {
    [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_RUN_ID", "99"),
    ]
}

#[test]
fn a_stale_report_of_another_commit_exits_with_2_and_posts_an_error_status() {
    let github = GitHub::start("release-bot");
    let dir = tempfile::tempdir().unwrap();
    let other = "0123456789abcdef0123456789abcdef01234567";
    let stale = write_edited(&dir, &report_go(), |json| json["commit"] = other.into());
    let run = publish(&github, &stale, &["--post"], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains(&format!("a stale report: it judged commit {other}")), "{}", run.stderr);
    let statuses = statuses(&github);
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].0, "error", "a GO of another commit never posts success");

    let unnamed = write_edited(&dir, &report_go(), |json| {
        json.as_object_mut().unwrap().remove("commit");
    });
    let run = publish(&github, &unnamed, &[], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("does not name the commit it judged"), "{}", run.stderr);
}

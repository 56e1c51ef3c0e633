//! Fork-safe posting, end to end: the `pull_request` phase writes the JSON
//! report (the artifact); the `workflow_run` phase of
//! `docs/workflows/release-check-post.yml` runs its own check step and post
//! step, as written there, against the GitHub-shaped server on 127.0.0.1. A
//! report is posted only when it names the commit its run was for and that
//! commit is still the pull request's head; a forged report is refused
//! without printing what it says.

#[path = "../../publish/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use gate_images::yaml::{Node, parse};
use release_check_e2e::{binary, release_check_with_env, workspace};
use support::{GitHub, PR, REPO, fixture};
use test_support::example;
use wiremock::ResponseTemplate;

/// The pull request's head in these tests.
const HEAD: &str = "2a6c97f6f5dc9166cc2e5d0d95415a386805ca07";
const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";
const TOKEN: &str = "ghp_canaryTOKEN0123456789abcdefghijklmnop";

/// The `run` script of the step named `name` in the poster workflow.
fn poster_step(name: &str) -> String {
    let text = std::fs::read_to_string(workspace().join("docs/workflows/release-check-post.yml")).unwrap();
    let workflow: Node = parse(&text).unwrap().unwrap();
    let post = workflow.get("jobs").and_then(|j| j.get("post")).unwrap();
    let steps = post.get("steps").and_then(Node::as_seq).unwrap();
    let step = steps.iter().find(|s| s.get("name").and_then(Node::as_str) == Some(name)).unwrap();
    step.get("run").and_then(Node::as_str).unwrap().to_owned()
}

/// Phase 1: the pull_request job's run on the bundled example, its JSON
/// report written beside the text, as the action writes it.
fn pull_request_report(dir: &Path) -> std::path::PathBuf {
    let event = dir.join("pull_request.json");
    std::fs::write(
        &event,
        format!(
            r#"{{"action": "synchronize", "number": {PR}, "pull_request": {{"number": {PR},
                "head": {{"sha": "{HEAD}", "ref": "feature"}}, "base": {{"sha": "{OTHER}", "ref": "main"}}}}}}"#
        ),
    )
    .unwrap();
    let report = dir.join("report.json");
    let run = release_check_with_env(
        [
            "--repo",
            example("release-repo").to_str().unwrap(),
            "--gate",
            "wheels",
            "--json-output",
            report.to_str().unwrap(),
        ],
        &[("GITHUB_EVENT_NAME", "pull_request"), ("GITHUB_EVENT_PATH", event.to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["commit"], HEAD, "the report names the pull request's head");
    assert_eq!(json["ref"]["name"], format!("pull/{PR}"));
    report
}

/// The pull request as the API answers it, its head at `head`.
fn answer_pull(github: &GitHub, head: &str) {
    let mut pull = fixture("pull.get.json");
    pull["number"] = PR.into();
    pull["head"]["sha"] = head.into();
    github.fail_with(
        "GET",
        &format!("^/repos/{REPO}/pulls/{PR}$"),
        ResponseTemplate::new(200).set_body_json(pull),
    );
}

/// Runs a step's script as Actions does (bash, -e, pipefail), with the
/// job's environment; (exit code, stdout, stderr, GITHUB_OUTPUT).
fn run_step(
    script: &str,
    dir: &Path,
    report: &Path,
    github: &GitHub,
    head_sha: &str,
) -> (i32, String, String, String) {
    let output = dir.join("github_output");
    let _ = std::fs::remove_file(&output);
    let path =
        format!("{}:{}", binary().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let event = dir.join("workflow_run.json");
    std::fs::write(
        &event,
        format!(r#"{{"action": "completed", "workflow_run": {{"head_sha": "{head_sha}"}}}}"#),
    )
    .unwrap();
    let run = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env_clear()
        .env("PATH", path)
        .env("REPORT", report)
        .env("HEAD_SHA", head_sha)
        .env("PR", PR.to_string())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_EVENT_NAME", "workflow_run")
        .env("GITHUB_EVENT_PATH", &event)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token leaked");
    (run.status.code().unwrap_or(-1), stdout, stderr, std::fs::read_to_string(output).unwrap_or_default())
}

#[test]
fn the_report_travels_from_the_pull_request_run_to_the_poster_and_is_posted_on_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let report = pull_request_report(dir.path());
    // The artifact: uploaded by one workflow, downloaded by the other.
    let downloaded = dir.path().join("report/report.json");
    std::fs::create_dir_all(downloaded.parent().unwrap()).unwrap();
    std::fs::copy(&report, &downloaded).unwrap();

    let github = GitHub::start("github-actions[bot]");
    answer_pull(&github, HEAD);
    let (code, _, stderr, outputs) = run_step(
        &poster_step("The report is of the pull request's head"),
        dir.path(),
        &downloaded,
        &github,
        HEAD,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outputs, format!("pr={PR}\n"));

    let (code, stdout, stderr, _) = run_step(&poster_step("Post"), dir.path(), &downloaded, &github, HEAD);
    assert_eq!(code, 0, "GO: {stdout}{stderr}");
    assert_eq!(github.comments_containing("<!-- release-check: release-check -->").len(), 1, "{stderr}");
    let state = github.state.lock().unwrap();
    assert_eq!(state.statuses.len(), 1);
    assert_eq!(state.statuses[0].0, HEAD, "the status is set on the pull request's head");
    assert_eq!(state.statuses[0].1["state"], "success");
}

#[test]
fn a_report_of_another_commit_is_not_posted() {
    let dir = tempfile::tempdir().unwrap();
    let report = pull_request_report(dir.path());
    let github = GitHub::start("github-actions[bot]");
    answer_pull(&github, OTHER);
    let check = poster_step("The report is of the pull request's head");

    // The run that wrote the report ran on another commit than it names.
    let (code, stdout, _, outputs) = run_step(&check, dir.path(), &report, &github, OTHER);
    assert_eq!(code, 1);
    assert!(stdout.contains("::error::the report does not name the commit its run was for"), "{stdout}");
    assert_eq!(outputs, "");

    // The pull request moved on since: a newer run posts its own report.
    let (code, stdout, _, outputs) = run_step(&check, dir.path(), &report, &github, HEAD);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!("is {OTHER}, not {HEAD}: a newer run posts its own report")),
        "{stdout}"
    );
    assert_eq!(outputs, "");
    assert!(github.requests_of("POST").is_empty() && github.requests_of("PATCH").is_empty());
}

#[test]
fn a_forged_report_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let github = GitHub::start("github-actions[bot]");
    answer_pull(&github, HEAD);
    let check = poster_step("The report is of the pull request's head");
    let report = dir.path().join("forged.json");
    for (commit, git_ref) in [
        (HEAD.to_owned(), format!("pull/{PR}\n::add-mask::{TOKEN}")),
        (HEAD.to_owned(), "main".to_owned()),
        (HEAD.to_owned(), "pull/007".to_owned()),
        (HEAD.to_owned(), "pull/".to_owned()),
        (format!("{HEAD}\n::error::forged"), format!("pull/{PR}")),
    ] {
        let forged = serde_json::json!({ "commit": commit, "ref": { "name": git_ref, "from": "x" } });
        std::fs::write(&report, forged.to_string()).unwrap();
        let (code, stdout, stderr, outputs) = run_step(&check, dir.path(), &report, &github, HEAD);
        assert_eq!(code, 1, "{git_ref:?}: {stdout}{stderr}");
        assert!(!stdout.contains("add-mask") && !stdout.contains("forged"), "{stdout}");
        assert_eq!(outputs, "");
    }
    assert!(github.requests().is_empty(), "a forged report costs no request: {:?}", github.requests());
}

/// Past the check step, `publish` itself refuses a report of another commit
/// than the one it would post to: a second lock on the same door.
#[test]
fn publish_refuses_a_report_of_another_commit_than_the_head_it_posts_to() {
    let dir = tempfile::tempdir().unwrap();
    let report = pull_request_report(dir.path());
    let github = GitHub::start("github-actions[bot]");
    let (code, stdout, stderr, _) = run_step(&poster_step("Post"), dir.path(), &report, &github, OTHER);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("a stale report"), "{stderr}");
    let state = github.state.lock().unwrap();
    assert!(state.statuses.iter().all(|(_, s)| s["state"] != "success"), "{:?}", state.statuses);
    let bodies: Vec<&str> = state.comments.iter().filter_map(|c| c["body"].as_str()).collect();
    assert!(bodies.iter().all(|b| !b.contains("✅ GO")), "no GO is shown for another commit: {bodies:?}");
}

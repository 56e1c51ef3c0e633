//! The ci gate through the real binary: the token never shows, a recording
//! replays to the same verdict, an unreachable GitHub is NO-GO.

use release_check_e2e::{release_check, release_check_with_env};
use serde_json::Value;
use test_support::shared_fixture;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "ghp_canaryCANARYcanary0123456789abcdefXYZ";
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";

fn body(name: &str) -> Vec<u8> {
    std::fs::read(shared_fixture(&format!("github/{name}.json"))).unwrap()
}

/// `GET /repos/octo/app/branches/main` in the shape GitHub documents (the
/// fixtures hold no recording of it): main at SHA.
fn branch_main() -> Vec<u8> {
    let commit: Value = serde_json::from_slice(&body("commit.get")).unwrap();
    serde_json::json!({"name": "main", "commit": commit, "protected": false,
                       "protection_url": "https://api.github.com/repos/octo/app/branches/main/protection"})
    .to_string()
    .into_bytes()
}

/// A GitHub-shaped server for octo/app at main = SHA, answering with the
/// shared recorded responses; check runs come from `check_runs`.
fn server(runtime: &tokio::runtime::Runtime, check_runs: &str) -> MockServer {
    runtime.block_on(async {
        let server = MockServer::start().await;
        let routes: Vec<(String, u16, Vec<u8>)> = vec![
            ("/repos/octo/app/commits/main".into(), 200, body("commit.get")),
            ("/repos/octo/app/branches/main".into(), 200, branch_main()),
            ("/repos/octo/app/rules/branches/main".into(), 200, body("rules-branch.200-no-status-checks")),
            (
                "/repos/octo/app/branches/main/protection/required_status_checks".into(),
                404,
                body("required-status-checks.404-not-enabled"),
            ),
            (format!("/repos/octo/app/commits/{SHA}/check-runs"), 200, body(check_runs)),
            (
                format!("/repos/octo/app/commits/{SHA}/status"),
                200,
                body("combined-status.pending-no-statuses"),
            ),
            ("/repos/octo/app/actions/runs".into(), 200, br#"{"total_count":0,"workflow_runs":[]}"#.to_vec()),
        ];
        for (route, status, body) in routes {
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(
                    ResponseTemplate::new(status).set_body_raw(body, "application/json; charset=utf-8"),
                )
                .mount(&server)
                .await;
        }
        server
    })
}

fn repo_for(api_url: &str, required: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(
        repo.path().join("release-check.toml"),
        format!(
            "[gates.ci]\nrepository = \"octo/app\"\nref = \"main\"\napi-url = \"{api_url}\"\nrequest-timeout = \"2s\"\nretries = 0\nrequired = [{required}]\n"
        ),
    )
    .unwrap();
    repo
}

/// Arguments of a JSON report of the ci gate alone, recording or replaying in `dir`.
fn ci_json(repo: &std::path::Path, flag: &str, dir: &std::path::Path) -> Vec<String> {
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    ["--repo", &path(repo), "--gate", "ci", "--format", "json", flag, &path(dir)].map(str::to_owned).to_vec()
}

fn items(json: &str) -> Vec<(String, String, String)> {
    let report: Value = serde_json::from_str(json).unwrap();
    report["gates"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].to_string(), i["status"].to_string(), i["reason"].to_string()))
        .collect()
}

#[test]
fn the_token_is_sent_but_never_shown_or_recorded_and_the_recording_replays() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server(&runtime, "check-runs.all-success");
    let repo = repo_for(&server.uri(), r#""Cargo test on nix (ubuntu-20.04, stable)""#);
    let recording = repo.path().join("evidence");
    let env = [("GITHUB_TOKEN", CANARY)];
    let mut outputs = Vec::new();
    for format in ["text", "json", "markdown"] {
        let run = release_check_with_env(
            ["--repo", repo.path().to_str().unwrap(), "--gate", "ci", "-v", "--format", format],
            &env,
        );
        assert_eq!(run.code, 0, "{format}: {}{}", run.stdout, run.stderr);
        outputs.push(run.stdout + &run.stderr);
    }
    let recorded = release_check_with_env(ci_json(repo.path(), "--record", &recording), &env);
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    outputs.push(recorded.stdout.clone() + &recorded.stderr);
    for output in &outputs {
        assert!(!output.contains(CANARY), "the token was printed:\n{output}");
    }
    for file in std::fs::read_dir(&recording).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains(CANARY) && !text.to_lowercase().contains("authorization"), "{text}");
    }
    let requests = runtime.block_on(server.received_requests()).unwrap();
    assert!(!requests.is_empty());
    for request in &requests {
        let auth = request.headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(auth.as_deref(), Some(format!("Bearer {CANARY}").as_str()), "{}", request.url);
    }

    // Offline, from the recording: the same items.
    drop(server);
    let replayed = release_check(ci_json(repo.path(), "--replay", &recording));
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(items(&replayed.stdout), items(&recorded.stdout));
}

#[test]
fn a_failed_required_check_is_no_go_with_exit_code_1() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server(&runtime, "check-runs.one-failure");
    let repo = repo_for(&server.uri(), r#""test (Python 3.6)""#);
    let run = release_check(["--repo", repo.path().to_str().unwrap(), "--gate", "ci"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("ci/required/test (Python 3.6): failed: failure"), "{}", run.stdout);
}

#[test]
fn an_unreachable_github_is_no_go_and_names_the_request() {
    let port = test_support::http::closed_port();
    let repo = repo_for(&format!("http://127.0.0.1:{port}"), "");
    let run = release_check(["--repo", repo.path().to_str().unwrap(), "--gate", "ci"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("ci/github/octo/app: GET /repos/octo/app/commits/main:"), "{}", run.stdout);
}

#[test]
fn the_ci_flags_are_checked() {
    let run = release_check(["--wait", "soon"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid duration `soon`"), "{}", run.stderr);
    let run = release_check(["--record", "a", "--replay", "b"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

/// The head of `pull.get.json`'s pull request 486, into `main`.
const HEAD: &str = "07374fe73aff1c2024a8d4114b32406c7a8e89b7";
/// Pull request 486's synthetic merge commit, unknown to the API.
const MERGE: &str = "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e";

/// A GitHub-shaped server answering `routes` (path, status, body), each a
/// given number of times (`None`: always) in the order mounted.
fn answering(
    runtime: &tokio::runtime::Runtime,
    routes: Vec<(String, u16, Vec<u8>, Option<u64>)>,
) -> MockServer {
    runtime.block_on(async {
        let server = MockServer::start().await;
        for (route, status, body, times) in routes {
            let template =
                ResponseTemplate::new(status).set_body_raw(body, "application/json; charset=utf-8");
            let mock = Mock::given(method("GET")).and(path(route)).respond_with(template);
            match times {
                Some(0) => {}
                Some(n) => mock.up_to_n_times(n).with_priority(1).mount(&server).await,
                None => mock.with_priority(5).mount(&server).await,
            }
        }
        server
    })
}

/// `check-runs.one-failure.json` with every run of head `sha`, each with
/// the given status and conclusion.
fn check_runs(status: &str, conclusion: Option<&str>) -> Vec<u8> {
    let mut runs: Value = serde_json::from_slice(&body("check-runs.one-failure")).unwrap();
    for run in runs["check_runs"].as_array_mut().unwrap() {
        run["status"] = status.into();
        run["conclusion"] = conclusion.into();
    }
    runs.to_string().into_bytes()
}

/// octo/app with `main` protected by `test (Python 3.7)`, and pull request
/// 486 whose head passed it (after `pending_polls` answers still in progress).
fn pull_request_server(runtime: &tokio::runtime::Runtime, pending_polls: u64) -> MockServer {
    let mut commit: Value = serde_json::from_slice(&body("commit.get")).unwrap();
    commit["sha"] = HEAD.into();
    let protection = br#"{"strict": true, "contexts": ["test (Python 3.7)"], "checks": [{"context": "test (Python 3.7)", "app_id": 15368}]}"#;
    let repo = "/repos/octo/app";
    answering(
        runtime,
        vec![
            (
                format!("{repo}/commits/{HEAD}/check-runs"),
                200,
                check_runs("in_progress", None),
                Some(pending_polls),
            ),
            (format!("{repo}/commits/{HEAD}"), 200, commit.to_string().into_bytes(), None),
            (format!("{repo}/rules/branches/main"), 200, body("rules-branch.200-no-status-checks"), None),
            (
                format!("{repo}/branches/main/protection/required_status_checks"),
                200,
                protection.to_vec(),
                None,
            ),
            (
                format!("{repo}/commits/{HEAD}/check-runs"),
                200,
                check_runs("completed", Some("success")),
                None,
            ),
            (format!("{repo}/commits/{HEAD}/status"), 200, body("combined-status.pending-no-statuses"), None),
            (format!("{repo}/actions/runs"), 200, br#"{"total_count":0,"workflow_runs":[]}"#.to_vec(), None),
        ],
    )
}

/// A repository whose `[gates.ci]` names no ref, and a pull_request event for 486.
fn pull_request_repo(api_url: &str) -> (tempfile::TempDir, String) {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(
        repo.path().join("release-check.toml"),
        format!(
            "[gates.ci]\nrepository = \"octo/app\"\napi-url = \"{api_url}\"\nrequest-timeout = \"2s\"\nretries = 0\npoll-interval = \"200ms\"\n"
        ),
    )
    .unwrap();
    let event = repo.path().join("event.json");
    std::fs::write(
        &event,
        format!(
            r#"{{"action": "synchronize", "number": 486, "pull_request": {{"number": 486, "head": {{"sha": "{HEAD}", "ref": "test/stable"}}, "base": {{"sha": "{SHA}", "ref": "main"}}}}}}"#
        ),
    )
    .unwrap();
    (repo, event.to_str().unwrap().to_owned())
}

#[test]
fn on_a_pull_request_event_the_head_is_judged_under_the_base_rules_and_named_in_the_report() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = pull_request_server(&runtime, 0);
    let (repo, event) = pull_request_repo(&server.uri());
    let env = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.as_str()),
        ("GITHUB_SHA", MERGE),
        ("GITHUB_BASE_REF", "main"),
        ("GITHUB_REF", "refs/pull/486/merge"),
    ];
    let run = release_check_with_env(
        ["--repo", repo.path().to_str().unwrap(), "--gate", "ci", "--format", "json"],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["commit"], HEAD, "{}", run.stdout);
    let ci = &report["gates"][0];
    let required =
        ci["items"].as_array().unwrap().iter().find(|i| i["id"] == "ci/required/test (Python 3.7)");
    assert_eq!(required.unwrap()["status"], "pass", "{}", run.stdout);
    let notes = ci["notes"].to_string();
    assert!(
        notes.contains("rules of branch main: the base branch of pull request #486 (GITHUB_BASE_REF)"),
        "{notes}"
    );
    let asked = runtime.block_on(server.received_requests()).unwrap();
    assert!(asked.iter().all(|r| !r.url.path().contains(MERGE)), "the merge commit was asked about");
}

#[test]
fn waiting_shows_progress_on_stderr_and_the_real_time_waited() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = pull_request_server(&runtime, 2);
    let (repo, event) = pull_request_repo(&server.uri());
    let env =
        [("GITHUB_EVENT_NAME", "pull_request"), ("GITHUB_EVENT_PATH", event.as_str()), ("GITHUB_SHA", MERGE)];
    let run = release_check_with_env(
        ["--repo", repo.path().to_str().unwrap(), "--gate", "ci", "--wait", "1m"],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Not a terminal: one plain line per poll, then how long it waited and why it stopped.
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("ci: ")).collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(
        lines[0].starts_with(
            "ci: waiting on 07374fe73aff for 1 pending check(s): test (Python 3.7) (in_progress) ("
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].starts_with("ci: waited ") && lines[2].ends_with(": every check finished"),
        "{}",
        lines[2]
    );
    assert!(!run.stderr.contains('\r'), "no redrawing outside a terminal: {:?}", run.stderr);
    assert!(run.stdout.contains("waited "), "{}", run.stdout);
}

#[test]
fn a_commit_on_no_known_branch_is_no_go_naming_what_to_set() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let repo_path = "/repos/octo/app";
    let mut commit: Value = serde_json::from_slice(&body("commit.get")).unwrap();
    commit["sha"] = SHA.into();
    let compare = format!(
        r#"{{"status": "diverged", "ahead_by": 1, "behind_by": 2, "total_commits": 1, "commits": [], "files": [], "base_commit": {commit}, "merge_base_commit": {commit}}}"#
    );
    let server = answering(
        &runtime,
        vec![
            (format!("{repo_path}/commits/{SHA}"), 200, commit.to_string().into_bytes(), None),
            (
                repo_path.to_owned(),
                200,
                br#"{"full_name": "octo/app", "default_branch": "main"}"#.to_vec(),
                None,
            ),
            (format!("{repo_path}/compare/main...{SHA}"), 200, compare.into_bytes(), None),
            (format!("{repo_path}/commits/{SHA}/pulls"), 200, b"[]".to_vec(), None),
            (format!("{repo_path}/commits/{SHA}/check-runs"), 200, body("check-runs.all-success"), None),
            (format!("{repo_path}/commits/{SHA}/status"), 200, body("combined-status.success"), None),
        ],
    );
    let repo = repo_for(&server.uri(), "");
    let run = release_check(["--repo", repo.path().to_str().unwrap(), "--gate", "ci", "--ref", SHA]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("ci/target/branch: the required checks of commit 6bc9ecc8c849 are unknown"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Set `[gates.ci] branch`"), "{}", run.stdout);
}

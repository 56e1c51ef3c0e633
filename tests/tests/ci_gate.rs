//! The ci gate through the real binary: the token never shows, a recording
//! replays to the same verdict, an unreachable GitHub is NO-GO.

use release_check_e2e::{release_check, release_check_with_env, shared_fixture};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "ghp_canaryCANARYcanary0123456789abcdefXYZ";
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";

fn body(name: &str) -> Vec<u8> {
    std::fs::read(shared_fixture(&format!("github/{name}.json"))).unwrap()
}

/// A GitHub-shaped server for octo/app at main = SHA, answering with the
/// shared recorded responses; check runs come from `check_runs`.
fn server(runtime: &tokio::runtime::Runtime, check_runs: &str) -> MockServer {
    runtime.block_on(async {
        let server = MockServer::start().await;
        let routes: Vec<(String, u16, Vec<u8>)> = vec![
            ("/repos/octo/app/commits/main".into(), 200, body("commit.get")),
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
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
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

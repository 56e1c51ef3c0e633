//! A GitHub-shaped HTTP server on 127.0.0.1 for the ci gate's tests.
//!
//! It answers with the real GitHub responses recorded in the shared
//! fixtures (`github/NAME.json` with the status and headers of
//! `NAME.meta.json`), read in place; `Link` headers are rewritten to point
//! at this server, as GitHub's point at itself.

#![allow(dead_code)] // Each test binary uses a different part.

use gate_ci::{CiGate, Config, Environment, Progress};
use gate_core::{Context, Gate, GateOutcome, Item, Status};
use serde_json::Value;
pub use test_support::github::Recorded;
use test_support::http::Server;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

/// The repository every scenario checks.
pub const REPO: &str = "/repos/octo/app";

/// The server (wiremock, on its own runtime).
pub struct GitHub {
    server: Server,
}

/// Reads `github/NAME.json` and its meta file from the shared fixtures.
pub fn fixture(name: &str) -> Recorded {
    Recorded::read(name)
}

impl GitHub {
    /// Starts a server with nothing mounted (every request answers 404).
    pub fn start() -> Self {
        Self { server: Server::start() }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    fn mock(&self, route: &str) -> wiremock::MockBuilder {
        let (p, query) = route.split_once('?').unwrap_or((route, ""));
        let mut mock = Mock::given(method("GET")).and(path(p));
        for pair in query.split('&').filter(|q| !q.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            mock = mock.and(query_param(k, v));
        }
        mock
    }

    /// The answer GitHub gave in `recorded`, its `Link` headers pointing at this server.
    pub fn template(&self, recorded: &Recorded) -> ResponseTemplate {
        recorded.template(&self.url())
    }

    /// Answers `GET route` (query parameters must match) with `recorded`, always.
    pub fn serve(&self, route: &str, recorded: &Recorded) {
        self.serve_raw(route, self.template(recorded));
    }

    /// Answers `GET route` with `recorded` the next `times` times, before any [`GitHub::serve`] answer.
    pub fn serve_times(&self, route: &str, recorded: &Recorded, times: u64) {
        self.serve_raw_times(route, self.template(recorded), times);
    }

    /// Answers `GET route` with a raw template (faults: delays, garbage).
    pub fn serve_raw(&self, route: &str, template: ResponseTemplate) {
        self.server.mount(self.mock(route).respond_with(template).with_priority(5));
    }

    /// Answers `GET route` with a raw template the next `times` times, before any [`GitHub::serve`] answer.
    pub fn serve_raw_times(&self, route: &str, template: ResponseTemplate, times: u64) {
        self.server.mount(self.mock(route).respond_with(template).up_to_n_times(times).with_priority(1));
    }

    /// The requests received so far: method and path with query.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// The usual answers for branch `main` at `sha`: the commit, the
    /// branch, rulesets without status checks, no required checks in
    /// branch protection.
    pub fn branch_main(&self, sha: &str) {
        let mut commit = fixture("commit.get");
        commit.body["sha"] = Value::String(sha.to_owned());
        self.serve(&format!("{REPO}/commits/main"), &commit);
        self.serve(&format!("{REPO}/branches/main"), &branch("main", &commit.body));
        self.serve(&format!("{REPO}/rules/branches/main"), &fixture("rules-branch.200-no-status-checks"));
        self.serve(
            &format!("{REPO}/branches/main/protection/required_status_checks"),
            &fixture("required-status-checks.404-not-enabled"),
        );
    }

    /// Check runs and combined status of `sha`.
    pub fn ran(&self, sha: &str, check_runs: &Recorded, status: &Recorded) {
        self.serve(&format!("{REPO}/commits/{sha}/check-runs?filter=latest"), check_runs);
        self.serve(&format!("{REPO}/commits/{sha}/status"), status);
    }

    /// No workflow runs for `sha`.
    pub fn no_workflow_runs(&self, sha: &str) {
        let body = serde_json::json!({"total_count": 0, "workflow_runs": []});
        self.serve(&format!("{REPO}/actions/runs?head_sha={sha}"), &Recorded::ok(body));
    }
}

/// A configuration for `octo/app` at `main` on `server`, plus `extra` TOML lines.
pub fn config(server: &GitHub, extra: &str) -> Config {
    let text = format!(
        "repository = \"octo/app\"\nref = \"main\"\napi-url = \"{}\"\nrequest-timeout = \"2s\"\nretries = 1\n{extra}",
        server.url()
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Runs the gate on an empty repository.
pub fn run(config: Config) -> GateOutcome {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), config)
}

/// Runs the gate on `repo` (recordings and replays are relative to it),
/// outside GitHub Actions (an empty environment), progress to nowhere.
pub fn run_in(repo: &std::path::Path, config: Config) -> GateOutcome {
    run_with(repo, config, Environment::default(), Progress::to(std::io::sink(), false))
}

/// Runs the gate on `repo` with these GitHub Actions variables and progress sink.
pub fn run_with(repo: &std::path::Path, config: Config, env: Environment, progress: Progress) -> GateOutcome {
    CiGate::new(config).with_environment(env).with_progress(progress).run(&Context::new(repo))
}

/// A progress sink whose text can be read back.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The item with this check and subject.
pub fn item<'a>(outcome: &'a GateOutcome, check: &str, subject: &str) -> &'a Item {
    outcome.items.iter().find(|i| i.check == check && i.subject == subject).unwrap_or_else(|| {
        panic!(
            "no item {check}/{subject} in {:#?}",
            outcome.items.iter().map(|i| (&i.check, &i.subject, &i.reason)).collect::<Vec<_>>()
        )
    })
}

/// Whether nothing blocks: no failed or errored item (the gate reports
/// warnings as `warn`).
pub fn go(outcome: &GateOutcome) -> bool {
    outcome.items.iter().all(|i| !matches!(i.status, Status::Fail | Status::Error))
}

/// Every item as `check/subject: status: reason`, for failure messages.
pub fn listing(outcome: &GateOutcome) -> String {
    outcome
        .items
        .iter()
        .map(|i| format!("{}/{}: {:?}: {}\n", i.check, i.subject, i.status, i.reason))
        .collect()
}

/// `GET /repos/{owner}/{repo}/branches/{branch}` in the shape GitHub
/// documents (no real recording exists in the fixtures): the branch, its
/// head commit (as `GET …/commits/{ref}` gives it) and whether it is
/// protected.
pub fn branch(name: &str, commit: &Value) -> Recorded {
    let body = serde_json::json!({
        "name": name,
        "commit": commit,
        "_links": {
            "self": format!("https://api.github.com{REPO}/branches/{name}"),
            "html": format!("https://github.com/octo/app/tree/{name}")
        },
        "protected": false,
        "protection": {"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
        "protection_url": format!("https://api.github.com{REPO}/branches/{name}/protection")
    });
    Recorded::ok(body)
}

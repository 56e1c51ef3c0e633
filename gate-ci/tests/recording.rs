//! Record and replay: a run recorded with `record` is re-derived offline
//! with `replay`, item for item; a recording holds no credentials; a
//! request missing from a recording, or a damaged recording, is an error
//! that says which.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use gate_ci::Config;
use gate_core::{GateOutcome, HumanDuration, Status};
use serde_json::json;
use support::{GitHub, REPO, Recorded, config, fixture, go, item, listing, run_in};
use wiremock::ResponseTemplate;

/// The commit of `check-runs.one-failure.json` and `commit.get.json`.
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";
const PARENT: &str = "1111111111111111111111111111111111111111";

/// The recording directory, relative to the repository.
const RECORDING: &str = "ci-recording";

fn json_response(body: serde_json::Value) -> Recorded {
    Recorded { body, status: 200, headers: vec![] }
}

/// A NO-GO with every kind of item: a failed check run (with since when,
/// read concurrently from the history), a failed commit status, a passing
/// check run, a missing check.
fn failing(gh: &GitHub) {
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.one-failure"), &fixture("combined-status.failure"));
    gh.no_workflow_runs(SHA);
    let commit = |sha: &str, parents: &[&str]| {
        json!({"sha": sha, "parents": parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
               "commit": {"committer": {"date": "2020-10-23T03:00:00Z"}}})
    };
    gh.serve(
        &format!("{REPO}/commits?sha={SHA}"),
        &json_response(json!([commit(SHA, &[PARENT]), commit(PARENT, &[])])),
    );
    // Everything passed on the parent.
    let mut green = fixture("check-runs.one-failure");
    for run in green.body["check_runs"].as_array_mut().unwrap() {
        run["conclusion"] = json!("success");
    }
    gh.serve(&format!("{REPO}/commits/{PARENT}/check-runs?filter=latest"), &green);
    gh.serve(&format!("{REPO}/commits/{PARENT}/status"), &fixture("combined-status.success"));
    gh.serve(&format!("{REPO}/commits/{SHA}/pulls"), &json_response(json!([])));
}

fn recording_config(gh: &GitHub) -> Config {
    let mut config =
        config(gh, "required = [\"test (Python 3.6)\", \"test (Python 3.7)\", \"example/1\", \"deploy\"]");
    config.retries = 2;
    config.request_timeout = Some(HumanDuration(Duration::from_secs(1)));
    config
}

/// Records `config`'s run into `repo`, stops the server, replays offline
/// and requires the very same items and request count.
fn round_trip(gh: GitHub, repo: &Path, mut config: Config) -> GateOutcome {
    config.record = Some(RECORDING.into());
    let recorded = run_in(repo, config.clone());
    let served = gh.requests().len();
    drop(gh);

    config.record = None;
    config.replay = Some(RECORDING.into());
    let replayed = run_in(repo, config);
    assert_eq!(
        replayed.items,
        recorded.items,
        "live:\n{}replayed:\n{}",
        listing(&recorded),
        listing(&replayed)
    );
    assert!(
        replayed.notes.iter().any(|n| n.starts_with("replaying the recorded GitHub answers in")),
        "{:?}",
        replayed.notes
    );
    assert_eq!(requests(&recorded), served, "every request reached the server");
    assert_eq!(requests(&replayed), served, "the replay asked what the live run asked");
    assert_eq!(files(&repo.join(RECORDING)).len(), served, "one file per answer");
    recorded
}

/// The gate's own count of its requests, from its note.
fn requests(outcome: &GateOutcome) -> usize {
    outcome
        .notes
        .iter()
        .find_map(|n| n.strip_suffix(" GitHub request(s)")?.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {:?}", outcome.notes))
}

/// The recording's files and their text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_failing_verdict_is_re_derived_from_its_recording() {
    let gh = GitHub::start();
    failing(&gh);
    let repo = tempfile::tempdir().unwrap();
    let config = recording_config(&gh);
    let outcome = round_trip(gh, repo.path(), config);
    assert!(!go(&outcome));
    let failed = item(&outcome, "required", "test (Python 3.6)");
    assert_eq!(failed.status, Status::Fail);
    assert!(failed.reason.contains("failing since 6bc9ecc8c849"), "{}", failed.reason);
    assert_eq!(item(&outcome, "required", "example/1").status, Status::Fail);
    assert_eq!(item(&outcome, "required", "test (Python 3.7)").status, Status::Pass);
    assert!(item(&outcome, "required", "deploy").reason.starts_with("missing"));

    let recording = files(&repo.path().join(RECORDING));
    assert!(recording[0].0.starts_with("0001-GET-repos_octo_app_commits_main"), "{:?}", recording[0].0);
    for (name, text) in &recording {
        let exchange: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(exchange["method"], "GET", "{name}");
        assert!(exchange["path"].as_str().unwrap().starts_with("/repos/octo/app/"), "{name}");
        let lower = text.to_lowercase();
        assert!(!lower.contains("authorization") && !lower.contains("bearer"), "{name}: {text}");
    }
}

#[test]
fn fault_verdicts_are_re_derived_from_their_recording() {
    let route = format!("{REPO}/commits/{SHA}/status");
    let faults = [
        // Retried three times, each answer recorded.
        ResponseTemplate::new(502).set_body_raw("Server Error", "text/plain"),
        // Not waited for: the refusal itself is the evidence.
        ResponseTemplate::new(429)
            .set_body_json(json!({"message": "You have exceeded a secondary rate limit."}))
            .insert_header("retry-after", "3600"),
        // Located in the replay as in the live run.
        ResponseTemplate::new(200).set_body_raw("{\"state\": ", "application/json"),
    ];
    for fault in faults {
        let gh = GitHub::start();
        failing(&gh);
        gh.serve_raw_times(&route, fault, u64::MAX);
        let repo = tempfile::tempdir().unwrap();
        let config = recording_config(&gh);
        let outcome = round_trip(gh, repo.path(), config);
        let error = item(&outcome, "github", "octo/app");
        assert_eq!(error.status, Status::Error, "{}", listing(&outcome));
        assert!(error.reason.starts_with(&format!("GET {route}?per_page=100: ")), "{}", error.reason);
    }
}

#[test]
fn a_verdict_that_recovered_is_replayed_through_the_same_retries() {
    let gh = GitHub::start();
    failing(&gh);
    let route = format!("{REPO}/commits/{SHA}/status");
    gh.serve_raw_times(&route, ResponseTemplate::new(503).set_body_raw("Unavailable", "text/plain"), 1);
    let repo = tempfile::tempdir().unwrap();
    let config = recording_config(&gh);
    let outcome = round_trip(gh, repo.path(), config);
    assert!(outcome.items.iter().all(|i| i.status != Status::Error), "{}", listing(&outcome));
    let statuses: Vec<String> = files(&repo.path().join(RECORDING))
        .into_iter()
        .filter(|(name, _)| name.contains("commits_6bc9ecc8c849df4e45e60c1e6a5df8876180a20a_status"))
        .map(|(_, text)| serde_json::from_str::<serde_json::Value>(&text).unwrap()["status"].to_string())
        .collect();
    assert_eq!(statuses, ["503", "200"]);
}

#[test]
fn replaying_a_request_that_was_not_recorded_names_it_and_the_directory() {
    let gh = GitHub::start();
    failing(&gh);
    let repo = tempfile::tempdir().unwrap();
    let mut config = recording_config(&gh);
    config.record = Some(RECORDING.into());
    run_in(repo.path(), config.clone());
    let recorded = files(&repo.path().join(RECORDING)).len();
    drop(gh);

    config.record = None;
    config.replay = Some(RECORDING.into());
    config.target = Some("pull/486".into());
    let outcome = run_in(repo.path(), config);
    assert!(!go(&outcome));
    let error = item(&outcome, "github", "octo/app");
    assert_eq!(error.status, Status::Error);
    assert_eq!(
        error.reason,
        format!(
            "GET /repos/octo/app/pulls/486: not in the recording {} (recorded: {recorded})",
            repo.path().join(RECORDING).display()
        )
    );
}

#[test]
fn a_damaged_recording_is_a_located_error() {
    let cases = [
        ("{\n  \"method\": \"GET\",\n  \"path\": 7,\n  \"status\": 200\n}\n", "line 3, column 11"),
        (
            "{\n  \"method\": \"GET\",\n  \"path\": \"/x\",\n  \"status\": 200,\n  \"body\": {\n",
            "line 6, column 0",
        ),
        (
            "{\"method\": \"GET\", \"path\": \"/x\", \"status\": 200, \"token\": \"x\"}",
            "line 1, column 54: unknown field `token`, expected one of `method`, `path`, `status`, `headers`, `body`, `body_text`, `failure`",
        ),
    ];
    for (text, location) in cases {
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path().join(RECORDING);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("0001-GET-x.json"), text).unwrap();
        let config: Config =
            toml::from_str(&format!("repository = \"octo/app\"\nref = \"main\"\nreplay = \"{RECORDING}\""))
                .unwrap();
        let outcome = run_in(repo.path(), config);
        assert!(!go(&outcome));
        let error = item(&outcome, "github", "client");
        assert_eq!(error.status, Status::Error);
        let file = dir.join("0001-GET-x.json");
        assert!(
            error.reason.starts_with(&format!("recording {}: {location}", file.display())),
            "{}",
            error.reason
        );
        assert!(!error.reason.contains(" at line "), "located once: {}", error.reason);
    }

    // A replay directory that does not exist.
    let repo = tempfile::tempdir().unwrap();
    let config: Config =
        toml::from_str("repository = \"octo/app\"\nref = \"main\"\nreplay = \"nowhere\"").unwrap();
    let outcome = run_in(repo.path(), config);
    let error = item(&outcome, "github", "client");
    assert_eq!(error.status, Status::Error);
    assert!(error.reason.starts_with(&format!("recording {}: ", repo.path().join("nowhere").display())));
}

#[test]
fn a_replay_does_not_sleep_for_a_recorded_retry_after() {
    let gh = GitHub::start();
    failing(&gh);
    let limited = ResponseTemplate::new(429)
        .set_body_json(json!({"message": "You have exceeded a secondary rate limit."}))
        .insert_header("retry-after", "2");
    gh.serve_raw_times(&format!("{REPO}/commits/main"), limited, 1);
    let repo = tempfile::tempdir().unwrap();
    let mut config = recording_config(&gh);
    config.record = Some(RECORDING.into());
    let started = Instant::now();
    let live = run_in(repo.path(), config.clone());
    assert!(started.elapsed() >= Duration::from_secs(2), "the live run waits: {:?}", started.elapsed());
    drop(gh);

    config.record = None;
    config.replay = Some(RECORDING.into());
    let started = Instant::now();
    let replayed = run_in(repo.path(), config);
    assert!(started.elapsed() < Duration::from_secs(1), "the replay does not: {:?}", started.elapsed());
    assert_eq!(replayed.items, live.items, "live:\n{}replayed:\n{}", listing(&live), listing(&replayed));
    assert_eq!(requests(&replayed), requests(&live));
}

#[test]
fn attempts_that_got_no_answer_are_recorded_and_replayed() {
    let gh = GitHub::start();
    failing(&gh);
    let route = format!("{REPO}/commits/{SHA}/status");
    let stalled =
        ResponseTemplate::new(200).set_body_json(json!({"statuses": []})).set_delay(Duration::from_secs(5));
    gh.serve_raw_times(&route, stalled, u64::MAX);
    let repo = tempfile::tempdir().unwrap();
    let mut config = recording_config(&gh);
    config.record = Some(RECORDING.into());
    let live = run_in(repo.path(), config.clone());
    let error = item(&live, "github", "octo/app");
    assert_eq!(error.reason, format!("GET {route}?per_page=100: no answer within 1s (after 3 attempts)"));
    drop(gh);
    let timeouts: Vec<serde_json::Value> = files(&repo.path().join(RECORDING))
        .into_iter()
        .map(|(_, text)| serde_json::from_str::<serde_json::Value>(&text).unwrap())
        .filter(|exchange| exchange["path"] == format!("{route}?per_page=100"))
        .collect();
    assert_eq!(timeouts.len(), 3, "{timeouts:?}");
    for exchange in &timeouts {
        assert_eq!(exchange["status"], 0);
        assert_eq!(exchange["failure"], json!({"timeout": {"after_ms": 1000}}));
    }

    config.record = None;
    config.replay = Some(RECORDING.into());
    let started = Instant::now();
    let replayed = run_in(repo.path(), config);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(replayed.items, live.items, "live:\n{}replayed:\n{}", listing(&live), listing(&replayed));
}

#[test]
fn a_replay_judges_a_rate_limit_as_of_the_recorded_answer() {
    // Live: the limit resets in an hour, so the gate gives up at once.
    let gh = GitHub::start();
    failing(&gh);
    let now = jiff::Timestamp::now().as_second();
    let limited = ResponseTemplate::new(403)
        .set_body_json(json!({"message": "API rate limit exceeded for installation ID 1."}))
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", (now + 3600).to_string().as_str());
    gh.serve_raw_times(&format!("{REPO}/commits/main"), limited, u64::MAX);
    let repo = tempfile::tempdir().unwrap();
    let mut config = recording_config(&gh);
    config.record = Some(RECORDING.into());
    let live = run_in(repo.path(), config.clone());
    assert!(
        item(&live, "github", "octo/app").reason.contains("gave up instead of waiting"),
        "{}",
        listing(&live)
    );
    drop(gh);

    // Replayed a day later: the reset is long past, but it was an hour
    // after the answer's Date, so the replay gives up as the live run did.
    let dir = repo.path().join(RECORDING);
    for (name, text) in files(&dir) {
        let mut exchange: serde_json::Value = serde_json::from_str(&text).unwrap();
        let headers = exchange["headers"].as_object_mut().unwrap();
        let day = 86_400;
        let reset = headers["x-ratelimit-reset"].as_str().unwrap().parse::<i64>().unwrap() - day;
        headers.insert("x-ratelimit-reset".into(), json!(reset.to_string()));
        let date = jiff::Timestamp::from_second(now - day).unwrap();
        let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&date).unwrap();
        headers.insert("date".into(), json!(date));
        std::fs::write(dir.join(name), serde_json::to_string_pretty(&exchange).unwrap()).unwrap();
    }
    config.record = None;
    config.replay = Some(RECORDING.into());
    let replayed = run_in(repo.path(), config);
    let live_reason = &item(&live, "github", "octo/app").reason;
    let replayed_reason = &item(&replayed, "github", "octo/app").reason;
    let upto = |r: &str| r.split("; the limit resets at").next().unwrap().to_owned();
    assert_eq!(upto(replayed_reason), upto(live_reason), "{}", listing(&replayed));
    assert_eq!(requests(&replayed), 1);
}

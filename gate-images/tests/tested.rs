//! The `tested` check on temporary repositories: every digest CI runs in
//! needs a PASSED test record for that digest.

use std::path::Path;
use std::sync::Arc;

use gate_core::{Context, Evidence, Gate, GateOutcome, Item, RunOptions, Severity, Status, Verdict};
use gate_images::tested::{Outcome, Statement, TestResult};
use gate_images::{Config, ImagesGate};
use test_support::locations;

const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";
const IMAGE: &str = "ghcr.io/example/release-build";

fn workflow(images: &[&str]) -> String {
    let mut text = String::from("jobs:\n");
    for (i, image) in images.iter().enumerate() {
        text.push_str(&format!("  job{i}:\n    container: {image}\n"));
    }
    text
}

fn pinned(hex: &str) -> String {
    format!("{IMAGE}@sha256:{hex}")
}

fn record(hex: &str, result: Outcome) -> String {
    let predicate = TestResult {
        result,
        configuration: Vec::new(),
        url: Some("https://example.invalid/actions/runs/7".to_owned()),
        passed_tests: Vec::new(),
        warned_tests: if result == Outcome::Warned { vec!["lint".to_owned()] } else { Vec::new() },
        failed_tests: if result == Outcome::Failed { vec!["make test".to_owned()] } else { Vec::new() },
    };
    Statement::test_result(IMAGE, "sha256", hex, predicate).to_json()
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn run_with(repo: &Path, config: &str) -> GateOutcome {
    let config: Config = toml::from_str(config).unwrap();
    ImagesGate::new(config).run(&Context::new(repo))
}

fn tested(outcome: &GateOutcome) -> Vec<&Item> {
    outcome.items.iter().filter(|i| i.check.starts_with("tested")).collect()
}

fn record_path(hex: &str) -> String {
    format!("dockerfiles/test-records/{hex}.intoto.json")
}

#[test]
fn a_passing_record_passes_and_names_every_place() {
    let ci = workflow(&[&pinned(HEX), &pinned(HEX)]);
    let dir = repo(&[(".github/workflows/ci.yml", &ci), (&record_path(HEX), &record(HEX, Outcome::Passed))]);
    let outcome = run_with(dir.path(), "");
    let items = tested(&outcome);
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!((items[0].check.as_ref(), items[0].status), ("tested", Status::Pass));
    assert_eq!(items[0].subject, pinned(HEX));
    assert_eq!(
        locations(items[0]),
        [&record_path(HEX), ".github/workflows/ci.yml:3:16", ".github/workflows/ci.yml:5:16"]
    );
    assert!(items[0].evidence.contains(&Evidence::fact("result", "PASSED")));
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n == "test records in dockerfiles/test-records/ (found), for 1 digest(s) CI runs in"),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn missing_failed_and_other_digest_records_are_blockers() {
    let other = "1".repeat(64);
    let third = "2".repeat(64);
    let ci = workflow(&[&pinned(HEX), &pinned(&other), &pinned(&third)]);
    let dir = repo(&[
        (".github/workflows/ci.yml", &ci),
        (&record_path(HEX), &record(HEX, Outcome::Failed)),
        // Named for `other`, but a record of HEX: copied and never rewritten.
        (&record_path(&other), &record(HEX, Outcome::Passed)),
        ("dockerfiles/test-records/README", "not a record, ignored"),
    ]);
    let outcome = run_with(dir.path(), "");
    let items = tested(&outcome);
    let summary: Vec<(&str, Status, Severity)> =
        items.iter().map(|i| (i.subject.as_str(), i.status, i.severity)).collect();
    assert_eq!(
        summary,
        [
            (pinned(HEX).as_str(), Status::Fail, Severity::Blocker),
            (pinned(&other).as_str(), Status::Fail, Severity::Blocker),
            (pinned(&third).as_str(), Status::Fail, Severity::Blocker),
        ]
    );
    assert!(items[0].reason.contains("records FAILED"), "{}", items[0].reason);
    assert!(
        items[0].evidence.contains(&Evidence::Url { url: "https://example.invalid/actions/runs/7".into() })
    );
    assert!(items[0].evidence.contains(&Evidence::fact("failed", "make test")));
    assert!(
        items[1].reason.contains(&format!("is a test record of {IMAGE}@sha256:{HEX}, not of sha256:{other}")),
        "{}",
        items[1].reason
    );
    assert!(items[1].evidence.contains(&Evidence::hash("sha256", &other, Some(HEX.to_owned()))));
    assert!(
        items[2].reason.starts_with(&format!(
            "no test record of sha256:{third}: {} does not exist",
            record_path(&third)
        ))
    );
    assert!(items[2].reason.contains(&format!("release-check image-test {IMAGE}@sha256:{third} -- COMMAND")));
}

#[test]
fn warned_is_a_warning_that_can_be_made_a_blocker() {
    let ci = workflow(&[&pinned(HEX)]);
    let dir = repo(&[(".github/workflows/ci.yml", &ci), (&record_path(HEX), &record(HEX, Outcome::Warned))]);
    let outcome = run_with(dir.path(), "");
    let items = tested(&outcome);
    assert_eq!((items[0].check.as_ref(), items[0].status), ("tested-warned", Status::Fail));
    assert_eq!(items[0].severity, Severity::Warning);
    assert!(items[0].evidence.contains(&Evidence::fact("warned", "lint")));

    let gate: Arc<dyn Gate> = Arc::new(ImagesGate::default());
    let ctx = Context::new(dir.path());
    let report =
        gate_core::runner::run(std::slice::from_ref(&gate), &ctx, &RunOptions::default(), "r".into());
    assert_eq!(report.verdict, Verdict::Go, "{report:#?}");
    let mut strict = RunOptions::default();
    strict.severity.insert("images/tested-warned".into(), Severity::Blocker);
    let report = gate_core::runner::run(&[gate], &ctx, &strict, "r".into());
    assert_eq!(report.verdict, Verdict::NoGo);
}

#[test]
fn corrupt_records_are_located_errors() {
    let ci = workflow(&[&pinned(HEX)]);
    let cases = [
        ("{\n  \"_type\": \"https://in-toto.io/Statement/v1\",\n  \"subject\": [\n", 4, "EOF while parsing"),
        (
            "{\"_type\": \"https://in-toto.io/Statement/v1\", \"subject\": [{\"digest\": {\"sha256\": \"x\"}}]}",
            1,
            "invalid sha256 digest `x`",
        ),
        ("\u{feff}garbage", 1, "expected a JSON object"),
    ];
    for (text, line, message) in cases {
        let dir = repo(&[(".github/workflows/ci.yml", &ci), (&record_path(HEX), text)]);
        let outcome = run_with(dir.path(), "");
        let items = tested(&outcome);
        assert_eq!(items[0].status, Status::Error, "{text}");
        assert!(items[0].reason.contains(message), "{}", items[0].reason);
        let at = locations(items[0]);
        assert!(at[0].starts_with(&format!("{}:{line}:", record_path(HEX))), "{at:?}");
    }
    let dir = repo(&[(".github/workflows/ci.yml", &ci)]);
    let path = dir.path().join(record_path(HEX));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, [b'{', 0xff, b'}']).unwrap();
    let items_outcome = run_with(dir.path(), "");
    let items = tested(&items_outcome);
    assert_eq!(items[0].status, Status::Error);
    assert!(items[0].reason.contains("not UTF-8"), "{}", items[0].reason);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_followed_only_inside_the_repository() {
    let outside = repo(&[("record.json", &record(HEX, Outcome::Passed))]);
    let ci = workflow(&[&pinned(HEX)]);
    let dir = repo(&[(".github/workflows/ci.yml", &ci), ("kept/record.json", &record(HEX, Outcome::Passed))]);
    std::fs::create_dir_all(dir.path().join("dockerfiles/test-records")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("record.json"), dir.path().join(record_path(HEX)))
        .unwrap();
    let outcome = run_with(dir.path(), "");
    assert_eq!(tested(&outcome)[0].status, Status::Error);
    assert!(
        tested(&outcome)[0].reason.contains("resolves outside the repository"),
        "{}",
        tested(&outcome)[0].reason
    );
    assert!(!format!("{outcome:?}").contains(&*outside.path().to_string_lossy()));

    std::fs::remove_file(dir.path().join(record_path(HEX))).unwrap();
    std::os::unix::fs::symlink("../../kept/record.json", dir.path().join(record_path(HEX))).unwrap();
    let outcome = run_with(dir.path(), "");
    assert_eq!(tested(&outcome)[0].status, Status::Pass, "{:#?}", tested(&outcome));

    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("elsewhere/records")).unwrap();
    let outcome = run_with(dir.path(), "test-records = \"elsewhere/records\"");
    let items = tested(&outcome);
    assert_eq!((items[0].subject.as_str(), items[0].status), ("elsewhere/records", Status::Error));
}

#[test]
fn off_until_the_directory_exists_or_is_configured() {
    let ci = workflow(&[&pinned(HEX)]);
    let dir = repo(&[(".github/workflows/ci.yml", &ci)]);
    let outcome = run_with(dir.path(), "");
    let items = tested(&outcome);
    assert_eq!(items.len(), 1);
    assert_eq!((items[0].subject.as_str(), items[0].status), ("", Status::Skipped));
    assert!(items[0].reason.starts_with("no test records: dockerfiles/test-records/ does not exist"));

    // Configured: a missing directory is an error, never a quiet skip.
    let outcome = run_with(dir.path(), "test-records = \"ci/tested\"");
    let items = tested(&outcome);
    assert_eq!((items[0].subject.as_str(), items[0].status), ("ci/tested", Status::Error));
    assert!(
        items[0].reason.contains("cannot read the test-records directory ci/tested"),
        "{}",
        items[0].reason
    );

    let path = format!("ci/tested/{HEX}.intoto.json");
    std::fs::create_dir_all(dir.path().join("ci/tested")).unwrap();
    std::fs::write(dir.path().join(&path), record(HEX, Outcome::Passed)).unwrap();
    let outcome = run_with(dir.path(), "test-records = \"ci/tested/\"");
    let items = tested(&outcome);
    assert_eq!(items[0].status, Status::Pass);
    assert_eq!(locations(items[0])[0], path);
    assert!(outcome.notes.iter().any(|n| n.starts_with("test records in ci/tested/ (configured)")));
}

#[test]
fn only_digests_ci_runs_in_need_a_record() {
    // A Dockerfile's base image is an input of the build, not an image CI runs in;
    // a tag-only CI image has no digest to test (the `pinned` check reports it).
    let dockerfile = format!("FROM debian:bookworm@sha256:{HEX}\n");
    let ci = workflow(&["debian:bookworm"]);
    let dir = repo(&[
        ("Dockerfile", &dockerfile),
        (".github/workflows/ci.yml", &ci),
        ("dockerfiles/test-records/.keep", ""),
    ]);
    let outcome = run_with(dir.path(), "");
    assert!(tested(&outcome).is_empty(), "{:#?}", tested(&outcome));
    assert!(outcome.items.iter().any(|i| i.check == "pinned" && i.status == Status::Fail));
}

#[test]
fn a_hand_written_statement_in_the_documented_shape_passes() {
    let ci = workflow(&[&pinned(HEX)]);
    let text = format!(
        r#"{{
  "_type": "https://in-toto.io/Statement/v1",
  "subject": [{{ "name": "{IMAGE}", "digest": {{ "sha256": "{HEX}", "sha512": "{long}" }} }}],
  "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
  "predicate": {{ "result": "PASSED", "configuration": [{{ "uri": "https://example.invalid/tests.yml" }}] }}
}}"#,
        long = "3".repeat(128)
    );
    let dir = repo(&[(".github/workflows/ci.yml", &ci), (&record_path(HEX), &text)]);
    let outcome = run_with(dir.path(), "");
    let items = tested(&outcome);
    assert_eq!(items[0].status, Status::Pass, "{:#?}", items[0]);
    assert_eq!(
        items[0].evidence[0],
        Evidence::fact("record of", format!("{IMAGE}@sha256:{HEX}, {IMAGE}@sha512:{}", "3".repeat(128)))
    );
}

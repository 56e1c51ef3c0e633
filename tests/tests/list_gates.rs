//! `--list-gates --format json` (every check with its id, default and
//! effective severity, summary and remedy) and `--json-output` (the JSON
//! report beside another format, for `publish`).

use std::path::Path;

use release_check_e2e::{example_copy, release_check, workspace};
use serde_json::Value;
use test_support::example;

fn run_in(repo: &Path, extra: &[&str]) -> release_check_e2e::Run {
    let mut args = vec!["--repo".into(), repo.as_os_str().to_owned()];
    args.extend(extra.iter().map(Into::into));
    release_check(args)
}

#[test]
fn list_gates_as_json_gives_what_the_text_gives_and_more() {
    let text = run_in(&example("release-repo"), &["--list-gates"]);
    let json = run_in(&example("release-repo"), &["--list-gates", "--format", "json"]);
    assert_eq!((text.code, json.code), (0, 0), "{}{}", text.stderr, json.stderr);
    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    let gates = listed["gates"].as_array().unwrap();
    let names: Vec<&str> = gates.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["wheels", "images", "ci"]);
    // The text lists `  gate/check  severity  summary` per check.
    let text_rows: Vec<(String, String)> = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap().to_owned(), words.next().unwrap().to_owned())
        })
        .collect();
    let json_rows: Vec<(String, String)> = gates
        .iter()
        .flat_map(|g| g["checks"].as_array().unwrap())
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["severity"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(json_rows, text_rows);
    for check in gates.iter().flat_map(|g| g["checks"].as_array().unwrap()) {
        for field in ["summary", "remedy"] {
            assert!(!check[field].as_str().unwrap().is_empty(), "{check}");
        }
        assert_eq!(check["default_severity"], check["severity"], "no override in the example: {check}");
    }
    assert_eq!(listed["tool_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn list_gates_as_json_shows_the_configured_severity() {
    let repo = example_copy("release-repo");
    let config = repo.path().join("release-check.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[severity]\n\"wheels/unlisted\" = \"warning\"\n");
    std::fs::write(&config, text).unwrap();
    let json = run_in(repo.path(), &["--list-gates", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    let unlisted = listed["gates"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "wheels/unlisted")
        .unwrap()
        .clone();
    assert_eq!(
        (unlisted["default_severity"].as_str(), unlisted["severity"].as_str()),
        (Some("blocker"), Some("warning"))
    );
}

#[test]
fn list_gates_refuses_the_report_only_formats() {
    for format in ["markdown", "sarif"] {
        let run = run_in(&example("release-repo"), &["--list-gates", "--format", format]);
        assert_eq!(run.code, 2, "{format}");
        assert!(run.stderr.contains("--list-gates writes text or json"), "{}", run.stderr);
    }
}

#[test]
fn json_output_writes_the_json_report_beside_another_format() {
    let dir = tempfile::tempdir().unwrap();
    let (sarif, json) = (dir.path().join("report.sarif"), dir.path().join("report.json"));
    let run = run_in(
        &example("broken-repo"),
        &["--format", "sarif", "--output", sarif.to_str().unwrap(), "--json-output", json.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("docs/report.schema.json")).unwrap())
            .unwrap();
    let errors: Vec<String> =
        jsonschema::validator_for(&schema).unwrap().iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["summary"]["blockers"], 3);

    // Beside the text on standard output, and for `run` too.
    let run = run_in(&example("release-repo"), &["run", "--json-output", json.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("GO: every check passed"), "{}", run.stdout);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "GO");
}

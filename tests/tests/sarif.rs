//! `--format sarif`: SARIF 2.1.0 that the OASIS schema accepts (checked by
//! the `jsonschema` crate and, as referee, by Python's reference
//! `jsonschema` package), one rule per check with its `--explain` text, one
//! result per blocker and warning at its location, waived items suppressed,
//! and untrusted text that forges no control character, placeholder or link.

use std::path::Path;

use gate_core::render::sarif::{FINGERPRINT_KEY, GateChecks, sarif};
use gate_core::{CheckInfo, GateReport, GateRunStatus, Item, Location, Report, Severity};
use release_check_e2e::{example_copy, release_check, workspace};
use serde_json::Value;
use test_support::example;

const SCHEMA: &str = "docs/sarif/sarif-schema-2.1.0.json";

/// Every error the committed SARIF schema finds in `log`, by both validators.
fn schema_errors(log: &str) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join(SCHEMA)).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let value: Value = serde_json::from_str(log).expect("the SARIF log is JSON");
    let mut errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    errors.extend(python_referee(log));
    errors
}

/// Python's `jsonschema` (Draft 4 with format checks) on `log`: its errors.
fn python_referee(log: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.sarif");
    std::fs::write(&file, log).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1], encoding='utf-8'))\n\
        log = json.load(open(sys.argv[2], encoding='utf-8'))\n\
        v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)\n\
        errors = [e.message + ' at ' + '/'.join(map(str, e.absolute_path)) for e in v.iter_errors(log)]\n\
        print('\\n'.join(errors))\n\
        sys.exit(1 if errors else 0)\n";
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(workspace().join(SCHEMA))
        .arg(&file)
        .output()
        .expect("python3 runs (the referee: Python's jsonschema package, Debian's python3-jsonschema)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'jsonschema'"),
        "the referee needs Python's jsonschema package (apt-get install python3-jsonschema): {stderr}"
    );
    match output.status.code() {
        Some(0) => Vec::new(),
        Some(1) if stderr.is_empty() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| format!("python jsonschema: {l}"))
            .collect(),
        _ => panic!("the Python referee failed: {stderr}"),
    }
}

fn run_sarif(repo: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--repo".into(), repo.as_os_str().to_owned(), "--format".into(), "sarif".into()];
    args.extend(extra.iter().map(Into::into));
    let run = release_check(args);
    let log: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    (run.code, log, run.stdout)
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

#[test]
fn both_examples_validate_against_the_sarif_schema_with_the_verdicts_exit_code() {
    for (name, code, blockers) in [("release-repo", 0, 0), ("broken-repo", 1, 3)] {
        let (exit, log, text) = run_sarif(&example(name), &[]);
        assert_eq!(exit, code, "{name}");
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(results(&log).len(), blockers, "{name}: one result per blocker");
        assert_eq!(log["runs"][0]["properties"]["verdict"], if code == 0 { "GO" } else { "NO-GO" });
        assert!(text.ends_with("}\n"));
    }
}

#[test]
fn one_rule_per_check_with_its_explain_text() {
    let (_, log, _) = run_sarif(&example("broken-repo"), &[]);
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let listed = release_check(["--repo", example("broken-repo").to_str().unwrap(), "--list-gates"]);
    // `--list-gates` prints one indented line per check: `  gate/check  severity  summary`.
    let checks: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(checks.len() > 10, "{}", listed.stdout);
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, checks, "the rules are the checks, in --list-gates order");
    for id in ["wheels/hash", "images/pinned", "ci/required"] {
        let rule = rules.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no rule {id}"));
        let explained = release_check(["--repo", example("broken-repo").to_str().unwrap(), "--explain", id]);
        let field = |name: &str| {
            explained
                .stdout
                .lines()
                .find_map(|l| l.trim_start().strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| panic!("{name} in {}", explained.stdout))
        };
        let (verifies, remedy) = (field("verifies:"), field("remedy:"));
        assert_eq!(rule["shortDescription"]["text"], verifies.as_str(), "{id}");
        let help = rule["help"]["text"].as_str().unwrap();
        assert_eq!(help, format!("verifies: {verifies}\nremedy:   {remedy}"), "{id}");
        assert!(rule["help"]["markdown"].as_str().unwrap().contains(&remedy), "{id}");
    }
    let hash = rules.iter().find(|r| r["id"] == "wheels/hash").expect("wheels/hash is a rule");
    assert_eq!(hash["defaultConfiguration"]["level"], "error");
}

#[test]
fn each_blocker_is_a_result_at_its_location() {
    let (_, log, _) = run_sarif(&example("broken-repo"), &[]);
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let find = |rule: &str| {
        results(&log).iter().find(|r| r["ruleId"] == rule).unwrap_or_else(|| panic!("no {rule} in {log:#}"))
    };
    let missing = find("wheels/missing");
    assert_eq!(missing["level"], "error");
    let place = &missing["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], "sha256sums.txt");
    assert_eq!(place["artifactLocation"]["uriBaseId"], "SRCROOT");
    assert_eq!(place["region"]["startLine"], 3);
    assert_eq!(place["region"]["startColumn"], 1);
    assert_eq!(
        missing["partialFingerprints"][FINGERPRINT_KEY],
        "wheels/missing/localwheels/rc_stamp-2.1.0-py3-none-any.whl"
    );
    let index = missing["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "wheels/missing", "ruleIndex points at its rule");

    // A whole file: no region.
    let unlisted = &find("wheels/unlisted")["locations"][0]["physicalLocation"];
    assert_eq!(unlisted["artifactLocation"]["uri"], "localwheels/rc_extra-0.0.1-py3-none-any.whl");
    assert!(unlisted.get("region").is_none(), "{unlisted:#}");

    let hash = find("wheels/hash");
    let text = hash["message"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("wheels/hash/localwheels/rc_units-0.3.1-py3-none-any.whl: SHA-256 differs"),
        "{text}"
    );
    assert!(
        text.contains(
            "expected 56888e27b5f57e8444fc3f1a8fd262ed0fda1aad2df080c3fde2ab498fc7100d, found 4da109"
        ),
        "{text}"
    );
    assert!(hash.get("suppressions").is_none());
}

#[test]
fn waived_items_are_suppressed_and_unsettled_waivers_are_warnings_at_the_configuration() {
    let repo = example_copy("broken-repo");
    let config = repo.path().join("release-check.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        r#"
[[waiver]]
item = "wheels/hash/localwheels/rc_units-*"
reason = "rebuilt upstream; the re-signed sums file lands next week"
expires = 2999-12-31
issue = "https://example.invalid/issues/7"

[[waiver]]
item = "wheels/unlisted/*"
reason = "long gone"
expires = 2000-01-01

[[waiver]]
item = "images/nothing/*"
reason = "matches nothing"
expires = 2999-12-31
"#,
    );
    std::fs::write(&config, text).unwrap();
    let (code, log, raw) = run_sarif(repo.path(), &[]);
    assert_eq!(code, 1, "two blockers remain");
    let errors = schema_errors(&raw);
    assert!(errors.is_empty(), "{errors:#?}");
    let all = results(&log);

    let hash = all.iter().find(|r| r["ruleId"] == "wheels/hash").unwrap();
    assert_eq!(hash["level"], "error", "the level it would have without the waiver");
    let suppression = &hash["suppressions"][0];
    assert_eq!(suppression["kind"], "external");
    assert_eq!(suppression["justification"], "rebuilt upstream; the re-signed sums file lands next week");
    assert_eq!(suppression["properties"]["waiver"]["issue"], "https://example.invalid/issues/7");

    let unlisted = all.iter().find(|r| r["ruleId"] == "wheels/unlisted").unwrap();
    assert!(unlisted.get("suppressions").is_none(), "an expired waiver suppresses nothing");

    for (rule, pattern) in
        [("waivers/expired", "wheels/unlisted/*"), ("waivers/unmatched", "images/nothing/*")]
    {
        let result = all.iter().find(|r| r["ruleId"] == rule).unwrap_or_else(|| panic!("{rule}: {log:#}"));
        assert_eq!(result["level"], "warning");
        assert!(result["message"]["text"].as_str().unwrap().contains(pattern), "{result:#}");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "release-check.toml"
        );
    }
}

/// A report whose gate says hostile things, as a repository could make it.
fn hostile() -> Report {
    let mut items = vec![
        Item::fail(
            "hash",
            "a\u{1b}[31mb.whl",
            "reason \u{202e}reversed\u{202c} {0} [click](https://evil.invalid) \u{7}",
        )
        .at(Location::at("dir with space/ü:x.whl", 2, 5)),
        Item::fail("hash", "outside", "points outside").at(Location::file("../../etc/passwd")),
        Item::warn("hash", "absolute", "absolute path").at(Location::file("/etc/shadow")),
        Item::error("odd-check", "", "no location, an undocumented check"),
        Item::pass("hash", "fine", "passes"),
    ];
    for item in &mut items {
        item.id = item.id_in("wheels");
    }
    let gate = GateReport {
        name: "wheels".into(),
        verifies: "v".into(),
        run: GateRunStatus::Completed,
        duration_ms: 1,
        notes: vec!["note \u{1b}]8;;x\u{7}".into()],
        items,
    };
    let mut report = Report::assemble("repo".into(), "2026-01-01T00:00:00Z".into(), vec![gate], Vec::new());
    report.config = "repo/ci/release-check.toml".into();
    report
}

const HASH: CheckInfo =
    CheckInfo { id: "hash", default_severity: Severity::Blocker, summary: "s {x}", remedy: "r" };

#[test]
fn untrusted_text_forges_no_control_character_placeholder_or_link() {
    let raw = sarif(&hostile(), &[GateChecks { gate: "wheels", checks: &[HASH] }]);
    let errors = schema_errors(&raw);
    assert!(errors.is_empty(), "{errors:#?}");
    let log: Value = serde_json::from_str(&raw).unwrap();

    fn texts(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    if key == "text" {
                        out.push(value.as_str().unwrap().to_owned());
                    }
                    texts(value, out);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| texts(v, out)),
            _ => {}
        }
    }
    let mut messages = Vec::new();
    texts(&log, &mut messages);
    assert!(messages.len() > 5);
    for text in &messages {
        // Only a rule's own help text has a line break.
        let allowed = |c: char| c == '\n' && text.starts_with("verifies: ");
        assert!(!text.chars().any(|c| gate_core::render::escape::is_unsafe(c) && !allowed(c)), "{text:?}");
        assert!(!text.contains("]("), "an embedded link: {text:?}");
        let singles = text.replace("{{", "").replace("}}", "");
        assert!(!singles.contains('{') && !singles.contains('}'), "a placeholder: {text:?}");
    }
    // No raw unsafe character anywhere in the file, not even inside properties.
    assert!(!raw.chars().any(|c| gate_core::render::escape::is_unsafe(c) && c != '\n'), "{raw}");

    let all = results(&log);
    assert_eq!(all.len(), 4, "the passing item is no result");
    let first = &all[0];
    let text = first["message"]["text"].as_str().unwrap();
    assert!(text.contains("\\u{{1b}}[31m"), "{text}");
    assert!(text.contains("\\u{{202e}}reversed"), "{text}");
    assert!(text.contains("{{0}}"), "{text}");
    assert!(text.contains("[click]\\(https://evil.invalid)"), "{text}");
    let place = &first["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], "dir%20with%20space/%C3%BC%3Ax.whl");
    assert_eq!(place["region"]["startColumn"], 5);

    // Outside the repository, or no location: at the configuration, the
    // path named in the message.
    for (n, named) in [(1, Some("../../etc/passwd")), (2, Some("/etc/shadow")), (3, None)] {
        let result = &all[n];
        let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        assert_eq!(uri, "ci/release-check.toml", "{result:#}");
        if let Some(named) = named {
            assert!(result["message"]["text"].as_str().unwrap().contains(named), "{result:#}");
        }
    }
    assert_eq!(all[2]["level"], "warning");
    assert_eq!(all[3]["level"], "error");
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let odd = &rules[all[3]["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(odd["id"], "wheels/odd-check");
    assert!(odd["shortDescription"]["text"].as_str().unwrap().contains("not among the documented checks"));
    assert_eq!(rules[0]["shortDescription"]["text"], "s {{x}}", "braces of a description are doubled too");
}

#[test]
fn without_a_configuration_file_unlocated_results_point_where_one_would_go() {
    let mut report = hostile();
    report.config = "none found, defaults".into();
    let log: Value = serde_json::from_str(&sarif(&report, &[])).unwrap();
    let uri = &results(&log)[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "release-check.toml");
}

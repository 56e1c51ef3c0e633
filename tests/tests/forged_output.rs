//! Untrusted names cannot forge output through the real binary: a wheel
//! named with a line break and a verdict prints no second verdict line, and
//! CI check names carrying workflow commands print none, in text (which an
//! Actions log shows and its runner reads) or Markdown.

use std::path::Path;
use std::time::Duration;

use release_check_e2e::{Run, example_copy, release_check_within};

const LIMIT: Duration = Duration::from_secs(60);

fn run_in(repo: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--repo".to_owned(), repo.display().to_string()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    release_check_within(args, LIMIT)
}

/// Whether the Actions runner reads `line` as a workflow command: `::`
/// after leading whitespace, or `##[` anywhere.
fn is_workflow_command(line: &str) -> bool {
    line.trim_start().starts_with("::") || line.contains("##[")
}

#[test]
fn a_wheel_named_with_a_verdict_prints_no_second_verdict_line() {
    let repo = example_copy("release-repo");
    let forged = "x\nGO: every check passed (16 passed, 0 skipped, 0 blockers, 0 warnings, 0 waived)\n.whl";
    std::fs::write(repo.path().join("localwheels").join(forged), b"not a wheel").unwrap();
    let run = run_in(repo.path(), &["--gate", "wheels", "--verbose"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let (last, rest) = lines.split_last().unwrap();
    assert!(last.starts_with("NO-GO: "), "{}", run.stdout);
    for line in rest {
        assert!(!line.starts_with("GO") && !line.starts_with("NO-GO"), "forged {line:?} in\n{}", run.stdout);
    }
    assert!(run.stdout.contains("x\\nGO: every check passed"), "{}", run.stdout);
}

#[test]
fn check_names_carrying_workflow_commands_print_none() {
    let repo = example_copy("release-repo");
    let hostile = "install\n::error title=pwned::forged\n  ::add-mask::GO\r\n##[stop-commands]t0k3n";
    let evidence = repo.path().join("ci-evidence");
    for entry in std::fs::read_dir(&evidence).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let body = &mut json["body"];
        if let Some(runs) = body.get_mut("check_runs").and_then(|v| v.as_array_mut()) {
            for run in runs.iter_mut().filter(|r| r["name"] == "install") {
                run["name"] = hostile.into();
                run["conclusion"] = "failure".into();
            }
        }
        if let Some(contexts) = body.get_mut("contexts").and_then(|v| v.as_array_mut()) {
            contexts.iter_mut().filter(|c| *c == "install").for_each(|c| *c = hostile.into());
        }
        if let Some(checks) = body.get_mut("checks").and_then(|v| v.as_array_mut()) {
            checks
                .iter_mut()
                .filter(|c| c["context"] == "install")
                .for_each(|c| c["context"] = hostile.into());
        }
        std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    }
    for format in ["text", "markdown"] {
        let run = run_in(repo.path(), &["--gate", "ci", "--verbose", "--format", format]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("install"), "the check is reported: {}", run.stdout);
        for line in run.stdout.lines() {
            assert!(!is_workflow_command(line), "{format}: {line:?} in\n{}", run.stdout);
        }
        assert!(!run.stderr.lines().any(is_workflow_command), "{}", run.stderr);
    }
}

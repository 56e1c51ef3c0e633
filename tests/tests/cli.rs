//! The real binary on the bundled examples: exit codes, formats, options and
//! bad input.

use std::path::Path;

use release_check_e2e::{release_check, workspace};
use test_support::example;

fn args<'a>(list: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    list.iter().copied()
}

fn repo_args(repo: &Path, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut all = vec!["--repo".into(), repo.as_os_str().to_owned()];
    all.extend(extra.iter().map(Into::into));
    all
}

#[test]
fn good_example_is_go() {
    let run = release_check(repo_args(&example("release-repo"), &[]));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("recognised the flat layout: sha256sums.txt → localwheels/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("✓ 9 items passed"), "{}", run.stdout);
    assert!(run.stdout.contains(
        "note: dockerfiles/bookworm/image_hash ↔ ghcr.io/example/release-build (named in the file)"
    ));
    assert!(run.stdout.contains("✓ 6 items passed"), "images: {}", run.stdout);
    assert!(
        run.stdout
            .trim_end()
            .ends_with("GO: every check passed (18 passed, 0 skipped, 0 blockers, 0 warnings, 0 waived)")
    );
    assert!(!run.stdout.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn broken_example_is_no_go_with_each_reason() {
    let run = release_check(repo_args(&example("broken-repo"), &[]));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for expected in [
        "✗ blocker wheels/unlisted/localwheels/rc_extra-0.0.1-py3-none-any.whl: present but not listed in sha256sums.txt",
        "✗ blocker wheels/missing/localwheels/rc_stamp-2.1.0-py3-none-any.whl: listed in sha256sums.txt but not present",
        "✗ blocker wheels/hash/localwheels/rc_units-0.3.1-py3-none-any.whl: SHA-256 differs from sha256sums.txt",
        "expected 56888e27b5f57e8444fc3f1a8fd262ed0fda1aad2df080c3fde2ab498fc7100d, found 4da10943785bcbcc2a39803fa634e19dd7f85f4f00b7682762802652980eb0b0",
        "NO-GO: 3 blockers",
    ] {
        assert!(run.stdout.contains(expected), "missing {expected:?} in\n{}", run.stdout);
    }
}

#[test]
fn json_output_validates_against_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("docs/report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (name, code) in [("release-repo", 0), ("broken-repo", 1)] {
        let run = release_check(repo_args(&example(name), &["--format", "json"]));
        assert_eq!(run.code, code);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert_eq!(report["schema_version"], 3);
        assert_eq!(report["verdict"], if code == 0 { "GO" } else { "NO-GO" });
    }
}

#[test]
fn markdown_output() {
    let run = release_check(repo_args(&example("broken-repo"), &["--format", "markdown"]));
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("## release-check: ❌ NO-GO\n"), "{}", run.stdout);
    assert!(run.stdout.contains("| wheels | ❌ | 7 | 0 | 3 | 0 | 0 |"), "{}", run.stdout);
}

#[test]
fn output_file_is_written_whole_and_the_verdict_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let run = release_check(repo_args(
        &example("broken-repo"),
        &["--format", "json", "--output", out.to_str().unwrap()],
    ));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("NO-GO: 3 blockers (report written to "), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["blockers"], 3);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["report.json"], "no temporary file is left behind");
}

#[test]
fn output_into_a_missing_directory_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/dir/report.json");
    let run = release_check(repo_args(&example("release-repo"), &["--output", out.to_str().unwrap()]));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!dir.path().join("no").exists());
}

#[test]
fn missing_repository_is_a_usage_error() {
    let run = release_check(args(&["--repo", "/nonexistent/release-repo"]));
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: repository /nonexistent/release-repo does not exist or is not a directory\n"
    );
}

#[test]
fn unknown_flag_and_unknown_gate_are_usage_errors() {
    assert_eq!(release_check(args(&["--frobnicate"])).code, 2);
    let run = release_check(repo_args(&example("release-repo"), &["--gate", "wheelz"]));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown gate `wheelz` (--gate), expected one of: wheels"), "{}", run.stderr);
}

#[test]
fn malformed_config_is_located_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("release-check.toml");
    std::fs::write(&config, "[run]\ntimeout = \"5m\"\nparallel = true\n").unwrap();
    let run = release_check(args(&["--repo", dir.path().to_str().unwrap()]));
    assert_eq!(run.code, 2);
    let expected = format!(
        "error: {}:3:1: unknown field `parallel`, expected one of `timeout`, `timeouts`, `jobs`",
        config.display()
    );
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert_eq!(run.stdout, "", "no partial report");
}

#[test]
fn cargo_workspace_metadata_is_read_and_its_errors_point_into_cargo_toml() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    let good = "[workspace]\nmembers = []\n\n[workspace.metadata.release-check.run]\ntimeout = \"5m\"\n\n[[workspace.metadata.release-check.waiver]]\nitem = \"wheels/*\"\nreason = \"nothing to waive\"\nexpires = 2099-01-01\n";
    std::fs::write(&manifest, good).unwrap();
    let run = release_check(args(&["--repo", dir.path().to_str().unwrap(), "--format", "json"]));
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert!(report["config"].as_str().unwrap().ends_with("Cargo.toml [workspace.metadata.release-check]"));
    assert_eq!(report["waivers"][0]["state"], "unmatched", "the waiver came from Cargo.toml");

    std::fs::write(&manifest, good.replace("timeout = ", "timeuot = ")).unwrap();
    let run = release_check(args(&["--repo", dir.path().to_str().unwrap()]));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("Cargo.toml:5:1: unknown field `timeuot`"), "{}", run.stderr);
}

#[test]
fn an_empty_repository_is_no_go_because_nothing_was_checked() {
    let dir = tempfile::tempdir().unwrap();
    let run = release_check(args(&["--repo", dir.path().to_str().unwrap()]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("no sums file recognised"), "{}", run.stdout);
    assert!(run.stdout.contains("✗ error   wheels/nothing-checked"), "{}", run.stdout);
    assert!(run.stdout.contains("NO-GO: 3 blockers, 1 of them not checked"), "{}", run.stdout);
}

#[test]
fn list_gates_and_explain() {
    let run = release_check(args(&["--list-gates"]));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("wheels: committed wheels match their signed sha256sums files\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("wheels/sums-order"), "{}", run.stdout);

    let run = release_check(args(&["--explain", "wheels/sums-order"]));
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("wheels/sums-order (warning; default warning)\n"), "{}", run.stdout);

    let item = "wheels/hash/localwheels/rc_units-0.3.1-py3-none-any.whl";
    let run = release_check(repo_args(&example("broken-repo"), &["--explain", item]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(&format!("✗ blocker {item}: SHA-256 differs")), "{}", run.stdout);
    assert!(run.stdout.contains("at         sha256sums.txt:4:1"), "{}", run.stdout);

    let run = release_check(repo_args(
        &example("release-repo"),
        &["--explain", "wheels/hash/localwheels/nope.whl"],
    ));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("this run reported no such item"), "{}", run.stderr);
    assert_eq!(release_check(args(&["--explain", "wheels/nope"])).code, 2);
}

#[test]
fn colour_is_used_only_when_asked_and_never_with_no_color() {
    let run = release_check(repo_args(&example("broken-repo"), &["--color", "always"]));
    assert!(run.stdout.contains("\x1b["), "{}", run.stdout);
    let run = release_check(repo_args(&example("broken-repo"), &["--color", "never"]));
    assert!(!run.stdout.contains('\x1b'));
}

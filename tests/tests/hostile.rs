//! The hostile-input corpus: one case per way a verdict could be wrong or
//! the tool could be made to panic or hang, each run through the real
//! binary. Every case asserts NO-GO (exit 1) or no verdict (exit 2), never
//! GO, within a bounded time.

use std::path::Path;
use std::time::Duration;

use release_check_e2e::{Run, example_copy, release_check_within};

/// Long enough for a slow, loaded machine; a hang takes forever.
const LIMIT: Duration = Duration::from_secs(60);

fn run_in(repo: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--repo".to_owned(), repo.display().to_string()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    release_check_within(args, LIMIT)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr))
}

/// A configuration error: exit 2, a located message naming the file, no report.
fn assert_config_error(run: &Run, wanted: &str) {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "no report is written: {}", run.stdout);
    assert!(run.stderr.contains("release-check.toml:"), "located: {}", run.stderr);
    assert!(run.stderr.contains(wanted), "wanted {wanted:?} in {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

// 1. Skipped is not passed.

#[test]
fn without_a_ci_table_the_good_example_is_not_go() {
    let repo = example_copy("release-repo");
    write(&repo.path().join("release-check.toml"), "");
    let text = run_in(repo.path(), &[]);
    assert_eq!(text.code, 1, "{}{}", text.stdout, text.stderr);
    assert!(text.stdout.contains("- skipped ci/target/repository"), "{}", text.stdout);
    assert!(text.stdout.contains("NO-GO: 1 blocker, not checked"), "{}", text.stdout);

    let markdown = run_in(repo.path(), &["--format", "markdown"]);
    assert_eq!(markdown.code, 1);
    assert!(!markdown.stdout.contains("| ci | ✅"), "{}", markdown.stdout);
    assert!(markdown.stdout.contains("| ci | ⏭️ not checked | 0 | 1 | 1 |"), "{}", markdown.stdout);

    let report = json(&run_in(repo.path(), &["--format", "json"]));
    assert_eq!(report["verdict"], "NO-GO");
    assert_eq!(report["summary"]["skipped"], 1);
    assert_eq!(report["summary"]["passed"], 15);
}

#[test]
fn a_gate_turned_off_is_listed_as_off_and_the_rest_decides() {
    let repo = example_copy("release-repo");
    write(&repo.path().join("release-check.toml"), "[gates.ci]\nenabled = false\n");
    let run = run_in(repo.path(), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ci — off"), "{}", run.stdout);
    assert!(run.stdout.contains("note: off: turned off in the configuration"), "{}", run.stdout);
    let report = json(&run_in(repo.path(), &["--format", "json"]));
    let ci = report["gates"].as_array().unwrap().iter().find(|g| g["name"] == "ci").unwrap().clone();
    assert_eq!((ci["run"].as_str(), ci["items"].as_array().map(Vec::len)), (Some("off"), Some(0)));
}

#[test]
fn gates_left_out_with_gate_are_listed_as_off() {
    let repo = example_copy("release-repo");
    let run = run_in(repo.path(), &["--gate", "wheels"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("images — off") && run.stdout.contains("ci — off"), "{}", run.stdout);
    assert!(run.stdout.contains("note: off: left out with --gate"), "{}", run.stdout);
}

#[test]
fn an_empty_repository_is_not_go_and_says_what_to_configure() {
    let repo = tempfile::tempdir().unwrap();
    let run = run_in(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("wheels/nothing-checked"), "{}", run.stdout);
    assert!(run.stdout.contains("images/nothing-checked"), "{}", run.stdout);
    assert!(run.stdout.contains("enabled = false"), "{}", run.stdout);
}

#[test]
fn every_gate_off_is_not_go() {
    let repo = tempfile::tempdir().unwrap();
    write(
        &repo.path().join("release-check.toml"),
        "[gates.wheels]\nenabled = false\n[gates.images]\nenabled = false\n[gates.ci]\nenabled = false\n",
    );
    let run = run_in(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("no gate checked anything"), "{}", run.stdout);
}

// 7. Limits, not panics or hangs.

#[test]
fn out_of_range_settings_are_located_configuration_errors() {
    for (config, wanted) in [
        ("[run]\njobs = 100000\n", "expected 1 to 256"),
        ("[run]\ntimeout = \"100000000h\"\n", "too long"),
        ("[run.timeouts]\nwheels = \"9999999999s\"\n", "too long"),
        (
            "[[waiver]]\nitem = \"wheels/hash/x\"\nreason = \"  \"\nexpires = 2030-01-01\n",
            "waiver `reason` is empty",
        ),
        ("[[waiver]]\nitem = \"\"\nreason = \"ok\"\nexpires = 2030-01-01\n", "waiver `item` is empty"),
        ("[gates.wheels]\nmax-sums-bytes = 18446744073709551615\n", "max-sums-bytes"),
        ("[gates.ci]\nretries = 4294967295\n", "expected 0 to 10"),
        ("[gates.ci]\nhistory-commits = -1\n", "expected 0 to 1000"),
    ] {
        let repo = example_copy("release-repo");
        write(&repo.path().join("release-check.toml"), config);
        assert_config_error(&run_in(repo.path(), &[]), wanted);
    }
}

#[cfg(unix)]
#[test]
fn output_replaces_only_a_regular_file() {
    let repo = example_copy("release-repo");
    let out = tempfile::tempdir().unwrap();
    let fifo = out.path().join("report.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let kept = out.path().join("kept.txt");
    write(&kept, "keep me");
    let link = out.path().join("report.link");
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    for (target, what) in [(&fifo, "a FIFO"), (&link, "a symbolic link")] {
        let run = run_in(repo.path(), &["--output", target.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(what), "{}", run.stderr);
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep me");
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

// 3. Signatures are judged as gpg judges them.

/// Runs gpg with a home of its own in `home`.
fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg runs (install gnupg)")
}

#[test]
fn a_good_signature_followed_by_a_bad_one_is_not_go_as_gpg_says() {
    let repo = example_copy("release-repo");
    let home = tempfile::tempdir().unwrap();
    let secret = release_check_e2e::workspace().join("examples/keys/example-release.secret.asc");
    assert!(gpg(home.path(), &["--import", secret.to_str().unwrap()]).status.success());
    // A signature by the same key over other data: BAD for the sums file.
    let other = home.path().join("other.txt");
    write(&other, "not the sums file\n");
    let signed = gpg(home.path(), &["--armor", "--detach-sign", "--output", "-", other.to_str().unwrap()]);
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    let asc = repo.path().join("sha256sums.txt.asc");
    let mut both = std::fs::read(&asc).unwrap();
    both.extend_from_slice(&signed.stdout);
    std::fs::write(&asc, both).unwrap();

    // The referee.
    let verify = gpg(
        home.path(),
        &["--verify", asc.to_str().unwrap(), repo.path().join("sha256sums.txt").to_str().unwrap()],
    );
    assert!(!verify.status.success(), "gpg --verify fails on good+bad");

    write(&repo.path().join("release-check.toml"), "[gates.ci]\nenabled = false\n");
    let run = run_in(repo.path(), &["--gate", "wheels"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("wheels/signature/sha256sums.txt.asc"), "{}", run.stdout);
    assert!(run.stdout.contains("BAD signature"), "{}", run.stdout);
    let reason = run.stdout.lines().find(|l| l.contains("wheels/signature/")).unwrap();
    assert!(
        !reason.contains("assertion failed"),
        "the reason is a sentence, not library internals: {reason}"
    );
}

// 5. Parsers no more lenient than their reference.

#[test]
fn a_wheel_replaced_by_a_malformed_lfs_pointer_is_an_error() {
    let repo = example_copy("release-repo");
    let wheel = repo.path().join("localwheels/rc_units-0.3.1-py3-none-any.whl");
    // CRLF endings: git-lfs does not accept this as a pointer.
    write(
        &wheel,
        "version https://git-lfs.github.com/spec/v1\r\noid sha256:468a0f8a6b1c9e2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e\r\nsize 1259\r\n",
    );
    let run = run_in(repo.path(), &["--gate", "wheels"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("✗ error"), "{}", run.stdout);
    assert!(run.stdout.contains("rc_units-0.3.1-py3-none-any.whl"), "{}", run.stdout);
}

// 6. Nothing in an input can forge a verdict or a workflow command, errors included.

#[test]
fn a_configuration_error_quoting_hostile_text_prints_no_workflow_command() {
    let repo = example_copy("release-repo");
    write(
        &repo.path().join("release-check.toml"),
        "[gates.ci]\n\"x\\n::error title=forged::GO\\nGO: every check passed\\u001b[2J\" = 1\n",
    );
    let run = run_in(repo.path(), &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("unknown field"), "{}", run.stderr);
    for line in run.stderr.lines() {
        assert!(!line.trim_start().starts_with("::"), "a workflow command: {line:?}");
        assert!(!line.starts_with("GO"), "a forged verdict line: {line:?}");
        assert!(!line.contains('\x1b'), "a raw escape sequence: {line:?}");
    }
}

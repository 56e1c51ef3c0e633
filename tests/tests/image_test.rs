//! `release-check image-test` writes test records, and the images gate's
//! `tested` check reads them: the real binary, a real test command.

use std::path::Path;
use std::process::Command;

use release_check_e2e::{Run, binary, release_check};

const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";
const IMAGE: &str = "ghcr.io/example/release-build";

fn pinned() -> String {
    format!("{IMAGE}@sha256:{HEX}")
}

/// A repository whose CI runs in the pinned image.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    let ci = format!("jobs:\n  test:\n    runs-on: ubuntu-latest\n    container: {}\n", pinned());
    std::fs::write(dir.path().join(".github/workflows/ci.yml"), ci).unwrap();
    dir
}

fn image_test(repo: &Path, extra: &[&str], command: &[&str]) -> Run {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--repo".as_ref(), repo.as_os_str(), "image-test".as_ref()];
    let pinned = pinned();
    args.push(pinned.as_ref());
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push("--".as_ref());
    args.extend(command.iter().map(std::ffi::OsStr::new));
    release_check(args)
}

fn gate(repo: &Path) -> Run {
    release_check(["--repo".as_ref(), repo.as_os_str(), "--gate".as_ref(), "images".as_ref(), "-v".as_ref()])
}

fn record(repo: &Path, dir: &str) -> serde_json::Value {
    let path = repo.join(dir).join(format!("{HEX}.intoto.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn an_untested_image_blocks_a_passing_test_turns_the_gate_go_and_a_failing_one_no_go() {
    let repo = repo();
    let before = gate(repo.path());
    // Not tested is not passed: the skipped check blocks.
    assert_eq!(before.code, 1, "{}", before.stdout);
    assert!(
        before
            .stdout
            .contains("- skipped images/tested: no test records: dockerfiles/test-records/ does not exist"),
        "{}",
        before.stdout
    );

    let ci = repo.path().join(".github/workflows/ci.yml");
    let ci = ci.to_str().unwrap();
    let script = format!("test -f {ci}");
    let run = image_test(
        repo.path(),
        &["--url", "https://ci.example.invalid/runs/42", "--config-file", ci],
        &["sh", "-c", &script],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.starts_with("PASSED: `sh -c "), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("dockerfiles/test-records/{HEX}.intoto.json")), "{}", run.stderr);
    let written = record(repo.path(), "dockerfiles/test-records");
    assert_eq!(written["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(written["subject"][0]["name"], IMAGE);
    assert_eq!(written["subject"][0]["digest"]["sha256"], HEX);
    assert_eq!(written["predicateType"], "https://in-toto.io/attestation/test-result/v0.1");
    assert_eq!(written["predicate"]["result"], "PASSED");
    assert_eq!(written["predicate"]["url"], "https://ci.example.invalid/runs/42");
    assert_eq!(written["predicate"]["configuration"][0]["name"], ".github/workflows/ci.yml");
    let ci_hash = sha256sum(Path::new(ci));
    assert_eq!(written["predicate"]["configuration"][0]["digest"]["sha256"], ci_hash.as_str());
    assert_eq!(written["predicate"]["passedTests"][0], format!("sh -c 'test -f {ci}'"));

    let after = gate(repo.path());
    assert_eq!(after.code, 0, "{}", after.stdout);
    assert!(
        after.stdout.contains(&format!("✓ pass    images/tested/{}: tested before use", pinned())),
        "{}",
        after.stdout
    );

    let run = image_test(repo.path(), &[], &["false"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("FAILED: `false` ended with exit status: 1"), "{}", run.stderr);
    assert_eq!(record(repo.path(), "dockerfiles/test-records")["predicate"]["failedTests"][0], "false");
    let after = gate(repo.path());
    assert_eq!(after.code, 1, "{}", after.stdout);
    assert!(
        after.stdout.contains(&format!(
            "✗ blocker images/tested/{}: dockerfiles/test-records/{HEX}.intoto.json records FAILED",
            pinned()
        )),
        "{}",
        after.stdout
    );
}

/// SHA-256 with the system's `sha256sum`, an implementation independent of release-check's.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn configured_directory_and_the_github_actions_run_url() {
    let repo = repo();
    std::fs::write(repo.path().join("release-check.toml"), "[gates.images]\ntest-records = \"ci/tested\"\n")
        .unwrap();
    let output = Command::new(binary())
        .args(["--repo".as_ref(), repo.path().as_os_str()])
        .args(["image-test", &pinned(), "--", "true"])
        .env("GITHUB_SERVER_URL", "https://github.example.invalid/")
        .env("GITHUB_REPOSITORY", "org/repo")
        .env("GITHUB_RUN_ID", "123")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let written = record(repo.path(), "ci/tested");
    assert_eq!(written["predicate"]["url"], "https://github.example.invalid/org/repo/actions/runs/123");
    assert_eq!(written["predicate"]["configuration"], serde_json::json!([]));
    let run = gate(repo.path());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("note: test records in ci/tested/ (configured)"), "{}", run.stdout);

    // --records wins over the configuration.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = image_test(repo.path(), &["--records", elsewhere.path().to_str().unwrap()], &["true"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(elsewhere.path().join(format!("{HEX}.intoto.json")).is_file());
}

#[test]
fn usage_errors_write_no_record() {
    let repo = repo();
    let records = repo.path().join("dockerfiles/test-records");
    let cases: [(&[&str], &str); 5] = [
        (&["image-test", IMAGE, "--", "true"], "has no digest"),
        (
            &["image-test", &pinned(), "--", "/nonexistent/test-command"],
            "cannot run `/nonexistent/test-command`; no test record written",
        ),
        (&["image-test", &pinned()], "required arguments were not provided"),
        (
            &["--format", "json", "image-test", &pinned(), "--", "true"],
            "--format is an option of the report, not of `image-test`",
        ),
        (
            &["image-test", &pinned(), "--config-file", "/etc/hostname", "--", "true"],
            "is not a file inside the repository",
        ),
    ];
    for (args, message) in cases {
        let mut all: Vec<&std::ffi::OsStr> = vec!["--repo".as_ref(), repo.path().as_os_str()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        let run = release_check(all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(!records.exists(), "{args:?} wrote a record");
    }
}

#[test]
fn invalid_images_settings_are_located_config_errors() {
    let repo = repo();
    let config = repo.path().join("release-check.toml");
    let cases = [
        (
            "[gates.images]\nallow-tags = [{ image = \"Debian\", reason = \"r\" }]\n",
            "2:25: invalid image reference `Debian`: repository name must be lowercase",
        ),
        (
            "[[gates.images.record]]\nimage = \"quay.io/o/b\"\nfile = \"../image_hash\"\n",
            "3:8: `../image_hash` is not a path inside the repository",
        ),
        (
            "[gates.images]\ntest-records = \"/tmp/records\"\n",
            "2:16: `/tmp/records` is not a path inside the repository",
        ),
    ];
    for (text, message) in cases {
        std::fs::write(&config, text).unwrap();
        let run = gate(repo.path());
        assert_eq!(run.code, 2, "{text}: {}", run.stdout);
        assert!(run.stderr.starts_with(&format!("error: {}:{message}", config.display())), "{}", run.stderr);
        assert_eq!(run.stdout, "", "no partial report");
        let run = image_test(repo.path(), &[], &["true"]);
        assert_eq!(run.code, 2, "image-test reads the same configuration: {}", run.stderr);
    }
}

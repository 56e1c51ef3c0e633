//! `release-check bisect`, the real binary: what it refuses before any
//! request, each with exit code 2 and a reason. The bisection itself runs
//! against a package index in gate-wheels' build_deps tests.

use std::path::Path;

use release_check_e2e::release_check;

/// A repository whose release-check.toml is `config`.
fn repo(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("release-check.toml"), config).unwrap();
    dir
}

fn bisect(repo: &Path, extra: &[&str]) -> release_check_e2e::Run {
    let mut args = vec!["--repo".into(), repo.as_os_str().to_owned(), "bisect".into()];
    args.extend(extra.iter().map(Into::into));
    release_check(args)
}

const ANALYSIS: &str =
    "[gates.wheels.build-deps]\ntarget-pythons = [\"3.7\"]\nindex-url = \"http://127.0.0.1:9/simple/\"\n";

#[test]
fn bisect_needs_the_build_dependency_analysis() {
    let dir = repo("");
    let run = bisect(dir.path(), &["--good", "2022-06-01"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("add [gates.wheels.build-deps]"), "{}", run.stderr);
}

#[test]
fn bisect_needs_a_good_moment_before_the_bad_one() {
    let dir = repo(ANALYSIS);
    let run = bisect(dir.path(), &["--bad", "2022-06-01"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--good <WHEN>") && run.stderr.contains("--good-report"), "{}", run.stderr);

    let run = bisect(dir.path(), &["--good", "2022-07-15", "--bad", "2022-06-01"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "the good moment 2022-07-15T00:00:00Z must be before the bad moment 2022-06-01T00:00:00Z"
        ),
        "{}",
        run.stderr
    );

    let run = bisect(dir.path(), &["--good", "last spring"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("expected an RFC 3339 timestamp"), "{}", run.stderr);
}

#[test]
fn a_good_report_without_a_recorded_closure_is_refused_with_where() {
    let dir = repo(ANALYSIS);
    let report = dir.path().join("old.json");
    std::fs::write(&report, "{\"schema_version\": 2,\n \"gates\": [}").unwrap();
    let run = bisect(dir.path(), &["--good-report", report.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("old.json:2:12: a release-check JSON report expected"), "{}", run.stderr);

    // A real report of a run without the analysis.
    let written = release_check([
        "--repo".into(),
        dir.path().as_os_str().to_owned(),
        "--gate".into(),
        "images".into(),
        "--format".into(),
        "json".into(),
        "--output".into(),
        report.as_os_str().to_owned(),
    ]);
    assert!(written.code <= 1, "{}", written.stderr);
    let run = bisect(dir.path(), &["--good-report", report.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no `build-closure` item"), "{}", run.stderr);
}

#[test]
fn offline_needs_the_analysis_and_keeps_it_to_the_cache() {
    let dir = repo("");
    for args in [&["--offline"][..], &["bisect", "--good", "2022-06-01", "--offline"][..]] {
        let mut all = vec!["--repo".into(), dir.path().as_os_str().to_owned()];
        all.extend(args.iter().map(Into::into));
        let run = release_check(all);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("--offline keeps the build-dependency analysis to its cache"),
            "{}",
            run.stderr
        );
    }
    // With the analysis configured and an empty cache, offline sends nothing
    // and says what is missing: the index at 127.0.0.1:9 would refuse.
    let cache = tempfile::tempdir().unwrap();
    let dir = repo(&format!("{ANALYSIS}cache-dir = {:?}\n", cache.path().to_str().unwrap()));
    std::fs::write(dir.path().join("requirements.txt"), "six==1.16.0\n").unwrap();
    std::fs::write(dir.path().join("build-requirements.txt"), "").unwrap();
    let run = release_check([
        "--repo".into(),
        dir.path().as_os_str().to_owned(),
        "--gate".into(),
        "wheels".into(),
        std::ffi::OsString::from("--offline"),
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("offline, and not in the cache"), "{}", run.stdout);
    assert!(run.stdout.contains("0 requests"), "{}", run.stdout);
}

/// On SecureDrop's repository of July 2022, against https://pypi.org/simple/:
/// the upload that brought the cycle is setuptools_scm 7.0.1's (the test
/// needs the network and the pyenv Pythons 3.7 and 3.9; it shares the index
/// cache of the gate-wheels tests, under the target directory).
#[test]
fn bisect_names_the_setuptools_scm_7_0_1_upload_on_securedrop() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypi-cache");
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[gates.wheels.build-deps]\ntarget-pythons = [\"3.7\", \"3.9\"]\ncache-dir = {:?}\nhook-timeout = \"10m\"\n",
            cache.to_str().unwrap()
        ),
    )
    .unwrap();
    let repo = test_support::shared_fixture("securedrop-2022-07");
    let run = release_check([
        "--repo".as_ref(),
        repo.as_os_str(),
        "--config".as_ref(),
        config.path().as_os_str(),
        "bisect".as_ref(),
        "--good".as_ref(),
        "2022-06-01".as_ref(),
        "--bad".as_ref(),
        "2022-07-15".as_ref(),
    ]);
    assert_eq!(run.code, 0, "a change is named (this test needs the network): {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "The analysis changes with the upload of setuptools_scm-7.0.1.tar.gz at 2022-06-21T20:07:12.673503Z:\n  bump: setuptools-scm 6.4.2 → 7.0.1"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("warning:"), "the good moment has no error: {}", run.stdout);
}

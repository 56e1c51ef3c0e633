//! The wheels gate fails closed on odd inputs: wheels no sums file lists,
//! files that are links, FIFOs or sockets, paths leading outside the
//! repository and out-of-range settings each become an error or failing
//! item naming what is wrong, never a GO, a panic or a hang; and nothing
//! outside the repository is read or named in the report.

#![cfg(unix)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gate_core::{Context, Gate, Item, Report, RunOptions, Status, Verdict, runner};
use gate_wheels::{Config, WheelSet, WheelsGate};
use proptest::prelude::*;

const WHEEL: &[u8] = b"PK\x03\x04 not really a wheel";
const NAME: &str = "a-1.0-py3-none-any.whl";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    gate_wheels::hex(&sha2::Sha256::digest(bytes))
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A flat-layout repository whose one wheel is listed and matches.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("localwheels/{NAME}"), WHEEL);
    write(dir.path(), "sha256sums.txt", format!("{}  {NAME}\n", sha256(WHEEL)).as_bytes());
    dir
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn replace_with_fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    mkfifo(path);
}

fn replace_with_symlink(path: &Path, target: &Path) {
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink(target, path).unwrap();
}

/// The report of the gate alone, run through the runner with a 20-second
/// timeout; the run must end well before it (a FIFO opened for reading
/// would block until the timeout).
fn run_with(repo: &Path, config: Config) -> Report {
    let gate: Arc<dyn Gate> = Arc::new(WheelsGate::new(config));
    let options = RunOptions { default_timeout: Duration::from_secs(20), ..RunOptions::default() };
    let started = Instant::now();
    let report = runner::run(&[gate], &Context::new(repo), &options, "repo".into());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "the gate took {took:?}: {:#?}", items(&report));
    report
}

fn run(repo: &Path) -> Report {
    run_with(repo, Config::default())
}

fn items(report: &Report) -> Vec<Item> {
    report.gates.iter().flat_map(|g| g.items.clone()).collect()
}

/// The one item of `check` about `subject`, which must be an error.
fn error<'a>(items: &'a [Item], check: &str, subject: &str) -> &'a Item {
    let found: Vec<&Item> = items.iter().filter(|i| i.check == check && i.subject == subject).collect();
    let [item] = found[..] else {
        panic!("one {check} item about {subject}, found {found:#?} in {items:#?}")
    };
    assert_eq!(item.status, Status::Error, "{item:#?}");
    item
}

fn assert_no_go(report: &Report) {
    assert_eq!(report.verdict, Verdict::NoGo, "{:#?}", items(report));
    assert!(
        !items(report).iter().any(|i| i.check == "timeout" || i.check == "panic"),
        "{:#?}",
        items(report)
    );
}

/// Whether anything in the report mentions `text`.
fn mentions(report: &Report, text: &str) -> bool {
    serde_json::to_string(&items(report)).unwrap().contains(text)
}

fn passed_hash(items: &[Item], subject: &str) -> bool {
    items.iter().any(|i| i.check == "hash" && i.subject == subject && i.status == Status::Pass)
}

// ---------------------------------------------------------------------------
// Wheels without a sums file.

#[test]
fn wheels_without_a_sums_file_are_a_blocker_naming_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("localwheels/{NAME}"), WHEEL);
    write(dir.path(), "localwheels/b-2.0-py3-none-any.whl", b"b");
    write(dir.path(), "pubkeys/release.asc", b"not read: no sums file to verify");
    write(dir.path(), "requirements.txt", format!("a==1.0 --hash=sha256:{}\n", sha256(WHEEL)).as_bytes());
    let report = run(dir.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "sums-file", "sha256sums.txt");
    assert!(
        item.reason.starts_with("localwheels/ holds 2 wheels but no sums file lists them"),
        "{}",
        item.reason
    );
    assert!(item.reason.contains("add sha256sums.txt"), "{}", item.reason);
    assert!(item.reason.contains("sha256sums.txt.asc"), "{}", item.reason);
}

#[test]
fn a_project_s_wheels_without_its_sums_file_are_a_blocker() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("client/wheels/{NAME}"), WHEEL);
    write(dir.path(), "server/sha256sums.txt", format!("{}  {NAME}\n", sha256(WHEEL)).as_bytes());
    write(dir.path(), &format!("server/wheels/{NAME}"), WHEEL);
    let report = run(dir.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "sums-file", "client/sha256sums.txt");
    assert!(
        item.reason.contains("client/wheels/ holds 1 wheel but no sums file lists it"),
        "{}",
        item.reason
    );
    assert!(passed_hash(&items, &format!("server/wheels/{NAME}")), "{items:#?}");
}

#[test]
fn the_missing_sums_file_is_a_unit_of_a_sharded_run() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("localwheels/{NAME}"), WHEEL);
    let gate = WheelsGate::default();
    let ctx = Context::new(dir.path());
    assert_eq!(gate.units(&ctx), ["sha256sums.txt"]);
    let ctx = Context { units: Some(["sha256sums.txt".to_owned()].into()), ..ctx };
    let outcome = gate.run(&ctx);
    error(&outcome.items, "sums-file", "sha256sums.txt");
}

// ---------------------------------------------------------------------------
// Files that are not regular files: never opened, each an error naming it.

#[test]
fn a_sums_file_that_is_a_fifo_is_an_error_and_the_other_sets_are_still_checked() {
    let repo = repo();
    replace_with_fifo(&repo.path().join("sha256sums.txt"));
    write(repo.path(), &format!("bootstrap/{NAME}"), WHEEL);
    write(repo.path(), "bootstrap-sha256sums.txt", format!("{}  {NAME}\n", sha256(WHEEL)).as_bytes());
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "sums-file", "sha256sums.txt");
    assert!(
        item.reason.contains("sha256sums.txt is a FIFO (named pipe), not a regular file"),
        "{}",
        item.reason
    );
    assert!(passed_hash(&items, &format!("bootstrap/{NAME}")), "{items:#?}");
    // Sharding reads the sums files too.
    let units = WheelsGate::default().units(&Context::new(repo.path()));
    assert!(units.contains(&"sha256sums.txt".to_owned()), "{units:?}");
}

#[test]
fn a_sums_file_that_is_a_symlink_is_an_error_even_inside_the_repository() {
    let repo = repo();
    std::fs::rename(repo.path().join("sha256sums.txt"), repo.path().join("real-sums")).unwrap();
    replace_with_symlink(&repo.path().join("sha256sums.txt"), Path::new("real-sums"));
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "sums-file", "sha256sums.txt");
    assert!(item.reason.contains("is a symbolic link, not a regular file"), "{}", item.reason);
}

#[test]
fn a_dangling_symlink_as_sums_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("localwheels/{NAME}"), WHEEL);
    std::os::unix::fs::symlink("nowhere", dir.path().join("sha256sums.txt")).unwrap();
    let report = run(dir.path());
    assert_no_go(&report);
    error(&items(&report), "sums-file", "sha256sums.txt");
}

#[test]
fn a_signature_that_is_a_fifo_is_an_error_and_the_wheels_are_still_checked() {
    let repo = repo();
    mkfifo(&repo.path().join("sha256sums.txt.asc"));
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "signature", "sha256sums.txt.asc");
    assert!(item.reason.contains("FIFO"), "{}", item.reason);
    assert!(passed_hash(&items, &format!("localwheels/{NAME}")), "{items:#?}");
}

#[test]
fn a_signature_symlinked_outside_is_an_error_and_is_not_read() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    // Opening a FIFO for reading blocks: the run ending in time shows it
    // was never opened.
    mkfifo(&outside.path().join("trap"));
    replace_with_symlink(&repo.path().join("sha256sums.txt.asc"), &outside.path().join("trap"));
    write(repo.path(), "pubkeys/README", b"keys go here");
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "signature", "sha256sums.txt.asc");
    assert!(item.reason.contains("symbolic link"), "{}", item.reason);
    assert!(!mentions(&report, &outside.path().display().to_string()), "{items:#?}");
}

#[test]
fn a_key_that_is_a_fifo_or_a_symlink_is_an_error_and_is_not_read() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    mkfifo(&outside.path().join("trap"));
    write(repo.path(), "sha256sums.txt.asc", b"-----BEGIN PGP SIGNATURE-----\n");
    mkfifo(&repo.path().join("pubkeys/fifo.asc"));
    std::os::unix::fs::symlink(outside.path().join("trap"), repo.path().join("pubkeys/outside.asc")).unwrap();
    std::os::unix::net::UnixListener::bind(repo.path().join("pubkeys/socket.asc")).unwrap();
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    for (name, kind) in [("fifo.asc", "FIFO"), ("outside.asc", "symbolic link"), ("socket.asc", "socket")] {
        let item = error(&items, "pubkey", &format!("pubkeys/{name}"));
        assert!(item.reason.contains(kind), "{}", item.reason);
    }
    assert!(items.iter().any(|i| i.check == "signature"), "{items:#?}");
    assert!(passed_hash(&items, &format!("localwheels/{NAME}")), "{items:#?}");
    assert!(!mentions(&report, &outside.path().display().to_string()), "{items:#?}");
}

#[test]
fn a_wheel_that_is_a_fifo_a_socket_or_a_symlink_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["fifo-1.0-py3-none-any.whl", "socket-1.0-py3-none-any.whl", "link-1.0-py3-none-any.whl"];
    write(dir.path(), &format!("localwheels/{NAME}"), WHEEL);
    write(dir.path(), "vendor/real.whl", WHEEL);
    mkfifo(&dir.path().join("localwheels").join(names[0]));
    std::os::unix::net::UnixListener::bind(dir.path().join("localwheels").join(names[1])).unwrap();
    // A link inside the repository is refused too: the committed file
    // must be the wheel itself.
    std::os::unix::fs::symlink("../vendor/real.whl", dir.path().join("localwheels").join(names[2])).unwrap();
    let mut sums = format!("{}  {NAME}\n", sha256(WHEEL));
    for name in names {
        sums.push_str(&format!("{}  {name}\n", sha256(WHEEL)));
    }
    write(dir.path(), "sha256sums.txt", sums.as_bytes());
    let report = run(dir.path());
    assert_no_go(&report);
    let items = items(&report);
    for (name, kind) in names.iter().zip(["FIFO", "socket", "symbolic link"]) {
        let item = error(&items, "unsafe-path", &format!("localwheels/{name}"));
        assert!(item.reason.contains(&format!("localwheels/{name} is a {kind}")), "{}", item.reason);
    }
    assert!(passed_hash(&items, &format!("localwheels/{NAME}")), "{items:#?}");
}

// ---------------------------------------------------------------------------
// Paths leading outside the repository.

#[test]
fn a_wheels_directory_symlinked_outside_is_refused_and_nothing_in_it_is_listed() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), NAME, WHEEL);
    write(outside.path(), "outside_secret-1.0-py3-none-any.whl", b"secret");
    std::fs::remove_dir_all(repo.path().join("localwheels")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("localwheels")).unwrap();
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "unsafe-path", "localwheels");
    assert!(item.reason.contains("leads outside the repository"), "{}", item.reason);
    let wheel = error(&items, "hash", &format!("localwheels/{NAME}"));
    assert!(wheel.reason.contains("not checked"), "{}", wheel.reason);
    assert!(!mentions(&report, "outside_secret"), "{items:#?}");
    assert!(!mentions(&report, &outside.path().display().to_string()), "{items:#?}");
}

#[test]
fn a_wheels_directory_symlinked_inside_the_repository_is_checked() {
    let repo = repo();
    std::fs::rename(repo.path().join("localwheels"), repo.path().join("vendored")).unwrap();
    std::os::unix::fs::symlink("vendored", repo.path().join("localwheels")).unwrap();
    let report = run(repo.path());
    let items = items(&report);
    assert!(passed_hash(&items, &format!("localwheels/{NAME}")), "{items:#?}");
    assert!(items.iter().all(|i| i.status != Status::Error), "{items:#?}");
}

#[test]
fn a_key_directory_symlinked_outside_is_refused() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "stranger.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
    write(repo.path(), "sha256sums.txt.asc", b"-----BEGIN PGP SIGNATURE-----\n");
    std::os::unix::fs::symlink(outside.path(), repo.path().join("pubkeys")).unwrap();
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    let item = error(&items, "pubkey", "pubkeys");
    assert!(item.reason.contains("leads outside the repository"), "{}", item.reason);
    error(&items, "signature", "sha256sums.txt.asc");
    assert!(!mentions(&report, "stranger"), "{items:#?}");
}

#[test]
fn a_requirements_file_that_is_a_fifo_or_a_link_outside_is_an_error() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    mkfifo(&outside.path().join("trap"));
    mkfifo(&repo.path().join("requirements.txt"));
    std::os::unix::fs::symlink(outside.path().join("trap"), repo.path().join("build-requirements.txt"))
        .unwrap();
    let report = run(repo.path());
    assert_no_go(&report);
    let items = items(&report);
    assert!(error(&items, "pin-syntax", "requirements.txt").reason.contains("FIFO"));
    assert!(error(&items, "pin-syntax", "build-requirements.txt").reason.contains("symbolic link"));
    assert!(passed_hash(&items, &format!("localwheels/{NAME}")), "{items:#?}");
}

/// `[gates.wheels]` read from TOML, as the configuration loader reads it.
fn config(toml: &str) -> Result<Config, String> {
    toml::from_str::<Config>(toml).map_err(|e| e.to_string())
}

#[test]
fn configured_paths_outside_the_repository_are_refused_where_they_are_written() {
    let cases = [
        ("[[set]]\nsums = \"sha256sums.txt\"\nwheels = \"/etc\"\n", 3, "`/etc`"),
        ("[[set]]\nsums = \"../../x\"\nwheels = \"localwheels\"\n", 2, "`../../x`"),
        ("[[set]]\nsums = \"s.txt\"\nwheels = \"w\"\nsignature = \"w/../../s.asc\"\n", 4, "`w/../../s.asc`"),
        ("[[set]]\nsums = \"s.txt\"\nwheels = \"w\"\npubkeys = \"/root/.gnupg\"\n", 4, "`/root/.gnupg`"),
        (
            "[[set]]\nsums = \"s.txt\"\nwheels = \"w\"\nrequirements = [\"ok.txt\", \"../r.txt\"]\n",
            4,
            "`../r.txt`",
        ),
        ("[[set]]\nsums = \"\"\nwheels = \"w\"\n", 2, "``"),
    ];
    for (toml, line, path) in cases {
        let error = config(toml).expect_err(toml);
        assert!(error.contains(&format!("line {line}")), "{toml}: {error}");
        assert!(
            error.contains(&format!(
                "{path} is not a path inside the repository: expected a relative path without `..`"
            )),
            "{toml}: {error}"
        );
    }
    let fine = config(
        "[[set]]\nsums = \"./a/sha256sums.txt\"\nwheels = \"a/wheels/\"\nrequirements = [\"a/r.txt\"]\n",
    );
    assert!(fine.is_ok(), "{fine:?}");
}

#[test]
fn a_set_built_in_code_with_a_path_outside_is_an_error_and_lists_nothing_from_there() {
    let repo = repo();
    for (set, key) in [
        (WheelSet::new("sha256sums.txt", "/etc"), "wheels"),
        (WheelSet::new("../../x", "localwheels"), "sums"),
        (
            WheelSet {
                requirements: vec!["/etc/passwd".into()],
                ..WheelSet::new("sha256sums.txt", "localwheels")
            },
            "requirements",
        ),
    ] {
        let report = run_with(repo.path(), Config { set: vec![set.clone()], ..Config::default() });
        assert_no_go(&report);
        let items = items(&report);
        let item = error(&items, "sums-file", &set.sums);
        assert!(item.reason.starts_with(&format!("[[gates.wheels.set]] {key}: ")), "{}", item.reason);
        assert!(item.reason.contains("is not a path inside the repository"), "{}", item.reason);
        // The set is refused whole: nothing is hashed, listed or read.
        assert!(items.iter().all(|i| i.status == Status::Error), "{items:#?}");
        assert!(
            !items.iter().any(|i| ["hash", "unlisted", "missing"].contains(&i.check.as_ref())),
            "{items:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Numeric settings.

#[test]
fn max_sums_bytes_out_of_range_is_a_located_error_not_an_overflow() {
    for value in ["18446744073709551615", "0", "-1", "1073741825", "340282366920938463463374607431768211455"]
    {
        let toml = format!("max-sums-bytes = {value}\n");
        let error = config(&toml).expect_err(&toml);
        assert!(error.contains("line 1, column 18"), "{value}: {error}");
        assert!(error.contains("max-sums-bytes") || error.contains("overflow"), "{value}: {error}");
    }
    assert_eq!(config("max-sums-bytes = 1073741824\n").unwrap().max_sums_bytes, 1 << 30);
    assert_eq!(config("max-sums-bytes = 1\n").unwrap().max_sums_bytes, 1);
}

#[test]
fn the_largest_limit_in_code_does_not_overflow() {
    let repo = repo();
    let report = run_with(repo.path(), Config { max_sums_bytes: u64::MAX, ..Config::default() });
    assert!(passed_hash(&items(&report), &format!("localwheels/{NAME}")), "{:#?}", items(&report));
}

// ---------------------------------------------------------------------------
// Timeouts.

/// A gate stopped by its timeout says what it was doing: here hashing a
/// 64 GiB wheel (a sparse file, no disk used), which takes far longer than
/// the 300 ms allowed.
#[test]
fn a_timed_out_wheels_gate_names_the_wheel_it_was_hashing() {
    let repo = repo();
    let big = "big-1.0-py3-none-any.whl";
    std::fs::File::create(repo.path().join("localwheels").join(big)).unwrap().set_len(64 << 30).unwrap();
    let sums = format!("{}  {NAME}\n{}  {big}\n", sha256(WHEEL), "0".repeat(64));
    write(repo.path(), "sha256sums.txt", sums.as_bytes());
    let gate: Arc<dyn Gate> = Arc::new(WheelsGate::new(Config::default()));
    let options = RunOptions { default_timeout: Duration::from_millis(300), ..RunOptions::default() };
    let mut ctx = Context::new(repo.path());
    ctx.jobs = 1;
    let report = runner::run(&[gate], &ctx, &options, "repo".into());
    assert_eq!(report.gates[0].run, gate_core::GateRunStatus::TimedOut, "{:#?}", items(&report));
    assert_eq!(report.verdict, Verdict::NoGo);
    let reason = &report.gates[0].items[0].reason;
    assert!(reason.contains(&format!("working on: checking the hash of localwheels/{big}")), "{reason}");
}

proptest! {
    /// Whatever path is written, reading the configuration never panics,
    /// and a path it accepts is relative and has no `..`.
    #[test]
    fn configured_paths_are_accepted_only_inside_the_repository(
        path in prop_oneof![
            "[a-z./\\\\]{0,12}",
            "(\\.\\.|[a-z]{1,3}|\\.|)(/(\\.\\.|[a-z]{1,3}|\\.|)){0,4}",
            any::<String>(),
        ],
        key in prop_oneof![Just("sums"), Just("wheels"), Just("signature"), Just("pubkeys")],
    ) {
        let mut table = toml::Table::new();
        table.insert("sums".into(), "s.txt".into());
        table.insert("wheels".into(), "w".into());
        table.insert(key.into(), path.clone().into());
        let toml = format!("[[set]]\n{table}");
        if let Ok(config) = toml::from_str::<Config>(&toml) {
            prop_assert!(!path.is_empty() && !path.starts_with('/'), "{path:?} accepted");
            prop_assert!(!path.split('/').any(|c| c == ".."), "{path:?} accepted");
            prop_assert_eq!(config.set.len(), 1);
        }
    }

    /// Whatever integer is written, `max-sums-bytes` is in range or refused
    /// with a located error.
    #[test]
    fn max_sums_bytes_is_in_range_or_refused(value in any::<i128>()) {
        match config(&format!("max-sums-bytes = {value}\n")) {
            Ok(config) => prop_assert!((1..=gate_wheels::MAX_SUMS_BYTES_LIMIT).contains(&config.max_sums_bytes)),
            Err(error) => prop_assert!(error.contains("line 1"), "{}", error),
        }
    }
}

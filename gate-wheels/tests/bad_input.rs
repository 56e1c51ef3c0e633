//! Hostile and broken inputs to the wheels gate: every one becomes a clear,
//! located item, never a panic or a partial report.

use std::path::Path;
use std::sync::Arc;

use gate_core::{Context, Gate, Item, RunOptions, Status, runner};
use gate_wheels::{Config, WheelSet, WheelsGate};
use proptest::prelude::*;

const WHEEL: &[u8] = b"PK\x03\x04 not really a wheel";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    gate_wheels::hex(&sha2::Sha256::digest(bytes))
}

/// A flat-layout repository with one wheel and the given sums file bytes.
fn repo(sums: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("localwheels")).unwrap();
    std::fs::write(dir.path().join("localwheels/a-1.0-py3-none-any.whl"), WHEEL).unwrap();
    std::fs::write(dir.path().join("sha256sums.txt"), sums).unwrap();
    dir
}

fn items(repo: &Path) -> Vec<Item> {
    items_with(repo, Config::default())
}

fn items_with(repo: &Path, config: Config) -> Vec<Item> {
    let gate: Arc<dyn Gate> = Arc::new(WheelsGate::new(config));
    let report = runner::run(&[gate], &Context::new(repo), &RunOptions::default(), "repo".into());
    report.gates.into_iter().flat_map(|g| g.items).collect()
}

fn find<'a>(items: &'a [Item], check: &str) -> Vec<&'a Item> {
    items.iter().filter(|i| i.check == check).collect()
}

fn location(item: &Item) -> String {
    item.evidence
        .iter()
        .find_map(|e| match e {
            gate_core::Evidence::Location(l) => Some(l.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn a_well_formed_repository_passes() {
    let good = format!("{}  a-1.0-py3-none-any.whl\n", sha256(WHEEL));
    let items = items(repo(good.as_bytes()).path());
    assert_eq!(find(&items, "hash")[0].status, Status::Pass);
}

#[test]
fn binary_garbage_sums_file_is_a_syntax_error_per_line() {
    let items = items(repo(b"\x00\x01\x02\xff\xfe\n\x89PNG\r\n").path());
    let syntax = find(&items, "sums-syntax");
    assert_eq!(syntax.len(), 2);
    assert_eq!(location(syntax[0]), "sha256sums.txt:1:1");
    assert!(find(&items, "unlisted").len() == 1, "the wheel is then unlisted");
}

#[test]
fn truncated_sums_file_reports_the_cut_line() {
    let good = format!("{}  a-1.0-py3-none-any.whl\n", sha256(WHEEL));
    let truncated = &good.as_bytes()[..40];
    let items = items(repo(truncated).path());
    let syntax = find(&items, "sums-syntax");
    assert_eq!(syntax.len(), 1);
    assert_eq!(location(syntax[0]), "sha256sums.txt:1:41");
    assert!(syntax[0].reason.contains("found a hash of 40 hex digits"), "{}", syntax[0].reason);
}

#[test]
fn mixed_line_endings_are_located() {
    let sums = format!("{h}  a-1.0-py3-none-any.whl\r\n{h}  b.whl\n", h = sha256(WHEEL));
    let items = items(repo(sums.as_bytes()).path());
    let syntax = find(&items, "sums-syntax");
    assert_eq!(syntax.len(), 1);
    assert_eq!(location(syntax[0]), "sha256sums.txt:1:89");
    assert!(syntax[0].reason.contains("carriage return"), "{}", syntax[0].reason);
}

#[test]
fn a_200_character_hash_is_a_syntax_error() {
    let sums = format!("{}  a-1.0-py3-none-any.whl\n", "a".repeat(200));
    let items = items(repo(sums.as_bytes()).path());
    let syntax = find(&items, "sums-syntax");
    assert!(syntax[0].reason.contains("200 hex digits"), "{}", syntax[0].reason);
    assert_eq!(location(syntax[0]), "sha256sums.txt:1:65");
}

#[test]
fn non_utf8_name_is_located() {
    let mut sums = format!("{}  caf", sha256(WHEEL)).into_bytes();
    sums.extend_from_slice(b"\xe9.whl\n");
    let items = items(repo(&sums).path());
    let syntax = find(&items, "sums-syntax");
    assert_eq!(location(syntax[0]), "sha256sums.txt:1:70");
    assert!(syntax[0].reason.contains("not valid UTF-8"));
}

#[test]
fn duplicates_and_conflicting_duplicates_name_both_lines() {
    let sums = format!(
        "{h}  a-1.0-py3-none-any.whl\n{h}  a-1.0-py3-none-any.whl\n{o}  a-1.0-py3-none-any.whl\n",
        h = sha256(WHEEL),
        o = "0".repeat(64)
    );
    let items = items(repo(sums.as_bytes()).path());
    let duplicates = find(&items, "sums-duplicate");
    assert_eq!(duplicates.len(), 2);
    assert!(duplicates[0].reason.contains("listed twice (lines 1 and 2)"), "{}", duplicates[0].reason);
    assert!(
        duplicates[1].reason.contains("with different hashes (lines 1 and 3)"),
        "{}",
        duplicates[1].reason
    );
}

#[cfg(unix)]
#[test]
fn a_wheel_symlinked_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), WHEEL).unwrap();
    let sums = format!("{}  a-1.0-py3-none-any.whl\n", sha256(WHEEL));
    let repo = repo(sums.as_bytes());
    let wheel = repo.path().join("localwheels/a-1.0-py3-none-any.whl");
    std::fs::remove_file(&wheel).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), &wheel).unwrap();
    let items = items(repo.path());
    let unsafe_path = find(&items, "unsafe-path");
    assert_eq!(unsafe_path.len(), 1, "{items:#?}");
    assert_eq!(unsafe_path[0].status, Status::Error);
    assert!(
        unsafe_path[0].reason.contains("is a symbolic link, not a regular file"),
        "{}",
        unsafe_path[0].reason
    );
    assert!(find(&items, "hash").is_empty(), "the target is never read");
}

#[test]
fn a_listed_name_that_is_a_path_is_refused() {
    let sums = format!("{}  ../../etc/passwd\n", sha256(WHEEL));
    let items = items(repo(sums.as_bytes()).path());
    assert_eq!(find(&items, "unsafe-path").len(), 1, "{items:#?}");
}

#[test]
fn an_oversize_sums_file_is_an_error_not_a_partial_report() {
    let line = format!("{}  a-1.0-py3-none-any.whl\n", sha256(WHEEL));
    let repo = repo(line.repeat(1_000_000).as_bytes()); // ~100 MB
    let items = items(repo.path());
    assert_eq!(items.len(), 1, "nothing else is reported for that set");
    assert_eq!(items[0].status, Status::Error);
    assert_eq!(items[0].check, "sums-file");
    assert!(items[0].reason.contains("larger than the 16777216-byte limit"), "{}", items[0].reason);
}

#[test]
fn a_configured_sums_file_that_is_missing_is_an_error() {
    let repo = repo(b"");
    let config =
        Config { set: vec![WheelSet::new("nope/sha256sums.txt", "localwheels")], ..Config::default() };
    let items = items_with(repo.path(), config);
    assert_eq!(items[0].status, Status::Error);
    assert!(items[0].reason.contains("nope/sha256sums.txt does not exist"), "{}", items[0].reason);
}

proptest! {
    #[test]
    fn sums_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = gate_wheels::sums::parse(&bytes);
    }

    #[test]
    fn sums_parser_never_panics_on_near_valid_lines(
        lines in proptest::collection::vec(
            (
                "[0-9a-fA-F\\\\]{0,70}",
                prop_oneof![Just("  "), Just(" *"), Just(" "), Just("\t"), Just("")],
                "[a-z0-9._\\\\/\\r -]{0,20}",
            ),
            0..8,
        )
    ) {
        let text: String = lines.iter().map(|(h, m, n)| format!("{h}{m}{n}\n")).collect();
        let parsed = gate_wheels::sums::parse(text.as_bytes());
        prop_assert_eq!(parsed.entries.len() + parsed.errors.len(), lines.len());
    }
}

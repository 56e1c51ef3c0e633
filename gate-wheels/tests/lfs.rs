//! Git LFS pointers: release-check's parser against git-lfs itself
//! (`git lfs pointer --check --strict`, which accepts exactly the pointers
//! git-lfs writes), against a reference model in property tests, and
//! through the wheels gate, where an invalid pointer is a located error.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use gate_core::{Context, Gate, Item, RunOptions, Status, runner};
use gate_wheels::lfs::{self, Pointer, PointerErrorKind};
use gate_wheels::{Config, WheelsGate};
use proptest::prelude::*;
use test_support::locations;

const OID: &str = "4c920dd5437f648c1a648c57cd2e22289e01f6e44e7a4cfb6185ea5a9b301211";
const VERSION: &str = "version https://git-lfs.github.com/spec/v1";

fn pointer_text(oid: &str, size: &str) -> String {
    format!("{VERSION}\noid sha256:{oid}\nsize {size}\n")
}

/// Checks that git-lfs runs: the referee test must fail, not skip, without it.
fn require_git_lfs() {
    match Command::new("git").args(["lfs", "version"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`git lfs version` failed ({}): {}; install git-lfs (apt-get install git-lfs): it is the referee of the LFS pointer tests",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "cannot run `git lfs version` ({e}); install git and git-lfs (apt-get install git-lfs): git-lfs is the referee of the LFS pointer tests"
        ),
    }
}

/// Whether `git lfs pointer --check --strict` accepts `bytes` as a pointer
/// (exit 0); exit 1 (not a pointer) and 2 (not canonical) are refusals.
fn git_lfs_accepts(dir: &Path, bytes: &[u8]) -> bool {
    let file = dir.join("pointer");
    std::fs::write(&file, bytes).expect("write the pointer file");
    let out = Command::new("git")
        .args(["lfs", "pointer", "--check", "--strict", "--file"])
        .arg(&file)
        .current_dir(dir)
        .output()
        .expect("run git lfs pointer --check");
    match out.status.code() {
        Some(0) => true,
        Some(1 | 2) => false,
        _ => panic!(
            "git lfs pointer --check: unexpected {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// How release-check must judge a case compared with git-lfs.
#[derive(Debug, Clone, Copy)]
enum Referee {
    /// Both accept it as a pointer.
    Accept,
    /// Both refuse it; release-check's error is of this kind.
    Refuse(fn(&PointerErrorKind) -> bool),
    /// git-lfs accepts it; release-check refuses it on purpose.
    Stricter(fn(&PointerErrorKind) -> bool),
}

#[test]
fn pointers_are_judged_as_git_lfs_judges_them() {
    require_git_lfs();
    let dir = tempfile::tempdir().expect("temporary directory");
    let valid = pointer_text(OID, "65003");
    let padded = format!("{valid}{}", "\n".repeat(1100));
    let cases: Vec<(&str, String, Referee)> = vec![
        ("valid", valid.clone(), Referee::Accept),
        ("size 1", pointer_text(OID, "1"), Referee::Accept),
        ("largest size", pointer_text(OID, &i64::MAX.to_string()), Referee::Accept),
        ("CRLF", valid.replace('\n', "\r\n"), Referee::Refuse(|k| *k == PointerErrorKind::CarriageReturn)),
        (
            "CR on the last line",
            valid.replace("65003\n", "65003\r\n"),
            Referee::Refuse(|k| *k == PointerErrorKind::CarriageReturn),
        ),
        (
            "uppercase hex",
            pointer_text(&OID.to_ascii_uppercase(), "65003"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::UppercaseHex(_))),
        ),
        (
            "duplicate oid",
            format!("{VERSION}\noid sha256:{OID}\noid sha256:{OID}\nsize 1\n"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::DuplicateKey(key) if key == "oid")),
        ),
        (
            "duplicate size",
            format!("{valid}size 1\n"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::DuplicateKey(key) if key == "size")),
        ),
        (
            "duplicate version",
            format!("{VERSION}\n{valid}"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::DuplicateKey(key) if key == "version")),
        ),
        (
            "keys out of order",
            format!("{VERSION}\nsize 65003\noid sha256:{OID}\n"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::OutOfOrder { found, .. } if found == "size")),
        ),
        (
            "extra unknown key after size",
            format!("{valid}x-extra value\n"),
            Referee::Refuse(|k| *k == PointerErrorKind::Trailing),
        ),
        (
            "extra unknown key before oid",
            format!("{VERSION}\nfoo bar\noid sha256:{OID}\nsize 1\n"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::UnknownKey { found, .. } if found == "foo")),
        ),
        (
            "size with a leading +",
            pointer_text(OID, "+65003"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::NotDigit(_))),
        ),
        (
            "negative size",
            pointer_text(OID, "-1"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::NotDigit(_))),
        ),
        (
            "size with a leading zero",
            pointer_text(OID, "065003"),
            Referee::Refuse(|k| *k == PointerErrorKind::LeadingZero),
        ),
        ("size 0", pointer_text(OID, "0"), Referee::Refuse(|k| *k == PointerErrorKind::ZeroSize)),
        (
            "size beyond i64",
            pointer_text(OID, "9223372036854775808"),
            Referee::Refuse(|k| *k == PointerErrorKind::SizeTooLarge),
        ),
        (
            "size with a trailing space",
            pointer_text(OID, "65003 "),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::NotDigit(_))),
        ),
        (
            "no trailing newline",
            valid.trim_end().to_owned(),
            Referee::Refuse(|k| *k == PointerErrorKind::MissingNewline),
        ),
        (
            "an empty line at the end",
            format!("{valid}\n"),
            Referee::Refuse(|k| *k == PointerErrorKind::Trailing),
        ),
        (
            "leading whitespace",
            format!(" {valid}"),
            Referee::Refuse(|k| *k == PointerErrorKind::LeadingWhitespace),
        ),
        (
            "two spaces after the key",
            valid.replace("size ", "size  "),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::NotDigit(_))),
        ),
        ("more than 1024 bytes", padded, Referee::Refuse(|k| matches!(k, PointerErrorKind::TooLarge(_)))),
        (
            "short oid",
            pointer_text(&OID[..63], "1"),
            Referee::Refuse(|k| *k == PointerErrorKind::OidLength(63)),
        ),
        (
            "long oid",
            pointer_text(&format!("{OID}0"), "1"),
            Referee::Refuse(|k| *k == PointerErrorKind::OidLength(65)),
        ),
        (
            "another oid type",
            valid.replace("sha256:", "sha1:"),
            Referee::Refuse(|k| *k == PointerErrorKind::OidType),
        ),
        (
            "an old spec version",
            valid.replace("https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::OldVersion(_))),
        ),
        (
            "an unknown version",
            valid.replace("spec/v1", "spec/v2"),
            Referee::Refuse(|k| matches!(k, PointerErrorKind::Version(_))),
        ),
        (
            "no size line",
            format!("{VERSION}\noid sha256:{OID}\n"),
            Referee::Refuse(|k| *k == PointerErrorKind::Missing("size")),
        ),
        (
            "an extension line",
            format!("{VERSION}\next-0-foo sha256:{OID}\noid sha256:{OID}\nsize 1\n"),
            Referee::Stricter(|k| matches!(k, PointerErrorKind::Extension(_))),
        ),
    ];
    let mut disagreements = Vec::new();
    for (name, text, referee) in cases {
        let ours = lfs::parse(text.as_bytes());
        let git_lfs = git_lfs_accepts(dir.path(), text.as_bytes());
        let agreed = match (&referee, &ours) {
            (Referee::Accept, Ok(Some(p))) => git_lfs && p.to_string() == text,
            (Referee::Refuse(kind), Err(e)) => !git_lfs && kind(&e.kind),
            (Referee::Stricter(kind), Err(e)) => git_lfs && kind(&e.kind),
            _ => false,
        };
        if !agreed {
            disagreements
                .push(format!("{name}: expected {referee:?}; git-lfs accepts: {git_lfs}; ours: {ours:?}"));
        }
    }
    assert!(disagreements.is_empty(), "git-lfs and release-check disagree:\n{}", disagreements.join("\n"));
}

#[test]
fn an_empty_file_is_not_a_pointer_and_hashes_to_what_git_lfs_calls_the_empty_pointer() {
    // git-lfs reads an empty file as the pointer to the empty object; the
    // gate hashes it instead, which names the same object.
    require_git_lfs();
    let dir = tempfile::tempdir().expect("temporary directory");
    assert!(git_lfs_accepts(dir.path(), b""), "git-lfs reads an empty file as a pointer");
    assert_eq!(lfs::parse(b""), Ok(None));
    let items = hash_items(b"", &sha256(b""));
    assert_eq!(items.iter().map(|i| i.status).collect::<Vec<_>>(), [Status::Pass], "{items:#?}");
}

#[test]
fn errors_name_the_line_and_column_and_what_was_expected() {
    let cases: &[(String, &str)] = &[
        (pointer_text(OID, "65003").replace('\n', "\r\n"), "line 1, column 43: carriage return"),
        (
            pointer_text(&OID.replace('9', "G"), "1"),
            "line 2, column 14: expected a lowercase hex digit, found `G`",
        ),
        (pointer_text(OID, "+1"), "line 3, column 6: expected a decimal digit in the size, found `+`"),
        (pointer_text(OID, "1").trim_end().to_owned(), "line 3, column 7: expected a line feed"),
        (format!("{VERSION}\nsize 1\n"), "line 2, column 1: key `size` out of order: expected `oid`"),
        (format!("{VERSION}\n"), "line 2, column 1: the pointer ends here: expected the `oid` line"),
        (format!("{}x", pointer_text(OID, "1")), "line 4, column 1: expected the end of the pointer"),
        (format!("{VERSION}\nOID\u{1b}[31m sha256:x\n"), "line 2, column 1: unknown key `OID\\u{1b}[31m`"),
    ];
    for (text, expected) in cases {
        let error = lfs::parse(text.as_bytes()).expect_err(text);
        assert!(error.to_string().starts_with(expected), "{text:?}: {error} (expected {expected:?})");
    }
}

// ---------------------------------------------------------------------------
// Through the wheels gate.

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    gate_wheels::hex(&sha2::Sha256::digest(bytes))
}

/// The `hash` items of a flat-layout repository whose one wheel is `wheel`,
/// listed with `listed` as its SHA-256.
fn hash_items(wheel: &[u8], listed: &str) -> Vec<Item> {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir(dir.path().join("localwheels")).expect("create localwheels/");
    std::fs::write(dir.path().join("localwheels/a-1.0-py3-none-any.whl"), wheel).expect("write the wheel");
    std::fs::write(dir.path().join("sha256sums.txt"), format!("{listed}  a-1.0-py3-none-any.whl\n"))
        .expect("write the sums file");
    let gate: Arc<dyn Gate> = Arc::new(WheelsGate::new(Config::default()));
    let report = runner::run(&[gate], &Context::new(dir.path()), &RunOptions::default(), "repo".into());
    report.gates.into_iter().flat_map(|g| g.items).filter(|i| i.check == "hash").collect()
}

#[test]
fn the_gate_passes_a_valid_pointer_naming_the_listed_hash() {
    let items = hash_items(pointer_text(OID, "65003").as_bytes(), OID);
    let [item] = &items[..] else { panic!("one hash item expected: {items:#?}") };
    assert_eq!(item.status, Status::Pass, "{item:#?}");
    assert!(item.reason.contains("Git LFS pointer"), "{item:#?}");
}

#[test]
fn the_gate_makes_an_invalid_pointer_a_located_error_not_a_wheel() {
    // Listed with the hash of its own bytes, an invalid pointer would pass
    // if it were hashed as a wheel.
    for text in [
        pointer_text(OID, "65003").replace('\n', "\r\n"),
        pointer_text(&OID.to_ascii_uppercase(), "65003"),
        format!("{}size 1\n", pointer_text(OID, "65003")),
    ] {
        let items = hash_items(text.as_bytes(), &sha256(text.as_bytes()));
        let [item] = &items[..] else { panic!("one hash item expected: {items:#?}") };
        assert_eq!(item.status, Status::Error, "{text:?}: {item:#?}");
        assert_eq!(item.subject, "localwheels/a-1.0-py3-none-any.whl");
        assert!(item.reason.starts_with("not a valid Git LFS pointer: line "), "{item:#?}");
        let locations = locations(item);
        assert!(
            locations.iter().any(|l| l.starts_with("localwheels/a-1.0-py3-none-any.whl:")),
            "the item points into the pointer file: {locations:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Property tests.

/// The reference model: exactly the text git-lfs writes for an oid and a
/// size, written independently of the parser.
fn model(bytes: &[u8]) -> Option<Pointer> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("version https://git-lfs.github.com/spec/v1\noid sha256:")?;
    let (oid, rest) = rest.split_at_checked(64)?;
    if !oid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let digits = rest.strip_prefix("\nsize ")?.strip_suffix('\n')?;
    let size: i64 = digits.parse().ok()?;
    (size > 0 && size.to_string() == digits).then(|| Pointer { oid: oid.to_owned(), size: size as u64 })
}

fn oid() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}"
}

fn valid_pointer() -> impl Strategy<Value = Pointer> {
    (oid(), 1..=u64::try_from(i64::MAX).expect("i64::MAX fits u64"))
        .prop_map(|(oid, size)| Pointer { oid, size })
}

/// An edit of a pointer's bytes, with bytes likely to matter.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"0123456789abcdefABCDEF \n\r\t+-:=versionidzhaxt".to_vec()),
        any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        match *edit {
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                let at = i % bytes.len();
                bytes.remove(at);
            }
            Edit::Replace(i, b) if !bytes.is_empty() => {
                let at = i % bytes.len();
                bytes[at] = b;
            }
            _ => {}
        }
    }
    bytes
}

/// The parser's judgement, checked for what holds of every input: no
/// panic, a pointer only for what looks like one, errors inside the text.
fn judged(bytes: &[u8]) -> Option<Pointer> {
    let result = lfs::parse(bytes);
    match &result {
        Ok(None) => assert!(!lfs::looks_like_pointer(bytes), "a would-be pointer was let through: {bytes:?}"),
        Ok(Some(_)) => {}
        Err(e) => {
            assert!(lfs::looks_like_pointer(bytes), "an error for a file that is not a pointer: {e}");
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            assert!(e.line >= 1 && e.line as usize <= lines, "{e} is outside the {lines} lines of {bytes:?}");
            assert!(e.column >= 1, "{e}");
            assert!(!e.to_string().contains(['\n', '\r']), "an error is one line: {e:?}");
        }
    }
    result.ok().flatten()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_match_the_model(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        prop_assert_eq!(judged(&bytes), model(&bytes));
    }

    #[test]
    fn edited_pointers_are_accepted_exactly_when_the_model_accepts_them(
        pointer in valid_pointer(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let bytes = apply(pointer.to_string().into_bytes(), &edits);
        prop_assert_eq!(judged(&bytes), model(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn valid_pointers_round_trip(pointer in valid_pointer()) {
        let text = pointer.to_string();
        prop_assert_eq!(model(text.as_bytes()), Some(pointer.clone()));
        let parsed = lfs::parse(text.as_bytes()).expect("a valid pointer parses").expect("it is a pointer");
        prop_assert_eq!(&parsed, &pointer);
        prop_assert_eq!(parsed.to_string(), text);
    }
}

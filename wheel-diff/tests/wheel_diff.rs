//! Explaining why two wheels differ: every kind of difference with its exact
//! message, hostile archives refused by the rule they break, random bytes
//! that never panic, and real wheels (built by pip here, and third-party
//! ones cross-checked against Python's `zipfile`).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use gate_core::Evidence;
use proptest::prelude::*;
use wheel_diff::{ArchiveError, Difference, Limits, Refusal, WheelDiff, compare};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// One member of a test wheel.
#[derive(Clone)]
struct M {
    name: &'static str,
    content: Vec<u8>,
    time: DateTime,
    mode: u32,
    method: CompressionMethod,
    level: Option<i64>,
}

fn m(name: &'static str, content: impl AsRef<[u8]>) -> M {
    M {
        name,
        content: content.as_ref().to_vec(),
        time: time(2023, 11, 14, 22, 13, 20),
        mode: 0o644,
        method: CompressionMethod::Deflated,
        level: None,
    }
}

fn time(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
    DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap()
}

const METADATA: &str = "Metadata-Version: 2.1\nName: rc-demo\nVersion: 1.0.0\nSummary: A demo\n\
Classifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python :: 3\n\n\
# rc-demo\n\nA demo package.\n";
const WHEEL: &str = "Wheel-Version: 1.0\nGenerator: flit 3.9.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
const RECORD: &str = "rc_demo.py,sha256=AAAA,120\nrc_demo-1.0.0.dist-info/METADATA,sha256=BBBB,300\n\
rc_demo-1.0.0.dist-info/RECORD,,\n";
const MODULE: &str =
    "\"\"\"A demo.\"\"\"\n\n__version__ = \"1.0.0\"\n\n\ndef hello():\n    return \"hello\"\n";

/// The members of a small, ordinary wheel.
fn base() -> Vec<M> {
    vec![
        m("rc_demo.py", MODULE),
        m("rc_demo/data.bin", (0..=255u8).cycle().take(3000).collect::<Vec<u8>>()),
        m("rc_demo-1.0.0.dist-info/WHEEL", WHEEL),
        m("rc_demo-1.0.0.dist-info/METADATA", METADATA),
        m("rc_demo-1.0.0.dist-info/RECORD", RECORD),
    ]
}

/// Writes a wheel with the zip writer.
fn write_wheel(path: &Path, members: &[M]) -> PathBuf {
    let mut zip = ZipWriter::new(std::fs::File::create(path).unwrap());
    for member in members {
        let options = SimpleFileOptions::default()
            .compression_method(member.method)
            .compression_level(member.level)
            .last_modified_time(member.time)
            .unix_permissions(member.mode);
        zip.start_file(member.name, options).unwrap();
        zip.write_all(&member.content).unwrap();
    }
    zip.finish().unwrap();
    path.to_owned()
}

/// Two wheels in a temporary directory: `base()` and `base()` changed by `change`.
fn pair(change: impl FnOnce(&mut Vec<M>)) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let a = write_wheel(&dir.path().join("a.whl"), &base());
    let mut members = base();
    change(&mut members);
    let b = write_wheel(&dir.path().join("b.whl"), &members);
    (dir, a, b)
}

fn explain(change: impl FnOnce(&mut Vec<M>)) -> WheelDiff {
    let (_dir, a, b) = pair(change);
    compare(&a, &b, &Limits::default()).unwrap()
}

fn lines(diff: &WheelDiff) -> Vec<String> {
    diff.differences.iter().map(ToString::to_string).collect()
}

fn member<'a>(members: &'a mut [M], name: &str) -> &'a mut M {
    members.iter_mut().find(|m| m.name == name).unwrap()
}

#[test]
fn identical_wheels_have_no_differences() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_wheel(&dir.path().join("a.whl"), &base());
    let b = write_wheel(&dir.path().join("b.whl"), &base());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "the writer is deterministic");
    let diff = compare(&a, &b, &Limits::default()).unwrap();
    assert!(diff.is_identical(), "{diff}");
    assert_eq!(diff.to_string(), "identical");
    assert_eq!(diff.summary(), "the wheels are identical");
    assert!(compare(&a, &a, &Limits::default()).unwrap().is_identical());
}

#[test]
fn added_and_removed_members_in_place() {
    let diff = explain(|members| {
        members.retain(|m| m.name != "rc_demo/data.bin");
        members.insert(1, m("rc_demo/extra.py", "x = 1\n"));
    });
    // In the order of the members: the added one follows rc_demo.py in b.
    assert_eq!(lines(&diff), ["member added: rc_demo/extra.py", "member removed: rc_demo/data.bin"]);
    assert_eq!(diff.summary(), "2 differences (member added: 1, member removed: 1)");
}

#[test]
fn text_content_shows_the_first_differing_line() {
    let diff = explain(|members| {
        member(members, "rc_demo.py").content = MODULE.replace("\"hello\"", "\"goodbye\"").into_bytes();
    });
    assert_eq!(
        lines(&diff),
        [r#"content differs: rc_demo.py line 7: "    return \"hello\"" → "    return \"goodbye\"""#]
    );
}

#[test]
fn a_shorter_text_shows_where_it_ends() {
    let diff = explain(|members| {
        member(members, "rc_demo.py").content = b"\"\"\"A demo.\"\"\"\n".to_vec();
    });
    assert_eq!(lines(&diff), [r#"content differs: rc_demo.py line 2: "" → (end of file)"#]);
    let diff = explain(|members| {
        member(members, "rc_demo.py").content = MODULE.replace("\n\n\n", "\n\n").into_bytes();
    });
    assert_eq!(lines(&diff), [r#"content differs: rc_demo.py line 5: "" → "def hello():""#]);
}

#[test]
fn a_long_line_is_shown_around_the_difference() {
    let line = |last: char| format!("x = [{}{last}, {}]", "0, ".repeat(400), "9, ".repeat(100));
    let dir = tempfile::tempdir().unwrap();
    let wheel = |name: &str, last: char| {
        let mut members = base();
        member(&mut members, "rc_demo.py").content = format!("{}\n", line(last)).into_bytes();
        write_wheel(&dir.path().join(name), &members)
    };
    let diff = compare(&wheel("a.whl", '1'), &wheel("b.whl", '2'), &Limits::default()).unwrap();
    // 160 bytes before the difference and 160 from it, cut at both ends.
    let at = "x = [".len() + 3 * 400;
    let shown = |last: char| format!("…{}…", &line(last)[at - 160..at + 160]);
    let expected = format!("content differs: rc_demo.py line 1: {:?} → {:?}", shown('1'), shown('2'));
    assert_eq!(lines(&diff), [expected]);
}

#[test]
fn binary_content_shows_the_first_differing_byte() {
    let diff = explain(|members| {
        let data = &mut member(members, "rc_demo/data.bin").content;
        data[2049] = 0xff;
        data.push(7);
    });
    assert_eq!(
        lines(&diff),
        ["content differs: rc_demo/data.bin from byte 2049 (0x01 → 0xff), sizes 3000 and 3001 bytes"]
    );
}

#[test]
fn metadata_fields_are_compared_one_by_one() {
    let diff = explain(|members| {
        member(members, "rc_demo-1.0.0.dist-info/METADATA").content = METADATA
            .replace("Version: 1.0.0", "Version: 1.0.1")
            .replace("Summary: A demo\n", "")
            .replace("Classifier: Programming Language :: Python :: 3\n", "Classifier: Typing :: Typed\n")
            .replace("A demo package.", "A demo package, improved.")
            .replace("Metadata-Version: 2.1\n", "Metadata-Version: 2.1\nRequires-Python: >=3.8\n")
            .into_bytes();
        member(members, "rc_demo-1.0.0.dist-info/WHEEL").content =
            WHEEL.replace("flit 3.9.0", "flit 3.10.1").into_bytes();
    });
    assert_eq!(
        lines(&diff),
        [
            r#"rc_demo-1.0.0.dist-info/WHEEL field Generator: "flit 3.9.0" → "flit 3.10.1""#,
            r#"rc_demo-1.0.0.dist-info/METADATA field Version: "1.0.0" → "1.0.1""#,
            r#"rc_demo-1.0.0.dist-info/METADATA field Summary: removed "A demo""#,
            r#"rc_demo-1.0.0.dist-info/METADATA field Classifier: removed "Programming Language :: Python :: 3"; added "Typing :: Typed""#,
            r#"rc_demo-1.0.0.dist-info/METADATA field Description: line 3 of the value: "A demo package." → "A demo package, improved.""#,
            r#"rc_demo-1.0.0.dist-info/METADATA field Requires-Python: added ">=3.8""#,
        ]
    );
}

#[test]
fn headers_in_another_order_are_a_content_difference() {
    let diff = explain(|members| {
        member(members, "rc_demo-1.0.0.dist-info/WHEEL").content =
            "Generator: flit 3.9.0\nWheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".into();
    });
    assert_eq!(
        lines(&diff),
        [
            r#"content differs: rc_demo-1.0.0.dist-info/WHEEL line 1: "Wheel-Version: 1.0" → "Generator: flit 3.9.0""#
        ]
    );
}

#[test]
fn record_rows_name_the_member_whose_hash_or_size_changed() {
    let diff = explain(|members| {
        member(members, "rc_demo-1.0.0.dist-info/RECORD").content = RECORD
            .replace("rc_demo.py,sha256=AAAA,120", "rc_demo.py,sha256=CCCC,121")
            .replace("METADATA,sha256=BBBB,300", "METADATA,sha256=DDDD,300")
            .replace("RECORD,,\n", "RECORD,,\n\"rc_demo/a,b.py\",sha256=EEEE,7\n")
            .into_bytes();
    });
    assert_eq!(
        lines(&diff),
        [
            "rc_demo-1.0.0.dist-info/RECORD row rc_demo.py: hash sha256=AAAA → sha256=CCCC, size 120 → 121",
            "rc_demo-1.0.0.dist-info/RECORD row rc_demo-1.0.0.dist-info/METADATA: hash sha256=BBBB → sha256=DDDD",
            "rc_demo-1.0.0.dist-info/RECORD row rc_demo/a,b.py: added",
        ]
    );
}

#[test]
fn timestamps_modes_and_compression() {
    let diff = explain(|members| {
        member(members, "rc_demo.py").time = time(2027, 1, 15, 8, 0, 0);
        member(members, "rc_demo.py").mode = 0o755;
        member(members, "rc_demo/data.bin").method = CompressionMethod::Stored;
    });
    assert_eq!(
        lines(&diff),
        [
            "timestamp differs: rc_demo.py 2023-11-14 22:13:20 → 2027-01-15 08:00:00",
            "mode differs: rc_demo.py 100644 → 100755",
            "compression differs: rc_demo/data.bin Deflated, 304 bytes → Stored, 3000 bytes",
        ]
    );
}

#[test]
fn another_compression_level_is_a_compression_difference() {
    let diff = explain(|members| member(members, "rc_demo.py").level = Some(1));
    assert_eq!(lines(&diff), ["compression differs: rc_demo.py Deflated, 69 bytes → Deflated, 70 bytes"]);
}

#[test]
fn member_order() {
    let diff = explain(|members| members.swap(0, 1));
    assert_eq!(lines(&diff), ["member order differs from position 1: rc_demo.py → rc_demo/data.bin"]);
}

#[test]
fn zip_structure_when_every_member_matches() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_wheel(&dir.path().join("a.whl"), &base());
    let b = dir.path().join("b.whl");
    let mut zip = ZipWriter::new(std::fs::File::create(&b).unwrap());
    for member in base() {
        let options =
            SimpleFileOptions::default().last_modified_time(member.time).unix_permissions(member.mode);
        zip.start_file(member.name, options).unwrap();
        zip.write_all(&member.content).unwrap();
    }
    zip.set_comment("built elsewhere").unwrap();
    zip.finish().unwrap();
    let size = std::fs::metadata(&a).unwrap().len();
    let diff = compare(&a, &b, &Limits::default()).unwrap();
    // The end-of-directory record's last field is the comment's length.
    assert_eq!(
        lines(&diff),
        [format!(
            "zip structure differs from byte {} although every member matches (extra fields, comments, compressed streams or directory layout)",
            size - 2
        )]
    );
}

#[test]
fn evidence_is_bounded_and_labelled() {
    let diff = explain(|members| {
        for member in members.iter_mut() {
            member.time = time(2030, 1, 1, 0, 0, 0);
        }
    });
    assert_eq!(diff.summary(), "5 differences (timestamp: 5)");
    let evidence = diff.to_evidence(2);
    assert_eq!(evidence.len(), 3);
    assert_eq!(
        evidence[0],
        Evidence::fact(
            "timestamp",
            "timestamp differs: rc_demo.py 2023-11-14 22:13:20 → 2030-01-01 00:00:00"
        )
    );
    assert_eq!(evidence[2], Evidence::fact("not shown", "3 more differences"));
    assert_eq!(diff.differing_members().len(), 5);
}

// Hostile and broken archives.

fn refused(result: Result<WheelDiff, ArchiveError>) -> (PathBuf, Refusal) {
    match result {
        Err(ArchiveError::Refused { path, rule }) => (path, rule),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Compares a good wheel with a hostile one made of `members`.
fn against(members: &[M]) -> (tempfile::TempDir, PathBuf, Result<WheelDiff, ArchiveError>) {
    let dir = tempfile::tempdir().unwrap();
    let good = write_wheel(&dir.path().join("good.whl"), &base());
    let bad = write_wheel(&dir.path().join("bad.whl"), members);
    let result = compare(&good, &bad, &Limits::default());
    (dir, bad, result)
}

#[test]
fn dangerous_names_are_refused() {
    let cases = [
        ("../evil.py", Refusal::Traversal { member: "../evil.py".into() }),
        ("rc_demo/../../evil.py", Refusal::Traversal { member: "rc_demo/../../evil.py".into() }),
        ("rc_demo\\..\\evil.py", Refusal::Traversal { member: "rc_demo\\..\\evil.py".into() }),
        ("/etc/cron.d/evil", Refusal::AbsolutePath { member: "/etc/cron.d/evil".into() }),
        ("\\evil.py", Refusal::AbsolutePath { member: "\\evil.py".into() }),
        ("C:/evil.py", Refusal::AbsolutePath { member: "C:/evil.py".into() }),
        ("evil\u{1b}[2J.py", Refusal::BadName { member: "evil\u{1b}[2J.py".into() }),
    ];
    for (name, rule) in cases {
        let mut members = base();
        members.push(m(name, "x"));
        let (_dir, bad, result) = against(&members);
        assert_eq!(refused(result), (bad, rule), "{name}");
    }
    let mut members = base();
    members.push(m("evil\u{1b}[2J.py", "x"));
    let (_dir, _, result) = against(&members);
    let message = result.unwrap_err().to_string();
    assert!(
        message.ends_with(r#"member "evil\u{1b}[2J.py" has an empty name or a control character in it"#),
        "{message}"
    );
}

#[test]
fn a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_wheel(&dir.path().join("good.whl"), &base());
    let bad = dir.path().join("bad.whl");
    let mut zip = ZipWriter::new(std::fs::File::create(&bad).unwrap());
    zip.start_file("rc_demo.py", SimpleFileOptions::default()).unwrap();
    zip.write_all(MODULE.as_bytes()).unwrap();
    zip.add_symlink("rc_demo/passwd", "/etc/passwd", SimpleFileOptions::default()).unwrap();
    zip.finish().unwrap();
    let (path, rule) = refused(compare(&good, &bad, &Limits::default()));
    assert_eq!((path, rule), (bad.clone(), Refusal::Symlink { member: "rc_demo/passwd".into() }));
    let message = compare(&bad, &good, &Limits::default()).unwrap_err().to_string();
    assert_eq!(message, format!("refusing {}: member rc_demo/passwd is a symbolic link", bad.display()));
}

/// Offsets of a field in a local file header and in a central directory header.
#[derive(Clone, Copy)]
enum Field {
    Method,
    Crc,
    Size,
    Name,
}

impl Field {
    fn offsets(self) -> (usize, usize, usize) {
        match self {
            Field::Method => (8, 10, 2),
            Field::Crc => (14, 16, 4),
            Field::Size => (22, 24, 4),
            Field::Name => (30, 46, 0),
        }
    }
}

/// Rewrites `field` of `member` in its local header and, if `central`, in
/// the central directory too; returns how many headers changed.
fn patch(bytes: &mut [u8], member: &str, field: Field, value: &[u8], central: bool) -> usize {
    let mut changed = 0;
    let (local_at, central_at, width) = field.offsets();
    let mut i = 0;
    while i + 46 < bytes.len() {
        let header = &bytes[i..i + 4];
        let (name_len_at, name_at, at) = match header {
            b"PK\x03\x04" => (26, 30, local_at),
            b"PK\x01\x02" if central => (28, 46, central_at),
            _ => {
                i += 1;
                continue;
            }
        };
        let name_len = u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]) as usize;
        if bytes.get(i + name_at..i + name_at + name_len) == Some(member.as_bytes()) {
            let width = if width == 0 { name_len } else { width };
            assert_eq!(value.len(), width);
            bytes[i + at..i + at + width].copy_from_slice(value);
            changed += 1;
        }
        i += 4;
    }
    changed
}

fn patched(members: &[M], edits: &[(&str, Field, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wheel(&dir.path().join("patched.whl"), members);
    let mut bytes = std::fs::read(&path).unwrap();
    for (member, field, value) in edits {
        assert_eq!(patch(&mut bytes, member, *field, value, true), 2, "{member}");
    }
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn a_duplicate_name_is_refused() {
    let mut members = base();
    members.push(m("rc_demo.pz", "print('second copy')\n"));
    let (_dir, bad) = patched(&members, &[("rc_demo.pz", Field::Name, b"rc_demo.py")]);
    let (path, rule) = refused(compare(&bad, &bad, &Limits::default()));
    assert_eq!((path, rule), (bad, Refusal::Duplicate { member: "rc_demo.py".into() }));
}

#[test]
fn declared_sizes_that_lie_are_refused() {
    let members = base();
    // Declares fewer bytes than it has: reading stops as soon as it is past them.
    let (_dir, smaller) = patched(&members, &[("rc_demo.py", Field::Size, &50u32.to_le_bytes())]);
    let (_, rule) = refused(compare(&smaller, &smaller, &Limits::default()));
    assert_eq!(rule, Refusal::SizeMismatch { member: "rc_demo.py".into(), declared: 50, actual: None });
    // Declares more bytes than it has.
    let (_dir, larger) = patched(&members, &[("rc_demo.py", Field::Size, &5000u32.to_le_bytes())]);
    let (_, rule) = refused(compare(&larger, &larger, &Limits::default()));
    let actual = MODULE.len() as u64;
    assert_eq!(
        rule,
        Refusal::SizeMismatch { member: "rc_demo.py".into(), declared: 5000, actual: Some(actual) }
    );
    assert_eq!(rule.to_string(), format!("member rc_demo.py declares 5000 bytes but has {actual}"));
}

#[test]
fn a_local_header_that_disagrees_with_the_directory_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wheel(&dir.path().join("cloaked.whl"), &base());
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(patch(&mut bytes, "rc_demo.py", Field::Name, b"rc_demo.pz", false), 1);
    std::fs::write(&path, bytes).unwrap();
    match compare(&path, &path, &Limits::default()) {
        Err(ArchiveError::Corrupt { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn a_wrong_crc_is_corrupt_and_names_the_member() {
    let mut members = base();
    member(&mut members, "rc_demo.py").method = CompressionMethod::Stored;
    let (_dir, bad) = patched(&members, &[("rc_demo.py", Field::Crc, &[1, 2, 3, 4])]);
    let (_good_dir, good) = {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wheel(&dir.path().join("good.whl"), &members);
        (dir, path)
    };
    match compare(&good, &bad, &Limits::default()) {
        Err(ArchiveError::Corrupt { path, member, reason }) => {
            assert_eq!(
                (path, member.as_deref(), reason.as_str()),
                (bad, Some("rc_demo.py"), "CRC-32 mismatch")
            )
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn other_compression_methods_are_refused() {
    let (_dir, bad) = patched(&base(), &[("rc_demo.py", Field::Method, &12u16.to_le_bytes())]);
    let (_, rule) = refused(compare(&bad, &bad, &Limits::default()));
    assert_eq!(rule, Refusal::UnsupportedCompression { member: "rc_demo.py".into(), method: "Bzip2".into() });
}

#[test]
fn an_encrypted_member_is_refused() {
    use zip::unstable::write::FileOptionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("encrypted.whl");
    let mut zip = ZipWriter::new(std::fs::File::create(&bad).unwrap());
    let options = SimpleFileOptions::default().with_deprecated_encryption(b"secret").unwrap();
    zip.start_file("rc_demo.py", options).unwrap();
    zip.write_all(MODULE.as_bytes()).unwrap();
    zip.finish().unwrap();
    let (_, rule) = refused(compare(&bad, &bad, &Limits::default()));
    assert_eq!(rule, Refusal::Encrypted { member: "rc_demo.py".into() });
}

/// A raw deflate stream of `n` zero bytes, written by hand: one block of
/// fixed Huffman codes, a literal zero, then copies of 258 bytes at
/// distance 1 (13 bits each, a ratio of about 159).
fn deflate_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        bytes: Vec<u8>,
        bit: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first (header fields).
        fn bits(&mut self, value: u32, count: u32) {
            for i in 0..count {
                if self.bit.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                *self.bytes.last_mut().unwrap() |= (((value >> i) & 1) as u8) << (self.bit % 8);
                self.bit += 1;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, length: u32) {
            for i in (0..length).rev() {
                self.bits((code >> i) & 1, 1);
            }
        }
    }
    let mut w = Bits { bytes: Vec::new(), bit: 0 };
    w.bits(1, 1); // the final block
    w.bits(1, 2); // fixed Huffman codes
    w.code(0b0011_0000, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        w.code(0b1100_0101, 8); // length 258 (code 285)
        w.code(0, 5); // distance 1 (code 0)
        left -= 258;
    }
    for _ in 0..left {
        w.code(0b0011_0000, 8);
    }
    w.code(0, 7); // end of block (code 256)
    w.bytes
}

/// The CRC-32 (IEEE) of `n` zero bytes.
fn crc32_zeros(n: u64) -> u32 {
    let mut crc = !0u32;
    for _ in 0..n {
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A wheel whose `zeros.bin` is `n` zeros deflated by hand, declaring
/// `declared` bytes and the CRC-32 `crc`.
fn bomb(dir: &Path, n: u64, declared: u32, crc: u32) -> PathBuf {
    let stream = deflate_zeros(n);
    let mut members = base();
    members.push(M { method: CompressionMethod::Stored, ..m("zeros.bin", &stream) });
    let path = write_wheel(&dir.join("bomb.whl"), &members);
    let mut bytes = std::fs::read(&path).unwrap();
    for (field, value) in [
        (Field::Method, 8u16.to_le_bytes().to_vec()),
        (Field::Size, declared.to_le_bytes().to_vec()),
        (Field::Crc, crc.to_le_bytes().to_vec()),
    ] {
        assert_eq!(patch(&mut bytes, "zeros.bin", field, &value, true), 2);
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_hand_made_deflate_stream_is_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000;
    let deflated = bomb(dir.path(), n, n as u32, crc32_zeros(n));
    let mut members = base();
    members.push(M { method: CompressionMethod::Stored, ..m("zeros.bin", vec![0u8; n as usize]) });
    let stored = write_wheel(&dir.path().join("stored.whl"), &members);
    let diff = compare(&stored, &deflated, &Limits::default()).unwrap();
    let compressed = deflate_zeros(n).len();
    assert_eq!(
        lines(&diff),
        [format!("compression differs: zeros.bin Stored, 100000 bytes → Deflated, {compressed} bytes")]
    );
}

#[test]
fn a_gigabyte_of_zeros_is_refused_before_decompressing() {
    let dir = tempfile::tempdir().unwrap();
    let gib = 1u64 << 30;
    // Refused before a byte is decompressed, so the CRC-32 is never checked.
    let path = bomb(dir.path(), gib, gib as u32, 0);
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 8 << 20, "the bomb is {compressed} bytes");
    let (_, rule) = refused(compare(&path, &path, &Limits::default()));
    let Refusal::CompressionRatio { member, size, compressed, limit } = &rule else {
        panic!("not a ratio refusal: {rule}");
    };
    assert_eq!((member.as_str(), *size, *limit), ("zeros.bin", gib, 100));
    assert!(
        rule.to_string()
            .starts_with(&format!("member zeros.bin expands {compressed} bytes to 1073741824 (ratio 15"))
    );
    // With the ratio allowed, the declared size is too large.
    let limits = Limits { max_ratio: 1000, ..Limits::default() };
    let (_, rule) = refused(compare(&path, &path, &limits));
    assert_eq!(rule, Refusal::MemberTooLarge { member: "zeros.bin".into(), size: gib, limit: 512 << 20 });
}

#[test]
fn a_bomb_that_declares_a_small_size_stops_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = bomb(dir.path(), 1 << 30, 4096, crc32_zeros(4096));
    let (_, rule) = refused(compare(&path, &path, &Limits::default()));
    assert_eq!(rule, Refusal::SizeMismatch { member: "zeros.bin".into(), declared: 4096, actual: None });
}

#[test]
fn size_limits_on_the_archive_and_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wheel(&dir.path().join("a.whl"), &base());
    let size = std::fs::metadata(&path).unwrap().len();
    let limits = Limits { max_archive_bytes: 1000, ..Limits::default() };
    assert_eq!(refused(compare(&path, &path, &limits)).1, Refusal::ArchiveTooLarge { size, limit: 1000 });
    let limits = Limits { max_member_bytes: 2999, ..Limits::default() };
    assert_eq!(
        refused(compare(&path, &path, &limits)).1,
        Refusal::MemberTooLarge { member: "rc_demo/data.bin".into(), size: 3000, limit: 2999 }
    );
    let limits = Limits { max_total_bytes: 3100, ..Limits::default() };
    let total = (MODULE.len() + 3000 + WHEEL.len()) as u64;
    assert_eq!(
        refused(compare(&path, &path, &limits)).1,
        Refusal::TotalTooLarge { member: "rc_demo-1.0.0.dist-info/WHEEL".into(), total, limit: 3100 }
    );
}

#[test]
fn a_hundred_thousand_members_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.whl");
    let mut zip = ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&path).unwrap()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..100_000 {
        zip.start_file(format!("m/{i}"), options).unwrap();
    }
    zip.finish().unwrap();
    let (_, rule) = refused(compare(&path, &path, &Limits::default()));
    assert_eq!(rule, Refusal::TooManyMembers { count: 100_000, limit: 50_000 });
}

#[test]
fn not_a_zip_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_wheel(&dir.path().join("good.whl"), &base());
    let junk = dir.path().join("junk.whl");
    std::fs::write(&junk, b"PK\x03\x04 this is not a wheel").unwrap();
    match compare(&good, &junk, &Limits::default()) {
        Err(error @ ArchiveError::Corrupt { member: None, .. }) => {
            assert!(
                error.to_string().starts_with(&format!("{} is not a readable zip archive: ", junk.display()))
            )
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
    let missing = dir.path().join("missing.whl");
    assert!(
        matches!(compare(&missing, &good, &Limits::default()), Err(ArchiveError::Io { path, .. }) if path == missing)
    );
    assert!(matches!(
        compare(dir.path(), &good, &Limits::default()),
        Err(ArchiveError::Corrupt { .. } | ArchiveError::Io { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let good = write_wheel(&dir.path().join("good.whl"), &base());
        let junk = dir.path().join("junk.whl");
        std::fs::write(&junk, &bytes).unwrap();
        // Random bytes are not a zip archive: an error naming the file, never a panic.
        for result in [compare(&good, &junk, &Limits::default()), compare(&junk, &good, &Limits::default())] {
            match result {
                Err(ArchiveError::Corrupt { path, .. }) => prop_assert_eq!(path, junk.clone()),
                other => prop_assert!(false, "expected corrupt, got {:?}", other),
            }
        }
    }

    #[test]
    fn damaged_wheels_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let good = write_wheel(&dir.path().join("good.whl"), &base());
        let mut bytes = std::fs::read(&good).unwrap();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let damaged = dir.path().join("damaged.whl");
        std::fs::write(&damaged, &bytes).unwrap();
        if let Ok(diff) = compare(&good, &damaged, &Limits::default()) {
            prop_assert_eq!(diff.is_identical(), bytes == std::fs::read(&good).unwrap());
        }
    }
}

// Real wheels.

/// Builds the example package `rc-stamp` with pip and flit_core (the
/// committed wheel, imported from the zip), at `epoch`, with `edit` applied
/// to its module.
fn pip_wheel(out: &Path, epoch: u64, edit: (&str, &str)) -> PathBuf {
    let build = out.join(format!("build-{}", std::fs::read_dir(out).unwrap().count()));
    let source = build.join("src");
    std::fs::create_dir_all(&source).unwrap();
    for file in ["pyproject.toml", "rc_stamp.py"] {
        let text =
            std::fs::read_to_string(test_support::example(&format!("packages/rc-stamp/{file}"))).unwrap();
        std::fs::write(source.join(file), text.replace(edit.0, edit.1)).unwrap();
    }
    let flit_core = test_support::example("release-repo/localwheels/flit_core-3.9.0-py3-none-any.whl");
    let output = Command::new("python3")
        .args(["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w"])
        .arg(build.join("wheels"))
        .arg(&source)
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .env("PYTHONPATH", flit_core)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_NO_CACHE_DIR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): python3 with pip is required for this test"));
    assert!(output.status.success(), "pip wheel failed: {}", String::from_utf8_lossy(&output.stderr));
    build.join("wheels/rc_stamp-2.1.0-py3-none-any.whl")
}

/// What Python's `zipfile` sees differ between two wheels, kind by kind:
/// members only in one, members whose bytes differ, and those whose
/// timestamp, external attributes or compression method differ.
const PYTHON_REFEREE: &str = r#"
import sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:3])
ia, ib = ({i.filename: i for i in z.infolist()} for z in (a, b))
common = [n for n in ia if n in ib]
print("removed", *[n for n in ia if n not in ib], sep="\t")
print("added", *[n for n in ib if n not in ia], sep="\t")
print("content", *[n for n in common if a.read(n) != b.read(n)], sep="\t")
print("timestamp", *[n for n in common if ia[n].date_time != ib[n].date_time], sep="\t")
print("mode", *[n for n in common if ia[n].external_attr != ib[n].external_attr], sep="\t")
print("compression", *[n for n in common if ia[n].compress_type != ib[n].compress_type], sep="\t")
"#;

/// Checks `diff` member by member against Python's `zipfile`.
fn agrees_with_python(a: &Path, b: &Path, diff: &WheelDiff) {
    let output = Command::new("python3")
        .args(["-c", PYTHON_REFEREE])
        .args([a, b])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): it is the referee of this test"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let referee = String::from_utf8(output.stdout).unwrap();
    assert_eq!(referee.lines().count(), 6, "{referee}");
    for line in referee.lines() {
        let mut fields = line.split('\t');
        let kind = fields.next().unwrap();
        let python: BTreeSet<&str> = fields.collect();
        let ours: BTreeSet<&str> = diff
            .differences
            .iter()
            .filter(|d| match kind {
                "removed" => matches!(d, Difference::MemberRemoved { .. }),
                "added" => matches!(d, Difference::MemberAdded { .. }),
                "content" => {
                    matches!(
                        d,
                        Difference::Content { .. } | Difference::Field { .. } | Difference::Record { .. }
                    )
                }
                "timestamp" => matches!(d, Difference::Timestamp { .. }),
                "mode" => matches!(d, Difference::Mode { .. }),
                _ => matches!(d, Difference::Compression { a, b, .. } if a.method != b.method),
            })
            .filter_map(Difference::member)
            .collect();
        assert_eq!(ours, python, "{kind}: {} against {}", a.display(), b.display());
    }
}

#[test]
fn real_wheels_built_by_pip() {
    let dir = tempfile::tempdir().unwrap();
    let committed = test_support::example("release-repo/localwheels/rc_stamp-2.1.0-py3-none-any.whl");
    let same = pip_wheel(dir.path(), 1_700_000_000, ("", ""));
    let later = pip_wheel(dir.path(), 1_800_000_000, ("", ""));
    let edited = pip_wheel(dir.path(), 1_700_000_000, ("fixed build stamp", "fixed stamp"));

    // The example's build is reproducible: the same epoch, the same bytes.
    assert!(compare(&committed, &same, &Limits::default()).unwrap().is_identical());

    let members = [
        "rc_stamp.py",
        "rc_stamp-2.1.0.dist-info/WHEEL",
        "rc_stamp-2.1.0.dist-info/METADATA",
        "rc_stamp-2.1.0.dist-info/RECORD",
    ];
    let diff = compare(&committed, &later, &Limits::default()).unwrap();
    let expected: Vec<String> = members
        .iter()
        .map(|member| format!("timestamp differs: {member} 2023-11-14 22:13:20 → 2027-01-15 08:00:00"))
        .collect();
    assert_eq!(lines(&diff), expected);
    agrees_with_python(&committed, &later, &diff);

    let diff = compare(&committed, &edited, &Limits::default()).unwrap();
    assert_eq!(
        lines(&diff),
        [
            r#"content differs: rc_stamp.py line 1: "\"\"\"Return a fixed build stamp; a tiny package for the release-check examples.\"\"\"" → "\"\"\"Return a fixed stamp; a tiny package for the release-check examples.\"\"\"""#,
            r#"rc_stamp-2.1.0.dist-info/METADATA field Summary: "Return a fixed build stamp; a tiny package for the release-check examples." → "Return a fixed stamp; a tiny package for the release-check examples.""#,
            "rc_stamp-2.1.0.dist-info/RECORD row rc_stamp.py: hash sha256=5Qz2chJVtxnRvLHSMLnvQRNSO22Zzj4WSd8MZjLvneQ → sha256=rIRX6UBOih0yVdoWyCC7xufJGpTkZT5MGnDKQbTXXBg, size 212 → 206",
            "rc_stamp-2.1.0.dist-info/RECORD row rc_stamp-2.1.0.dist-info/METADATA: hash sha256=wCYAb4nfxXVoPyIgIJ0NUtRs1HCVyZRdIn3BPMfHqNs → sha256=fNzqb4E0wq3pcd5sedHN-NAQBfkGv2zOesKOkNrdsMU, size 190 → 184",
        ]
    );
    agrees_with_python(&committed, &edited, &diff);
}

#[test]
fn real_wheels_of_other_projects_agree_with_python() {
    let wheel = |name: &str| test_support::example(&format!("release-repo/localwheels/{name}"));
    let flit_core = wheel("flit_core-3.9.0-py3-none-any.whl");
    let greeting = wheel("rc_greeting-1.0.0-py3-none-any.whl");
    let units = wheel("rc_units-0.3.1-py3-none-any.whl");
    for (a, b) in [(&flit_core, &greeting), (&greeting, &units), (&units, &flit_core)] {
        let diff = compare(a, b, &Limits::default()).unwrap();
        assert!(!diff.is_identical());
        agrees_with_python(a, b, &diff);
    }
}

#[test]
fn a_byte_appended_to_a_real_wheel_is_a_zip_structure_difference() {
    let name = "localwheels/rc_units-0.3.1-py3-none-any.whl";
    let good = test_support::example(&format!("release-repo/{name}"));
    let broken = test_support::example(&format!("broken-repo/{name}"));
    let size = std::fs::metadata(&good).unwrap().len();
    let diff = compare(&good, &broken, &Limits::default()).unwrap();
    assert_eq!(diff.differences, [Difference::ZipStructure { offset: size }]);
}

#[test]
fn a_git_lfs_pointer_is_not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let pointer = dir.path().join("pointer.whl");
    std::fs::write(
        &pointer,
        "version https://git-lfs.github.com/spec/v1\noid sha256:663e40f0f62eed3ee04ec66d5a8bb2c36a365b98639bf52f050a2a857a704e38\nsize 931070\n",
    )
    .unwrap();
    let committed = test_support::example("release-repo/localwheels/rc_stamp-2.1.0-py3-none-any.whl");
    let error = compare(&committed, &pointer, &Limits::default()).unwrap_err();
    assert!(
        matches!(&error, ArchiveError::Corrupt { path, member: None, .. } if *path == pointer),
        "{error:?}"
    );
}

//! Git LFS pointer files (spec v1): a wheel stored in LFS and not fetched is
//! a small text file naming the object's SHA-256 and size, which is enough
//! to check it against the sums file without downloading anything.
//!
//! A pointer is accepted only in the one form git-lfs writes, which is what
//! `git lfs pointer --check --strict` accepts:
//!
//! ```text
//! version https://git-lfs.github.com/spec/v1
//! oid sha256:<64 lowercase hex digits>
//! size <decimal, no sign, no leading zero>
//! ```
//!
//! each line ended by a single LF, nothing before or after, at most 1024
//! bytes (a larger file is not a pointer for git-lfs either: it is hashed
//! as it is). A file that starts like a pointer (its first word is `version`)
//! and is anything else is an [`PointerError`] located at the first byte
//! that differs from that form, never a wheel. Two refusals go beyond
//! git-lfs: a size of 0 (git-lfs writes no pointer for an empty file, so
//! `--strict` refuses it too) and extension lines (`ext-N-name`), which
//! git-lfs accepts but whose `oid` names the object after its extensions
//! ran, not the file in the checkout.

use std::fmt;

use gate_core::{Item, Location};

use crate::Check;

/// The version line's value.
const VERSION: &str = "https://git-lfs.github.com/spec/v1";

/// Versions git-lfs still reads but no longer writes.
const OLD_VERSIONS: [&str; 2] = ["http://git-media.io/v/2", "https://hawser.github.com/spec/v1"];

/// The keys of a pointer, in the order they must appear.
const KEYS: [&str; 3] = ["version", "oid", "size"];

/// Pointers are small; anything larger is not one (git-lfs reads at most
/// this many bytes of a file when it looks for a pointer).
pub const MAX_POINTER_BYTES: u64 = 1024;

/// What a pointer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// Lowercase hex SHA-256 of the object.
    pub oid: String,
    /// The object's size in bytes (1 to `i64::MAX`, as git-lfs reads it).
    pub size: u64,
}

impl fmt::Display for Pointer {
    /// The pointer file's text, exactly as git-lfs writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version {VERSION}\noid sha256:{}\nsize {}\n", self.oid, self.size)
    }
}

/// Why a file that starts like a pointer is not a valid one, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct PointerError {
    /// 1-based line of the first offending byte.
    pub line: u32,
    /// 1-based column (in bytes) of the first offending byte.
    pub column: u32,
    /// What is wrong there, and what was expected.
    pub kind: PointerErrorKind,
}

/// What is wrong with a would-be pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerErrorKind {
    /// More than [`MAX_POINTER_BYTES`].
    #[error("a Git LFS pointer is at most {MAX_POINTER_BYTES} bytes; this file is {0} bytes")]
    TooLarge(usize),
    /// Whitespace before the `version` line.
    #[error("expected `version` at the very start of the file, found whitespace")]
    LeadingWhitespace,
    /// A carriage return (CRLF line ending or a stray CR).
    #[error("carriage return: a pointer's lines end with a line feed only (LF, not CRLF)")]
    CarriageReturn,
    /// A line not ended by a line feed.
    #[error("expected a line feed at the end of the line")]
    MissingNewline,
    /// A line with no space between key and value.
    #[error("expected a space between the key `{0}` and its value")]
    MissingSpace(String),
    /// A key seen already.
    #[error("duplicate key `{0}`: each key appears once")]
    DuplicateKey(String),
    /// A known key in the wrong place.
    #[error(
        "key `{found}` out of order: expected `{expected}` (the keys are version, oid, size, in that order)"
    )]
    OutOfOrder {
        /// The key found.
        found: String,
        /// The key expected there.
        expected: &'static str,
    },
    /// A Git LFS extension line.
    #[error(
        "extension key `{0}`: with extensions the oid names the object after they ran, not this file; expected `oid`"
    )]
    Extension(String),
    /// Any other key.
    #[error("unknown key `{found}`: expected `{expected}`")]
    UnknownKey {
        /// The key found.
        found: String,
        /// The key expected there.
        expected: &'static str,
    },
    /// A line after the `size` line.
    #[error("expected the end of the pointer after the size line")]
    Trailing,
    /// The file ends before `oid` or `size`.
    #[error("the pointer ends here: expected the `{0}` line")]
    Missing(&'static str),
    /// An old spec URL git-lfs reads but no longer writes.
    #[error("old spec version `{0}`: expected `{VERSION}`, the version git-lfs writes")]
    OldVersion(String),
    /// Any other version.
    #[error("unknown version `{0}`: expected `{VERSION}`")]
    Version(String),
    /// An oid without the `sha256:` type.
    #[error("expected `sha256:` at the start of the oid (the only oid type)")]
    OidType,
    /// An uppercase hex digit.
    #[error("uppercase hex digit `{0}`: the oid is lowercase hex")]
    UppercaseHex(char),
    /// A byte that is not a hex digit.
    #[error("expected a lowercase hex digit, found {0}")]
    NotHex(String),
    /// An oid of the wrong length.
    #[error("expected 64 hex digits in the oid, found {0}")]
    OidLength(usize),
    /// A size that is not plain decimal digits.
    #[error("expected a decimal digit in the size, found {0}")]
    NotDigit(String),
    /// A size with a leading zero.
    #[error("leading zero in the size: expected the size as git-lfs writes it")]
    LeadingZero,
    /// A size of 0.
    #[error("size 0: git-lfs writes no pointer for an empty file")]
    ZeroSize,
    /// A size beyond git-lfs's range.
    #[error("size larger than {}, the largest git-lfs reads", i64::MAX)]
    SizeTooLarge,
}

/// Whether `bytes` are an attempt at a pointer: their first word, after
/// any whitespace, is `version`. Such a file is judged as a pointer and is
/// never taken for a wheel.
pub fn looks_like_pointer(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"version")
}

/// Parses `bytes` as a pointer: `Ok(None)` when they do not look like one
/// (see [`looks_like_pointer`]), an error located at the first offending
/// byte when they look like one but are not exactly what git-lfs writes.
pub fn parse(bytes: &[u8]) -> Result<Option<Pointer>, PointerError> {
    if !looks_like_pointer(bytes) {
        return Ok(None);
    }
    let limit = MAX_POINTER_BYTES as usize;
    if bytes.len() > limit {
        return Err(error_at(bytes, limit, PointerErrorKind::TooLarge(bytes.len())));
    }
    if !bytes.starts_with(b"version") {
        return Err(error_at(bytes, 0, PointerErrorKind::LeadingWhitespace));
    }
    let mut offset = 0;
    let (mut oid, mut size) = (String::new(), 0);
    for (number, expected) in (1..).zip(KEYS) {
        let rest = &bytes[offset..];
        if rest.is_empty() {
            return Err(error_at(bytes, offset, PointerErrorKind::Missing(expected)));
        }
        let end = rest.iter().position(|&b| b == b'\n');
        let text = &rest[..end.unwrap_or(rest.len())];
        let cr = text.iter().position(|&b| b == b'\r');
        let line = Line { text: &text[..cr.unwrap_or(text.len())], number };
        let field = line.field(expected, &KEYS[..number as usize - 1])?;
        match expected {
            "version" => check_version(&field)?,
            "oid" => oid = check_oid(&field)?,
            _ => size = check_size(&field)?,
        }
        if let Some(cr) = cr {
            return Err(line.error(cr, PointerErrorKind::CarriageReturn));
        }
        let Some(end) = end else {
            return Err(line.error(text.len(), PointerErrorKind::MissingNewline));
        };
        offset += end + 1;
    }
    if offset < bytes.len() {
        // Name a repeated key as such; anything else is trailing content.
        let key = bytes[offset..].split(|&b| b == b' ' || b == b'\n').next().unwrap_or_default();
        let kind = if KEYS.iter().any(|k| k.as_bytes() == key) {
            PointerErrorKind::DuplicateKey(shown(key))
        } else {
            PointerErrorKind::Trailing
        };
        return Err(error_at(bytes, offset, kind));
    }
    Ok(Some(Pointer { oid, size }))
}

/// The blocking `hash` item for `subject`, a file that starts like a
/// pointer but is not a valid one, located at the offending byte.
pub fn invalid_item(subject: &str, error: &PointerError) -> Item {
    Check::Hash.error(subject, format!("not a valid Git LFS pointer: {error}")).at(Location::at(
        subject,
        error.line,
        error.column,
    ))
}

/// One line of a would-be pointer, up to its first CR or LF.
struct Line<'a> {
    text: &'a [u8],
    /// 1-based line number.
    number: u32,
}

/// A key's value, with where it starts.
struct Field<'a> {
    value: &'a [u8],
    line: u32,
    /// 1-based column of the value's first byte.
    column: usize,
}

impl<'a> Line<'a> {
    fn error(&self, index: usize, kind: PointerErrorKind) -> PointerError {
        PointerError { line: self.number, column: to_u32(index + 1), kind }
    }

    /// The value of this line, which must hold key `expected`; `seen` are
    /// the keys before it.
    fn field(&self, expected: &'static str, seen: &[&str]) -> Result<Field<'a>, PointerError> {
        let Some(space) = self.text.iter().position(|&b| b == b' ') else {
            return Err(self.error(self.text.len(), PointerErrorKind::MissingSpace(shown(self.text))));
        };
        let key = &self.text[..space];
        if key != expected.as_bytes() {
            let found = shown(key);
            let kind = if seen.iter().any(|k| k.as_bytes() == key) {
                PointerErrorKind::DuplicateKey(found)
            } else if KEYS.iter().any(|k| k.as_bytes() == key) {
                PointerErrorKind::OutOfOrder { found, expected }
            } else if key.starts_with(b"ext-") {
                PointerErrorKind::Extension(found)
            } else {
                PointerErrorKind::UnknownKey { found, expected }
            };
            return Err(self.error(0, kind));
        }
        Ok(Field { value: &self.text[space + 1..], line: self.number, column: space + 2 })
    }
}

impl Field<'_> {
    fn error(&self, index: usize, kind: PointerErrorKind) -> PointerError {
        PointerError { line: self.line, column: to_u32(self.column + index), kind }
    }
}

fn check_version(field: &Field<'_>) -> Result<(), PointerError> {
    if field.value == VERSION.as_bytes() {
        return Ok(());
    }
    let found = shown(field.value);
    let kind = if OLD_VERSIONS.iter().any(|v| v.as_bytes() == field.value) {
        PointerErrorKind::OldVersion(found)
    } else {
        PointerErrorKind::Version(found)
    };
    Err(field.error(0, kind))
}

fn check_oid(field: &Field<'_>) -> Result<String, PointerError> {
    let Some(hex) = field.value.strip_prefix(b"sha256:") else {
        return Err(field.error(0, PointerErrorKind::OidType));
    };
    let start = "sha256:".len();
    for (i, &b) in hex.iter().enumerate() {
        let kind = match b {
            b'0'..=b'9' | b'a'..=b'f' => continue,
            b'A'..=b'F' => PointerErrorKind::UppercaseHex(char::from(b)),
            _ => PointerErrorKind::NotHex(shown_byte(b)),
        };
        return Err(field.error(start + i, kind));
    }
    if hex.len() != 64 {
        return Err(field.error(start + hex.len().min(64), PointerErrorKind::OidLength(hex.len())));
    }
    Ok(String::from_utf8_lossy(hex).into_owned())
}

fn check_size(field: &Field<'_>) -> Result<u64, PointerError> {
    let digits = field.value;
    if let Some(i) = digits.iter().position(|b| !b.is_ascii_digit()) {
        return Err(field.error(i, PointerErrorKind::NotDigit(shown_byte(digits[i]))));
    }
    match digits {
        [] => Err(field.error(0, PointerErrorKind::NotDigit("the end of the line".into()))),
        [b'0'] => Err(field.error(0, PointerErrorKind::ZeroSize)),
        [b'0', ..] => Err(field.error(0, PointerErrorKind::LeadingZero)),
        _ => std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| field.error(0, PointerErrorKind::SizeTooLarge)),
    }
}

/// The error for the byte at `offset` of `bytes` (or just past the end).
fn error_at(bytes: &[u8], offset: usize, kind: PointerErrorKind) -> PointerError {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    PointerError { line: to_u32(line), column: to_u32(offset - line_start + 1), kind }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Untrusted bytes for a message: at most 40 characters, control and
/// non-ASCII characters escaped.
fn shown(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes).chars().take(40).collect();
    let mut shown: String = text.chars().flat_map(char::escape_default).collect();
    if bytes.len() > 40 {
        shown.push('…');
    }
    shown
}

/// One untrusted byte for a message: `` `x` `` or its escape.
fn shown_byte(b: u8) -> String {
    format!("`{}`", std::ascii::escape_default(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID: &str = "4c920dd5437f648c1a648c57cd2e22289e01f6e44e7a4cfb6185ea5a9b301211";

    #[test]
    fn reads_oid_and_size() {
        let text = format!("version {VERSION}\noid sha256:{OID}\nsize 65003\n");
        let pointer = parse(text.as_bytes()).unwrap().unwrap();
        assert_eq!(pointer, Pointer { oid: OID.into(), size: 65003 });
        assert_eq!(pointer.to_string(), text);
    }

    #[test]
    fn other_files_are_not_pointers() {
        assert_eq!(parse(b"PK\x03\x04"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn errors_are_located() {
        let crlf = format!("version {VERSION}\r\noid sha256:{OID}\r\nsize 1\r\n");
        let e = parse(crlf.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.column, e.kind), (1, 43, PointerErrorKind::CarriageReturn));
        let upper = format!("version {VERSION}\noid sha256:{}\nsize 1\n", OID.replace('c', "C"));
        let e = parse(upper.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.column, e.kind.clone()), (2, 13, PointerErrorKind::UppercaseHex('C')));
        assert_eq!(e.to_string(), "line 2, column 13: uppercase hex digit `C`: the oid is lowercase hex");
    }
}

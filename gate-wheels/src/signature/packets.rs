//! Reading a detached signature file as gpg reads it: binary packets, or
//! ASCII armor (RFC 9580 section 6) holding them, possibly several armor
//! blocks one after another. Every packet must be a signature (marker and
//! padding packets are ignored, as RFC 9580 and gpg ignore them); anything
//! else, a damaged armor checksum, or bytes left over is refused with the
//! place it happened.
//!
//! Stricter than gpg on purpose: text before, between or after the armor
//! blocks, an armor block that is not a `PGP SIGNATURE` block, and a missing
//! END line are refused (gpg reads past them). Each is a located error, so
//! nothing in the file goes unjudged.

use std::io::Cursor;

use gate_core::{Evidence, Item, Location};
use pgp::packet::{Packet, PacketParser, PacketTrait as _, Signature};

use crate::Check;

const BEGIN: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const END: &[u8] = b"-----END PGP SIGNATURE-----";

/// A signature packet and where it was found.
pub(super) struct Found {
    pub signature: Signature,
    /// The line of the armor block's BEGIN line; `None` in a binary file.
    pub line: Option<u32>,
}

/// Why a signature file is not a readable set of detached signatures.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// Nothing (or only whitespace) in the file.
    #[error("the file is empty: expected a detached OpenPGP signature")]
    Empty,
    /// The ASCII armor is malformed.
    #[error("line {line}, column {column}: {what}")]
    Armor {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong there and what was expected.
        what: String,
    },
    /// The data ends inside a packet.
    #[error("{at}: the file ends in the middle of this packet (it is truncated)")]
    Truncated {
        /// Which packet.
        at: Origin,
    },
    /// Bytes that do not parse as an OpenPGP packet.
    #[error("{at} is not a well-formed OpenPGP packet")]
    Malformed {
        /// Which packet.
        at: Origin,
        /// The parser's own words, kept as evidence.
        detail: String,
    },
    /// A packet of a version or algorithm that cannot be read here.
    #[error("{at} uses a packet version or algorithm this tool cannot read")]
    Unsupported {
        /// Which packet.
        at: Origin,
        /// The parser's own words, kept as evidence.
        detail: String,
    },
    /// Packets, but no signature among them.
    #[error("the file holds no signature packet")]
    NoSignature,
    /// A packet that is not a signature.
    #[error("{at} is a {kind} packet, not a signature: a detached signature file holds only signatures")]
    NotSignature {
        /// Which packet.
        at: Origin,
        /// What kind of packet it is, in words.
        kind: String,
    },
}

/// Which packet of the file: its number, and its armor block's line or its
/// byte offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    number: usize,
    block_line: Option<u32>,
    offset: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.block_line {
            Some(line) => write!(f, "packet {} (in the armor block at line {line})", self.number),
            None => write!(f, "packet {} (at byte {})", self.number, self.offset),
        }
    }
}

impl ReadError {
    /// The item for signature file `subject`: an error when the packet
    /// cannot be read here (so not judged), else a failure.
    pub(super) fn item(&self, subject: &str) -> Item {
        let reason = format!("not a valid detached OpenPGP signature: {self}");
        let item = match self {
            Self::Unsupported { .. } => Check::Signature.error(subject, format!("cannot verify: {self}")),
            _ => Check::Signature.fail(subject, reason),
        };
        let item = match self {
            Self::Malformed { detail, .. } | Self::Unsupported { detail, .. } => {
                item.with(Evidence::fact("parser detail", detail.clone()))
            }
            _ => item,
        };
        let location = match self {
            Self::Armor { line, column, .. } => Location::at(subject, *line, *column),
            Self::Truncated { at }
            | Self::Malformed { at, .. }
            | Self::Unsupported { at, .. }
            | Self::NotSignature { at, .. } => match at.block_line {
                Some(line) => Location::at(subject, line, 1),
                None => Location::file(subject),
            },
            Self::Empty | Self::NoSignature => Location::file(subject),
        };
        item.at(location)
    }
}

/// Every signature packet of a signature file, in order; at least one.
pub(super) fn read_signatures(bytes: &[u8]) -> Result<Vec<Found>, ReadError> {
    if bytes.trim_ascii().is_empty() {
        return Err(ReadError::Empty);
    }
    // Like gpg and rPGP: a first byte with its high bit set starts a
    // binary packet; anything else is armor.
    let blocks =
        if bytes[0] & 0x80 != 0 { vec![Block { line: None, data: bytes.to_vec() }] } else { dearmor(bytes)? };
    let mut found = Vec::new();
    let mut number = 0;
    for Block { line: block_line, data } in blocks {
        let mut cursor = Cursor::new(&data[..]);
        let end = data.len() as u64;
        while cursor.position() < end {
            number += 1;
            let at = Origin { number, block_line, offset: cursor.position() };
            let start = cursor.position();
            match PacketParser::new(&mut cursor).next() {
                // The parser ends quietly on a header cut short.
                None => return Err(ReadError::Truncated { at }),
                Some(Err(e)) => return Err(classify(e, at)),
                Some(Ok(Packet::Signature(signature))) => found.push(Found { signature, line: block_line }),
                Some(Ok(Packet::Marker(_) | Packet::Padding(_))) => {}
                Some(Ok(packet)) => return Err(ReadError::NotSignature { at, kind: words(packet.tag()) }),
            }
            if cursor.position() <= start {
                return Err(ReadError::Malformed { at, detail: "the parser did not advance".into() });
            }
        }
    }
    if found.is_empty() {
        return Err(ReadError::NoSignature);
    }
    Ok(found)
}

/// A packet parser error as a reason.
fn classify(error: pgp::errors::Error, at: Origin) -> ReadError {
    use pgp::errors::Error;
    let detail = one_line(&error);
    let unsupported = |e: &Error| matches!(e, Error::Unsupported { .. } | Error::Unimplemented { .. });
    match &error {
        Error::PacketIncomplete { .. } => ReadError::Truncated { at },
        Error::IO { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            ReadError::Truncated { at }
        }
        Error::InvalidPacketContent { source } if unsupported(source) => {
            ReadError::Unsupported { at, detail }
        }
        e if unsupported(e) => ReadError::Unsupported { at, detail },
        _ => ReadError::Malformed { at, detail },
    }
}

/// `PublicKey` as "public key".
fn words(tag: pgp::types::Tag) -> String {
    let name = format!("{tag:?}");
    let mut words = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// Binary packets, from an armor block or a whole binary file.
struct Block {
    /// The armor block's BEGIN line; `None` for a binary file.
    line: Option<u32>,
    data: Vec<u8>,
}

/// The binary data of each armor block.
fn dearmor(bytes: &[u8]) -> Result<Vec<Block>, ReadError> {
    // Lines without their LF, CR and trailing blanks (gpg ignores those).
    let mut lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let blank = l.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
            &l[..blank]
        })
        .collect();
    // Empty lines at the end are nothing, so an armor cut short ends there.
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.is_empty() {
            i += 1;
            continue;
        }
        if line != BEGIN {
            let what = if line.starts_with(b"-----BEGIN ") {
                format!("{}: expected `{}`, only signature blocks are read", shown(line), text(BEGIN))
            } else {
                format!("text outside the armored signature: expected `{}` or an empty line", text(BEGIN))
            };
            return Err(armor(i, 0, what));
        }
        let begin = i;
        let (data, next) = block(&lines, begin)?;
        blocks.push(Block { line: Some(line_number(begin)), data });
        i = next;
    }
    Ok(blocks)
}

/// The block whose BEGIN line is `lines[begin]`: its data, and the index
/// of the line after its END line.
fn block(lines: &[&[u8]], begin: usize) -> Result<(Vec<u8>, usize), ReadError> {
    let mut i = begin + 1;
    let eof = |i: usize| armor(i, 0, format!("the file ends inside the armor: expected `{}`", text(END)));
    // Headers (`Key: value`), then an empty line.
    loop {
        let Some(line) = lines.get(i) else { return Err(eof(i)) };
        if line.is_empty() {
            i += 1;
            break;
        }
        let key_end =
            line.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'-')).unwrap_or(line.len());
        let rest = &line[key_end..];
        if key_end == 0 || !(rest == b":" || rest.starts_with(b": ")) {
            return Err(armor(
                i,
                key_end,
                "expected an armor header `Key: value`, or an empty line before the base64 data".into(),
            ));
        }
        i += 1;
    }
    // Base64 lines, an optional `=XXXX` checksum line, the END line.
    let mut base64 = Vec::new();
    let mut padding_seen = false;
    let mut checksum: Option<(usize, u32)> = None;
    loop {
        let Some(&line) = lines.get(i) else { return Err(eof(i)) };
        if line == END {
            break;
        }
        if line.starts_with(b"-----") {
            return Err(armor(i, 0, format!("{}: expected `{}`", shown(line), text(END))));
        }
        if checksum.is_some() {
            return Err(armor(i, 0, format!("expected `{}` after the checksum line", text(END))));
        }
        if let Some(crc) = line.strip_prefix(b"=") {
            let value = decode_base64(crc).filter(|v| crc.len() == 4 && v.len() == 3);
            let Some(value) = value else {
                return Err(armor(i, 0, "expected a checksum line `=` and 4 base64 characters".into()));
            };
            checksum = Some((i, u32::from(value[0]) << 16 | u32::from(value[1]) << 8 | u32::from(value[2])));
            i += 1;
            continue;
        }
        if padding_seen {
            return Err(armor(i, 0, "base64 data after its `=` padding".into()));
        }
        for (column, &b) in line.iter().enumerate() {
            if b == b'=' {
                padding_seen = true;
            } else if padding_seen || sextet(b).is_none() {
                let what = format!("{}: expected a base64 character", shown(&[b]));
                return Err(armor(i, column, what));
            }
        }
        base64.extend_from_slice(line);
        i += 1;
    }
    let end = i;
    let Some(data) = decode_base64(&base64) else {
        return Err(armor(end, 0, "the base64 data is cut short: its length is not a multiple of 4".into()));
    };
    if let Some((line, expected)) = checksum
        && crc24(&data) != expected
    {
        return Err(armor(
            line,
            0,
            "the armor checksum does not match the data: the signature is damaged".into(),
        ));
    }
    if data.is_empty() {
        return Err(armor(begin, 0, "an armor block with no data".into()));
    }
    Ok((data, end + 1))
}

fn armor(index: usize, column: usize, what: String) -> ReadError {
    ReadError::Armor { line: line_number(index), column: line_number(column), what }
}

/// A 0-based index as a 1-based line or column.
fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Untrusted bytes for a message: quoted, escaped, at most 40 bytes.
fn shown(bytes: &[u8]) -> String {
    let escaped: String =
        bytes.iter().take(40).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    if bytes.len() > 40 { format!("`{escaped}…`") } else { format!("`{escaped}`") }
}

fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard base64 with `=` padding; `None` unless it is well formed.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let padding = text.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 || text[..text.len() - padding].contains(&b'=') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        let mut digits = 0;
        for &b in chunk {
            if b == b'=' {
                continue;
            }
            n = n << 6 | u32::from(sextet(b)?);
            digits += 1;
        }
        // 4 digits: 3 bytes; 3 digits: 2 bytes; 2 digits: 1 byte.
        let bytes = match digits {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        let n = n << (6 * (4 - digits));
        out.extend_from_slice(&n.to_be_bytes()[1..=bytes]);
    }
    Some(out)
}

/// The CRC-24 of RFC 9580 section 6.1.1.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x186_4CFB;
            }
        }
    }
    crc & 0xFF_FFFF
}

/// An rPGP error as one line: some (failed assertions) span several, and an
/// item's reason is one line.
pub(super) fn one_line(error: impl std::fmt::Display) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_crc24_known_answers() {
        assert_eq!(decode_base64(b"aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64(b"aGV5"), Some(b"hey".to_vec()));
        assert_eq!(decode_base64(b"aGk"), None);
        assert_eq!(decode_base64(b"a==="), None);
        // RFC 4880's CRC-24 of no data is its initial value.
        assert_eq!(crc24(b""), 0xB7_04CE);
        assert_eq!(crc24(b"123456789"), 0x21_CF02);
    }

    #[test]
    fn words_of_a_tag() {
        assert_eq!(words(pgp::types::Tag::PublicKey), "public key");
    }
}

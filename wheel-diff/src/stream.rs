//! Streaming two contents against each other up to their first difference,
//! through fixed buffers.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use zip::read::ZipFile;

use crate::difference::FirstDifference;
use crate::error::{ArchiveError, Refusal};
use crate::limits::{CHUNK, LINE_SHOWN};

/// Something to compare, read in whole buffers.
pub(crate) trait Source {
    /// Fills `buffer` as far as the data goes: fewer bytes than its length
    /// only at the end.
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError>;
}

/// A member's uncompressed bytes, counted against the declared size.
pub(crate) struct MemberStream<'a> {
    pub(crate) file: ZipFile<'a, BufReader<File>>,
    pub(crate) path: &'a Path,
    pub(crate) member: &'a str,
    pub(crate) declared: u64,
    pub(crate) read: u64,
}

impl MemberStream<'_> {
    fn error(&self, error: std::io::Error) -> ArchiveError {
        let reason = error.to_string();
        // The zip reader stops a member at its declared size with this
        // message (zip 9); any other failure is damage.
        if reason.contains("larger than its declared uncompressed size") {
            return ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: None,
                },
            };
        }
        let reason = if reason == "Invalid checksum" { "CRC-32 mismatch".to_owned() } else { reason };
        ArchiveError::Corrupt { path: self.path.to_owned(), member: Some(self.member.to_owned()), reason }
    }

    /// Reads to the end, then checks that the size is the declared one.
    pub(crate) fn finish(mut self, buffer: &mut [u8]) -> Result<(), ArchiveError> {
        while self.fill(buffer)? == buffer.len() {}
        if self.read != self.declared {
            return Err(ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: Some(self.read),
                },
            });
        }
        Ok(())
    }
}

impl Source for MemberStream<'_> {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        let filled = read_full(&mut self.file, buffer).map_err(|e| self.error(e))?;
        self.read += filled as u64;
        if self.read > self.declared {
            return Err(ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: None,
                },
            });
        }
        Ok(filled)
    }
}

/// Bytes already in memory.
impl Source for &[u8] {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        let n = self.len().min(buffer.len());
        buffer[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// An archive file's raw bytes (for the zip-structure comparison).
pub(crate) struct RawFile<'a> {
    pub(crate) reader: &'a mut BufReader<File>,
    pub(crate) path: &'a Path,
}

impl Source for RawFile<'_> {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        read_full(self.reader, buffer)
            .map_err(|source| ArchiveError::Io { path: self.path.to_owned(), source })
    }
}

/// Reads until `buffer` is full or the reader ends.
pub(crate) fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The two fixed read buffers every comparison reuses.
pub(crate) struct Buffers {
    pub(crate) a: Vec<u8>,
    pub(crate) b: Vec<u8>,
}

impl Buffers {
    pub(crate) fn new() -> Self {
        Self { a: vec![0; CHUNK], b: vec![0; CHUNK] }
    }
}

/// What comparing two sources found.
pub(crate) struct Compared {
    /// Where they first differ; `None` when identical.
    pub(crate) first: Option<FirstDifference>,
    /// How many leading bytes are equal.
    pub(crate) equal_bytes: u64,
}

/// Compares two sources up to their first difference, streaming.
pub(crate) fn compare_sources(
    a: &mut impl Source,
    b: &mut impl Source,
    buffers: &mut Buffers,
) -> Result<Compared, ArchiveError> {
    let (buf_a, buf_b) = (&mut buffers.a[..], &mut buffers.b[..]);
    let mut equal: u64 = 0;
    let mut line: u64 = 1;
    // The current line's bytes before the difference (its last LINE_SHOWN).
    let mut head: Vec<u8> = Vec::with_capacity(2 * LINE_SHOWN);
    let mut clipped = false;
    let mut binary = false;
    loop {
        let (na, nb) = (a.fill(buf_a)?, b.fill(buf_b)?);
        let n = na.min(nb);
        let mismatch = match buf_a[..n] == buf_b[..n] {
            true => None,
            false => buf_a[..n].iter().zip(&buf_b[..n]).position(|(x, y)| x != y),
        };
        let same = mismatch.unwrap_or(n);
        let seen = &buf_a[..same];
        binary = binary || seen.contains(&0);
        match seen.iter().rposition(|&c| c == b'\n') {
            Some(last) => {
                line += seen.iter().filter(|&&c| c == b'\n').count() as u64;
                head.clear();
                clipped = false;
                head.extend_from_slice(&seen[last + 1..]);
            }
            None => head.extend_from_slice(seen),
        }
        if head.len() > LINE_SHOWN {
            head.drain(..head.len() - LINE_SHOWN);
            clipped = true;
        }
        equal += same as u64;
        if mismatch.is_none() && na == nb {
            if na < buf_a.len() {
                return Ok(Compared { first: None, equal_bytes: equal });
            }
            continue;
        }
        let byte_a = buf_a[..na].get(same).copied();
        let byte_b = buf_b[..nb].get(same).copied();
        let tail_a = rest_of_line(&buf_a[same..na], a, na == buf_a.len())?;
        let tail_b = rest_of_line(&buf_b[same..nb], b, nb == buf_b.len())?;
        let text_a = line_text(&head, clipped, &tail_a, byte_a.is_none());
        let text_b = line_text(&head, clipped, &tail_b, byte_b.is_none());
        let first = match (text_a, text_b) {
            (Line::Text(a), Line::Text(b)) if !binary => FirstDifference::Line { line, a, b },
            _ => FirstDifference::Byte { offset: equal, a: byte_a, b: byte_b },
        };
        return Ok(Compared { first: Some(first), equal_bytes: equal });
    }
}

/// The end of a line after the difference: up to the newline or
/// [`LINE_SHOWN`] bytes, reading on from `source` when the buffer ended
/// mid-line and `more` may follow.
pub(crate) fn rest_of_line(after: &[u8], source: &mut impl Source, more: bool) -> Result<Tail, ArchiveError> {
    let mut bytes: Vec<u8> = after.iter().copied().take_while(|&c| c != b'\n').take(LINE_SHOWN + 1).collect();
    let newline_seen = bytes.len() < after.len().min(LINE_SHOWN + 1);
    if !newline_seen && more && bytes.len() <= LINE_SHOWN {
        let mut extra = [0u8; LINE_SHOWN + 1];
        let n = source.fill(&mut extra[..LINE_SHOWN + 1 - bytes.len()])?;
        bytes.extend(extra[..n].iter().copied().take_while(|&c| c != b'\n'));
    }
    let cut = bytes.len() > LINE_SHOWN;
    bytes.truncate(LINE_SHOWN);
    Ok(Tail { bytes, cut })
}

/// The part of a line from the first difference on.
pub(crate) struct Tail {
    pub(crate) bytes: Vec<u8>,
    /// The line goes on past `bytes`.
    pub(crate) cut: bool,
}

/// One side's differing line.
pub(crate) enum Line {
    /// Text; `None` when the side has ended before the line.
    Text(Option<String>),
    /// A NUL byte or invalid UTF-8: the content is binary.
    Binary,
}

/// One side's differing line, for display.
pub(crate) fn line_text(head: &[u8], clipped: bool, tail: &Tail, ended: bool) -> Line {
    if ended && head.is_empty() {
        return Line::Text(None);
    }
    if tail.bytes.contains(&0) {
        return Line::Binary;
    }
    let mut bytes = head.to_vec();
    bytes.extend_from_slice(&tail.bytes);
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        // Cut in the middle of a character by the length limit: fine.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Line::Binary,
    };
    let mut shown = String::new();
    if clipped {
        shown.push('…');
    }
    shown.push_str(text);
    if tail.cut {
        shown.push('…');
    }
    Line::Text(Some(shown))
}

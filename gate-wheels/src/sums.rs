//! The `sha256sum` output format, parsed exactly.
//!
//! A line is `<64 hex> <mode><name>`, where the mode is a space (text) or
//! `*` (binary). When a name contains a backslash or a line break, GNU
//! coreutils writes the line with a leading `\` and escapes the name
//! (`\\`, `\n`, `\r`). Every problem is reported with its line and column;
//! parsing never stops at the first one.

/// One entry of a sums file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name as listed (unescaped).
    pub name: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Whether the line used the binary (`*`) marker.
    pub binary: bool,
    /// 1-based line number.
    pub line: u32,
}

pub use pip_requirements::SyntaxError;

/// Everything a sums file says, with its problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SumsFile {
    /// Well-formed entries, in file order.
    pub entries: Vec<Entry>,
    /// Malformed lines, in file order.
    pub errors: Vec<SyntaxError>,
}

const HASH_LEN: usize = 64;

/// Parses the bytes of a sums file.
pub fn parse(bytes: &[u8]) -> SumsFile {
    let mut file = SumsFile { entries: Vec::with_capacity(entry_room(bytes)), ..SumsFile::default() };
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut number = 0u32;
    while let Some(line) = lines.next() {
        number += 1;
        if line.is_empty() && lines.peek().is_none() {
            break; // the final newline
        }
        match parse_line(line, number) {
            Ok(entry) => file.entries.push(entry),
            Err((column, message)) => file.errors.push(SyntaxError { line: number, column, message }),
        }
    }
    file
}

/// Room for the entries of `bytes`, so the list is sized once rather than
/// grown through every power of two: one per line, but no more than lines
/// long enough to be an entry (a hash, two characters and a name), so that
/// a file of empty lines reserves no more than its own size.
fn entry_room(bytes: &[u8]) -> usize {
    const SHORTEST_ENTRY: usize = HASH_LEN + 3;
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    lines.min(bytes.len() / SHORTEST_ENTRY + 1)
}

fn parse_line(line: &[u8], number: u32) -> Result<Entry, (u32, String)> {
    if line.is_empty() {
        return Err((1, "empty line; expected `<sha256> <name>`".into()));
    }
    if let Some(cr) = line.iter().position(|&b| b == b'\r') {
        return Err((col(cr), "carriage return (CR) in the line; expected LF line endings only".into()));
    }
    let (escaped, rest) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let offset = usize::from(escaped);
    let hex_len = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if hex_len != HASH_LEN {
        let found = if rest.get(hex_len).is_none_or(|b| b.is_ascii_whitespace()) {
            format!("a hash of {hex_len} hex digits")
        } else {
            format!("`{}`", printable(rest.get(hex_len..hex_len + 1).unwrap_or_default()))
        };
        let column = if hex_len > HASH_LEN { HASH_LEN } else { hex_len };
        return Err((
            col(offset + column),
            format!("expected 64 hex digits of a SHA-256 hash, found {found}"),
        ));
    }
    let sha256 = String::from_utf8_lossy(&rest[..HASH_LEN]).to_ascii_lowercase();
    let after = &rest[HASH_LEN..];
    let binary = match after {
        [b' ', b' ', _, ..] => false,
        [b' ', b'*', _, ..] => true,
        [b' ', b' ' | b'*'] => {
            return Err((col(offset + HASH_LEN + 2), "missing file name after the hash".into()));
        }
        [b' ', ..] => {
            return Err((
                col(offset + HASH_LEN + 1),
                "expected a second space (text mode) or `*` (binary mode) before the file name".into(),
            ));
        }
        _ => {
            return Err((
                col(offset + HASH_LEN),
                "expected a space after the 64 hex digits of the hash".into(),
            ));
        }
    };
    let raw_name = &after[2..];
    let name_column = offset + HASH_LEN + 3;
    let name_bytes = if escaped {
        unescape(raw_name).map_err(|at| {
            (
                col(name_column - 1 + at),
                "invalid escape in file name; expected `\\\\`, `\\n` or `\\r`".to_owned(),
            )
        })?
    } else {
        raw_name.to_vec()
    };
    let name = String::from_utf8(name_bytes).map_err(|e| {
        (col(name_column - 1 + e.utf8_error().valid_up_to()), "file name is not valid UTF-8".to_owned())
    })?;
    Ok(Entry { name, sha256, binary, line: number })
}

/// 1-based column of a 0-based byte offset.
fn col(offset: usize) -> u32 {
    u32::try_from(offset + 1).unwrap_or(u32::MAX)
}

fn unescape(raw: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().enumerate();
    while let Some((i, &b)) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some((_, b'\\')) => out.push(b'\\'),
            Some((_, b'n')) => out.push(b'\n'),
            Some((_, b'r')) => out.push(b'\r'),
            _ => return Err(i),
        }
    }
    Ok(out)
}

fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

/// The first place where `entries` are not in byte order by name, and how
/// many adjacent pairs are out of order.
pub fn order_inversions(entries: &[Entry]) -> Option<(&Entry, &Entry, usize)> {
    let mut inversions = entries.windows(2).filter(|w| w[0].name.as_bytes() > w[1].name.as_bytes());
    let first = inversions.next()?;
    Some((&first[0], &first[1], 1 + inversions.count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "ad1e93816f37f8445bb12dfe412579d2237818c9bbf34054a06e00d5f430c700";

    #[test]
    fn room_is_one_entry_per_line_but_never_more_than_the_bytes_allow() {
        let line = format!("{}  a.whl\n", "a".repeat(64));
        assert_eq!(entry_room(line.repeat(3).as_bytes()), 3 + 1);
        assert_eq!(entry_room(&[b'\n'; 6700]), 100 + 1, "6,700 empty lines hold no entry");
        assert_eq!(entry_room(b""), 1);
        let parsed = parse(&[b'\n'; 6700]);
        assert_eq!((parsed.entries.capacity() <= 101, parsed.errors.len()), (true, 6700));
    }

    #[test]
    fn parses_text_binary_and_escaped_lines() {
        let text = format!("{H}  a.whl\n{H} *b.whl\n\\{H}  c\\\\d\\ne.whl\n");
        let file = parse(text.as_bytes());
        assert_eq!(file.errors, []);
        let names: Vec<_> = file.entries.iter().map(|e| (e.name.as_str(), e.binary, e.line)).collect();
        assert_eq!(names, [("a.whl", false, 1), ("b.whl", true, 2), ("c\\d\ne.whl", false, 3)]);
    }

    #[test]
    fn locates_each_malformed_line_and_keeps_going() {
        let text = format!(
            "{H}  ok.whl\n{H}x  bad.whl\n{}  short.whl\n{H} one-space.whl\n{H}  crlf.whl\r\n\n{H}  last.whl",
            &H[..10]
        );
        let file = parse(text.as_bytes());
        let found: Vec<_> = file.errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(found, [(2, 65), (3, 11), (4, 66), (5, 75), (6, 1)]);
        assert_eq!(file.entries.len(), 2);
        assert!(file.errors[0].message.contains("a space after"), "{}", file.errors[0].message);
        assert!(file.errors[1].message.contains("10 hex digits"), "{}", file.errors[1].message);
    }

    #[test]
    fn overlong_hash_is_reported_at_the_65th_digit() {
        let text = format!("{H}{H}{H}  x.whl\n");
        let file = parse(text.as_bytes());
        assert_eq!((file.errors[0].line, file.errors[0].column), (1, 65));
        assert!(file.errors[0].message.contains("192 hex digits"), "{}", file.errors[0].message);
    }

    #[test]
    fn non_utf8_name_and_bad_escape_are_located() {
        let mut text = format!("{H}  caf").into_bytes();
        text.extend_from_slice(b"\xff.whl\n");
        text.extend_from_slice(format!("\\{H}  a\\tb\n").as_bytes());
        let file = parse(&text);
        let found: Vec<_> = file.errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(found, [(1, 70), (2, 69)]);
    }

    #[test]
    fn counts_order_inversions_in_byte_order() {
        let file = parse(format!("{H}  b\n{H}  a\n{H}  c\n{H}  C\n").as_bytes());
        let (first, second, count) = order_inversions(&file.entries).unwrap();
        assert_eq!((first.line, second.line, count), (1, 2, 2));
    }
}

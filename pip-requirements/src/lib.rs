//! pip's requirements-file format, parsed exactly.
//!
//! [`parse`] reads the requirements-file format pip reads (as written by
//! `pip-compile --generate-hashes` or by hand): `\` continuations are joined
//! and comments stripped the way pip does it, each requirement is parsed as
//! PEP 508 by `pep508_rs`, and every problem is reported at its line and
//! column in the original file. An included file (`-r other.txt`) is
//! recorded, not followed.
//!
//! Names are compared after PEP 503 normalisation ([`normalise_name`]: case,
//! runs of `-`, `_` and `.`), versions as PEP 440 versions (`1.0` equals
//! `1.0.0`). The wheels gate cross-checks the hash pins against a sums file;
//! the build-dependency analysis reads its roots and constraints with it.

use std::str::FromStr as _;

mod requirement;

use pep508_rs::pep440_rs::{LocalSegment, Operator, PrereleaseKind, Version, VersionSpecifiers};

/// A malformed line: of a requirements file, or of any line-oriented file
/// parsed the same way (the wheels gate's sums files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in bytes) where the problem starts.
    pub column: u32,
    /// What was found and what was expected.
    pub message: String,
}

/// A hash algorithm pip accepts in `--hash` (its "strong" hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// SHA-256, the one sums files use.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The name written before the colon, e.g. `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// How many hex digits a digest of this algorithm has.
    fn hex_digits(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.name() == name)
    }
}

/// One `--hash=<algorithm>:<hex>` of a requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedHash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The digest, lowercase hex.
    pub hex: String,
}

/// One requirement, after its continuation lines were joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The PEP 503 normalised name (`Foo.Bar_baz` is `foo-bar-baz`).
    pub name: String,
    /// The version when the specifier is exactly `==X`; `None` means the
    /// requirement is not pinned.
    pub version: Option<Version>,
    /// The version specifier (`>=1.0`) or URL (`@ https://…`) as parsed,
    /// empty when there is none; for messages.
    pub specifier: String,
    /// The environment marker after `;`, as written.
    pub marker: Option<String>,
    /// The extras asked for (`name[a,b]`), normalised.
    pub extras: Vec<pep508_rs::ExtraName>,
    /// Every well-formed `--hash`, in file order.
    pub hashes: Vec<PinnedHash>,
    /// 1-based line of the requirement's first character in the original file.
    pub line: u32,
    /// 1-based column (in bytes) of that character.
    pub column: u32,
}

impl Requirement {
    /// Whether the specifier is exactly `==X`.
    pub fn is_pinned(&self) -> bool {
        self.version.is_some()
    }

    /// The pinned SHA-256 digests, lowercase hex.
    pub fn sha256_hashes(&self) -> impl Iterator<Item = &str> {
        self.hashes.iter().filter(|h| h.algorithm == HashAlgorithm::Sha256).map(|h| h.hex.as_str())
    }

    /// `name==version`, or the name and whatever specifier it has.
    pub fn display(&self) -> String {
        match &self.version {
            Some(version) => format!("{}=={version}", self.name),
            None => format!("{}{}", self.name, self.specifier),
        }
    }
}

/// An option of pip's requirements-file format that applies to the whole
/// file rather than to one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptionKind {
    /// `-r`, `--requirement`: includes another requirements file.
    Requirement,
    /// `-c`, `--constraint`: a constraints file.
    Constraint,
    /// `-e`, `--editable`: an editable install of a path or VCS URL.
    Editable,
    /// `-i`, `--index-url`.
    IndexUrl,
    /// `--extra-index-url`.
    ExtraIndexUrl,
    /// `--no-index`.
    NoIndex,
    /// `-f`, `--find-links`.
    FindLinks,
    /// `--no-binary`.
    NoBinary,
    /// `--only-binary`.
    OnlyBinary,
    /// `--prefer-binary`.
    PreferBinary,
    /// `--require-hashes`.
    RequireHashes,
    /// `--pre`.
    Pre,
    /// `--trusted-host`.
    TrustedHost,
    /// `--use-feature`.
    UseFeature,
}

/// A whole-file option line, such as `-r base.txt` or `--index-url …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOption {
    /// Which option.
    pub kind: OptionKind,
    /// Its value, for options that take one.
    pub value: Option<String>,
    /// 1-based line of the option in the original file.
    pub line: u32,
    /// 1-based column (in bytes) of the option.
    pub column: u32,
}

/// Everything a requirements file says, with its problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequirementsFile {
    /// Requirements, in file order.
    pub requirements: Vec<Requirement>,
    /// Whole-file options, in file order; includes (`-r`) are recorded here
    /// and not followed.
    pub options: Vec<FileOption>,
    /// Malformed lines, in file order, located in the original file.
    pub errors: Vec<SyntaxError>,
}

impl RequirementsFile {
    /// The `-r` includes: other requirements files this one installs from,
    /// which this version does not follow.
    pub fn includes(&self) -> impl Iterator<Item = &FileOption> {
        self.options.iter().filter(|o| o.kind == OptionKind::Requirement)
    }
}

/// What an option of the format does when it is met.
#[derive(Debug, Clone, Copy)]
enum OptionScope {
    /// A whole-file option, on a line of its own.
    File(OptionKind),
    /// `--hash`, after a requirement.
    Hash,
    /// Another per-requirement option (`--global-option`, `--config-settings`),
    /// accepted and ignored.
    Ignored,
}

struct OptionSpec {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    scope: OptionScope,
}

const fn spec(long: &'static str, short: Option<char>, takes_value: bool, scope: OptionScope) -> OptionSpec {
    OptionSpec { long, short, takes_value, scope }
}

/// The options pip accepts in a requirements file.
const OPTIONS: &[OptionSpec] = &[
    spec("--requirement", Some('r'), true, OptionScope::File(OptionKind::Requirement)),
    spec("--constraint", Some('c'), true, OptionScope::File(OptionKind::Constraint)),
    spec("--editable", Some('e'), true, OptionScope::File(OptionKind::Editable)),
    spec("--index-url", Some('i'), true, OptionScope::File(OptionKind::IndexUrl)),
    spec("--extra-index-url", None, true, OptionScope::File(OptionKind::ExtraIndexUrl)),
    spec("--no-index", None, false, OptionScope::File(OptionKind::NoIndex)),
    spec("--find-links", Some('f'), true, OptionScope::File(OptionKind::FindLinks)),
    spec("--no-binary", None, true, OptionScope::File(OptionKind::NoBinary)),
    spec("--only-binary", None, true, OptionScope::File(OptionKind::OnlyBinary)),
    spec("--prefer-binary", None, false, OptionScope::File(OptionKind::PreferBinary)),
    spec("--require-hashes", None, false, OptionScope::File(OptionKind::RequireHashes)),
    spec("--pre", None, false, OptionScope::File(OptionKind::Pre)),
    spec("--trusted-host", None, true, OptionScope::File(OptionKind::TrustedHost)),
    spec("--use-feature", None, true, OptionScope::File(OptionKind::UseFeature)),
    spec("--hash", None, true, OptionScope::Hash),
    spec("--global-option", None, true, OptionScope::Ignored),
    spec("--config-settings", Some('C'), true, OptionScope::Ignored),
];

/// One line after joining continuations, with where each piece came from.
#[derive(Debug, Default)]
struct LogicalLine {
    text: String,
    /// Where each physical line starts in `text`, and its 1-based number.
    pieces: Vec<(usize, u32)>,
}

impl LogicalLine {
    fn push(&mut self, line: u32, text: &str) {
        self.pieces.push((self.text.len(), line));
        self.text.push_str(text);
    }

    /// The 1-based line and column in the original file of byte `offset` of `text`.
    fn locate(&self, offset: usize) -> (u32, u32) {
        let index = self.pieces.partition_point(|&(start, _)| start <= offset).saturating_sub(1);
        let (start, line) = self.pieces.get(index).copied().unwrap_or((0, 1));
        (line, column(offset.saturating_sub(start)))
    }

    fn error(&self, offset: usize, message: String) -> SyntaxError {
        let (line, column) = self.locate(offset);
        SyntaxError { line, column, message }
    }
}

/// 1-based column of a 0-based byte offset.
fn column(offset: usize) -> u32 {
    u32::try_from(offset + 1).unwrap_or(u32::MAX)
}

/// Parses the text of a requirements file. Never stops at the first problem.
pub fn parse(text: &str) -> RequirementsFile {
    let mut file = RequirementsFile::default();
    file.requirements.reserve(requirement_room(text));
    logical_lines(text, |line, unfinished| {
        file.errors.extend(unfinished);
        parse_line(line, &mut file);
    });
    file.errors.sort_by_key(|e| (e.line, e.column));
    file
}

/// Room for the requirements of `text`, so that the list of a large
/// hashed file is sized once rather than grown (and copied) a dozen times:
/// its lines that start with a letter or digit, as a name does, but no
/// more than one per 80 bytes, shorter than any hashed pin
/// (`a==1 --hash=sha256:` and 64 hex digits). A file of short junk lines
/// thus reserves about its own size, not 68 times it.
fn requirement_room(text: &str) -> usize {
    const SHORTEST_HASHED_PIN: usize = 80;
    let starts =
        text.split('\n').filter(|line| line.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric));
    starts.count().min(text.len() / SHORTEST_HASHED_PIN + 1)
}

/// Joins `\` continuations the way pip does: a line ending in `\` (and not a
/// whole-line comment) continues on the next one, and the backslash is
/// dropped. A whole-line comment ends a continued line.
///
/// Calls `each` with every logical line in turn, made in one reused buffer.
/// The last line, when a continuation leaves it unfinished at the end of
/// the file, comes with that error.
fn logical_lines(text: &str, mut each: impl FnMut(&LogicalLine, Option<SyntaxError>)) {
    let mut logical = LogicalLine::default();
    let mut pending = false;
    let mut last_backslash = (0, 0);
    let mut physical = text.split('\n').peekable();
    let mut number = 0u32;
    while let Some(raw) = physical.next() {
        number = number.saturating_add(1);
        if raw.is_empty() && physical.peek().is_none() {
            break; // the final newline
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if !pending {
            logical.text.clear();
            logical.pieces.clear();
        }
        match raw.strip_suffix('\\').filter(|_| !is_whole_line_comment(raw)) {
            Some(head) => {
                logical.push(number, head);
                last_backslash = (number, head.len());
                pending = true;
            }
            None => {
                logical.push(number, raw);
                pending = false;
                each(&logical, None);
            }
        }
    }
    if pending {
        let (line, offset) = last_backslash;
        let unfinished = SyntaxError {
            line,
            column: column(offset),
            message: "line continuation `\\` at the end of the file; expected another line to continue"
                .to_owned(),
        };
        each(&logical, Some(unfinished));
    }
}

fn is_whole_line_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Where a comment starts: a `#` at the start of the line or after whitespace.
fn comment_start(text: &str) -> Option<usize> {
    // `#` is one byte in UTF-8 and never part of another character.
    text.match_indices('#')
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text[..i].chars().next_back().is_some_and(char::is_whitespace))
}

/// Whitespace-separated tokens with their byte offsets.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut start = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    // Byte by byte: an ASCII byte is whitespace or not by itself, and only a
    // non-ASCII character is decoded to ask Unicode (a requirements line is
    // almost all ASCII, and this ran for every character of the file).
    while i < bytes.len() {
        let (whitespace, width) = match bytes[i] {
            b'\t'..=b'\r' | b' ' => (true, 1),
            b if b.is_ascii() => (false, 1),
            _ => {
                let c = text[i..].chars().next().unwrap_or_default();
                (c.is_whitespace(), c.len_utf8())
            }
        };
        match (whitespace, start) {
            (true, Some(s)) => {
                found.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
        i += width;
    }
    if let Some(s) = start {
        found.push((s, &text[s..]));
    }
    found
}

fn parse_line(line: &LogicalLine, file: &mut RequirementsFile) {
    let text = &line.text[..comment_start(&line.text).unwrap_or(line.text.len())];
    let tokens = tokens(text);
    // Like pip, the requirement is every token before the first one that
    // starts with `-`; the rest are options.
    let split = tokens.iter().position(|(_, t)| t.starts_with('-')).unwrap_or(tokens.len());
    let (requirement_tokens, option_tokens) = tokens.split_at(split);
    let requirement_span = match (requirement_tokens.first(), requirement_tokens.last()) {
        (Some(&(start, _)), Some(&(last, token))) => Some((start, last + token.len())),
        _ => None,
    };
    let hashes = parse_options(line, option_tokens, requirement_span.is_some(), file);
    let Some((start, end)) = requirement_span else { return };
    let source = &text[start..end];
    match requirement::read(source) {
        Ok(read) => {
            let (line_number, column) = line.locate(start);
            file.requirements.push(Requirement {
                name: read.name,
                version: read.version,
                specifier: read.specifier,
                marker: read.marker,
                extras: read.extras,
                hashes,
                line: line_number,
                column,
            });
        }
        Err((offset, message)) => file.errors.push(line.error(start + offset, message)),
    }
}

/// Parses the option tokens of one logical line: records whole-file options,
/// returns the requirement's hashes, reports every malformed option.
fn parse_options(
    line: &LogicalLine,
    tokens: &[(usize, &str)],
    after_requirement: bool,
    file: &mut RequirementsFile,
) -> Vec<PinnedHash> {
    // Sized once, not grown to four: one per `--hash` option, at most.
    let mut hashes = Vec::with_capacity(tokens.iter().filter(|(_, t)| t.starts_with("--hash")).count());
    let mut rest = tokens.iter().copied();
    while let Some((offset, token)) = rest.next() {
        if !token.starts_with('-') {
            file.errors.push(
                line.error(offset, format!("unexpected `{token}`; expected an option starting with `-`")),
            );
            continue;
        }
        let (spec, inline_value) = match token.strip_prefix("--") {
            Some(long) => {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some((offset + 2 + name.len() + 1, value))),
                    None => (long, None),
                };
                (OPTIONS.iter().find(|s| s.long.strip_prefix("--") == Some(name)), value)
            }
            None => {
                let short = token.chars().nth(1);
                let value_start = 1 + short.map_or(0, char::len_utf8);
                let value =
                    (value_start < token.len()).then(|| (offset + value_start, &token[value_start..]));
                (OPTIONS.iter().find(|s| short.is_some() && s.short == short), value)
            }
        };
        let Some(spec) = spec else {
            file.errors.push(line.error(
                offset,
                format!(
                    "unknown option `{}`; expected a requirement or an option of pip's requirements files \
                     such as `--hash`, `-r`, `-c`, `-e` or `--index-url`",
                    token.split('=').next().unwrap_or(token)
                ),
            ));
            // Whether it takes a value is unknown, so the rest of the line
            // cannot be read reliably.
            break;
        };
        let value = if spec.takes_value {
            match inline_value.or_else(|| rest.next()) {
                Some(value) => Some(value),
                None => {
                    file.errors.push(line.error(offset, format!("expected a value after `{token}`")));
                    continue;
                }
            }
        } else {
            if let Some((value_offset, _)) = inline_value {
                file.errors.push(line.error(value_offset, format!("`{}` takes no value", spec.long)));
            }
            None
        };
        match spec.scope {
            OptionScope::File(_) if after_requirement => file.errors.push(line.error(
                offset,
                format!(
                    "`{}` applies to the whole file; expected it on a line of its own, not after a requirement",
                    spec.long
                ),
            )),
            OptionScope::File(kind) => {
                let (line_number, column) = line.locate(offset);
                file.options.push(FileOption {
                    kind,
                    value: value.map(|(_, v)| v.to_owned()),
                    line: line_number,
                    column,
                });
            }
            OptionScope::Hash | OptionScope::Ignored if !after_requirement => file.errors.push(line.error(
                offset,
                format!("`{}` belongs to a requirement; expected it after `name==version` on the same line", spec.long),
            )),
            OptionScope::Hash => {
                let Some((value_offset, value)) = value else { continue };
                match parse_hash(value) {
                    Ok(hash) => hashes.push(hash),
                    Err((at, message)) => file.errors.push(line.error(value_offset + at, message)),
                }
            }
            OptionScope::Ignored => {}
        }
    }
    hashes
}

/// Parses `<algorithm>:<hex>`; an error gives the byte offset in `value`
/// where the problem starts.
fn parse_hash(value: &str) -> Result<PinnedHash, (usize, String)> {
    let Some((name, digest)) = value.split_once(':') else {
        return Err((
            0,
            format!(
                "expected `<algorithm>:<hex digest>` such as `sha256:` and 64 hex digits, found `{value}`"
            ),
        ));
    };
    let Some(algorithm) = HashAlgorithm::from_name(name) else {
        return Err((0, format!("unknown hash algorithm `{name}`; expected sha256, sha384 or sha512")));
    };
    let digits = algorithm.hex_digits();
    let digest_start = name.len() + 1;
    if let Some(at) = digest.bytes().position(|b| !b.is_ascii_hexdigit()) {
        let bad = digest[at..].chars().next().unwrap_or_default();
        return Err((
            digest_start + at,
            format!("expected {digits} hex digits after `{name}:`, found `{bad}`"),
        ));
    }
    if digest.len() != digits {
        return Err((
            digest_start,
            format!("expected {digits} hex digits after `{name}:`, found {} digits", digest.len()),
        ));
    }
    Ok(PinnedHash { algorithm, hex: digest.to_ascii_lowercase() })
}

/// PEP 503 normalisation: lowercase, every run of `-`, `_` and `.` becomes `-`.
pub fn normalise_name(name: &str) -> String {
    let mut normalised = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                normalised.push('-');
            }
            in_separator_run = true;
        } else {
            normalised.push(c.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    normalised
}

/// `version` as PEP 440 normalises it: the text `Version`'s `Display`
/// writes, `1!2.0rc1.post3.dev4+local.7`, made without its intermediate
/// strings (it cost a tenth of a pin check).
pub fn version_text(version: &Version) -> String {
    let mut text = String::with_capacity(16);
    push_version_text(&mut text, version);
    text
}

/// [`version_text`], written at the end of `text`.
pub fn push_version_text(text: &mut String, version: &Version) {
    fn number(text: &mut String, n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        text.extend(digits[at..].iter().map(|&d| char::from(d)));
    }
    if version.epoch() != 0 {
        number(text, version.epoch());
        text.push('!');
    }
    for (i, &part) in version.release().iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        number(text, part);
    }
    if let Some(pre) = version.pre() {
        text.push_str(match pre.kind {
            PrereleaseKind::Alpha => "a",
            PrereleaseKind::Beta => "b",
            PrereleaseKind::Rc => "rc",
        });
        number(text, pre.number);
    }
    if let Some(post) = version.post() {
        text.push_str(".post");
        number(text, post);
    }
    if let Some(dev) = version.dev() {
        text.push_str(".dev");
        number(text, dev);
    }
    for (i, segment) in version.local().iter().enumerate() {
        text.push(if i == 0 { '+' } else { '.' });
        match segment {
            LocalSegment::String(segment) => text.push_str(segment),
            LocalSegment::Number(n) => number(text, *n),
        }
    }
}

/// `specifiers` as `VersionSpecifiers`' `Display` writes them (`>=1.0, <2`),
/// each version by [`version_text`].
pub fn specifiers_text(specifiers: &VersionSpecifiers) -> String {
    let mut text = String::new();
    for (i, specifier) in specifiers.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        #[allow(deprecated)] // `===` is deprecated in pep440_rs, not in pip
        text.push_str(match specifier.operator() {
            Operator::Equal | Operator::EqualStar => "==",
            Operator::ExactEqual => "===",
            Operator::NotEqual | Operator::NotEqualStar => "!=",
            Operator::TildeEqual => "~=",
            Operator::LessThan => "<",
            Operator::LessThanEqual => "<=",
            Operator::GreaterThan => ">",
            Operator::GreaterThanEqual => ">=",
        });
        text.push_str(&version_text(specifier.version()));
        if matches!(specifier.operator(), Operator::EqualStar | Operator::NotEqualStar) {
            text.push_str(".*");
        }
    }
    text
}

/// A normalised name and a PEP 440 version, when `version` is one.
pub fn release(name: &str, version: &str) -> Option<(String, Version)> {
    Some((normalise_name(name), Version::from_str(version).ok()?))
}

/// The normalised name and version of a wheel file name,
/// `{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
pub fn wheel_release(file_name: &str) -> Option<(String, Version)> {
    let stem = file_name.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    let (name, version) = (parts.next()?, parts.next()?);
    // Three or four more parts: python, abi and platform, after a build tag.
    match parts.count() {
        3 | 4 => release(name, version),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn room_is_a_requirement_per_name_line_but_never_more_than_the_bytes_allow() {
        let pin = format!("a==1.0 --hash=sha256:{A}\n");
        assert_eq!(requirement_room(&pin.repeat(3)), 3);
        assert_eq!(requirement_room("# comment\n\n  \n"), 0, "no line starts like a name");
        let junk = "x!\n".repeat(6700);
        assert_eq!(requirement_room(&junk), 6700 * 3 / 80 + 1, "6,700 short lines");
        let parsed = parse(&junk);
        assert_eq!((parsed.requirements.capacity() <= 252, parsed.errors.len()), (true, 6700));
    }

    #[test]
    fn tokens_split_on_unicode_whitespace_as_char_is_whitespace_says() {
        // The reference: one char at a time, as the tokenizer did before it
        // read bytes.
        fn by_chars(text: &str) -> Vec<(usize, &str)> {
            let mut found = Vec::new();
            let mut start = None;
            for (i, c) in text.char_indices() {
                match (c.is_whitespace(), start) {
                    (true, Some(s)) => {
                        found.push((s, &text[s..i]));
                        start = None;
                    }
                    (false, None) => start = Some(i),
                    _ => {}
                }
            }
            found.extend(start.map(|s| (s, &text[s..])));
            found
        }
        for text in [
            "",
            "  a==1   --hash=sha256:ab  ",
            "a\tb\x0bc\x0cd\re\nf",
            "a\x1cb\x1fc\x7fd",
            "a\u{85}b\u{a0}c\u{2003}d\u{3000}e\u{200b}f",
            "é==1 ü\u{2028}ß",
            "\u{a0}",
        ] {
            assert_eq!(tokens(text), by_chars(text), "{text:?}");
        }
    }

    #[test]
    fn versions_and_specifiers_are_written_as_pep440_rs_writes_them() {
        for text in [
            "0",
            "1.0",
            "1.0.0",
            "01.002",
            "1!2.3",
            "2.0a1",
            "2.0b2",
            "2.0rc3",
            "2.0c4",
            "2.0.post5",
            "2.0-5",
            "2.0.dev6",
            "2.0a1.post2.dev3",
            "1.0+local",
            "1.0+local.7.x",
            "1.0+Ubuntu-1",
            "18446744073709551615",
            "v1.2",
            "1.2.3.4.5.6",
            "2.0pre1",
            "2.0.preview2",
            "2.0rev3",
        ] {
            let version = Version::from_str(text).unwrap();
            assert_eq!(version_text(&version), version.to_string(), "{text}");
        }
        for text in
            ["==1.0", ">=1.0,<2", "~=1.4.5", "!=1.3.*", "==2.*", "===1.0", ">1, <=3.0rc1, !=2.5.post1"]
        {
            let specifiers = VersionSpecifiers::from_str(text).unwrap();
            assert_eq!(specifiers_text(&specifiers), specifiers.to_string(), "{text}");
        }
    }

    fn errors(text: &str) -> Vec<(u32, u32, String)> {
        parse(text).errors.into_iter().map(|e| (e.line, e.column, e.message)).collect()
    }

    /// (line, column) of each error.
    fn error_places(text: &str) -> Vec<(u32, u32)> {
        errors(text).into_iter().map(|(l, c, _)| (l, c)).collect()
    }

    /// Name, pinned version, marker, number of hashes, line and column.
    type Summary = (String, Option<String>, Option<String>, usize, u32, u32);

    fn summary(file: &RequirementsFile) -> Vec<Summary> {
        file.requirements
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.version.as_ref().map(ToString::to_string),
                    r.marker.clone(),
                    r.hashes.len(),
                    r.line,
                    r.column,
                )
            })
            .collect()
    }

    #[test]
    fn joins_continuations_and_keeps_original_positions() {
        let text = format!(
            "foo==1.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\n  bar==2.0 --hash=sha256:{C}\n"
        );
        let file = parse(&text);
        assert_eq!(file.errors, []);
        assert_eq!(
            summary(&file),
            [
                ("foo".into(), Some("1.0".into()), None, 2, 1, 1),
                ("bar".into(), Some("2.0".into()), None, 1, 4, 3),
            ]
        );
        assert_eq!(file.requirements[0].sha256_hashes().collect::<Vec<_>>(), [A, B]);
    }

    #[test]
    fn comments_and_blank_lines() {
        let text = format!(
            "# header \\\nfoo==1.0 --hash=sha256:{A}  # trailing\n\n   \n\tbar==2.0 \\\n    --hash=sha256:{B}\n    # via foo\nbaz==3.0 --hash=sha256:{C}\n"
        );
        let file = parse(&text);
        assert_eq!(file.errors, []);
        let found: Vec<_> =
            file.requirements.iter().map(|r| (r.name.as_str(), r.line, r.hashes.len())).collect();
        // A whole-line comment ending in `\` does not continue; a comment line
        // ends a continued line, as with pip.
        assert_eq!(found, [("foo", 2, 1), ("bar", 5, 1), ("baz", 8, 1)]);
    }

    #[test]
    fn a_trailing_comment_before_a_backslash_swallows_the_next_line_as_pip_does() {
        let file = parse(&format!("foo==1.0 # note \\\n    --hash=sha256:{A}\n"));
        assert_eq!(file.errors, []);
        assert!(file.requirements[0].hashes.is_empty());
    }

    #[test]
    fn hash_does_not_start_a_comment_without_whitespace_before_it() {
        let found = errors("foo==1.0#frag\n");
        assert_eq!(found.len(), 1, "{found:?}");
        // pep508_rs points at the start of the version specifier it rejects.
        assert_eq!((found[0].0, found[0].1), (1, 4));
        assert!(found[0].2.contains("found `#frag`"), "{}", found[0].2);
    }

    #[test]
    fn markers_are_kept_as_written() {
        let text = format!(
            "foo==1.0 ; python_version >= \"3.7\" \\\n    --hash=sha256:{A}\nbar==2.0;sys_platform=='linux' and platform_machine == \"x86_64\" --hash=sha256:{B}\n"
        );
        let file = parse(&text);
        assert_eq!(file.errors, []);
        let markers: Vec<_> = file.requirements.iter().map(|r| r.marker.as_deref()).collect();
        assert_eq!(
            markers,
            [
                Some("python_version >= \"3.7\""),
                Some("sys_platform=='linux' and platform_machine == \"x86_64\"")
            ]
        );
        assert!(file.requirements.iter().all(|r| r.hashes.len() == 1));
    }

    #[test]
    fn a_url_requirement_keeps_its_url_as_written_and_its_marker() {
        let file = parse("foo[x] @ https://e.invalid/${HOME}/a;b ; os_name == 'nt'\n");
        assert_eq!(file.errors, []);
        let foo = &file.requirements[0];
        assert_eq!(foo.specifier, " @ https://e.invalid/${HOME}/a;b");
        assert_eq!(foo.marker.as_deref(), Some("os_name == 'nt'"));
        assert!(!foo.is_pinned());
    }

    #[test]
    fn hash_options_with_equals_or_space_and_several_per_requirement() {
        let upper = B.to_ascii_uppercase();
        let text = format!(
            "foo==1.0 --hash sha256:{A} --hash=sha256:{upper} \\\n  --hash \\\n  sha256:{C}\nbar==1 --hash=sha384:{}\n",
            "d".repeat(96)
        );
        let file = parse(&text);
        assert_eq!(file.errors, []);
        assert_eq!(file.requirements[0].sha256_hashes().collect::<Vec<_>>(), [A, B, C]);
        assert_eq!(file.requirements[1].hashes[0].algorithm, HashAlgorithm::Sha384);
        assert_eq!(file.requirements[1].sha256_hashes().count(), 0);
    }

    #[test]
    fn names_are_pep503_normalised() {
        let file = parse("Foo.Bar_baz==1.0\nfoo--bar__baz==1.0\nFOO-BAR-BAZ [extra]==1.0\n");
        assert_eq!(file.errors, []);
        assert!(file.requirements.iter().all(|r| r.name == "foo-bar-baz"), "{:?}", file.requirements);
        assert_eq!(normalise_name("Foo.Bar_baz"), "foo-bar-baz");
        assert_eq!(normalise_name("a-_.-b"), "a-b");
    }

    #[test]
    fn only_an_exact_double_equals_is_a_pin() {
        let file = parse(
            "a==1.0\nb>=1.0\nc==1.*\nd===1.0\ne\nf==1.0,!=1.1\ng @ https://example.invalid/g-1.0.tar.gz\n",
        );
        assert_eq!(file.errors, []);
        let pinned: Vec<_> = file.requirements.iter().map(|r| (r.name.as_str(), r.is_pinned())).collect();
        assert_eq!(
            pinned,
            [("a", true), ("b", false), ("c", false), ("d", false), ("e", false), ("f", false), ("g", false)]
        );
        assert_eq!(file.requirements[1].specifier, ">=1.0");
    }

    #[test]
    fn records_file_options_and_includes() {
        let text = "-r base.txt\n-rmore.txt\n--requirement=third.txt\n-c constraints.txt\n\
                    --index-url https://pypi.example.invalid/simple\n--extra-index-url=https://x.invalid\n\
                    --find-links localwheels\n--no-binary :all:\n--only-binary=:all:\n--require-hashes\n\
                    --trusted-host x.invalid\n-e ./local\n--no-index --pre\n";
        let file = parse(text);
        assert_eq!(file.errors, []);
        let kinds: Vec<_> = file.options.iter().map(|o| (o.kind, o.value.as_deref(), o.line)).collect();
        assert_eq!(
            kinds,
            [
                (OptionKind::Requirement, Some("base.txt"), 1),
                (OptionKind::Requirement, Some("more.txt"), 2),
                (OptionKind::Requirement, Some("third.txt"), 3),
                (OptionKind::Constraint, Some("constraints.txt"), 4),
                (OptionKind::IndexUrl, Some("https://pypi.example.invalid/simple"), 5),
                (OptionKind::ExtraIndexUrl, Some("https://x.invalid"), 6),
                (OptionKind::FindLinks, Some("localwheels"), 7),
                (OptionKind::NoBinary, Some(":all:"), 8),
                (OptionKind::OnlyBinary, Some(":all:"), 9),
                (OptionKind::RequireHashes, None, 10),
                (OptionKind::TrustedHost, Some("x.invalid"), 11),
                (OptionKind::Editable, Some("./local"), 12),
                (OptionKind::NoIndex, None, 13),
                (OptionKind::Pre, None, 13),
            ]
        );
        assert_eq!(file.includes().count(), 3);
        assert!(file.requirements.is_empty());
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let file = parse(&format!("foo==1.0 \\\r\n    --hash=sha256:{A}\r\nbar==2.0 --hash=sha256:{B}\r\n"));
        assert_eq!(file.errors, []);
        assert_eq!(summary(&file).len(), 2);
    }

    #[test]
    fn each_error_is_located_in_the_original_file() {
        let short = &A[..10];
        let cases: Vec<(String, (u32, u32), &str)> = vec![
            // A malformed PEP 508 requirement: column of the unexpected character.
            ("foo==1.0\n  bar=!=1\n".into(), (2, 6), "invalid requirement"),
            ("ok==1\nfoo 1.0\n".into(), (2, 5), "invalid requirement"),
            // A digest of the wrong length: column of its first digit.
            (
                format!("foo==1.0 --hash=sha256:{short}\n"),
                (1, 24),
                "expected 64 hex digits after `sha256:`, found 10",
            ),
            // A non-hex character: its own column.
            (format!("foo==1.0 --hash=sha256:{}z\n", &A[..63]), (1, 87), "found `z`"),
            // An unknown algorithm: column of its name.
            (format!("foo==1.0 --hash=md5:{A}\n"), (1, 17), "unknown hash algorithm `md5`"),
            (format!("foo==1.0 --hash={A}\n"), (1, 17), "expected `<algorithm>:<hex digest>`"),
            // On a continuation line: that line, its own column.
            (
                format!("foo==1.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{short}\n"),
                (3, 19),
                "found 10",
            ),
            (format!("foo==1.0 \\\n    --hash \\\n    sha1:{A}\n"), (3, 5), "unknown hash algorithm `sha1`"),
            // A dangling backslash at the end of the file: its column.
            (format!("foo==1.0 \\\n    --hash=sha256:{A} \\\n"), (2, 84), "at the end of the file"),
            (format!("foo==1.0 --hash=sha256:{A} \\"), (1, 89), "at the end of the file"),
            // Options out of place or unknown.
            ("--frobnicate x\n".into(), (1, 1), "unknown option `--frobnicate`"),
            ("foo==1.0 --hash\n".into(), (1, 10), "expected a value after `--hash`"),
            (format!("--hash=sha256:{A}\n"), (1, 1), "belongs to a requirement"),
            ("foo==1.0 -r other.txt\n".into(), (1, 10), "applies to the whole file"),
            ("--no-index=yes\n".into(), (1, 12), "takes no value"),
            (format!("foo==1.0 --hash=sha256:{A} stray\n"), (1, 89), "unexpected `stray`"),
            // Names and extras that pep508_rs 0.9.2 would panic on.
            ("a-[a\n".into(), (1, 2), "a package name must end with a letter or digit, not `-`"),
            ("ok==1\nA_;\n".into(), (2, 2), "a package name must end with a letter or digit, not `_`"),
            ("foo [bar.] ==1\n".into(), (1, 9), "an extra name must end"),
            ("foo[a , b_]==1\n".into(), (1, 10), "an extra name must end"),
        ];
        for (text, place, message) in cases {
            let found = errors(&text);
            assert_eq!(found.len(), 1, "{text:?}: {found:?}");
            assert_eq!((found[0].0, found[0].1), place, "{text:?}: {}", found[0].2);
            assert!(found[0].2.contains(message), "{text:?}: {}", found[0].2);
        }
    }

    #[test]
    fn parsing_goes_on_after_errors() {
        let text = format!("bad line!\nfoo==1.0 --hash=md5:x\n-x\nbar==2.0 --hash=sha256:{A}\nbaz==3 \\");
        let file = parse(&text);
        assert_eq!(error_places(&text), [(1, 5), (2, 17), (3, 1), (5, 8)]);
        // The requirement with a bad hash is kept without it; the one before
        // the dangling backslash is kept too.
        let names: Vec<_> = file.requirements.iter().map(|r| (r.name.as_str(), r.hashes.len())).collect();
        assert_eq!(names, [("foo", 0), ("bar", 1), ("baz", 0)]);
    }
}

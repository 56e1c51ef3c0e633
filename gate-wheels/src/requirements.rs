//! Hash-pinned pip requirements files, cross-checked against a sums file.
//!
//! [`parse`] reads the requirements-file format pip reads (as written by
//! `pip-compile --generate-hashes` or by hand): `\` continuations are joined
//! and comments stripped the way pip does it, each requirement is parsed as
//! PEP 508 by `pep508_rs`, and every problem is reported at its line and
//! column in the original file. [`check`] then answers, requirement by
//! requirement, whether the pinned `name==version` has a wheel in the sums
//! file whose SHA-256 is one of the pinned hashes.
//!
//! Names are compared after PEP 503 normalisation (case, runs of `-`, `_`
//! and `.`), versions as PEP 440 versions (`1.0` equals `1.0.0`). An
//! included file (`-r other.txt`) is recorded, not followed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr as _;

use gate_core::{Evidence, Item, Location, Severity};
use pep508_rs::VersionOrUrl;
use pep508_rs::pep440_rs::{Operator, Version};

use crate::sums::{Entry, SyntaxError};

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
    fn display(&self) -> String {
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
    for line in logical_lines(text, &mut file.errors) {
        parse_line(&line, &mut file);
    }
    file.errors.sort_by_key(|e| (e.line, e.column));
    file
}

/// Joins `\` continuations the way pip does: a line ending in `\` (and not a
/// whole-line comment) continues on the next one, and the backslash is
/// dropped. A whole-line comment ends a continued line.
fn logical_lines(text: &str, errors: &mut Vec<SyntaxError>) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut pending: Option<LogicalLine> = None;
    let mut last_backslash = (0, 0);
    let mut physical = text.split('\n').peekable();
    let mut number = 0u32;
    while let Some(raw) = physical.next() {
        number = number.saturating_add(1);
        if raw.is_empty() && physical.peek().is_none() {
            break; // the final newline
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let logical = pending.get_or_insert_with(LogicalLine::default);
        match raw.strip_suffix('\\').filter(|_| !is_whole_line_comment(raw)) {
            Some(head) => {
                logical.push(number, head);
                last_backslash = (number, head.len());
            }
            None => {
                logical.push(number, raw);
                lines.extend(pending.take());
            }
        }
    }
    if let Some(logical) = pending {
        let (line, offset) = last_backslash;
        errors.push(SyntaxError {
            line,
            column: column(offset),
            message: "line continuation `\\` at the end of the file; expected another line to continue"
                .to_owned(),
        });
        lines.push(logical);
    }
    lines
}

fn is_whole_line_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Where a comment starts: a `#` at the start of the line or after whitespace.
fn comment_start(text: &str) -> Option<usize> {
    text.char_indices()
        .find(|&(i, c)| {
            c == '#' && (i == 0 || text[..i].chars().next_back().is_some_and(char::is_whitespace))
        })
        .map(|(i, _)| i)
}

/// Whitespace-separated tokens with their byte offsets.
fn tokens(text: &str) -> Vec<(usize, &str)> {
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
    if let Some((offset, what)) = identifier_ending_in_punctuation(source) {
        file.errors.push(line.error(
            start + offset,
            format!(
                "invalid requirement: {what} must end with a letter or digit, not `{}`",
                &source[offset..offset + 1]
            ),
        ));
        return;
    }
    match pep508_rs::Requirement::<UrlAsWritten>::from_str(source) {
        Ok(parsed) => {
            let (version, specifier, marker) = match &parsed.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    let exact = match &specifiers[..] {
                        [only] if *only.operator() == Operator::Equal => Some(only.version().clone()),
                        _ => None,
                    };
                    (exact, specifiers.to_string(), marker_text(source))
                }
                // The URL may hold a `;`: the marker is after it.
                Some(VersionOrUrl::Url(UrlAsWritten(url))) => {
                    let after_url = source.find(url.as_str()).map_or("", |at| &source[at + url.len()..]);
                    (None, format!(" @ {url}"), marker_text(after_url))
                }
                None => (None, String::new(), marker_text(source)),
            };
            let (line_number, column) = line.locate(start);
            file.requirements.push(Requirement {
                name: parsed.name.to_string(),
                version,
                specifier,
                marker,
                extras: parsed.extras,
                hashes,
                line: line_number,
                column,
            });
        }
        Err(e) => {
            let offset = start + e.start.min(source.len());
            file.errors.push(line.error(
                offset,
                format!("invalid requirement, expected PEP 508 such as `name==1.0`: {}", e.message),
            ));
        }
    }
}

/// The URL of a `name @ URL` requirement, as written. Unlike `pep508_rs`'s
/// own URL type it is not resolved: no environment variable is expanded
/// into it and no path is made absolute, so the result does not depend on
/// where or by whom the check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrlAsWritten(String);

impl std::fmt::Display for UrlAsWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl pep508_rs::Pep508Url for UrlAsWritten {
    type Err = std::convert::Infallible;

    fn parse_url(url: &str, _working_dir: Option<&std::path::Path>) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

/// The marker after the first `;` of `text`, as written.
fn marker_text(text: &str) -> Option<String> {
    let (_, marker) = text.split_once(';')?;
    let marker = marker.trim();
    (!marker.is_empty()).then(|| marker.to_owned())
}

/// Where the name or an extra ends in `-`, `_` or `.` (`foo- ==1`,
/// `foo[bar-]`), and which of the two it is.
///
/// pep508_rs 0.9.2 panics on these instead of returning an error (its
/// `expect("… validation should match PEP 508 parsing")`), so they are found
/// first, reading the name and extras the way that parser does.
fn identifier_ending_in_punctuation(source: &str) -> Option<(usize, &'static str)> {
    let starts_identifier = |at: usize| source[at..].starts_with(|c: char| c.is_ascii_alphanumeric());
    let identifier_end = |at: usize| {
        source[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .map_or(source.len(), |n| at + n)
    };
    let skip_whitespace =
        |at: usize| source[at..].find(|c: char| !c.is_whitespace()).map_or(source.len(), |n| at + n);
    let ends_in_punctuation = |end: usize| source[..end].ends_with(['-', '_', '.']);

    if !starts_identifier(0) {
        return None;
    }
    let name_end = identifier_end(0);
    if ends_in_punctuation(name_end) {
        return Some((name_end - 1, "a package name"));
    }
    let mut at = skip_whitespace(name_end);
    if !source[at..].starts_with('[') {
        return None;
    }
    at += 1;
    loop {
        at = skip_whitespace(at);
        if !starts_identifier(at) {
            return None;
        }
        let end = identifier_end(at);
        if ends_in_punctuation(end) {
            return Some((end - 1, "an extra name"));
        }
        at = skip_whitespace(end);
        if !source[at..].starts_with(',') {
            return None;
        }
        at += 1;
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
    let mut hashes = Vec::new();
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
    if let Some((at, bad)) = digest.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
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
pub(crate) fn normalise_name(name: &str) -> String {
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

/// A normalised name and a PEP 440 version, when `version` is one.
fn release(name: &str, version: &str) -> Option<(String, Version)> {
    Some((normalise_name(name), Version::from_str(version).ok()?))
}

/// The normalised name and version of a wheel file name,
/// `{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
pub(crate) fn wheel_release(file_name: &str) -> Option<(String, Version)> {
    let parts: Vec<&str> = file_name.strip_suffix(".whl")?.split('-').collect();
    match parts[..] {
        [name, version, _, _, _] | [name, version, _, _, _, _] => release(name, version),
        _ => None,
    }
}

/// What kind of distribution a listed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DistributionKind {
    Wheel,
    Sdist,
}

/// A file of the sums list that names a distribution.
#[derive(Debug)]
struct ListedDistribution<'a> {
    entry: &'a Entry,
    kind: DistributionKind,
    /// Normalised name and version, when the file name follows PEP 427 or
    /// the sdist convention.
    release: Option<(String, Version)>,
}

/// Classifies a listed file: a wheel is
/// `{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, an
/// sdist `{name}-{version}.tar.gz`. Other files are not distributions.
fn classify(entry: &Entry) -> Option<ListedDistribution<'_>> {
    let file_name = entry.name.rsplit('/').next().unwrap_or(&entry.name);
    if file_name.ends_with(".whl") {
        let release = wheel_release(file_name);
        return Some(ListedDistribution { entry, kind: DistributionKind::Wheel, release });
    }
    let stem = file_name.strip_suffix(".tar.gz")?;
    let release = stem.rsplit_once('-').and_then(|(name, version)| release(name, version));
    Some(ListedDistribution { entry, kind: DistributionKind::Sdist, release })
}

/// The listed distributions, indexed so that each requirement finds its
/// files without scanning the list: [`check`] takes time linear in the
/// sizes of the two files.
struct Listed<'a> {
    all: &'a [ListedDistribution<'a>],
    /// (kind, name, version) → indexes into `all`, in list order.
    by_release: HashMap<(DistributionKind, String, Version), Vec<usize>>,
    /// Name → indexes of its wheels, whatever the version, in list order.
    wheels_by_name: HashMap<&'a str, Vec<usize>>,
    /// SHA-256 → indexes, in list order.
    by_hash: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Listed<'a> {
    fn new(all: &'a [ListedDistribution<'a>]) -> Self {
        let mut listed =
            Self { all, by_release: HashMap::new(), wheels_by_name: HashMap::new(), by_hash: HashMap::new() };
        for (index, distribution) in all.iter().enumerate() {
            listed.by_hash.entry(distribution.entry.sha256.as_str()).or_default().push(index);
            let Some((name, version)) = &distribution.release else { continue };
            listed
                .by_release
                .entry((distribution.kind, name.clone(), version.clone()))
                .or_default()
                .push(index);
            if distribution.kind == DistributionKind::Wheel {
                listed.wheels_by_name.entry(name.as_str()).or_default().push(index);
            }
        }
        listed
    }

    /// The files of one release, with their indexes, in list order.
    fn release(
        &self,
        kind: DistributionKind,
        name: &str,
        version: &Version,
    ) -> impl Iterator<Item = (usize, &'a ListedDistribution<'a>)> + use<'_, 'a> {
        let all = self.all;
        let key = (kind, name.to_owned(), version.clone());
        self.by_release.get(&key).map_or(&[][..], Vec::as_slice).iter().map(move |&i| (i, &all[i]))
    }
}

/// At most this many files, versions or hashes are named in one item: the
/// rest are counted, so that an item's size does not grow with the lists.
const NAMED: usize = 16;

/// `names` joined with `, `: the first [`NAMED`], then how many more.
fn listing(names: impl IntoIterator<Item = String>) -> String {
    listing_with(names, ", ")
}

/// `names` joined with `separator`: the first [`NAMED`], then how many more.
fn listing_with(names: impl IntoIterator<Item = String>, separator: &str) -> String {
    let mut names = names.into_iter();
    let mut shown: Vec<String> = names.by_ref().take(NAMED).collect();
    let rest = names.count();
    if rest > 0 {
        shown.push(format!("… and {rest} more"));
    }
    shown.join(separator)
}

/// `item`, saying how many of `total` files it names no evidence for.
fn more(item: Item, total: usize) -> Item {
    match total.saturating_sub(NAMED) {
        0 => item,
        rest => item.with(Evidence::fact("not shown", format!("{rest} more listed files"))),
    }
}

/// Makes item subjects unique within one call: a repeated subject gets the
/// line it comes from.
#[derive(Default)]
struct Subjects(HashSet<(&'static str, String)>);

impl Subjects {
    fn unique(&mut self, check: &'static str, subject: String, line: u32) -> String {
        if self.0.insert((check, subject.clone())) {
            return subject;
        }
        let subject = format!("{subject} (line {line})");
        self.0.insert((check, subject.clone()));
        subject
    }
}

/// Cross-checks the parsed requirements file at `req_path` against the
/// entries of the sums file at `sums_path`, whose names are files of
/// `wheels_dir`.
///
/// One item per parse error line (`pin-syntax`) and per requirement: `pin`
/// when a pinned SHA-256 is the listed hash of a wheel of the pinned name and
/// version, else `pin-unpinned`, `pin-no-wheel` or `pin-hash`. An editable
/// (`-e`) is `pin-unpinned`; an include (`-r`) is a skipped `pin` item, since
/// it is not followed. With `report_unpinned_wheels`, every listed wheel no
/// requirement pins is an `unpinned-wheel` warning.
pub fn check(
    req_path: &str,
    file: &RequirementsFile,
    sums: &[Entry],
    wheels_dir: &str,
    sums_path: &str,
    report_unpinned_wheels: bool,
) -> Vec<Item> {
    let mut errors_by_line: BTreeMap<u32, Vec<&SyntaxError>> = BTreeMap::new();
    for error in &file.errors {
        errors_by_line.entry(error.line).or_default().push(error);
    }
    let mut items: Vec<Item> = errors_by_line
        .into_iter()
        .map(|(line, errors)| {
            let reason = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            errors.iter().fold(Item::fail("pin-syntax", format!("{req_path}:{line}"), reason), |item, e| {
                item.at(Location::at(req_path, e.line, e.column))
            })
        })
        .collect();

    let listed: Vec<ListedDistribution<'_>> = sums.iter().filter_map(classify).collect();
    let mut requirements_by_name: HashMap<&str, Vec<&Requirement>> = HashMap::new();
    for requirement in &file.requirements {
        requirements_by_name.entry(requirement.name.as_str()).or_default().push(requirement);
    }
    let context =
        CheckContext { req_path, sums_path, wheels_dir, listed: Listed::new(&listed), requirements_by_name };
    let mut subjects = Subjects::default();
    let mut covered_wheels: HashSet<usize> = HashSet::new();
    for requirement in &file.requirements {
        items.push(context.requirement_item(requirement, &mut subjects, &mut covered_wheels));
    }
    for option in &file.options {
        let Some(value) = &option.value else { continue };
        let at = Location::at(req_path, option.line, option.column);
        match option.kind {
            OptionKind::Editable => items.push(
                Item::fail(
                    "pin-unpinned",
                    subjects.unique("pin-unpinned", format!("{req_path}/{value}"), option.line),
                    format!("editable requirement `-e {value}` cannot be pinned by hash (pip refuses it with --require-hashes)"),
                )
                .at(at),
            ),
            OptionKind::Requirement => items.push(
                Item::skipped(
                    "pin",
                    subjects.unique("pin", format!("{req_path}/-r {value}"), option.line),
                    format!("includes `{value}`, which is not followed: check that file on its own"),
                )
                .at(at),
            ),
            _ => {}
        }
    }
    if report_unpinned_wheels {
        for (index, wheel) in listed.iter().enumerate() {
            if wheel.kind == DistributionKind::Wheel && !covered_wheels.contains(&index) {
                items.push(context.unpinned_wheel_item(wheel, &mut subjects));
            }
        }
    }
    items
}

/// What every item of one [`check`] call refers to.
struct CheckContext<'a> {
    req_path: &'a str,
    sums_path: &'a str,
    wheels_dir: &'a str,
    listed: Listed<'a>,
    /// The requirements of each name, in file order.
    requirements_by_name: HashMap<&'a str, Vec<&'a Requirement>>,
}

impl CheckContext<'_> {
    /// The listed file's path in the repository.
    fn listed_path(&self, entry: &Entry) -> String {
        if self.wheels_dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{}/{}", self.wheels_dir.trim_end_matches('/'), entry.name)
        }
    }

    fn listed_at(&self, entry: &Entry) -> Location {
        Location::at(self.sums_path, entry.line, 1)
    }

    /// The one item a requirement gets; marks the wheels it accounts for.
    fn requirement_item(
        &self,
        requirement: &Requirement,
        subjects: &mut Subjects,
        covered_wheels: &mut HashSet<usize>,
    ) -> Item {
        let at = Location::at(self.req_path, requirement.line, requirement.column);
        let with_marker = |item: Item| match &requirement.marker {
            Some(marker) => item.with(Evidence::fact("marker", marker.clone())),
            None => item,
        };
        let pinned_hashes = |item: Item| {
            requirement
                .hashes
                .iter()
                .fold(item, |item, h| item.with(Evidence::hash(h.algorithm.name(), h.hex.clone(), None)))
        };
        let release_wheels = |version: &Version| -> Vec<(usize, &ListedDistribution<'_>)> {
            self.listed.release(DistributionKind::Wheel, &requirement.name, version).collect()
        };
        let Some(version) = requirement.version.as_ref().filter(|_| !requirement.hashes.is_empty()) else {
            // A version pinned without hashes: this failure speaks for its wheels.
            if let Some(version) = &requirement.version {
                covered_wheels.extend(release_wheels(version).into_iter().map(|(index, _)| index));
            }
            let reason = match (requirement.is_pinned(), requirement.hashes.is_empty()) {
                (false, true) => format!(
                    "`{}` is not pinned to an exact `==` version and has no `--hash`",
                    requirement.display()
                ),
                (false, false) => {
                    format!("`{}` is not pinned to an exact `==` version", requirement.display())
                }
                _ => format!(
                    "`{}` has no `--hash`, so any file of that version would do",
                    requirement.display()
                ),
            };
            let subject = subjects.unique(
                "pin-unpinned",
                format!("{}/{}", self.req_path, requirement.name),
                requirement.line,
            );
            return pinned_hashes(with_marker(Item::fail("pin-unpinned", subject, reason).at(at)));
        };
        let subject = format!("{}/{}=={version}", self.req_path, requirement.name);
        let pinned: Vec<&str> = requirement.sha256_hashes().collect();
        let is_pinned: HashSet<&str> = pinned.iter().copied().collect();
        let wheels = release_wheels(version);
        let matched: Vec<&(usize, &ListedDistribution<'_>)> =
            wheels.iter().filter(|(_, w)| is_pinned.contains(w.entry.sha256.as_str())).collect();
        let pinned_sdist = self
            .listed
            .release(DistributionKind::Sdist, &requirement.name, version)
            .map(|(_, d)| d)
            .find(|d| is_pinned.contains(d.entry.sha256.as_str()));
        if let (true, Some(sdist)) = (matched.is_empty(), pinned_sdist) {
            // A file used to fetch sources for from-source builds pins sdists:
            // the committed sdist is what it must match.
            covered_wheels.extend(wheels.iter().map(|&(index, _)| index));
            let item = Item::pass(
                "pin",
                subject,
                format!(
                    "pins the listed sdist {} (the source a from-source build starts from)",
                    sdist.entry.name
                ),
            )
            .with(Evidence::hash("sha256", sdist.entry.sha256.clone(), Some(sdist.entry.sha256.clone())))
            .with(Evidence::fact("sdist", self.listed_path(sdist.entry)))
            .at(at)
            .at(self.listed_at(sdist.entry));
            return with_marker(item);
        }

        if wheels.is_empty() {
            let mut item = Item::fail(
                "pin-no-wheel",
                subjects.unique("pin-no-wheel", subject, requirement.line),
                format!("no `.whl` of {}=={version} is listed in {}", requirement.name, self.sums_path),
            )
            .at(at);
            let other_versions: Vec<String> = self
                .listed
                .wheels_by_name
                .get(requirement.name.as_str())
                .into_iter()
                .flatten()
                .filter_map(|&i| self.listed.all[i].release.as_ref())
                .map(|(_, v)| v.to_string())
                .collect();
            if !other_versions.is_empty() {
                item = item.with(Evidence::fact("wheel versions listed", listing(other_versions)));
            }
            for (_, sdist) in self.listed.release(DistributionKind::Sdist, &requirement.name, version) {
                item = item.with(Evidence::fact("sdist listed", self.listed_path(sdist.entry)));
            }
            let mut pinned_listed: Vec<usize> =
                is_pinned.iter().filter_map(|h| self.listed.by_hash.get(h)).flatten().copied().collect();
            pinned_listed.sort_unstable();
            for entry in pinned_listed.iter().take(NAMED).map(|&i| self.listed.all[i].entry) {
                item = item
                    .with(Evidence::fact("pinned hash listed for", self.listed_path(entry)))
                    .at(self.listed_at(entry));
            }
            return pinned_hashes(with_marker(more(item, pinned_listed.len())));
        }

        if matched.is_empty() {
            // The failure speaks for every wheel of this release.
            covered_wheels.extend(wheels.iter().map(|&(index, _)| index));
            let names = listing(wheels.iter().map(|(_, w)| w.entry.name.clone()));
            let reason = if pinned.is_empty() {
                format!("pins no sha256 hash, and {} lists sha256 only: {names}", self.sums_path)
            } else {
                format!(
                    "none of the {} pinned sha256 hash{} is the listed hash of {names}",
                    pinned.len(),
                    if pinned.len() == 1 { "" } else { "es" },
                )
            };
            let actual = (!pinned.is_empty()).then(|| listing(pinned.iter().map(|h| (*h).to_owned())));
            let item = wheels.iter().take(NAMED).fold(
                Item::fail("pin-hash", subjects.unique("pin-hash", subject, requirement.line), reason).at(at),
                |item, (_, wheel)| {
                    item.with(Evidence::hash("sha256", wheel.entry.sha256.clone(), actual.clone()))
                        .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
                        .at(self.listed_at(wheel.entry))
                },
            );
            let item = requirement
                .hashes
                .iter()
                .filter(|h| h.algorithm != HashAlgorithm::Sha256)
                .fold(item, |item, h| item.with(Evidence::hash(h.algorithm.name(), h.hex.clone(), None)));
            return with_marker(more(item, wheels.len()));
        }

        covered_wheels.extend(matched.iter().map(|&&(index, _)| index));
        let names = listing(matched.iter().map(|(_, w)| w.entry.name.clone()));
        let item = matched.iter().take(NAMED).fold(
            Item::pass(
                "pin",
                subjects.unique("pin", subject, requirement.line),
                format!("pinned sha256 is the listed hash of {names}"),
            )
            .at(at),
            |item, (_, wheel)| {
                item.with(Evidence::hash(
                    "sha256",
                    wheel.entry.sha256.clone(),
                    Some(wheel.entry.sha256.clone()),
                ))
                .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
                .at(self.listed_at(wheel.entry))
            },
        );
        with_marker(more(item, matched.len()))
    }

    /// The warning for a listed wheel that no requirement accounts for.
    fn unpinned_wheel_item(&self, wheel: &ListedDistribution<'_>, subjects: &mut Subjects) -> Item {
        let reason = match &wheel.release {
            None => {
                format!("not a PEP 427 wheel file name, so no requirement in {} can pin it", self.req_path)
            }
            Some((name, version)) => {
                let same_name =
                    self.requirements_by_name.get(name.as_str()).map_or_else(String::new, |same| {
                        listing_with(
                            same.iter().map(|r| format!("line {} pins `{}`", r.line, r.display())),
                            "; ",
                        )
                    });
                if same_name.is_empty() {
                    format!(
                        "listed in {} but no requirement in {} pins {name}=={version}",
                        self.sums_path, self.req_path
                    )
                } else {
                    format!(
                        "listed in {} but no requirement in {} pins it ({})",
                        self.sums_path, self.req_path, same_name
                    )
                }
            }
        };
        let subject = format!("{}/{}", self.req_path, wheel.entry.name);
        Item::fail("unpinned-wheel", subjects.unique("unpinned-wheel", subject, wheel.entry.line), reason)
            .severity(Severity::Warning)
            .at(self.listed_at(wheel.entry))
            .with(Evidence::hash("sha256", wheel.entry.sha256.clone(), None))
            .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
    }
}

#[cfg(test)]
mod tests {
    use gate_core::Status;

    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

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

    fn entry(name: &str, sha256: &str, line: u32) -> Entry {
        Entry { name: name.to_owned(), sha256: sha256.to_owned(), binary: false, line }
    }

    /// (check, subject, status) of each item.
    fn outline(items: &[Item]) -> Vec<(&str, &str, Status)> {
        items.iter().map(|i| (i.check.as_str(), i.subject.as_str(), i.status)).collect()
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

    #[test]
    fn wheel_and_sdist_names_are_classified() {
        let release = |name: &str| {
            let listed = entry(name, A, 1);
            classify(&listed).map(|d| (d.kind, d.release.map(|(n, v)| format!("{n} {v}"))))
        };
        assert_eq!(
            release("Foo.Bar_baz-1.0.0-py3-none-any.whl"),
            Some((DistributionKind::Wheel, Some("foo-bar-baz 1.0.0".into())))
        );
        assert_eq!(
            release("Cython-0.29.22-1-cp39-cp39-linux_x86_64.whl"),
            Some((DistributionKind::Wheel, Some("cython 0.29.22".into())))
        );
        assert_eq!(release("not-a-wheel.whl"), Some((DistributionKind::Wheel, None)));
        assert_eq!(
            release("python-dateutil-2.7.5.tar.gz"),
            Some((DistributionKind::Sdist, Some("python-dateutil 2.7.5".into())))
        );
        assert_eq!(release("notes.txt"), None);
    }

    #[test]
    fn names_and_versions_match_after_normalisation() {
        let file = parse(&format!("Foo.Bar_baz==1.0 --hash=sha256:{A}\n"));
        let sums = [entry("foo_bar_baz-1.0.0-py3-none-any.whl", A, 1)];
        let items = check("requirements.txt", &file, &sums, "wheels", "sha256sums.txt", true);
        assert_eq!(outline(&items), [("pin", "requirements.txt/foo-bar-baz==1.0", Status::Pass)]);
        assert!(
            items[0].evidence.contains(&Evidence::fact("wheel", "wheels/foo_bar_baz-1.0.0-py3-none-any.whl"))
        );
        assert!(items[0].evidence.contains(&Evidence::Location(Location::at("sha256sums.txt", 1, 1))));
        assert!(items[0].evidence.contains(&Evidence::Location(Location::at("requirements.txt", 1, 1))));
    }

    #[test]
    fn every_outcome_of_a_requirement() {
        let text = format!(
            "ok==1.0 --hash=sha256:{A}\n\
             wrong==1.0 --hash=sha256:{C}\n\
             missing==1.0 --hash=sha256:{C}\n\
             loose>=1.0 --hash=sha256:{A}\n\
             nohash==1.0\n\
             -e ./src\n\
             -r base.txt\n\
             broken==\n"
        );
        let sums = [
            entry("ok-1.0-py3-none-any.whl", A, 1),
            entry("wrong-1.0-py3-none-any.whl", B, 2),
            entry("wrong-1.0.tar.gz", A, 3),
            entry("missing-1.0.tar.gz", A, 4),
            entry("missing-0.9-py3-none-any.whl", B, 5),
            entry("extra-2.0-py3-none-any.whl", B, 6),
            // Accounted for by the `pin-unpinned` of `nohash==1.0`, so not an
            // `unpinned-wheel` as well.
            entry("nohash-1.0-py3-none-any.whl", A, 7),
        ];
        let file = parse(&text);
        let items = check("req.txt", &file, &sums, "wheels", "sums.txt", true);
        assert_eq!(
            outline(&items),
            [
                ("pin-syntax", "req.txt:8", Status::Fail),
                ("pin", "req.txt/ok==1.0", Status::Pass),
                ("pin-hash", "req.txt/wrong==1.0", Status::Fail),
                ("pin-no-wheel", "req.txt/missing==1.0", Status::Fail),
                ("pin-unpinned", "req.txt/loose", Status::Fail),
                ("pin-unpinned", "req.txt/nohash", Status::Fail),
                ("pin-unpinned", "req.txt/./src", Status::Fail),
                ("pin", "req.txt/-r base.txt", Status::Skipped),
                ("unpinned-wheel", "req.txt/missing-0.9-py3-none-any.whl", Status::Fail),
                ("unpinned-wheel", "req.txt/extra-2.0-py3-none-any.whl", Status::Fail),
            ]
        );
        let by_subject = |subject: &str| items.iter().find(|i| i.subject == subject).expect(subject);
        let wrong = by_subject("req.txt/wrong==1.0");
        assert!(
            wrong.reason.contains("is the listed hash of wrong-1.0-py3-none-any.whl"),
            "{}",
            wrong.reason
        );
        assert!(wrong.evidence.contains(&Evidence::hash("sha256", B, Some(C.to_owned()))));
        assert!(wrong.evidence.contains(&Evidence::Location(Location::at("req.txt", 2, 1))));
        assert!(wrong.evidence.contains(&Evidence::Location(Location::at("sums.txt", 2, 1))));
        let missing = by_subject("req.txt/missing==1.0");
        assert!(missing.evidence.contains(&Evidence::fact("sdist listed", "wheels/missing-1.0.tar.gz")));
        assert!(missing.evidence.contains(&Evidence::fact("wheel versions listed", "0.9")));
        assert!(missing.evidence.contains(&Evidence::hash("sha256", C, None)));
        assert!(
            by_subject("req.txt:8").evidence.contains(&Evidence::Location(Location::at("req.txt", 8, 7)))
        );
        let warnings: Vec<_> =
            items.iter().filter(|i| i.check == "unpinned-wheel").map(|i| i.severity).collect();
        assert_eq!(warnings, [Severity::Warning, Severity::Warning]);
        assert!(
            items
                .iter()
                .filter(|i| i.check != "unpinned-wheel")
                .all(|i| i.severity == Severity::Blocker || i.status != Status::Fail)
        );
    }

    #[test]
    fn unpinned_wheels_are_reported_only_on_request() {
        let file = parse("");
        let sums = [entry("extra-2.0-py3-none-any.whl", B, 1), entry("extra-2.0.tar.gz", C, 2)];
        assert_eq!(check("r.txt", &file, &sums, "w", "s.txt", false), []);
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_eq!(outline(&items), [("unpinned-wheel", "r.txt/extra-2.0-py3-none-any.whl", Status::Fail)]);
    }

    #[test]
    fn a_wheel_whose_hash_is_not_pinned_is_unpinned_even_when_a_sibling_passes() {
        let file = parse(&format!("cython==0.29.22 --hash=sha256:{A}\n"));
        let sums = [
            entry("Cython-0.29.22-cp37-cp37m-linux_x86_64.whl", A, 1),
            entry("Cython-0.29.22-cp39-cp39-linux_x86_64.whl", B, 2),
        ];
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_eq!(
            outline(&items),
            [
                ("pin", "r.txt/cython==0.29.22", Status::Pass),
                ("unpinned-wheel", "r.txt/Cython-0.29.22-cp39-cp39-linux_x86_64.whl", Status::Fail),
            ]
        );
        assert!(items[1].reason.contains("line 1 pins `cython==0.29.22`"), "{}", items[1].reason);
    }

    #[test]
    fn ids_stay_unique_when_a_requirement_repeats_or_a_line_has_two_errors() {
        let text = format!(
            "foo==1.0 ; python_version < '3' --hash=sha256:{A}\nfoo==1.0 ; python_version >= '3' --hash=sha256:{A}\nbar --hash=md5:x --hash=sha256:y\nbar\n"
        );
        let file = parse(&text);
        let sums = [entry("foo-1.0-py3-none-any.whl", A, 1)];
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        let ids: Vec<_> = items.iter().map(|i| i.id_in("wheels")).collect();
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert_eq!(
            outline(&items),
            [
                ("pin-syntax", "r.txt:3", Status::Fail),
                ("pin", "r.txt/foo==1.0", Status::Pass),
                ("pin", "r.txt/foo==1.0 (line 2)", Status::Pass),
                ("pin-unpinned", "r.txt/bar", Status::Fail),
                ("pin-unpinned", "r.txt/bar (line 4)", Status::Fail),
            ]
        );
        // Both errors of line 3 are in one item, each with its location.
        assert_eq!(
            items[0].evidence,
            [
                Evidence::Location(Location::at("r.txt", 3, 12)),
                Evidence::Location(Location::at("r.txt", 3, 32))
            ]
        );
    }
}

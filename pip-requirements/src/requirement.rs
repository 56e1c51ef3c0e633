//! One requirement's text, read as pip reads it: the commonest form,
//! `name==1.2.3`, without the full PEP 508 parser; everything else by
//! `pep508_rs`.
//!
//! A hashed requirements file is almost all such pins, and `pep508_rs`
//! spent most of a large file's parse on them: names and specifier lists
//! built and dropped, a cursor over every character. [`simple_pin`] takes
//! only a text whose every character it understands (an ASCII name that
//! starts and ends with a letter or digit, `==`, and a release of
//! dot-separated digits; nothing else, not even a space) and leaves
//! anything else to [`full`]. For the texts it takes, it gives what [`full`]
//! gives: a test holds the two to each other.

use std::str::FromStr as _;

use pep508_rs::VersionOrUrl;
use pep508_rs::pep440_rs::{Operator, Version};

/// What a requirement's text says.
#[derive(Debug, PartialEq)]
pub(crate) struct Read {
    /// The normalised name.
    pub(crate) name: String,
    /// The version of an exact `==` pin.
    pub(crate) version: Option<Version>,
    /// The specifier or URL, for messages.
    pub(crate) specifier: String,
    /// The marker, as written.
    pub(crate) marker: Option<String>,
    /// The extras, normalised.
    pub(crate) extras: Vec<pep508_rs::ExtraName>,
}

/// Reads `source`, a requirement without its options; an error gives the
/// byte offset in `source` where the problem starts.
pub(crate) fn read(source: &str) -> Result<Read, (usize, String)> {
    match simple_pin(source) {
        Some(read) => Ok(read),
        None => full(source),
    }
}

/// `source` when it is exactly `name==release`, such as `Foo_Bar==1.0`;
/// `None` for anything else.
pub(crate) fn simple_pin(source: &str) -> Option<Read> {
    let (name, release) = source.split_once("==")?;
    let name_bytes = name.as_bytes();
    let well_formed_name = name_bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && name_bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && name_bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let release_bytes = release.as_bytes();
    let well_formed_release = release_bytes.first().is_some_and(u8::is_ascii_digit)
        && release_bytes.last().is_some_and(u8::is_ascii_digit)
        && release_bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.')
        && !release.contains("..");
    if !(well_formed_name && well_formed_release) {
        return None;
    }
    // PEP 440 still reads the version: a number too large for it is left
    // to the full parser, which says so at the right place.
    let version = Version::from_str(release).ok()?;
    let mut specifier = String::with_capacity(2 + release.len());
    specifier.push_str("==");
    crate::push_version_text(&mut specifier, &version);
    Some(Read {
        name: crate::normalise_name(name),
        version: Some(version),
        specifier,
        marker: None,
        extras: Vec::new(),
    })
}

/// `source` read by `pep508_rs`.
pub(crate) fn full(source: &str) -> Result<Read, (usize, String)> {
    if let Some((offset, what)) = identifier_ending_in_punctuation(source) {
        return Err((
            offset,
            format!(
                "invalid requirement: {what} must end with a letter or digit, not `{}`",
                &source[offset..offset + 1]
            ),
        ));
    }
    let parsed = pep508_rs::Requirement::<UrlAsWritten>::from_str(source).map_err(|e| {
        (
            e.start.min(source.len()),
            format!("invalid requirement, expected PEP 508 such as `name==1.0`: {}", e.message),
        )
    })?;
    let (version, specifier, marker) = match &parsed.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
            let exact = match &specifiers[..] {
                [only] if *only.operator() == Operator::Equal => Some(only.version().clone()),
                _ => None,
            };
            (exact, crate::specifiers_text(specifiers), marker_text(source))
        }
        // The URL may hold a `;`: the marker is after it.
        Some(VersionOrUrl::Url(UrlAsWritten(url))) => {
            let after_url = source.find(url.as_str()).map_or("", |at| &source[at + url.len()..]);
            (None, format!(" @ {url}"), marker_text(after_url))
        }
        None => (None, String::new(), marker_text(source)),
    };
    Ok(Read { name: parsed.name.as_ref().to_owned(), version, specifier, marker, extras: parsed.extras })
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the two readings must agree on: `Version`'s own equality says
    /// `1.0` is `1.0.0`, so its release is compared as written.
    fn exactly(read: &Read) -> (&str, Option<Vec<u64>>, &str, &Option<String>, usize) {
        let release = read.version.as_ref().map(|v| v.release().to_vec());
        (&read.name, release, &read.specifier, &read.marker, read.extras.len())
    }

    #[test]
    fn common_pins_take_the_simple_reading_and_read_as_pep508_rs_reads_them() {
        let names = ["a", "Foo_Bar.baz", "A-B", "x--y__z..w", "0ab9", "rcscale000001", "ZOPE.Interface"];
        let releases = ["0", "1.0", "01.002.3", "2022.7.1", "1.2.3.4.5.6", "18446744073709551615"];
        for name in names {
            for release in releases {
                let source = format!("{name}=={release}");
                let simple = simple_pin(&source).unwrap_or_else(|| panic!("{source:?} is a simple pin"));
                let full = full(&source).unwrap();
                assert_eq!(exactly(&simple), exactly(&full), "{source:?}");
            }
        }
    }

    #[test]
    fn anything_else_is_left_to_pep508_rs() {
        for source in [
            "a==1.0rc1",
            "a==1.0.*",
            "a===1.0",
            "a == 1.0",
            "a==v1",
            "a==1..0",
            "a==.1",
            "a==1.",
            "-a==1",
            "a-==1",
            "a[x]==1",
            "a==1;python_version<'3'",
            "é==1",
            "a==1==2",
            "a==184467440737095516160",
        ] {
            assert!(simple_pin(source).is_none(), "{source:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn whatever_the_simple_reading_takes_reads_as_pep508_rs_reads_it(
            name in "[A-Za-z0-9._-]{1,10}",
            operator in "==|===|=|>=|~=|== |!=",
            release in "[0-9.]{1,8}|[0-9]{1,22}(\\.[0-9]{1,3}){0,3}|[0-9v.*+a-z!]{1,8}",
        ) {
            let source = format!("{name}{operator}{release}");
            if let Some(simple) = simple_pin(&source) {
                let full = full(&source);
                prop_assert!(full.is_ok(), "{source:?}: {full:?}");
                let full = full.unwrap();
                prop_assert_eq!(exactly(&simple), exactly(&full), "{:?}", source);
            }
        }
    }
}

//! Records of pushed images: `dockerfiles/<name>/image_hash` files.
//!
//! SecureDrop's builder repository kept, beside each build image's
//! Dockerfile, the digest of the image it pushed, as
//!
//! ```text
//! # sha256 digest quay.io/freedomofpress/packaging-debian-bullseye:2022_05_10
//! 197a4b1de4d4b94fc69d242a140684edae70b6760287b066afe3dd6427d4eddb
//! ```
//!
//! A record is any text holding one digest (`sha256:<hex>` or bare hex, other
//! words around it are ignored); an image reference in a comment names the
//! pushed image.

use serde::Deserialize;

use crate::reference::{self, ConfiguredImage, ImageRef};
use crate::scan::RepoPath;

/// `[[gates.images.record]]`: which image a record file is the digest of.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// The pushed image, without tag or digest (`quay.io/org/builder`).
    pub image: ConfiguredImage,
    /// The file holding its digest, relative to the repository root.
    pub file: RepoPath,
}

/// A parsed record file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The recorded digest, `sha256:<hex>`.
    pub digest: String,
    /// 1-based line of the digest.
    pub line: u32,
    /// 1-based column of the digest.
    pub column: u32,
    /// The image a comment names, if any.
    pub named: Option<ImageRef>,
}

/// Why a record file holds no usable digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No digest in the file.
    #[error("no sha256 digest found (expected `sha256:<64 hex>` or 64 hex digits)")]
    NoDigest,
    /// More than one distinct digest.
    #[error("more than one digest (lines {0} and {1}); which one was pushed?")]
    Ambiguous(u32, u32),
}

/// Parses a record file's text.
pub fn parse(text: &str) -> Result<Record, RecordError> {
    let mut found: Option<Record> = None;
    let mut named = None;
    for (index, line_text) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (body, comment) = match line_text.split_once('#') {
            Some((body, comment)) => (body, Some(comment)),
            None => (line_text, None),
        };
        if let Some(comment) = comment {
            // `# sha256 digest <image>`: the first word that is a reference with a path.
            named = named.or_else(|| {
                comment.split_whitespace().filter(|w| w.contains('/')).find_map(|w| reference::parse(w).ok())
            });
        }
        for (offset, word) in words(body) {
            let Some(digest) = reference::parse_digest(word) else { continue };
            let column = u32::try_from(body[..offset].chars().count() + 1).unwrap_or(u32::MAX);
            match &found {
                Some(first) if first.digest != digest => {
                    return Err(RecordError::Ambiguous(first.line, line));
                }
                Some(_) => {}
                None => found = Some(Record { digest, line, column, named: None }),
            }
        }
    }
    let mut record = found.ok_or(RecordError::NoDigest)?;
    record.named = named;
    Ok(record)
}

/// Whitespace-separated words with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// Whether a CI reference `candidate` is the image of the record at
/// `dockerfiles/<dir>/image_hash`, without configuration: by the image the
/// record names, else by a repository whose last component is `<dir>` or
/// ends with `-<dir>` (`packaging-debian-bullseye` for `bullseye`).
pub fn matches_by_name(record: &Record, dir: &str, candidate: &ImageRef) -> bool {
    match &record.named {
        Some(named) => named.name() == candidate.name(),
        None => {
            let last = candidate.repository.rsplit('/').next().unwrap_or_default();
            last == dir || last.strip_suffix(dir).is_some_and(|rest| rest.ends_with('-'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "197a4b1de4d4b94fc69d242a140684edae70b6760287b066afe3dd6427d4eddb";

    #[test]
    fn securedrop_style_record() {
        let text =
            format!("# sha256 digest quay.io/freedomofpress/packaging-debian-bullseye:2022_05_10\n{HEX}\n");
        let record = parse(&text).unwrap();
        assert_eq!(record.digest, format!("sha256:{HEX}"));
        assert_eq!((record.line, record.column), (2, 1));
        assert_eq!(record.named.unwrap().name(), "quay.io/freedomofpress/packaging-debian-bullseye");
    }

    #[test]
    fn digest_with_other_text() {
        let record = parse(&format!("  sha256:{HEX}  built 2022-05-10\n")).unwrap();
        assert_eq!((record.line, record.column, record.named), (1, 3, None));
        assert_eq!(parse("nothing here\n"), Err(RecordError::NoDigest));
        let other = "0".repeat(64);
        assert_eq!(parse(&format!("{HEX}\n{other}\n")), Err(RecordError::Ambiguous(1, 2)));
    }

    #[test]
    fn matching_by_directory_name() {
        let record = parse(HEX).unwrap();
        let image = |s: &str| reference::parse(s).unwrap();
        assert!(matches_by_name(&record, "bullseye", &image("quay.io/org/packaging-debian-bullseye:1")));
        assert!(matches_by_name(&record, "bullseye", &image("bullseye")));
        assert!(!matches_by_name(&record, "bullseye", &image("quay.io/org/notbullseye")));
        assert!(!matches_by_name(&record, "bullseye", &image("debian:bullseye")));
    }
}

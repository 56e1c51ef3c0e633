//! Image references, parsed by the distribution reference grammar.
//!
//! Parsing is `oci_spec::distribution::Reference`'s (a port of
//! distribution/reference), with the checks it leaves out added here: the
//! reference is ASCII, a digest's hex is lowercase (as go-digest requires),
//! an uppercase repository is named as such, and whether a tag was written
//! is kept (the port defaults it to `latest`).

use oci_spec::distribution::{ParseError, Reference};

/// A valid image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host and optional port, `docker.io` by default.
    pub registry: String,
    /// Repository path, with `library/` for official Docker Hub images.
    pub repository: String,
    /// The tag, only when written.
    pub tag: Option<String>,
    /// The digest, `<algorithm>:<hex>`, when written.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `registry/repository`, the name shared by every tag and digest of the image.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// Why a reference is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty text.
    #[error("empty image reference")]
    Empty,
    /// Non-ASCII characters.
    #[error("invalid reference format: only ASCII characters are allowed")]
    NotAscii,
    /// A repository with uppercase letters.
    #[error("repository name must be lowercase")]
    Uppercase,
    /// A digest whose hex part has uppercase letters.
    #[error("invalid digest `{0}`: the hex part must be lowercase")]
    DigestCase(String),
    /// Anything the grammar rejects.
    #[error("{0}")]
    Grammar(String),
}

fn describe(e: &ParseError, text: &str) -> String {
    let digest = text.split_once('@').map_or("", |(_, d)| d);
    match e {
        ParseError::DigestInvalidLength => {
            let hex = digest.split_once(':').map_or("", |(_, h)| h);
            format!("invalid digest `{digest}`: {} hex digits, not the length its algorithm needs", hex.len())
        }
        ParseError::DigestUnsupported => format!("invalid digest `{digest}`: unsupported algorithm"),
        other => other.to_string(),
    }
}

/// Parses `text` as an image reference.
pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
    if text.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if !text.is_ascii() {
        return Err(ReferenceError::NotAscii);
    }
    let parsed = match Reference::try_from(text) {
        Ok(parsed) => parsed,
        Err(ParseError::ReferenceInvalidFormat) => {
            // The grammar only allows lowercase repositories: say so when that is the problem.
            let (name, rest) = split_name(text);
            let lowered = format!("{}{rest}", lowercase_path(name));
            return Err(if lowered != text && Reference::try_from(lowered.as_str()).is_ok() {
                ReferenceError::Uppercase
            } else {
                ReferenceError::Grammar(ParseError::ReferenceInvalidFormat.to_string())
            });
        }
        Err(e) => return Err(ReferenceError::Grammar(describe(&e, text))),
    };
    let digest = parsed.digest().map(str::to_owned);
    if let Some(d) = &digest
        && d.chars().any(|c| c.is_ascii_uppercase())
    {
        return Err(ReferenceError::DigestCase(d.clone()));
    }
    let (name, _) = split_name(text);
    let tag = match name.rfind('/') {
        Some(slash) => name[slash..].contains(':'),
        None => name.contains(':'),
    }
    .then(|| parsed.tag().map(str::to_owned))
    .flatten();
    Ok(ImageRef {
        registry: parsed.registry().to_owned(),
        repository: parsed.repository().to_owned(),
        tag,
        digest,
    })
}

/// An image named in the configuration (`[[gates.images.record]] image`),
/// parsed when the configuration is read, so that an invalid one is a
/// located configuration error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ConfiguredImage {
    /// The text as written.
    pub text: String,
    /// The parsed reference.
    pub image: ImageRef,
}

/// Why a configured value is refused when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigValueError {
    /// Not an image reference by the reference grammar.
    #[error("invalid image reference `{text}`: {reason}")]
    Reference {
        /// The text as written.
        text: String,
        /// What the grammar says.
        reason: String,
    },
    /// An `allow-tags` image that has a digest.
    #[error("allow-tags image `{0}` has a digest; name the image (and tag) only")]
    TagWithDigest(String),
    /// Not a registry as an image reference writes one.
    #[error(
        "`{0}` is not a registry: expected `host` or `host:port` as written in an image reference, e.g. `quay.io` or `127.0.0.1:5000`"
    )]
    NotARegistry(String),
    /// A path that leaves the repository.
    #[error("`{0}` is not a path inside the repository: expected a relative path without `..`")]
    OutsideRepository(String),
}

impl TryFrom<String> for ConfiguredImage {
    type Error = ConfigValueError;

    fn try_from(text: String) -> Result<Self, ConfigValueError> {
        match parse(&text) {
            Ok(image) => Ok(Self { text, image }),
            Err(e) => Err(ConfigValueError::Reference { reason: e.to_string(), text }),
        }
    }
}

/// An `allow-tags` image: a [`ConfiguredImage`] without a digest
/// (`debian`, or `debian:bookworm` for one tag).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TagOnly(pub ConfiguredImage);

impl TryFrom<String> for TagOnly {
    type Error = ConfigValueError;

    fn try_from(text: String) -> Result<Self, ConfigValueError> {
        let configured = ConfiguredImage::try_from(text)?;
        match configured.image.digest {
            Some(_) => Err(ConfigValueError::TagWithDigest(configured.text)),
            None => Ok(Self(configured)),
        }
    }
}

/// Splits `name[:tag]@digest` into `name[:tag]` and `@digest` (or "").
fn split_name(text: &str) -> (&str, &str) {
    match text.find('@') {
        Some(at) => text.split_at(at),
        None => (text, ""),
    }
}

/// Lowercases the path part of `name[:tag]`: the registry host (before the
/// first `/`, when it looks like a host) and the tag are left alone.
fn lowercase_path(name: &str) -> String {
    let (host, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (format!("{first}/"), rest)
        }
        _ => (String::new(), name),
    };
    let (path, tag) = match path.rfind(':') {
        Some(colon) => path.split_at(colon),
        None => (path, ""),
    };
    format!("{host}{}{tag}", path.to_ascii_lowercase())
}

/// The digest in `text` (`sha256:<64 hex>`, or bare 64 lowercase hex),
/// normalised to `sha256:<hex>`.
pub fn parse_digest(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| format!("sha256:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "16d2df1935807c6a751d0536e3cb36970c4c22d7324915d25ee84c90b032c307";

    #[test]
    fn official_images_get_the_defaults() {
        let r = parse("debian:bookworm").unwrap();
        assert_eq!(r.name(), "docker.io/library/debian");
        assert_eq!(r.tag.as_deref(), Some("bookworm"));
        assert_eq!(r.digest, None);
        let r = parse("debian").unwrap();
        assert_eq!((r.tag, r.digest), (None, None));
    }

    #[test]
    fn registries_ports_paths_tags_and_digests() {
        let r = parse(&format!("quay.io/freedomofpress/packaging-debian-buster@sha256:{HEX}")).unwrap();
        assert_eq!(r.registry, "quay.io");
        assert_eq!(r.repository, "freedomofpress/packaging-debian-buster");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, Some(format!("sha256:{HEX}")));
        let r = parse(&format!("localhost:5000/a/b/c:1.0@sha256:{HEX}")).unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("localhost:5000", "a/b/c"));
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        let r = parse("circleci/python:3.7-buster").unwrap();
        assert_eq!(r.name(), "docker.io/circleci/python");
        assert_eq!(parse("index.docker.io/library/debian").unwrap().name(), "docker.io/library/debian");
    }

    #[test]
    fn invalid_references_say_why() {
        let short = &HEX[..63];
        let cases = [
            (format!("debian@sha256:{short}"), "63 hex digits"),
            (format!("debian@md5:{HEX}"), "unsupported algorithm"),
            ("Debian:bookworm".to_owned(), "must be lowercase"),
            ("quay.io/FreedomOfPress/x".to_owned(), "must be lowercase"),
            (format!("debian@sha256:{}", HEX.to_ascii_uppercase()), "must be lowercase"),
            ("debian:".to_owned(), "invalid reference format"),
            ("débian".to_owned(), "ASCII"),
            ("".to_owned(), "empty"),
            ("a b".to_owned(), "invalid reference format"),
        ];
        for (text, why) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn configured_images_are_checked_when_read() {
        let image = ConfiguredImage::try_from("quay.io/org/builder".to_owned()).unwrap();
        assert_eq!(image.image.name(), "quay.io/org/builder");
        let err = ConfiguredImage::try_from("Not Valid".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), "invalid image reference `Not Valid`: invalid reference format");
        assert_eq!(
            TagOnly::try_from("debian:bookworm".to_owned()).unwrap().0.image.tag.as_deref(),
            Some("bookworm")
        );
        let err = TagOnly::try_from(format!("debian@sha256:{HEX}")).unwrap_err();
        assert!(err.to_string().ends_with("has a digest; name the image (and tag) only"), "{err}");
    }

    #[test]
    fn digests_in_hash_files() {
        assert_eq!(parse_digest(HEX), Some(format!("sha256:{HEX}")));
        assert_eq!(parse_digest(&format!("sha256:{HEX}")), Some(format!("sha256:{HEX}")));
        assert_eq!(parse_digest(&HEX[1..]), None);
        assert_eq!(parse_digest(&HEX.to_ascii_uppercase()), None);
    }
}

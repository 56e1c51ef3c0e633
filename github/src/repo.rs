//! Repositories and path segments.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// Characters escaped in a path segment or query value (`/` too).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `text` escaped for use as one path segment or query value.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Text that is not a repository's `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository `{0}`, expected `owner/name`")]
pub struct InvalidRepo(pub String);

/// A GitHub repository, `owner/name`, both parts already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The owner.
    pub owner: String,
    /// The name.
    pub name: String,
}

impl Repo {
    /// Parses `owner/name`.
    pub fn parse(text: &str) -> Result<Self, InvalidRepo> {
        let valid = |part: &str| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) && name != "." && name != ".." => {
                Ok(Self { owner: owner.to_owned(), name: name.to_owned() })
            }
            _ => Err(InvalidRepo(text.to_owned())),
        }
    }

    /// `/repos/owner/name`.
    pub fn path(&self) -> String {
        format!("/repos/{}/{}", encode(&self.owner), encode(&self.name))
    }
}

impl<'de> Deserialize<'de> for Repo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Repo::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

//! The GitHub Actions event that started a workflow run: the JSON file
//! `GITHUB_EVENT_PATH` names, and `GITHUB_EVENT_NAME`.
//!
//! One reader for every command, so that the commit a gate judges and the
//! commit `publish` posts to are read the same way. On `pull_request`
//! events `GITHUB_SHA` is the synthetic merge commit; the commit the pull
//! request is about is `pull_request.head.sha`, and the branch whose rules
//! apply is `pull_request.base.ref`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest event file read. A `push` event lists at most 2048 commits; a
/// file this large is not an event GitHub wrote.
pub const MAX_EVENT_BYTES: u64 = 32 * 1024 * 1024;

/// What release-check uses of a workflow run's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `GITHUB_EVENT_NAME` (`pull_request`, `push`, …), when set.
    pub name: Option<String>,
    /// The file it was read from.
    pub path: PathBuf,
    /// The pull request of a `pull_request`, `pull_request_target` or review event.
    pub pull_request: Option<PullRequest>,
    /// `ref` of a `push` event: `refs/heads/main`, `refs/tags/v1.0`.
    pub push_ref: Option<String>,
    /// `after` of a `push` event: the commit the ref points to after the push.
    pub push_after: Option<String>,
    /// The merge group of a `merge_group` event.
    pub merge_group: Option<MergeGroup>,
}

/// The pull request an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// The head commit: what the pull request proposes, and what is judged.
    pub head_sha: String,
    /// The head branch (possibly in a fork).
    pub head_ref: String,
    /// The base branch: whose rules apply.
    pub base_ref: String,
}

/// The merge group of a `merge_group` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeGroup {
    /// The commit the merge queue tests.
    pub head_sha: String,
    /// The branch it merges into, without `refs/heads/`.
    pub base_ref: String,
}

/// Why the event file gave no answer. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The file could not be read.
    #[error("GITHUB_EVENT_PATH {path}: cannot read it: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_EVENT_BYTES`].
    #[error("GITHUB_EVENT_PATH {path}: larger than {limit} bytes, not an event GitHub Actions wrote")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// Not JSON, or not in the shape GitHub documents.
    #[error("GITHUB_EVENT_PATH {path}:{line}:{column}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What was expected.
        message: String,
    },
}

impl Event {
    /// The event of the running workflow, from `GITHUB_EVENT_PATH` and
    /// `GITHUB_EVENT_NAME` as `env` gives them (empty values count as
    /// unset). `Ok(None)`: no event file is named.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, EventError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let Some(path) = set("GITHUB_EVENT_PATH") else { return Ok(None) };
        let mut event = read(Path::new(&path))?;
        event.name = set("GITHUB_EVENT_NAME");
        Ok(Some(event))
    }

    /// The pull request, if this is an event about one (`pull_request*`,
    /// or no event name but a `pull_request` in the payload).
    pub fn pull_request(&self) -> Option<&PullRequest> {
        match self.name.as_deref() {
            Some(name) if !name.starts_with("pull_request") => None,
            _ => self.pull_request.as_ref(),
        }
    }
}

/// Reads an event file, at most [`MAX_EVENT_BYTES`]; `name` is left unset.
pub fn read(path: &Path) -> Result<Event, EventError> {
    let read_error = |source| EventError::Read { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_EVENT_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_EVENT_BYTES {
        return Err(EventError::TooLarge { path: path.to_owned(), limit: MAX_EVENT_BYTES });
    }
    parse(path, &bytes)
}

/// Parses an event's JSON; `path` names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Event, EventError> {
    let raw: RawEvent = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        EventError::Malformed {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: text.strip_suffix(&at).unwrap_or(&text).to_owned(),
        }
    })?;
    let pull_request = raw.pull_request.map(|p| PullRequest {
        number: p.number,
        head_sha: p.head.sha.0,
        head_ref: p.head.name.0,
        base_ref: p.base.name.0,
    });
    let merge_group = raw.merge_group.map(|g| MergeGroup {
        head_sha: g.head_sha.0,
        base_ref: g.base_ref.0.strip_prefix("refs/heads/").map(str::to_owned).unwrap_or(g.base_ref.0),
    });
    Ok(Event {
        name: None,
        path: path.to_owned(),
        pull_request,
        push_ref: raw.push_ref.map(|r| r.0),
        push_after: raw.after.map(|s| s.0),
        merge_group,
    })
}

#[derive(Deserialize)]
struct RawEvent {
    pull_request: Option<RawPull>,
    #[serde(rename = "ref")]
    push_ref: Option<RefName>,
    after: Option<Sha>,
    merge_group: Option<RawMergeGroup>,
}

#[derive(Deserialize)]
struct RawPull {
    number: u64,
    head: RawSide,
    base: RawSide,
}

#[derive(Deserialize)]
struct RawSide {
    sha: Sha,
    #[serde(rename = "ref")]
    name: RefName,
}

#[derive(Deserialize)]
struct RawMergeGroup {
    head_sha: Sha,
    base_ref: RefName,
}

/// A full commit SHA: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
struct Sha(String);

impl<'de> Deserialize<'de> for Sha {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(serde::de::Error::custom(format!(
                "expected a commit SHA (40 or 64 hexadecimal digits), found `{}`",
                text.escape_debug()
            )))
        }
    }
}

/// A branch or ref name as git allows it: not empty, no control
/// characters, no `..`, no space.
struct RefName(String);

impl<'de> Deserialize<'de> for RefName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad = text.is_empty()
            || text.len() > 1024
            || text.contains("..")
            || text.chars().any(|c| c.is_control() || c == ' ' || c == '\\');
        if bad {
            Err(serde::de::Error::custom(format!("expected a git ref name, found `{}`", text.escape_debug())))
        } else {
            Ok(Self(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";

    fn parsed(text: &str) -> Result<Event, EventError> {
        parse(Path::new("event.json"), text.as_bytes())
    }

    #[test]
    fn a_pull_request_event_gives_head_base_and_number() {
        let event = parsed(&format!(
            r#"{{"action": "synchronize", "number": 12, "pull_request": {{"number": 12,
                "head": {{"sha": "{HEAD}", "ref": "feature/x"}}, "base": {{"sha": "{HEAD}", "ref": "main"}}}}}}"#
        ))
        .unwrap();
        let pull = event.pull_request().unwrap();
        assert_eq!((pull.number, pull.head_sha.as_str(), pull.base_ref.as_str()), (12, HEAD, "main"));
        assert_eq!(pull.head_ref, "feature/x");
    }

    #[test]
    fn a_push_event_gives_its_ref_and_no_pull_request() {
        let mut event =
            parsed(&format!(r#"{{"ref": "refs/heads/main", "before": "{HEAD}", "after": "{HEAD}"}}"#))
                .unwrap();
        event.name = Some("push".into());
        assert_eq!(event.push_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(event.push_after.as_deref(), Some(HEAD));
        assert!(event.pull_request().is_none());
    }

    #[test]
    fn a_malformed_event_is_located() {
        let error = parsed(
            "{\n  \"pull_request\": {\"number\": 1, \"head\": {\"sha\": \"HEAD\", \"ref\": \"x\"}}\n}",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("GITHUB_EVENT_PATH event.json:2:"), "{error}");
        assert!(error.contains("expected a commit SHA"), "{error}");
        assert!(!error.contains(" at line "), "located once: {error}");
        let error = parsed("{\"pull_request\": {\"number\": 1}}").unwrap_err().to_string();
        assert!(error.contains("missing field `head`"), "{error}");
    }

    #[test]
    fn unset_or_empty_paths_are_no_event() {
        assert!(Event::from_env(|_| None).unwrap().is_none());
        assert!(Event::from_env(|_| Some(" ".into())).unwrap().is_none());
    }
}

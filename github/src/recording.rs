//! Record and replay of GitHub exchanges: an audit trail of what a verdict
//! was based on, and offline runs.
//!
//! A recording is a directory of JSON files, one per exchange (each answer
//! to a retried request too), named `NNNN-METHOD-path.json` in the order
//! they happened:
//!
//! ```json
//! {
//!   "method": "GET",
//!   "path": "/repos/octo/app/commits/main/check-runs?filter=latest&per_page=100",
//!   "status": 200,
//!   "headers": { "etag": "W/\"…\"", "link": "…" },
//!   "body": { "total_count": 1, "check_runs": [ … ] }
//! }
//! ```
//!
//! `body` holds the JSON body; a body that is not JSON is kept as the string
//! `body_text`. An attempt that got no answer is recorded too, with status
//! `0` and a `failure`: `{"timeout": {"after_ms": 30000}}` or
//! `{"transport": {"message": "connection refused"}}`, so that a replay
//! retries and fails exactly where the live run did. Only the response headers in [`crate::KEPT_HEADERS`] are kept,
//! no request header is, and the token's value is replaced by `[redacted]`
//! wherever it appears. Replay answers each request with the recorded
//! exchanges for the same method and path, in order, repeating the last one
//! (so that polling with `--wait` replays too).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::{Error, Method, Response, Token};

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The request method.
    pub method: Method,
    /// The request path and query, relative to the API root.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// The kept response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, when it is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// The body, when it is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// No answer came (then `status` is 0): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// Why an attempt got no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Failure {
    /// No complete answer within the per-attempt timeout.
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// The connection failed (refused, reset, TLS).
    Transport {
        /// What failed.
        message: String,
    },
}

impl Exchange {
    /// The body as bytes, as the client saw it.
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, &self.body_text) {
            (Some(json), _) => serde_json::to_vec(json).unwrap_or_default(),
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
        }
    }
}

/// Writes exchanges into a recording directory.
pub(crate) struct Recorder {
    dir: PathBuf,
    next: AtomicUsize,
    token: Option<Token>,
}

/// What replaces the token's value.
pub(crate) const REDACTED: &str = "[redacted]";

impl Recorder {
    pub(crate) fn create(dir: &Path, token: Option<Token>) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let existing = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, &e))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count();
        Ok(Self { dir: dir.to_owned(), next: AtomicUsize::new(existing + 1), token })
    }

    /// Writes one attempt's outcome. Failures other than no answer (a
    /// replay's own errors, a malformed request) are not answers and are
    /// not written.
    pub(crate) fn record(
        &self,
        method: Method,
        path: &str,
        outcome: &Result<Response, Error>,
    ) -> Result<(), Error> {
        let scrub = |text: &str| match &self.token {
            Some(token) => token.redact(text),
            None => text.to_owned(),
        };
        let exchange = match outcome {
            Ok(response) => {
                let text = scrub(&String::from_utf8_lossy(&response.body));
                let (body, body_text) = match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(json) => (Some(json), None),
                    Err(_) if text.is_empty() => (None, None),
                    Err(_) => (None, Some(text)),
                };
                Exchange {
                    method,
                    path: scrub(path),
                    status: response.status,
                    headers: response.headers.iter().map(|(k, v)| (k.clone(), scrub(v))).collect(),
                    body,
                    body_text,
                    failure: None,
                }
            }
            Err(error) => {
                let failure = match error {
                    Error::Timeout { after, .. } => {
                        Failure::Timeout { after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX) }
                    }
                    Error::Transport { message, .. } => Failure::Transport { message: scrub(message) },
                    _ => return Ok(()),
                };
                Exchange {
                    method,
                    path: scrub(path),
                    status: 0,
                    headers: BTreeMap::new(),
                    body: None,
                    body_text: None,
                    failure: Some(failure),
                }
            }
        };
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let file = self.dir.join(format!("{number:04}-{method}-{}.json", slug(&exchange.path)));
        let mut json = serde_json::to_string_pretty(&exchange)
            .map_err(|e| Error::Recording { path: file.display().to_string(), message: e.to_string() })?;
        json.push('\n');
        let partial = file.with_extension("json.partial");
        std::fs::write(&partial, json).map_err(|e| io_error(&partial, &e))?;
        std::fs::rename(&partial, &file).map_err(|e| io_error(&file, &e))
    }
}

/// Answers requests from a recording directory.
pub(crate) struct Replayer {
    dir: PathBuf,
    recorded: usize,
    queues: Mutex<HashMap<(Method, String), VecDeque<Exchange>>>,
}

impl Replayer {
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, &e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut queues: HashMap<(Method, String), VecDeque<Exchange>> = HashMap::new();
        for file in &files {
            let text = std::fs::read_to_string(file).map_err(|e| io_error(file, &e))?;
            let exchange: Exchange = serde_json::from_str(&text).map_err(|e| Error::Recording {
                path: file.display().to_string(),
                message: crate::located(&e),
            })?;
            queues.entry((exchange.method, exchange.path.clone())).or_default().push_back(exchange);
        }
        Ok(Self { dir: dir.to_owned(), recorded: files.len(), queues: Mutex::new(queues) })
    }

    pub(crate) fn answer(&self, method: Method, path: &str) -> Result<Exchange, Error> {
        let not_recorded = || Error::NotRecorded {
            request: format!("{method} {path}"),
            dir: self.dir.display().to_string(),
            recorded: self.recorded,
        };
        let mut queues = self.queues.lock().map_err(|_| not_recorded())?;
        let queue = queues.get_mut(&(method, path.to_owned())).ok_or_else(not_recorded)?;
        match queue.len() {
            0 => Err(not_recorded()),
            1 => Ok(queue[0].clone()),
            _ => queue.pop_front().ok_or_else(not_recorded),
        }
    }
}

/// A file-name-safe rendering of a path, at most 80 characters.
fn slug(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let slug: String = path
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    slug.chars().take(80).collect()
}

fn io_error(path: &Path, error: &std::io::Error) -> Error {
    Error::Recording { path: path.display().to_string(), message: error.to_string() }
}

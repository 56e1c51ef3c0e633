//! release-check's GitHub REST client.
//!
//! [`Client`] sends every request through `octocrab` (authentication, base
//! URL for GitHub Enterprise Server, TLS with rustls, timeouts) and adds what
//! a release gate needs on top:
//!
//! - bounded retries on 5xx, transport errors and timeouts, with backoff;
//! - rate limits: `Retry-After` and `X-RateLimit-Reset` are honoured when the
//!   wait is short, otherwise the request fails with the reset time;
//! - which answers are retried, the backoff, how `Retry-After` (seconds or
//!   an HTTP date) is read and how URLs are redacted are the shared HTTP
//!   layer's rules (`http_layer`), so that this client, the registry client
//!   and the package index client agree;
//! - conditional requests: a repeated `GET` sends `If-None-Match` and a
//!   `304 Not Modified` is answered from memory (free against the rate limit);
//! - paging through `Link: rel="next"`, bounded, refusing loops and links to
//!   other hosts;
//! - [record and replay](recording): every exchange can be stored in a
//!   directory and replayed offline later, failures to get an answer too,
//!   and a replay never sleeps for the waits it replays;
//! - [the Actions event](event) (`GITHUB_EVENT_PATH`), read one way for
//!   every command;
//! - the token is never printed, never recorded and never part of an error.
//!
//! octocrab's own retry layer is switched off so that the number of attempts
//! is ours to bound and to report.

pub mod event;
pub mod link;
pub mod recording;
pub mod repo;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;

use crate::recording::{Exchange, Recorder, Replayer};
pub use crate::repo::{InvalidRepo, Repo, encode};

/// A GitHub token. Its `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token from `GITHUB_TOKEN`, else `GH_TOKEN`; empty values count as unset.
    pub fn from_env() -> Option<Self> {
        ["GITHUB_TOKEN", "GH_TOKEN"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.trim().is_empty())
            .map(|value| Self(value.trim().to_owned()))
    }

    fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the token's value replaced by `[redacted]`.
    fn redact(&self, text: &str) -> String {
        if self.0.is_empty() { text.to_owned() } else { text.replace(&self.0, recording::REDACTED) }
    }

    /// A response body without the token: replaced where it appears as
    /// is, and in a JSON body also where escapes (`\u0067hp_…`) spell it.
    fn redact_body(&self, body: Vec<u8>) -> Vec<u8> {
        let token = self.0.as_bytes();
        if token.is_empty() {
            return body;
        }
        let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        let literal = contains(token);
        if (literal || contains(b"\\u"))
            && let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body)
            && self.redact_json(&mut json)
        {
            return serde_json::to_vec(&json).unwrap_or_default();
        }
        if literal { self.redact(&String::from_utf8_lossy(&body)).into_bytes() } else { body }
    }

    /// Replaces the token in every string and key of `json`; whether it did.
    fn redact_json(&self, json: &mut serde_json::Value) -> bool {
        match json {
            serde_json::Value::String(s) if s.contains(&self.0) => {
                *s = self.redact(s);
                true
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().fold(false, |found, v| self.redact_json(v) | found)
            }
            serde_json::Value::Object(map) => {
                let mut found = false;
                for (key, mut value) in std::mem::take(map) {
                    found |= self.redact_json(&mut value) | key.contains(&self.0);
                    map.insert(self.redact(&key), value);
                }
                found
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// How the client talks to GitHub.
#[derive(Debug, Clone)]
pub struct Config {
    /// API root: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// The token, if any; anonymous requests are allowed (and rate-limited hard).
    pub token: Option<Token>,
    /// Deadline of one attempt of one request, connecting included.
    pub timeout: Duration,
    /// Attempts after the first one for retryable failures.
    pub retries: u32,
    /// First backoff delay; doubled after each retry.
    pub backoff: Duration,
    /// Longest rate-limit wait (`Retry-After`, `X-RateLimit-Reset`) honoured before giving up.
    pub max_rate_limit_wait: Duration,
    /// Most pages read from one listing.
    pub max_pages: usize,
    /// Store every exchange in this directory.
    pub record: Option<PathBuf>,
    /// Answer every request from this directory instead of the network.
    pub replay: Option<PathBuf>,
}

/// GitHub's public API root.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

impl Default for Config {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            token: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_rate_limit_wait: Duration::from_secs(60),
            max_pages: 100,
            record: None,
            replay: None,
        }
    }
}

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        })
    }
}

/// A response, as far as release-check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The request that produced it, e.g. `GET /repos/o/r/commits/main/check-runs`.
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// The headers that matter ([`KEPT_HEADERS`]), names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// Attempts it took (retries after 5xx count).
    pub attempts: u32,
}

/// Response headers kept in a [`Response`] and in recordings.
pub const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "date",
    "etag",
    "link",
    "location",
    "retry-after",
    "x-github-media-type",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-resource",
    "x-ratelimit-used",
];

impl Response {
    /// A header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body parsed as `T`; a parse error names the request, line and column.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Malformed { request: self.request.clone(), message: located(&e) })
    }

    /// `Ok(self)` for a 2xx status, else the [`Error::Status`] GitHub's message describes.
    pub fn success(self) -> Result<Self, Error> {
        if (200..300).contains(&self.status) { Ok(self) } else { Err(self.status_error()) }
    }

    /// The error this (non-2xx) response stands for.
    pub fn status_error(&self) -> Error {
        let message = match self.attempts {
            0 | 1 => self.message(),
            n => format!("{} (after {n} attempts)", self.message()),
        };
        Error::Status { request: self.request.clone(), status: self.status, message }
    }

    /// GitHub's `message`, or the start of the body.
    fn message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Body {
            message: Option<String>,
        }
        serde_json::from_slice::<Body>(&self.body)
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).chars().take(200).collect())
    }
}

/// Why a request gave no usable answer. Every variant names the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// GitHub answered with an error status.
    #[error("{request}: HTTP {status}: {message}")]
    Status {
        /// The request.
        request: String,
        /// The status.
        status: u16,
        /// GitHub's `message`, or the start of the body.
        message: String,
    },
    /// The rate limit is exhausted for longer than the configured wait.
    #[error("{request}: rate limited by GitHub ({detail}); gave up instead of waiting")]
    RateLimited {
        /// The request.
        request: String,
        /// Status and when the limit resets.
        detail: String,
    },
    /// No answer: connection refused, reset, TLS failure.
    #[error("{request}: {message} (after {attempts} attempts)")]
    Transport {
        /// The request.
        request: String,
        /// What failed.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No complete answer within the timeout.
    #[error("{request}: no answer within {after:?} (after {attempts} attempts)")]
    Timeout {
        /// The request.
        request: String,
        /// The per-attempt timeout.
        after: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The body is not what the API documents.
    #[error("{request}: unexpected response body: {message}")]
    Malformed {
        /// The request.
        request: String,
        /// The parse error, located.
        message: String,
    },
    /// Paging went wrong: a loop, a link to another host, too many pages.
    #[error("{request}: {message}")]
    Paging {
        /// The request whose `Link` header was followed.
        request: String,
        /// What went wrong.
        message: String,
    },
    /// Replay has no recorded answer for this request.
    #[error("{request}: not in the recording {dir} (recorded: {recorded})")]
    NotRecorded {
        /// The request.
        request: String,
        /// The recording directory.
        dir: String,
        /// How many exchanges the recording holds.
        recorded: usize,
    },
    /// The recording directory could not be read or written.
    #[error("recording {path}: {message}")]
    Recording {
        /// The file or directory.
        path: String,
        /// What went wrong, located for JSON errors.
        message: String,
    },
    /// The client could not be set up (bad API URL).
    #[error("cannot use API URL `{url}`: {message}")]
    Setup {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

enum Transport {
    Live(Box<Octocrab>),
    Replay(Replayer),
}

/// A GitHub REST client; see the crate documentation.
pub struct Client {
    config: Config,
    transport: Transport,
    recorder: Option<Recorder>,
    /// ETag and response of earlier successful GETs, by path.
    conditional: Mutex<HashMap<String, (String, Response)>>,
    requests: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("api_url", &self.config.api_url).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`. Must be called inside a Tokio runtime when not replaying.
    pub fn new(config: Config) -> Result<Self, Error> {
        let transport = match &config.replay {
            Some(dir) => Transport::Replay(Replayer::open(dir)?),
            None => {
                let setup = |message: String| Error::Setup { url: config.api_url.clone(), message };
                // The attempt's own deadline (`Config::timeout`) must fire
                // first, so that a stalled answer is always reported (and
                // recorded) as the same timeout; octocrab's are a backstop.
                let backstop = config.timeout + Duration::from_secs(1);
                let mut builder = Octocrab::builder()
                    .base_uri(config.api_url.as_str())
                    .map_err(|e| setup(e.to_string()))?
                    // Our own loop retries, so that attempts are bounded and reported.
                    .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
                    .set_connect_timeout(Some(backstop))
                    .set_read_timeout(Some(backstop))
                    .set_write_timeout(Some(backstop))
                    .add_header(HeaderName::from_static("x-github-api-version"), "2022-11-28".to_owned());
                if let Some(token) = &config.token {
                    builder = builder.personal_token(token.expose().to_owned());
                }
                Transport::Live(Box::new(builder.build().map_err(|e| setup(e.to_string()))?))
            }
        };
        let recorder = match &config.record {
            Some(dir) => Some(Recorder::create(dir, config.token.clone())?),
            None => None,
        };
        Ok(Self {
            config,
            transport,
            recorder,
            conditional: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether answers come from a recording ([`Config::replay`]).
    pub fn replaying(&self) -> bool {
        matches!(self.transport, Transport::Replay(_))
    }

    /// Requests sent so far (each attempt counts; answers from the `304` cache do too).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `GET path` (relative to the API root, query included), retried and
    /// revalidated; any status is returned, only failures to get one are errors.
    pub async fn get(&self, path: &str) -> Result<Response, Error> {
        let cached = self.conditional.lock().map(|c| c.get(path).cloned()).unwrap_or(None);
        let response =
            self.send(Method::Get, path, None, cached.as_ref().map(|(etag, _)| etag.as_str())).await?;
        if response.status == 304
            && let Some((_, earlier)) = cached
        {
            return Ok(earlier);
        }
        if response.status == 200
            && let Some(etag) = response.header("etag")
            && let Ok(mut cache) = self.conditional.lock()
        {
            cache.insert(path.to_owned(), (etag.to_owned(), response.clone()));
        }
        Ok(response)
    }

    /// `GET path`, which must succeed, parsed as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.get(path).await?.success()?.json()
    }

    /// Every page of a listing, following `Link: rel="next"`. `items` picks
    /// the list out of a page (`|page: Page| page.check_runs`).
    pub async fn get_all_pages<P, T>(&self, path: &str, items: impl Fn(P) -> Vec<T>) -> Result<Vec<T>, Error>
    where
        P: DeserializeOwned,
    {
        let mut all = Vec::new();
        let mut seen = HashSet::from([path.to_owned()]);
        let mut next = Some(path.to_owned());
        while let Some(current) = next.take() {
            let response = self.get(&current).await?.success()?;
            all.extend(items(response.json()?));
            let Some(header) = response.header("link") else { break };
            // The page whose link cannot be followed is the request that failed.
            let paging = |message: String| Error::Paging { request: response.request.clone(), message };
            next = link::next(header, &self.config.api_url).map_err(|e| paging(e.to_string()))?;
            if let Some(page) = &next {
                if !seen.insert(page.clone()) {
                    return Err(paging(format!("the next-page link points to a page already read ({page})")));
                }
                if seen.len() > self.config.max_pages {
                    return Err(paging(format!(
                        "more than {} pages; gave up before {page}",
                        self.config.max_pages
                    )));
                }
            }
        }
        Ok(all)
    }

    /// `POST`, `PATCH` or `DELETE` with a JSON body; any status is returned.
    /// Writes are retried only when GitHub certainly did not act on them (a
    /// rate-limit refusal), never after a timeout.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, Error> {
        self.send(method, path, body, None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
    ) -> Result<Response, Error> {
        // A token in the query (`?access_token=`) never reaches an error.
        let request = format!("{method} {}", http_layer::redact(path));
        let idempotent = method == Method::Get;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match &self.transport {
                Transport::Replay(replayer) => replayer.answer(method, path)?.outcome(&request),
                Transport::Live(crab) => self.attempt(crab, method, path, body, etag, &request).await,
            };
            // Every answer, retried ones and failures to get one too, so
            // that a replay takes the same path.
            if let Some(recorder) = &self.recorder {
                recorder.record(method, path, &outcome)?;
            }
            let (retry_in, rate_limited) = match &outcome {
                Ok(response) => match self.rate_limit_wait(response, attempt) {
                    // A refused write was not acted on: retrying it is safe.
                    RateLimit::Wait(wait) => (Some(wait), true),
                    RateLimit::GiveUp(detail) => return Err(Error::RateLimited { request, detail }),
                    // A 5xx, by the shared rule (a Retry-After beyond the
                    // longest wait is not waited for: the 5xx is the answer).
                    RateLimit::No if idempotent => match http_layer::wait_before_retry(
                        response.status,
                        response.header("retry-after"),
                        attempt,
                        self.config.backoff,
                        self.config.max_rate_limit_wait,
                        self.answered_at(response),
                    ) {
                        http_layer::Wait::Retry(wait) => (Some(wait), false),
                        http_layer::Wait::No | http_layer::Wait::TooLong(_) => (None, false),
                    },
                    RateLimit::No => (None, false),
                },
                Err(Error::Transport { .. } | Error::Timeout { .. }) if idempotent => {
                    (Some(self.backoff(attempt)), false)
                }
                Err(_) => (None, false),
            };
            if let Some(wait) = retry_in
                && attempt <= self.config.retries
            {
                // A replay answers at once: the recorded waits were waited live.
                if !self.replaying() {
                    tokio::time::sleep(wait).await;
                }
                continue;
            }
            return match outcome {
                Ok(response) if rate_limited => Err(Error::RateLimited {
                    detail: format!("HTTP {} after {attempt} attempts", response.status),
                    request,
                }),
                Ok(mut response) => {
                    response.attempts = attempt;
                    Ok(response)
                }
                Err(error) => Err(with_attempts(error, attempt)),
            };
        }
    }

    async fn attempt(
        &self,
        crab: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
        request: &str,
    ) -> Result<Response, Error> {
        let transport =
            |message: String| Error::Transport { request: request.to_owned(), message, attempts: 1 };
        let mut builder = http::Request::builder()
            .method(match method {
                Method::Get => http::Method::GET,
                Method::Post => http::Method::POST,
                Method::Patch => http::Method::PATCH,
                Method::Delete => http::Method::DELETE,
            })
            .uri(path)
            .header(http::header::ACCEPT, "application/vnd.github+json");
        if let Some(etag) = etag
            && let Ok(value) = HeaderValue::from_str(etag)
        {
            builder = builder.header(http::header::IF_NONE_MATCH, value);
        }
        let http_request = crab.build_request(builder, body).map_err(|e| transport(describe(&e)))?;
        let exchange = async {
            let response = crab.execute(http_request).await.map_err(|e| transport(describe(&e)))?;
            let status = response.status().as_u16();
            let mut headers = kept_headers(response.headers());
            let mut body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .map_err(|e| transport(format!("reading the body: {}", describe(&e))))?
                .to_bytes()
                .to_vec();
            // A server that echoes the token must not make it appear in an error or an item.
            if let Some(token) = &self.config.token {
                headers.values_mut().for_each(|v| *v = token.redact(v));
                body = token.redact_body(body);
            }
            Ok(Response { request: request.to_owned(), status, headers, body, attempts: 1 })
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => {
                Err(Error::Timeout { request: request.to_owned(), after: self.config.timeout, attempts: 1 })
            }
        }
    }

    /// The moment a rate limit is judged from: now, or in a replay the
    /// recorded answer's `Date`, so that a replay decides to wait or to
    /// give up as the live run did.
    fn answered_at(&self, response: &Response) -> jiff::Timestamp {
        let recorded = || {
            let date = response.header("date")?;
            jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(date.trim()).ok()
        };
        match self.replaying().then(recorded).flatten() {
            Some(date) => date,
            None => jiff::Timestamp::now(),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        http_layer::backoff(self.config.backoff, attempt)
    }

    /// GitHub's rate-limit answers: 403 or 429 with `Retry-After` (secondary
    /// limit) or with `X-RateLimit-Remaining: 0` (primary limit).
    /// `Retry-After` is read by the shared rule ([`http_layer::retry_after`]).
    fn rate_limit_wait(&self, response: &Response, attempt: u32) -> RateLimit {
        if response.status != 403 && response.status != 429 {
            return RateLimit::No;
        }
        let now = self.answered_at(response);
        let wait = if let Some(wait) =
            response.header("retry-after").and_then(|v| http_layer::retry_after(v, now))
        {
            wait
        } else if response.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
            let reset = response.header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok());
            match reset {
                Some(reset) => Duration::from_secs(u64::try_from(reset - now.as_second()).unwrap_or(0) + 1),
                None => Duration::MAX,
            }
        } else if response.status == 429 {
            self.backoff(attempt)
        } else {
            // A 403 without rate-limit headers is a permission problem, not a limit.
            return RateLimit::No;
        };
        if wait <= self.config.max_rate_limit_wait {
            RateLimit::Wait(wait)
        } else {
            let reset = response
                .header("x-ratelimit-reset")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(|t| format!("; the limit resets at {t}"))
                .unwrap_or_default();
            let retry =
                response.header("retry-after").map(|s| format!("; Retry-After: {s} s")).unwrap_or_default();
            let when = match (reset.is_empty(), retry.is_empty()) {
                (true, true) => "; GitHub gave no reset time".to_owned(),
                _ => format!("{reset}{retry}"),
            };
            RateLimit::GiveUp(format!("HTTP {}: {}{when}", response.status, response.message()))
        }
    }
}

enum RateLimit {
    No,
    Wait(Duration),
    GiveUp(String),
}

fn with_attempts(error: Error, attempts: u32) -> Error {
    match error {
        Error::Transport { request, message, .. } => Error::Transport { request, message, attempts },
        Error::Timeout { request, after, .. } => Error::Timeout { request, after, attempts },
        other => other,
    }
}

/// An error and its causes on one line (octocrab's and hyper's errors keep
/// the useful part, "connection refused", in their sources).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A JSON error as `line L, column C: what` (serde_json puts the location last).
fn located(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let at = format!(" at line {} column {}", error.line(), error.column());
    format!("line {}, column {}: {}", error.line(), error.column(), text.strip_suffix(&at).unwrap_or(&text))
}

fn kept_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

impl Exchange {
    /// The recorded outcome of one attempt: the response, or the failure to get one.
    fn outcome(&self, request: &str) -> Result<Response, Error> {
        let request = request.to_owned();
        match &self.failure {
            Some(recording::Failure::Timeout { after_ms }) => {
                Err(Error::Timeout { request, after: Duration::from_millis(*after_ms), attempts: 1 })
            }
            Some(recording::Failure::Transport { message }) => {
                Err(Error::Transport { request, message: message.clone(), attempts: 1 })
            }
            None => Ok(Response {
                request,
                status: self.status,
                headers: self.headers.clone(),
                body: self.body_bytes(),
                attempts: 1,
            }),
        }
    }
}

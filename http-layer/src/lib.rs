//! release-check's one HTTP layer, shared by the registry client (images
//! gate), the package index client (build-dependency analysis) and the
//! GitHub client.
//!
//! [`Client`] sends blocking requests over `ureq` with the system's trust
//! store and applies one set of rules, bounded by [`Limits`]:
//!
//! - every request has a connect timeout and an overall timeout;
//! - transport failures, timeouts, `5xx` and `429` answers are retried at
//!   most [`Limits::retries`] times, after a backoff that doubles
//!   ([`backoff`]);
//! - a `Retry-After` header (seconds or an HTTP date, [`retry_after`]) on a
//!   retried answer replaces the backoff when it is at most
//!   [`Limits::max_rate_limit_wait`]; a longer one is not waited for and
//!   is reported ([`Failure::RateLimited`]);
//! - a cancellation callback is asked before each attempt and during
//!   every wait, so that a cancelled run stops within a fraction of a second
//!   (an attempt in flight is bounded by the timeouts);
//! - bodies are read up to a bound: a longer body is an error
//!   ([`Failure::TooLarge`]), never truncated data;
//! - every failure is one [`HttpError`] naming the method, the URL with
//!   credentials and token parameters redacted ([`redact`]), and the
//!   attempts made.
//!
//! The asynchronous GitHub client keeps octocrab for its transport and
//! uses the same policy helpers ([`backoff`], [`retry_after`],
//! [`wait_before_retry`], [`redact`], [`status_text`]), so that the three
//! clients retry the same answers and wait by the same rule.

mod client;
mod resolver;

use std::time::Duration;

pub use client::{Answer, Client, Method, Request};

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Query parameters whose values are secrets, compared case-insensitively.
pub const SECRET_PARAMETERS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "client_secret",
    "password",
    "private_token",
    "sig",
    "signature",
    "token",
    "x-amz-credential",
    "x-amz-security-token",
    "x-amz-signature",
];

/// Bounds on every request of a [`Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for a connection, TLS handshake included.
    pub connect_timeout: Duration,
    /// Longest time one attempt may take, redirects and the body included.
    pub request_timeout: Duration,
    /// How many times a transport failure, a timeout, a `5xx` or a `429`
    /// is retried (so at most `retries + 1` attempts).
    pub retries: u32,
    /// The wait before the first retry, doubled before each next one.
    pub backoff: Duration,
    /// Most redirects followed for one request.
    pub max_redirects: u32,
    /// Largest body [`Answer::read_body`] reads, in bytes.
    pub max_body: u64,
    /// Longest `Retry-After` waited for; a longer one fails the request.
    pub max_rate_limit_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_redirects: 5,
            max_body: 4 * 1024 * 1024,
            max_rate_limit_wait: Duration::from_secs(60),
        }
    }
}

/// A request that gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {failure}")]
pub struct HttpError {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The URL, query included, with credentials and secret parameters redacted.
    pub url: String,
    /// How many attempts were made (0 when cancelled before the first).
    pub attempts: u32,
    /// What went wrong.
    pub failure: Failure,
}

impl HttpError {
    /// `METHOD url`, as the error names the request.
    pub fn request(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

/// What went wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// No answer in time, on the last attempt.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection, TLS or protocol failure, on the last attempt.
    #[error("{message}{}", attempts_suffix(.attempts))]
    Transport {
        /// What failed.
        message: String,
        /// How many attempts failed so.
        attempts: u32,
    },
    /// A server error or rate limit, still there after the retries.
    #[error("answered {status} {attempts} times")]
    Unavailable {
        /// The status code and reason ([`status_text`]).
        status: String,
        /// How many times it was asked.
        attempts: u32,
    },
    /// A `Retry-After` longer than [`Limits::max_rate_limit_wait`].
    #[error(
        "answered {status} with Retry-After {wait:?}, longer than the longest wait of {longest:?}; gave up instead of waiting"
    )]
    RateLimited {
        /// The status code and reason.
        status: String,
        /// The wait the server asked for.
        wait: Duration,
        /// The longest wait allowed.
        longest: Duration,
    },
    /// A final status the caller cannot use.
    #[error("answered {0}")]
    Status(String),
    /// A body longer than the bound.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(u64),
    /// Too many redirects.
    #[error("more than {0} redirects")]
    Redirects(u32),
    /// A plain-HTTP URL (or redirect) for a client that requires HTTPS.
    #[error("refused to use plain HTTP")]
    HttpsOnly,
}

fn attempts_suffix(attempts: &u32) -> String {
    if *attempts > 1 { format!(" ({attempts} attempts)") } else { String::new() }
}

/// Whether an answer with `status` is retried: `5xx` and `429`.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// The wait before retry number `attempt` (1 after the first attempt):
/// `first`, doubled for each further retry (at most 1024 × `first`).
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    first.saturating_mul(1 << attempt.saturating_sub(1).min(10))
}

/// The wait a `Retry-After` value asks for at `now`: delay seconds, or an
/// HTTP date (RFC 9110 §10.2.3; a date in the past is no wait). None for a
/// value that is neither.
pub fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    Some(Duration::try_from(date.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// What to do after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Not a status that is retried: the answer is final.
    No,
    /// Retry after this wait.
    Retry(Duration),
    /// The server asked for a wait longer than allowed.
    TooLong(Duration),
}

/// The shared rule for an answer with `status` and `Retry-After` header
/// `retry_after_header`, after attempt number `attempt` (from 1): `5xx` and
/// `429` are retried after the `Retry-After` wait when there is one, at
/// most `longest`, else after [`backoff`]`(first_backoff, attempt)`.
pub fn wait_before_retry(
    status: u16,
    retry_after_header: Option<&str>,
    attempt: u32,
    first_backoff: Duration,
    longest: Duration,
    now: jiff::Timestamp,
) -> Wait {
    if !retryable_status(status) {
        return Wait::No;
    }
    match retry_after_header.and_then(|value| retry_after(value, now)) {
        Some(wait) if wait > longest => Wait::TooLong(wait),
        Some(wait) => Wait::Retry(wait),
        None => Wait::Retry(backoff(first_backoff, attempt)),
    }
}

/// `503 Service Unavailable`: the code and its canonical reason.
pub fn status_text(status: u16) -> String {
    let reason = ureq::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// `url` (absolute, or a path with a query) without secrets: its userinfo
/// (`user:password@`) and the values of [`SECRET_PARAMETERS`] in its query
/// become [`REDACTED`].
pub fn redact(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (url, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = match path.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{REDACTED}@{host}{tail}"),
                None => path.to_owned(),
            }
        }
        None => path.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Whether query parameter `name` holds a secret.
pub fn is_secret(name: &str) -> bool {
    SECRET_PARAMETERS.iter().any(|secret| secret.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait() {
        let first = Duration::from_millis(100);
        let waits: Vec<u128> = (1..=4).map(|a| backoff(first, a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
        assert_eq!(backoff(first, 40), first * 1024);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Fri, 02 Jan 2026 03:05:05 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after("Fri, 02 Jan 2026 03:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn the_shared_rule_retries_5xx_and_429_only() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let (first, longest) = (Duration::from_secs(1), Duration::from_secs(60));
        let wait = |status, header, attempt| wait_before_retry(status, header, attempt, first, longest, now);
        assert_eq!(wait(200, None, 1), Wait::No);
        assert_eq!(wait(404, Some("1"), 1), Wait::No);
        assert_eq!(wait(503, None, 2), Wait::Retry(Duration::from_secs(2)));
        assert_eq!(wait(429, Some("5"), 3), Wait::Retry(Duration::from_secs(5)));
        assert_eq!(wait(429, Some("3600"), 1), Wait::TooLong(Duration::from_secs(3600)));
        assert_eq!(wait(502, Some("junk"), 1), Wait::Retry(first));
    }

    #[test]
    fn status_text_names_the_reason() {
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(299), "299");
    }

    #[test]
    fn urls_lose_credentials_and_token_parameters() {
        assert_eq!(
            redact("https://user:ghp_s3cret@example.test/a?b=1&access_token=ghp_s3cret#f"),
            "https://[redacted]@example.test/a?b=1&access_token=[redacted]#f"
        );
        assert_eq!(redact("/repos/o/r?TOKEN=x&page=2"), "/repos/o/r?TOKEN=[redacted]&page=2");
        assert_eq!(redact("http://h:5000/v2/a?scope=repo:a:pull"), "http://h:5000/v2/a?scope=repo:a:pull");
        assert_eq!(redact("https://h/p@q"), "https://h/p@q");
    }
}

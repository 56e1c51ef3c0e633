//! The blocking client: one request, its retries and its bounded body.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ureq::ResponseExt as _;
use ureq::http::Response;

use crate::{Failure, HttpError, Limits, Wait, backoff, redact, status_text, wait_before_retry};

/// How often a wait asks the cancellation callback.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// The methods the clients send: reads only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
}

impl Method {
    /// `GET` or `HEAD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// One request: method, URL, query parameters and headers. Its `Debug`
/// shows header names only and the URL redacted.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.shown_url())
            .field("headers", &names)
            .finish()
    }
}

impl Request {
    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: Method::Get, url: url.into(), query: Vec::new(), headers: Vec::new() }
    }

    /// `HEAD url`.
    pub fn head(url: impl Into<String>) -> Self {
        Self { method: Method::Head, ..Self::get(url) }
    }

    /// Adds query parameter `name=value` (percent-encoded when sent).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds header `name: value`; values never appear in errors.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL and query as errors show them: unencoded, secrets redacted.
    pub fn shown_url(&self) -> String {
        let mut url = self.url.clone();
        for (i, (name, value)) in self.query.iter().enumerate() {
            url.push(if i == 0 && !self.url.contains('?') { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.push_str(value);
        }
        redact(&url)
    }

    /// `METHOD url`, as errors name the request ([`Request::shown_url`]).
    pub fn name(&self) -> String {
        format!("{} {}", self.method.as_str(), self.shown_url())
    }

    /// The error `failure` makes of this request after `attempts` attempts.
    pub fn error(&self, failure: Failure, attempts: u32) -> HttpError {
        HttpError { method: self.method.as_str().to_owned(), url: self.shown_url(), attempts, failure }
    }
}

/// Sends requests within [`Limits`], retrying as the crate documentation says.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    limits: Limits,
    sent: AtomicUsize,
}

impl Client {
    /// A client that sends to `http` and `https` URLs.
    pub fn new(limits: Limits) -> Self {
        Self::build(limits, false)
    }

    /// A client that refuses plain `http` URLs and redirects to them.
    pub fn https_only(limits: Limits) -> Self {
        Self::build(limits, true)
    }

    fn build(limits: Limits, https_only: bool) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(https_only)
            .timeout_connect(Some(limits.connect_timeout))
            .timeout_global(Some(limits.request_timeout))
            .max_redirects(limits.max_redirects)
            .user_agent(concat!("release-check/", env!("CARGO_PKG_VERSION")))
            // The system's trust store (with SSL_CERT_FILE and SSL_CERT_DIR),
            // as pip, docker and skopeo use: a server behind a company proxy
            // or a private CA is reachable when they can reach it.
            .tls_config(
                ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build(),
            )
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            crate::resolver::LiteralFirst::default(),
        );
        Self { agent, limits, sent: AtomicUsize::new(0) }
    }

    /// The bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many attempts were sent so far, retries included.
    pub fn requests(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends `request` until it gets an answer that is not retried, or the
    /// retries run out, or `cancelled` says so. Any final status is an
    /// [`Answer`]; only failing to get one is an error.
    pub fn send(&self, request: &Request, cancelled: &dyn Fn() -> bool) -> Result<Answer, HttpError> {
        let mut attempt = 0;
        loop {
            if cancelled() {
                return Err(request.error(Failure::Cancelled, attempt));
            }
            attempt += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
            let last = attempt > self.limits.retries;
            let wait = match self.call(request) {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let header = response.headers().get("retry-after").and_then(|v| v.to_str().ok());
                    let wait = wait_before_retry(
                        status,
                        header,
                        attempt,
                        self.limits.backoff,
                        self.limits.max_rate_limit_wait,
                        jiff::Timestamp::now(),
                    );
                    match wait {
                        Wait::No => {
                            return Ok(Answer {
                                response,
                                request: request.clone(),
                                attempts: attempt,
                                limits: self.limits,
                            });
                        }
                        Wait::TooLong(wait) => {
                            let status = status_text(status);
                            let longest = self.limits.max_rate_limit_wait;
                            return Err(
                                request.error(Failure::RateLimited { status, wait, longest }, attempt)
                            );
                        }
                        Wait::Retry(_) if last => {
                            let failure =
                                Failure::Unavailable { status: status_text(status), attempts: attempt };
                            return Err(request.error(failure, attempt));
                        }
                        Wait::Retry(wait) => wait,
                    }
                }
                Err(error) => {
                    let (failure, retried) = classify(error, &self.limits, attempt);
                    if !retried || last {
                        return Err(request.error(failure, attempt));
                    }
                    backoff(self.limits.backoff, attempt)
                }
            };
            sleep(wait, cancelled).map_err(|failure| request.error(failure, attempt))?;
        }
    }

    fn call(&self, request: &Request) -> Result<Response<ureq::Body>, ureq::Error> {
        let mut builder = match request.method {
            Method::Get => self.agent.get(&request.url),
            Method::Head => self.agent.head(&request.url),
        };
        for (name, value) in &request.query {
            builder = builder.query(name, value);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder.call()
    }
}

/// The failure `error` stands for, and whether it is worth another attempt.
fn classify(error: ureq::Error, limits: &Limits, attempts: u32) -> (Failure, bool) {
    match error {
        ureq::Error::Timeout(ureq::Timeout::Connect) => (Failure::Timeout(limits.connect_timeout), true),
        ureq::Error::Timeout(_) => (Failure::Timeout(limits.request_timeout), true),
        ureq::Error::TooManyRedirects => (Failure::Redirects(limits.max_redirects), false),
        ureq::Error::RequireHttpsOnly(_) => (Failure::HttpsOnly, false),
        ureq::Error::BodyExceedsLimit(_) => (Failure::TooLarge(limits.max_body), false),
        // A bad certificate or a malformed URL does not get better.
        error @ (ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::BadUri(_)) => {
            (Failure::Transport { message: error.to_string(), attempts }, false)
        }
        other => (Failure::Transport { message: other.to_string(), attempts }, true),
    }
}

/// Waits `wait`, asking `cancelled` every [`CANCEL_POLL`].
fn sleep(wait: Duration, cancelled: &dyn Fn() -> bool) -> Result<(), Failure> {
    let until = Instant::now() + wait;
    loop {
        if cancelled() {
            return Err(Failure::Cancelled);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(CANCEL_POLL));
    }
}

/// A final answer: its status, headers and a body still to be read.
#[derive(Debug)]
pub struct Answer {
    response: Response<ureq::Body>,
    request: Request,
    attempts: u32,
    limits: Limits,
}

impl Answer {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// The first value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`; `None` for one that is not text.
    pub fn header_all(&self, name: &str) -> Vec<Option<&str>> {
        self.response.headers().get_all(name).iter().map(|v| v.to_str().ok()).collect()
    }

    /// The URL that answered, after redirects.
    pub fn final_url(&self) -> String {
        self.response.get_uri().to_string()
    }

    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The request it answers.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The error `failure` makes of this answer's request.
    pub fn error(&self, failure: Failure) -> HttpError {
        self.request.error(failure, self.attempts)
    }

    /// The error of a status the caller cannot use: `answered 403 Forbidden`.
    pub fn unusable(&self) -> HttpError {
        self.error(Failure::Status(status_text(self.status())))
    }

    /// The body, up to [`Limits::max_body`] bytes.
    pub fn read_body(&mut self) -> Result<Vec<u8>, HttpError> {
        self.read_body_up_to(self.limits.max_body)
    }

    /// The body, up to `limit` bytes; a longer body is [`Failure::TooLarge`].
    pub fn read_body_up_to(&mut self, limit: u64) -> Result<Vec<u8>, HttpError> {
        let read = self.response.body_mut().with_config().limit(limit).read_to_vec();
        read.map_err(|error| {
            let failure = match error {
                ureq::Error::BodyExceedsLimit(_) => Failure::TooLarge(limit),
                other => classify(other, &self.limits, 1).0,
            };
            self.error(failure)
        })
    }
}

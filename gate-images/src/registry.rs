//! Whether each pinned image exists in its registry, asked over the OCI
//! distribution API: the `in-registry` check, off unless `check-registry = true`.
//!
//! For each distinct registry, repository and digest, the client sends
//! `HEAD /v2/<repository>/manifests/<digest>`, accepting OCI and Docker v2
//! manifests and indexes. A `401` with a `Bearer` challenge gets a pull
//! token from the challenge's realm (with its `service` and
//! `scope=repository:<repository>:pull`), anonymously unless the environment
//! holds credentials for that registry, and the request is sent again with
//! it. When the manifest is an index (an OCI index or a Docker manifest
//! list), it is fetched with `GET`, its SHA-256 is compared with the digest,
//! and the platforms it lists are reported. Only `HEAD` and `GET` are sent.
//!
//! Every request has a connect timeout and an overall timeout; `5xx` and
//! `429` answers are retried a bounded number of times with backoff;
//! redirects are followed at most [`Limits::max_redirects`] times, without
//! the `Authorization` header; answers are read up to [`Limits::max_body`]
//! bytes. HTTPS is required, except for the registries listed in
//! `insecure-registries`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use gate_core::{CancelToken, Context, Evidence, GateOutcome};
use oci_spec::image::{ImageIndex, Platform};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use ureq::ResponseExt as _;
use ureq::http::{Response, StatusCode};

use crate::reference::{self, ImageRef};
use crate::{Check, Config, Reference, bounded_list};

/// The check's id.
pub const CHECK: &str = Check::InRegistry.id();

/// The OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The Docker v2 manifest list media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The Docker v2 image manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The media types manifest requests accept.
pub const MEDIA_TYPES: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// The environment variable naming the registry the credentials are for.
pub const ENV_HOST: &str = "RELEASE_CHECK_REGISTRY_HOST";
/// The environment variable holding the user name.
pub const ENV_USER: &str = "RELEASE_CHECK_REGISTRY_USER";
/// The environment variable holding the password or access token.
pub const ENV_PASSWORD: &str = "RELEASE_CHECK_REGISTRY_PASSWORD";

/// Most registry requests in flight at once (`run.jobs` may lower it).
const MAX_PARALLEL: usize = 8;

/// Bounds on every registry request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for a connection, TLS handshake included.
    pub connect_timeout: Duration,
    /// Longest time one request may take, redirects and the answer's body included.
    pub request_timeout: Duration,
    /// How many times a `5xx` or `429` answer is retried.
    pub retries: u32,
    /// The wait before the first retry, doubled before each next one.
    pub backoff: Duration,
    /// Most redirects followed for one request.
    pub max_redirects: u32,
    /// Largest manifest or token answer read, in bytes.
    pub max_body: u64,
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
        }
    }
}

/// A user name and password (or access token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    registry: String,
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("registry", &self.registry)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Why the credentials in the environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// One of user and password without the other.
    #[error("set both RELEASE_CHECK_REGISTRY_USER and RELEASE_CHECK_REGISTRY_PASSWORD, or neither")]
    Incomplete,
    /// Credentials without the registry they are for.
    #[error(
        "RELEASE_CHECK_REGISTRY_USER is set, but RELEASE_CHECK_REGISTRY_HOST (the registry the credentials are for, e.g. `quay.io`) is not"
    )]
    NoHost,
    /// A registry that is not `host[:port]`.
    #[error("RELEASE_CHECK_REGISTRY_HOST: {0}")]
    BadHost(String),
}

impl Credentials {
    /// Credentials sent to `registry` (as written in image references) only.
    pub fn new(registry: &RegistryHost, user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { registry: registry.0.clone(), user: user.into(), password: password.into() }
    }

    /// The credentials `var` gives for [`ENV_HOST`], [`ENV_USER`] and
    /// [`ENV_PASSWORD`]; none when neither user nor password is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, CredentialsError> {
        let set = |name| var(name).filter(|v| !v.is_empty());
        match (set(ENV_USER), set(ENV_PASSWORD)) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) => {
                let host = set(ENV_HOST).ok_or(CredentialsError::NoHost)?;
                let registry = RegistryHost::try_from(host).map_err(CredentialsError::BadHost)?;
                Ok(Some(Self::new(&registry, user, password)))
            }
            _ => Err(CredentialsError::Incomplete),
        }
    }

    /// The credentials in this process's environment.
    pub fn from_env() -> Result<Option<Self>, CredentialsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// `Basic <base64(user:password)>`.
    fn basic(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// How the gate reaches registries: request limits and credentials.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Bounds on every request.
    pub limits: Limits,
    /// Credentials for one registry; every other registry is asked anonymously.
    pub credentials: Option<Credentials>,
}

/// A registry as written in image references: `host` or `host:port`
/// (`quay.io`, `127.0.0.1:5000`), checked when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RegistryHost(String);

impl TryFrom<String> for RegistryHost {
    type Error = String;

    /// Checks `text` by the reference grammar: it must be the registry that
    /// the reference `<text>/name` names.
    fn try_from(text: String) -> Result<Self, String> {
        let named = !text.contains(['/', '@'])
            && reference::parse(&format!("{text}/name")).is_ok_and(|image| image.registry == text);
        if named {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not a registry: expected `host` or `host:port` as written in an image reference, e.g. `quay.io` or `127.0.0.1:5000`"
            ))
        }
    }
}

impl RegistryHost {
    /// The host and port.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One manifest to ask about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The registry as written in references (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// The repository (`library/debian`).
    pub repository: String,
    /// The digest, `<algorithm>:<hex>`.
    pub digest: String,
}

impl Target {
    /// The manifest a reference pins; none for a reference without a digest.
    pub fn of(image: &ImageRef) -> Option<Self> {
        Some(Self {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            digest: image.digest.clone()?,
        })
    }

    /// The host that serves the registry's API: Docker Hub's is `registry-1.docker.io`.
    pub fn api_host(&self) -> &str {
        match self.registry.as_str() {
            "docker.io" => "registry-1.docker.io",
            other => other,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.registry, self.repository, self.digest)
    }
}

/// What the registry said about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// The registry has it.
    Found(Manifest),
    /// The registry answered `404`.
    Missing {
        /// The manifest's address.
        url: String,
    },
}

/// A manifest the registry has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest's address.
    pub url: String,
    /// Where the answer came from, when a redirect led elsewhere.
    pub redirected_to: Option<String>,
    /// The media type the registry gave, empty if none.
    pub media_type: String,
    /// For an index: the platform of each manifest it lists (`linux/arm64/v8`).
    pub platforms: Option<Vec<String>>,
}

/// A request that did not give an answer the check can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{request}: {problem}")]
pub struct RegistryError {
    /// The request, `METHOD url`.
    pub request: String,
    /// What went wrong.
    pub problem: Problem,
}

/// What went wrong with a registry request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The digest is not `sha256:<64 lowercase hex>`.
    #[error("unsupported digest `{0}`: only sha256 digests can be checked")]
    Digest(String),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection, TLS or protocol failure.
    #[error("{0}")]
    Transport(String),
    /// A redirect to plain HTTP, or a plain HTTP registry not listed as insecure.
    #[error("refused to use plain HTTP: list the registry in [gates.images] insecure-registries to allow it")]
    HttpsOnly,
    /// Too many redirects.
    #[error("more than {0} redirects")]
    Redirects(u32),
    /// A server error or rate limit, still there after the retries.
    #[error("answered {status} {attempts} times")]
    Unavailable {
        /// The status line's code and reason.
        status: String,
        /// How many times it was asked.
        attempts: u32,
    },
    /// A status the check cannot interpret.
    #[error("answered {0}")]
    Status(String),
    /// A `401` that needs credentials the environment does not give.
    #[error(
        "the registry asks for credentials ({0}); set RELEASE_CHECK_REGISTRY_HOST, RELEASE_CHECK_REGISTRY_USER and RELEASE_CHECK_REGISTRY_PASSWORD"
    )]
    NeedsCredentials(String),
    /// A `401` without a usable challenge.
    #[error("answered 401 Unauthorized with no usable WWW-Authenticate challenge: {0}")]
    Challenge(String),
    /// Still `401` after authenticating.
    #[error(
        "answered 401 Unauthorized even with {0}: the repository is private, does not exist, or the credentials are wrong"
    )]
    Denied(&'static str),
    /// The token endpoint's answer holds no token.
    #[error("the answer holds no token: {0}")]
    NoToken(String),
    /// An answer larger than [`Limits::max_body`].
    #[error("the answer is larger than {0} bytes")]
    TooLarge(u64),
    /// The registry named another digest than the one asked for.
    #[error("answered with Docker-Content-Digest {0}, not the digest asked for")]
    OtherDigest(String),
    /// The body's SHA-256 is not the digest.
    #[error("the manifest's SHA-256 is sha256:{0}, not the digest asked for")]
    BodyDigest(String),
    /// An index that does not parse.
    #[error("not a valid image index: {0}")]
    BadIndex(String),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// One `WWW-Authenticate` challenge: a scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `Bearer`, `Basic`, …
    pub scheme: String,
    /// The parameters, names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` header value (RFC 9110 §11.6.1): one or more
/// challenges, each a scheme and comma-separated `name=value` parameters,
/// values as tokens or quoted strings (which may hold commas and `\` escapes).
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, String> {
    fn is_tchar(c: char) -> bool {
        c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
    }
    let chars: Vec<char> = header.chars().collect();
    let mut at = 0;
    let skip_space = |at: &mut usize| {
        while chars.get(*at).is_some_and(|c| *c == ' ' || *c == '\t') {
            *at += 1;
        }
    };
    let token = |at: &mut usize| {
        let start = *at;
        while chars.get(*at).is_some_and(|c| is_tchar(*c)) {
            *at += 1;
        }
        chars[start..*at].iter().collect::<String>()
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        while chars.get(at).is_some_and(|c| matches!(c, ' ' | '\t' | ',')) {
            at += 1;
        }
        if at >= chars.len() {
            break;
        }
        let scheme = token(&mut at);
        if scheme.is_empty() {
            return Err(format!("expected an authentication scheme at character {}", at + 1));
        }
        let mut challenge = Challenge { scheme, params: Vec::new() };
        loop {
            skip_space(&mut at);
            let start = at;
            let name = token(&mut at);
            skip_space(&mut at);
            if name.is_empty() || chars.get(at) != Some(&'=') {
                // The next challenge's scheme, or the end.
                at = start;
                break;
            }
            at += 1;
            skip_space(&mut at);
            let value = if chars.get(at) == Some(&'"') {
                at += 1;
                let mut value = String::new();
                loop {
                    match chars.get(at) {
                        None => return Err(format!("unterminated quoted value of `{name}`")),
                        Some('"') => break,
                        Some('\\') => {
                            at += 1;
                            value.extend(chars.get(at));
                        }
                        Some(c) => value.push(*c),
                    }
                    at += 1;
                }
                at += 1;
                value
            } else {
                token(&mut at)
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
            skip_space(&mut at);
            match chars.get(at) {
                Some(',') => at += 1,
                None => break,
                Some(c) => return Err(format!("unexpected `{c}` after the value of `{name}`")),
            }
        }
        challenges.push(challenge);
    }
    Ok(challenges)
}

/// `<status code> <reason>`.
fn status_text(status: StatusCode) -> String {
    format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim_end().to_owned()
}

/// The token endpoint's answer (Docker's token specification).
#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// Asks registries about manifests, reusing pull tokens across requests.
#[derive(Debug)]
pub struct Client {
    https: ureq::Agent,
    http: ureq::Agent,
    insecure: Vec<RegistryHost>,
    options: Options,
    accept: String,
    tokens: Mutex<HashMap<(String, String), String>>,
}

impl Client {
    /// A client; `insecure` registries are asked over plain HTTP.
    pub fn new(options: Options, insecure: &[RegistryHost]) -> Self {
        let agent = |https_only: bool| -> ureq::Agent {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .https_only(https_only)
                .timeout_connect(Some(options.limits.connect_timeout))
                .timeout_global(Some(options.limits.request_timeout))
                .max_redirects(options.limits.max_redirects)
                .user_agent(concat!("release-check/", env!("CARGO_PKG_VERSION")))
                // The system's trust store (SSL_CERT_FILE, SSL_CERT_DIR), as
                // docker and skopeo use: a registry behind a private CA works.
                .tls_config(
                    ureq::tls::TlsConfig::builder()
                        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                        .build(),
                )
                .build()
                .into()
        };
        Self {
            https: agent(true),
            http: agent(false),
            insecure: insecure.to_vec(),
            options,
            accept: MEDIA_TYPES.join(", "),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.iter().any(|h| h.as_str() == registry)
    }

    fn agent(&self, registry: &str) -> &ureq::Agent {
        if self.is_insecure(registry) { &self.http } else { &self.https }
    }

    /// `http[s]://<api host>/v2/<repository>/manifests/<digest>`.
    pub fn manifest_url(&self, target: &Target) -> String {
        let scheme = if self.is_insecure(&target.registry) { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}/manifests/{}", target.api_host(), target.repository, target.digest)
    }

    /// Whether the registry has `target`'s manifest and, for an index, its platforms.
    pub fn check(&self, target: &Target, cancel: &CancelToken) -> Result<Presence, RegistryError> {
        let url = self.manifest_url(target);
        let fail = |method: &str, problem| RegistryError { request: format!("{method} {url}"), problem };
        if !target.digest.starts_with("sha256:") || reference::parse_digest(&target.digest).is_none() {
            return Err(fail("HEAD", Problem::Digest(target.digest.clone())));
        }
        let response = self.send(target, "HEAD", &url, cancel)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(Presence::Missing { url }),
            other => return Err(fail("HEAD", Problem::Status(status_text(other)))),
        }
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        if let Some(digest) = header("docker-content-digest")
            && digest != target.digest
        {
            return Err(fail("HEAD", Problem::OtherDigest(digest.to_owned())));
        }
        let media_type = header("content-type").map_or("", |t| t.split(';').next().unwrap_or("").trim());
        let answered = response.get_uri().to_string();
        let found = Manifest {
            redirected_to: (answered != url).then_some(answered),
            media_type: media_type.to_owned(),
            platforms: None,
            url: url.clone(),
        };
        if media_type != OCI_INDEX && media_type != DOCKER_LIST {
            return Ok(Presence::Found(found));
        }
        let platforms = self.platforms(target, &url, cancel)?;
        Ok(Presence::Found(Manifest { platforms: Some(platforms), ..found }))
    }

    /// `GET`s the index at `url`, checks its digest and lists its platforms.
    fn platforms(
        &self,
        target: &Target,
        url: &str,
        cancel: &CancelToken,
    ) -> Result<Vec<String>, RegistryError> {
        let fail = |problem| RegistryError { request: format!("GET {url}"), problem };
        let mut response = self.send(target, "GET", url, cancel)?;
        if response.status() != StatusCode::OK {
            return Err(fail(Problem::Status(status_text(response.status()))));
        }
        let body = self.read_body(&mut response).map_err(fail)?;
        let actual: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
        if target.digest.strip_prefix("sha256:") != Some(actual.as_str()) {
            return Err(fail(Problem::BodyDigest(actual)));
        }
        let index =
            ImageIndex::from_reader(body.as_slice()).map_err(|e| fail(Problem::BadIndex(e.to_string())))?;
        Ok(index
            .manifests()
            .iter()
            .map(|m| m.platform().as_ref().map_or_else(|| "no platform given".to_owned(), platform_text))
            .collect())
    }

    fn read_body(&self, response: &mut Response<ureq::Body>) -> Result<Vec<u8>, Problem> {
        response
            .body_mut()
            .with_config()
            .limit(self.options.limits.max_body)
            .read_to_vec()
            .map_err(|e| self.problem(e))
    }

    fn problem(&self, error: ureq::Error) -> Problem {
        let limits = &self.options.limits;
        match error {
            ureq::Error::Timeout(ureq::Timeout::Connect) => Problem::Timeout(limits.connect_timeout),
            ureq::Error::Timeout(_) => Problem::Timeout(limits.request_timeout),
            ureq::Error::TooManyRedirects => Problem::Redirects(limits.max_redirects),
            ureq::Error::RequireHttpsOnly(_) => Problem::HttpsOnly,
            ureq::Error::BodyExceedsLimit(_) => Problem::TooLarge(limits.max_body),
            other => Problem::Transport(other.to_string()),
        }
    }

    /// Sends `method url` with a cached token if there is one; on `401`,
    /// authenticates once as the challenge asks and sends it again.
    fn send(
        &self,
        target: &Target,
        method: &str,
        url: &str,
        cancel: &CancelToken,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let request = format!("{method} {url}");
        let key = (target.registry.clone(), target.repository.clone());
        let cached = self.tokens.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let mut authorization = cached.map(|token| format!("Bearer {token}"));
        let mut fresh = false;
        loop {
            let agent = self.agent(&target.registry);
            let response = self.with_retries(&request, cancel, || {
                let builder = if method == "GET" { agent.get(url) } else { agent.head(url) };
                let builder = builder.header("Accept", &self.accept);
                match &authorization {
                    Some(value) => builder.header("Authorization", value).call(),
                    None => builder.call(),
                }
            })?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            let fail = |problem| RegistryError { request: request.clone(), problem };
            if fresh {
                let with = if authorization.as_deref().is_some_and(|a| a.starts_with("Basic")) {
                    "the credentials"
                } else {
                    "a pull token"
                };
                return Err(fail(Problem::Denied(with)));
            }
            let mut challenges = Vec::new();
            for value in response.headers().get_all("www-authenticate") {
                let text = value.to_str().map_err(|_| fail(Problem::Challenge("not ASCII".to_owned())))?;
                challenges.extend(parse_challenges(text).map_err(|e| fail(Problem::Challenge(e)))?);
            }
            let credentials = self.options.credentials.as_ref().filter(|c| c.registry == target.registry);
            let scheme = |name: &str| challenges.iter().find(|c| c.scheme.eq_ignore_ascii_case(name));
            authorization = Some(match (scheme("bearer"), scheme("basic")) {
                (Some(bearer), _) => {
                    let token = self.token(target, bearer, credentials, cancel)?;
                    self.tokens
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(key.clone(), token.clone());
                    format!("Bearer {token}")
                }
                (None, Some(_)) => match credentials {
                    Some(credentials) => credentials.basic(),
                    None => return Err(fail(Problem::NeedsCredentials("Basic".to_owned()))),
                },
                (None, None) => {
                    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
                    let what = if schemes.is_empty() {
                        "none given".to_owned()
                    } else {
                        format!("only {}", schemes.join(", "))
                    };
                    return Err(fail(Problem::Challenge(what)));
                }
            });
            fresh = true;
        }
    }

    /// A pull token from `challenge`'s realm for `target`'s repository.
    fn token(
        &self,
        target: &Target,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
        cancel: &CancelToken,
    ) -> Result<String, RegistryError> {
        let scope = format!("repository:{}:pull", target.repository);
        let Some(realm) = challenge.param("realm") else {
            return Err(RegistryError {
                request: format!("HEAD {}", self.manifest_url(target)),
                problem: Problem::Challenge("a Bearer challenge without a realm".to_owned()),
            });
        };
        let service = challenge.param("service");
        let request = match service {
            Some(service) => format!("GET {realm}?service={service}&scope={scope}"),
            None => format!("GET {realm}?scope={scope}"),
        };
        let fail = |problem| RegistryError { request: request.clone(), problem };
        let agent = self.agent(&target.registry);
        let mut response = self.with_retries(&request, cancel, || {
            let mut builder = agent.get(realm);
            if let Some(service) = service {
                builder = builder.query("service", service);
            }
            builder = builder.query("scope", &scope);
            match credentials {
                Some(credentials) => builder.header("Authorization", credentials.basic()).call(),
                None => builder.call(),
            }
        })?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if credentials.is_none() => {
                return Err(fail(Problem::NeedsCredentials(format!(
                    "the token endpoint answered {}",
                    status_text(response.status())
                ))));
            }
            other => return Err(fail(Problem::Status(status_text(other)))),
        }
        let body = self.read_body(&mut response).map_err(fail)?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| fail(Problem::NoToken(format!("not a JSON token answer ({e})"))))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(Problem::NoToken("neither `token` nor `access_token` is set".to_owned())))
    }

    /// Calls `send`, again after a backoff while it answers `5xx` or `429`.
    fn with_retries(
        &self,
        request: &str,
        cancel: &CancelToken,
        send: impl Fn() -> Result<Response<ureq::Body>, ureq::Error>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let fail = |problem| RegistryError { request: request.to_owned(), problem };
        let mut backoff = self.options.limits.backoff;
        let mut attempts = 0;
        loop {
            if cancel.is_cancelled() {
                return Err(fail(Problem::Cancelled));
            }
            attempts += 1;
            let response = send().map_err(|e| fail(self.problem(e)))?;
            let status = response.status();
            if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                return Ok(response);
            }
            if attempts > self.options.limits.retries {
                return Err(fail(Problem::Unavailable { status: status_text(status), attempts }));
            }
            std::thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
        }
    }
}

/// `os/architecture[/variant]`.
fn platform_text(platform: &Platform) -> String {
    let mut text = format!("{}/{}", platform.os(), platform.architecture());
    if let Some(variant) = platform.variant() {
        text.push('/');
        text.push_str(variant);
    }
    text
}

/// A media type in words.
fn describe_media_type(media_type: &str) -> String {
    match media_type {
        OCI_INDEX => "an OCI image index".to_owned(),
        OCI_MANIFEST => "an OCI image manifest".to_owned(),
        DOCKER_LIST => "a Docker manifest list".to_owned(),
        DOCKER_MANIFEST => "a Docker image manifest".to_owned(),
        "" => "a manifest of unstated type".to_owned(),
        other => format!("a manifest of type {other}"),
    }
}

/// The `in-registry` items: one per distinct pinned manifest among
/// `references`, asked at most `run.jobs` (and eight) at a time. Without
/// `check-registry`, only a note saying how to turn the check on.
pub fn check_references(
    references: &[Reference],
    config: &Config,
    options: Option<&Options>,
    ctx: &Context,
    outcome: &mut GateOutcome,
) {
    let mut groups: Vec<(Target, Vec<&Reference>)> = Vec::new();
    let mut index: HashMap<Target, usize> = HashMap::new();
    for reference in references {
        let Some(target) = reference.image.as_ref().ok().and_then(Target::of) else { continue };
        match index.get(&target) {
            Some(&i) => groups[i].1.push(reference),
            None => {
                index.insert(target.clone(), groups.len());
                groups.push((target, vec![reference]));
            }
        }
    }
    if groups.is_empty() {
        return;
    }
    if !config.check_registry {
        outcome.note(format!(
            "not asked whether the {} pinned image(s) exist in their registries (set check-registry = true under [gates.images] to ask)",
            groups.len()
        ));
        return;
    }
    let options = match options {
        Some(options) => options.clone(),
        None => {
            let credentials = Credentials::from_env().unwrap_or_else(|e| {
                outcome.push(
                    Check::InRegistry.error("credentials", format!("{e}; asking every registry anonymously")),
                );
                None
            });
            Options { credentials, ..Options::default() }
        }
    };
    let client = Client::new(options, &config.insecure_registries);
    let workers = ctx.jobs.clamp(1, MAX_PARALLEL).min(groups.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Presence, RegistryError>>> = vec![None; groups.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut answered = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((target, _)) = groups.get(i) else { break };
                        answered.push((i, client.check(target, &ctx.cancel)));
                    }
                    answered
                })
            })
            .collect();
        for handle in handles {
            for (i, result) in handle.join().unwrap_or_default() {
                results[i] = Some(result);
            }
        }
    });
    for ((target, members), result) in groups.iter().zip(results) {
        let subject = target.to_string();
        let mut item = match result {
            Some(Ok(Presence::Found(found))) => {
                let what = describe_media_type(&found.media_type);
                let mut item = match &found.platforms {
                    Some(platforms) => {
                        let listed: Vec<&str> = platforms.iter().map(String::as_str).collect();
                        Check::InRegistry
                            .pass(subject, format!("in the registry: {what} for {}", bounded_list(&listed)))
                            .with(Evidence::fact("platforms", bounded_list(&listed)))
                    }
                    None => Check::InRegistry.pass(subject, format!("in the registry: {what}")),
                }
                .with(Evidence::Url { url: found.url })
                .with(Evidence::fact("media type", found.media_type));
                if let Some(redirected_to) = found.redirected_to {
                    item = item.with(Evidence::fact("answered from", redirected_to));
                }
                item
            }
            Some(Ok(Presence::Missing { url })) => Check::InRegistry
                .fail(subject, format!("not in the registry: HEAD {url} answered 404 Not Found"))
                .with(Evidence::Url { url }),
            Some(Err(e)) => {
                Check::InRegistry.error(subject, format!("cannot tell whether the registry has it: {e}"))
            }
            None => {
                Check::InRegistry.error(subject, "cannot tell whether the registry has it: the check stopped")
            }
        };
        for member in members {
            item = item.at(member.location());
        }
        outcome.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_with_quotes_commas_and_escapes() {
        let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
        let parsed = parse_challenges(header).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].scheme, "Bearer");
        assert_eq!(parsed[0].param("realm"), Some("https://auth.example/token"));
        assert_eq!(parsed[0].param("service"), Some("registry.example"));
        assert_eq!(parsed[0].param("scope"), Some("repository:a/b:pull,push"));

        let parsed =
            parse_challenges(r#"Basic realm="a \"b\", c" , Bearer Realm=x,error=insufficient_scope"#)
                .unwrap();
        let schemes: Vec<&str> = parsed.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer"]);
        assert_eq!(parsed[0].param("realm"), Some(r#"a "b", c"#));
        assert_eq!(parsed[1].param("realm"), Some("x"));
        assert_eq!(parsed[1].param("error"), Some("insufficient_scope"));

        assert_eq!(parse_challenges("Negotiate").unwrap()[0].params, []);
        assert!(parse_challenges(r#"Bearer realm="open"#).unwrap_err().contains("unterminated"));
        assert!(parse_challenges(r#"Bearer realm="a" x"#).unwrap_err().contains("unexpected `x`"));
        assert!(parse_challenges("=x").unwrap_err().contains("scheme"));
    }

    #[test]
    fn registry_hosts_follow_the_reference_grammar() {
        for good in ["quay.io", "127.0.0.1:5000", "localhost", "localhost:5000", "registry.example:443"] {
            assert_eq!(RegistryHost::try_from(good.to_owned()).unwrap().as_str(), good);
        }
        for bad in ["", "quay", "quay.io/org", "http://quay.io", "quay.io:", "host:port", "a b", "x@y"] {
            assert!(
                RegistryHost::try_from(bad.to_owned())
                    .unwrap_err()
                    .contains("expected `host` or `host:port`"),
                "{bad}"
            );
        }
    }

    #[test]
    fn docker_hub_is_asked_at_its_api_host() {
        let image = reference::parse(&format!("debian@sha256:{}", "a".repeat(64))).unwrap();
        let target = Target::of(&image).unwrap();
        let client = Client::new(Options::default(), &[]);
        assert_eq!(
            client.manifest_url(&target),
            format!("https://registry-1.docker.io/v2/library/debian/manifests/sha256:{}", "a".repeat(64))
        );
        assert_eq!(target.to_string(), format!("docker.io/library/debian@sha256:{}", "a".repeat(64)));
        assert_eq!(Target::of(&reference::parse("debian:12").unwrap()), None);
        let insecure = [RegistryHost::try_from("127.0.0.1:5000".to_owned()).unwrap()];
        let image = reference::parse(&format!("127.0.0.1:5000/a/b@sha256:{}", "b".repeat(64))).unwrap();
        assert!(
            Client::new(Options::default(), &insecure)
                .manifest_url(&Target::of(&image).unwrap())
                .starts_with("http://127.0.0.1:5000/v2/a/b/manifests/")
        );
    }

    #[test]
    fn credentials_come_as_a_whole_and_never_show() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Credentials::from_vars(vars(&[])), Ok(None));
        assert_eq!(Credentials::from_vars(vars(&[(ENV_USER, "u")])), Err(CredentialsError::Incomplete));
        assert_eq!(
            Credentials::from_vars(vars(&[(ENV_USER, "u"), (ENV_PASSWORD, "p")])),
            Err(CredentialsError::NoHost)
        );
        assert!(matches!(
            Credentials::from_vars(vars(&[(ENV_USER, "u"), (ENV_PASSWORD, "p"), (ENV_HOST, "quay")])),
            Err(CredentialsError::BadHost(_))
        ));
        let credentials = Credentials::from_vars(vars(&[
            (ENV_USER, "robot"),
            (ENV_PASSWORD, "s3cret-value"),
            (ENV_HOST, "quay.io"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(credentials.basic(), "Basic cm9ib3Q6czNjcmV0LXZhbHVl");
        let shown = format!("{credentials:?}");
        assert!(shown.contains("robot") && !shown.contains("s3cret"), "{shown}");
    }
}

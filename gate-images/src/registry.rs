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
//! Requests go through the shared HTTP layer (`http_layer`), within
//! [`Limits`]: a connect and an overall timeout; transport failures,
//! timeouts, `5xx` and `429` answers retried a bounded number of times with
//! backoff, `Retry-After` honoured up to a bound; redirects followed at most
//! [`Limits::max_redirects`] times, without the `Authorization` header;
//! answers read up to [`Limits::max_body`] bytes. HTTPS is required, except
//! for the registries listed in `insecure-registries`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use gate_core::digest::hex;
use gate_core::{CancelToken, Context, Evidence, GateOutcome};
use http_layer::{Answer, Failure, HttpError, Request, status_text};
use oci_spec::image::{ImageIndex, Platform};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

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

/// Bounds on every registry request: the shared HTTP layer's. Its defaults
/// are the registry's: 10 s to connect, 30 s per attempt, two retries from
/// 500 ms, five redirects, 4 MiB answers, a minute of `Retry-After`.
pub type Limits = http_layer::Limits;

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
    BadHost(reference::ConfigValueError),
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
    type Error = reference::ConfigValueError;

    /// Checks `text` by the reference grammar: it must be the registry that
    /// the reference `<text>/name` names.
    fn try_from(text: String) -> Result<Self, reference::ConfigValueError> {
        let named = !text.contains(['/', '@'])
            && reference::parse(&format!("{text}/name")).is_ok_and(|image| image.registry == text);
        if named { Ok(Self(text)) } else { Err(reference::ConfigValueError::NotARegistry(text)) }
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

impl From<HttpError> for RegistryError {
    fn from(error: HttpError) -> Self {
        let request = error.request();
        let problem = match error.failure {
            Failure::HttpsOnly => Problem::HttpsOnly,
            other => Problem::Http(other),
        };
        Self { request, problem }
    }
}

impl RegistryError {
    /// `problem` with `request`, named as the HTTP layer names it.
    fn of(request: &Request, problem: Problem) -> Self {
        Self { request: request.name(), problem }
    }
}

/// What went wrong with a registry request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The digest is not `sha256:<64 lowercase hex>`.
    #[error("unsupported digest `{0}`: only sha256 digests can be checked")]
    Digest(String),
    /// No usable answer: a timeout, a transport failure, a status the
    /// check cannot interpret, too many redirects, … (the HTTP layer's).
    #[error("{0}")]
    Http(Failure),
    /// A redirect to plain HTTP, or a plain HTTP registry not listed as insecure.
    #[error("refused to use plain HTTP: list the registry in [gates.images] insecure-registries to allow it")]
    HttpsOnly,
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
    /// The registry named another digest than the one asked for.
    #[error("answered with Docker-Content-Digest {0}, not the digest asked for")]
    OtherDigest(String),
    /// The body's SHA-256 is not the digest.
    #[error("the manifest's SHA-256 is sha256:{0}, not the digest asked for")]
    BodyDigest(String),
    /// An index that does not parse.
    #[error("not a valid image index: {0}")]
    BadIndex(String),
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

/// Why a `WWW-Authenticate` header value is not a list of challenges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// No scheme where a challenge starts.
    #[error("expected an authentication scheme at character {0}")]
    NoScheme(usize),
    /// A quoted value without its closing quote.
    #[error("unterminated quoted value of `{0}`")]
    Unterminated(String),
    /// Something other than `,` or the end after a parameter's value.
    #[error("unexpected `{found}` after the value of `{name}`")]
    Unexpected {
        /// What was found.
        found: char,
        /// The parameter before it.
        name: String,
    },
}

/// Parses a `WWW-Authenticate` header value (RFC 9110 §11.6.1): one or more
/// challenges, each a scheme and comma-separated `name=value` parameters,
/// values as tokens or quoted strings (which may hold commas and `\` escapes).
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
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
            return Err(ChallengeError::NoScheme(at + 1));
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
                        None => return Err(ChallengeError::Unterminated(name)),
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
                Some(&found) => return Err(ChallengeError::Unexpected { found, name }),
            }
        }
        challenges.push(challenge);
    }
    Ok(challenges)
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
    https: http_layer::Client,
    http: http_layer::Client,
    insecure: Vec<RegistryHost>,
    options: Options,
    accept: String,
    tokens: Mutex<HashMap<(String, String), String>>,
}

impl Client {
    /// A client; `insecure` registries are asked over plain HTTP.
    pub fn new(options: Options, insecure: &[RegistryHost]) -> Self {
        Self {
            https: http_layer::Client::https_only(options.limits),
            http: http_layer::Client::new(options.limits),
            insecure: insecure.to_vec(),
            options,
            accept: MEDIA_TYPES.join(", "),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.iter().any(|h| h.as_str() == registry)
    }

    fn agent(&self, registry: &str) -> &http_layer::Client {
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
        let fail = |problem| RegistryError { request: format!("HEAD {url}"), problem };
        if !target.digest.starts_with("sha256:") || reference::parse_digest(&target.digest).is_none() {
            return Err(fail(Problem::Digest(target.digest.clone())));
        }
        let answer = self.send(target, Request::head(&url), cancel)?;
        match answer.status() {
            200 => {}
            404 => return Ok(Presence::Missing { url }),
            _ => return Err(answer.unusable().into()),
        }
        let header = |name: &str| answer.header(name).map(str::trim);
        if let Some(digest) = header("docker-content-digest")
            && digest != target.digest
        {
            return Err(fail(Problem::OtherDigest(digest.to_owned())));
        }
        let media_type = header("content-type").map_or("", |t| t.split(';').next().unwrap_or("").trim());
        let answered = answer.final_url();
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
        let mut answer = self.send(target, Request::get(url), cancel)?;
        if answer.status() != 200 {
            return Err(answer.unusable().into());
        }
        let body = answer.read_body()?;
        let actual = hex(&Sha256::digest(&body));
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

    /// Sends `request` with a cached token if there is one; on `401`,
    /// authenticates once as the challenge asks and sends it again.
    fn send(&self, target: &Target, request: Request, cancel: &CancelToken) -> Result<Answer, RegistryError> {
        let request = request.header("Accept", &self.accept);
        let key = (target.registry.clone(), target.repository.clone());
        let cached = self.tokens.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let mut authorization = cached.map(|token| format!("Bearer {token}"));
        let mut fresh = false;
        loop {
            let authorized = match &authorization {
                Some(value) => request.clone().header("Authorization", value),
                None => request.clone(),
            };
            let answer = self.agent(&target.registry).send(&authorized, &|| cancel.is_cancelled())?;
            if answer.status() != 401 {
                return Ok(answer);
            }
            let fail = |problem| RegistryError::of(&request, problem);
            if fresh {
                let with = if authorization.as_deref().is_some_and(|a| a.starts_with("Basic")) {
                    "the credentials"
                } else {
                    "a pull token"
                };
                return Err(fail(Problem::Denied(with)));
            }
            let mut challenges = Vec::new();
            for value in answer.header_all("www-authenticate") {
                let text = value.ok_or_else(|| fail(Problem::Challenge("not ASCII".to_owned())))?;
                challenges
                    .extend(parse_challenges(text).map_err(|e| fail(Problem::Challenge(e.to_string())))?);
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
        let Some(realm) = challenge.param("realm") else {
            return Err(RegistryError {
                request: format!("HEAD {}", self.manifest_url(target)),
                problem: Problem::Challenge("a Bearer challenge without a realm".to_owned()),
            });
        };
        let mut request = Request::get(realm);
        if let Some(service) = challenge.param("service") {
            request = request.query("service", service);
        }
        request = request.query("scope", format!("repository:{}:pull", target.repository));
        let fail = |problem| RegistryError::of(&request, problem);
        let authorized = match credentials {
            Some(credentials) => request.clone().header("Authorization", credentials.basic()),
            None => request.clone(),
        };
        let mut answer = self.agent(&target.registry).send(&authorized, &|| cancel.is_cancelled())?;
        match answer.status() {
            200 => {}
            401 | 403 if credentials.is_none() => {
                return Err(fail(Problem::NeedsCredentials(format!(
                    "the token endpoint answered {}",
                    status_text(answer.status())
                ))));
            }
            _ => return Err(answer.unusable().into()),
        }
        let body = answer.read_body()?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| fail(Problem::NoToken(format!("not a JSON token answer ({e})"))))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(Problem::NoToken("neither `token` nor `access_token` is set".to_owned())))
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
mod tests;

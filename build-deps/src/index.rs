//! A package index client: the Simple API's project pages, PEP 691 JSON
//! (with PEP 700 `upload-time`) or, when the index serves only that, PEP 503
//! HTML; and the files they list, checked against their SHA-256.
//!
//! Blocking HTTP through the shared HTTP layer (`http_layer`), as the images
//! gate's registry client: connect and overall timeouts, transport failures,
//! timeouts, `5xx` and `429` retried a bounded number of times with backoff
//! (`Retry-After` honoured up to a bound), answers read up to a size cap,
//! URLs redacted in errors. Every answer
//! is cached on disk: project pages are revalidated with their `ETag`
//! (`If-None-Match`, a `304` reuses the cached body); files are immutable and
//! read from the cache without a request. Offline, only the cache is read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gate_core::CancelToken;
use http_layer::{Answer, Failure, HttpError, Request, redact};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use gate_core::digest::hex;
use gate_core::files::write_cache_entry;
use pip_requirements::normalise_name;

/// The `Accept` header of project page requests: PEP 691 JSON first.
pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// Bounds on every index request: the shared HTTP layer's, and a tighter
/// one for project pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Timeouts, retries, backoff, redirects, and in `max_body` the largest
    /// file (sdist or metadata file) read, in bytes.
    pub http: http_layer::Limits,
    /// Largest project page read, in bytes.
    pub max_page: u64,
}

impl Default for Limits {
    /// 10 s to connect, 60 s per attempt, two retries from 500 ms, five
    /// redirects, 64 MiB files, 16 MiB pages, a minute of `Retry-After`.
    fn default() -> Self {
        let http = http_layer::Limits {
            request_timeout: Duration::from_secs(60),
            max_body: 64 * 1024 * 1024,
            ..http_layer::Limits::default()
        };
        Self { http, max_page: 16 * 1024 * 1024 }
    }
}

/// One file a project page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFile {
    /// The file name (`name-1.0.tar.gz`).
    pub filename: String,
    /// The absolute URL, without its fragment.
    pub url: String,
    /// The SHA-256 the index gives, lowercase hex.
    pub sha256: Option<String>,
    /// When it was uploaded (PEP 700); HTML pages give none.
    pub upload_time: Option<Timestamp>,
    /// Whether it is yanked (PEP 592).
    pub yanked: bool,
    /// Why, when the index says.
    pub yanked_reason: Option<String>,
    /// The Pythons it supports (`Requires-Python`, PEP 345/503/691), as
    /// the index gives it.
    pub requires_python: Option<String>,
    /// Whether the index serves its core metadata at `<url>.metadata`
    /// (PEP 658/714), with the metadata file's SHA-256 when given.
    pub core_metadata: Option<Option<String>>,
}

/// A project's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPage {
    /// The URL it was read from.
    pub url: String,
    /// Whether it was PEP 691 JSON (else PEP 503 HTML).
    pub json: bool,
    /// The files, as listed.
    pub files: Vec<DistFile>,
}

impl ProjectPage {
    /// The files uploaded before `as_of`; a file without an upload time is
    /// kept (see [`ProjectPage::json`]).
    pub fn as_of(&self, as_of: Timestamp) -> impl Iterator<Item = &DistFile> {
        self.files.iter().filter(move |f| f.upload_time.is_none_or(|t| t < as_of))
    }
}

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{request}: {problem}")]
pub struct IndexError {
    /// `GET <url>`.
    pub request: String,
    /// What happened.
    pub problem: Problem,
}

impl From<HttpError> for IndexError {
    fn from(error: HttpError) -> Self {
        Self { request: error.request(), problem: Problem::Http(error.failure) }
    }
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No usable answer: cancelled, a timeout, a transport failure, a
    /// server error after the retries, a status that cannot be used, an
    /// answer larger than the cap (the HTTP layer's).
    #[error("{0}")]
    Http(Failure),
    /// The index does not have it.
    #[error("answered 404 Not Found: the index does not have it")]
    NotFound,
    /// A page that is neither PEP 691 JSON nor PEP 503 HTML.
    #[error("not a Simple API page: {0}")]
    Garbage(String),
    /// A file whose SHA-256 is not the one the index listed.
    #[error("SHA-256 is {actual}, the index lists {expected}")]
    Hash {
        /// Listed.
        expected: String,
        /// Read.
        actual: String,
    },
    /// Offline, and the answer is not in the cache.
    #[error("offline, and not in the cache ({0})")]
    NotCached(String),
    /// The cache could not be written.
    #[error("cannot write the cache: {0}")]
    Cache(String),
}

/// Reads an index, through an on-disk cache.
#[derive(Debug)]
pub struct Index {
    client: http_layer::Client,
    base: String,
    cache: PathBuf,
    offline: bool,
    limits: Limits,
    /// The pages read by this client, by URL: each is asked for once per run.
    pages: Mutex<HashMap<String, Arc<ProjectPage>>>,
}

impl Index {
    /// A client of the index at `url` (`https://pypi.org/simple/`), caching
    /// in `cache`; offline, it never sends a request.
    pub fn new(url: &str, cache: &Path, offline: bool, limits: Limits) -> Self {
        // The HTTP layer verifies with the system's trust store (with
        // SSL_CERT_FILE and SSL_CERT_DIR), as pip does: an index behind a
        // company proxy or with a private CA is reachable when pip can reach it.
        Self {
            client: http_layer::Client::new(limits.http),
            base: format!("{}/", url.trim_end_matches('/')),
            cache: cache.to_owned(),
            offline,
            limits,
            pages: Mutex::default(),
        }
    }

    /// How many requests were sent so far (retries included).
    pub fn requests(&self) -> usize {
        self.client.requests()
    }

    /// The URL of `name`'s project page.
    pub fn project_url(&self, name: &str) -> String {
        format!("{}{}/", self.base, normalise_name(name))
    }

    /// `name`'s project page, revalidated against the cache by `ETag` the
    /// first time this client asks for it, and kept for the next times.
    pub fn project(&self, name: &str, cancel: &CancelToken) -> Result<Arc<ProjectPage>, IndexError> {
        let url = self.project_url(name);
        let memo = |pages: &mut HashMap<String, Arc<ProjectPage>>| pages.get(&url).cloned();
        if let Some(page) = self.pages.lock().ok().as_deref_mut().and_then(memo) {
            return Ok(page);
        }
        let page = Arc::new(self.read_project(&url, cancel)?);
        if let Ok(mut pages) = self.pages.lock() {
            pages.insert(url, Arc::clone(&page));
        }
        Ok(page)
    }

    /// The page at `url`, through the disk cache.
    fn read_project(&self, url: &str, cancel: &CancelToken) -> Result<ProjectPage, IndexError> {
        let url = url.to_owned();
        let fail = |problem| IndexError { request: format!("GET {}", redact(&url)), problem };
        let cached = self.entry("pages", &url);
        // One file, `.page`, holds the ETag, the content type and the body's
        // SHA-256, a line each, then the body: a page torn by a crash (cache
        // entries are not synced) is not cached. One file, not two: creating
        // a file was most of what a cold run cost. Earlier releases wrote a
        // `.meta` file of these lines (two before the hash) beside a `.body`;
        // those are still read.
        let read_page = || -> Option<(String, String, Vec<u8>)> {
            let page = std::fs::read(cached.with_extension("page")).ok()?;
            let mut parts = page.splitn(4, |b| *b == b'\n');
            let mut line = || parts.next().and_then(|l| std::str::from_utf8(l).ok()).map(str::to_owned);
            let (etag, content_type, hash) = (line()?, line()?, line()?);
            let body = parts.next()?;
            (hash == hex(&Sha256::digest(body))).then(|| (etag, content_type, body.to_vec()))
        };
        let read_cached = || -> Option<(String, String, Vec<u8>)> {
            let meta = std::fs::read_to_string(cached.with_extension("meta")).ok()?;
            let mut lines = meta.split('\n');
            let (etag, content_type) = (lines.next()?, lines.next()?);
            let body = std::fs::read(cached.with_extension("body")).ok()?;
            match lines.next().filter(|hash| !hash.is_empty()) {
                Some(hash) if *hash != hex(&Sha256::digest(&body)) => None,
                _ => Some((etag.to_owned(), content_type.trim_end().to_owned(), body)),
            }
        };
        let previous = read_page().or_else(read_cached);
        let (content_type, body) = match (&previous, self.offline) {
            (Some((_, content_type, body)), true) => (content_type.clone(), body.clone()),
            (None, true) => return Err(fail(Problem::NotCached(self.cache.display().to_string()))),
            (_, false) => {
                let etag = previous.as_ref().map(|(etag, _, _)| etag.as_str()).filter(|e| !e.is_empty());
                let mut answer = self.get(&url, Some(ACCEPT), etag, cancel)?;
                match (answer.status(), previous) {
                    (304, Some((_, content_type, body))) => (content_type, body),
                    (200, _) => {
                        let header = |name| answer.header(name).unwrap_or("").to_owned();
                        let (etag, content_type) = (header("etag"), header("content-type"));
                        let body = answer.read_body_up_to(self.limits.max_page)?;
                        let mut page = format!(
                            "{}\n{}\n{}\n",
                            etag.replace(['\n', '\r'], ""),
                            content_type.replace(['\n', '\r'], ""),
                            hex(&Sha256::digest(&body))
                        )
                        .into_bytes();
                        page.extend_from_slice(&body);
                        write_cache_entry(&cached.with_extension("page"), &page)
                            .map_err(|e| fail(Problem::Cache(e.to_string())))?;
                        (content_type, body)
                    }
                    _ => return Err(unusable(&answer)),
                }
            }
        };
        parse_page(&url, &content_type, &body).map_err(fail)
    }

    /// The file at `url`, whose SHA-256 must be `sha256` when given; from
    /// the cache when it holds it.
    pub fn file(&self, url: &str, sha256: Option<&str>, cancel: &CancelToken) -> Result<Vec<u8>, IndexError> {
        let fail = |problem| IndexError { request: format!("GET {}", redact(url)), problem };
        let cached = self.entry("files", url);
        let checked = |body: Vec<u8>| -> Result<Vec<u8>, Problem> {
            let actual = hex(&Sha256::digest(&body));
            match sha256 {
                Some(expected) if !expected.eq_ignore_ascii_case(&actual) => {
                    Err(Problem::Hash { expected: expected.to_owned(), actual })
                }
                _ => Ok(body),
            }
        };
        // A file the page gives no hash for is checked against the hash
        // stored beside it: cache entries are not synced, so a crash may
        // have torn it.
        let beside = cached.with_extension("sha256");
        let intact = |body: &[u8]| {
            sha256.is_some()
                || std::fs::read_to_string(&beside)
                    .is_ok_and(|hash| hash.trim() == hex(&Sha256::digest(body)))
        };
        if let Ok(body) = std::fs::read(&cached)
            && intact(&body)
            && let Ok(body) = checked(body)
        {
            return Ok(body);
        }
        if self.offline {
            return Err(fail(Problem::NotCached(self.cache.display().to_string())));
        }
        let mut answer = self.get(url, None, None, cancel)?;
        if answer.status() != 200 {
            return Err(unusable(&answer));
        }
        let body = checked(answer.read_body()?).map_err(fail)?;
        write_cache_entry(&cached, &body)
            .and_then(|()| match sha256 {
                Some(_) => Ok(()),
                None => write_cache_entry(&beside, hex(&Sha256::digest(&body)).as_bytes()),
            })
            .map_err(|e| fail(Problem::Cache(e.to_string())))?;
        Ok(body)
    }

    /// The cache file of `url` in `kind`, named by the URL's SHA-256.
    fn entry(&self, kind: &str, url: &str) -> PathBuf {
        self.cache.join(kind).join(hex(&Sha256::digest(url.as_bytes())))
    }

    /// `GET url`, retried by the HTTP layer's rules.
    fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        etag: Option<&str>,
        cancel: &CancelToken,
    ) -> Result<Answer, HttpError> {
        let mut request = Request::get(url);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        self.client.send(&request, &|| cancel.is_cancelled())
    }
}

/// The error of a final status other than `200`.
fn unusable(answer: &Answer) -> IndexError {
    match answer.status() {
        404 => IndexError { request: answer.request().name(), problem: Problem::NotFound },
        _ => answer.unusable().into(),
    }
}

/// A project page, by its `Content-Type`: PEP 691 JSON or PEP 503 HTML.
pub fn parse_page(url: &str, content_type: &str, body: &[u8]) -> Result<ProjectPage, Problem> {
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media_type.as_str() {
        "application/vnd.pypi.simple.v1+json" => parse_json(url, body),
        "application/vnd.pypi.simple.v1+html" | "text/html" => parse_html(url, body),
        other => Err(Problem::Garbage(format!(
            "Content-Type `{other}`, expected application/vnd.pypi.simple.v1+json or text/html"
        ))),
    }
}

#[derive(Deserialize)]
struct JsonPage {
    meta: JsonMeta,
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonMeta {
    #[serde(rename = "api-version")]
    api_version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    upload_time: Option<String>,
    #[serde(default)]
    yanked: Option<serde_json::Value>,
    #[serde(default)]
    requires_python: Option<String>,
    #[serde(default)]
    core_metadata: Option<serde_json::Value>,
    #[serde(default)]
    data_dist_info_metadata: Option<serde_json::Value>,
}

/// A PEP 691 JSON page (API version 1.x); every error says where.
pub fn parse_json(url: &str, body: &[u8]) -> Result<ProjectPage, Problem> {
    let page: JsonPage = serde_json::from_slice(body).map_err(|e| {
        Problem::Garbage(format!("PEP 691 JSON expected, at line {} column {}: {e}", e.line(), e.column()))
    })?;
    if !page.meta.api_version.starts_with("1.") {
        return Err(Problem::Garbage(format!(
            "api-version {} is not 1.x, the only major version this client reads",
            page.meta.api_version
        )));
    }
    let mut files = Vec::with_capacity(page.files.len());
    for file in page.files {
        let upload_time = match &file.upload_time {
            Some(text) => Some(text.parse::<Timestamp>().map_err(|e| {
                Problem::Garbage(format!(
                    "{}: upload-time `{text}` is not an ISO 8601 time: {e}",
                    file.filename
                ))
            })?),
            None => None,
        };
        let truthy = |v: &Option<serde_json::Value>| match v {
            None | Some(serde_json::Value::Bool(false)) | Some(serde_json::Value::Null) => false,
            Some(_) => true,
        };
        let metadata = file.core_metadata.as_ref().or(file.data_dist_info_metadata.as_ref());
        let core_metadata = truthy(&metadata.cloned()).then(|| {
            metadata.and_then(|m| m.get("sha256")).and_then(|h| h.as_str()).map(str::to_ascii_lowercase)
        });
        files.push(DistFile {
            url: join(url, &file.url),
            sha256: file.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
            upload_time,
            yanked: truthy(&file.yanked),
            yanked_reason: file
                .yanked
                .as_ref()
                .and_then(|y| y.as_str())
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            requires_python: file.requires_python.filter(|r| !r.trim().is_empty()),
            core_metadata,
            filename: file.filename,
        });
    }
    Ok(ProjectPage { url: url.to_owned(), json: true, files })
}

/// A PEP 503 HTML page: its anchors, with `#sha256=` fragments and the
/// `data-yanked`, `data-core-metadata` and `data-dist-info-metadata`
/// attributes.
pub fn parse_html(url: &str, body: &[u8]) -> Result<ProjectPage, Problem> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Problem::Garbage(format!("PEP 503 HTML expected, but byte {} is not UTF-8", e.valid_up_to()))
    })?;
    let lower = text.to_ascii_lowercase();
    if !(lower.contains("<html") || lower.contains("<!doctype") || lower.contains("<a ")) {
        return Err(Problem::Garbage("PEP 503 HTML expected, found no <html> and no <a> element".to_owned()));
    }
    let mut files = Vec::new();
    let mut rest = 0;
    while let Some(found) = lower[rest..].find("<a ") {
        let start = rest + found;
        let (line, column) = line_column(text, start);
        let end = lower[start..].find('>').map(|n| start + n).ok_or_else(|| {
            Problem::Garbage(format!("line {line} column {column}: <a element not closed by `>`"))
        })?;
        let close = lower[end..].find("</a>").map_or(text.len(), |n| end + n);
        let tag = &text[start + 3..end];
        let attribute = |name: &str| attribute(tag, name);
        let href = attribute("href").ok_or_else(|| {
            Problem::Garbage(format!("line {line} column {column}: <a> element without href"))
        })?;
        let href = unescape(&href);
        let (link, fragment) = href.split_once('#').unwrap_or((&href, ""));
        let sha256 = fragment.strip_prefix("sha256=").map(str::to_ascii_lowercase);
        let metadata = attribute("data-core-metadata").or_else(|| attribute("data-dist-info-metadata"));
        let core_metadata =
            metadata.filter(|m| m != "false").map(|m| m.strip_prefix("sha256=").map(str::to_ascii_lowercase));
        files.push(DistFile {
            filename: unescape(text[end + 1..close].trim()),
            url: join(url, link),
            sha256,
            upload_time: None,
            yanked: attribute("data-yanked").is_some(),
            yanked_reason: attribute("data-yanked").map(|r| unescape(&r)).filter(|r| !r.is_empty()),
            requires_python: attribute("data-requires-python")
                .map(|r| unescape(&r))
                .filter(|r| !r.trim().is_empty()),
            core_metadata,
        });
        rest = close;
    }
    Ok(ProjectPage { url: url.to_owned(), json: false, files })
}

/// The value of attribute `name` in the inside of a tag, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let boundary = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[from..].trim_start();
        if !boundary
            || !(after.is_empty() || after.starts_with('=') || after.starts_with(char::is_whitespace))
        {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else { return Some(String::new()) };
        let offset = tag.len() - value.len();
        let value = tag[offset..].trim_start();
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or("").to_owned(),
            _ => value.split(char::is_whitespace).next().unwrap_or("").to_owned(),
        });
    }
    None
}

/// The HTML character references an index writes in attributes.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The 1-based line and column of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

/// `link` resolved against the page at `base` (RFC 3986, for the paths
/// indexes write: absolute URLs, host-relative `/path` and `../` relative).
pub fn join(base: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_owned();
    }
    let origin_end = base.find("://").map_or(0, |n| n + 3);
    let origin_end = base[origin_end..].find('/').map_or(base.len(), |n| origin_end + n);
    let origin = &base[..origin_end];
    if let Some(rest) = link.strip_prefix("//") {
        let scheme = base.split("://").next().unwrap_or("https");
        return format!("{scheme}://{rest}");
    }
    if link.starts_with('/') {
        return format!("{origin}{link}");
    }
    let path = &base[origin_end..];
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop();
    for segment in link.split('/') {
        match segment {
            "." => {}
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
            }
            other => segments.push(other),
        }
    }
    format!("{origin}{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page is cached in one `.page` file, checked when read: offline,
    /// a whole one is read, a torn one is not cached, and the `.meta` and
    /// `.body` pair of earlier releases is still read.
    #[test]
    fn a_cached_page_is_one_checked_file() {
        let dir = tempfile::tempdir().unwrap();
        let index = || Index::new("http://127.0.0.1:9/simple", dir.path(), true, Limits::default());
        let body = br#"{"meta": {"api-version": "1.1"}, "files": [{"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz", "hashes": {}}]}"#;
        let entry = index().entry("pages", &index().project_url("foo"));
        std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
        let head = format!("\"e1\"\napplication/vnd.pypi.simple.v1+json\n{}\n", hex(&Sha256::digest(body)));
        let whole = [head.as_bytes(), body].concat();
        let read = |index: Index| index.project("foo", &CancelToken::default()).map(|p| p.files.len());
        std::fs::write(entry.with_extension("page"), &whole).unwrap();
        assert_eq!(read(index()).unwrap(), 1);
        std::fs::write(entry.with_extension("page"), &whole[..whole.len() - 1]).unwrap();
        let torn = read(index()).unwrap_err().to_string();
        assert!(torn.contains("offline, and not in the cache"), "{torn}");
        std::fs::write(entry.with_extension("meta"), head).unwrap();
        std::fs::write(entry.with_extension("body"), body).unwrap();
        assert_eq!(read(index()).unwrap(), 1, "the earlier pair is not read");
    }

    #[test]
    fn links_resolve_against_the_page() {
        let page = "http://127.0.0.1:8/simple/foo/";
        assert_eq!(join(page, "../../files/foo-1.tar.gz"), "http://127.0.0.1:8/files/foo-1.tar.gz");
        assert_eq!(join(page, "foo-1.tar.gz"), "http://127.0.0.1:8/simple/foo/foo-1.tar.gz");
        assert_eq!(join(page, "/f/foo-1.tar.gz"), "http://127.0.0.1:8/f/foo-1.tar.gz");
        assert_eq!(join(page, "https://files.example/a"), "https://files.example/a");
    }

    #[test]
    fn html_pages_give_hashes_and_metadata_attributes() {
        let html = br#"<!DOCTYPE html><html><body>
<a href="../../f/foo-1.0.tar.gz#sha256=ABCD" data-core-metadata="sha256=EF01" data-yanked="">foo-1.0.tar.gz</a>
<a href='foo-2.0.tar.gz'>foo-2.0.tar.gz</a>
</body></html>"#;
        let page = parse_html("http://h/simple/foo/", html).unwrap();
        assert_eq!(page.files.len(), 2);
        assert_eq!(page.files[0].url, "http://h/f/foo-1.0.tar.gz");
        assert_eq!(page.files[0].sha256.as_deref(), Some("abcd"));
        assert_eq!(page.files[0].core_metadata, Some(Some("ef01".to_owned())));
        assert!(page.files[0].yanked);
        assert_eq!(page.files[1].filename, "foo-2.0.tar.gz");
        assert_eq!(page.files[1].core_metadata, None);
        assert!(!page.files[1].yanked);
    }

    #[test]
    fn garbage_is_located() {
        let error = parse_json("u", b"{\"meta\": {\"api-version\": \"1.1\"},\n \"files\": [}").unwrap_err();
        assert!(error.to_string().contains("line 2 column"), "{error}");
        let error = parse_page("u", "text/plain", b"hello").unwrap_err();
        assert!(error.to_string().contains("text/plain"), "{error}");
        let error = parse_html("u", b"just text").unwrap_err();
        assert!(error.to_string().contains("no <html>"), "{error}");
        let error = parse_json("u", br#"{"meta": {"api-version": "2.0"}, "files": []}"#).unwrap_err();
        assert!(error.to_string().contains("2.0"), "{error}");
    }
}

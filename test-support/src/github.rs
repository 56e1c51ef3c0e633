//! GitHub's real answers, recorded in the shared fixtures
//! (`github/NAME.json`, with the status and headers of `NAME.meta.json`)
//! and read in place: as JSON values to build objects from, or as wiremock
//! answers whose `Link` headers point at the fake server, as GitHub's
//! point at itself.

use serde_json::Value;
use wiremock::ResponseTemplate;

/// The API's origin in recorded headers, replaced by the fake's.
const API: &str = "https://api.github.com";

/// The JSON file `github/FILE` of the shared fixtures (`FILE` with its
/// extension). Panics naming the file when it cannot be read or parsed.
pub fn json(file: &str) -> Value {
    let path = crate::shared_fixture(&format!("github/{file}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A recorded answer: body, status, headers.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The body.
    pub body: Value,
    /// The status.
    pub status: u16,
    /// The recorded headers, as GitHub sent them.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    /// `github/NAME.json` and its status and headers from
    /// `github/NAME.meta.json` (200 and none when the meta file has none).
    pub fn read(name: &str) -> Self {
        let meta = json(&format!("{name}.meta.json"));
        let headers = meta["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        let status = meta["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(200);
        Self { body: json(&format!("{name}.json")), status, headers }
    }

    /// A 200 answer with `body` and no headers: for the answers the
    /// fixtures hold no recording of.
    pub fn ok(body: Value) -> Self {
        Self { body, status: 200, headers: Vec::new() }
    }

    /// The answer as wiremock sends it from `origin` (`http://127.0.0.1:PORT`):
    /// the body as JSON, every recorded header but `Content-Type`, and
    /// GitHub's own URLs in them (`Link`) pointing at `origin`.
    pub fn template(&self, origin: &str) -> ResponseTemplate {
        let body = serde_json::to_vec(&self.body).expect("a JSON value serialises");
        let mut template =
            ResponseTemplate::new(self.status).set_body_raw(body, "application/json; charset=utf-8");
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("content-type") {
                template = template.insert_header(name.as_str(), value.replace(API, origin).as_str());
            }
        }
        template
    }
}

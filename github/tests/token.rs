//! The token is sent to GitHub and to nothing else: no error, no `Debug`
//! output and no recording shows it, even when the server echoes it back.

use std::path::Path;
use std::time::Duration;

use github::{Client, Config, Error, Token};
use serde_json::{Value, json};
use test_support::github::Recorded;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Shaped like a personal access token, so that nothing treats it specially.
const CANARY: &str = "ghp_canary0123456789ABCDEFGHIJKLMNOPQRSTUV";

/// A recorded GitHub error answer from the shared fixtures, with its headers.
fn recorded(server: &MockServer, name: &str) -> ResponseTemplate {
    Recorded::read(name).template(&server.uri())
}

async fn mount(server: &MockServer, route: &str, template: ResponseTemplate) {
    Mock::given(method("GET")).and(path(route)).respond_with(template).mount(server).await;
}

fn client(api_url: String, record: &Path) -> Client {
    Client::new(Config {
        api_url,
        token: Some(Token::new(CANARY)),
        timeout: Duration::from_millis(500),
        retries: 1,
        backoff: Duration::from_millis(10),
        record: Some(record.to_owned()),
        ..Config::default()
    })
    .unwrap()
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} shows the token: {text}");
}

/// Every file of a recording, none showing the token or an `Authorization` header.
fn assert_recording_clean(dir: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_hidden(&path.display().to_string(), &text);
        assert!(!text.to_lowercase().contains("authorization"), "{}: {text}", path.display());
        texts.push(text);
    }
    assert!(!texts.is_empty(), "nothing was recorded");
    texts
}

#[tokio::test]
async fn the_token_is_sent_to_github() {
    let server = MockServer::start().await;
    mount(&server, "/user", ResponseTemplate::new(200).set_body_json(json!({"login": "octocat"}))).await;
    let dir = tempfile::tempdir().unwrap();
    let client = client(server.uri(), dir.path());
    let user: Value = client.get_json("/user").await.unwrap();
    assert_eq!(user["login"], "octocat");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let authorization = requests[0].headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(authorization.as_deref(), Some(format!("Bearer {CANARY}").as_str()));
}

/// Whether an error is the kind a route must give.
type IsExpected = fn(&Error) -> bool;

#[tokio::test]
async fn no_error_shows_the_token() {
    let server = MockServer::start().await;
    mount(&server, "/401", recorded(&server, "error.401-bad-credentials")).await;
    mount(&server, "/403", recorded(&server, "error.403-not-accessible-by-integration")).await;
    mount(&server, "/rate-limited", recorded(&server, "error.403-rate-limit")).await;
    mount(&server, "/404", recorded(&server, "error.404-not-found")).await;
    mount(&server, "/500", ResponseTemplate::new(500).set_body_raw("Internal Server Error", "text/plain"))
        .await;
    mount(&server, "/malformed", ResponseTemplate::new(200).set_body_raw("{\"login\": ", "application/json"))
        .await;
    mount(&server, "/stalled", ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    // A server (or a proxy) that repeats what it was sent.
    let echo = format!("Bad credentials: Bearer {CANARY}");
    mount(
        &server,
        "/echo-401",
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": echo}))
            .insert_header("link", echo.as_str()),
    )
    .await;
    mount(&server, "/echo-502", ResponseTemplate::new(502).set_body_raw(echo.clone(), "text/plain")).await;
    // The token JSON-escaped: the same string once parsed.
    let escaped = format!("{{\"message\": \"token \\u{:04x}{}\"}}", CANARY.as_bytes()[0], &CANARY[1..]);
    mount(&server, "/escaped-403", ResponseTemplate::new(403).set_body_raw(escaped, "application/json"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let client = client(server.uri(), dir.path());

    let expected: [(&str, IsExpected); 10] = [
        ("/401", |e| e.status() == Some(401)),
        ("/403", |e| e.status() == Some(403)),
        ("/rate-limited", |e| matches!(e, Error::RateLimited { .. })),
        ("/404", |e| e.status() == Some(404)),
        ("/500", |e| e.status() == Some(500)),
        ("/malformed", |e| matches!(e, Error::Malformed { .. })),
        ("/stalled", |e| matches!(e, Error::Timeout { .. })),
        ("/echo-401", |e| e.status() == Some(401)),
        ("/echo-502", |e| e.status() == Some(502)),
        ("/escaped-403", |e| e.status() == Some(403)),
    ];
    for (route, is_expected) in expected {
        let error = client.get_json::<Value>(route).await.unwrap_err();
        assert!(is_expected(&error), "{route}: {error:?}");
        assert!(error.to_string().starts_with(&format!("GET {route}: ")), "{error}");
        assert_hidden(route, &error.to_string());
        assert_hidden(route, &format!("{error:?}"));
    }
    let echoed = client.get_json::<Value>("/echo-401").await.unwrap_err();
    assert_eq!(echoed.to_string(), "GET /echo-401: HTTP 401: Bad credentials: Bearer [redacted]");

    // Nothing listens on this port any more.
    let port = test_support::http::closed_port();
    let refused = self::client(format!("http://127.0.0.1:{port}"), dir.path());
    let error = refused.get_json::<Value>("/user").await.unwrap_err();
    assert!(matches!(error, Error::Transport { attempts: 2, .. }), "{error:?}");
    assert_hidden("connection refused", &format!("{error} {error:?}"));

    assert_recording_clean(dir.path());
}

#[test]
fn debug_output_does_not_show_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _inside = runtime.enter();
    let client = client("http://127.0.0.1:9".into(), dir.path());
    for text in [
        format!("{:?}", client.config()),
        format!("{:#?}", client.config()),
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{:?}", Token::new(CANARY)),
    ] {
        assert_hidden("Debug", &text);
    }
    assert!(format!("{:?}", client.config()).contains("Token(redacted)"));
}

#[tokio::test]
async fn a_recording_never_holds_the_token_even_when_github_echoes_it() {
    let server = MockServer::start().await;
    // The token in the body (plain and JSON-escaped), in kept headers and in one that is not kept.
    let body = format!(
        "{{\"login\": \"octocat\", \"echo\": \"{CANARY}\", \"escaped\": \"\\u{:04x}{}\", \"{CANARY}\": 1}}",
        CANARY.as_bytes()[0],
        &CANARY[1..]
    );
    mount(
        &server,
        "/user",
        ResponseTemplate::new(200)
            .set_body_raw(body, "application/json; charset=utf-8")
            .insert_header("etag", format!("W/\"{CANARY}\"").as_str())
            .insert_header("location", format!("https://example.invalid/?token={CANARY}").as_str())
            .insert_header("x-echo", CANARY),
    )
    .await;
    mount(&server, "/text", ResponseTemplate::new(500).set_body_raw(format!("token={CANARY}"), "text/plain"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let client = client(server.uri(), dir.path());
    let user: Value = client.get_json("/user").await.unwrap();
    assert_eq!(user["login"], "octocat");
    assert_hidden("the answer", &user.to_string());
    client.get("/text").await.unwrap();

    let texts = assert_recording_clean(dir.path());
    // Two attempts of /text and /user: replaced, not dropped.
    assert_eq!(texts.len(), 3, "{texts:?}");
    let user = texts.iter().find(|t| t.contains("octocat")).unwrap();
    let exchange: Value = serde_json::from_str(user).unwrap();
    assert_eq!(exchange["body"]["echo"], "[redacted]");
    assert_eq!(exchange["body"]["escaped"], "[redacted]");
    assert_eq!(exchange["body"]["[redacted]"], 1);
    assert_eq!(exchange["headers"]["etag"], "W/\"[redacted]\"");
    assert_eq!(exchange["headers"]["location"], "https://example.invalid/?token=[redacted]");
    assert!(exchange["headers"].get("x-echo").is_none(), "{user}");
    assert!(texts.iter().any(|t| t.contains("\"body_text\": \"token=[redacted]\"")), "{texts:?}");
}

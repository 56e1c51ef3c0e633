//! The blocking client against servers on 127.0.0.1: wiremock for answers
//! (test-support's), a bare `TcpListener` where a connection must fail, and
//! a closed port where it is refused.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_layer::{Client, Failure, Limits, Request};
use test_support::http::closed_port;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const TOKEN: &str = "ghp_s3cretTokenValue";

/// Quick limits: short timeouts, 10 ms first backoff, two retries.
fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        retries: 2,
        backoff: Duration::from_millis(10),
        max_redirects: 2,
        max_body: 1024,
        max_rate_limit_wait: Duration::from_secs(5),
    }
}

fn never() -> bool {
    false
}

/// test-support's wiremock server (on its own runtime), with this file's shorthands.
struct Server(test_support::http::Server);

impl Server {
    fn start() -> Self {
        Self(test_support::http::Server::start())
    }

    /// Answers `GET route` with `template`, the first `times` times (all when none).
    fn serve(&self, route: &str, template: ResponseTemplate, times: Option<u64>, priority: u8) {
        let mut mock =
            Mock::given(method("GET")).and(path(route)).respond_with(template).with_priority(priority);
        if let Some(times) = times {
            mock = mock.up_to_n_times(times);
        }
        self.0.mount(mock);
    }

    fn url(&self, route: &str) -> String {
        format!("{}{route}", self.0.url())
    }

    fn received(&self) -> usize {
        self.0.received().len()
    }
}

#[test]
fn a_transport_error_is_retried_then_the_answer_is_used() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            if i == 0 {
                // The first connection is closed before any answer.
                drop(stream);
                continue;
            }
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let client = Client::new(limits());
    let mut answer = client.send(&Request::get(&url), &never).unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.attempts(), 2);
    assert_eq!(answer.read_body().unwrap(), b"ok");
    assert_eq!(client.requests(), 2);
}

#[test]
fn a_refused_connection_is_retried_a_bounded_number_of_times() {
    let port = closed_port();
    let client = Client::new(limits());
    let error = client.send(&Request::get(format!("http://127.0.0.1:{port}/x")), &never).unwrap_err();
    assert_eq!(error.attempts, 3);
    assert!(matches!(error.failure, Failure::Transport { attempts: 3, .. }), "{error}");
    assert!(error.to_string().ends_with("(3 attempts)"), "{error}");
}

#[test]
fn a_503_is_retried_and_the_200_after_it_is_the_answer() {
    let server = Server::start();
    server.serve("/flaky", ResponseTemplate::new(503), Some(1), 1);
    server.serve("/flaky", ResponseTemplate::new(200).set_body_string("fine"), None, 5);
    let client = Client::new(limits());
    let mut answer = client.send(&Request::get(server.url("/flaky")), &never).unwrap();
    assert_eq!((answer.status(), answer.attempts()), (200, 2));
    assert_eq!(answer.read_body().unwrap(), b"fine");
    assert_eq!(server.received(), 2);
}

#[test]
fn a_lasting_server_error_is_reported_with_its_status_and_attempts() {
    let server = Server::start();
    server.serve("/broken", ResponseTemplate::new(500), None, 5);
    let error = Client::new(limits()).send(&Request::get(server.url("/broken")), &never).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("GET {}: answered 500 Internal Server Error 3 times", server.url("/broken"))
    );
    assert_eq!(server.received(), 3);
    // A status that is not retried is an answer, once.
    server.serve("/gone", ResponseTemplate::new(404), None, 5);
    let answer = Client::new(limits()).send(&Request::get(server.url("/gone")), &never).unwrap();
    assert_eq!((answer.status(), answer.attempts()), (404, 1));
    assert_eq!(answer.unusable().to_string(), format!("GET {}: answered 404 Not Found", server.url("/gone")));
}

#[test]
fn a_429_with_retry_after_is_waited_for() {
    let server = Server::start();
    let limited = ResponseTemplate::new(429).insert_header("retry-after", "1");
    server.serve("/limited", limited, Some(1), 1);
    server.serve("/limited", ResponseTemplate::new(200), None, 5);
    let started = Instant::now();
    let answer = Client::new(limits()).send(&Request::get(server.url("/limited")), &never).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(answer.status(), 200);
    assert!(elapsed >= Duration::from_secs(1), "did not wait: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");
}

#[test]
fn a_retry_after_beyond_the_longest_wait_is_not_waited_and_is_reported() {
    let server = Server::start();
    server.serve("/later", ResponseTemplate::new(429).insert_header("retry-after", "3600"), None, 5);
    let started = Instant::now();
    let error = Client::new(limits()).send(&Request::get(server.url("/later")), &never).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    assert_eq!(
        error.failure,
        Failure::RateLimited {
            status: "429 Too Many Requests".to_owned(),
            wait: Duration::from_secs(3600),
            longest: Duration::from_secs(5),
        }
    );
    assert!(error.to_string().contains("Retry-After 3600s"), "{error}");
    assert!(error.to_string().contains("gave up instead of waiting"), "{error}");
    assert_eq!(server.received(), 1);
}

#[test]
fn a_body_over_the_bound_is_an_error_not_truncated_data() {
    let server = Server::start();
    server.serve("/big", ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 5000]), None, 5);
    let client = Client::new(limits());
    let mut answer = client.send(&Request::get(server.url("/big")), &never).unwrap();
    let error = answer.read_body().unwrap_err();
    assert_eq!(error.failure, Failure::TooLarge(1024));
    assert_eq!(
        error.to_string(),
        format!("GET {}: the answer is larger than 1024 bytes", server.url("/big"))
    );
    let mut answer = client.send(&Request::get(server.url("/big")), &never).unwrap();
    assert_eq!(answer.read_body_up_to(5000).unwrap().len(), 5000);
}

#[test]
fn cancellation_stops_a_backoff() {
    let server = Server::start();
    server.serve("/down", ResponseTemplate::new(503), None, 5);
    let limits = Limits { backoff: Duration::from_secs(20), ..limits() };
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    let error = Client::new(limits)
        .send(&Request::get(server.url("/down")), &|| cancelled.load(Ordering::SeqCst))
        .unwrap_err();
    assert_eq!(error.failure, Failure::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(server.received(), 1);
    // Cancelled before the first attempt: nothing is sent.
    let error = Client::new(limits).send(&Request::get(server.url("/down")), &|| true).unwrap_err();
    assert_eq!((error.failure, error.attempts), (Failure::Cancelled, 0));
    assert_eq!(server.received(), 1);
}

#[test]
fn no_error_text_holds_a_token() {
    let server = Server::start();
    server.serve("/private", ResponseTemplate::new(500), None, 5);
    let with_userinfo = server.url("/private").replacen("http://", &format!("http://robot:{TOKEN}@"), 1);
    let requests = [
        Request::get(format!("{with_userinfo}?page=2")),
        Request::get(format!("{}?access_token={TOKEN}&page=2", server.url("/private"))),
        Request::get(server.url("/private")).query("access_token", TOKEN).header("Authorization", TOKEN),
    ];
    let client = Client::new(Limits { retries: 0, ..limits() });
    for request in &requests {
        let error = client.send(request, &never).unwrap_err();
        for shown in [error.to_string(), format!("{error:?}"), format!("{request:?}")] {
            assert!(!shown.contains(TOKEN), "{shown}");
            assert!(shown.contains("[redacted]") || shown.contains("headers"), "{shown}");
        }
        assert!(error.url.contains("/private"), "{error}");
    }
    // A transport failure names the URL redacted too.
    let port = closed_port();
    let closed = Request::get(format!("http://robot:{TOKEN}@127.0.0.1:{port}/x?token={TOKEN}"));
    let error = client.send(&closed, &never).unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("GET http://[redacted]@127.0.0.1:{port}/x?token=[redacted]: "))
    );
}

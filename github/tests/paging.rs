//! Paging through `Link: rel="next"` against a real server: every page of
//! a recorded listing is read, and a link to another host, a loop or an
//! endless listing ends in an error naming the page, after a bounded number
//! of requests.

use std::time::Duration;

use github::{Client, Config, Error};
use serde::Deserialize;
use serde_json::{Value, json};
use test_support::github::Recorded;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SHA: &str = "78b9ff49d47daaa158eb373c4e2e040f739df8b9";

#[derive(Deserialize)]
struct Page {
    check_runs: Vec<Value>,
}

fn client(server: &MockServer, max_pages: usize) -> Client {
    Client::new(Config {
        api_url: server.uri(),
        timeout: Duration::from_secs(2),
        retries: 0,
        max_pages,
        ..Config::default()
    })
    .unwrap()
}

/// The `n`th page of the recorded check-run listing, its links pointing at `server`.
fn recorded_page(server: &MockServer, n: u32) -> ResponseTemplate {
    Recorded::read(&format!("check-runs.paged-p{n}")).template(&server.uri())
}

/// Serves the recorded listing: page 1 at `/repos/…`, pages 2 to 4 where its links lead.
async fn serve_recorded_listing(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/o/r/commits/{SHA}/check-runs")))
        .respond_with(recorded_page(server, 1))
        .mount(server)
        .await;
    for n in 2..=4 {
        Mock::given(method("GET"))
            .and(path(format!("/repositories/617210/commits/{SHA}/check-runs")))
            .and(query_param("page", n.to_string()))
            .respond_with(recorded_page(server, n))
            .mount(server)
            .await;
    }
}

fn first_page() -> String {
    format!("/repos/o/r/commits/{SHA}/check-runs?per_page=2")
}

fn page(n: u32) -> String {
    format!("/repositories/617210/commits/{SHA}/check-runs?per_page=2&page={n}")
}

#[tokio::test]
async fn every_page_is_read_up_to_the_bound() {
    let server = MockServer::start().await;
    serve_recorded_listing(&server).await;
    let runs = client(&server, 4).get_all_pages(&first_page(), |p: Page| p.check_runs).await.unwrap();
    assert_eq!(runs.len(), 8);
    let ids: std::collections::HashSet<u64> = runs.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 8, "each page once");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn more_pages_than_the_bound_is_an_error() {
    let server = MockServer::start().await;
    serve_recorded_listing(&server).await;
    let client = client(&server, 3);
    let error = client.get_all_pages(&first_page(), |p: Page| p.check_runs).await.unwrap_err();
    assert_eq!(
        error,
        Error::Paging {
            request: format!("GET {}", page(3)),
            message: format!("more than 3 pages; gave up before {}", page(4)),
        }
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(client.requests(), 3);
}

/// Page `n` of an endless listing, linking to page `n + 1`.
struct Endless(String);

impl Respond for Endless {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n: u64 =
            request.url.query_pairs().find(|(k, _)| k == "page").map_or(1, |(_, v)| v.parse().unwrap());
        ResponseTemplate::new(200)
            .set_body_json(json!({"total_count": 1_000_000, "check_runs": [{"id": n}]}))
            .insert_header("link", format!("<{}/endless?page={}>; rel=\"next\"", self.0, n + 1).as_str())
    }
}

#[tokio::test]
async fn an_endless_listing_stops_at_the_bound() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/endless")).respond_with(Endless(server.uri())).mount(&server).await;
    let error = client(&server, 100).get_all_pages("/endless", |p: Page| p.check_runs).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /endless?page=100: more than 100 pages; gave up before /endless?page=101"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 100);
}

#[tokio::test]
async fn a_link_back_to_a_page_already_read_is_refused() {
    let server = MockServer::start().await;
    let link = |n: u32| format!("<{}{}>; rel=\"next\"", server.uri(), page(n));
    let listing = |next: u32| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"check_runs": [{"id": next}]}))
            .insert_header("link", link(next).as_str())
    };
    let route = format!("/repositories/617210/commits/{SHA}/check-runs");
    for (n, next) in [(1, 2), (2, 1)] {
        Mock::given(method("GET"))
            .and(path(&route))
            .and(query_param("page", n.to_string()))
            .respond_with(listing(next))
            .mount(&server)
            .await;
    }
    let error = client(&server, 100).get_all_pages(&page(1), |p: Page| p.check_runs).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("GET {}: the next-page link points to a page already read ({})", page(2), page(1))
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/actions/runs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"check_runs": []})).insert_header(
            "link",
            format!("<{}/repos/o/r/actions/runs?page=2>; rel=\"next\"", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&elsewhere).await;
    let error = client(&server, 100)
        .get_all_pages("/repos/o/r/actions/runs", |p: Page| p.check_runs)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        Error::Paging {
            request: "GET /repos/o/r/actions/runs".into(),
            message: format!("the next-page link leads to another host ({}); not followed", elsewhere.uri()),
        }
    );
    // Nothing, the token least of all, went to the other host.
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

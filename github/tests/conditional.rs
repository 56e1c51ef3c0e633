//! Conditional requests: a repeated GET revalidates with `If-None-Match`,
//! and a `304 Not Modified` is answered with the earlier body.

use github::{Client, Config};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn a_304_is_answered_from_the_earlier_response() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = MockServer::start().await;
        let route = "/repos/octo/app/commits/main/check-runs";
        Mock::given(method("GET"))
            .and(path(route))
            .and(header("if-none-match", "W/\"v1\""))
            .respond_with(ResponseTemplate::new(304).insert_header("etag", "W/\"v1\""))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("etag", "W/\"v1\"")
                    .set_body_raw(r#"{"total_count":0,"check_runs":[]}"#, "application/json"),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        let client = Client::new(Config { api_url: server.uri(), ..Config::default() }).unwrap();
        let first = client.get(route).await.unwrap();
        let second = client.get(route).await.unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(second.status, 200, "a 304 is answered with the earlier response");
        assert_eq!(second.body, first.body);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        assert!(requests[0].headers.get("if-none-match").is_none());
        assert_eq!(requests[1].headers.get("if-none-match").unwrap(), "W/\"v1\"");
    });
}

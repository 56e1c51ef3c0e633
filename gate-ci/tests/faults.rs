//! The ci gate when GitHub misbehaves: every fault of issue #7 ends in an
//! error item (NO-GO) naming the request that failed and why, after a
//! bounded number of attempts and without waiting longer than it must.

mod support;

use std::time::{Duration, Instant};

use gate_ci::Config;
use gate_core::{GateOutcome, HumanDuration, Item, Status};
use serde_json::json;
use support::{GitHub, REPO, Recorded, config, fixture, go, item, listing, run};
use wiremock::ResponseTemplate;

/// The commit of `commit.get.json`.
const SHA: &str = "6bc9ecc8c849df4e45e60c1e6a5df8876180a20a";

/// Attempts per request with [`faulty`]: the first one and two retries.
const ATTEMPTS: usize = 3;

/// The body GitHub documents for a secondary rate limit (no real recording exists).
const SECONDARY_LIMIT: &str = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#;

/// Two retries, one second per attempt.
fn faulty(gh: &GitHub) -> Config {
    let mut config = config(gh, "");
    config.retries = 2;
    config.request_timeout = Some(HumanDuration(Duration::from_secs(1)));
    config
}

/// A healthy repository: `main` at [`SHA`], two green check runs.
fn healthy() -> GitHub {
    let gh = GitHub::start();
    gh.branch_main(SHA);
    gh.ran(SHA, &fixture("check-runs.all-success"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(SHA);
    gh
}

/// Answers `GET route` with `template` every time, before the healthy answer.
fn always(gh: &GitHub, route: &str, template: ResponseTemplate) {
    gh.serve_raw_times(route, template, u64::MAX);
}

/// The gate's one `github` error item; the outcome must be NO-GO.
fn github_error(outcome: &GateOutcome) -> &Item {
    assert!(!go(outcome), "{}", listing(outcome));
    let error = item(outcome, "github", "octo/app");
    assert_eq!(error.status, Status::Error, "{}", listing(outcome));
    error
}

/// Requests the server received for `route` (a path, optionally with the start of the query).
fn received(gh: &GitHub, route: &str) -> usize {
    gh.requests().iter().filter(|r| r.starts_with(&format!("GET {route}"))).count()
}

/// The gate's own count of its requests, from its note.
fn requests_noted(outcome: &GateOutcome) -> usize {
    outcome
        .notes
        .iter()
        .find_map(|n| n.strip_suffix(" GitHub request(s)")?.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {:?}", outcome.notes))
}

#[test]
fn the_healthy_repository_is_go() {
    let gh = healthy();
    let outcome = run(faulty(&gh));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert_eq!(requests_noted(&outcome), gh.requests().len());
}

#[test]
fn bad_credentials_are_not_retried() {
    let gh = healthy();
    always(&gh, &format!("{REPO}/commits/main"), gh.template(&fixture("error.401-bad-credentials")));
    let outcome = run(faulty(&gh));
    assert_eq!(github_error(&outcome).reason, "GET /repos/octo/app/commits/main: HTTP 401: Bad credentials");
    assert_eq!(gh.requests().len(), 1, "{:?}", gh.requests());
    assert_eq!(requests_noted(&outcome), 1);
}

#[test]
fn an_unknown_repository_is_not_retried() {
    let gh = healthy();
    always(&gh, &format!("{REPO}/commits/main"), gh.template(&fixture("error.404-not-found")));
    let outcome = run(faulty(&gh));
    assert_eq!(github_error(&outcome).reason, "GET /repos/octo/app/commits/main: HTTP 404: Not Found");
    assert_eq!(gh.requests().len(), 1, "{:?}", gh.requests());
}

/// The recorded primary rate limit (`X-RateLimit-Remaining: 0`), resetting `in_seconds` from now.
fn rate_limit_resetting_in(in_seconds: i64) -> (Recorded, jiff::Timestamp) {
    let reset = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + in_seconds).unwrap();
    let mut recorded = fixture("error.403-rate-limit");
    recorded.headers.push(("x-ratelimit-reset".into(), reset.as_second().to_string()));
    (recorded, reset)
}

#[test]
fn an_exhausted_rate_limit_gives_up_at_once_saying_when_it_resets() {
    let gh = healthy();
    let (recorded, reset) = rate_limit_resetting_in(3600);
    always(&gh, &format!("{REPO}/commits/main"), gh.template(&recorded));
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    let reason = &github_error(&outcome).reason;
    assert!(started.elapsed() < Duration::from_secs(3), "waited {:?}", started.elapsed());
    assert!(
        reason.starts_with("GET /repos/octo/app/commits/main: rate limited by GitHub (HTTP 403"),
        "{reason}"
    );
    assert!(reason.contains("API Rate Limit Exceeded for"), "GitHub's message: {reason}");
    assert!(reason.contains(&format!("the limit resets at {reset}")), "{reason}");
    assert_eq!(gh.requests().len(), 1, "{:?}", gh.requests());
}

#[test]
fn an_exhausted_rate_limit_without_a_reset_time_gives_up_at_once() {
    // As recorded in 2013: no X-RateLimit-Reset, so there is no telling how long to wait.
    let gh = healthy();
    always(&gh, &format!("{REPO}/commits/main"), gh.template(&fixture("error.403-rate-limit")));
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    let reason = &github_error(&outcome).reason;
    assert!(started.elapsed() < Duration::from_secs(3), "waited {:?}", started.elapsed());
    assert!(reason.contains("rate limited by GitHub (HTTP 403"), "{reason}");
    assert!(reason.contains("no reset time"), "{reason}");
    assert_eq!(gh.requests().len(), 1, "{:?}", gh.requests());
}

#[test]
fn an_exhausted_rate_limit_that_resets_soon_is_waited_for() {
    let gh = healthy();
    let (recorded, _) = rate_limit_resetting_in(1);
    gh.serve_raw_times(&format!("{REPO}/commits/main"), gh.template(&recorded), 1);
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert!(started.elapsed() >= Duration::from_secs(1), "did not wait: {:?}", started.elapsed());
    // The refused request, its repetition, and the final look at the head.
    assert_eq!(received(&gh, &format!("{REPO}/commits/main")), 3, "{:?}", gh.requests());
}

fn retry_after(status: u16, seconds: u64) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(SECONDARY_LIMIT, "application/json; charset=utf-8")
        .insert_header("retry-after", seconds.to_string().as_str())
}

#[test]
fn a_secondary_rate_limit_with_a_short_retry_after_is_waited_for_once() {
    for status in [403, 429] {
        let gh = healthy();
        gh.serve_raw_times(&format!("{REPO}/commits/main"), retry_after(status, 1), 1);
        let started = Instant::now();
        let outcome = run(faulty(&gh));
        let elapsed = started.elapsed();
        assert!(go(&outcome), "{status}: {}", listing(&outcome));
        assert!(elapsed >= Duration::from_secs(1), "{status}: did not wait: {elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{status}: waited {elapsed:?}");
        assert_eq!(received(&gh, &format!("{REPO}/commits/main")), 3, "{status}: {:?}", gh.requests());
    }
}

#[test]
fn a_retry_after_of_an_hour_is_not_waited_for() {
    let gh = healthy();
    always(&gh, &format!("{REPO}/commits/main"), retry_after(429, 3600));
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    assert!(started.elapsed() < Duration::from_secs(3), "waited {:?}", started.elapsed());
    let reason = &github_error(&outcome).reason;
    assert!(
        reason.starts_with("GET /repos/octo/app/commits/main: rate limited by GitHub (HTTP 429"),
        "{reason}"
    );
    assert!(reason.contains("Retry-After: 3600 s"), "{reason}");
    assert!(reason.contains("gave up instead of waiting"), "{reason}");
    assert_eq!(gh.requests().len(), 1, "{:?}", gh.requests());
}

#[test]
fn a_rate_limit_that_persists_is_retried_a_bounded_number_of_times() {
    let gh = healthy();
    always(&gh, &format!("{REPO}/commits/main"), retry_after(429, 1));
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    let elapsed = started.elapsed();
    let reason = &github_error(&outcome).reason;
    assert!(reason.starts_with("GET /repos/octo/app/commits/main: rate limited by GitHub"), "{reason}");
    assert!(reason.contains(&format!("HTTP 429 after {ATTEMPTS} attempts")), "{reason}");
    assert_eq!(gh.requests().len(), ATTEMPTS, "{:?}", gh.requests());
    // Two waits of one second, no more.
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(6), "{elapsed:?}");
}

#[test]
fn server_errors_are_retried_then_reported() {
    let gh = healthy();
    let status = format!("{REPO}/commits/{SHA}/status");
    always(&gh, &status, ResponseTemplate::new(502).set_body_raw("Server Error", "text/plain"));
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    assert_eq!(
        github_error(&outcome).reason,
        format!("GET {status}?per_page=100: HTTP 502: Server Error (after {ATTEMPTS} attempts)")
    );
    assert_eq!(received(&gh, &status), ATTEMPTS, "{:?}", gh.requests());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn a_server_error_that_passes_is_go() {
    let gh = healthy();
    let status = format!("{REPO}/commits/{SHA}/status");
    gh.serve_raw_times(
        &status,
        ResponseTemplate::new(503).set_body_json(json!({"message": "Unavailable"})),
        1,
    );
    let outcome = run(faulty(&gh));
    assert!(go(&outcome), "{}", listing(&outcome));
    assert_eq!(received(&gh, &status), 2, "{:?}", gh.requests());
    assert_eq!(requests_noted(&outcome), gh.requests().len());
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let gh = healthy();
    let port = test_support::http::closed_port();
    let mut config = faulty(&gh);
    config.api_url = Some(format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let outcome = run(config);
    let reason = &github_error(&outcome).reason;
    assert!(reason.starts_with("GET /repos/octo/app/commits/main: "), "{reason}");
    assert!(reason.to_lowercase().contains("connection refused"), "{reason}");
    assert!(reason.ends_with(&format!("(after {ATTEMPTS} attempts)")), "{reason}");
    assert_eq!(requests_noted(&outcome), ATTEMPTS);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn an_answer_that_stalls_past_the_timeout_is_retried_then_reported() {
    let gh = healthy();
    let stalled = gh.template(&fixture("commit.get")).set_delay(Duration::from_secs(30));
    always(&gh, &format!("{REPO}/commits/main"), stalled);
    let started = Instant::now();
    let outcome = run(faulty(&gh));
    let elapsed = started.elapsed();
    assert_eq!(
        github_error(&outcome).reason,
        format!("GET /repos/octo/app/commits/main: no answer within 1s (after {ATTEMPTS} attempts)")
    );
    assert_eq!(gh.requests().len(), ATTEMPTS, "{:?}", gh.requests());
    // Three attempts of one second and backoffs of 0.5 s and 1 s.
    assert!(elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[test]
fn malformed_json_is_located_and_not_retried() {
    let route = format!("{REPO}/commits/{SHA}/check-runs");
    let cases = [
        // Cut off: the end of the input is where it fails.
        (r#"{"total_count": 1, "check_runs": [{"id": 1,"#.to_owned(), "line 1, column 43: EOF while parsing"),
        // Valid JSON of the wrong shape.
        (
            "{\n  \"total_count\": 1,\n  \"check_runs\": \"none\"\n}".to_owned(),
            "line 3, column 22: invalid type",
        ),
    ];
    for (body, location) in cases {
        let gh = healthy();
        always(&gh, &route, ResponseTemplate::new(200).set_body_raw(body, "application/json; charset=utf-8"));
        let outcome = run(faulty(&gh));
        let reason = &github_error(&outcome).reason;
        let request = format!("GET {route}?filter=latest&per_page=100");
        assert!(reason.starts_with(&format!("{request}: unexpected response body: {location}")), "{reason}");
        assert!(!reason.contains(" at line "), "located once: {reason}");
        assert_eq!(received(&gh, &route), 1, "{:?}", gh.requests());
    }
}

#[test]
fn a_next_page_link_that_loops_is_refused() {
    let sha = "78b9ff49d47daaa158eb373c4e2e040f739df8b9";
    let gh = GitHub::start();
    gh.branch_main(sha);
    gh.serve(&format!("{REPO}/commits/{sha}/status"), &fixture("combined-status.pending-no-statuses"));
    gh.no_workflow_runs(sha);
    gh.serve(&format!("{REPO}/commits/{sha}/check-runs?filter=latest"), &fixture("check-runs.paged-p1"));
    gh.serve(
        &format!("/repositories/617210/commits/{sha}/check-runs?page=2"),
        &fixture("check-runs.paged-p2"),
    );
    // Page 3 leads back to page 2.
    let mut page3 = fixture("check-runs.paged-p3");
    for (name, value) in &mut page3.headers {
        if name.eq_ignore_ascii_case("link") {
            *value = value.replace("page=4>; rel=\"next\"", "page=2>; rel=\"next\"");
        }
    }
    gh.serve(&format!("/repositories/617210/commits/{sha}/check-runs?page=3"), &page3);
    let outcome = run(faulty(&gh));
    let reason = &github_error(&outcome).reason;
    let page = |n: u32| format!("/repositories/617210/commits/{sha}/check-runs?per_page=2&page={n}");
    assert_eq!(
        reason,
        &format!("GET {}: the next-page link points to a page already read ({})", page(3), page(2))
    );
    // Each page was read once, and page 4 never.
    assert_eq!(received(&gh, &page(2)), 1, "{:?}", gh.requests());
    assert_eq!(received(&gh, &page(3)), 1, "{:?}", gh.requests());
    assert_eq!(received(&gh, &page(4)), 0, "{:?}", gh.requests());
}

//! Posting against a stateful GitHub-shaped server on 127.0.0.1: the sticky
//! comment is created when absent, updated in place when present (even on
//! page 3), never confused with another author's, and stays single when two
//! runs race; a read-only token degrades, a server failure fails its step
//! only; a report too long for a comment keeps what matters.

mod support;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use gate_core::{Item, Report, render};
use github::{Client, Config, Repo};
use publish::{Actions, COMMENT_LIMIT, Options, Publication, Step, Target};
use serde_json::json;
use support::{GitHub, PR, REPO, SHA, report};
use wiremock::ResponseTemplate;

/// The token's login on the test server.
const BOT: &str = "release-bot";

fn target() -> Target {
    Target { repo: Repo::parse(REPO).unwrap(), sha: Some(SHA.to_owned()), pr: Some(PR) }
}

fn no_go() -> Report {
    report(vec![
        ("wheels", vec![Item::pass("sums", "a.whl", "matches"), Item::fail("sums", "b.whl", "differs")]),
        ("images", vec![Item::pass("pinned", "Dockerfile", "pinned by digest")]),
    ])
}

/// What would be posted for `report`, outside GitHub Actions.
fn prepare(report: &Report) -> Publication {
    publish::prepare(Ok(report), &target(), &Options::default(), None)
}

/// Posts `publication` with a client of its own, on a runtime of its own.
fn post(github: &GitHub, publication: &Publication) -> Vec<Step> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = Client::new(Config {
            api_url: github.url(),
            timeout: Duration::from_secs(10),
            backoff: Duration::from_millis(10),
            ..Config::default()
        })
        .unwrap();
        publish::post(&client, &target(), &Options::default(), publication).await
    })
}

fn marker() -> String {
    publish::comment::marker("release-check")
}

#[test]
fn creates_the_comment_when_absent() {
    let github = GitHub::start(BOT);
    github.seed(3, "a-reviewer");
    let publication = prepare(&no_go());
    let steps = post(&github, &publication);
    assert!(
        matches!(&steps[0], Step::Done(what) if what.contains("created on pull request #7")),
        "{steps:?}"
    );
    let ours = github.comments_containing(&marker());
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["user"]["login"], BOT);
    assert_eq!(ours[0]["body"], json!(publication.comment.as_ref().unwrap().1));
    assert_eq!(github.requests_of("GET").first().map(String::as_str), Some("GET /user"));
    assert_eq!(github.requests_of("POST").len(), 2, "the comment and the status");
    assert!(github.requests_of("PATCH").is_empty());
    assert!(github.requests_of("DELETE").is_empty());
    assert!(matches!(&steps[1], Step::Done(what) if what.contains("failure `release-check`")), "{steps:?}");
}

#[test]
fn updates_in_place_when_present_on_page_3() {
    let github = GitHub::start(BOT);
    github.seed(220, "a-reviewer");
    let id = github.add(BOT, &format!("{}\nan old report", marker()));
    github.seed(29, BOT);
    let publication = prepare(&no_go());
    let steps = post(&github, &publication);
    assert_eq!(steps[0], Step::Done(format!("comment {id} updated on pull request #7")));
    let gets = github.requests_of("GET");
    assert!(gets.iter().any(|r| r.ends_with("comments?per_page=100&page=3")), "{gets:?}");
    assert_eq!(github.requests_of("PATCH"), vec![format!("PATCH /repos/{REPO}/issues/comments/{id}")]);
    assert_eq!(github.requests_of("POST"), vec![format!("POST /repos/{REPO}/statuses/{SHA}")]);
    let ours = github.comments_containing(&marker());
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["id"], json!(id));
    assert_eq!(ours[0]["body"], json!(publication.comment.as_ref().unwrap().1));
    assert_eq!(github.state.lock().unwrap().comments.len(), 250);
}

#[test]
fn ignores_a_marked_comment_by_another_author() {
    let github = GitHub::start(BOT);
    let theirs = github.add("someone-else", &format!("{}\nnot ours", marker()));
    let steps = post(&github, &prepare(&no_go()));
    assert!(matches!(&steps[0], Step::Done(what) if what.contains("created")), "{steps:?}");
    assert!(github.requests_of("PATCH").is_empty());
    let marked = github.comments_containing(&marker());
    assert_eq!(marked.len(), 2);
    assert_eq!(marked[0]["id"], json!(theirs));
    assert!(marked[0]["body"].as_str().unwrap().ends_with("not ours"), "left alone");
    assert_eq!(marked[1]["user"]["login"], BOT);
}

#[test]
fn concurrent_runs_leave_one_comment() {
    let github = Arc::new(GitHub::start(BOT));
    // Both runs list before either creates: each sees no comment and creates one.
    github.state.lock().unwrap().list_delay = Duration::from_millis(500);
    let start = Arc::new(Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (github, start) = (github.clone(), start.clone());
            std::thread::spawn(move || {
                let publication = prepare(&no_go());
                start.wait();
                post(&github, &publication)
            })
        })
        .collect();
    let steps: Vec<Vec<Step>> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    for steps in &steps {
        assert!(!steps[0].failed(), "{steps:?}");
    }
    let comment_posts = github
        .requests_of("POST")
        .into_iter()
        .filter(|r| r.ends_with(&format!("/issues/{PR}/comments")))
        .count();
    assert_eq!(comment_posts, 2, "the race happened: both runs created a comment");
    assert!(!github.requests_of("DELETE").is_empty(), "the younger duplicate was deleted");
    let ours = github.comments_containing(&marker());
    assert_eq!(ours.len(), 1, "{ours:#?}");
    assert_eq!(github.state.lock().unwrap().comments.len(), 1);
}

#[test]
fn a_read_only_token_degrades_to_the_job_summary() {
    let github = GitHub::start(BOT);
    github.read_only();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let actions = Actions { step_summary: Some(summary.clone()), run_url: None };
    let publication = publish::prepare(Ok(&no_go()), &target(), &Options::default(), Some(&actions));
    let steps = post(&github, &publication);
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(matches!(&steps[0], Step::Done(what) if what.starts_with("job summary")), "{steps:?}");
    for step in &steps[1..] {
        let Step::Degraded(why) = step else { panic!("not degraded: {step:?}") };
        assert!(why.contains("Resource not accessible by integration"), "{why}");
        assert!(why.contains("the report is in the job summary"), "{why}");
    }
    assert!(std::fs::read_to_string(&summary).unwrap().contains("## release-check: ❌ NO-GO"));
    assert!(github.comments_containing(&marker()).is_empty());
}

#[test]
fn a_server_error_fails_its_step_and_the_others_go_on() {
    let github = GitHub::start(BOT);
    github.fail_with("POST", &format!("/repos/{REPO}/issues/{PR}/comments"), ResponseTemplate::new(502));
    let steps = post(&github, &prepare(&no_go()));
    assert_eq!(steps.len(), 2, "{steps:?}");
    let Step::Failed(why) = &steps[0] else { panic!("not failed: {steps:?}") };
    assert!(why.contains(&format!("POST /repos/{REPO}/issues/{PR}/comments")), "{why}");
    assert!(why.contains("502"), "{why}");
    assert!(matches!(&steps[1], Step::Done(what) if what.starts_with("commit status failure")), "{steps:?}");
    assert_eq!(github.requests_of("POST").len(), 2, "a write is not retried after a 5xx");
    assert!(github.comments_containing(&marker()).is_empty());
}

#[test]
fn a_report_too_long_for_a_comment_keeps_verdict_counts_and_blockers() {
    let long = "the published wheel differs from the one built from the tagged source; ".repeat(8);
    let items = |gate: &str| -> Vec<Item> {
        (0..80).map(|n| Item::fail("sums", format!("{gate}-{n:03}.whl"), long.clone())).collect()
    };
    let report = report(vec![
        ("wheels", items("wheel")),
        ("images", items("image")),
        ("ci", vec![Item::pass("required", "build", "passed")]),
    ]);
    assert!(render::markdown(&report).chars().count() >= 70_000, "the premise: a report too long");
    let run = "https://github.com/octo/app/actions/runs/42";
    let actions = Actions { step_summary: None, run_url: Some(run.to_owned()) };
    let publication = publish::prepare(Ok(&report), &target(), &Options::default(), Some(&actions));
    let (_, body) = publication.comment.as_ref().unwrap();
    assert!(body.chars().count() <= COMMENT_LIMIT, "{} characters", body.chars().count());
    assert!(body.starts_with(&marker()));
    assert!(body.contains("## release-check: ❌ NO-GO"));
    assert!(body.contains("**160 blockers**"));
    assert!(body.contains("| wheels | ❌ | 0 | 0 | 80 | 0 | 0 |"), "per-gate counts");
    assert!(body.contains("| images | ❌ | 0 | 0 | 80 | 0 | 0 |"), "per-gate counts");
    assert!(body.contains("| ci | ✅ | 1 | 0 | 0 | 0 | 0 |"), "per-gate counts");
    let listed = report
        .items()
        .filter(|(_, i)| body.contains(&format!("<code>{}</code>", render::markdown_code(&i.id))))
        .count();
    assert!(listed > 0);
    assert!(body.contains(&format!("… and {} more blockers.", 160 - listed)), "every blocker is counted");
    assert!(body.contains(&format!("[job summary]({run})")), "the note links to the full report");
    // GitHub takes it.
    let github = GitHub::start(BOT);
    let steps = post(&github, &publication);
    assert!(!steps[0].failed(), "{steps:?}");
    assert_eq!(github.comments_containing(&marker())[0]["body"], json!(body));
}

#[test]
fn a_listing_that_keeps_failing_is_retried_a_bounded_number_of_times() {
    let github = GitHub::start(BOT);
    github.fail_with("GET", &format!("/repos/{REPO}/issues/{PR}/comments"), ResponseTemplate::new(503));
    let steps = post(&github, &prepare(&no_go()));
    let Step::Failed(why) = &steps[0] else { panic!("not failed: {steps:?}") };
    assert!(why.contains(&format!("GET /repos/{REPO}/issues/{PR}/comments?per_page=100")), "{why}");
    assert!(why.contains("503") && why.contains("after 4 attempts"), "{why}");
    let lists = github.requests_of("GET").into_iter().filter(|r| r.contains("/comments")).count();
    assert_eq!(lists, 4, "the first attempt and 3 retries");
    assert!(!github.requests_of("POST").iter().any(|r| r.ends_with("/comments")), "nothing created blind");
    assert!(matches!(&steps[1], Step::Done(_)), "{steps:?}");
}

#[test]
fn a_rate_limit_fails_its_step_instead_of_degrading() {
    let github = GitHub::start(BOT);
    // The recorded answer has no reset time: waiting for it is not an option.
    let limited = ResponseTemplate::new(403)
        .set_body_json(support::fixture("error.403-rate-limit.json"))
        .insert_header("x-ratelimit-remaining", "0");
    github.fail_with("POST", &format!("/repos/{REPO}/statuses/"), limited);
    let steps = post(&github, &prepare(&no_go()));
    assert!(matches!(&steps[0], Step::Done(_)), "{steps:?}");
    let Step::Failed(why) = &steps[1] else { panic!("a rate limit is not a permission problem: {steps:?}") };
    assert!(why.contains("rate limited by GitHub") && why.contains("API Rate Limit Exceeded"), "{why}");
}

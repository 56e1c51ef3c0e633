//! A stateful GitHub-shaped server on 127.0.0.1 for posting tests: issue
//! comments (listed 100 a page with GitHub's `Link` header, created, edited,
//! deleted), commit statuses and `GET /user`.
//!
//! Every object it answers with has the shape GitHub really sent, built
//! from the shared fixtures (read in place) with only the id, body, author
//! or state changed. Faults (403, 502) are answered by mocks mounted in
//! front of the state, from the shared fixtures too.

#![allow(dead_code)] // The e2e tests include this module and use a different part.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gate_core::{GateReport, GateRunStatus, Item, Report};
use serde_json::{Value, json};
use test_support::http::Server;
use wiremock::matchers::{any, method, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// The repository every test posts to.
pub const REPO: &str = "octo/app";
/// The pull request every test comments on.
pub const PR: u64 = 7;
/// The commit every report judges and every status is posted to.
pub const SHA: &str = "2a6c97f6f5dc9166cc2e5d0d95415a386805ca07";
/// GitHub's page size for the listing the publisher asks for (`per_page=100`).
const PER_PAGE: usize = 100;

/// Reads `github/NAME` from the shared fixtures.
pub fn fixture(name: &str) -> Value {
    test_support::github::json(name)
}

/// A comment with the recorded shape of `issue-comment.create-201.json`.
pub fn comment(id: u64, login: &str, body: &str) -> Value {
    let mut comment = fixture("issue-comment.create-201.json");
    comment["id"] = json!(id);
    comment["body"] = json!(body);
    comment["user"]["login"] = json!(login);
    comment["html_url"] = json!(format!("https://github.com/{REPO}/pull/{PR}#issuecomment-{id}"));
    comment
}

/// A report of [`SHA`] and `gates` (name and items), with item ids filled in as the runner does.
pub fn report(gates: Vec<(&str, Vec<Item>)>) -> Report {
    let gates = gates
        .into_iter()
        .map(|(name, items)| GateReport {
            name: name.to_owned(),
            verifies: format!("{name} are fine"),
            run: GateRunStatus::Completed,
            duration_ms: 1200,
            notes: Vec::new(),
            items: items.into_iter().map(|i| Item { id: i.id_in(name), ..i }).collect(),
        })
        .collect();
    let mut report =
        Report::assemble("octo/app".to_owned(), "2026-11-26T02:00:00Z".to_owned(), gates, Vec::new());
    report.commit = Some(SHA.to_owned());
    report
}

/// What the server holds.
#[derive(Debug, Default)]
pub struct State {
    /// The pull request's comments, oldest first.
    pub comments: Vec<Value>,
    /// Every commit status posted: sha and request body.
    pub statuses: Vec<(String, Value)>,
    /// The id the next comment gets.
    pub next_id: u64,
    /// The token's login, for `GET /user`.
    pub login: String,
    /// How long listing answers take (to make concurrent runs overlap).
    pub list_delay: Duration,
}

/// The server (wiremock, on its own runtime) and its state.
pub struct GitHub {
    server: Server,
    /// What the server holds; tests seed and inspect it.
    pub state: Arc<Mutex<State>>,
}

impl GitHub {
    /// Starts a server whose token belongs to `login`, with no comments.
    pub fn start(login: &str) -> Self {
        let state =
            Arc::new(Mutex::new(State { next_id: 1_000_000, login: login.to_owned(), ..State::default() }));
        let server = Server::start();
        // The state answers last, what no fault mounted in front of it does.
        let stateful = Stateful { state: state.clone(), origin: server.url() };
        server.mount(Mock::given(any()).respond_with(stateful).with_priority(10));
        Self { server, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Adds `count` comments by `login` (the oldest first) with plain bodies.
    pub fn seed(&self, count: usize, login: &str) {
        let mut state = self.state.lock().unwrap();
        for n in 0..count {
            let id = state.next_id;
            state.next_id += 1;
            state.comments.push(comment(id, login, &format!("Comment {n}: looks good to me")));
        }
    }

    /// Adds a comment; its id.
    pub fn add(&self, login: &str, body: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        let id = state.next_id;
        state.next_id += 1;
        state.comments.push(comment(id, login, body));
        id
    }

    /// The comments whose body contains `text`.
    pub fn comments_containing(&self, text: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .comments
            .iter()
            .filter(|c| c["body"].as_str().unwrap_or_default().contains(text))
            .cloned()
            .collect()
    }

    /// Answers `METHOD path` (a regex) with `status` and the shared fixture `name`, before the state.
    pub fn fail(&self, verb: &str, path: &str, status: u16, name: &str) {
        self.fail_with(verb, path, ResponseTemplate::new(status).set_body_json(fixture(name)));
    }

    /// A read-only token, as pull requests from forks get: creating a comment
    /// or a status answers GitHub's real 403 bodies.
    pub fn read_only(&self) {
        self.fail(
            "POST",
            &format!("/repos/{REPO}/issues/{PR}/comments"),
            403,
            "error.403-not-accessible-by-integration.json",
        );
        self.fail(
            "POST",
            &format!("/repos/{REPO}/statuses/"),
            403,
            "error.403-not-accessible-by-integration.statuses.json",
        );
    }

    /// Answers `METHOD path` (a regex) with `template`, before the state.
    pub fn fail_with(&self, verb: &str, path: &str, template: ResponseTemplate) {
        self.server
            .mount(Mock::given(method(verb)).and(path_regex(path)).respond_with(template).with_priority(1));
    }

    /// The requests received so far: method and path with query.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// The requests whose method is `verb`.
    pub fn requests_of(&self, verb: &str) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.starts_with(&format!("{verb} "))).collect()
    }
}

/// Answers from the state; `origin` is the server's, for `Link` headers.
struct Stateful {
    state: Arc<Mutex<State>>,
    origin: String,
}

impl Respond for Stateful {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let path = request.url.path().to_owned();
        let comments = format!("/repos/{REPO}/issues/{PR}/comments");
        let one_comment =
            path.strip_prefix(&format!("/repos/{REPO}/issues/comments/")).map(str::parse::<u64>);
        let body = || serde_json::from_slice::<Value>(&request.body).unwrap_or(Value::Null);
        match (request.method.as_str(), path.as_str(), one_comment) {
            ("GET", "/user", _) => {
                let mut user = fixture("issue-comment.create-201.json")["user"].take();
                user["login"] = json!(state.login);
                ResponseTemplate::new(200).set_body_json(user)
            }
            ("GET", p, _) if p == comments => {
                let page = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(1);
                let last = state.comments.len().div_ceil(PER_PAGE).max(1);
                let slice: Vec<Value> =
                    state.comments.iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).cloned().collect();
                let mut template =
                    ResponseTemplate::new(200).set_body_json(slice).set_delay(state.list_delay);
                if last > 1 {
                    // GitHub's own links: absolute, on the API host.
                    let origin = &self.origin;
                    let link = |n: usize, rel: &str| {
                        format!("<{origin}{comments}?per_page={PER_PAGE}&page={n}>; rel=\"{rel}\"")
                    };
                    let mut links = Vec::new();
                    if page > 1 {
                        links.push(link(page - 1, "prev"));
                    }
                    if page < last {
                        links.push(link(page + 1, "next"));
                        links.push(link(last, "last"));
                    }
                    if page > 1 {
                        links.push(link(1, "first"));
                    }
                    template = template.insert_header("link", links.join(", ").as_str());
                }
                template
            }
            ("POST", p, _) if p == comments => {
                let id = state.next_id;
                state.next_id += 1;
                let created = comment(id, &state.login.clone(), body()["body"].as_str().unwrap_or_default());
                state.comments.push(created.clone());
                ResponseTemplate::new(201).set_body_json(created)
            }
            ("PATCH", _, Some(Ok(id))) => {
                let new_body = body()["body"].clone();
                match state.comments.iter_mut().find(|c| c["id"] == json!(id)) {
                    Some(found) => {
                        found["body"] = new_body;
                        ResponseTemplate::new(200).set_body_json(found.clone())
                    }
                    None => ResponseTemplate::new(404).set_body_json(fixture("error.404-not-found.json")),
                }
            }
            ("DELETE", _, Some(Ok(id))) => match state.comments.iter().position(|c| c["id"] == json!(id)) {
                Some(index) => {
                    state.comments.remove(index);
                    ResponseTemplate::new(204)
                }
                None => ResponseTemplate::new(404).set_body_json(fixture("error.404-not-found.json")),
            },
            ("POST", p, _) if p.starts_with(&format!("/repos/{REPO}/statuses/")) => {
                let sha = p.rsplit('/').next().unwrap_or_default().to_owned();
                let posted = body();
                let mut status = fixture("status-create.201-success.json");
                for key in ["state", "description", "context", "target_url"] {
                    status[key] = posted[key].clone();
                }
                state.statuses.push((sha, posted));
                ResponseTemplate::new(201).set_body_json(status)
            }
            _ => ResponseTemplate::new(404).set_body_json(fixture("error.404-not-found.json")),
        }
    }
}

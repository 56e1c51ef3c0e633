//! The state of a required check on one commit, from what ran there.

use octocrab::models::StatusState;

use crate::AppFilter;
use crate::api::{CheckRun, CommitStatus};
use crate::required::Required;

/// What ran on one commit.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The latest check runs.
    pub check_runs: Vec<CheckRun>,
    /// The latest commit status of each context.
    pub statuses: Vec<CommitStatus>,
}

/// The state of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Completed with a passing conclusion (`success`, or `neutral`/`skipped` when they pass).
    Passed(String),
    /// Completed with a failing conclusion, named.
    Failed(String),
    /// Reported but not finished: `queued`, `in_progress`, `waiting`, a pending status…
    Pending(String),
    /// Never reported on this commit.
    Missing,
}

impl State {
    /// Passed or failed.
    pub fn is_final(&self) -> bool {
        matches!(self, State::Passed(_) | State::Failed(_))
    }

    /// Missing, or reported but not yet running.
    pub fn not_started(&self) -> bool {
        match self {
            State::Missing => true,
            State::Pending(status) => status != "in_progress",
            _ => false,
        }
    }
}

/// One check as seen on a commit.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The check's name (for a pattern: the name that matched).
    pub name: String,
    /// Its state.
    pub state: State,
    /// What reported it: `check run 16354767716 (github-actions)` or `commit status`.
    pub via: String,
    /// Its page.
    pub url: Option<String>,
    /// The check run, when it is one.
    pub check_run: Option<CheckRun>,
}

/// How conclusions count.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// `neutral` passes.
    pub neutral_passes: bool,
    /// `skipped` passes.
    pub skipped_passes: bool,
}

/// The state of a check run.
pub fn of_check_run(run: &CheckRun, policy: Policy) -> State {
    if run.status != "completed" {
        return State::Pending(run.status.clone());
    }
    let conclusion = run.conclusion.clone().unwrap_or_else(|| "none".to_owned());
    match conclusion.as_str() {
        "success" => State::Passed(conclusion),
        "neutral" if policy.neutral_passes => State::Passed(conclusion),
        "skipped" if policy.skipped_passes => State::Passed(conclusion),
        _ => State::Failed(conclusion),
    }
}

/// The state of a commit status.
pub fn of_status(status: &CommitStatus) -> State {
    match status.state {
        StatusState::Success => State::Passed("success".to_owned()),
        StatusState::Failure => State::Failed("failure".to_owned()),
        StatusState::Error => State::Failed("error".to_owned()),
        StatusState::Pending => State::Pending("pending".to_owned()),
        _ => State::Failed("unknown state".to_owned()),
    }
}

fn app_matches(filter: Option<&AppFilter>, run: &CheckRun) -> bool {
    match (filter, &run.app) {
        (None, _) => true,
        (Some(AppFilter::Id(id)), Some(app)) => app.id == Some(*id),
        (Some(AppFilter::Slug(slug)), Some(app)) => app.slug.as_deref() == Some(slug.as_str()),
        (Some(_), None) => false,
    }
}

fn name_matches(required: &Required, name: &str) -> bool {
    if required.pattern {
        glob::Pattern::new(&required.name).is_ok_and(|p| p.matches(name))
    } else {
        required.name == name
    }
}

/// Every check on the commit that `required` names (one, or several for a
/// pattern); `Missing` under the required name when none does. A check run
/// wins over a commit status of the same name; among check runs the newest
/// (highest id) wins.
pub fn find(required: &Required, observed: &Observation, policy: Policy) -> Vec<Seen> {
    let mut found: Vec<Seen> = Vec::new();
    let mut runs: Vec<&CheckRun> = observed
        .check_runs
        .iter()
        .filter(|r| name_matches(required, &r.name) && app_matches(required.app.as_ref(), r))
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.id));
    for run in runs {
        if found.iter().any(|s| s.name == run.name) {
            continue;
        }
        let app = run.app.as_ref().and_then(|a| a.slug.clone().or_else(|| a.id.map(|id| id.to_string())));
        found.push(Seen {
            name: run.name.clone(),
            state: of_check_run(run, policy),
            via: match app {
                Some(app) => format!("check run {} ({app})", run.id),
                None => format!("check run {}", run.id),
            },
            url: run.html_url.clone(),
            check_run: Some(run.clone()),
        });
    }
    if required.app.is_none() {
        for status in observed.statuses.iter().filter(|s| name_matches(required, &s.context)) {
            if found.iter().any(|s| s.name == status.context) {
                continue;
            }
            found.push(Seen {
                name: status.context.clone(),
                state: of_status(status),
                via: "commit status".to_owned(),
                url: status.target_url.clone(),
                check_run: None,
            });
        }
    }
    if found.is_empty() {
        found.push(Seen {
            name: required.name.clone(),
            state: State::Missing,
            via: "nothing reported it".to_owned(),
            url: None,
            check_run: None,
        });
    }
    found
}

/// Every check that ran on the commit, as if each were required (used when
/// no source requires any check).
pub fn everything(observed: &Observation) -> Vec<Required> {
    let mut names: Vec<String> = observed.check_runs.iter().map(|r| r.name.clone()).collect();
    names.extend(observed.statuses.iter().map(|s| s.context.clone()));
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| Required {
            name,
            app: None,
            sources: vec!["ran on the commit".to_owned()],
            pattern: false,
        })
        .collect()
}

//! Since when a check fails: a walk back along the branch's first-parent
//! history to the last commit where it passed.

use std::collections::HashMap;
use std::sync::Arc;

use github::{Client, Error};
use tokio::task::JoinSet;

use crate::api::{self, Commit, Pull, Repo};
use crate::state::{self, Observation, Policy, State};
use crate::target::short;

/// Bounds of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most commits walked back.
    pub commits: u32,
    /// Most requests spent.
    pub requests: u32,
}

/// A commit on the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Its SHA.
    pub sha: String,
    /// Its committer date, if GitHub gave one.
    pub date: Option<String>,
}

/// The answer for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinceWhen {
    /// It passed at `last_green`; `first_failing` is the next commit where it failed.
    Found {
        /// The oldest failing commit after the last green one.
        first_failing: Point,
        /// The last commit where it passed.
        last_green: Point,
    },
    /// No passing commit within what could be read; the oldest failing one seen.
    NotFound {
        /// The oldest failing commit seen.
        oldest_failing: Point,
        /// Commits walked, the failing head included.
        walked: usize,
        /// Why the walk stopped, as the end of a sentence.
        why: String,
        /// The request that failed, when one stopped the walk.
        error: Option<Error>,
    },
}

/// Walks the history of `head` for each of `checks` (names that failed on
/// `head`), sharing the requests: one listing of check runs (and of statuses
/// when `statuses` is set) per commit.
pub struct Walk {
    client: Arc<Client>,
    repo: Repo,
    policy: Policy,
    bounds: Bounds,
    requests: u32,
    chain: Vec<Point>,
    known: HashMap<String, Commit>,
    /// What ran on each commit read, or why it could not be read.
    observed: HashMap<String, Result<Observation, Error>>,
    /// Why the chain ends, and the failed request if one ended it.
    stopped: Option<(String, Option<Error>)>,
    statuses: bool,
}

/// Commits fetched at once while walking.
const BATCH: usize = 8;

impl Walk {
    /// A walk back from `head`, reading history as it goes.
    /// `statuses`: some failing check is a commit status, so statuses are read too.
    pub fn new(
        client: Arc<Client>,
        repo: Repo,
        head: Point,
        policy: Policy,
        bounds: Bounds,
        statuses: bool,
    ) -> Self {
        Self {
            client,
            repo,
            policy,
            bounds,
            requests: 0,
            chain: vec![head],
            known: HashMap::new(),
            observed: HashMap::new(),
            stopped: None,
            statuses,
        }
    }

    /// Extends the first-parent chain to `len` commits from the history
    /// already read, reading more only while it is shorter than `needed`,
    /// unless it stops first (then `stopped` says why). A listing that
    /// cannot be read stops the chain where it is.
    async fn extend_chain(&mut self, needed: usize, len: usize) {
        let limit = self.bounds.commits as usize + 1;
        let per_page = (self.bounds.commits + 1).clamp(2, api::PER_PAGE);
        while self.chain.len() < len && self.stopped.is_none() {
            if self.chain.len() >= limit {
                self.stopped = Some((format!("walked the limit of {} commits", self.bounds.commits), None));
                break;
            }
            let Some(current) = self.chain.last().map(|p| p.sha.clone()) else { break };
            if !self.known.contains_key(&current) {
                if self.chain.len() >= needed {
                    break;
                }
                if self.requests >= self.bounds.requests {
                    self.stopped = Some((format!("request budget of {} spent", self.bounds.requests), None));
                    break;
                }
                self.requests += 1;
                match api::history_page(&self.client, &self.repo, &current, per_page).await {
                    Ok(page) => {
                        for commit in page {
                            self.known.insert(commit.sha.clone(), commit);
                        }
                    }
                    Err(e) => {
                        let why = format!("could not read the history before {}", short(&current));
                        self.stopped = Some((why, Some(e)));
                        break;
                    }
                }
                if !self.known.contains_key(&current) {
                    self.stopped =
                        Some((format!("the history of {} does not list it", short(&current)), None));
                    break;
                }
            }
            let Some(parent) =
                self.known.get(&current).and_then(|c| c.parents.first()).map(|p| p.sha.clone())
            else {
                self.stopped = Some(("reached the first commit".to_owned(), None));
                break;
            };
            self.chain.push(Point { sha: parent, date: None });
        }
    }

    /// `point` with its committer date, from the history read.
    fn dated(&self, point: &Point) -> Point {
        let date = point.date.clone().or_else(|| {
            self.known.get(&point.sha).and_then(|c| c.commit.committer.as_ref()).and_then(|c| c.date.clone())
        });
        Point { sha: point.sha.clone(), date }
    }

    /// Since when the check `name` fails. Whatever could not be read ends
    /// the walk there, keeping what was learnt before it.
    pub async fn since_when(&mut self, name: &str) -> SinceWhen {
        let statuses = self.statuses;
        let mut oldest_failing = self.chain[0].clone();
        let mut index = 1;
        loop {
            self.extend_chain(index + 1, index + BATCH).await;
            if index >= self.chain.len() {
                break;
            }
            let batch: Vec<String> = self.chain[index..(index + BATCH).min(self.chain.len())]
                .iter()
                .map(|p| p.sha.clone())
                .filter(|sha| !self.observed.contains_key(sha))
                .collect();
            let cost = if statuses { 2 } else { 1 } * u32::try_from(batch.len()).unwrap_or(u32::MAX);
            if self.requests + cost > self.bounds.requests {
                return SinceWhen::NotFound {
                    oldest_failing: self.dated(&oldest_failing),
                    walked: index,
                    why: format!("request budget of {} spent", self.bounds.requests),
                    error: None,
                };
            }
            self.requests += cost;
            self.observe(batch, statuses).await;
            let end = (index + BATCH).min(self.chain.len());
            for (at, point) in self.chain[index..end].iter().enumerate() {
                let observed = match self.observed.get(&point.sha) {
                    Some(Ok(observed)) => observed,
                    Some(Err(error)) => {
                        return SinceWhen::NotFound {
                            oldest_failing: self.dated(&oldest_failing),
                            walked: index + at,
                            why: format!("could not read the checks of {}", short(&point.sha)),
                            error: Some(error.clone()),
                        };
                    }
                    None => continue,
                };
                let required = crate::required::Required {
                    name: name.to_owned(),
                    app: None,
                    sources: Vec::new(),
                    pattern: false,
                };
                match state::find(&required, observed, self.policy).remove(0).state {
                    State::Passed(_) => {
                        return SinceWhen::Found {
                            first_failing: self.dated(&oldest_failing),
                            last_green: self.dated(point),
                        };
                    }
                    State::Failed(_) => oldest_failing = point.clone(),
                    State::Pending(_) | State::Missing => {}
                }
            }
            index = end;
        }
        let (why, error) = self.stopped.clone().unwrap_or_default();
        SinceWhen::NotFound {
            oldest_failing: self.dated(&oldest_failing),
            walked: self.chain.len(),
            why,
            error,
        }
    }

    /// Reads what ran on `shas`, all at once. Every request is waited for,
    /// failed or not, so that a recording holds every answer the walk used.
    async fn observe(&mut self, shas: Vec<String>, statuses: bool) {
        let mut tasks = JoinSet::new();
        for sha in &shas {
            let (client, repo, sha) = (Arc::clone(&self.client), self.repo.clone(), sha.clone());
            tasks.spawn(async move {
                let observed = async {
                    let check_runs = api::check_runs(&client, &repo, &sha, None).await?;
                    let statuses =
                        if statuses { api::statuses(&client, &repo, &sha).await? } else { Vec::new() };
                    Ok::<_, Error>(Observation { check_runs, statuses })
                }
                .await;
                (sha, observed)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((sha, observed)) = joined {
                self.observed.insert(sha, observed);
            }
        }
        for sha in shas {
            self.observed.entry(sha).or_insert_with(|| {
                Err(Error::Transport {
                    request: "history walk".to_owned(),
                    message: "the request ended without an answer".to_owned(),
                    attempts: 1,
                })
            });
        }
    }

    /// The pull request GitHub associates with `sha`, if any (one request).
    pub async fn pull_of(&mut self, sha: &str) -> Result<Option<Pull>, Error> {
        if self.requests >= self.bounds.requests {
            return Ok(None);
        }
        self.requests += 1;
        Ok(api::pulls_of_commit(&self.client, &self.repo, sha).await?.into_iter().next())
    }
}

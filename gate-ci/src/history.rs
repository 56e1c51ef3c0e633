//! Since when a check fails: a walk back along the branch's first-parent
//! history to the last commit where it passed.

use std::collections::HashMap;
use std::sync::Arc;

use github::{Client, Error};
use tokio::task::JoinSet;

use crate::api::{self, Commit, Pull, Repo};
use crate::state::{self, Observation, Policy, State};

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
    /// No passing commit within the bounds; the oldest failing one seen.
    NotFound {
        /// The oldest failing commit seen.
        oldest_failing: Point,
        /// Commits walked.
        walked: usize,
        /// Why the walk stopped.
        why: String,
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
    observed: HashMap<String, Observation>,
    stopped: Option<String>,
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
    /// unless it stops first (then `stopped` says why).
    async fn extend_chain(&mut self, needed: usize, len: usize) -> Result<(), Error> {
        let limit = self.bounds.commits as usize + 1;
        let per_page = (self.bounds.commits + 1).clamp(2, api::PER_PAGE);
        while self.chain.len() < len && self.stopped.is_none() {
            if self.chain.len() >= limit {
                self.stopped = Some(format!("walked the limit of {} commits", self.bounds.commits));
                break;
            }
            let Some(current) = self.chain.last().map(|p| p.sha.clone()) else { break };
            if !self.known.contains_key(&current) {
                if self.chain.len() >= needed {
                    break;
                }
                if self.requests >= self.bounds.requests {
                    self.stopped = Some(format!("request budget of {} spent", self.bounds.requests));
                    break;
                }
                self.requests += 1;
                for commit in api::history_page(&self.client, &self.repo, &current, per_page).await? {
                    self.known.insert(commit.sha.clone(), commit);
                }
            }
            let Some(parent) =
                self.known.get(&current).and_then(|c| c.parents.first()).map(|p| p.sha.clone())
            else {
                self.stopped = Some("reached the first commit".to_owned());
                break;
            };
            let date = self
                .known
                .get(&parent)
                .and_then(|c| c.commit.committer.as_ref())
                .and_then(|c| c.date.clone());
            self.chain.push(Point { sha: parent, date });
        }
        Ok(())
    }

    /// Since when the check `name` fails.
    pub async fn since_when(&mut self, name: &str) -> Result<SinceWhen, Error> {
        let statuses = self.statuses;
        let mut oldest_failing = self.chain[0].clone();
        let mut index = 1;
        loop {
            self.extend_chain(index + 1, index + BATCH).await?;
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
                return Ok(SinceWhen::NotFound {
                    oldest_failing,
                    walked: index,
                    why: format!("request budget of {} spent", self.bounds.requests),
                });
            }
            self.requests += cost;
            self.observe(batch, statuses).await?;
            let end = (index + BATCH).min(self.chain.len());
            for point in &self.chain[index..end] {
                let observed = self.observed.get(&point.sha).cloned().unwrap_or_default();
                let required = crate::required::Required {
                    name: name.to_owned(),
                    app: None,
                    sources: Vec::new(),
                    pattern: false,
                };
                match state::find(&required, &observed, self.policy).remove(0).state {
                    State::Passed(_) => {
                        return Ok(SinceWhen::Found {
                            first_failing: oldest_failing,
                            last_green: point.clone(),
                        });
                    }
                    State::Failed(_) => oldest_failing = point.clone(),
                    State::Pending(_) | State::Missing => {}
                }
            }
            index = end;
        }
        Ok(SinceWhen::NotFound {
            oldest_failing,
            walked: self.chain.len(),
            why: self.stopped.clone().unwrap_or_default(),
        })
    }

    async fn observe(&mut self, shas: Vec<String>, statuses: bool) -> Result<(), Error> {
        let mut tasks = JoinSet::new();
        for sha in shas {
            let (client, repo) = (Arc::clone(&self.client), self.repo.clone());
            tasks.spawn(async move {
                let check_runs = api::check_runs(&client, &repo, &sha, None).await?;
                let statuses = if statuses { api::statuses(&client, &repo, &sha).await? } else { Vec::new() };
                Ok::<_, Error>((sha, Observation { check_runs, statuses }))
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (sha, observation) = joined.map_err(|e| Error::Transport {
                request: "history walk".to_owned(),
                message: e.to_string(),
                attempts: 1,
            })??;
            self.observed.insert(sha, observation);
        }
        Ok(())
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

//! One run of the gate: target, the branch whose rules apply, requirements,
//! observation (waiting if asked), then the items ([`crate::judge`]) and the
//! stale-head check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gate_core::{Context, Evidence, GateOutcome, Item, JudgedCommit, RefSource};
use github::{Client, Error};

use crate::api::{self, Repo};
use crate::judge::{self, Judged, Waited};
use crate::own_job::{self, OwnJob};
use crate::progress::{self, Progress};
use crate::required::{self, Requirements};
use crate::state::{Observation, Policy, State};
use crate::target::{self, Kind, Rules, Setup, Target, short};
use crate::{Check, Config, Environment};

/// Restarts on a moved head while waiting, at most.
const MAX_RESTARTS: u32 = 3;
const DEFAULT_POLL: Duration = Duration::from_secs(15);
const DEFAULT_GRACE: Duration = Duration::from_secs(300);

pub(crate) async fn evaluate(
    config: &Config,
    env: &Environment,
    progress: &Progress,
    ctx: &Context,
) -> GateOutcome {
    let mut outcome = GateOutcome::new();
    let setup = match target::setup(config, env, ctx, &mut outcome) {
        Ok(Some(setup)) => setup,
        Ok(None) => return outcome,
        Err(error) => {
            outcome.push(error.item());
            return outcome;
        }
    };
    let client = match Client::new(setup.github.clone()) {
        Ok(client) => Arc::new(client),
        Err(e) => {
            outcome.push(Check::Github.error("client", e.to_string()));
            return outcome;
        }
    };
    let mut run = Run {
        client: &client,
        setup: &setup,
        config,
        env,
        progress,
        ctx,
        policy: Policy { neutral_passes: config.neutral_passes, skipped_passes: config.skipped_passes },
        own: None,
    };
    if let Err(e) = run.run(&mut outcome).await {
        outcome.push(Check::Github.error(setup.repo.to_string(), e.to_string()));
    }
    outcome.note(format!("{} GitHub request(s)", client.requests()));
    outcome
}

/// Everything one run shares.
pub(crate) struct Run<'a> {
    pub client: &'a Arc<Client>,
    pub setup: &'a Setup,
    pub config: &'a Config,
    env: &'a Environment,
    progress: &'a Progress,
    pub ctx: &'a Context,
    pub policy: Policy,
    /// release-check's own job, once looked up.
    own: Option<Option<OwnJob>>,
}

impl Run<'_> {
    pub(crate) fn repo(&self) -> &Repo {
        &self.setup.repo
    }

    /// The commit's web page: on `GITHUB_SERVER_URL`, else on the web host
    /// of the API (`api.github.com` → `github.com`, `HOST/api/v3` → `HOST`).
    fn commit_url(&self, sha: &str) -> Option<String> {
        let api = self.setup.github.api_url.trim_end_matches('/');
        let web = match self.env.get("GITHUB_SERVER_URL") {
            Some(server) => server.trim_end_matches('/').to_owned(),
            None if api == github::DEFAULT_API_URL => "https://github.com".to_owned(),
            None => api.strip_suffix("/api/v3")?.to_owned(),
        };
        Some(format!("{web}/{}/{}/commit/{sha}", self.repo().owner, self.repo().name))
    }

    async fn run(&mut self, outcome: &mut GateOutcome) -> Result<(), Error> {
        let started = Instant::now();
        let mut restarts = 0;
        loop {
            self.ctx.working_on(format!("asking GitHub which commit {} names", self.setup.given));
            let target = target::resolve(self.client, self.setup).await?;
            outcome.note(format!("{} is {}", target.label, target.head.sha));
            outcome.judged = Some(JudgedCommit {
                sha: target.head.sha.clone(),
                git_ref: RefSource { name: self.setup.given.clone(), from: self.setup.given_from.clone() },
                url: self.commit_url(&target.head.sha),
            });
            self.ctx.working_on(format!("reading the rules that apply to {}", short(&target.head.sha)));
            let (rules, requirements) = self.requirements(&target, outcome).await?;
            self.ctx.working_on(format!("reading the checks of {}", short(&target.head.sha)));
            let mut observed = self.observe(&target.head.sha, outcome).await?;
            let waited = match self.config.wait {
                Some(wait) => {
                    Some(self.wait(wait.0, &target, &rules, &requirements, &mut observed, outcome).await?)
                }
                None => None,
            };
            let now = if target.movable() {
                target::resolve(self.client, self.setup).await?
            } else {
                target.clone()
            };
            if now.head.sha != target.head.sha && self.config.wait.is_some() && restarts < MAX_RESTARTS {
                restarts += 1;
                outcome.note(format!(
                    "{} moved from {} to {} while waiting: starting over",
                    target.label,
                    short(&target.head.sha),
                    short(&now.head.sha)
                ));
                continue;
            }
            if let Some(waited) = &waited {
                outcome.note(format!(
                    "waited {} in all for pending checks: {}",
                    progress::elapsed(started.elapsed()),
                    waited.stopped
                ));
            }
            outcome.note(rules.note());
            for note in &requirements.notes {
                outcome.note(note.clone());
            }
            for (source, refusal) in &requirements.unreadable {
                let message = match refusal {
                    Error::Status { message, .. } => message.as_str(),
                    _ => "refused",
                };
                outcome.push(
                    Check::Sources.warn(
                        source,
                        format!("could not be read: GitHub refused the token (HTTP 403: {message}); the other sources still apply"),
                    )
                    .with(Evidence::fact("request", refusal.to_string())),
                );
            }
            if rules.branch.is_none() {
                outcome.push(unknown_rules(&target, &rules, &requirements));
            }
            let judged = self.judged(&rules, &requirements, &observed);
            judge::judge(self, &target, &judged, waited.as_ref(), outcome).await?;
            outcome.push(self.head_item(&target, &now, &rules));
            return Ok(());
        }
    }

    /// The branch whose rules apply and the checks they require. A name
    /// that may be a tag is confirmed to be a branch before its (empty)
    /// rules are trusted: GitHub answers rules for any name.
    async fn requirements(
        &self,
        target: &Target,
        outcome: &mut GateOutcome,
    ) -> Result<(Rules, Requirements), Error> {
        let mut rules = target::rules(self.client, self.setup, self.env, target).await?;
        let mut requirements =
            required::gather(self.client, self.repo(), rules.branch.as_deref(), &self.config.required)
                .await?;
        if let (true, Some(name)) = (rules.unverified, rules.branch.clone())
            && requirements.from_rules == 0
            && !api::is_branch(self.client, self.repo(), &name).await?
        {
            outcome.note(format!(
                "{name} is not a branch (a tag?): looking for the branch whose rules apply to {}",
                short(&target.head.sha)
            ));
            rules = target::of_commit(self.client, self.setup, self.env, &target.head.sha).await?;
            requirements =
                required::gather(self.client, self.repo(), rules.branch.as_deref(), &self.config.required)
                    .await?;
        }
        Ok((rules, requirements))
    }

    /// What ran on `sha`; the first time a check run is still running
    /// inside GitHub Actions, which of them is this job.
    async fn observe(&mut self, sha: &str, outcome: &mut GateOutcome) -> Result<Observation, Error> {
        let observed = Observation {
            check_runs: api::check_runs(self.client, self.repo(), sha, None).await?,
            statuses: api::statuses(self.client, self.repo(), sha).await?,
        };
        if self.own.is_none() && observed.check_runs.iter().any(|r| r.status != "completed") {
            let found = own_job::find(self.client, self.repo(), self.env).await;
            match &found {
                Ok(Some(job)) => outcome.note(format!(
                    "left out {} (check run {}): it is the job running release-check, so its result will be this verdict",
                    job.name, job.check_run
                )),
                Ok(None) => {}
                Err(why) => outcome.note(format!(
                    "could not tell which check run is release-check's own job, so none is left out: {why}"
                )),
            }
            self.own = Some(found.ok().flatten());
        }
        Ok(observed)
    }

    /// The checks judged: the required ones, or, when nothing requires any
    /// and the rules are known, every one that ran; release-check's own job
    /// left out.
    fn judged(&self, rules: &Rules, requirements: &Requirements, observed: &Observation) -> Judged {
        let own = self.own.as_ref().and_then(|o| o.as_ref()).map(|o| o.check_run);
        Judged::new(&requirements.checks, rules.branch.is_some(), observed, self.policy, own)
    }

    /// Polls until every judged check finished, one failed (the verdict
    /// can no longer become GO), one did not start within the grace time,
    /// or `wait` is over; shows progress on each poll.
    async fn wait(
        &mut self,
        wait: Duration,
        target: &Target,
        rules: &Rules,
        requirements: &Requirements,
        observed: &mut Observation,
        outcome: &mut GateOutcome,
    ) -> Result<Waited, Error> {
        let grace = self.config.grace.map_or(DEFAULT_GRACE, |g| g.0);
        let poll = self.config.poll_interval.map_or(DEFAULT_POLL, |p| p.0);
        let started = Instant::now();
        let sha = short(&target.head.sha).to_owned();
        let stopped = loop {
            let judged = self.judged(rules, requirements, observed);
            let elapsed = started.elapsed();
            if rules.branch.is_none() {
                break "the required checks are unknown, so the verdict cannot become GO".to_owned();
            }
            if let Some((_, failed)) = judged.seen.iter().find(|(_, s)| matches!(s.state, State::Failed(_))) {
                break format!("{} failed, so the verdict cannot become GO", failed.name);
            }
            let pending: Vec<String> = judged
                .seen
                .iter()
                .filter(|(_, s)| !s.state.is_final())
                .map(|(_, s)| match &s.state {
                    State::Pending(status) => format!("{} ({status})", s.name),
                    _ => format!("{} (not reported)", s.name),
                })
                .collect();
            let nothing_ran = judged.fallback && judged.seen.is_empty();
            if pending.is_empty() && !nothing_ran {
                break "every check finished".to_owned();
            }
            let not_started = nothing_ran || judged.seen.iter().any(|(_, s)| s.state.not_started());
            if not_started && elapsed >= grace {
                break format!("not started within the grace time of {}", progress::elapsed(grace));
            }
            if elapsed >= wait {
                break format!("the wait of {} is over", progress::elapsed(wait));
            }
            if self.ctx.cancel.is_cancelled() {
                break "the gate was cancelled".to_owned();
            }
            let what = if nothing_ran {
                "any check to report".to_owned()
            } else {
                let shown: Vec<&str> = pending.iter().take(3).map(String::as_str).collect();
                let more = match pending.len().saturating_sub(3) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                format!("{} pending check(s): {}{more}", pending.len(), shown.join(", "))
            };
            self.progress.update(&format!(
                "ci: waiting on {sha} for {what} ({} of {})",
                progress::elapsed(elapsed),
                progress::elapsed(wait)
            ));
            tokio::time::sleep(poll.min(wait - elapsed)).await;
            *observed = self.observe(&target.head.sha, outcome).await?;
        };
        let elapsed = started.elapsed();
        self.progress.finish(&format!("ci: waited {} on {sha}: {stopped}", progress::elapsed(elapsed)));
        Ok(Waited { elapsed, grace, stopped })
    }

    /// The `head` item, carrying what was judged: the commit, the ref and
    /// where it came from, the branch whose rules applied and why.
    fn head_item(&self, target: &Target, now: &Target, rules: &Rules) -> Item {
        let mut item = if now.head.sha == target.head.sha {
            let reason = if target.movable() {
                format!("still at {} when the verdict was given", short(&target.head.sha))
            } else {
                format!("a commit SHA cannot move: the verdict is for {}", short(&target.head.sha))
            };
            Check::Head.pass(&target.label, reason)
        } else {
            Check::Head
                .fail(
                    &target.label,
                    format!(
                        "moved from {} to {} during the check: this verdict is for {}, not for the new head",
                        short(&target.head.sha),
                        short(&now.head.sha),
                        short(&target.head.sha)
                    ),
                )
                .with(Evidence::fact("head now", &now.head.sha))
        };
        item = item
            .with(Evidence::fact("commit", &target.head.sha))
            .with(Evidence::fact("ref", &self.setup.given))
            .with(Evidence::fact("ref from", &self.setup.given_from));
        for evidence in rules.evidence() {
            item = item.with(evidence);
        }
        item
    }
}

/// The blocker for a commit no branch's rules are known for.
fn unknown_rules(target: &Target, rules: &Rules, requirements: &Requirements) -> Item {
    let configured = if requirements.checks.is_empty() {
        String::new()
    } else {
        " (the checks `[gates.ci] required` names are judged below, but rules may require more)".to_owned()
    };
    let mut item = Check::Target.fail(
        "branch",
        format!(
            "the required checks of {} are unknown{configured}: {}. Set `[gates.ci] branch` to the branch whose rulesets and branch protection apply, or check the branch or pull request (`--ref main`, `--ref pull/N`) instead",
            target.label, rules.why
        ),
    )
    .with(Evidence::fact("commit", &target.head.sha));
    if let Kind::Name(name) = &target.kind {
        item = item.with(Evidence::fact("not a branch", name));
    }
    item
}

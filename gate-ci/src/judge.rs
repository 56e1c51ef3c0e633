//! The items: one per judged check, since when a failing one fails, and
//! whether a passing one needed a re-run.

use std::sync::Arc;
use std::time::Duration;

use gate_core::{Evidence, GateOutcome, Item};
use github::{Client, Error};

use crate::Check;
use crate::api::{self, Repo, WorkflowRun};
use crate::evaluate::Run;
use crate::history::{Bounds, Point, SinceWhen, Walk};
use crate::progress::elapsed;
use crate::required::Required;
use crate::state::{self, Observation, Policy, Seen, State};
use crate::target::{Target, short};

/// The checks judged on one observation.
pub(crate) struct Judged {
    /// Each judged check with what was seen of it (several for a pattern).
    pub seen: Vec<(Required, Seen)>,
    /// Nothing requires a check: every check that ran is judged.
    pub fallback: bool,
}

impl Judged {
    /// `checks`, or with none and known rules every check that ran;
    /// whatever only the check run `own` (release-check's job) reports is
    /// left out.
    pub(crate) fn new(
        checks: &[Required],
        rules_known: bool,
        observed: &Observation,
        policy: Policy,
        own: Option<u64>,
    ) -> Self {
        let fallback = checks.is_empty() && rules_known;
        let implicit;
        let checks = if fallback {
            implicit = state::everything(observed);
            implicit.as_slice()
        } else {
            checks
        };
        let mine = |s: &Seen| own.is_some() && s.check_run.as_ref().map(|r| r.id) == own;
        let seen = checks
            .iter()
            .flat_map(|r| {
                state::find(r, observed, policy).into_iter().filter(|s| !mine(s)).map(|s| (r.clone(), s))
            })
            .collect();
        Self { seen, fallback }
    }
}

/// How long the gate waited, and why it stopped.
#[derive(Debug, Clone)]
pub(crate) struct Waited {
    /// The real time waited on this commit.
    pub elapsed: Duration,
    /// The grace time for a check to start.
    pub grace: Duration,
    /// Why it stopped waiting.
    pub stopped: String,
}

/// Pushes the items of `judged`.
pub(crate) async fn judge(
    run: &Run<'_>,
    target: &Target,
    judged: &Judged,
    waited: Option<&Waited>,
    outcome: &mut GateOutcome,
) -> Result<(), Error> {
    let check = if judged.fallback { Check::Ran } else { Check::Required };
    if judged.fallback {
        if judged.seen.is_empty() {
            outcome.push(Check::Ran.fail(
                short(&target.head.sha),
                format!(
                    "no check run or commit status on {} (besides release-check's own job) and no required checks are configured: nothing shows CI ran",
                    target.head.sha
                ),
            ));
            return Ok(());
        }
        outcome.push(Check::Ran.warn(
            "",
            "no ruleset, branch protection or `[gates.ci] required` names a required check: judged by the fallback, every check that ran must pass (and at least one must have run); name the required checks to judge by them",
        ));
    }
    let mut items: Vec<Item> = judged.seen.iter().map(|(r, s)| item(check, r, s, waited)).collect();

    let failing: Vec<usize> = judged
        .seen
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| matches!(s.state, State::Failed(_)))
        .map(|(i, _)| i)
        .collect();
    if !failing.is_empty() {
        let statuses = failing.iter().any(|&i| judged.seen[i].1.check_run.is_none());
        let bounds = Bounds { commits: run.config.history_commits, requests: run.config.history_requests };
        let mut walk = Walk::new(
            Arc::clone(run.client),
            run.repo().clone(),
            target.head.clone(),
            run.policy,
            bounds,
            statuses,
        );
        for &i in &failing {
            // The verdict is already NO-GO: what the walk cannot read only leaves the question open.
            run.ctx.working_on(format!(
                "walking the history to find since when {} fails",
                judged.seen[i].1.name
            ));
            let since = walk.since_when(&judged.seen[i].1.name).await;
            let first = match &since {
                SinceWhen::Found { first_failing, .. } => first_failing.sha.clone(),
                SinceWhen::NotFound { oldest_failing, .. } => oldest_failing.sha.clone(),
            };
            let pull = walk.pull_of(&first).await;
            add_since_when(&mut items[i], &since, pull);
        }
    }

    let passed_runs: Vec<usize> = judged
        .seen
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| matches!(s.state, State::Passed(_)) && s.check_run.is_some())
        .map(|(i, _)| i)
        .collect();
    if !passed_runs.is_empty() {
        let runs = api::workflow_runs(run.client, run.repo(), &target.head.sha).await?;
        for &i in &passed_runs {
            if let Some(flaky) = flaky(run.client, run.repo(), &judged.seen[i].1, &runs).await? {
                items.push(flaky);
            }
        }
    }
    for item in items {
        outcome.push(item);
    }
    Ok(())
}

fn item(check: Check, required: &Required, seen: &Seen, waited: Option<&Waited>) -> Item {
    let sources = required.sources.join(", ");
    let reason = match (&seen.state, waited) {
        (State::Passed(conclusion), _) => format!("passed ({conclusion}), {}", seen.via),
        (State::Failed(conclusion), _) => format!("failed: {conclusion}, {}", seen.via),
        (State::Pending(status), Some(w)) if seen.state.not_started() && w.elapsed >= w.grace => {
            format!("never started: still {status} after waiting {}", elapsed(w.elapsed))
        }
        (State::Pending(status), Some(w)) => {
            format!("still {status} after waiting {} ({})", elapsed(w.elapsed), w.stopped)
        }
        (State::Pending(status), None) => {
            format!("pending ({status}): not finished yet; `--wait 20m` waits for it")
        }
        (State::Missing, Some(w)) if w.elapsed >= w.grace => {
            format!("never started: not reported after waiting {}", elapsed(w.elapsed))
        }
        (State::Missing, Some(w)) => {
            format!("missing: not reported after waiting {} ({})", elapsed(w.elapsed), w.stopped)
        }
        (State::Missing, None) => {
            "missing: no check run or commit status of this name on the commit".to_owned()
        }
    };
    let mut item = if matches!(seen.state, State::Passed(_)) {
        check.pass(&seen.name, reason)
    } else {
        check.fail(&seen.name, reason)
    };
    item = item.with(Evidence::fact("required by", sources));
    if let Some(app) = &required.app {
        item = item.with(Evidence::fact("must be reported by", app.to_string()));
    }
    if required.pattern {
        item = item.with(Evidence::fact("pattern", &required.name));
    }
    if let Some(url) = &seen.url {
        item = item.with(Evidence::Url { url: url.clone() });
    }
    item
}

/// `1f8a2b3c4d5e (2020-10-23T03:01:09Z)`.
fn describe(point: &Point) -> String {
    match &point.date {
        Some(date) => format!("{} ({date})", short(&point.sha)),
        None => short(&point.sha).to_owned(),
    }
}

/// Adds since when the check fails to its item: sentences in the reason,
/// SHAs and failed requests in the evidence.
fn add_since_when(item: &mut Item, since: &SinceWhen, pull: Result<Option<api::Pull>, Error>) {
    match since {
        SinceWhen::Found { first_failing, last_green } => {
            item.reason.push_str(&format!(
                "; failing since {}, last green {}",
                describe(first_failing),
                describe(last_green)
            ));
            item.evidence.push(Evidence::fact("failing since", &first_failing.sha));
            item.evidence.push(Evidence::fact("last green", &last_green.sha));
            if let Some(date) = &last_green.date {
                item.evidence.push(Evidence::fact("last green on", date));
            }
        }
        SinceWhen::NotFound { oldest_failing, walked, why, error: None } => {
            item.reason.push_str(&format!(
                "; failing since at least {} (no green commit in {walked} commits back: {why})",
                describe(oldest_failing)
            ));
            item.evidence.push(Evidence::fact("failing since at least", &oldest_failing.sha));
        }
        SinceWhen::NotFound { oldest_failing, why, error: Some(error), .. } => {
            item.reason.push_str(&format!(
                "; failing since at least {}; {why}, so since when is not known further back",
                describe(oldest_failing)
            ));
            item.evidence.push(Evidence::fact("failing since at least", &oldest_failing.sha));
            item.evidence.push(Evidence::fact("could not read", error.to_string()));
        }
    }
    match pull {
        Ok(Some(pull)) => {
            let title = pull.title.as_deref().unwrap_or("");
            item.evidence
                .push(Evidence::fact("introduced by", format!("pull request #{} {title}", pull.number)));
            if let Some(url) = &pull.html_url {
                item.evidence.push(Evidence::Url { url: url.clone() });
            }
        }
        Ok(None) => {}
        Err(error) => item.evidence.push(Evidence::fact("could not read", error.to_string())),
    }
}

/// A warning if the passing check run belongs to a re-run workflow whose
/// earlier attempt failed the job of the same name.
async fn flaky(
    client: &Client,
    repo: &Repo,
    seen: &Seen,
    runs: &[WorkflowRun],
) -> Result<Option<Item>, Error> {
    let Some(suite) = seen.check_run.as_ref().and_then(|r| r.check_suite.as_ref()).map(|s| s.id) else {
        return Ok(None);
    };
    let Some(run) = runs.iter().find(|r| r.check_suite_id == Some(suite)) else { return Ok(None) };
    let latest = run.run_attempt.unwrap_or(1);
    for attempt in (1..latest).rev() {
        let jobs = api::attempt_jobs(client, repo, run.id, attempt).await?;
        if let Some(job) = jobs.iter().find(|j| {
            j.name == seen.name && matches!(j.conclusion.as_deref(), Some(c) if !matches!(c, "success" | "neutral" | "skipped"))
        }) {
            let conclusion = job.conclusion.clone().unwrap_or_default();
            let workflow = run.name.clone().unwrap_or_else(|| format!("workflow run {}", run.id));
            let mut item = Check::Flaky.warn(
                &seen.name,
                format!("passed on attempt {latest} of {workflow} after attempt {attempt} failed ({conclusion})"),
            )
            .with(Evidence::fact("failed attempt", format!("{attempt} of run {}", run.id)))
            .with(Evidence::fact("passing attempt", format!("{latest} of run {}", run.id)));
            if let Some(url) = &job.html_url {
                item = item.with(Evidence::Url { url: url.clone() });
            }
            if let Some(url) = &seen.url {
                item = item.with(Evidence::Url { url: url.clone() });
            }
            return Ok(Some(item));
        }
    }
    Ok(None)
}

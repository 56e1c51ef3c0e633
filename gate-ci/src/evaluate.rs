//! One run of the gate: target, requirements, observation (waiting if
//! asked), flaky and since-when analysis, stale-head check, items.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gate_core::{Context, Evidence, GateOutcome, Item};
use github::{Client, Error, Token};

use crate::api::{self, Repo};
use crate::history::{Bounds, Point, SinceWhen, Walk};
use crate::required::{self, Required};
use crate::state::{self, Observation, Policy, Seen, State};
use crate::{Config, api::WorkflowRun};

/// Restarts on a moved head while waiting, at most.
const MAX_RESTARTS: u32 = 3;
const DEFAULT_POLL: Duration = Duration::from_secs(15);
const DEFAULT_GRACE: Duration = Duration::from_secs(300);

/// What to check, once the configuration and the environment are combined.
struct Setup {
    repo: Repo,
    target: String,
    branch: Option<String>,
    github: github::Config,
}

pub(crate) async fn evaluate(config: &Config, ctx: &Context) -> GateOutcome {
    let mut outcome = GateOutcome::new();
    let setup = match setup(config, ctx, &mut outcome) {
        Ok(Some(setup)) => setup,
        Ok(None) => return outcome,
        Err(why) => {
            outcome.push(Item::error("target", "configuration", why));
            return outcome;
        }
    };
    let client = match Client::new(setup.github.clone()) {
        Ok(client) => Arc::new(client),
        Err(e) => {
            outcome.push(Item::error("github", "client", e.to_string()));
            return outcome;
        }
    };
    let result = run(&client, &setup, config, ctx, &mut outcome).await;
    if let Err(e) = result {
        outcome.push(Item::error("github", setup.repo.to_string(), e.to_string()));
    }
    outcome.note(format!("{} GitHub request(s)", client.requests()));
    outcome
}

/// Combines configuration and environment. `Ok(None)`: nothing to check here
/// (a skipped item says why).
fn setup(config: &Config, ctx: &Context, outcome: &mut GateOutcome) -> Result<Option<Setup>, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (repo, from) = match (&config.repository, env("GITHUB_REPOSITORY")) {
        (Some(r), _) => (r.clone(), "configuration"),
        (None, Some(r)) => {
            (Repo::parse(&r).map_err(|e| format!("GITHUB_REPOSITORY: {e}"))?, "GITHUB_REPOSITORY")
        }
        (None, None) => match origin_repository(&ctx.repo) {
            Some(r) => {
                (Repo::parse(&r).map_err(|e| format!("git remote origin: {e}"))?, "the git remote origin")
            }
            None => {
                outcome.push(Item::skipped(
                    "target",
                    "repository",
                    "no GitHub repository: set `[gates.ci] repository`, run in GitHub Actions, or add a GitHub remote `origin`",
                ));
                return Ok(None);
            }
        },
    };
    let (target, target_from) = match (&config.target, env("GITHUB_SHA")) {
        (Some(t), _) => (t.clone(), "configuration"),
        (None, Some(sha)) => (sha, "GITHUB_SHA"),
        (None, None) => match is_work_tree_root(&ctx.repo)
            .then(|| git(&ctx.repo, &["rev-parse", "HEAD"]))
            .flatten()
        {
            Some(sha) => (sha, "the repository's HEAD"),
            None => {
                return Err("no ref to check: set `[gates.ci] ref` (a branch, tag, SHA or pull/N)".to_owned());
            }
        },
    };
    outcome.note(format!("repository {repo} (from {from}), ref {target} (from {target_from})"));
    let mut github = github::Config {
        api_url: config
            .api_url
            .clone()
            .or_else(|| env("GITHUB_API_URL"))
            .unwrap_or(github::DEFAULT_API_URL.into()),
        token: Token::from_env(),
        retries: config.retries,
        record: config.record.as_ref().map(|p| ctx.repo.join(p)),
        replay: config.replay.as_ref().map(|p| ctx.repo.join(p)),
        ..github::Config::default()
    };
    if let Some(timeout) = config.request_timeout {
        github.timeout = timeout.0;
    }
    if let Some(dir) = &github.replay {
        outcome.note(format!("replaying the recorded GitHub answers in {} (no network)", dir.display()));
    } else if github.token.is_none() {
        outcome.note("no GITHUB_TOKEN or GH_TOKEN: anonymous requests (60 an hour)");
    }
    Ok(Some(Setup { repo, target, branch: config.branch.clone(), github }))
}

/// `owner/name` of a github.com `origin` remote.
fn origin_repository(repo: &Path) -> Option<String> {
    if !is_work_tree_root(repo) {
        return None;
    }
    let url = git(repo, &["remote", "get-url", "origin"])?;
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("git@github.com:"))
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))?;
    Some(rest.trim_end_matches('/').trim_end_matches(".git").to_owned())
}

/// Whether `repo` is the top of a git work tree (not a folder inside another
/// repository, such as the bundled examples).
fn is_work_tree_root(repo: &Path) -> bool {
    let top = git(repo, &["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from);
    match (top.and_then(|t| t.canonicalize().ok()), repo.canonicalize().ok()) {
        (Some(top), Some(repo)) => top == repo,
        _ => false,
    }
}

fn git(repo: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git").arg("-C").arg(repo).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// The commit a ref points to now.
#[derive(Debug, Clone)]
struct Target {
    head: Point,
    /// The branch whose rules apply.
    branch: Option<String>,
    /// How to say what was checked: `branch main`, `pull request #12`, `commit 1a2b3c4`.
    label: String,
}

async fn resolve(client: &Client, setup: &Setup) -> Result<Target, Error> {
    let pr = setup.target.strip_prefix("pull/").or_else(|| setup.target.strip_prefix('#'));
    if let Some(number) = pr.and_then(|n| n.parse::<u64>().ok()) {
        let pull = api::pull(client, &setup.repo, number).await?;
        let (Some(head), base) = (pull.head, pull.base) else {
            return Err(Error::Malformed {
                request: format!("GET {}/pulls/{number}", setup.repo.path()),
                message: "the pull request has no head".into(),
            });
        };
        return Ok(Target {
            head: Point { sha: head.sha, date: None },
            branch: setup.branch.clone().or(base.map(|b| b.name)),
            label: format!("pull request #{number}"),
        });
    }
    let commit = api::commit(client, &setup.repo, &setup.target).await?;
    let is_sha = setup.target.len() >= 7 && setup.target.chars().all(|c| c.is_ascii_hexdigit());
    let date = commit.commit.committer.and_then(|c| c.date);
    Ok(Target {
        head: Point { sha: commit.sha, date },
        branch: setup.branch.clone().or_else(|| (!is_sha).then(|| setup.target.clone())),
        label: if is_sha { format!("commit {}", short(&setup.target)) } else { setup.target.clone() },
    })
}

async fn observe(client: &Client, repo: &Repo, sha: &str) -> Result<Observation, Error> {
    Ok(Observation {
        check_runs: api::check_runs(client, repo, sha, None).await?,
        statuses: api::statuses(client, repo, sha).await?,
    })
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

async fn run(
    client: &Arc<Client>,
    setup: &Setup,
    config: &Config,
    ctx: &Context,
    outcome: &mut GateOutcome,
) -> Result<(), Error> {
    let policy = Policy { neutral_passes: config.neutral_passes, skipped_passes: config.skipped_passes };
    let grace = config.grace.map_or(DEFAULT_GRACE, |g| g.0);
    let poll = config.poll_interval.map_or(DEFAULT_POLL, |p| p.0);
    let mut restarts = 0;
    loop {
        let target = resolve(client, setup).await?;
        outcome.note(format!("{} is {}", target.label, target.head.sha));
        let requirements =
            required::gather(client, &setup.repo, target.branch.as_deref(), &config.required).await?;
        let started = Instant::now();
        let mut observed = observe(client, &setup.repo, &target.head.sha).await?;
        let mut waited = None;
        if let Some(wait) = config.wait {
            loop {
                let seen = all_seen(&requirements.checks, &observed, policy);
                let elapsed = started.elapsed();
                let stuck = elapsed >= grace && seen.iter().any(|(_, s)| s.state.not_started());
                if seen.iter().all(|(_, s)| s.state.is_final()) && !seen.is_empty() || stuck {
                    break;
                }
                if elapsed >= wait.0 || ctx.cancel.is_cancelled() {
                    break;
                }
                tokio::time::sleep(poll.min(wait.0 - elapsed)).await;
                observed = observe(client, &setup.repo, &target.head.sha).await?;
            }
            waited = Some((started.elapsed(), grace));
        }
        let now = resolve(client, setup).await?;
        if now.head.sha != target.head.sha && config.wait.is_some() && restarts < MAX_RESTARTS {
            restarts += 1;
            outcome.note(format!(
                "{} moved from {} to {} while waiting: starting over",
                target.label,
                short(&target.head.sha),
                short(&now.head.sha)
            ));
            continue;
        }
        for note in &requirements.notes {
            outcome.note(note.clone());
        }
        for (source, why) in &requirements.unreadable {
            outcome.push(Item::warn("sources", source, format!("could not be read: {why}")));
        }
        judge(client, setup, config, &target, &requirements.checks, &observed, waited, outcome).await?;
        let head_item = if now.head.sha == target.head.sha {
            Item::pass(
                "head",
                &target.label,
                format!("still at {} when the verdict was given", short(&target.head.sha)),
            )
        } else {
            Item::fail(
                "head",
                &target.label,
                format!(
                    "moved from {} to {} during the check: this verdict is for {}, not for the new head",
                    short(&target.head.sha),
                    short(&now.head.sha),
                    short(&target.head.sha)
                ),
            )
            .with(Evidence::fact("checked", &target.head.sha))
            .with(Evidence::fact("head now", &now.head.sha))
        };
        outcome.push(head_item);
        return Ok(());
    }
}

/// Each required check with what was seen of it (several for a pattern).
fn all_seen<'a>(checks: &'a [Required], observed: &Observation, policy: Policy) -> Vec<(&'a Required, Seen)> {
    checks.iter().flat_map(|r| state::find(r, observed, policy).into_iter().map(move |s| (r, s))).collect()
}

#[allow(clippy::too_many_arguments)]
async fn judge(
    client: &Arc<Client>,
    setup: &Setup,
    config: &Config,
    target: &Target,
    checks: &[Required],
    observed: &Observation,
    waited: Option<(Duration, Duration)>,
    outcome: &mut GateOutcome,
) -> Result<(), Error> {
    let policy = Policy { neutral_passes: config.neutral_passes, skipped_passes: config.skipped_passes };
    let implicit;
    let (check_id, checks) = if checks.is_empty() {
        implicit = state::everything(observed);
        if implicit.is_empty() {
            outcome.push(Item::fail(
                "ran",
                short(&target.head.sha),
                format!(
                    "no check run or commit status on {} and no required checks are configured: nothing shows CI ran",
                    target.head.sha
                ),
            ));
            return Ok(());
        }
        outcome.note(
            "no rulesets, branch protection or configuration require a check: every check that ran must pass",
        );
        ("ran", implicit.as_slice())
    } else {
        ("required", checks)
    };
    let seen = all_seen(checks, observed, policy);
    let mut items: Vec<Item> = seen.iter().map(|(r, s)| item(check_id, r, s, waited)).collect();

    let failing: Vec<usize> = seen
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| matches!(s.state, State::Failed(_)))
        .map(|(i, _)| i)
        .collect();
    if !failing.is_empty() {
        let statuses = failing.iter().any(|&i| seen[i].1.check_run.is_none());
        let bounds = Bounds { commits: config.history_commits, requests: config.history_requests };
        let mut walk =
            Walk::new(Arc::clone(client), setup.repo.clone(), target.head.clone(), policy, bounds, statuses);
        for &i in &failing {
            // The verdict is already NO-GO: a failed walk only leaves the question open.
            match walk.since_when(&seen[i].1.name).await {
                Ok(since) => {
                    let first = match &since {
                        SinceWhen::Found { first_failing, .. } => first_failing.sha.clone(),
                        SinceWhen::NotFound { oldest_failing, .. } => oldest_failing.sha.clone(),
                    };
                    let pull = walk.pull_of(&first).await.ok().flatten();
                    add_since_when(&mut items[i], &since, pull.as_ref());
                }
                Err(e) => items[i].reason.push_str(&format!("; since when is unknown: {e}")),
            }
        }
    }

    let passed_runs: Vec<usize> = seen
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| matches!(s.state, State::Passed(_)) && s.check_run.is_some())
        .map(|(i, _)| i)
        .collect();
    if !passed_runs.is_empty() {
        let runs = api::workflow_runs(client, &setup.repo, &target.head.sha).await?;
        for &i in &passed_runs {
            if let Some(flaky) = flaky(client, &setup.repo, &seen[i].1, &runs).await? {
                items.push(flaky);
            }
        }
    }
    for item in items {
        outcome.push(item);
    }
    Ok(())
}

fn item(check_id: &str, required: &Required, seen: &Seen, waited: Option<(Duration, Duration)>) -> Item {
    let sources = required.sources.join(", ");
    let mut item = match &seen.state {
        State::Passed(conclusion) => {
            Item::pass(check_id, &seen.name, format!("passed ({conclusion}), {}", seen.via))
        }
        State::Failed(conclusion) => {
            Item::fail(check_id, &seen.name, format!("failed: {conclusion}, {}", seen.via))
        }
        State::Pending(status) => match waited {
            Some((_, grace)) if seen.state.not_started() => Item::fail(
                check_id,
                &seen.name,
                format!(
                    "never started: still {status} {} after it was first seen",
                    gate_core::runner::human_duration(grace)
                ),
            ),
            Some((waited, _)) => Item::fail(
                check_id,
                &seen.name,
                format!("still {status} after waiting {}", gate_core::runner::human_duration(waited)),
            ),
            None => Item::fail(
                check_id,
                &seen.name,
                format!("pending ({status}): not finished yet; `--wait 20m` waits for it"),
            ),
        },
        State::Missing => match waited {
            Some((_, grace)) => Item::fail(
                check_id,
                &seen.name,
                format!("never started: not reported within {}", gate_core::runner::human_duration(grace)),
            ),
            None => Item::fail(
                check_id,
                &seen.name,
                "missing: no check run or commit status of this name on the commit",
            ),
        },
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

fn add_since_when(item: &mut Item, since: &SinceWhen, pull: Option<&api::Pull>) {
    let describe = |p: &Point| match &p.date {
        Some(date) => format!("{} ({date})", short(&p.sha)),
        None => short(&p.sha).to_owned(),
    };
    match since {
        SinceWhen::Found { first_failing, last_green } => {
            item.reason.push_str(&format!(
                "; failing since {}, last green {}",
                describe(first_failing),
                short(&last_green.sha)
            ));
            item.evidence.push(Evidence::fact("failing since", &first_failing.sha));
            item.evidence.push(Evidence::fact("last green", &last_green.sha));
        }
        SinceWhen::NotFound { oldest_failing, walked, why } => {
            item.reason.push_str(&format!(
                "; failing at least since {} (no green commit in {walked} commits back: {why})",
                describe(oldest_failing)
            ));
            item.evidence.push(Evidence::fact("failing at least since", &oldest_failing.sha));
        }
    }
    if let Some(pull) = pull {
        let title = pull.title.as_deref().unwrap_or("");
        item.evidence.push(Evidence::fact("introduced by", format!("pull request #{} {title}", pull.number)));
        if let Some(url) = &pull.html_url {
            item.evidence.push(Evidence::Url { url: url.clone() });
        }
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
            let mut item = Item::warn(
                "flaky",
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

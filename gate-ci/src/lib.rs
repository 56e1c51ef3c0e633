//! The `ci` gate: every required check passed on exactly the release commit.
//!
//! It resolves the target (branch, tag, SHA or pull request) to a commit,
//! finds the branch whose rules apply to it (for a bare SHA: the pull
//! request's base, the branch the workflow ran for, or the default branch
//! when the commit is on it; otherwise the required checks are unknown and
//! that blocks), collects the required checks from the branch's rulesets,
//! its classic branch protection and the configuration, and reads what ran on the
//! commit: check runs, commit statuses and workflow runs. Each required
//! check is an item: passed, failed (naming the conclusion), pending,
//! missing or never started. A check that passed only on a re-run is
//! flaky (a warning naming both attempts); a failing check says since when
//! it fails on the branch's first-parent history. If the branch moved while
//! the gate looked, the verdict says so.
//!
//! Everything goes through [`github::Client`], so a run can be recorded
//! and replayed offline.

pub mod api;
mod environment;
mod evaluate;
mod history;
mod judge;
mod own_job;
mod progress;
pub mod required;
pub mod state;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use gate_core::{CheckInfo, Context, Gate, GateOutcome, HumanDuration};
use serde::Deserialize;

pub use api::Repo;
pub use environment::{Environment, VARIABLES};
pub use progress::Progress;

/// `[gates.ci]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `enabled = false` turns the gate off: it does not run and the report
    /// lists it as off. Absent or `true`: the gate runs.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `owner/name`. Default: `GITHUB_REPOSITORY`, else the GitHub remote `origin` of the repository.
    pub repository: Option<Repo>,
    /// Branch, tag, SHA, or `pull/N`. Default: on a `pull_request` event the
    /// pull request's head (from `GITHUB_EVENT_PATH`), else `GITHUB_SHA`,
    /// else the repository's `HEAD` commit.
    #[serde(rename = "ref")]
    pub target: Option<String>,
    /// The branch whose rules apply. Default: found from the ref and the
    /// environment (see the crate's `target` module).
    pub branch: Option<String>,
    /// API root. Default: `GITHUB_API_URL`, else `https://api.github.com`.
    pub api_url: Option<String>,
    /// Checks required besides those of rulesets and branch protection.
    #[serde(default)]
    pub required: Vec<RequiredConfig>,
    /// Whether a `neutral` conclusion passes (GitHub: yes).
    #[serde(default = "yes")]
    pub neutral_passes: bool,
    /// Whether a `skipped` conclusion passes (GitHub: yes).
    #[serde(default = "yes")]
    pub skipped_passes: bool,
    /// Wait up to this long for pending checks (`--wait`).
    pub wait: Option<HumanDuration>,
    /// Time between polls while waiting (default 15 s).
    pub poll_interval: Option<HumanDuration>,
    /// While waiting, a required check not started after this long is "never started" (default 5 min).
    pub grace: Option<HumanDuration>,
    /// Most commits walked back to find since when a check fails (default
    /// 50; 0 to 1000).
    #[serde(default = "default_history", deserialize_with = "gate_core::bounded::u32_in::<_, 0, 1000>")]
    pub history_commits: u32,
    /// Most requests spent on that walk (default 60; 0 to 5000).
    #[serde(
        default = "default_history_requests",
        deserialize_with = "gate_core::bounded::u32_in::<_, 0, 5000>"
    )]
    pub history_requests: u32,
    /// Timeout of one request attempt (default 30 s).
    pub request_timeout: Option<HumanDuration>,
    /// Retries of a failed request (default 3; 0 to 10).
    #[serde(default = "default_retries", deserialize_with = "gate_core::bounded::u32_in::<_, 0, 10>")]
    pub retries: u32,
    /// Record every exchange into this directory (`--record`).
    pub record: Option<PathBuf>,
    /// Answer every request from this recording (`--replay`), relative to the repository.
    pub replay: Option<PathBuf>,
}

fn yes() -> bool {
    true
}
fn default_history() -> u32 {
    50
}
fn default_history_requests() -> u32 {
    60
}
fn default_retries() -> u32 {
    3
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: None,
            repository: None,
            target: None,
            branch: None,
            api_url: None,
            required: Vec::new(),
            neutral_passes: true,
            skipped_passes: true,
            wait: None,
            poll_interval: None,
            grace: None,
            history_commits: default_history(),
            history_requests: default_history_requests(),
            request_timeout: None,
            retries: default_retries(),
            record: None,
            replay: None,
        }
    }
}

/// One entry of `required`: a name (glob patterns allowed) or `{ name, app }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RequiredConfig {
    /// Any app may report it.
    Name(CheckName),
    /// Only this app may report it.
    WithApp {
        /// The check's name or pattern.
        name: CheckName,
        /// The app's slug (`github-actions`) or numeric id.
        app: AppFilter,
    },
}

/// A required check's name or glob pattern, checked when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckName(pub String);

impl<'de> Deserialize<'de> for CheckName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.trim().is_empty() {
            return Err(serde::de::Error::custom("empty check name"));
        }
        if name.contains(['*', '?', '['])
            && let Err(e) = glob::Pattern::new(&name)
        {
            return Err(serde::de::Error::custom(format!("invalid pattern `{name}`: {e}")));
        }
        Ok(Self(name))
    }
}

impl RequiredConfig {
    /// The check's name or pattern.
    pub fn name(&self) -> &str {
        match self {
            RequiredConfig::Name(name) | RequiredConfig::WithApp { name, .. } => &name.0,
        }
    }

    /// The app filter, if any.
    pub fn app(&self) -> Option<AppFilter> {
        match self {
            RequiredConfig::Name(_) => None,
            RequiredConfig::WithApp { app, .. } => Some(app.clone()),
        }
    }
}

/// The app that must report a check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AppFilter {
    /// By numeric id (15368 is GitHub Actions).
    Id(u64),
    /// By slug.
    Slug(String),
}

impl std::fmt::Display for AppFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppFilter::Id(id) => write!(f, "app {id}"),
            AppFilter::Slug(slug) => write!(f, "app {slug}"),
        }
    }
}

/// The gate.
#[derive(Debug, Clone, Default)]
pub struct CiGate {
    config: Config,
    environment: Option<Environment>,
    progress: Option<Progress>,
}

impl CiGate {
    /// A gate with the given configuration, reading the process's
    /// environment and showing `--wait` progress on standard error.
    pub fn new(config: Config) -> Self {
        Self { config, environment: None, progress: None }
    }

    /// Reads `environment` instead of the process's GitHub Actions variables.
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Shows `--wait` progress on `progress` instead of standard error.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

gate_core::check_catalogue! {
    /// The checks of the `ci` gate, in `--list-gates` order; the only way the gate builds an item.
    pub enum Check {
        Target = "target" {
            severity: Blocker,
            summary: "The repository and the ref to check are known and resolve to one commit, and the branch whose rules say which checks are required is known (for a SHA or tag: the pull request's base, the branch the workflow ran for, or the default branch when the commit is on it).",
            remedy: "Set `[gates.ci] repository` and `ref`, or run inside GitHub Actions or a clone with a GitHub `origin`; for a commit on no known branch set `[gates.ci] branch`.",
        },
        Github = "github" {
            severity: Blocker,
            summary: "GitHub answered every request the verdict needs (bounded retries on 5xx, rate limits and timeouts).",
            remedy: "Read the failed request in the item; check the token (`GITHUB_TOKEN`/`GH_TOKEN`), the API URL and the rate limit, then re-run.",
        },
        Required = "required" {
            severity: Blocker,
            summary: "Every required check passed on the release commit (neutral and skipped count as passed, as on GitHub).",
            remedy: "Fix or re-run the failing check; for a pending one re-run with `--wait 20m`; for a missing one make CI report it on this commit.",
        },
        Ran = "ran" {
            severity: Blocker,
            summary: "With no required checks configured anywhere (a warning says so), at least one check besides release-check's own job ran on the commit, and every one of them passed.",
            remedy: "Name the required checks in a ruleset, branch protection or `[gates.ci] required`, and make CI run on the release commit.",
        },
        Flaky = "flaky" {
            severity: Warning,
            summary: "No required check passed only after an earlier attempt on the same commit failed.",
            remedy: "Find out why the first attempt failed (its log is linked) before trusting the re-run.",
        },
        Sources = "sources" {
            severity: Warning,
            summary: "Every source of required checks (rulesets, branch protection) could be read.",
            remedy: "Give the token admin read access to the repository, or list the required checks in `[gates.ci] required`.",
        },
        Head = "head" {
            severity: Blocker,
            summary: "The branch or pull request still points at the checked commit when the verdict is given.",
            remedy: "Re-run on the new head (with `--wait`, release-check starts over by itself).",
        },
    }
}

impl Gate for CiGate {
    fn name(&self) -> &'static str {
        "ci"
    }

    fn verifies(&self) -> &'static str {
        "every required CI check passed on exactly the release commit"
    }

    fn checks(&self) -> &'static [CheckInfo] {
        Check::ALL
    }

    fn run(&self, ctx: &Context) -> GateOutcome {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let mut outcome = GateOutcome::new();
                outcome.push(Check::Github.error("runtime", format!("cannot start the HTTP runtime: {e}")));
                return outcome;
            }
        };
        let environment = self.environment.clone().unwrap_or_else(Environment::capture);
        let progress = self.progress.clone().unwrap_or_default();
        runtime.block_on(evaluate::evaluate(&self.config, &environment, &progress, ctx))
    }
}

/// How long [`Config::wait`] plus one request's retries may take: the
/// runner's timeout for this gate must not be shorter.
pub fn longest_run(config: &Config) -> Option<Duration> {
    config.wait.map(|w| w.0 + Duration::from_secs(120))
}

//! The GitHub REST endpoints the ci gate reads, and the parts of their
//! answers it uses.
//!
//! octocrab's typed models are used where they fit (`StatusState`). Its
//! `CheckRun` has no `status`, `app` or `check_suite`, its `CombinedStatus`
//! requires a `total_count` that older GitHub versions do not send, and its
//! handlers offer no `filter` parameter for check runs: those answers are
//! read into the small structs below, through the client's `get` (which
//! also gives us paging, retries and recording).

use github::{Client, Error};
pub use github::{Repo, encode};
use octocrab::models::StatusState;
use serde::Deserialize;

/// A GitHub App, as embedded in a check run.
#[derive(Debug, Clone, Deserialize)]
pub struct App {
    /// Its id (15368 is GitHub Actions).
    pub id: Option<u64>,
    /// Its slug (`github-actions`); missing in old answers.
    pub slug: Option<String>,
}

/// `{"id": N}`.
#[derive(Debug, Clone, Deserialize)]
pub struct IdOnly {
    /// The id.
    pub id: u64,
}

/// One check run.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRun {
    /// Its id.
    pub id: u64,
    /// Its name, which required checks match.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, `waiting`, `requested`, `pending`.
    pub status: String,
    /// Set when completed: `success`, `failure`, `neutral`, …
    pub conclusion: Option<String>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it completed.
    pub completed_at: Option<String>,
    /// Its page.
    pub html_url: Option<String>,
    /// The app that created it.
    pub app: Option<App>,
    /// The check suite it belongs to.
    pub check_suite: Option<IdOnly>,
}

#[derive(Deserialize)]
struct CheckRunPage {
    check_runs: Vec<CheckRun>,
}

/// One commit status.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitStatus {
    /// Its context, which required checks match.
    pub context: String,
    /// Its state.
    pub state: StatusState,
    /// Where it points.
    pub target_url: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

#[derive(Deserialize)]
struct CombinedStatus {
    statuses: Vec<CommitStatus>,
}

/// A workflow run of GitHub Actions.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRun {
    /// Its id.
    pub id: u64,
    /// The workflow's name.
    pub name: Option<String>,
    /// The attempt (absent before mid-2021: 1).
    pub run_attempt: Option<u32>,
    /// The check suite its jobs' check runs belong to.
    pub check_suite_id: Option<u64>,
    /// Its page.
    pub html_url: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowRunPage {
    workflow_runs: Vec<WorkflowRun>,
}

/// A job of one attempt of a workflow run.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: Option<u64>,
    /// The job's name: the name of its check run.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: Option<String>,
    /// Its conclusion, when completed.
    pub conclusion: Option<String>,
    /// Its page.
    pub html_url: Option<String>,
    /// Its check run: `https://api.github.com/repos/o/r/check-runs/ID`.
    pub check_run_url: Option<String>,
    /// The runner it runs on (`RUNNER_NAME` inside the job).
    pub runner_name: Option<String>,
}

impl Job {
    /// The id of the job's check run: the end of `check_run_url`, else the job's id.
    pub fn check_run_id(&self) -> Option<u64> {
        self.check_run_url
            .as_deref()
            .and_then(|url| url.trim_end_matches('/').rsplit('/').next())
            .and_then(|id| id.parse().ok())
            .or(self.id)
    }
}

#[derive(Deserialize)]
struct JobPage {
    jobs: Vec<Job>,
}

/// A commit in a listing.
#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    /// Its SHA.
    pub sha: String,
    /// Its parents, first parent first.
    #[serde(default)]
    pub parents: Vec<ShaOnly>,
    /// Author and committer.
    pub commit: CommitDetail,
}

/// `{"sha": …}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ShaOnly {
    /// The SHA.
    pub sha: String,
}

/// The git part of a commit.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitDetail {
    /// The committer.
    pub committer: Option<Signature>,
}

/// A git signature's date.
#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    /// ISO 8601.
    pub date: Option<String>,
}

/// A pull request, as far as the gate needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    /// Its number.
    pub number: u64,
    /// `open` or `closed`.
    pub state: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its page.
    pub html_url: Option<String>,
    /// Its head.
    pub head: Option<Branch>,
    /// Its base.
    pub base: Option<Branch>,
}

/// A PR's head or base.
#[derive(Debug, Clone, Deserialize)]
pub struct Branch {
    /// The commit.
    pub sha: String,
    /// The branch name.
    #[serde(rename = "ref")]
    pub name: String,
}

/// Classic branch protection's required status checks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProtectionChecks {
    /// Required contexts (names).
    #[serde(default)]
    pub contexts: Vec<String>,
    /// Required checks with the app that must provide them.
    #[serde(default)]
    pub checks: Vec<ProtectionCheck>,
}

/// One required check of classic branch protection.
#[derive(Debug, Clone, Deserialize)]
pub struct ProtectionCheck {
    /// The check's name.
    pub context: String,
    /// The app that must report it; `None`: any app.
    pub app_id: Option<u64>,
}

/// One active rule of a branch's rulesets.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// The rule type (`required_status_checks`, `deletion`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule's settings.
    pub parameters: Option<serde_json::Value>,
    /// The ruleset's id.
    pub ruleset_id: Option<u64>,
}

/// `parameters` of a `required_status_checks` rule.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleChecks {
    /// The required checks.
    pub required_status_checks: Vec<RuleCheck>,
}

/// One required check of a ruleset.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleCheck {
    /// The check's name.
    pub context: String,
    /// The app that must report it; `None`: any app.
    pub integration_id: Option<u64>,
}

/// The repository, as far as the gate needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// Its default branch.
    pub default_branch: String,
}

/// How a commit relates to a base (`GET …/compare/BASE...HEAD`).
#[derive(Debug, Clone, Deserialize)]
pub struct Comparison {
    /// `identical`, `behind` (the head is in the base's history), `ahead` or `diverged`.
    pub status: String,
    /// Commits the head has that the base has not.
    pub ahead_by: u64,
    /// Commits the base has that the head has not.
    pub behind_by: u64,
}

impl Comparison {
    /// Whether the head is in the base's history: on that branch.
    pub fn head_is_on_base(&self) -> bool {
        matches!(self.status.as_str(), "identical" | "behind")
    }
}

/// Items per page requested from listings (GitHub's maximum).
pub const PER_PAGE: u32 = 100;

/// The repository itself (its default branch).
pub async fn repository(client: &Client, repo: &Repo) -> Result<Repository, Error> {
    client.get_json(&repo.path()).await
}

/// `head` compared with `base` (branches or SHAs); one commit per page, as
/// only the status is used.
pub async fn compare(client: &Client, repo: &Repo, base: &str, head: &str) -> Result<Comparison, Error> {
    client.get_json(&format!("{}/compare/{}...{}?per_page=1", repo.path(), encode(base), encode(head))).await
}

/// Whether `name` is a branch (`GET …/branches/NAME` answers 200, not 404).
pub async fn is_branch(client: &Client, repo: &Repo, name: &str) -> Result<bool, Error> {
    let response = client.get(&format!("{}/branches/{}", repo.path(), encode(name))).await?;
    match response.status {
        404 => Ok(false),
        _ => response.success().map(|_| true),
    }
}

/// The latest check runs of `sha`, every page; `name` narrows to one check.
pub async fn check_runs(
    client: &Client,
    repo: &Repo,
    sha: &str,
    name: Option<&str>,
) -> Result<Vec<CheckRun>, Error> {
    let mut path =
        format!("{}/commits/{}/check-runs?filter=latest&per_page={PER_PAGE}", repo.path(), encode(sha));
    if let Some(name) = name {
        path.push_str(&format!("&check_name={}", encode(name)));
    }
    client.get_all_pages(&path, |page: CheckRunPage| page.check_runs).await
}

/// The commit statuses of `sha` (latest per context).
pub async fn statuses(client: &Client, repo: &Repo, sha: &str) -> Result<Vec<CommitStatus>, Error> {
    let path = format!("{}/commits/{}/status?per_page={PER_PAGE}", repo.path(), encode(sha));
    client.get_all_pages(&path, |page: CombinedStatus| page.statuses).await
}

/// The workflow runs whose head is `sha`.
pub async fn workflow_runs(client: &Client, repo: &Repo, sha: &str) -> Result<Vec<WorkflowRun>, Error> {
    let path = format!("{}/actions/runs?head_sha={}&per_page={PER_PAGE}", repo.path(), encode(sha));
    client.get_all_pages(&path, |page: WorkflowRunPage| page.workflow_runs).await
}

/// The jobs of one attempt of a workflow run.
pub async fn attempt_jobs(client: &Client, repo: &Repo, run: u64, attempt: u32) -> Result<Vec<Job>, Error> {
    let path = format!("{}/actions/runs/{run}/attempts/{attempt}/jobs?per_page={PER_PAGE}", repo.path());
    client.get_all_pages(&path, |page: JobPage| page.jobs).await
}

/// The commit `git_ref` (branch, tag or SHA) points to.
pub async fn commit(client: &Client, repo: &Repo, git_ref: &str) -> Result<Commit, Error> {
    client.get_json(&format!("{}/commits/{}", repo.path(), encode(git_ref))).await
}

/// One page of the history of `sha`, newest first.
pub async fn history_page(
    client: &Client,
    repo: &Repo,
    sha: &str,
    per_page: u32,
) -> Result<Vec<Commit>, Error> {
    client.get_json(&format!("{}/commits?sha={}&per_page={per_page}", repo.path(), encode(sha))).await
}

/// Pull request `number`.
pub async fn pull(client: &Client, repo: &Repo, number: u64) -> Result<Pull, Error> {
    client.get_json(&format!("{}/pulls/{number}", repo.path())).await
}

/// The pull requests GitHub associates with commit `sha`.
pub async fn pulls_of_commit(client: &Client, repo: &Repo, sha: &str) -> Result<Vec<Pull>, Error> {
    client.get_json(&format!("{}/commits/{}/pulls", repo.path(), encode(sha))).await
}

/// What a protection source answered.
#[derive(Debug)]
pub enum Answer<T> {
    /// The settings.
    Found(T),
    /// 404: none configured (or, without admin rights, not visible).
    None,
    /// 403: the token may not read them; the refusal.
    Forbidden(Error),
}

/// Classic branch protection's required status checks of `branch`.
pub async fn protection_checks(
    client: &Client,
    repo: &Repo,
    branch: &str,
) -> Result<Answer<ProtectionChecks>, Error> {
    let path = format!("{}/branches/{}/protection/required_status_checks", repo.path(), encode(branch));
    answer(client, &path).await
}

/// The active ruleset rules of `branch`, every page (GitHub answers for
/// any name, whether or not such a branch exists).
pub async fn branch_rules(client: &Client, repo: &Repo, branch: &str) -> Result<Answer<Vec<Rule>>, Error> {
    let path = format!("{}/rules/branches/{}?per_page={PER_PAGE}", repo.path(), encode(branch));
    match client.get_all_pages(&path, |page: Vec<Rule>| page).await {
        Ok(rules) => Ok(Answer::Found(rules)),
        Err(e) if e.status() == Some(404) => Ok(Answer::None),
        Err(e) if e.status() == Some(403) => Ok(Answer::Forbidden(e)),
        Err(e) => Err(e),
    }
}

async fn answer<T: serde::de::DeserializeOwned>(client: &Client, path: &str) -> Result<Answer<T>, Error> {
    let response = client.get(path).await?;
    match response.status {
        404 => Ok(Answer::None),
        403 => Ok(Answer::Forbidden(response.status_error())),
        _ => Ok(Answer::Found(response.success()?.json()?)),
    }
}

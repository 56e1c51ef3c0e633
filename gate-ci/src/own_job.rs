//! release-check's own job: inside GitHub Actions the job running the gate
//! is itself a check run on the commit, in progress until the gate ends.
//! It is left out, so that the gate never waits on itself; its result will
//! be this verdict.

use github::Client;

use crate::Environment;
use crate::api::{self, Repo};

/// The running job's check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnJob {
    /// The check run's id (a job's id is its check run's).
    pub check_run: u64,
    /// The job's name, as its check run is named.
    pub name: String,
}

/// Why release-check's own job could not be told apart.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OwnJobError {
    /// `GITHUB_RUN_ID` is missing or not a number.
    #[error("GITHUB_ACTIONS is set but GITHUB_RUN_ID is not a run id")]
    NoRunId,
    /// The jobs of the run could not be listed.
    #[error("could not list the jobs of workflow run {run}: {source}")]
    Jobs {
        /// The workflow run.
        run: u64,
        /// What GitHub answered.
        source: github::Error,
    },
    /// The one candidate names no check run.
    #[error("job {job} of workflow run {run} names no check run")]
    NoCheckRun {
        /// The job's name.
        job: String,
        /// The workflow run.
        run: u64,
    },
    /// No running job is on this runner.
    #[error("no running job of workflow run {run} (attempt {attempt}) is on runner {runner}")]
    NoCandidate {
        /// The workflow run.
        run: u64,
        /// Its attempt.
        attempt: u32,
        /// `RUNNER_NAME`, or that it is unset.
        runner: String,
    },
    /// More than one running job could be this one.
    #[error("several running jobs of workflow run {run} could be this one ({})", jobs.join(", "))]
    Several {
        /// The workflow run.
        run: u64,
        /// The candidates' names.
        jobs: Vec<String>,
    },
}

/// Which job of the workflow run is this one: the running job of
/// `GITHUB_RUN_ID`'s attempt `GITHUB_RUN_ATTEMPT` on runner `RUNNER_NAME`
/// (narrowed by `GITHUB_JOB` when several run on runners of that name).
/// `Ok(None)`: not inside GitHub Actions. `Err`: inside, but which job is
/// this one could not be told (a note says why; nothing is left out).
pub(crate) async fn find(
    client: &Client,
    repo: &Repo,
    env: &Environment,
) -> Result<Option<OwnJob>, OwnJobError> {
    if env.get("GITHUB_ACTIONS") != Some("true") {
        return Ok(None);
    }
    let Some(run) = env.get("GITHUB_RUN_ID").and_then(|r| r.parse::<u64>().ok()) else {
        return Err(OwnJobError::NoRunId);
    };
    let attempt = env.get("GITHUB_RUN_ATTEMPT").and_then(|a| a.parse::<u32>().ok()).unwrap_or(1);
    let jobs = api::attempt_jobs(client, repo, run, attempt)
        .await
        .map_err(|source| OwnJobError::Jobs { run, source })?;
    let mut candidates: Vec<&api::Job> =
        jobs.iter().filter(|j| j.status.as_deref() != Some("completed")).collect();
    if let Some(runner) = env.get("RUNNER_NAME") {
        candidates.retain(|j| j.runner_name.as_deref() == Some(runner));
    }
    // Runner names are unique per runner group only; the job id narrows further
    // (its name is the id, or the `name:` given, with a matrix's values appended).
    if candidates.len() > 1
        && let Some(job) = env.get("GITHUB_JOB")
    {
        candidates.retain(|j| j.name == job || j.name.starts_with(&format!("{job} (")));
    }
    match candidates.as_slice() {
        [job] => match job.check_run_id() {
            Some(check_run) => Ok(Some(OwnJob { check_run, name: job.name.clone() })),
            None => Err(OwnJobError::NoCheckRun { job: job.name.clone(), run }),
        },
        [] => Err(OwnJobError::NoCandidate {
            run,
            attempt,
            runner: env.get("RUNNER_NAME").unwrap_or("(RUNNER_NAME unset)").to_owned(),
        }),
        several => Err(OwnJobError::Several { run, jobs: several.iter().map(|j| j.name.clone()).collect() }),
    }
}

//! Posting a release report where people look: a sticky comment on the
//! pull request, a commit status on the checked commit, and, inside GitHub
//! Actions, the job summary and annotations on the located items.
//!
//! [`prepare`] decides what would be posted, without any request: that is
//! the dry run. [`post`] publishes it. Each step's result is reported on
//! its own, so a partial failure is never reported as posted. A 403 (a
//! read-only token, as pull requests from forks get) degrades to the job
//! summary with a warning instead of failing.
//!
//! A report is posted only if it agrees with itself ([`verify()`]): its
//! verdict, headline and counts are derived again from its items and
//! waivers. One that does not gets an `error` status and nothing else, as
//! one that cannot be read does. Everything printed (the dry run, the
//! annotations, each step's outcome) escapes untrusted text as the text
//! renderer does, so nothing in a report can print a workflow command.

pub mod actions;
pub mod comment;
pub mod verify;

use std::fmt;
use std::path::PathBuf;

use gate_core::render::{self, escape};
use gate_core::{Report, Verdict};
use github::{Client, Method, Repo};
use serde::Serialize;

pub use actions::Actions;
pub use verify::{Inconsistent, Problem, verify};

/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit on a commit status description, in characters.
pub const DESCRIPTION_LIMIT: usize = 140;

/// Where to post.
#[derive(Debug, Clone)]
pub struct Target {
    /// The repository.
    pub repo: Repo,
    /// The checked commit, for the commit status.
    pub sha: Option<String>,
    /// The pull request, for the comment.
    pub pr: Option<u64>,
}

/// How to post.
#[derive(Debug, Clone)]
pub struct Options {
    /// The report's name: one sticky comment per pull request and name.
    pub name: String,
    /// The commit status context.
    pub context: String,
    /// The login the comment is posted as; default: the token's own (`GET /user`).
    pub author: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { name: "release-check".to_owned(), context: "release-check".to_owned(), author: None }
    }
}

/// A commit status to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    /// `success`, `failure` or `error`.
    pub state: &'static str,
    /// At most [`DESCRIPTION_LIMIT`] characters.
    pub description: String,
    /// The context.
    pub context: String,
    /// The run's page, inside GitHub Actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
}

/// Everything that would be posted.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The pull request and the comment body (marker included).
    pub comment: Option<(u64, String)>,
    /// The commit and its status.
    pub status: Option<(String, CommitStatus)>,
    /// The job summary file and what is appended to it.
    pub summary: Option<(PathBuf, String)>,
    /// Workflow commands to print (inside GitHub Actions).
    pub annotations: String,
    /// Running inside GitHub Actions.
    pub in_actions: bool,
}

/// Decides what to post for `report`; an `Err` report: release-check gave
/// no verdict (the text says why). A report that disagrees with itself
/// ([`verify()`]) gives no verdict either: only an `error` status.
pub fn prepare(
    report: Result<&Report, &str>,
    target: &Target,
    options: &Options,
    actions: Option<&Actions>,
) -> Publication {
    let inconsistent = report.ok().and_then(|r| verify(r).err()).map(|e| e.to_string());
    let report = match &inconsistent {
        Some(why) => Err(why.as_str()),
        None => report,
    };
    let run_url = actions.and_then(|a| a.run_url.clone());
    let status = target.sha.clone().map(|sha| {
        let (state, description) = match report {
            Ok(r) if r.verdict == Verdict::Go => ("success", format!("GO: {}", r.headline)),
            Ok(r) => ("failure", format!("NO-GO: {}", r.headline)),
            Err(why) => ("error", format!("no verdict: {why}")),
        };
        (
            sha,
            CommitStatus {
                state,
                description: shorten(&escape::text(&description), DESCRIPTION_LIMIT),
                context: options.context.clone(),
                target_url: run_url.clone(),
            },
        )
    });
    let Ok(report) = report else {
        return Publication {
            comment: None,
            status,
            summary: None,
            annotations: String::new(),
            in_actions: actions.is_some(),
        };
    };
    let dropped = match &run_url {
        Some(url) => {
            format!("The report is too long for a comment: the full report is in the [job summary]({url}).")
        }
        None => {
            "The report is too long for a comment: run release-check with `--format markdown` for all of it."
                .to_owned()
        }
    };
    let marker = comment::marker(&options.name);
    let comment = target.pr.map(|pr| {
        let body = render::markdown_within(report, COMMENT_LIMIT - marker.len() - 1, &dropped);
        (pr, format!("{marker}\n{body}"))
    });
    let summary = actions.and_then(|a| a.step_summary.clone()).map(|path| {
        (
            path,
            render::markdown_within(
                report,
                actions::STEP_SUMMARY_LIMIT,
                "The report was shortened to fit the job summary.",
            ),
        )
    });
    Publication {
        comment,
        status,
        summary,
        annotations: actions.map(|_| actions::annotations(report)).unwrap_or_default(),
        in_actions: actions.is_some(),
    }
}

/// `text` cut to `limit` characters, with `…` when cut.
fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

impl fmt::Display for Publication {
    /// The dry run: exactly what would be posted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Dry run: nothing was posted (add --post to publish).")?;
        match &self.comment {
            Some((pr, body)) => {
                writeln!(f, "\n--- comment on pull request #{pr} (created, or updated in place)\n{body}")?
            }
            None => writeln!(f, "\n--- no comment: no pull request (--pr, or a pull_request event)")?,
        }
        match &self.status {
            Some((sha, status)) => {
                writeln!(f, "\n--- commit status on {}", escape::text(sha))?;
                let json = serde_json::to_string_pretty(status).map_err(|_| fmt::Error)?;
                writeln!(f, "{}", escape::json(json))?;
            }
            None => writeln!(f, "\n--- no commit status: no commit (--sha, or GITHUB_SHA)")?,
        }
        match &self.summary {
            Some((path, markdown)) => writeln!(
                f,
                "\n--- appended to the job summary {}\n{markdown}",
                escape::text(&path.display().to_string())
            )?,
            None => writeln!(f, "\n--- no job summary: not in GitHub Actions")?,
        }
        if !self.annotations.is_empty() {
            writeln!(f, "\n--- annotations\n{}", self.annotations)?;
        }
        Ok(())
    }
}

/// How one step of posting ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Done, with what was done.
    Done(String),
    /// Not done, on purpose or for lack of permission; the verdict stands.
    Degraded(String),
    /// Failed: the publication is incomplete.
    Failed(String),
}

impl Step {
    /// Whether the step failed.
    pub fn failed(&self) -> bool {
        matches!(self, Step::Failed(_))
    }
}

impl fmt::Display for Step {
    /// One line, its text escaped: it may quote GitHub's answers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Done(what) => write!(f, "posted: {}", escape::text(what)),
            Step::Degraded(what) => write!(f, "warning: {}", escape::text(what)),
            Step::Failed(what) => write!(f, "error: {}", escape::text(what)),
        }
    }
}

/// Publishes `publication`: the job summary first (it is local and always
/// possible), then the comment, then the commit status.
pub async fn post(
    client: &Client,
    target: &Target,
    options: &Options,
    publication: &Publication,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some((path, markdown)) = &publication.summary {
        steps.push(match actions::append_summary(path, markdown) {
            Ok(()) => Step::Done(format!("job summary ({})", path.display())),
            Err(e) => Step::Failed(format!("job summary {}: {e}", path.display())),
        });
    }
    let has_summary = publication.summary.is_some();
    if let Some((pr, body)) = &publication.comment {
        let step = match author(client, options, publication.in_actions).await {
            Ok(author) => {
                match comment::upsert(client, &target.repo, *pr, &author, &options.name, body).await {
                    Ok(comment::Outcome::Created { id, removed }) if removed.is_empty() => {
                        Step::Done(format!("comment {id} created on pull request #{pr}"))
                    }
                    Ok(comment::Outcome::Created { id, removed }) => Step::Done(format!(
                        "comment {id} created on pull request #{pr}; removed {} duplicate(s) of a concurrent run",
                        removed.len()
                    )),
                    Ok(comment::Outcome::Updated { id }) => {
                        Step::Done(format!("comment {id} updated on pull request #{pr}"))
                    }
                    Err(e) => forbidden_or_failed(e, has_summary, "comment"),
                }
            }
            Err(e) => forbidden_or_failed(e, has_summary, "comment"),
        };
        steps.push(step);
    }
    if let Some((sha, status)) = &publication.status {
        let path = format!("{}/statuses/{}", target.repo.path(), github::encode(sha));
        let body = serde_json::to_value(status).unwrap_or_default();
        let step = match client.write(Method::Post, &path, Some(&body)).await.and_then(|r| r.success()) {
            Ok(_) => Step::Done(format!("commit status {} `{}` on {sha}", status.state, status.context)),
            Err(e) => forbidden_or_failed(e, has_summary, "commit status"),
        };
        steps.push(step);
    }
    steps
}

fn forbidden_or_failed(error: github::Error, has_summary: bool, what: &str) -> Step {
    if error.status() == Some(403) {
        let fallback =
            if has_summary { "the report is in the job summary" } else { "the report was not posted" };
        Step::Degraded(format!("no {what}: the token may not write it ({error}); {fallback}"))
    } else {
        Step::Failed(format!("{what}: {error}"))
    }
}

/// The login comments are posted as.
async fn author(client: &Client, options: &Options, in_actions: bool) -> Result<String, github::Error> {
    if let Some(author) = &options.author {
        return Ok(author.clone());
    }
    #[derive(serde::Deserialize)]
    struct Me {
        login: String,
    }
    let response = client.get("/user").await?;
    // An Actions token (an app installation) may not read /user: it posts as the Actions bot.
    if response.status == 403 && in_actions {
        return Ok("github-actions[bot]".to_owned());
    }
    Ok(response.success()?.json::<Me>()?.login)
}

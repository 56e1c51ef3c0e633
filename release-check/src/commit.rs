//! Which commit a run is about, when no gate named one: the head of the
//! pull request of a GitHub Actions event, else `GITHUB_SHA`, else the
//! repository's `HEAD`.

use std::path::Path;

use gate_core::{JudgedCommit, RefSource};

/// Why the commit is unknown, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownCommit(pub String);

/// The commit the checkout at `repo` is about.
///
/// On a `pull_request` event `GITHUB_SHA` is the synthetic merge commit, so
/// the pull request's head is taken from the event file, read by the same
/// function the ci gate and `publish` use.
pub fn local_commit(repo: &Path) -> Result<JudgedCommit, UnknownCommit> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let event = github::event::Event::from_env(env).map_err(|e| UnknownCommit(e.to_string()))?;
    if let Some(pr) = event.as_ref().and_then(|e| e.pull_request()) {
        return Ok(JudgedCommit {
            sha: pr.head_sha.clone(),
            git_ref: RefSource {
                name: format!("pull/{}", pr.number),
                from: "the pull_request event".to_owned(),
            },
            url: None,
        });
    }
    if let Some(sha) = env("GITHUB_SHA") {
        return Ok(JudgedCommit {
            sha: sha.clone(),
            git_ref: RefSource { name: env("GITHUB_REF_NAME").unwrap_or(sha), from: "GITHUB_SHA".to_owned() },
            url: None,
        });
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--show-toplevel", "HEAD"])
        .output()
        .map_err(|e| UnknownCommit(format!("GITHUB_SHA is not set and git could not be run: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    match (output.status.success(), lines.next(), lines.next()) {
        (true, Some(top), Some(head)) if Path::new(top).canonicalize().ok() == repo.canonicalize().ok() => {
            Ok(JudgedCommit {
                sha: head.to_owned(),
                git_ref: RefSource { name: "HEAD".to_owned(), from: "the repository's HEAD".to_owned() },
                url: None,
            })
        }
        (true, Some(_), Some(_)) => Err(UnknownCommit(
            "GITHUB_SHA is not set and the repository is not the root of its git work tree".to_owned(),
        )),
        _ => Err(UnknownCommit(
            "GITHUB_SHA is not set and the repository is not a git work tree with a commit".to_owned(),
        )),
    }
}

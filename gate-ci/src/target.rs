//! Which commit is judged, and which branch's rules say what is required.
//!
//! The commit: `ref` (configuration or `--ref`); else, on a `pull_request`
//! event, the pull request's head from the event file (never `GITHUB_SHA`,
//! the synthetic merge commit); else `GITHUB_SHA`; else the repository's
//! `HEAD`.
//!
//! The branch: `[gates.ci] branch`; else a pull request's base; else the
//! branch the ref names; for a SHA or a tag, the pull request event's base
//! (`GITHUB_BASE_REF`), the branch the workflow ran for (`GITHUB_REF`),
//! the repository's default branch when the commit is in its history
//! (GitHub's compare), or the base of the open pull request whose head the
//! commit is. When none applies, the required checks are unknown.

use std::path::Path;

use gate_core::{Context, Evidence, GateOutcome, Item};
use github::event::Event;
use github::{Client, Error, Token};

use crate::api::{self, Repo};
use crate::history::Point;
use crate::{Check, Config, Environment};

/// What to check, once the configuration and the environment are combined.
pub(crate) struct Setup {
    pub repo: Repo,
    /// The ref as named.
    pub given: String,
    /// Where it came from: `configuration`, `GITHUB_SHA`, …
    pub given_from: String,
    pub named: Named,
    pub event: Option<Event>,
    pub config_branch: Option<String>,
    pub github: github::Config,
}

/// What a ref names, from its spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// `pull/N`, `#N`, `refs/pull/N/merge`.
    Pull(u64),
    /// 7 to 64 hexadecimal digits.
    Sha(String),
    /// `refs/heads/NAME`.
    Branch(String),
    /// `refs/tags/NAME`.
    Tag(String),
    /// Any other name: a branch or a tag, to be found out.
    Name(String),
}

impl Named {
    pub(crate) fn parse(text: &str) -> Self {
        let pull = text.strip_prefix("pull/").or_else(|| text.strip_prefix('#')).or_else(|| {
            let rest = text.strip_prefix("refs/pull/")?;
            rest.strip_suffix("/merge").or_else(|| rest.strip_suffix("/head"))
        });
        if let Some(number) = pull.and_then(|n| n.parse().ok()) {
            return Named::Pull(number);
        }
        if let Some(branch) = text.strip_prefix("refs/heads/") {
            return Named::Branch(branch.to_owned());
        }
        if let Some(tag) = text.strip_prefix("refs/tags/") {
            return Named::Tag(tag.to_owned());
        }
        if (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Named::Sha(text.to_ascii_lowercase());
        }
        Named::Name(text.to_owned())
    }
}

/// Why there is nothing to judge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// The configuration or the environment names no usable repository or ref.
    #[error("{0}")]
    Configuration(String),
    /// The Actions event file, which decides the commit or the branch, cannot be read.
    #[error("{0}; the commit or the branch to judge depends on it")]
    Event(#[from] github::event::EventError),
}

impl SetupError {
    /// The error item that stops the gate.
    pub(crate) fn item(&self) -> Item {
        let subject = match self {
            SetupError::Configuration(_) => "configuration",
            SetupError::Event(_) => "event",
        };
        Check::Target.error(subject, self.to_string())
    }
}

/// Combines configuration and environment. `Ok(None)`: nothing to check
/// here (an item says why).
pub(crate) fn setup(
    config: &Config,
    env: &Environment,
    ctx: &Context,
    outcome: &mut GateOutcome,
) -> Result<Option<Setup>, SetupError> {
    let configuration = SetupError::Configuration;
    let (repo, from) = match (&config.repository, env.get("GITHUB_REPOSITORY")) {
        (Some(r), _) => (r.clone(), "configuration"),
        (None, Some(r)) => (
            Repo::parse(r).map_err(|e| configuration(format!("GITHUB_REPOSITORY: {e}")))?,
            "GITHUB_REPOSITORY",
        ),
        (None, None) => match origin_repository(&ctx.repo) {
            Some(r) => (
                Repo::parse(&r).map_err(|e| configuration(format!("git remote origin: {e}")))?,
                "the git remote origin",
            ),
            None => {
                outcome.push(Check::Target.skipped(
                    "repository",
                    "no GitHub repository: set `[gates.ci] repository`, run in GitHub Actions, or add a GitHub remote `origin`",
                ));
                return Ok(None);
            }
        },
    };
    // The event is read only when it may decide the commit or the branch.
    let event = if config.target.is_none() || config.branch.is_none() {
        Event::from_env(|name| env.get(name).map(str::to_owned))?
    } else {
        None
    };
    let pull = event.as_ref().and_then(Event::pull_request);
    let (given, given_from) = match (&config.target, pull, env.get("GITHUB_SHA")) {
        (Some(t), _, _) => (t.clone(), "configuration".to_owned()),
        (None, Some(pull), merge) => (
            pull.head_sha.clone(),
            match merge {
                Some(merge) if merge != pull.head_sha => format!(
                    "the {} event: the head of pull request #{}, not GITHUB_SHA {}, its merge commit",
                    event.as_ref().and_then(|e| e.name.as_deref()).unwrap_or("pull_request"),
                    pull.number,
                    short(merge)
                ),
                _ => format!("the pull_request event: the head of pull request #{}", pull.number),
            },
        ),
        (None, None, Some(sha)) => (sha.to_owned(), "GITHUB_SHA".to_owned()),
        (None, None, None) => {
            match is_work_tree_root(&ctx.repo).then(|| git(&ctx.repo, &["rev-parse", "HEAD"])).flatten() {
                Some(sha) => (sha, "the repository's HEAD".to_owned()),
                None => {
                    return Err(configuration(
                        "no ref to check: set `[gates.ci] ref` (a branch, tag, SHA or pull/N)".to_owned(),
                    ));
                }
            }
        }
    };
    outcome.note(format!("repository {repo} (from {from}), ref {given} (from {given_from})"));
    let mut github = github::Config {
        api_url: config
            .api_url
            .clone()
            .or_else(|| env.get("GITHUB_API_URL").map(str::to_owned))
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
    Ok(Some(Setup {
        repo,
        named: Named::parse(&given),
        given,
        given_from,
        event,
        config_branch: config.branch.clone(),
        github,
    }))
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

/// The first 12 digits of a SHA.
pub(crate) fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The commit a ref points to now.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub head: Point,
    pub kind: Kind,
    /// How to say what was checked: `main`, `pull request #12`, `commit 1a2b3c4d5e6f`.
    pub label: String,
}

/// What kind of ref the target is, as far as the rules are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A pull request and its base branch.
    Pull { number: u64, base: String },
    /// A branch (named `refs/heads/…`).
    Branch(String),
    /// A name that may be a branch or a tag.
    Name(String),
    /// A tag (named `refs/tags/…`): the branch must be found.
    Tag,
    /// A SHA: the branch must be found.
    Commit,
}

impl Target {
    /// Whether the ref can point elsewhere later (a SHA cannot).
    pub(crate) fn movable(&self) -> bool {
        self.kind != Kind::Commit
    }
}

/// Resolves the ref to a commit.
pub(crate) async fn resolve(client: &Client, setup: &Setup) -> Result<Target, Error> {
    let (name, kind, label) = match &setup.named {
        Named::Pull(number) => {
            let pull = api::pull(client, &setup.repo, *number).await?;
            let (Some(head), Some(base)) = (pull.head, pull.base) else {
                return Err(Error::Malformed {
                    request: format!("GET {}/pulls/{number}", setup.repo.path()),
                    message: "the pull request has no head or no base".into(),
                });
            };
            return Ok(Target {
                head: Point { sha: head.sha, date: None },
                kind: Kind::Pull { number: *number, base: base.name },
                label: format!("pull request #{number}"),
            });
        }
        Named::Sha(sha) => (sha, Kind::Commit, format!("commit {}", short(sha))),
        Named::Branch(branch) => (branch, Kind::Branch(branch.clone()), branch.clone()),
        Named::Tag(tag) => (tag, Kind::Tag, format!("tag {tag}")),
        Named::Name(name) => (name, Kind::Name(name.clone()), name.clone()),
    };
    let commit = api::commit(client, &setup.repo, name).await?;
    let date = commit.commit.committer.and_then(|c| c.date);
    Ok(Target { head: Point { sha: commit.sha, date }, kind, label })
}

/// The branch whose rules apply, and why it is that one.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// `None`: no branch applies, the required checks are unknown.
    pub branch: Option<String>,
    /// Why this branch (or why none), as a sentence's end.
    pub why: String,
    /// The branch is a name the ref gave that may be a tag.
    pub unverified: bool,
}

impl Rules {
    fn of(branch: impl Into<String>, why: impl Into<String>) -> Self {
        Self { branch: Some(branch.into()), why: why.into(), unverified: false }
    }

    /// The note that says which branch's rules apply and why.
    pub(crate) fn note(&self) -> String {
        match &self.branch {
            Some(branch) => format!("rules of branch {branch}: {}", self.why),
            None => format!("no branch's rules apply: {}", self.why),
        }
    }

    /// The evidence naming the branch and why.
    pub(crate) fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::fact("branch", self.branch.as_deref().unwrap_or("unknown")),
            Evidence::fact("branch from", &self.why),
        ]
    }
}

/// The branch whose rules apply to `target`.
pub(crate) async fn rules(
    client: &Client,
    setup: &Setup,
    env: &Environment,
    target: &Target,
) -> Result<Rules, Error> {
    if let Some(branch) = &setup.config_branch {
        return Ok(Rules::of(branch, "`[gates.ci] branch`"));
    }
    match &target.kind {
        Kind::Pull { number, base } => {
            Ok(Rules::of(base, format!("the base branch of pull request #{number}")))
        }
        Kind::Branch(branch) => Ok(Rules::of(branch, "the branch the ref names")),
        Kind::Name(name) => Ok(Rules { unverified: true, ..Rules::of(name, "the branch the ref names") }),
        Kind::Tag | Kind::Commit => of_commit(client, setup, env, &target.head.sha).await,
    }
}

/// The branch whose rules apply to a commit named by SHA or tag.
pub(crate) async fn of_commit(
    client: &Client,
    setup: &Setup,
    env: &Environment,
    sha: &str,
) -> Result<Rules, Error> {
    let event = setup.event.as_ref();
    if let Some(pull) = event.and_then(Event::pull_request)
        && pull.head_sha == sha
    {
        let (base, from) = match env.get("GITHUB_BASE_REF") {
            Some(base) => (base.to_owned(), "GITHUB_BASE_REF"),
            None => (pull.base_ref.clone(), "the event's pull_request.base.ref"),
        };
        return Ok(Rules::of(
            base,
            format!("the base branch of pull request #{} ({from}), whose head this commit is", pull.number),
        ));
    }
    if let Some(group) = event.and_then(|e| e.merge_group.as_ref())
        && group.head_sha == sha
    {
        return Ok(Rules::of(
            &group.base_ref,
            "the branch the merge queue merges into (the merge_group event)",
        ));
    }
    if event.and_then(Event::pull_request).is_none() && env.get("GITHUB_SHA") == Some(sha) {
        let pushed = env
            .get("GITHUB_REF")
            .and_then(|r| r.strip_prefix("refs/heads/"))
            .map(|b| (b.to_owned(), "GITHUB_REF"))
            .or_else(|| {
                (env.get("GITHUB_REF_TYPE") == Some("branch"))
                    .then(|| env.get("GITHUB_REF_NAME").map(|b| (b.to_owned(), "GITHUB_REF_NAME")))
                    .flatten()
            });
        if let Some((branch, from)) = pushed {
            return Ok(Rules::of(
                branch,
                format!("the branch the workflow ran for ({from}), whose commit GITHUB_SHA this is"),
            ));
        }
    }
    let default = api::repository(client, &setup.repo).await?.default_branch;
    let comparison = api::compare(client, &setup.repo, &default, sha).await?;
    if comparison.head_is_on_base() {
        let how = match comparison.behind_by {
            0 => "its head".to_owned(),
            n => format!("{n} commit(s) behind its head"),
        };
        return Ok(Rules::of(
            &default,
            format!("the default branch, which has this commit in its history ({how}, by GitHub's compare)"),
        ));
    }
    let pulls = api::pulls_of_commit(client, &setup.repo, sha).await?;
    let open: Vec<&api::Pull> = pulls
        .iter()
        .filter(|p| p.state.as_deref() == Some("open") && p.head.as_ref().is_some_and(|h| h.sha == sha))
        .collect();
    let mut bases: Vec<&str> = open.iter().filter_map(|p| p.base.as_ref().map(|b| b.name.as_str())).collect();
    bases.sort_unstable();
    bases.dedup();
    if let ([base], Some(pull)) = (bases.as_slice(), open.first()) {
        return Ok(Rules::of(
            *base,
            format!(
                "the base branch of pull request #{}, whose head this commit is (GitHub's pull requests of the commit)",
                pull.number
            ),
        ));
    }
    let heads = if open.is_empty() {
        "no open pull request has it as its head".to_owned()
    } else {
        let list: Vec<String> = open
            .iter()
            .map(|p| format!("#{} into {}", p.number, p.base.as_ref().map_or("?", |b| b.name.as_str())))
            .collect();
        format!("it is the head of pull requests into different branches ({})", list.join(", "))
    };
    Ok(Rules {
        branch: None,
        why: format!(
            "commit {} is not in the history of the default branch {default} (GitHub's compare: {}, {} ahead, {} behind) and {heads}",
            short(sha),
            comparison.status,
            comparison.ahead_by,
            comparison.behind_by
        ),
        unverified: false,
    })
}

#[cfg(test)]
mod tests {
    use super::Named;

    #[test]
    fn refs_are_told_apart_by_their_spelling() {
        assert_eq!(Named::parse("pull/12"), Named::Pull(12));
        assert_eq!(Named::parse("#12"), Named::Pull(12));
        assert_eq!(Named::parse("refs/pull/12/merge"), Named::Pull(12));
        assert_eq!(Named::parse("refs/heads/release/1.x"), Named::Branch("release/1.x".into()));
        assert_eq!(Named::parse("refs/tags/v1.0"), Named::Tag("v1.0".into()));
        assert_eq!(Named::parse("6BC9ECC"), Named::Sha("6bc9ecc".into()));
        assert_eq!(Named::parse("main"), Named::Name("main".into()));
        assert_eq!(Named::parse("pull/x"), Named::Name("pull/x".into()));
        assert_eq!(Named::parse("cafe"), Named::Name("cafe".into()));
    }
}

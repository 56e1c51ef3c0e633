//! The sticky pull-request comment: one per pull request and report name,
//! found by its hidden marker and its author, updated in place.
//!
//! Two runs at the same time may both find no comment and both create one.
//! So after creating, the run lists the comments again, keeps the oldest of
//! its author's marked comments, deletes the younger ones and, if the kept
//! one is not its own, writes its body there. Whatever the interleaving,
//! both runs converge on the oldest comment, and exactly one remains.

use github::{Client, Error, Method, Repo};
use serde::Deserialize;
use serde_json::json;

/// The hidden marker that identifies the comment of report `name`.
pub fn marker(name: &str) -> String {
    // No `--` may remain inside the HTML comment, or the name could close it:
    // one pass would turn `--->` into `- -->`, so repeat until none is left.
    // Nor any line break or control character: the body may be printed.
    let mut name = gate_core::render::escape::text(name).into_owned();
    while name.contains("--") {
        name = name.replace("--", "- -");
    }
    format!("<!-- release-check: {name} -->")
}

/// A comment, as far as finding ours needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// Its body.
    #[serde(default)]
    pub body: Option<String>,
    /// Its author.
    pub user: Option<User>,
    /// Its page.
    pub html_url: Option<String>,
}

/// A GitHub user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// The login.
    pub login: String,
}

/// What happened to the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new comment was created.
    Created {
        /// Its id.
        id: u64,
        /// Duplicates of concurrent runs that were deleted.
        removed: Vec<u64>,
    },
    /// The existing comment was updated.
    Updated {
        /// Its id.
        id: u64,
    },
}

/// Creates or updates the comment of report `name` on pull request `pr`.
pub async fn upsert(
    client: &Client,
    repo: &Repo,
    pr: u64,
    author: &str,
    name: &str,
    body: &str,
) -> Result<Outcome, Error> {
    let mark = marker(name);
    let ours = |comments: Vec<Comment>| -> Vec<Comment> {
        let mut mine: Vec<Comment> = comments
            .into_iter()
            .filter(|c| c.user.as_ref().is_some_and(|u| u.login == author))
            .filter(|c| c.body.as_deref().is_some_and(|b| b.contains(&mark)))
            .collect();
        mine.sort_by_key(|c| c.id);
        mine
    };
    let list = format!("{}/issues/{pr}/comments?per_page=100", repo.path());
    let existing = ours(client.get_all_pages(&list, |page: Vec<Comment>| page).await?);
    if let Some(first) = existing.first() {
        edit(client, repo, first.id, body).await?;
        return Ok(Outcome::Updated { id: first.id });
    }
    let created: Comment = client
        .write(Method::Post, &format!("{}/issues/{pr}/comments", repo.path()), Some(&json!({ "body": body })))
        .await?
        .success()?
        .json()?;
    // A concurrent run may have created one too: converge on the oldest.
    let now = ours(client.get_all_pages(&list, |page: Vec<Comment>| page).await?);
    let Some(keep) = now.first() else { return Ok(Outcome::Created { id: created.id, removed: Vec::new() }) };
    let mut removed = Vec::new();
    for duplicate in &now[1..] {
        let response = client
            .write(Method::Delete, &format!("{}/issues/comments/{}", repo.path(), duplicate.id), None)
            .await?;
        // 404: the other run deleted it first.
        if response.status != 404 {
            response.success()?;
        }
        removed.push(duplicate.id);
    }
    if keep.id != created.id {
        edit(client, repo, keep.id, body).await?;
        return Ok(Outcome::Updated { id: keep.id });
    }
    Ok(Outcome::Created { id: created.id, removed })
}

async fn edit(client: &Client, repo: &Repo, id: u64, body: &str) -> Result<(), Error> {
    client
        .write(
            Method::Patch,
            &format!("{}/issues/comments/{id}", repo.path()),
            Some(&json!({ "body": body })),
        )
        .await?
        .success()
        .map(|_| ())
}

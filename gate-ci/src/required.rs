//! Which checks must pass: from the branch's rulesets, its classic branch
//! protection and the configuration, each with its source.

use github::Client;

use crate::api::{self, Answer, Repo, RuleChecks};
use crate::{AppFilter, RequiredConfig};

/// One required check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    /// The check's name, or a glob pattern (configuration only).
    pub name: String,
    /// The app that must report it.
    pub app: Option<AppFilter>,
    /// Where the requirement comes from, e.g. `ruleset 42`, `branch protection`, `configuration`.
    pub sources: Vec<String>,
    /// `name` is a glob pattern (configuration entries with `*`, `?` or `[`).
    pub pattern: bool,
}

/// The required checks and what was learnt about their sources.
#[derive(Debug, Default)]
pub struct Requirements {
    /// The checks, in source order, merged by name and app.
    pub checks: Vec<Required>,
    /// Sources that could not be read, with GitHub's refusal (a warning each).
    pub unreadable: Vec<(String, github::Error)>,
    /// What each source contributed, for the report's notes.
    pub notes: Vec<String>,
    /// Checks the branch's rulesets and branch protection require.
    pub from_rules: usize,
}

impl Requirements {
    fn add(&mut self, name: &str, app: Option<AppFilter>, source: &str, pattern: bool) {
        if let Some(existing) =
            self.checks.iter_mut().find(|r| r.name == name && r.app == app && r.pattern == pattern)
        {
            existing.sources.push(source.to_owned());
        } else {
            self.checks.push(Required {
                name: name.to_owned(),
                app,
                sources: vec![source.to_owned()],
                pattern,
            });
        }
    }
}

/// Reads every source. A source that cannot be read is noted, never fatal,
/// unless the request itself fails (network, 5xx, rate limit).
pub async fn gather(
    client: &Client,
    repo: &Repo,
    branch: Option<&str>,
    configured: &[RequiredConfig],
) -> Result<Requirements, github::Error> {
    let mut found = Requirements::default();
    if let Some(branch) = branch {
        match api::branch_rules(client, repo, branch).await? {
            Answer::Found(rules) => {
                let mut count = 0;
                for rule in rules.iter().filter(|r| r.kind == "required_status_checks") {
                    let source = match rule.ruleset_id {
                        Some(id) => format!("ruleset {id}"),
                        None => "ruleset".to_owned(),
                    };
                    let parameters = rule.parameters.clone().unwrap_or_default();
                    let checks: RuleChecks =
                        serde_json::from_value(parameters).map_err(|e| github::Error::Malformed {
                            request: format!("GET {}/rules/branches/{branch}", repo.path()),
                            message: format!("required_status_checks rule: {e}"),
                        })?;
                    for check in checks.required_status_checks {
                        count += 1;
                        found.add(&check.context, check.integration_id.map(AppFilter::Id), &source, false);
                    }
                }
                found.from_rules += count;
                found.notes.push(format!("rulesets of branch {branch}: {count} required check(s)"));
            }
            Answer::None => found.notes.push(format!("rulesets of branch {branch}: none")),
            Answer::Forbidden(why) => found.unreadable.push((format!("rulesets of branch {branch}"), why)),
        }
        match api::protection_checks(client, repo, branch).await? {
            Answer::Found(protection) => {
                let source = "branch protection";
                let mut count = 0;
                for check in &protection.checks {
                    count += 1;
                    found.add(&check.context, check.app_id.map(AppFilter::Id), source, false);
                }
                for context in &protection.contexts {
                    if !protection.checks.iter().any(|c| &c.context == context) {
                        count += 1;
                        found.add(context, None, source, false);
                    }
                }
                found.from_rules += count;
                found.notes.push(format!("branch protection of {branch}: {count} required check(s)"));
            }
            Answer::None => found.notes.push(format!(
                "branch protection of {branch}: no required checks (GitHub answers 404 also to tokens without admin rights)"
            )),
            Answer::Forbidden(why) => found.unreadable.push((format!("branch protection of {branch}"), why)),
        }
    } else {
        found.notes.push(
            "no branch whose rules apply is known: rulesets and branch protection were not read".to_owned(),
        );
    }
    for entry in configured {
        let pattern = entry.name().contains(['*', '?', '[']);
        found.add(entry.name(), entry.app(), "configuration", pattern);
    }
    Ok(found)
}

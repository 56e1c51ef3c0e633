//! GitHub Actions: the job summary and workflow-command annotations.
//!
//! Workflow commands (`::error file=…,line=…,title=…::message`) escape
//! `%`, CR and LF in the message, and additionally `:` and `,` in property
//! values, as the runner's command parser requires (its `ActionCommand`
//! unescapes exactly these). Other control characters and bidirectional
//! formatting characters, which the runner would print raw, are shown as
//! escapes first (`\u{1b}`), as the text renderer shows them: each
//! annotation is one line and one command.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gate_core::model::Weight;
use gate_core::render::escape::is_unsafe;
use gate_core::{Evidence, Item, Report, Status};

/// What GitHub Actions' environment says about this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// `$GITHUB_STEP_SUMMARY`: the file the job summary is appended to.
    pub step_summary: Option<PathBuf>,
    /// The run's page, from `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`.
    pub run_url: Option<String>,
}

impl Actions {
    /// `Some` inside GitHub Actions (`GITHUB_ACTIONS=true`), from `env`.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if env("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        let run_url = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(run)) => {
                Some(format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/')))
            }
            _ => None,
        };
        Some(Self { step_summary: env("GITHUB_STEP_SUMMARY").map(PathBuf::from), run_url })
    }
}

/// GitHub's limit on one step's summary.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Appends `markdown` to the job summary file.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(markdown.as_bytes())?;
    file.write_all(b"\n")?;
    file.flush()
}

/// Escapes a workflow command's message as the runner unescapes it: `%`,
/// CR and LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value as the runner unescapes it:
/// `%`, CR, LF, `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Untrusted `text` for an annotation: every control or bidirectional
/// formatting character but CR and LF (which [`escape_data`] and
/// [`escape_property`] escape as GitHub documents) shown as an escape.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) && c != '\r' && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One `::error` or `::warning` command per located blocker or warning,
/// inside a `::group::`; empty when no item is located.
pub fn annotations(report: &Report) -> String {
    let mut lines = Vec::new();
    for (_, item) in report.items() {
        let command = match item.weight() {
            Weight::Blocker => "error",
            Weight::Warning if item.status != Status::Skipped => "warning",
            _ => continue,
        };
        let Some(location) = location(item) else { continue };
        lines.push(format!(
            "::{command} {location},title={}::{}",
            escape_property(&printable(&item.id)),
            escape_data(&printable(&item.reason))
        ));
    }
    if lines.is_empty() {
        return String::new();
    }
    format!("::group::release-check annotations\n{}\n::endgroup::\n", lines.join("\n"))
}

fn location(item: &Item) -> Option<String> {
    item.evidence.iter().find_map(|e| match e {
        // An empty value is no property to the runner: no file, no annotation.
        Evidence::Location(l) if !l.path.is_empty() => {
            let mut text = format!("file={}", escape_property(&printable(&l.path)));
            if let Some(line) = l.line {
                text.push_str(&format!(",line={line}"));
            }
            if let Some(column) = l.column {
                text.push_str(&format!(",col={column}"));
            }
            Some(text)
        }
        _ => None,
    })
}

//! Renderers of one report model: terminal text, JSON and Markdown.

pub mod escape;
mod markdown;
pub mod sarif;
mod text;

pub use markdown::{code as markdown_code, escape as escape_markdown, markdown, markdown_within};
pub use text::{TextOptions, text, text_item};

use crate::model::{Evidence, Report};
use crate::waiver::{WaiverReport, WaiverState};

/// Output formats, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text for a terminal.
    Text,
    /// The versioned JSON report (`docs/report.schema.json`).
    Json,
    /// GitHub-flavoured Markdown, every untrusted string escaped.
    Markdown,
    /// SARIF 2.1.0 (rules without descriptions: see [`sarif::sarif`]).
    Sarif,
}

/// The JSON report, pretty-printed, with a trailing newline. Characters
/// that could forge terminal or Actions log output are `\u` escapes (see
/// [`escape::json`]); the report read back is the same.
pub fn json(report: &Report) -> String {
    let mut out =
        escape::json(serde_json::to_string_pretty(report).expect("the report model always serialises"));
    out.push('\n');
    out
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format, text_options: TextOptions) -> String {
    match format {
        Format::Text => text(report, text_options),
        Format::Json => json(report),
        Format::Markdown => markdown(report),
        Format::Sarif => sarif::sarif(report, &[]),
    }
}

/// Waivers that need a look (expired or matching nothing), with what is wrong.
fn unsettled_waivers(report: &Report) -> Vec<(&WaiverReport, String)> {
    report
        .waivers
        .iter()
        .filter_map(|w| match w.state {
            WaiverState::Applied => None,
            WaiverState::Expired => Some((w, format!("expired on {}", w.waiver.expires))),
            WaiverState::Unmatched => Some((w, "matches no failing item".to_owned())),
        })
        .collect()
}

/// One line per piece of evidence: a label and a value (logs excluded).
fn evidence_line(evidence: &Evidence) -> Option<(String, String)> {
    Some(match evidence {
        Evidence::Location(location) => ("at".to_owned(), location.to_string()),
        Evidence::Url { url } => ("url".to_owned(), url.clone()),
        Evidence::Hash { algorithm, expected, actual } => match actual {
            Some(actual) => (algorithm.to_string(), format!("expected {expected}, found {actual}")),
            None => (algorithm.to_string(), expected.clone()),
        },
        Evidence::Fact { label, value } => (label.to_string(), value.clone()),
        Evidence::Timing { label, millis } => (label.to_string(), format_millis(*millis)),
        Evidence::Log { .. } => return None,
    })
}

/// `0.42 s`, `12 ms`, `3 m 05 s`.
fn format_millis(millis: u64) -> String {
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.2} s", millis as f64 / 1000.0)
    } else {
        format!("{} m {:02} s", millis / 60_000, millis / 1000 % 60)
    }
}

/// The short form of a commit: its first 12 characters when it is a full
/// hexadecimal SHA, else the text as given.
pub fn short_commit(sha: &str) -> &str {
    match sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        true => &sha[..12],
        false => sha,
    }
}

/// `commit 5e1ea5ec0ffe (main, from --ref) · as of 2026-11-25T12:00:00Z`,
/// as far as the report knows them (unescaped: each renderer escapes it).
fn judged_line(report: &Report) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(commit) = &report.commit {
        let named = match &report.git_ref {
            Some(r) if r.name != *commit => format!(" ({}, from {})", r.name, r.from),
            Some(r) => format!(" (from {})", r.from),
            None => String::new(),
        };
        parts.push(format!("commit {}{named}", short_commit(commit)));
    }
    if !report.as_of.is_empty() {
        parts.push(format!("as of {}", report.as_of));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//!
//! One run; one rule per check (`gate/check`, its `--explain` text as
//! help); one result per blocker and per warning, at the item's location;
//! waived items as results with an external suppression whose justification
//! is the waiver's reason; waivers that expired or matched nothing as
//! warnings at the configuration file. Passing items are not results.
//!
//! GitHub refuses a whole upload when one result has no location, so an
//! item that names no file inside the repository is placed at the
//! configuration file: the file that enables its gate and where a waiver for
//! it would go (`release-check.toml` when there is none).
//!
//! Untrusted text in messages has its control, separator and bidirectional
//! characters shown as escapes ([`super::escape::text`]); `{` and `}` are
//! doubled (SARIF's placeholder syntax) and a `](` is broken so that no
//! embedded link can be forged. The JSON goes through [`super::escape::json`]
//! like the JSON report.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde_json::{Map, Value, json};

use super::escape;
use super::{evidence_line, unsettled_waivers};
use crate::CheckInfo;
use crate::model::{Evidence, GateRunStatus, Item, Report, Severity, Status, Weight};
use crate::waiver::WaiverState;

/// The schema the output declares (and is tested against:
/// `docs/sarif/sarif-schema-2.1.0.json`).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of each result's partial fingerprint: its item id, so an alert
/// follows its item from run to run.
pub const FINGERPRINT_KEY: &str = "releaseCheckItemId/v1";

/// Where results that name no file in the repository are placed when the
/// configuration is not a file inside it.
pub const DEFAULT_CONFIGURATION: &str = "release-check.toml";

/// One gate's documented checks: the rules of the SARIF run.
#[derive(Debug, Clone, Copy)]
pub struct GateChecks<'a> {
    /// The gate's name.
    pub gate: &'a str,
    /// Its checks, as `--list-gates` and `--explain` show them.
    pub checks: &'a [CheckInfo],
}

/// Checks release-check itself reports (not a gate's documented check).
const RUNNER_CHECKS: &[(&str, &str, &str)] = &[
    (
        crate::runner::NOTHING_CHECKED,
        "An enabled gate found something to check.",
        "Configure the gate so it finds what it checks, or turn it off with `enabled = false`.",
    ),
    (
        "timeout",
        "The gate finished within its timeout.",
        "Find what the gate was working on (the message says), or raise its timeout under [run.timeouts].",
    ),
    ("panic", "The gate ran to its end without panicking.", "Report the panic message as a bug of the gate."),
    (
        crate::runner::UNDECLARED_CHECK,
        "Every check a gate reports is one it declares.",
        "Report the message as a bug of the gate: the check it names is missing from the gate's catalogue.",
    ),
];

/// Renders `report` as a SARIF 2.1.0 log (pretty-printed, with a trailing
/// newline). `catalogue` gives the rules their descriptions; a check it
/// does not list still gets a rule, described as undocumented.
pub fn sarif(report: &Report, catalogue: &[GateChecks<'_>]) -> String {
    let configuration = configuration_uri(report);
    let mut rules = Rules::default();
    for gate in catalogue {
        for check in gate.checks {
            rules.documented(gate.gate, check);
        }
    }
    let mut results = Vec::new();
    for (gate, item) in report.items() {
        if item.weight() == Weight::Clear {
            continue;
        }
        let index = rules.index(&gate.name, &item.check);
        results.push(result(report, &gate.name, item, index, &configuration));
    }
    for (waiver, why) in unsettled_waivers(report) {
        let check = match waiver.state {
            WaiverState::Expired => "expired",
            _ => "unmatched",
        };
        let index = rules.waiver(check);
        let message = format!(
            "waiver `{}` {why}: {}",
            escape::text(&waiver.waiver.item),
            escape::text(&waiver.waiver.reason)
        );
        results.push(json!({
            "ruleId": format!("waivers/{check}"),
            "ruleIndex": index,
            "level": "warning",
            "message": { "text": message_text(&message) },
            "locations": [location(&configuration, None, None)],
            "partialFingerprints": { FINGERPRINT_KEY: format!("waivers/{check}/{}", waiver.waiver.item) },
            "properties": { "waiver": waiver },
        }));
    }
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver(report, rules.descriptors) },
            "invocations": [invocation(report)],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": run_properties(report),
        }],
    });
    let mut out = escape::json(serde_json::to_string_pretty(&log).expect("a JSON value always serialises"));
    out.push('\n');
    out
}

/// The rules, in order, and where each `gate/check` is among them.
#[derive(Default)]
struct Rules {
    descriptors: Vec<Value>,
    by_id: BTreeMap<String, usize>,
}

impl Rules {
    fn push(&mut self, id: String, descriptor: Value) -> usize {
        *self.by_id.entry(id).or_insert_with(|| {
            self.descriptors.push(descriptor);
            self.descriptors.len() - 1
        })
    }

    fn documented(&mut self, gate: &str, check: &CheckInfo) -> usize {
        let id = format!("{gate}/{}", check.id);
        let descriptor = descriptor(&id, gate, check.summary, check.remedy, Some(check.default_severity));
        self.push(id, descriptor)
    }

    /// The rule of `gate/check`, added as undocumented (or as one of the
    /// runner's own checks) when the catalogue did not list it.
    fn index(&mut self, gate: &str, check: &str) -> usize {
        let id = format!("{gate}/{check}");
        if let Some(&index) = self.by_id.get(&id) {
            return index;
        }
        let descriptor = match RUNNER_CHECKS.iter().find(|(name, _, _)| *name == check) {
            Some((_, summary, remedy)) => descriptor(&id, gate, summary, remedy, Some(Severity::Blocker)),
            None => descriptor(
                &id,
                gate,
                "A check reported by release-check that is not among the documented checks of the gate (see the result's message).",
                "Read the result's message; `release-check --list-gates` lists the documented checks.",
                None,
            ),
        };
        self.push(id, descriptor)
    }

    fn waiver(&mut self, check: &str) -> usize {
        let (summary, remedy) = match check {
            "expired" => (
                "Every waiver is still in force: its `expires` date has not passed.",
                "Fix what the waiver excused, or extend `expires` after a new review.",
            ),
            _ => (
                "Every waiver matches a failing item.",
                "Remove the waiver, or correct its `item` pattern (`--format json` lists every item id).",
            ),
        };
        let id = format!("waivers/{check}");
        let descriptor = descriptor(&id, "waivers", summary, remedy, Some(Severity::Warning));
        self.push(id, descriptor)
    }
}

fn descriptor(id: &str, gate: &str, summary: &str, remedy: &str, default: Option<Severity>) -> Value {
    let mut descriptor = json!({
        "id": id,
        "shortDescription": { "text": message_text(summary) },
        "fullDescription": { "text": message_text(summary) },
        "help": {
            "text": message_text(&format!("verifies: {summary}\nremedy:   {remedy}")),
            "markdown": format!("**Verifies:** {summary}\n\n**Remedy:** {remedy}"),
        },
        "properties": { "tags": ["release-check", gate] },
    });
    if let Some(severity) = default {
        descriptor["defaultConfiguration"] = json!({ "level": level_of(severity) });
    }
    descriptor
}

fn level_of(severity: Severity) -> &'static str {
    match severity {
        Severity::Blocker => "error",
        Severity::Warning => "warning",
    }
}

/// `error` for what blocks (or would block, were it not waived), else `warning`.
fn level(item: &Item) -> &'static str {
    match item.weight() {
        Weight::Blocker => "error",
        Weight::Waived if matches!(item.status, Status::Fail | Status::Skipped) => level_of(item.severity),
        _ => "warning",
    }
}

fn result(report: &Report, gate: &str, item: &Item, rule_index: usize, configuration: &str) -> Value {
    let mut places = item.evidence.iter().filter_map(|e| match e {
        Evidence::Location(l) => Some(l),
        _ => None,
    });
    let first = places.next();
    let mut text = escape::text(&item.reason).into_owned();
    let facts: Vec<String> = item
        .evidence
        .iter()
        .filter(|e| !matches!(e, Evidence::Location(_)))
        .filter_map(evidence_line)
        .map(|(label, value)| format!("{}: {}", escape::text(&label), escape::text(&value)))
        .collect();
    if !facts.is_empty() {
        text.push_str(&format!(" ({})", facts.join("; ")));
    }
    let primary = match first.and_then(|l| artifact_uri(&report.repository, &l.path).map(|uri| (uri, l))) {
        Some((uri, l)) => location(&uri, l.line, l.column),
        None => {
            if let Some(l) = first {
                text.push_str(&format!(" (at {})", escape::text(&l.to_string())));
            }
            location(configuration, None, None)
        }
    };
    let related: Vec<Value> = places
        .filter_map(|l| artifact_uri(&report.repository, &l.path).map(|uri| (uri, l)))
        .enumerate()
        .map(|(n, (uri, l))| {
            let mut related = location(&uri, l.line, l.column);
            related["id"] = json!(n + 1);
            related
        })
        .collect();
    let mut result = json!({
        "ruleId": format!("{gate}/{}", item.check),
        "ruleIndex": rule_index,
        "level": level(item),
        "message": { "text": message_text(&format!("{}: {text}", escape::text(&item.id))) },
        "locations": [primary],
        "partialFingerprints": { FINGERPRINT_KEY: item.id },
        "properties": {
            "id": item.id,
            "status": item.status,
            "severity": item.severity,
            "reason": item.reason,
            "evidence": item.evidence,
        },
    });
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    if let Some(pattern) = &item.waived_by {
        result["suppressions"] = json!([suppression(report, pattern)]);
    }
    result
}

/// An external suppression: the waiver `pattern` names, its reason as the
/// justification.
fn suppression(report: &Report, pattern: &str) -> Value {
    let waiver = report.waivers.iter().map(|w| &w.waiver).find(|w| w.item == pattern);
    let mut suppression = json!({ "kind": "external", "status": "accepted" });
    match waiver {
        Some(waiver) => {
            suppression["justification"] = json!(escape::text(&waiver.reason));
            suppression["properties"] = json!({ "waiver": waiver });
        }
        None => suppression["properties"] = json!({ "waiver": { "item": pattern } }),
    }
    suppression
}

fn location(uri: &str, line: Option<u32>, column: Option<u32>) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri, "uriBaseId": "SRCROOT" } });
    if let Some(line) = line.filter(|&l| l >= 1) {
        let mut region = Map::new();
        region.insert("startLine".into(), json!(line));
        if let Some(column) = column.filter(|&c| c >= 1) {
            region.insert("startColumn".into(), json!(column));
        }
        physical["region"] = Value::Object(region);
    }
    json!({ "physicalLocation": physical })
}

fn driver(report: &Report, rules: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": "release-check",
        "version": report.tool_version,
        "rules": rules,
    });
    let repository = env!("CARGO_PKG_REPOSITORY");
    if repository.starts_with("https://") {
        driver["informationUri"] = json!(repository);
    }
    if is_semantic_version(&report.tool_version) {
        driver["semanticVersion"] = json!(report.tool_version);
    }
    driver
}

fn is_semantic_version(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether every gate ran to its end, and the gates' notes.
fn invocation(report: &Report) -> Value {
    let successful =
        report.gates.iter().all(|g| !matches!(g.run, GateRunStatus::TimedOut | GateRunStatus::Panicked));
    let notes: Vec<Value> = report
        .gates
        .iter()
        .flat_map(|g| g.notes.iter().map(move |n| (g, n)))
        .map(|(g, note)| {
            json!({
                "level": "note",
                "message": { "text": message_text(&format!("{}: {}", escape::text(&g.name), escape::text(note))) },
            })
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": successful });
    if !notes.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notes);
    }
    invocation
}

fn run_properties(report: &Report) -> Value {
    let mut properties = json!({
        "verdict": report.verdict,
        "headline": report.headline,
        "summary": report.summary,
        "repository": report.repository,
        "config": report.config,
        "generated_at": report.generated_at,
    });
    if let Some(commit) = &report.commit {
        properties["commit"] = json!(commit);
    }
    if let Some(git_ref) = &report.git_ref {
        properties["ref"] = json!(git_ref);
    }
    if !report.as_of.is_empty() {
        properties["as_of"] = json!(report.as_of);
    }
    properties
}

/// Text for a SARIF message: `{` and `}` doubled (placeholders), and every
/// `](` broken into `]\(` so no embedded link can be formed. Untrusted parts
/// were already passed through [`escape::text`].
fn message_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            ']' if chars.peek() == Some(&'(') => out.push_str("]\\"),
            c => out.push(c),
        }
    }
    out
}

/// The configuration file's path in the repository, when the report's
/// configuration (`report.config`, a path as given, like the repository's)
/// is a file inside it; else [`DEFAULT_CONFIGURATION`].
fn configuration_uri(report: &Report) -> String {
    let config = report.config.strip_suffix(" [workspace.metadata.release-check]").unwrap_or(&report.config);
    let (config, repository) = (Path::new(config), Path::new(&report.repository));
    let inside = match config.strip_prefix(repository) {
        Ok(inside) => Some(inside),
        // `--repo .` (the default): a relative path is the repository's.
        Err(_) if config.is_relative() && matches!(report.repository.as_str(), "." | "./" | "") => {
            Some(config)
        }
        Err(_) => None,
    };
    inside
        .and_then(|inside| artifact_uri(&report.repository, inside.to_str()?))
        .unwrap_or_else(|| DEFAULT_CONFIGURATION.to_owned())
}

/// `path` (relative to the repository, or absolute) as a URI reference
/// relative to the repository root, percent-encoded; `None` when it is
/// empty, leaves the repository or is outside it.
fn artifact_uri(repository: &str, path: &str) -> Option<String> {
    let path = Path::new(path);
    let inside = if path.is_absolute() { path.strip_prefix(repository).ok()? } else { path };
    let mut segments = Vec::new();
    for component in inside.components() {
        match component {
            Component::Normal(segment) => segments.push(encode_segment(segment.to_str()?)),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!segments.is_empty()).then(|| segments.join("/"))
}

/// Percent-encodes a path segment: everything but RFC 3986's unreserved
/// characters and the sub-delimiters and `@` allowed in a segment. `:` is
/// encoded too, so a first segment never reads as a scheme.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_uri_references_inside_the_repository_only() {
        assert_eq!(artifact_uri("repo", "sha256sums.txt").as_deref(), Some("sha256sums.txt"));
        assert_eq!(artifact_uri("repo", "a b/c%d.whl").as_deref(), Some("a%20b/c%25d.whl"));
        assert_eq!(artifact_uri("repo", "c:x").as_deref(), Some("c%3Ax"));
        assert_eq!(artifact_uri("repo", "ü").as_deref(), Some("%C3%BC"));
        assert_eq!(artifact_uri("/abs/repo", "/abs/repo/x/y").as_deref(), Some("x/y"));
        assert_eq!(artifact_uri("/abs/repo", "/abs/other/x"), None);
        assert_eq!(artifact_uri(".", "./x").as_deref(), Some("x"));
        assert_eq!(artifact_uri("repo", "../x"), None);
        assert_eq!(artifact_uri("repo", "x/../../y"), None);
        assert_eq!(artifact_uri("repo", "/etc/passwd"), None);
        assert_eq!(artifact_uri("repo", ""), None);
    }

    #[test]
    fn messages_cannot_hold_placeholders_or_embedded_links() {
        assert_eq!(message_text("a {0} b"), "a {{0}} b");
        assert_eq!(
            message_text("[here](1) and [x](https://e.invalid)"),
            "[here]\\(1) and [x]\\(https://e.invalid)"
        );
    }

    #[test]
    fn semantic_versions_are_recognised() {
        assert!(is_semantic_version("0.1.0"));
        assert!(is_semantic_version("1.2.3-rc.1"));
        assert!(!is_semantic_version("1.2"));
        assert!(!is_semantic_version("x.y.z"));
    }
}

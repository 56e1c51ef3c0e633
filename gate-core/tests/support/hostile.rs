//! Hostile reports for property tests of the renderers and of publish:
//! arbitrary Unicode in every untrusted field, weighted towards what could
//! forge output (line breaks of every kind, terminal escapes, bidirectional
//! formatting, workflow commands, verdict lines), and the checks every
//! rendered output must pass.

#![allow(dead_code)] // Each test file uses a different part.

use gate_core::render::escape::is_ignorable;
use gate_core::{
    Evidence, GateReport, GateRunStatus, Item, Location, RefSource, Report, Severity, Status, Verdict,
    Waiver, WaiverReport, WaiverState,
};
use proptest::prelude::*;

/// Pieces that have forged, or could forge, a terminal or an Actions log.
const PIECES: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{b}",
    "\u{c}",
    "\t",
    "\0",
    "\x1b",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x7f",
    "\u{9b}",
    "\u{202a}",
    "\u{202b}",
    "\u{202c}",
    "\u{202d}",
    "\u{202e}",
    "\u{2066}",
    "\u{2067}",
    "\u{2068}",
    "\u{2069}",
    "\u{200e}",
    "\u{200f}",
    "\u{61c}",
    "::",
    "::error::x",
    "::error file=a,line=1::pwned",
    "::add-mask::",
    "::stop-commands::t0k3n",
    "::group::",
    "##[",
    "##[error]",
    "##[add-mask]",
    "#",
    "[",
    ":",
    " ",
    "  ",
    "\u{a0}",
    "\u{3000}",
    "\u{2003}",
    "\u{ad}",
    "\u{200b}",
    "\u{feff}",
    "\u{fe0f}",
    "\u{e0041}",
    "GO",
    "NO-GO",
    "GO: every check passed",
    "`",
    "```",
    "<",
    ">",
    "&",
    "&amp;",
    "@",
    "|",
    "%",
    "%25",
    "%0A",
    ",",
    "=",
    "\\",
    "\\n",
    "é",
    "🙂",
    "-->",
    "<!--",
];

/// An untrusted string.
pub fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
            2 => "[a-z0-9./-]{1,6}",
        ],
        0..7,
    )
    .prop_map(|pieces| pieces.concat())
}

fn evidence() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        (hostile(), any::<Option<u32>>(), any::<Option<u32>>())
            .prop_map(|(path, line, column)| Evidence::Location(Location { path, line, column })),
        hostile().prop_map(|url| Evidence::Url { url }),
        (hostile(), hostile(), prop::option::of(hostile())).prop_map(|(algorithm, expected, actual)| {
            Evidence::Hash { algorithm: algorithm.into(), expected, actual }
        }),
        (hostile(), hostile()).prop_map(|(label, value)| Evidence::Fact { label: label.into(), value }),
        (hostile(), hostile()).prop_map(|(label, text)| Evidence::Log { label: label.into(), text }),
        (hostile(), any::<u64>())
            .prop_map(|(label, millis)| Evidence::Timing { label: label.into(), millis }),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(vec![Status::Pass, Status::Fail, Status::Warn, Status::Skipped, Status::Error])
}

fn item(gate: String) -> impl Strategy<Value = Item> {
    (
        status(),
        any::<bool>(),
        hostile(),
        hostile(),
        hostile(),
        prop::collection::vec(evidence(), 0..4),
        prop::option::of(hostile()),
    )
        .prop_map(move |(status, blocker, check, subject, reason, evidence, waived_by)| {
            let mut item = Item::new(status, check, subject, reason).severity(if blocker {
                Severity::Blocker
            } else {
                Severity::Warning
            });
            item.evidence = evidence;
            item.waived_by = waived_by;
            item.id = item.id_in(&gate);
            item
        })
}

fn gate() -> impl Strategy<Value = GateReport> {
    (
        hostile(),
        hostile(),
        prop::sample::select(vec![
            GateRunStatus::Completed,
            GateRunStatus::NothingToCheck,
            GateRunStatus::TimedOut,
            GateRunStatus::Panicked,
            GateRunStatus::Off,
        ]),
        any::<u64>(),
        prop::collection::vec(hostile(), 0..3),
    )
        .prop_flat_map(|(name, verifies, run, duration_ms, notes)| {
            prop::collection::vec(item(name.clone()), 0..5).prop_map(move |items| GateReport {
                name: name.clone(),
                verifies: verifies.clone(),
                run,
                duration_ms,
                notes: notes.clone(),
                items,
            })
        })
}

fn waiver() -> impl Strategy<Value = WaiverReport> {
    (
        hostile(),
        hostile(),
        prop::option::of(hostile()),
        prop::sample::select(vec![WaiverState::Applied, WaiverState::Expired, WaiverState::Unmatched]),
        prop::collection::vec(hostile(), 0..2),
    )
        .prop_map(|(item, reason, issue, state, matched)| WaiverReport {
            waiver: Waiver { item, reason, expires: "2026-12-31".parse().unwrap(), issue },
            state,
            matched,
        })
}

/// The commit a report names: hostile, or a full SHA; a page, plain or not.
fn judged() -> impl Strategy<Value = (Option<String>, Option<String>, Option<RefSource>, String)> {
    (
        prop::option::of(prop_oneof![hostile(), "[0-9a-f]{40}"]),
        prop::option::of(prop_oneof![hostile(), hostile().prop_map(|h| format!("https://e.invalid/{h}"))]),
        prop::option::of((hostile(), hostile()).prop_map(|(name, from)| RefSource { name, from })),
        hostile(),
    )
}

/// A report with hostile text in every untrusted field, whatever its
/// verdict says.
pub fn report() -> impl Strategy<Value = Report> {
    (
        prop::collection::vec(gate(), 0..4),
        prop::collection::vec(waiver(), 0..3),
        (hostile(), hostile(), hostile(), hostile(), hostile()),
        any::<bool>(),
        judged(),
    )
        .prop_map(
            |(gates, waivers, (repository, generated_at, headline, tool_version, config), go, judged)| {
                let mut report = Report::assemble(repository, generated_at, gates, waivers);
                report.headline = headline;
                report.tool_version = tool_version;
                report.config = config;
                report.verdict = if go { Verdict::Go } else { Verdict::NoGo };
                (report.commit, report.commit_url, report.git_ref, report.as_of) = judged;
                report
            },
        )
}

/// `report` with every untrusted string replaced by `x` (a log by as many
/// `x` lines as it has lines): rendered, it has the lines the renderer
/// itself writes for this report, and no more.
pub fn skeleton(report: &Report) -> Report {
    let x = |_: &String| "x".to_owned();
    let mut report = report.clone();
    report.repository = "x".into();
    report.headline = "x".into();
    report.tool_version = "x".into();
    report.commit = report.commit.as_ref().map(x);
    report.commit_url = report.commit_url.as_ref().map(x);
    report.git_ref = report.git_ref.as_ref().map(|_| RefSource { name: "x".into(), from: "x".into() });
    if !report.as_of.is_empty() {
        report.as_of = "x".into();
    }
    for gate in &mut report.gates {
        gate.name = x(&gate.name);
        gate.verifies = x(&gate.verifies);
        gate.notes.iter_mut().for_each(|n| *n = x(n));
        for item in &mut gate.items {
            item.id = x(&item.id);
            item.reason = x(&item.reason);
            item.waived_by = item.waived_by.as_ref().map(x);
            for evidence in &mut item.evidence {
                *evidence = match evidence {
                    Evidence::Log { text, .. } => {
                        Evidence::Log { label: "x".into(), text: vec!["x"; text.lines().count()].join("\n") }
                    }
                    _ => Evidence::fact("x", "x"),
                };
            }
        }
    }
    for waiver in &mut report.waivers {
        waiver.waiver.item = "x".into();
        waiver.waiver.reason = "x".into();
    }
    report
}

/// `line` as a culture-aware reader may see it: without invisible characters.
pub fn shown(line: &str) -> String {
    line.chars().filter(|&c| !is_ignorable(c)).collect()
}

/// Whether the Actions runner could read `line` as a workflow command of
/// the current form (`::` after leading whitespace).
pub fn starts_a_workflow_command(line: &str) -> bool {
    shown(line).trim_start().starts_with("::")
}

/// Whether `output` holds the older form of workflow command (`##[`), which
/// the runner finds anywhere in a line.
pub fn has_old_workflow_command(output: &str) -> bool {
    shown(output).contains("##[")
}

/// The text a browser shows for `html`: numeric and the four named references decoded.
pub fn decode_entities(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').map(|e| at + e).expect("references end with ;");
        let name = &rest[at + 1..end];
        out.push(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            _ => char::from_u32(name.strip_prefix('#').expect("a numeric reference").parse().unwrap())
                .expect("a character"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

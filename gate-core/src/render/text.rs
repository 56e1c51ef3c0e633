//! Human text for a terminal.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::escape::{column_zero, is_ignorable, line_start, text as clean};
use super::{evidence_line, format_millis, unsettled_waivers};
use crate::model::{GateReport, GateRunStatus, Item, Report, Verdict, Weight, plural};

/// How to render text.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Use ANSI colours (the caller decides: a TTY and no `NO_COLOR`).
    pub color: bool,
    /// List passing items too, not just their count.
    pub verbose: bool,
}

struct Painter(bool);

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.0 { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }
}

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

/// Renders the report for a terminal: failures in detail, passes counted.
pub fn text(report: &Report, options: TextOptions) -> String {
    let p = Painter(options.color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} · {}",
        p.paint(BOLD, "release-check"),
        clean(&report.tool_version),
        clean(&report.repository)
    );
    if let Some(judged) = super::judged_line(report) {
        let _ = writeln!(out, "{}", p.paint(DIM, &clean(&judged)));
    }
    for gate in &report.gates {
        gate_section(&mut out, &p, gate, options.verbose);
    }
    let unsettled = unsettled_waivers(report);
    if !unsettled.is_empty() {
        let _ = writeln!(out, "\n{}", p.paint(BOLD, "waivers"));
        for (w, state) in unsettled {
            let _ = writeln!(
                out,
                "  {} {}: {state} ({})",
                p.paint(YELLOW, "! warning"),
                clean(&w.waiver.item),
                clean(&w.waiver.reason)
            );
        }
    }
    let verdict = match report.verdict {
        Verdict::Go => p.paint(GREEN.bold(), "GO"),
        Verdict::NoGo => p.paint(RED, "NO-GO"),
    };
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{verdict}: {} ({} passed, {} skipped, {} blocker{}, {} warning{}, {} waived)",
        clean(&report.headline),
        s.passed,
        s.skipped,
        s.blockers,
        plural(s.blockers),
        s.warnings,
        plural(s.warnings),
        s.waived
    );
    out
}

fn gate_section(out: &mut String, p: &Painter, gate: &GateReport, verbose: bool) {
    let run = match gate.run {
        GateRunStatus::Completed => String::new(),
        GateRunStatus::NothingToCheck => " — nothing to check".to_owned(),
        GateRunStatus::TimedOut => format!(" — {}", p.paint(RED, "timed out")),
        GateRunStatus::Panicked => format!(" — {}", p.paint(RED, "panicked")),
        GateRunStatus::Off => format!(" — {}", p.paint(DIM, "off")),
    };
    let _ = writeln!(
        out,
        "\n{}{run} {}",
        p.paint(BOLD, &column_zero(&gate.name)),
        p.paint(DIM, &format!("({}; {})", clean(&gate.verifies), format_millis(gate.duration_ms)))
    );
    for note in &gate.notes {
        let _ = writeln!(out, "  {} {}", p.paint(DIM, "note:"), clean(note));
    }
    let mut clear = 0;
    for item in &gate.items {
        // A skip says what was not checked and why: always shown.
        if item.weight() == Weight::Clear && !verbose {
            clear += 1;
            continue;
        }
        item_lines(out, p, item, false);
    }
    if clear > 0 {
        let _ = writeln!(out, "  {} {clear} item{} passed", p.paint(GREEN, "✓"), plural(clear));
    }
}

/// One item in full (its line and every piece of evidence), without colour.
pub fn text_item(item: &Item) -> String {
    let mut out = String::new();
    item_lines(&mut out, &Painter(false), item, true);
    out
}

fn item_lines(out: &mut String, p: &Painter, item: &Item, full: bool) {
    let tag = match item.weight() {
        Weight::Blocker if item.status == crate::Status::Error => p.paint(RED, "✗ error  "),
        Weight::Blocker if item.status == crate::Status::Skipped => p.paint(RED, "- skipped"),
        Weight::Blocker => p.paint(RED, "✗ blocker"),
        Weight::Warning if item.status == crate::Status::Skipped => p.paint(YELLOW, "- skipped"),
        Weight::Warning => p.paint(YELLOW, "! warning"),
        Weight::Waived => p.paint(YELLOW, "~ waived "),
        Weight::Clear => p.paint(GREEN, "✓ pass   "),
    };
    let _ = writeln!(out, "  {tag} {}: {}", clean(&item.id), clean(&item.reason));
    if item.weight() == Weight::Clear && !full {
        return;
    }
    if let Some(waiver) = &item.waived_by {
        let _ = writeln!(out, "      {:<10} {}", p.paint(DIM, "waiver"), clean(waiver));
    }
    for evidence in &item.evidence {
        match evidence_line(evidence) {
            Some((label, value)) => {
                let label = line_start(&label);
                // After a blank label, the value starts the line.
                let value = if label.chars().all(|c| c.is_whitespace() || is_ignorable(c)) {
                    line_start(&value)
                } else {
                    clean(&value)
                };
                let _ = writeln!(out, "      {} {value}", p.paint(DIM, &format!("{label:<10}")));
            }
            None => {
                if let crate::Evidence::Log { label, text } = evidence {
                    let _ = writeln!(out, "      {}", p.paint(DIM, &format!("{}:", line_start(label))));
                    for line in text.lines() {
                        let _ = writeln!(out, "        {}", line_start(line));
                    }
                }
            }
        }
    }
}

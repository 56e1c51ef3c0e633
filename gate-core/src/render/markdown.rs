//! GitHub-flavoured Markdown, safe to post where people read it.
//!
//! Every string that comes from the checked repository or a remote service
//! (package, check and branch names, reasons, evidence) goes through
//! [`escape`]: no Markdown, HTML, `@mention` or `#reference` gets through.
//! Item ids and waiver patterns go into `<code>` through [`code`], so that
//! what is copied from the rendered comment is the id itself. Logs go into
//! fenced code blocks whose fence is longer than any backtick run inside
//! them. Bidirectional formatting and control characters never reach the
//! output raw, and no untrusted line starts with `::` (see
//! [`super::escape`]): the Markdown may be printed to an Actions log too.

use std::fmt::Write as _;

use super::escape::{is_bidi, line_start};
use super::{evidence_line, format_millis, unsettled_waivers};
use crate::model::{Evidence, GateRunStatus, Item, Report, Status, Verdict, Weight};

/// Escapes untrusted text for Markdown prose and table cells.
///
/// Markup characters become numeric character references, line breaks
/// (U+2028 and U+2029 too) become spaces, other control characters are
/// dropped, bidirectional formatting characters are shown as escapes
/// (`\u{202e}`), and a zero-width space follows `@` and `#` so GitHub links
/// neither a user nor an issue (the same defence Renovate uses in its PR
/// bodies). `:` is escaped so that no untrusted URL becomes a link.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '@' => out.push_str("@&#8203;"),
            '#' => out.push_str("&#35;&#8203;"),
            '\r' | '\n' | '\t' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            c => entity(&mut out, c),
        }
    }
    out
}

/// Escapes an item id or a waiver pattern for `<code>`: numeric character
/// references only, so the rendered text is the id itself, ready to be
/// copied into a waiver (GitHub links no `@mention` or `#reference` inside
/// `code`). Control, separator and bidirectional formatting characters,
/// which no real id holds, are shown as escapes (`\n`, `\u{202e}`).
pub fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '@' | '#' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if super::escape::is_unsafe(c) => {
                for shown in c.escape_default() {
                    entity(&mut out, shown);
                }
            }
            c => entity(&mut out, c),
        }
    }
    out
}

/// Writes `c` as Markdown and HTML read it literally: markup characters as
/// references, a bidirectional formatting character as a visible escape.
fn entity(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '|' | '`' | '*' | '_' | '[' | ']' | '\\' | '~' | '$' | ':' => {
            let _ = write!(out, "&#{};", u32::from(c));
        }
        c if is_bidi(c) => {
            for shown in c.escape_default() {
                entity(out, shown);
            }
        }
        c => out.push(c),
    }
}

/// A fenced code block that `text` cannot break out of. Its lines are
/// escaped as the text renderer's are ([`line_start`]): a code block shows
/// no entity, and no line may start a workflow command.
fn code_block(text: &str) -> String {
    let text: Vec<_> = text.lines().map(line_start).collect();
    let text = text.join("\n");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest_run + 1).max(3));
    format!("{fence}text\n{text}\n{fence}\n")
}

fn icon(weight: Weight, status: Status) -> &'static str {
    match weight {
        Weight::Blocker if status == Status::Error => "🛑 error",
        Weight::Blocker if status == Status::Skipped => "⏭️ skipped (blocker)",
        Weight::Blocker => "❌ blocker",
        Weight::Warning if status == Status::Skipped => "⏭️ skipped (warning)",
        Weight::Warning => "⚠️ warning",
        Weight::Waived => "〰️ waived",
        Weight::Clear => "✅ pass",
    }
}

/// Renders the report as GitHub-flavoured Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = summary(report);
    sections(&mut out, report);
    details(&mut out, report);
    out
}

/// The report in at most `limit` characters. When the whole report is
/// longer, the verdict, the per-gate counts and every blocker are kept,
/// warnings, waivers and the item list are dropped, and `dropped` (a
/// Markdown note, e.g. a link to the full report) says so. Blockers that
/// still do not fit are counted instead of listed.
pub fn markdown_within(report: &Report, limit: usize, dropped: &str) -> String {
    let full = markdown(report);
    if full.chars().count() <= limit {
        return full;
    }
    let mut out = summary(report);
    let blockers: Vec<&Item> =
        report.items().map(|(_, i)| i).filter(|i| i.weight() == Weight::Blocker).collect();
    let tail = |left: usize| {
        let more = if left > 0 {
            format!("\n… and {left} more blocker{}.\n", crate::model::plural(left))
        } else {
            String::new()
        };
        format!("{more}\n> {dropped}\n")
    };
    if !blockers.is_empty() {
        out.push_str("\n### Blockers\n\n");
    }
    let mut length = out.chars().count();
    for (index, item) in blockers.iter().enumerate() {
        let mut entry = String::new();
        item_entry(&mut entry, item);
        let entry_length = entry.chars().count();
        // Room must remain for the longest tail: "… and N more blockers" plus the note.
        if length + entry_length + tail(blockers.len()).chars().count() > limit {
            out.push_str(&tail(blockers.len() - index));
            return out;
        }
        length += entry_length;
        out.push_str(&entry);
    }
    out.push_str(&tail(0));
    out
}

/// Title, headline and the per-gate table.
fn summary(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Go => "✅ GO",
        Verdict::NoGo => "❌ NO-GO",
    };
    let _ = writeln!(out, "## release-check: {verdict}\n");
    let _ = writeln!(
        out,
        "**{}** · repository {} · release-check {} · {}\n",
        escape(&report.headline),
        escape(&report.repository),
        escape(&report.tool_version),
        escape(&report.generated_at)
    );
    if let Some(commit) = &report.commit {
        let short = escape(super::short_commit(commit));
        let shown = match report.commit_url.as_deref().filter(|u| is_plain_https(u)) {
            Some(url) => format!("[<code>{short}</code>]({url})"),
            None => format!("<code>{short}</code>"),
        };
        let named = match &report.git_ref {
            Some(r) if r.name != *commit => format!(" ({}, from {})", escape(&r.name), escape(&r.from)),
            Some(r) => format!(" (from {})", escape(&r.from)),
            None => String::new(),
        };
        let moment = match report.as_of.as_str() {
            "" => String::new(),
            as_of => format!(" · as of {}", escape(as_of)),
        };
        let _ = writeln!(out, "Commit {shown}{named}{moment}\n");
    }
    out.push_str("| Gate | Result | Passed | Skipped | Blockers | Warnings | Waived | Time |\n");
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|\n");
    for gate in &report.gates {
        let count = |w: Weight| gate.items.iter().filter(|i| i.weight() == w).count();
        let skipped = gate.items.iter().filter(|i| i.status == Status::Skipped).count();
        let result = match gate.run {
            GateRunStatus::TimedOut => "🛑 timed out",
            GateRunStatus::Panicked => "🛑 panicked",
            GateRunStatus::NothingToCheck => "🛑 nothing checked",
            GateRunStatus::Off => "➖ off",
            GateRunStatus::Completed if count(Weight::Blocker) > 0 && skipped == count(Weight::Blocker) => {
                "⏭️ not checked"
            }
            GateRunStatus::Completed if count(Weight::Blocker) > 0 => "❌",
            GateRunStatus::Completed if count(Weight::Warning) > 0 => "⚠️",
            GateRunStatus::Completed => "✅",
        };
        let _ = writeln!(
            out,
            "| {} | {result} | {} | {skipped} | {} | {} | {} | {} |",
            escape(&gate.name),
            count(Weight::Clear),
            count(Weight::Blocker),
            count(Weight::Warning),
            count(Weight::Waived),
            format_millis(gate.duration_ms)
        );
    }
    out
}

/// Blockers, warnings, waived items and unsettled waivers.
fn sections(out: &mut String, report: &Report) {
    for (title, weight) in
        [("Blockers", Weight::Blocker), ("Warnings", Weight::Warning), ("Waived", Weight::Waived)]
    {
        let items: Vec<&Item> = report.items().map(|(_, i)| i).filter(|i| i.weight() == weight).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {title}\n");
        for item in items {
            item_entry(out, item);
        }
    }
    let unsettled = unsettled_waivers(report);
    if !unsettled.is_empty() {
        out.push_str("\n### Waivers to look at\n\n");
        for (w, state) in unsettled {
            let _ = writeln!(
                out,
                "- ⚠️ <code>{}</code>: {state} — {}",
                code(&w.waiver.item),
                escape(&w.waiver.reason)
            );
        }
    }
}

/// Every note and item, in a collapsed section.
fn details(out: &mut String, report: &Report) {
    let notes: Vec<_> = report.gates.iter().flat_map(|g| g.notes.iter().map(move |n| (g, n))).collect();
    let total = report.gates.iter().map(|g| g.items.len()).sum::<usize>();
    let _ = writeln!(out, "\n<details><summary>All {total} items</summary>\n");
    for (gate, note) in notes {
        let _ = writeln!(out, "- {}: {}", escape(&gate.name), escape(note));
    }
    out.push_str("\n| Status | Item | Reason |\n|---|---|---|\n");
    for (_, item) in report.items() {
        let _ = writeln!(
            out,
            "| {} | <code>{}</code> | {} |",
            icon(item.weight(), item.status),
            code(&item.id),
            escape(&item.reason)
        );
    }
    out.push_str("\n</details>\n");
}

fn item_entry(out: &mut String, item: &Item) {
    let _ = writeln!(
        out,
        "- {} <code>{}</code>: {}",
        icon(item.weight(), item.status),
        code(&item.id),
        escape(&item.reason)
    );
    if let Some(waiver) = &item.waived_by {
        let _ = writeln!(out, "  - waiver: <code>{}</code>", code(waiver));
    }
    for evidence in &item.evidence {
        match (evidence_line(evidence), evidence) {
            (Some((label, value)), _) => {
                let _ = writeln!(out, "  - {}: {}", escape(&label), escape(&value));
            }
            (None, Evidence::Log { label, text }) => {
                let _ = writeln!(out, "  - {}:\n", escape(label));
                for line in code_block(text).lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            (None, _) => {}
        }
    }
}

/// Whether `url` is an https address with no character that could end a
/// Markdown link or start markup.
fn is_plain_https(url: &str) -> bool {
    url.starts_with("https://")
        && url.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | '[' | ']' | '"' | '\\' | '`')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_mentions_and_html() {
        assert_eq!(
            escape("a|b `c` <!-- x --> @someone <img src=x> [l](u) #12\nnext"),
            "a&#124;b &#96;c&#96; &lt;!-- x --&gt; @&#8203;someone &lt;img src=x&gt; &#91;l&#93;(u) &#35;&#8203;12 next"
        );
    }

    #[test]
    fn code_block_fence_outgrows_backtick_runs() {
        let block = code_block("```\nbreak out\n````");
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
    }
}

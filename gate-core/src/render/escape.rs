//! What every renderer does to untrusted text before it reaches a terminal
//! or a GitHub Actions log.
//!
//! Untrusted text (package, check and branch names, reasons, evidence,
//! notes, waiver fields, whatever a report read from a file says) must not
//! be able to forge output. Three things could:
//!
//! - A control character (C0, DEL, C1) or a line or paragraph separator
//!   (U+2028, U+2029) starts a new line, moves the cursor or drives the
//!   terminal. A bidirectional formatting character (U+202A–U+202E,
//!   U+2066–U+2069, and the marks U+200E, U+200F, U+061C) reorders what is
//!   shown. [`text`] shows each as a visible escape (`\n`, `\u{1b}`,
//!   `\u{202e}`).
//! - The Actions runner executes a line that starts with `::` after
//!   leading whitespace (`::error::`, `::add-mask::`, `::stop-commands::`).
//!   Once line breaks are escaped, untrusted text starts a line only where
//!   a renderer puts it first; [`line_start`] is for those places and
//!   escapes a leading `:`.
//! - The runner also executes the older form `##[command]` found anywhere
//!   in a line: [`text`] escapes the first `#` of every `##[`.
//!
//! Invisible characters that a culture-aware comparison may skip (soft
//! hyphen, zero-width space, variation selectors: Unicode's
//! Default_Ignorable_Code_Point) count as absent when looking for `::` and
//! `##[`, so that `:`U+00AD`:` is treated like `::`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a bidirectional formatting character: an embedding or
/// override (U+202A–U+202E), an isolate (U+2066–U+2069) or a mark (U+200E,
/// U+200F, U+061C).
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `c` must never reach the output raw: a control character (C0,
/// DEL, C1), a line or paragraph separator (U+2028, U+2029) or a
/// bidirectional formatting character.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi(c)
}

/// Whether `c` is a default-ignorable code point that stays raw in the
/// output: invisible, and possibly skipped by a culture-aware comparison.
pub fn is_ignorable(c: char) -> bool {
    !is_unsafe(c)
        && matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Untrusted text for a terminal or a log: every [unsafe](is_unsafe)
/// character shown as a visible escape (`\n`, `\t`, `\u{1b}`, `\u{202e}`),
/// and the first `#` of every `##[` escaped (`\u{23}`).
pub fn text(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(|c| is_unsafe(c) || c == '#') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for (at, c) in raw.char_indices() {
        if is_unsafe(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else if c == '#' && opens_old_command(&raw[at + c.len_utf8()..]) {
            out.push_str("\\u{23}");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `rest`, which follows a `#`, continues it into `##[`.
fn opens_old_command(rest: &str) -> bool {
    let mut shown = rest.chars().filter(|&c| !is_ignorable(c));
    shown.next() == Some('#') && shown.next() == Some('[')
}

/// Like [`text`], for untrusted text a renderer places first on a line
/// (after its indentation): a `:` that would be the line's first visible
/// character is escaped too (`\u{3a}`), so the line cannot be a workflow
/// command.
pub fn line_start(raw: &str) -> Cow<'_, str> {
    let escaped = text(raw);
    match first_visible(&escaped) {
        Some((at, ':')) => Cow::Owned(format!("{}\\u{{3a}}{}", &escaped[..at], &escaped[at + 1..])),
        _ => escaped,
    }
}

/// Like [`line_start`], for untrusted text at the very start of a line
/// (a gate's name): it cannot read as a verdict line either, so the `G`
/// of a leading `GO` or the `N` of a leading `NO-GO` is escaped.
pub fn column_zero(raw: &str) -> Cow<'_, str> {
    let escaped = line_start(raw);
    match first_visible(&escaped) {
        Some((at, c)) if escaped[at..].starts_with("GO") || escaped[at..].starts_with("NO-GO") => {
            Cow::Owned(format!("{}\\u{{{:x}}}{}", &escaped[..at], u32::from(c), &escaped[at + 1..]))
        }
        _ => escaped,
    }
}

/// The first character that is neither whitespace nor ignorable, and where.
fn first_visible(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| !c.is_whitespace() && !is_ignorable(c))
}

/// `json` (serde_json output) with every [unsafe](is_unsafe) character
/// serde_json leaves raw (DEL, C1, separators, bidirectional formatting)
/// written as a `\uXXXX` escape, and the first `#` of every `##[` as
/// `\u0023`. These only
/// occur inside strings, so the JSON means the same.
pub fn json(json: String) -> String {
    // Only these bytes can start a character that is escaped here: the
    // rest of serde_json's output (nearly all of it) is copied in runs.
    let worth_a_look = |b: u8| b == b'#' || b == 0x7f || b >= 0x80 || (b < 0x20 && b != b'\n');
    if !json.bytes().any(worth_a_look) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    let mut raw_from = 0;
    for (at, c) in json.char_indices() {
        if c.is_ascii() && !worth_a_look(c as u8) {
            continue;
        }
        // serde_json escapes C0 itself; the only raw one is its own line break.
        if is_unsafe(c) && c != '\n' {
            out.push_str(&json[raw_from..at]);
            // Every unsafe character from DEL up is in the BMP: one `\uXXXX`.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
            raw_from = at + c.len_utf8();
        } else if c == '#' && opens_old_command(&json[at + 1..]) {
            out.push_str(&json[raw_from..at]);
            out.push_str("\\u0023");
            raw_from = at + 1;
        }
    }
    out.push_str(&json[raw_from..]);
    out
}

//! Image references in Dockerfiles: `FROM` and `COPY --from`.
//!
//! Handles case-insensitive instructions, line continuations (and the
//! `# escape=` directive), comments, heredocs (their bodies are skipped),
//! `ARG` defaults declared before the first `FROM` substituted into `FROM`
//! (`$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME:+word}`), stage aliases
//! (`FROM builder` after `AS builder` is not an image, nor is `scratch`),
//! and `COPY --from=<image>` (not a stage name or index).

use std::collections::HashMap;

use crate::scan::{Finding, Found};

/// Where a logical line's characters start in the file.
struct Segment {
    /// Offset of the segment's first character in the logical line.
    offset: usize,
    /// 1-based line.
    line: u32,
    /// 1-based column of the segment's first character.
    column: u32,
}

/// One instruction, its continuation lines joined.
struct Logical {
    chars: Vec<char>,
    segments: Vec<Segment>,
}

impl Logical {
    fn position(&self, offset: usize) -> (u32, u32) {
        let segment = self.segments.iter().rev().find(|s| s.offset <= offset);
        match segment {
            Some(s) => {
                let delta = u32::try_from(offset - s.offset).unwrap_or(u32::MAX);
                (s.line, s.column.saturating_add(delta))
            }
            None => (1, 1),
        }
    }

    /// Whitespace-separated words with their character offsets.
    fn words(&self) -> Vec<(usize, String)> {
        let mut words = Vec::new();
        let mut current: Option<(usize, String)> = None;
        for (i, &c) in self.chars.iter().enumerate() {
            if c.is_whitespace() {
                words.extend(current.take());
            } else {
                current.get_or_insert_with(|| (i, String::new())).1.push(c);
            }
        }
        words.extend(current);
        words
    }
}

/// Splits the text into logical instructions, skipping comments, empty
/// lines and heredoc bodies.
fn instructions(text: &str, escape: char) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut heredocs: Vec<String> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if let Some(end) = heredocs.first() {
            if raw.trim_start_matches('\t') == end {
                heredocs.remove(0);
            }
            continue;
        }
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            // Comments and empty lines neither start nor end an instruction.
            continue;
        }
        let indent = raw.chars().count() - trimmed.chars().count();
        let logical = current.get_or_insert_with(|| Logical { chars: Vec::new(), segments: Vec::new() });
        let content = trimmed.trim_end();
        let (content, continues) = match content.strip_suffix(escape) {
            Some(rest) => (rest, true),
            None => (content, false),
        };
        if !logical.chars.is_empty() {
            logical.chars.push(' ');
        }
        logical.segments.push(Segment {
            offset: logical.chars.len(),
            line,
            column: u32::try_from(indent + 1).unwrap_or(u32::MAX),
        });
        logical.chars.extend(content.chars());
        if !continues && let Some(done) = current.take() {
            heredocs.extend(heredoc_terminators(&done));
            out.push(done);
        }
    }
    out.extend(current);
    out
}

/// The terminators of the heredocs a `RUN`, `COPY` or `ADD` opens (`<<EOF`, `<<-"EOF"`).
fn heredoc_terminators(logical: &Logical) -> Vec<String> {
    let words = logical.words();
    let is_heredoc_instruction =
        words.first().is_some_and(|(_, w)| ["RUN", "COPY", "ADD"].iter().any(|i| w.eq_ignore_ascii_case(i)));
    if !is_heredoc_instruction {
        return Vec::new();
    }
    words
        .iter()
        .skip(1)
        .filter_map(|(_, w)| {
            let rest = w.strip_prefix("<<")?;
            let rest = rest.strip_prefix('-').unwrap_or(rest);
            let name = rest.trim_matches(['"', '\'']);
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| name.to_owned())
        })
        .collect()
}

/// What a variable is known as: declared with a value, declared without one.
type Args = HashMap<String, Option<String>>;

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}`
/// (and their forms without `:`); `Err` names a variable with no value.
pub fn substitute(text: &str, args: &Args, escape: char) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == escape && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        let (name, modifier, word, next) = if chars.get(i + 1) == Some(&'{') {
            let Some(close) = chars[i + 2..].iter().position(|&c| c == '}').map(|p| p + i + 2) else {
                return Err(chars[i..].iter().collect());
            };
            let inner: String = chars[i + 2..close].iter().collect();
            let name_end =
                inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
            let (name, rest) = inner.split_at(name_end);
            let (modifier, word) = ["+", "-", ":+", ":-"]
                .iter()
                .rev()
                .find_map(|m| rest.strip_prefix(m).map(|w| (Some(*m), w.to_owned())))
                .unwrap_or((None, String::new()));
            if name.is_empty() || (modifier.is_none() && !rest.is_empty()) {
                return Err(format!("${{{inner}}}"));
            }
            (name.to_owned(), modifier, word, close + 1)
        } else {
            let len = chars[i + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').count();
            if len == 0 {
                out.push('$');
                i += 1;
                continue;
            }
            (chars[i + 1..i + 1 + len].iter().collect(), None, String::new(), i + 1 + len)
        };
        let value = args.get(&name).cloned().flatten();
        let set = value.as_ref().is_some_and(|v| !v.is_empty());
        match (modifier, value) {
            (Some(":-"), _) if !set => out.push_str(&word),
            (Some("-"), None) => out.push_str(&word),
            (Some(":+"), _) => out.push_str(if set { &word } else { "" }),
            (Some("+"), v) => out.push_str(if v.is_some() { &word } else { "" }),
            (_, Some(v)) => out.push_str(&v),
            (_, None) => return Err(name),
        }
        i = next;
    }
    Ok(out)
}

/// Parses `NAME=value` / `NAME` words of an `ARG` into `args`.
fn declare(words: &[(usize, String)], args: &mut Args, escape: char) {
    for (_, word) in words {
        match word.split_once('=') {
            Some((name, value)) => {
                let unquoted = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                let resolved = substitute(unquoted, args, escape).ok();
                args.insert(name.to_owned(), resolved);
            }
            None => {
                args.entry(word.clone()).or_insert(None);
            }
        }
    }
}

/// The escape character: `` ` `` when the parser directives at the top say
/// `# escape=``, else `\\`.
fn escape_char(text: &str) -> char {
    let directives = text.lines().map_while(|l| l.trim_start().strip_prefix('#'));
    let backtick = directives
        .filter_map(|d| d.split_once('='))
        .any(|(key, value)| key.trim().eq_ignore_ascii_case("escape") && value.trim() == "`");
    if backtick { '`' } else { '\\' }
}

/// Finds the image references of a Dockerfile.
pub fn parse(text: &str) -> Vec<Finding> {
    let escape = escape_char(text);
    let mut findings = Vec::new();
    let mut global: Args = HashMap::new();
    let mut stage_args: Args = HashMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = false;
    for logical in instructions(text, escape) {
        let words = logical.words();
        let Some((_, instruction)) = words.first() else { continue };
        let instruction = instruction.to_ascii_uppercase();
        match instruction.as_str() {
            "ARG" if !seen_from => declare(&words[1..], &mut global, escape),
            "ARG" => declare(&words[1..], &mut stage_args, escape),
            "FROM" => {
                seen_from = true;
                stage_args.clear();
                let rest: Vec<&(usize, String)> =
                    words[1..].iter().skip_while(|(_, w)| w.starts_with("--")).collect();
                let Some((offset, written)) = rest.first() else {
                    let (line, column) = logical.position(0);
                    findings.push(Finding::Malformed {
                        line,
                        column,
                        message: "FROM without an image".to_owned(),
                    });
                    continue;
                };
                let (line, column) = logical.position(*offset);
                let alias = match rest.get(1..).unwrap_or_default() {
                    [] => None,
                    [(_, as_kw), (_, name)] if as_kw.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => {
                        findings.push(Finding::Malformed {
                            line,
                            column,
                            message: "FROM takes an image and optionally `AS <name>`".to_owned(),
                        });
                        continue;
                    }
                };
                let found = Found { text: written.clone(), line, column, context: "FROM".to_owned() };
                match substitute(written, &global, escape) {
                    Err(variable) => findings.push(Finding::Unresolved { found, variable }),
                    Ok(image) => {
                        let lower = image.to_ascii_lowercase();
                        if lower != "scratch" && !stages.contains(&lower) {
                            findings.push(Finding::Image(Found { text: image, ..found }));
                        }
                    }
                }
                stages.extend(alias);
            }
            "COPY" => {
                let flags = words[1..].iter().take_while(|(_, w)| w.starts_with("--"));
                for (offset, word) in flags {
                    let Some(value) = word.strip_prefix("--from=") else { continue };
                    let (line, column) = logical.position(offset + "--from=".len());
                    let found =
                        Found { text: value.to_owned(), line, column, context: "COPY --from".to_owned() };
                    let mut args = global.clone();
                    args.extend(stage_args.iter().map(|(k, v)| (k.clone(), v.clone())));
                    let source = match substitute(value, &args, escape) {
                        Ok(source) => source,
                        Err(variable) => {
                            findings.push(Finding::Unresolved { found, variable });
                            continue;
                        }
                    };
                    let lower = source.to_ascii_lowercase();
                    let is_index = !source.is_empty() && source.bytes().all(|b| b.is_ascii_digit());
                    if !is_index && !stages.contains(&lower) {
                        findings.push(Finding::Image(Found { text: source, ..found }));
                    }
                }
            }
            _ => {}
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Option<&str>)]) -> Args {
        pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned))).collect()
    }

    #[test]
    fn substitution_forms() {
        let a = args(&[("A", Some("x")), ("E", Some("")), ("N", None)]);
        let cases = [
            ("$A", Ok("x")),
            ("${A}:1", Ok("x:1")),
            ("${N:-d}", Ok("d")),
            ("${E:-d}", Ok("d")),
            ("${A:-d}", Ok("x")),
            ("${A:+w}", Ok("w")),
            ("${N:+w}", Ok("")),
            ("${U-d}", Ok("d")),
            ("\\$A", Ok("$A")),
            ("a$", Ok("a$")),
            ("$N", Err("N")),
            ("${U}", Err("U")),
            ("${A", Err("${A")),
        ];
        for (text, want) in cases {
            assert_eq!(substitute(text, &a, '\\'), want.map(str::to_owned).map_err(str::to_owned), "{text}");
        }
    }
}

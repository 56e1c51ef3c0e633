//! Parser directives (`# syntax=`, `# escape=`, `# check=`), read by
//! BuildKit's rules (`frontend/dockerfile/parser/directives.go`).
//!
//! Directives are only recognised in an unbroken run of lines at the very top
//! of the file: the first line that is not `#key=value` with a known key ends
//! the run, and so does an instruction, an empty line or any other comment.
//! A directive later in the file is an ordinary comment. Each directive may
//! appear once.
//!
//! The image BuildKit pulls to parse the file is found the way
//! `DetectSyntax` finds it: a byte-order mark and a first `#!` line are
//! skipped, the `#` must be the first character of its line, the image is
//! the first space-separated word of the value; without a `# syntax=`,
//! `// syntax=` lines and a JSON object's `"syntax"` are accepted too.

use std::collections::HashSet;

use crate::scan::{Finding, Found};

/// The directive keys BuildKit knows; any other key ends the directives.
const KEYS: &[&str] = &["syntax", "escape", "check"];

/// One directive, its key lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// `syntax`, `escape` or `check`.
    pub name: String,
    /// The value, trimmed as BuildKit trims it.
    pub value: String,
    /// Character offset of the value in the text given to [`Parser::line`].
    pub value_offset: usize,
}

/// BuildKit's `DirectiveParser`: lines are fed in order until it is done.
#[derive(Debug)]
pub(crate) struct Parser {
    prefix: &'static str,
    seen: HashSet<String>,
    done: bool,
}

/// A directive given twice: BuildKit refuses the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// The directive's key.
    pub name: String,
}

impl Parser {
    /// A parser of directives written after `prefix` (`#`, or `//`).
    pub fn new(prefix: &'static str) -> Self {
        Self { prefix, seen: HashSet::new(), done: false }
    }

    /// The directive on this line, if the run of directives is still going.
    pub fn line(&mut self, text: &str) -> Result<Option<Directive>, Duplicate> {
        if self.done {
            return Ok(None);
        }
        let Some(rest) = text.strip_prefix(self.prefix) else {
            self.done = true;
            return Ok(None);
        };
        let trimmed = rest.trim_start_matches(is_go_space);
        let skipped = text.chars().count() - trimmed.chars().count();
        let Some((name, value, offset)) = match_directive(trimmed) else {
            self.done = true;
            return Ok(None);
        };
        let name = name.to_ascii_lowercase();
        if !KEYS.contains(&name.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if !self.seen.insert(name.clone()) {
            return Err(Duplicate { name });
        }
        Ok(Some(Directive { name, value, value_offset: skipped + offset }))
    }
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's regexp `\s`: `[\t\n\f\r ]`.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`: the key, the value and the
/// value's character offset.
fn match_directive(text: &str) -> Option<(&str, String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    if !chars.first()?.is_ascii_alphabetic() {
        return None;
    }
    let key_len = chars.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let mut i = key_len;
    while chars.get(i).is_some_and(|&c| is_re_space(c)) {
        i += 1;
    }
    if chars.get(i) != Some(&'=') {
        return None;
    }
    i += 1;
    let rest = &chars[i..];
    if rest.is_empty() || rest.contains(&'\n') {
        return None;
    }
    // Greedy `\s*`, then at least one character, then trailing `\s*`.
    let (start, end) = match rest.iter().position(|&c| !is_re_space(c)) {
        Some(first) => {
            let last = rest.iter().rposition(|&c| !is_re_space(c)).unwrap_or(first);
            (first, last + 1)
        }
        // Only white space: `.+?` takes the last character.
        None => (rest.len() - 1, rest.len()),
    };
    let value: String = rest[start..end].iter().collect();
    let key = &text[..key_len];
    Some((key, value, i + start))
}

/// The image BuildKit pulls to parse this Dockerfile (`# syntax=`), and any
/// problem with the directives at the top; positions are 1-based.
pub(crate) fn syntax(text: &str) -> Vec<Finding> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (body, first_line) = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => (rest, 2u32),
        None if text.starts_with("#!") => ("", 2),
        _ => (text, 1),
    };
    for (prefix, context) in [("#", "# syntax"), ("//", "// syntax")] {
        let mut parser = Parser::new(prefix);
        for (index, line) in scan_lines(body).enumerate() {
            let number = first_line.saturating_add(u32::try_from(index).unwrap_or(u32::MAX));
            // A repeated directive stops BuildKit's search; what was found before stands.
            let Ok(found) = parser.line(line) else { break };
            if parser.done {
                break;
            }
            let Some(directive) = found else { continue };
            if directive.name != "syntax" {
                continue;
            }
            let image = directive.value.split(' ').next().unwrap_or_default().to_owned();
            let column = u32::try_from(directive.value_offset + 1).unwrap_or(u32::MAX);
            return vec![image_finding(image, number, column, context)];
        }
    }
    // A JSON object with a "syntax" string.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body)
        && let Some(serde_json::Value::String(image)) = map.get("syntax")
    {
        return vec![image_finding(image.clone(), first_line, 1, "syntax (JSON)")];
    }
    Vec::new()
}

fn image_finding(image: String, line: u32, column: u32, context: &str) -> Finding {
    let found = Found { text: image, line, column, context: context.to_owned() };
    if found.text.is_empty() {
        return Finding::Malformed {
            line,
            column,
            message: format!("`{context}` names no image: BuildKit cannot load the frontend"),
        };
    }
    Finding::Image(found)
}

/// Go's `bufio.ScanLines`: lines without `\n` and one trailing `\r`.
fn scan_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n').map(|l| {
        let l = l.strip_suffix('\n').unwrap_or(l);
        l.strip_suffix('\r').unwrap_or(l)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<(String, String, usize)> {
        match_directive(text).map(|(k, v, o)| (k.to_owned(), v, o))
    }

    #[test]
    fn directive_grammar() {
        assert_eq!(value("syntax=a b "), Some(("syntax".into(), "a b".into(), 7)));
        assert_eq!(value("Syntax \t= \tx"), Some(("Syntax".into(), "x".into(), 11)));
        assert_eq!(value("escape= "), Some(("escape".into(), " ".into(), 7)));
        assert_eq!(value("escape="), None);
        assert_eq!(value("1x=y"), None);
        assert_eq!(value("syntax-x=y"), None);
        assert_eq!(value("FROM evil"), None);
    }

    #[test]
    fn parser_stops_at_the_first_other_line() {
        let mut p = Parser::new("#");
        assert_eq!(p.line("# syntax=a").unwrap().unwrap().value, "a");
        assert_eq!(p.line("#check=skip=all").unwrap().unwrap().name, "check");
        assert_eq!(p.line("# SYNTAX=b"), Err(Duplicate { name: "syntax".into() }));
        assert_eq!(p.line("# unknown=1").unwrap(), None);
        assert_eq!(p.line("# escape=`").unwrap(), None);
    }

    fn images(text: &str) -> Vec<String> {
        syntax(text)
            .into_iter()
            .map(|f| match f {
                Finding::Image(f) => format!("{}@{}:{} {}", f.text, f.line, f.column, f.context),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn syntax_detection() {
        assert_eq!(images("# syntax=docker/dockerfile:1\nFROM a\n"), ["docker/dockerfile:1@1:10 # syntax"]);
        assert_eq!(images("\u{feff}#!/bin/x\n#syntax = x y\n"), ["x@2:11 # syntax"]);
        assert_eq!(images("# escape=`\n# syntax=a\n# syntax=b\n"), ["a@2:10 # syntax"]);
        assert!(images("FROM a\n# syntax=x\n").is_empty());
        assert!(images("# comment\n# syntax=x\n").is_empty());
        assert!(images("\n# syntax=x\n").is_empty());
        assert!(images("  # syntax=x\n").is_empty());
        assert_eq!(images("// syntax=x\nFROM a\n"), ["x@1:11 // syntax"]);
        assert_eq!(images("{\"syntax\": \"x\"}"), ["x@1:1 syntax (JSON)"]);
    }
}

//! A Dockerfile's lines joined into instructions the way BuildKit's parser
//! joins them (`frontend/dockerfile/parser/parser.go`).
//!
//! - The parser directives at the top set the escape character; a repeated
//!   directive or an escape other than `\` and `` ` `` is an error.
//! - A line ending in the escape character continues on the next line; the
//!   pieces are joined as written, without a space. Comment lines and blank
//!   lines inside a continuation are skipped.
//! - `RUN`, `COPY` and `ADD` (also after `ONBUILD`, not in JSON form) may open
//!   heredocs; their bodies are not instructions. An unterminated heredoc is
//!   an error.
//! - A line longer than BuildKit's 65,535-byte limit is an error, and so is
//!   a file without instructions.
//!
//! Every error stops the reading here, as it stops BuildKit.

use super::directives::{self, is_go_space};
use super::words::{self, split_command};

/// The longest line BuildKit reads, in bytes, counting its line feed (Go's
/// `bufio.MaxScanTokenSize`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Where a piece of an instruction starts in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Offset of the piece's first character in the instruction.
    offset: usize,
    /// 1-based line.
    line: u32,
    /// 1-based column of the piece's first character.
    column: u32,
}

/// One instruction, its continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Instruction {
    /// The text, joined as BuildKit joins it.
    pub chars: Vec<char>,
    segments: Vec<Segment>,
}

impl Instruction {
    /// The 1-based line and column of the character at `offset`.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        // Segments are in offset order: the last one starting at or before `offset`.
        let after = self.segments.partition_point(|s| s.offset <= offset);
        match after.checked_sub(1).and_then(|i| self.segments.get(i)) {
            Some(s) => {
                let delta = u32::try_from(offset - s.offset).unwrap_or(u32::MAX);
                (s.line, s.column.saturating_add(delta))
            }
            None => (1, 1),
        }
    }

    fn push(&mut self, text: &str, line: u32, column: u32) {
        self.segments.push(Segment { offset: self.chars.len(), line, column });
        self.chars.extend(text.chars());
    }
}

/// Why BuildKit refuses the file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Whether the reading stopped there, leaving the rest of the file unread.
    pub stopped: bool,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// The instructions read, the escape character, and the error that stopped
/// the reading, if one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    /// Instructions, in file order.
    pub instructions: Vec<Instruction>,
    /// `\` or `` ` ``.
    pub escape: char,
    /// Why BuildKit would refuse the file.
    pub problem: Option<Problem>,
}

/// Go's `bytes.TrimRight(line, "\r\n")`.
fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start_matches(is_go_space).starts_with('#')
}

/// `([^E])E[ \t]*$|^E[ \t]*$` replaced by `$1`: the text without the
/// continuation character, and whether the instruction ends here.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else { return (line, true) };
    match before.chars().next_back() {
        None => ("", false),
        Some(c) if c != escape => (before, false),
        Some(_) => (line, true),
    }
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn column_after(skipped: &str) -> u32 {
    u32::try_from(skipped.chars().count() + 1).unwrap_or(u32::MAX)
}

/// Reads `text` into instructions.
pub(crate) fn read(text: &str) -> Read {
    let mut out = Read { instructions: Vec::new(), escape: '\\', problem: None };
    let mut directives = directives::Parser::new("#");
    let mut lines = text.split_inclusive('\n').enumerate();
    let too_long = |index: usize, line: &str| {
        (line.len() > MAX_LINE_BYTES).then(|| Problem {
            stopped: true,
            line: line_number(index),
            column: 1,
            message: format!(
                "line of {} bytes: BuildKit refuses a Dockerfile line longer than {} bytes",
                line.trim_end_matches('\n').len(),
                MAX_LINE_BYTES - 1
            ),
        })
    };
    while let Some((index, line)) = lines.next() {
        if let Some(problem) = too_long(index, line) {
            out.problem = Some(problem);
            return out;
        }
        let number = line_number(index);
        let mut raw = trim_newline(line);
        if index == 0 {
            raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        }
        let processed = raw.trim_start_matches(is_go_space);
        let indent = &raw[..raw.len() - processed.len()];
        match directives.line(processed) {
            Err(duplicate) => {
                out.problem = Some(Problem {
                    stopped: true,
                    line: number,
                    column: column_after(indent),
                    message: format!("only one {} parser directive can be used", duplicate.name),
                });
                return out;
            }
            Ok(Some(directive)) if directive.name == "escape" => match directive.value.as_str() {
                "\\" => out.escape = '\\',
                "`" => out.escape = '`',
                other => {
                    let column = u32::try_from(indent.chars().count() + directive.value_offset + 1);
                    out.problem = Some(Problem {
                        stopped: true,
                        line: number,
                        column: column.unwrap_or(u32::MAX),
                        message: format!("invalid escape token '{other}' does not match ` or \\"),
                    });
                    return out;
                }
            },
            Ok(_) => {}
        }
        if is_comment(processed) {
            continue;
        }
        let (content, mut ended) = trim_continuation(processed, out.escape);
        if ended && content.is_empty() {
            continue;
        }
        let mut instruction = Instruction::default();
        instruction.push(content, number, column_after(indent));
        while !ended {
            let Some((index, line)) = lines.next() else { break };
            if let Some(problem) = too_long(index, line) {
                out.problem = Some(problem);
                return out;
            }
            let raw = trim_newline(line);
            if is_comment(raw) || raw.trim_start_matches(is_go_space).is_empty() {
                continue;
            }
            let (content, end) = trim_continuation(raw, out.escape);
            instruction.push(content, line_number(index), 1);
            ended = end;
        }
        let docs = heredocs(&instruction, out.escape);
        let start = instruction.position(0);
        out.instructions.push(instruction);
        for (name, chomp) in docs {
            let mut terminated = false;
            for (index, line) in lines.by_ref() {
                if let Some(problem) = too_long(index, line) {
                    out.problem = Some(problem);
                    return out;
                }
                let candidate = trim_newline(line);
                let candidate = if chomp { candidate.trim_start_matches('\t') } else { candidate };
                if candidate == name {
                    terminated = true;
                    break;
                }
            }
            if !terminated {
                out.problem = Some(Problem {
                    stopped: false,
                    line: start.0,
                    column: start.1,
                    message: format!("unterminated heredoc: no line `{name}` ends it"),
                });
                return out;
            }
        }
    }
    if out.instructions.is_empty() {
        out.problem = Some(Problem {
            stopped: false,
            line: 1,
            column: 1,
            message: "file with no instructions: BuildKit refuses it".to_owned(),
        });
    }
    out
}

/// The heredocs an instruction opens: only `RUN`, `COPY` and `ADD` (also as
/// an `ONBUILD` trigger), not in JSON form, with `<<` in the line.
fn heredocs(instruction: &Instruction, escape: char) -> Vec<(String, bool)> {
    let mut command = split_command(&instruction.chars, 0, escape);
    if command.name.eq_ignore_ascii_case("onbuild") {
        command = split_command(&instruction.chars, command.args_offset, escape);
    }
    let may = ["RUN", "COPY", "ADD"].iter().any(|n| command.name.eq_ignore_ascii_case(n));
    let json = command.args.starts_with('[') && serde_json::from_str::<Vec<String>>(&command.args).is_ok();
    let line: String = instruction.chars.iter().collect();
    if !may || json || !line.contains("<<") {
        return Vec::new();
    }
    words::heredocs(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> Vec<String> {
        read(text).instructions.iter().map(|i| i.chars.iter().collect()).collect()
    }

    #[test]
    fn continuations_join_without_a_space() {
        assert_eq!(joined("FROM deb\\\nian\n"), ["FROM debian"]);
        assert_eq!(joined("RUN a \\  \n  # c\n\n  b\n"), ["RUN a   b"]);
        assert_eq!(joined("RUN a \\\\\nFROM b\n"), ["RUN a \\\\", "FROM b"]);
        assert_eq!(joined("RUN a\\\n\\\nb\n"), ["RUN ab"]);
        assert_eq!(joined("# escape=`\nRUN a `\nb\\\nc\n"), ["RUN a b\\", "c"]);
    }

    #[test]
    fn heredocs_are_skipped_and_must_end() {
        assert_eq!(joined("RUN <<-EOF\nFROM x\n\tEOF\nFROM y\n"), ["RUN <<-EOF", "FROM y"]);
        assert_eq!(joined("RUN <<EOF\nFROM x\n\tEOF\nEOF\nFROM y\n"), ["RUN <<EOF", "FROM y"]);
        assert_eq!(joined("ONBUILD RUN <<EOF\nFROM x\nEOF\n"), ["ONBUILD RUN <<EOF"]);
        assert_eq!(joined("RUN [\"<<EOF\"]\nFROM x\n"), ["RUN [\"<<EOF\"]", "FROM x"]);
        let read = read("FROM a\nRUN <<EOF\nFROM x\n");
        assert_eq!(read.problem.unwrap().line, 2);
    }

    #[test]
    fn directive_errors_stop_the_reading() {
        let problem = read("# escape=x\nFROM a\n").problem.unwrap();
        assert_eq!((problem.line, problem.column), (1, 10));
        let problem = read("# syntax=a\n  # SYNTAX=b\nFROM a\n").problem.unwrap();
        assert_eq!(
            (problem.line, problem.column, problem.message.as_str()),
            (2, 3, "only one syntax parser directive can be used")
        );
        assert!(read("\n# escape=x\nFROM a\n").problem.is_none());
        assert_eq!(
            read("# just a comment\n\n").problem.unwrap().message,
            "file with no instructions: BuildKit refuses it"
        );
    }

    #[test]
    fn long_lines_are_refused() {
        let text = format!("FROM a\nRUN {}\n", "x".repeat(MAX_LINE_BYTES));
        let problem = read(&text).problem.unwrap();
        assert_eq!(problem.line, 2);
        let fits = format!("RUN {}\n", "x".repeat(MAX_LINE_BYTES - 5));
        assert!(read(&fits).problem.is_none());
    }
}

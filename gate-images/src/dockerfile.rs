//! Image references in Dockerfiles: every image BuildKit would pull to
//! build the file, or to build an image `FROM` it.
//!
//! The file is read as BuildKit's parser reads it ([`lines`]): parser
//! directives, the escape character, line continuations joined without a
//! space, comments, heredoc bodies skipped, lines of at most 65,535 bytes.
//! Then, as BuildKit's `dockerfile2llb` resolves them:
//!
//! - `# syntax=IMAGE` at the top ([`directives`]): the frontend image.
//! - `FROM IMAGE`: `ARG` defaults declared before the first `FROM` are
//!   substituted; a stage named earlier (exactly, names are lowercase) and
//!   `scratch` are not images.
//! - `COPY --from=X`: a stage index (a decimal number), a stage name (any
//!   stage of the file, any case) and `scratch` are not images; anything else
//!   is. Variables are not expanded there: `$`, quotes or escapes are an error.
//! - `RUN --mount=…,from=X`: a stage name and `scratch` are not images;
//!   anything else is, a number too (mounts take no stage index). A `$` that
//!   is not the last character is an error.
//! - `ONBUILD COPY --from=X` and `ONBUILD RUN --mount=…,from=X`: run by the
//!   builds `FROM` this image, whose stages are not known here, so a name is
//!   judged as an image; a stage index is not an image.
//! - `ADD --from` and `ONBUILD FROM` are errors in BuildKit, and here.
//!
//! Whatever BuildKit would refuse is a [`Finding::Malformed`] at its line and
//! column, never skipped; where the reading stops there (a bad parser
//! directive, an over-long line), a [`Finding::Unreadable`].

mod directives;
mod lines;
mod words;

use std::collections::HashMap;

pub use lines::MAX_LINE_BYTES;

use crate::scan::{Finding, Found};
use lines::Instruction;
use words::{Command, Flag, csv_fields, split_command, split_words};

/// Where an instruction runs: in this build, or as an `ONBUILD` trigger in
/// a build `FROM` this image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Here,
    OnBuild,
}

impl Scope {
    fn prefix(self) -> &'static str {
        match self {
            Scope::Here => "",
            Scope::OnBuild => "ONBUILD ",
        }
    }
}

/// The stages of the file: every name (lowercase) and how many there are.
struct Stages {
    names: Vec<String>,
    count: usize,
}

/// What was found so far.
struct Walk<'a> {
    findings: Vec<Finding>,
    stages: &'a Stages,
}

impl Walk<'_> {
    fn malformed(&mut self, instruction: &Instruction, offset: usize, message: impl Into<String>) {
        let (line, column) = instruction.position(offset);
        self.findings.push(Finding::Malformed { line, column, message: message.into() });
    }

    /// A `from` value that is not a stage index: an image unless it names a
    /// stage of this file (only for [`Scope::Here`]) or is `scratch`.
    fn source(&mut self, value: &str, scope: Scope, found: Found) {
        if scope == Scope::Here && self.stages.names.contains(&value.to_lowercase()) {
            return;
        }
        if value != "scratch" {
            self.findings.push(Finding::Image(found));
        }
    }

    /// `COPY --from=X`.
    fn copy(&mut self, instruction: &Instruction, command: &Command, scope: Scope, escape: char) {
        let froms: Vec<&Flag> = command.flags.iter().filter(|f| f.name == "from").collect();
        if let Some(second) = froms.get(1) {
            self.malformed(instruction, second.offset, "duplicate flag specified: --from");
            return;
        }
        let Some(flag) = froms.first() else { return };
        let Some(value) = &flag.value else {
            self.malformed(instruction, flag.offset, "missing a value on flag: --from");
            return;
        };
        if value.is_empty() {
            return;
        }
        let offset = flag.value_offsets[0];
        if expands(value, escape) {
            self.malformed(
                instruction,
                offset,
                format!(
                    "`--from={value}`: variable expansion is not supported for --from; define a stage with FROM using an ARG from the global scope instead"
                ),
            );
            return;
        }
        if let Ok(index) = value.parse::<i64>() {
            let count = i64::try_from(self.stages.count).unwrap_or(i64::MAX);
            let valid = match scope {
                Scope::Here => (0..count).contains(&index),
                Scope::OnBuild => index >= 0,
            };
            if !valid {
                let stages = match scope {
                    Scope::Here => format!("the file has {count} stage(s)"),
                    Scope::OnBuild => "stages count from 0".to_owned(),
                };
                self.malformed(instruction, offset, format!("invalid stage index {index}: {stages}"));
            }
            return;
        }
        let (line, column) = instruction.position(offset);
        let context = format!("{}COPY --from", scope.prefix());
        self.source(value, scope, Found { text: value.clone(), line, column, context });
    }

    /// `RUN --mount=…,from=X`, for each `--mount`.
    fn mounts(&mut self, instruction: &Instruction, command: &Command, scope: Scope) {
        'mounts: for flag in command.flags.iter().filter(|f| f.name == "mount") {
            let Some(value) = &flag.value else {
                self.malformed(instruction, flag.offset, "missing a value on flag: --mount");
                continue;
            };
            let chars: Vec<char> = value.chars().collect();
            let fields = match csv_fields(&chars) {
                Ok(fields) => fields,
                Err(e) => {
                    let at = flag.value_offsets[e.at.min(chars.len())];
                    self.malformed(instruction, at, format!("failed to parse csv mounts: {}", e.message));
                    continue;
                }
            };
            let mut from: Option<(&str, usize)> = None;
            for field in &fields {
                let Some((key, text)) = field.text.split_once('=') else { continue };
                if key.to_lowercase() != "from" {
                    continue;
                }
                let start = key.chars().count() + 1;
                let at = field.offsets.get(start).map_or(flag.offset, |&i| flag.value_offsets[i]);
                if text.find('$').is_some_and(|i| i + 1 != text.len()) {
                    self.malformed(
                        instruction,
                        at,
                        format!("`from={text}`: 'from' doesn't support variable expansion, define alias stage instead"),
                    );
                    continue 'mounts;
                }
                from = Some((text, at));
            }
            let Some((text, at)) = from.filter(|(text, _)| !text.is_empty()) else { continue };
            let (line, column) = instruction.position(at);
            let context = format!("{}RUN --mount", scope.prefix());
            self.source(text, scope, Found { text: text.to_owned(), line, column, context });
        }
    }

    /// `ADD --from`: BuildKit knows no such flag.
    fn add(&mut self, instruction: &Instruction, command: &Command) {
        for flag in command.flags.iter().filter(|f| f.name == "from") {
            self.malformed(
                instruction,
                flag.offset,
                "ADD has no --from flag (BuildKit: unknown flag: --from); copy from an image or stage with COPY --from",
            );
        }
    }

    /// `ONBUILD <trigger>`: the trigger is parsed again, with the default
    /// escape character, by each build `FROM` this image.
    fn onbuild(&mut self, instruction: &Instruction, command: &Command) {
        if let Some(flag) = command.flags.first() {
            self.malformed(
                instruction,
                flag.offset,
                format!("unknown flag: --{} (ONBUILD takes none)", flag.name),
            );
            return;
        }
        let trigger = split_command(&instruction.chars, command.args_offset, '\\');
        let at = command.args_offset;
        match trigger.name.to_ascii_uppercase().as_str() {
            "" => self.malformed(instruction, 0, "ONBUILD requires at least one argument"),
            "ONBUILD" => {
                self.malformed(instruction, at, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
            }
            name @ ("FROM" | "MAINTAINER") => {
                self.malformed(instruction, at, format!("{name} isn't allowed as an ONBUILD trigger"));
            }
            "COPY" => self.copy(instruction, &trigger, Scope::OnBuild, '\\'),
            "RUN" => self.mounts(instruction, &trigger, Scope::OnBuild),
            "ADD" => self.add(instruction, &trigger),
            _ => {}
        }
    }
}

/// Whether BuildKit's word processing would change `value` (a variable,
/// quotes or the escape character): `COPY --from` refuses it then.
fn expands(value: &str, escape: char) -> bool {
    let chars: Vec<char> = value.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| match c {
        '\'' | '"' => true,
        '$' => chars.get(i + 1).is_some_and(|&n| {
            n == '{'
                || n == '_'
                || n.is_alphanumeric()
                || matches!(n, '@' | '*' | '#' | '?' | '-' | '$' | '!')
        }),
        c => c == escape,
    })
}

/// `^[a-z][a-z0-9-_.]*$`, BuildKit's rule for a stage name (lowercased).
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// The stage names of every `FROM … AS name` and the number of stages.
fn stages(instructions: &[Instruction], escape: char) -> Stages {
    let mut stages = Stages { names: Vec::new(), count: 0 };
    for instruction in instructions {
        let command = split_command(&instruction.chars, 0, escape);
        if !command.name.eq_ignore_ascii_case("from") {
            continue;
        }
        stages.count += 1;
        if let [_, (_, as_kw), (_, name)] = split_words(&instruction.chars, command.args_offset).as_slice()
            && as_kw.eq_ignore_ascii_case("as")
        {
            stages.names.push(name.to_lowercase());
        }
    }
    stages
}

/// Where a finding is, to sort findings in file order.
fn position(finding: &Finding) -> (u32, u32) {
    match finding {
        Finding::Image(found) | Finding::Unresolved { found, .. } => (found.line, found.column),
        Finding::Malformed { line, column, .. } | Finding::Unreadable { line, column, .. } => {
            (*line, *column)
        }
    }
}

/// Finds the image references of a Dockerfile, in file order.
pub fn parse(text: &str) -> Vec<Finding> {
    let read = lines::read(text);
    let escape = read.escape;
    let stages = stages(&read.instructions, escape);
    let mut walk = Walk { findings: directives::syntax(text), stages: &stages };
    if let Some(problem) = read.problem {
        let lines::Problem { stopped, line, column, message } = problem;
        walk.findings.push(match stopped {
            true => Finding::Unreadable { line, column, message },
            false => Finding::Malformed { line, column, message },
        });
    }
    let mut global: Args = HashMap::new();
    let mut earlier: Vec<String> = Vec::new();
    let mut seen_from = false;
    for instruction in &read.instructions {
        let command = split_command(&instruction.chars, 0, escape);
        match command.name.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => {
                declare(&split_words(&instruction.chars, command.args_offset), &mut global, escape);
            }
            "FROM" => {
                seen_from = true;
                from(&mut walk, instruction, &command, &global, &mut earlier, escape);
            }
            "COPY" => walk.copy(instruction, &command, Scope::Here, escape),
            "RUN" => walk.mounts(instruction, &command, Scope::Here),
            "ADD" => walk.add(instruction, &command),
            "ONBUILD" => walk.onbuild(instruction, &command),
            _ => {}
        }
    }
    let mut findings = walk.findings;
    findings.sort_by_key(position);
    findings
}

/// `FROM [--platform=…] IMAGE [AS name]`.
fn from(
    walk: &mut Walk<'_>,
    instruction: &Instruction,
    command: &Command,
    global: &Args,
    earlier: &mut Vec<String>,
    escape: char,
) {
    let mut platform = false;
    for flag in &command.flags {
        let problem = match (flag.name.as_str(), &flag.value) {
            ("platform", Some(_)) if !platform => None,
            ("platform", Some(_)) => Some("duplicate flag specified: --platform".to_owned()),
            ("platform", None) => Some("missing a value on flag: --platform".to_owned()),
            (other, _) => Some(format!("unknown flag: --{other} (FROM takes only --platform)")),
        };
        platform |= flag.name == "platform";
        if let Some(problem) = problem {
            walk.malformed(instruction, flag.offset, problem);
            return;
        }
    }
    let args = split_words(&instruction.chars, command.args_offset);
    let (offset, written, alias) = match args.as_slice() {
        [] => {
            walk.malformed(instruction, 0, "FROM without an image");
            return;
        }
        [(offset, image)] => (*offset, image, None),
        [(offset, image), (_, as_kw), (name_at, name)] if as_kw.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !valid_stage_name(&lower) {
                walk.malformed(
                    instruction,
                    *name_at,
                    format!("invalid name for build stage: \"{name}\", name can't start with a number or contain symbols"),
                );
                return;
            }
            (*offset, image, Some(lower))
        }
        [(offset, _), ..] => {
            walk.malformed(
                instruction,
                *offset,
                "FROM takes an image and optionally `AS <name>` (BuildKit: FROM requires either one or three arguments)",
            );
            return;
        }
    };
    let (line, column) = instruction.position(offset);
    let found = Found { text: written.clone(), line, column, context: "FROM".to_owned() };
    match substitute(written, global, escape) {
        Err(Unresolved(variable)) => walk.findings.push(Finding::Unresolved { found, variable }),
        Ok(image) if image.is_empty() => {
            walk.malformed(instruction, offset, format!("base name ({written}) should not be blank"));
        }
        Ok(image) => {
            if image != "scratch" && !earlier.contains(&image) {
                walk.findings.push(Finding::Image(Found { text: image, ..found }));
            }
        }
    }
    earlier.extend(alias);
}

/// What a variable is known as: declared with a value, declared without one.
type Args = HashMap<String, Option<String>>;

/// A variable that [`substitute`] found no value for, as written
/// (`$NAME`, `${NAME}`, or the rest of the text after a `$` it cannot read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no value for {0}")]
pub struct Unresolved(pub String);

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}`
/// (and their forms without `:`); `Err` names a variable with no value.
pub fn substitute(text: &str, args: &Args, escape: char) -> Result<String, Unresolved> {
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
                return Err(Unresolved(chars[i..].iter().collect()));
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
                return Err(Unresolved(format!("${{{inner}}}")));
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
            (_, None) => return Err(Unresolved(name)),
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
            assert_eq!(
                substitute(text, &a, '\\').map_err(|e| e.0),
                want.map(str::to_owned).map_err(str::to_owned),
                "{text}"
            );
        }
    }
}

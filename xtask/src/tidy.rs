//! `cargo xtask tidy`: the repository's hygiene, checked in a second or
//! so (as rust-analyzer's `tidy.rs`). It also runs as a test, so
//! `cargo test --workspace` fails when it does.
//!
//! Rules over the library crates (`src/` of every crate but xtask), on
//! their production code (what comes before the `#[cfg(test)] mod … {`):
//! - no file over [`MAX_LINES`] lines;
//! - no `Result<_, String>`: libraries return `thiserror` errors;
//! - no test helper module (`testing`, `test_*`, `fake*`, `mock*`) compiled
//!   into production code (the test-support crate is exempt: it is one);
//! - outside gate-core, no item built by a raw `Item::new(`, `pass(`,
//!   `fail(`, `warn(`, `error(` or `skipped(`: a gate builds its items
//!   through its check catalogue (`gate_core::check_catalogue!`), which
//!   names only declared checks.
//!
//! Rules over every file of the repository (tracked, or new and not
//! ignored):
//! - no machine-specific absolute path (under `/root`, `/home`, `/work`);
//! - no `todo!`, `unimplemented!`, `#[ignore]` or `assert!(true)` in Rust;
//! - the docs in step with the command lines ([`docs`]).
//!
//! The first five are ratchets: [`RATCHET`] lists today's offenders, each
//! with a count (lines, signatures, occurrences). A file not listed, or
//! over its count, fails; one under its count, or clean, is reported so
//! that the list is tightened (`cargo xtask tidy --tighten` rewrites it).
//!
//! Test support is dev-only, without a ratchet ([`dev_only`]): no
//! `pub mod testing` and no ungated `pub fn` of a `testing` or
//! `test_support` module in production code, and the test-support crate
//! under no manifest's `[dependencies]`.

mod dev_only;
mod docs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::flags;

/// The most lines of production code a library file may have.
pub const MAX_LINES: usize = 800;
/// The ratchet: known offenders, relative to the workspace.
pub const RATCHET: &str = "xtask/tidy-ratchet.txt";

/// A rule whose offenders the ratchet lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// Production lines over [`MAX_LINES`]; counts lines.
    LongFile,
    /// `Result<_, String>` in a library; counts them.
    ResultString,
    /// A test helper module compiled into production; counts declarations.
    TestHelper,
    /// Machine-specific absolute paths; counts them.
    MachinePath,
    /// Items built with a raw `Item::` constructor outside gate-core; counts calls.
    RawItem,
}

impl Rule {
    const ALL: [Rule; 5] =
        [Rule::LongFile, Rule::ResultString, Rule::TestHelper, Rule::MachinePath, Rule::RawItem];

    /// The rule's name in the ratchet file.
    fn name(self) -> &'static str {
        match self {
            Rule::LongFile => "long-file",
            Rule::ResultString => "result-string",
            Rule::TestHelper => "test-helper",
            Rule::MachinePath => "machine-path",
            Rule::RawItem => "raw-item",
        }
    }

    /// What an offender does, for messages.
    fn what(self) -> &'static str {
        match self {
            Rule::LongFile => "lines of production code (at most 800)",
            Rule::ResultString => "`Result<_, String>` in a library (use a thiserror type)",
            Rule::TestHelper => "test helper module(s) compiled into production code (make it dev-only)",
            Rule::MachinePath => "machine-specific absolute path(s)",
            Rule::RawItem => {
                "item(s) built with a raw `Item::` constructor (declare the check with `gate_core::check_catalogue!` and build through its enum)"
            }
        }
    }
}

/// Offenders: (rule, path) → count.
pub type Offenders = BTreeMap<(Rule, String), usize>;

/// What tidy found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Failures: each breaks the build.
    pub failures: Vec<String>,
    /// Ratchet entries to tighten; not failures.
    pub improved: Vec<String>,
    /// The offenders found now, for `--tighten`.
    pub offenders: Offenders,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failures {
            writeln!(f, "error: {failure}")?;
        }
        for improvement in &self.improved {
            writeln!(f, "improved: {improvement}")?;
        }
        Ok(())
    }
}

/// Runs `cargo xtask tidy`.
pub fn run(flags: &flags::Tidy) -> Result<()> {
    let workspace = crate::workspace();
    let outcome = check(&workspace)?;
    eprint!("{outcome}");
    if flags.tighten && !outcome.improved.is_empty() {
        let path = workspace.join(RATCHET);
        let old = parse_ratchet(&std::fs::read_to_string(&path)?)?;
        std::fs::write(&path, render_ratchet(&tightened(&old, &outcome.offenders)))?;
        eprintln!("tidy: tightened {RATCHET}");
    } else if !outcome.improved.is_empty() {
        eprintln!("tidy: `cargo xtask tidy --tighten` tightens {RATCHET}");
    }
    if !outcome.failures.is_empty() {
        bail!("{} problem(s)", outcome.failures.len());
    }
    eprintln!("tidy: clean");
    Ok(())
}

/// Checks the workspace at `root`.
pub fn check(root: &Path) -> Result<Outcome> {
    let files = files(root)?;
    let mut outcome = Outcome::default();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(root.join(path)) else {
            continue; // binary, or gone since it was listed
        };
        if path == RATCHET {
            continue;
        }
        let count = machine_paths(&text);
        if count > 0 {
            outcome.offenders.insert((Rule::MachinePath, path.clone()), count);
        }
        if !path.ends_with(".rs") {
            continue;
        }
        for (line, found) in placeholders(&text) {
            outcome.failures.push(format!("{path}:{line}: `{found}`: tests must be able to fail"));
        }
        if !is_library(path) {
            continue;
        }
        let production = production(&text);
        let lines = production.lines().count();
        if lines > MAX_LINES {
            outcome.offenders.insert((Rule::LongFile, path.clone()), lines);
        }
        let count = result_strings(production);
        if count > 0 {
            outcome.offenders.insert((Rule::ResultString, path.clone()), count);
        }
        let count = if path.starts_with("gate-core/") { 0 } else { raw_items(production) };
        if count > 0 {
            outcome.offenders.insert((Rule::RawItem, path.clone()), count);
        }
        if !path.starts_with("test-support/") {
            for module in test_helper_modules(production) {
                let module = module_path(root, path, &module);
                *outcome.offenders.entry((Rule::TestHelper, module)).or_default() += 1;
            }
        }
    }
    outcome.failures.extend(dev_only::check(root, &files));
    let ratchet =
        std::fs::read_to_string(root.join(RATCHET)).with_context(|| format!("cannot read {RATCHET}"))?;
    let allowed = parse_ratchet(&ratchet)?;
    let (failures, improved) = compare(&allowed, &outcome.offenders);
    outcome.failures.extend(failures);
    outcome.improved = improved;
    outcome.failures.extend(docs::check(root)?);
    Ok(outcome)
}

/// The repository's files, relative to `root`: tracked, or new and not
/// ignored (`git ls-files`), else every file outside `target/` and `.git/`.
fn files(root: &Path) -> Result<Vec<String>> {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output();
    if let Some(output) = listed.ok().filter(|o| o.status.success()) {
        let names: BTreeSet<String> = output
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        return Ok(names.into_iter().filter(|name| root.join(name).is_file()).collect());
    }
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let relative = path.strip_prefix(root)?.to_string_lossy().into_owned();
        if matches!(relative.as_str(), "target" | ".git") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, found)?;
        } else {
            found.push(relative);
        }
    }
    Ok(())
}

/// Whether `path` is a Rust file of a library crate: under a `src/` of any
/// crate but xtask.
fn is_library(path: &str) -> bool {
    path.ends_with(".rs") && !path.starts_with("xtask/") && path.split('/').any(|part| part == "src")
}

/// The production part of a Rust file: what comes before its test module
/// (`#[cfg(test)]` then `mod name {`).
pub fn production(text: &str) -> &str {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" && !line.starts_with(char::is_whitespace) {
            let next = lines.peek().map_or("", |l| l.trim());
            let module = next.strip_prefix("pub ").unwrap_or(next);
            if module.starts_with("mod ") && module.ends_with('{') {
                return &text[..offset];
            }
        }
        offset += line.len();
    }
    text
}

/// How many `Result<…, String>` types `code` names.
pub fn result_strings(code: &str) -> usize {
    let mut count = 0;
    let mut rest = code;
    while let Some(at) = rest.find("Result<") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "Result<".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `MyResult<`, `io_Result<`
        }
        // The generic arguments, up to the matching `>`.
        let (mut depth, mut last_comma, mut end) = (1usize, None, None);
        for (i, c) in rest.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                '>' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                ',' if depth == 1 => last_comma = Some(i),
                _ => {}
            }
        }
        if let (Some(comma), Some(end)) = (last_comma, end) {
            let error = rest[comma + 1..end].trim();
            if matches!(error, "String" | "std::string::String" | "alloc::string::String") {
                count += 1;
            }
        }
    }
    count
}

/// How many items `code` builds with a raw `Item::new(`, `pass(`, `fail(`,
/// `warn(`, `error(` or `skipped(` call (`gate_core::Item::…` too; not in
/// `//` comments, not `MyItem::…`).
pub fn raw_items(code: &str) -> usize {
    const CONSTRUCTORS: [&str; 6] = ["new(", "pass(", "fail(", "warn(", "error(", "skipped("];
    let mut count = 0;
    for line in code.lines() {
        let code = line.split("//").next().unwrap_or(line);
        for (at, _) in code.match_indices("Item::") {
            let before = code[..at].chars().next_back();
            let after = &code[at + "Item::".len()..];
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && CONSTRUCTORS.iter().any(|c| after.starts_with(c))
            {
                count += 1;
            }
        }
    }
    count
}

/// The test helper modules `code` declares outside `#[cfg(test)]`.
pub fn test_helper_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut under_cfg_test = false;
    for line in code.lines().map(str::trim) {
        if line.starts_with("#[") {
            under_cfg_test |= line.starts_with("#[cfg(") && line.contains("test");
            continue;
        }
        let declaration =
            line.strip_prefix("pub(crate) ").or_else(|| line.strip_prefix("pub ")).unwrap_or(line);
        if let Some(name) = declaration.strip_prefix("mod ") {
            let name = name.trim_end_matches([';', '{', ' ']);
            let helper = name == "testing"
                || name.starts_with("test_")
                || name.starts_with("testing_")
                || name.starts_with("fake")
                || name.starts_with("mock");
            if helper && !under_cfg_test {
                found.push(name.to_owned());
            }
        }
        if !line.is_empty() && !line.starts_with("//") {
            under_cfg_test = false;
        }
    }
    found
}

/// Where module `name`, declared in `declared_in`, lives: `name.rs` beside
/// a crate root or `mod.rs`, else in the declaring module's directory.
fn module_path(root: &Path, declared_in: &str, name: &str) -> String {
    let (dir, file) = declared_in.rsplit_once('/').unwrap_or(("", declared_in));
    let stem = file.trim_end_matches(".rs");
    let dir = if matches!(file, "lib.rs" | "main.rs" | "mod.rs") {
        dir.to_owned()
    } else {
        format!("{dir}/{stem}")
    };
    let flat = format!("{dir}/{name}.rs");
    if root.join(&flat).exists() { flat } else { format!("{dir}/{name}/mod.rs") }
}

/// How many machine-specific absolute paths `text` has: a path that starts
/// with the directory `root`, `home` or `work` at the file system's root
/// (not `rebuild/work/`, not `~/work/`).
pub fn machine_paths(text: &str) -> usize {
    let roots = ["root", "home", "work"].map(|dir| format!("/{dir}/"));
    let mut count = 0;
    for root in &roots {
        for (at, _) in text.match_indices(root.as_str()) {
            let before = text[..at].chars().next_back();
            if !before
                .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '~' | '$' | '}'))
            {
                count += 1;
            }
        }
    }
    count
}

/// Placeholders that keep a test from failing or code from being finished:
/// (line number, what).
pub fn placeholders(text: &str) -> Vec<(usize, &'static str)> {
    // Spelled in pieces so that this file does not match itself.
    const PATTERNS: [(&str, &str); 4] = [
        (concat!("to", "do!"), concat!("to", "do!")),
        (concat!("unimple", "mented!"), concat!("unimple", "mented!")),
        (concat!("#[", "ignore"), concat!("#[", "ignore]")),
        (concat!("assert!(", "true"), concat!("assert!(", "true)")),
    ];
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or(line);
        for (pattern, what) in PATTERNS {
            let hit = code.match_indices(pattern).any(|(at, _)| {
                !code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && (pattern.starts_with('#')
                        || !code[at + pattern.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
            });
            if hit {
                found.push((number + 1, what));
            }
        }
    }
    found
}

/// Parses the ratchet: `<rule> <count> <path>` lines, `#` comments.
pub fn parse_ratchet(text: &str) -> Result<Offenders> {
    let mut allowed = Offenders::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("{RATCHET}:{}", number + 1);
        let mut words = line.split_whitespace();
        let (Some(rule), Some(count), Some(path), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            bail!("{}: expected `<rule> <count> <path>`, found `{line}`", at());
        };
        let Some(rule) = Rule::ALL.into_iter().find(|r| r.name() == rule) else {
            bail!("{}: unknown rule `{rule}`", at());
        };
        let count = count.parse().with_context(|| format!("{}: `{count}` is not a count", at()))?;
        if allowed.insert((rule, path.to_owned()), count).is_some() {
            bail!("{}: {} {path} is listed twice", at(), rule.name());
        }
    }
    Ok(allowed)
}

/// Failures (new offenders, counts that grew) and improvements.
pub fn compare(allowed: &Offenders, found: &Offenders) -> (Vec<String>, Vec<String>) {
    let (mut failures, mut improved) = (Vec::new(), Vec::new());
    for ((rule, path), &count) in found {
        match allowed.get(&(*rule, path.clone())) {
            None => failures.push(format!(
                "{path}: {count} {}; not in {RATCHET}: fix it (code moved from a listed file moves its line)",
                rule.what()
            )),
            Some(&limit) if count > limit => {
                failures.push(format!("{path}: {count} {}, more than the {limit} of {RATCHET}", rule.what()))
            }
            Some(&limit) if count < limit => {
                improved.push(format!("{path}: {count} {}, down from {limit}", rule.what()))
            }
            Some(_) => {}
        }
    }
    for (rule, path) in allowed.keys() {
        if !found.contains_key(&(*rule, path.clone())) {
            improved.push(format!("{path}: no longer offends ({}): remove it from {RATCHET}", rule.name()));
        }
    }
    (failures, improved)
}

/// The ratchet with every count lowered to what was found, never raised.
fn tightened(allowed: &Offenders, found: &Offenders) -> Offenders {
    allowed
        .iter()
        .filter_map(|(key, &limit)| found.get(key).map(|&count| (key.clone(), count.min(limit))))
        .collect()
}

/// The ratchet file for `allowed`.
fn render_ratchet(allowed: &Offenders) -> String {
    let mut text = String::from(
        "# tidy's ratchet (xtask/src/tidy.rs): today's offenders and their counts.\n\
         # A new offender, or a count that grows, fails `cargo xtask tidy` and the\n\
         # test suite; lower a count (`cargo xtask tidy --tighten`) when a file improves.\n\
         # <rule> <count> <path>\n",
    );
    for rule in Rule::ALL {
        text.push_str(&format!("\n# {}: {}\n", rule.name(), rule.what()));
        for ((_, path), count) in allowed.iter().filter(|((r, _), _)| *r == rule) {
            text.push_str(&format!("{} {count} {path}\n", rule.name()));
        }
    }
    text
}

#[cfg(test)]
mod tests;

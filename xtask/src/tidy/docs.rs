//! The docs in step with the command lines, both ways:
//! - every long flag of `release-check --help`, and of each subcommand's
//!   help, and every subcommand, is documented in the user guide (its
//!   index page and the pages split from it) or `docs/config.md`;
//! - every `release-check …` and `cargo xtask …` command line in a code
//!   block of `README.md`, `docs/*.md` or `docs/gates/*.md` parses with
//!   today's flags.

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser as _};

use crate::flags::{Task, Xtask};

/// Where a flag or subcommand counts as documented.
const REFERENCE: [&str; 7] = [
    "docs/user-guide.md",
    "docs/gates/wheels.md",
    "docs/gates/images.md",
    "docs/gates/ci.md",
    "docs/sharding.md",
    "docs/publishing.md",
    "docs/config.md",
];

/// The problems found, one message each.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut reference = String::new();
    for path in REFERENCE {
        reference +=
            &std::fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))?;
    }
    for (command, flag) in long_flags(&release_check::Cli::command(), "release-check") {
        if !mentions_flag(&reference, &flag) {
            problems
                .push(format!("`{command} --{flag}` is documented in neither {}", REFERENCE.join(" nor ")));
        }
    }
    for subcommand in release_check::Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = subcommand.get_name();
        if !reference.contains(&format!("release-check {name}")) {
            problems
                .push(format!("`release-check {name}` is documented in neither {}", REFERENCE.join(" nor ")));
        }
    }
    let mut documents = vec!["README.md".to_owned()];
    for dir in ["docs", "docs/gates"] {
        let mut in_dir: Vec<String> = std::fs::read_dir(root.join(dir))
            .with_context(|| format!("cannot list {dir}/"))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".md"))
            .map(|name| format!("{dir}/{name}"))
            .collect();
        in_dir.sort();
        documents.extend(in_dir);
    }
    for path in documents {
        let text =
            std::fs::read_to_string(root.join(&path)).with_context(|| format!("cannot read {path}"))?;
        for (line, words) in command_lines(&text) {
            if let Err(why) = parses(&words) {
                problems.push(format!("{path}:{line}: `{}` does not parse: {why}", words.join(" ")));
            }
        }
    }
    Ok(problems)
}

/// (command path, long flag) of `command` and its subcommands, but help and version.
fn long_flags(command: &clap::Command, path: &str) -> Vec<(String, String)> {
    let mut flags: Vec<(String, String)> = command
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .filter(|long| !matches!(*long, "help" | "version"))
        .map(|long| (path.to_owned(), long.to_owned()))
        .collect();
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        flags.extend(long_flags(subcommand, &format!("{path} {}", subcommand.get_name())));
    }
    flags
}

/// Whether `text` names `--flag` (not only a longer flag it begins).
pub fn mentions_flag(text: &str, flag: &str) -> bool {
    let flag = format!("--{flag}");
    text.match_indices(&flag).any(|(at, _)| {
        let after = text[at + flag.len()..].chars().next();
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// The command lines of `markdown`'s `sh` and `yaml` code blocks that run
/// release-check or xtask, as words: (line number, words). Continued lines
/// are joined; comments and what follows a pipe or a redirection are cut;
/// synopses (`[--repo PATH]`) are left out.
pub fn command_lines(markdown: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let mut fence: Option<bool> = None; // Some(whether its commands are checked)
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(matches!(info.trim(), "sh" | "bash" | "shell" | "console" | "yaml")),
            };
            continue;
        }
        if fence != Some(true) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((number + 1, String::new()));
        joined.push_str(trimmed.trim_start_matches("$ "));
        if let Some(continued) = joined.strip_suffix('\\') {
            pending = Some((start, format!("{continued} ")));
            continue;
        }
        let words = words(&joined);
        let runs = words.first().is_some_and(|w| w == "release-check")
            || words.len() >= 2 && words[0] == "cargo" && words[1] == "xtask";
        if runs && !words.iter().any(|w| w.starts_with('[')) {
            found.push((start, words));
        }
    }
    found
}

/// Shell words of `line`, quotes removed, up to a comment, pipe, list or
/// redirection.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, '#') if word.is_none() => break,
            (None, '|' | '>' | '<' | ';' | '&') if word.is_none() => break,
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// Whether `words` parse as release-check's or xtask's command line.
fn parses(words: &[String]) -> Result<(), String> {
    let release_check = |args: &[String]| {
        let argv = std::iter::once("release-check").chain(args.iter().map(String::as_str));
        match release_check::Cli::command().try_get_matches_from(argv) {
            Ok(_) => Ok(()),
            Err(e) if !e.use_stderr() || is_placeholder(&e) => Ok(()), // --help, `$image`
            Err(e) => Err(first_line(&e.to_string())),
        }
    };
    if words[0] == "release-check" {
        return release_check(&words[1..]);
    }
    let argv = std::iter::once("cargo xtask").chain(words[2..].iter().map(String::as_str));
    match Xtask::try_parse_from(argv) {
        Ok(Xtask { task: Task::ReleaseCheck(args) }) => {
            release_check(&args.args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>())
        }
        Ok(_) => Ok(()),
        Err(e) if !e.use_stderr() => Ok(()),
        Err(e) => Err(first_line(&e.to_string())),
    }
}

/// Whether `error` refuses a placeholder the docs use as a value (`$image`,
/// `sha256:<hex>`), not a flag or a value the reader would type.
fn is_placeholder(error: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    matches!(error.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue)
        && matches!(error.get(ContextKind::InvalidValue),
            Some(ContextValue::String(value)) if value.contains('$') || value.contains('<'))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_named_whole() {
        assert!(mentions_flag("run with `--wheel NAME`.", "wheel"));
        assert!(mentions_flag("--wheel", "wheel"));
        assert!(!mentions_flag("`--wheels-dir`, `--wheel_x` and --wheelbase", "wheel"));
    }

    #[test]
    fn command_lines_of_shell_and_yaml_blocks() {
        let markdown = "\
release-check --not-in-a-block\n\
```sh\n\
release-check --repo x   # the main job\n\
cargo xtask bench hash --rounds 7\n\
release-check --format json > report.json\n\
$ release-check image-test \"$image\" \\\n\
    -- docker run --rm \"$image\"\n\
release-check [--repo PATH] image-test IMAGE\n\
cargo build\n\
```\n\
```text\n\
release-check 0.1.0 · examples/broken-repo\n\
```\n\
```yaml\n\
    run: |\n\
      release-check plan --format github-matrix\n\
```\n";
        let found: Vec<(usize, String)> =
            command_lines(markdown).into_iter().map(|(line, words)| (line, words.join(" "))).collect();
        assert_eq!(
            found,
            [
                (3, "release-check --repo x".to_owned()),
                (4, "cargo xtask bench hash --rounds 7".to_owned()),
                (5, "release-check --format json".to_owned()),
                (6, "release-check image-test $image -- docker run --rm $image".to_owned()),
                (16, "release-check plan --format github-matrix".to_owned()),
            ]
        );
    }

    #[test]
    fn documented_commands_are_parsed_with_todays_flags() {
        let words = |line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(parses(&words("release-check --repo x --gate wheels")), Ok(()));
        assert_eq!(parses(&words("release-check --help")), Ok(()));
        assert_eq!(parses(&words("cargo xtask bench hash --rounds 7")), Ok(()));
        assert_eq!(parses(&words("cargo xtask release-check --repo examples/broken-repo")), Ok(()));
        assert_eq!(parses(&words("cargo xtask test --lint --examples")), Ok(()));
        // A placeholder where a real reference goes is the reader's to fill in.
        assert_eq!(parses(&words("release-check image-test $image -- make test")), Ok(()));
        assert_eq!(parses(&words("release-check image-test x@sha256:<hex> -- make test")), Ok(()));
        assert!(parses(&words("release-check image-test not-an-image -- make test")).is_err());
        let error = parses(&words("release-check --no-such-flag")).unwrap_err();
        assert!(error.contains("--no-such-flag"), "{error}");
        // xtask passes these through: release-check itself refuses them.
        assert!(parses(&words("cargo xtask release-check --no-such-flag")).is_err());
        assert!(parses(&words("cargo xtask bench no-such-benchmark")).is_err());
    }

    #[test]
    fn every_long_flag_of_every_subcommand_is_listed() {
        let flags = long_flags(&release_check::Cli::command(), "release-check");
        assert!(flags.contains(&("release-check".to_owned(), "repo".to_owned())), "{flags:?}");
        assert!(flags.iter().any(|(path, _)| path == "release-check bisect"), "{flags:?}");
        assert!(!flags.iter().any(|(_, flag)| flag == "help"));
    }
}

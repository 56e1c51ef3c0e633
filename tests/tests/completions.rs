//! `release-check completions SHELL`: a completion script for each shell,
//! printed without a repository or configuration; the bash one, sourced by
//! bash itself, completes flags, subcommands and `--format` values.

use std::process::Command;

use release_check_e2e::{Run, release_check};

fn completions(shell: &str) -> Run {
    // No repository is needed: a missing one is not even looked at.
    release_check(["--repo", "/nonexistent/repository", "completions", shell])
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands_and_flags() {
    for (shell, marker) in [
        ("bash", "complete -F _release__check"),
        ("zsh", "#compdef release-check"),
        ("fish", "complete -c release-check"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = completions(shell);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: no {marker:?}");
        for word in ["publish", "aggregate", "completions", "list-gates", "json-output", "post"] {
            assert!(run.stdout.contains(word), "{shell}: no {word}");
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let run = completions("tcsh");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("possible values: bash"), "{}", run.stderr);
}

/// What bash completes after `words`, with the script loaded as a user's
/// shell loads it.
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("release-check.bash");
    std::fs::write(&path, script).unwrap();
    let program = r#"source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_release__check release-check "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let output =
        Command::new("bash").arg("-c").arg(program).arg("bash").arg(&path).args(words).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn bash_completes_with_the_script() {
    let script = completions("bash").stdout;
    assert_eq!(bash_completes(&script, &["release-check", "--form"]), ["--format"]);
    assert_eq!(bash_completes(&script, &["release-check", "compl"]), ["completions"]);
    assert_eq!(
        bash_completes(&script, &["release-check", "--format", ""]),
        ["text", "json", "markdown", "sarif"]
    );
    assert_eq!(bash_completes(&script, &["release-check", "publish", "--po"]), ["--post"]);
}

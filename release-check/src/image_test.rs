//! `release-check image-test IMAGE@DIGEST -- COMMAND…`: runs a team's test
//! of an image and records the outcome as the test record the `images`
//! gate's `tested` check reads (an in-toto Statement v1 with the test-result
//! predicate, `docs/image-test-records.md`).

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context as _;
use gate_images::tested::{self, Outcome, ResourceDescriptor, Statement, TestResult};

use crate::flags::ImageTestArgs;
use crate::{EXIT_GO, EXIT_NO_GO, Session};

/// Runs the test command and writes the record; 0 when it passed, 1 when it
/// failed. `Err` (exit 2) when the command could not be started or the record
/// could not be written; then no record is written.
pub fn run(args: &ImageTestArgs, session: &Session) -> anyhow::Result<u8> {
    let repo = session.repo.as_path();
    let digest = args.image.digest.as_deref().unwrap_or_default();
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let dir = match &args.records {
        Some(dir) => dir.clone(),
        None => {
            let configured = session.gates_config.images.as_ref().and_then(|c| c.test_records.as_ref());
            repo.join(configured.map_or(tested::DEFAULT_DIR, |p| p.as_str()))
        }
    };
    let configuration =
        args.config_files.iter().map(|file| describe_file(repo, file)).collect::<anyhow::Result<Vec<_>>>()?;
    let url = args.url.clone().or_else(github_run_url);
    let command_line = shell_words(&args.command);

    let (program, arguments) = args.command.split_first().context("no test command given after `--`")?;
    let status = std::process::Command::new(program)
        .args(arguments)
        .status()
        .with_context(|| format!("cannot run `{command_line}`; no test record written"))?;
    let result = if status.success() { Outcome::Passed } else { Outcome::Failed };
    let (passed_tests, failed_tests) = match result {
        Outcome::Passed => (vec![command_line.clone()], Vec::new()),
        _ => (Vec::new(), vec![command_line.clone()]),
    };
    let predicate =
        TestResult { result, configuration, url, passed_tests, warned_tests: Vec::new(), failed_tests };
    let statement = Statement::test_result(&args.image.name(), algorithm, hex, predicate);

    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(tested::file_name(hex));
    crate::write_atomically(&path, statement.to_json().as_bytes())?;
    eprintln!(
        "{}: `{command_line}` ended with {status}; test record written to {}",
        result.as_str(),
        path.display()
    );
    Ok(if result == Outcome::Passed { EXIT_GO } else { EXIT_NO_GO })
}

/// `file` as a configuration entry: its path inside the repository and its SHA-256.
fn describe_file(repo: &Path, file: &Path) -> anyhow::Result<ResourceDescriptor> {
    let outside = || format!("--config-file {} is not a file inside the repository", file.display());
    let absolute = file.canonicalize().with_context(outside)?;
    let root = repo.canonicalize().with_context(|| format!("cannot resolve {}", repo.display()))?;
    let relative = absolute.strip_prefix(&root).ok().filter(|_| absolute.is_file()).with_context(outside)?;
    let name = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("--config-file {}: the path is not UTF-8", file.display()))?
        .join("/");
    let (hex, _) = gate_wheels::sha256_file(&absolute, &|| false)?;
    Ok(ResourceDescriptor {
        name: Some(name),
        digest: Some([("sha256".to_owned(), hex)].into()),
        ..ResourceDescriptor::default()
    })
}

/// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`, when all three are set.
fn github_run_url() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (server, repository, run) =
        (var("GITHUB_SERVER_URL")?, var("GITHUB_REPOSITORY")?, var("GITHUB_RUN_ID")?);
    Some(format!("{}/{repository}/actions/runs/{run}", server.trim_end_matches('/')))
}

/// The command as one line a POSIX shell would split back into the same
/// words: words with other characters than `[A-Za-z0-9_@%+=:,./-]` are quoted.
fn shell_words(command: &[OsString]) -> String {
    let quoted: Vec<String> = command
        .iter()
        .map(|word| {
            let word = word.to_string_lossy();
            let plain = !word.is_empty()
                && word.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
            if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
        })
        .collect();
    quoted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted_for_a_shell() {
        let words = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(shell_words(&words(&["make", "test", "V=1"])), "make test V=1");
        assert_eq!(
            shell_words(&words(&["sh", "-c", "docker run --rm img 'x'", ""])),
            r"sh -c 'docker run --rm img '\''x'\''' ''"
        );
    }
}

//! `cargo xtask release-check [ARGS]`: release-check's command line, on the
//! bundled example repository unless `--repo` names another.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::flags;

/// Runs release-check in this process with `flags.args`.
pub fn run(flags: flags::ReleaseCheck) -> ExitCode {
    release_check::main(std::iter::once("cargo xtask release-check".into()).chain(with_repo(flags.args)))
}

/// `args`, with `--repo <the bundled example>` first unless they name a repository.
pub fn with_repo(mut args: Vec<OsString>) -> Vec<OsString> {
    // Only release-check's own arguments count, not a test command after `--`.
    let mut own = args.iter().take_while(|a| *a != "--");
    if !own.any(|a| a == "--repo" || a.to_str().is_some_and(|s| s.starts_with("--repo="))) {
        args.splice(0..0, ["--repo".into(), example_repo("release-repo").into_os_string()]);
    }
    args
}

/// A bundled example, relative to the current directory when it is below it.
pub fn example_repo(name: &str) -> PathBuf {
    let path = crate::workspace().join("examples").join(name);
    relative(&path).unwrap_or(path)
}

/// `path` relative to the current directory, when it is below it.
fn relative(path: &Path) -> Option<PathBuf> {
    let path = path.canonicalize().ok()?;
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    path.strip_prefix(&cwd).ok().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn the_example_is_the_default_repository() {
        let args = strings(&with_repo(vec!["--format".into(), "json".into()]));
        assert_eq!(args[0], "--repo");
        assert!(args[1].ends_with("examples/release-repo"), "{args:?}");
        assert_eq!(args[2..], ["--format", "json"]);
        // `--repo` after `--` is the tested command's, not release-check's.
        let args = strings(&with_repo(vec!["image-test".into(), "x".into(), "--".into(), "--repo".into()]));
        assert_eq!(args[0], "--repo");
    }

    #[test]
    fn a_named_repository_is_kept() {
        for given in [&["--repo", "elsewhere"][..], &["-v", "--repo=elsewhere"]] {
            let args: Vec<OsString> = given.iter().map(OsString::from).collect();
            assert_eq!(strings(&with_repo(args)), given);
        }
    }
}

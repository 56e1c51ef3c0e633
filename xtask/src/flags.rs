//! Every task and flag of `cargo xtask`, declared once. The usage text and
//! `--help` are generated from these declarations; the tasks read them from
//! here and nowhere else.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The project's tasks (the cargo-xtask pattern: `cargo xtask <TASK>`).
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", disable_help_subcommand = true)]
pub struct Xtask {
    /// The task to run.
    #[command(subcommand)]
    pub task: Task,
}

/// A task.
#[derive(Debug, Subcommand)]
pub enum Task {
    /// Run release-check's command line; without --repo, on the bundled
    /// example repository (examples/release-repo). Every argument is
    /// release-check's own: see `cargo xtask release-check --help`.
    #[command(disable_help_flag = true)]
    ReleaseCheck(ReleaseCheck),
    /// Check and install the test suite's prerequisites, then run the
    /// whole suite (`cargo test --workspace --locked --no-fail-fast`).
    ///
    /// Checks the shared fixtures, git, gpg, git-lfs, Debian's
    /// docker-registry, python3 with venv, the pyenv Pythons the tests
    /// build with, and HTTPS to the package index. Installs what it can
    /// (apt packages as root or with passwordless sudo, pyenv versions,
    /// rustup components), names what is still missing and how to get it,
    /// and exits with 1 before running anything when something is.
    Test(Test),
    /// Time release-check against the tools a user would otherwise run
    /// (see docs/benchmarks.md). Re-runs itself built in release mode.
    Bench(Bench),
    /// Check the repository's hygiene: file sizes, error types, test
    /// helpers, docs in step with the command line, machine paths and
    /// placeholders. Also runs as a test in `cargo test --workspace`.
    Tidy(Tidy),
    /// Write release-check's man pages (`release-check.1` and one per
    /// subcommand), generated from its command-line declarations.
    Man(Man),
}

/// `cargo xtask release-check`.
#[derive(Debug, Args)]
pub struct ReleaseCheck {
    /// release-check's arguments, passed through unchanged.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

/// `cargo xtask test`.
#[derive(Debug, Args)]
pub struct Test {
    /// Only check the prerequisites and say what is missing; install nothing.
    #[arg(long)]
    pub no_install: bool,
    /// Check (and install) the prerequisites, then stop without running anything.
    #[arg(long)]
    pub prerequisites_only: bool,
    /// Before the tests, check formatting (`cargo fmt --all -- --check`)
    /// and lint (`cargo clippy --workspace --all-targets --locked -- -D warnings`).
    #[arg(long)]
    pub lint: bool,
    /// After the tests, run the bundled examples: release-repo must be GO
    /// (exit 0) and broken-repo NO-GO (exit 1).
    #[arg(long)]
    pub examples: bool,
    /// Arguments for `cargo test --workspace --locked --no-fail-fast`, after `--`
    /// (`cargo xtask test -- -p gate-core -- --nocapture`).
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub cargo_test_args: Vec<OsString>,
}

/// `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct Bench {
    /// The benchmarks to run; every one when none is named.
    #[arg(value_enum, value_name = "BENCHMARK")]
    pub benchmarks: Vec<Benchmark>,
    /// Rounds of each benchmark [default: 5 for hash and wheel-diff, 1 for
    /// rebuild, 3 for build-deps and scale].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,
}

/// One benchmark of `cargo xtask bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Benchmark {
    /// SHA-256 hashing against `sha256sum` and `openssl`.
    Hash,
    /// Explaining why two wheels differ, against `diffoscope`.
    WheelDiff,
    /// Rebuilding wheels from source: two jobs against one, cached against cold.
    Rebuild,
    /// The build-dependency analysis against pip resolving from source.
    BuildDeps,
    /// The wheels gate on sums files of 10,000 and 100,000 entries, against `sha256sum -c`.
    Scale,
}

/// `cargo xtask man`.
#[derive(Debug, Args)]
pub struct Man {
    /// Where to write the pages (created if missing).
    #[arg(long, value_name = "DIR", default_value = "target/man")]
    pub out_dir: PathBuf,
}

/// `cargo xtask tidy`.
#[derive(Debug, Args)]
pub struct Tidy {
    /// Lower the counts of xtask/tidy-ratchet.txt to what is found now,
    /// dropping the files that no longer offend (never raises a count).
    #[arg(long)]
    pub tighten: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        Xtask::try_parse_from(std::iter::once("xtask").chain(args.iter().copied())).map(|x| x.task)
    }

    fn release_check_args(args: &[&str]) -> Vec<String> {
        match parse(args).unwrap() {
            Task::ReleaseCheck(rc) => rc.args.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
            other => panic!("not release-check: {other:?}"),
        }
    }

    #[test]
    fn the_declarations_are_consistent() {
        Xtask::command().debug_assert();
    }

    /// release-check's arguments reach it exactly as typed: its own flags,
    /// `--help`, and a command after `--`.
    #[test]
    fn release_check_arguments_pass_through_unchanged() {
        assert!(release_check_args(&["release-check"]).is_empty());
        for args in [
            &["release-check", "--help"][..],
            &["release-check", "--repo", "examples/broken-repo", "--format", "json"],
            &["release-check", "-v", "--gate=wheels"],
            &["release-check", "image-test", "img@sha256:00", "--", "docker", "run", "--rm", "img"],
            &["release-check", "--repo", "x", "--", "--repo", "y"],
        ] {
            assert_eq!(release_check_args(args), args[1..], "{args:?}");
        }
    }

    #[test]
    fn test_flags_and_the_arguments_for_cargo_test() {
        let Task::Test(test) =
            parse(&["test", "--lint", "--", "-p", "gate-core", "--", "--nocapture"]).unwrap()
        else {
            panic!("not test")
        };
        assert!(test.lint && !test.examples && !test.no_install && !test.prerequisites_only);
        assert_eq!(test.cargo_test_args, ["-p", "gate-core", "--", "--nocapture"]);
        // Anything else before `--` is a usage error, not a test filter.
        assert!(parse(&["test", "gate-core"]).is_err());
        assert!(parse(&["test", "--no-such-flag"]).is_err());
    }

    #[test]
    fn bench_names_and_rounds() {
        let Task::Bench(bench) = parse(&["bench", "hash", "build-deps", "--rounds", "7"]).unwrap() else {
            panic!("not bench")
        };
        assert_eq!(bench.benchmarks, [Benchmark::Hash, Benchmark::BuildDeps]);
        assert_eq!(bench.rounds, Some(7));
        let Task::Bench(all) = parse(&["bench"]).unwrap() else { panic!("not bench") };
        assert!(all.benchmarks.is_empty() && all.rounds.is_none());
        assert!(parse(&["bench", "--rounds", "0"]).is_err());
        assert!(parse(&["bench", "no-such-bench"]).is_err());
    }

    /// The usage text names every task; it is generated, not written by hand.
    #[test]
    fn usage_names_every_task() {
        let help = Xtask::command().render_help().to_string();
        for task in ["release-check", "test", "bench", "tidy", "man"] {
            assert!(help.contains(task), "{task} missing from:\n{help}");
        }
        let error = parse(&["no-such-task"]).unwrap_err().to_string();
        assert!(error.contains("no-such-task") && error.contains("Usage: cargo xtask"), "{error}");
    }
}

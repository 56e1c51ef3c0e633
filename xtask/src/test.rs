//! `cargo xtask test`: the README's test command. Checks the suite's
//! prerequisites and installs what it may ([`prerequisites`]), then runs
//! the steps: formatting and lint with `--lint`, `cargo test --workspace
//! --locked --no-fail-fast`, and the bundled examples with `--examples`.

mod prerequisites;

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::flags;
use prerequisites::{Found, Requirement};

/// Runs `cargo xtask test` as `flags` ask.
pub fn run(flags: &flags::Test) -> Result<()> {
    let workspace = crate::workspace();
    let started = Instant::now();
    heading("prerequisites");
    ensure_prerequisites(&prerequisites::requirements(&workspace, flags.lint), !flags.no_install)?;
    if flags.prerequisites_only {
        return Ok(());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo = |args: &[&str]| {
        let mut command = Command::new(&cargo);
        command.args(args).current_dir(&workspace);
        command
    };
    if flags.lint {
        step("format", cargo(&["fmt", "--all", "--", "--check"]))?;
        step("lint", cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))?;
    }
    // Every test binary runs, so one run names every failure.
    let mut tests = cargo(&["test", "--workspace", "--locked", "--no-fail-fast"]);
    tests.args(&flags.cargo_test_args);
    step("tests", tests)?;
    if flags.examples {
        examples()?;
    }
    eprintln!("\ntest: every step passed in {}", seconds(started));
    Ok(())
}

/// Finds every requirement, installs what is missing when `install` and
/// this process may, and fails naming what is still missing and how to get
/// it.
fn ensure_prerequisites(requirements: &[Requirement], install: bool) -> Result<()> {
    let mut found: Vec<Found> = requirements.iter().map(prerequisites::probe).collect();
    let access = prerequisites::access(install);
    let missing = requirements.iter().zip(&found).filter(|(_, f)| !f.is_yes()).map(|(r, _)| r);
    let plan = prerequisites::plan(missing, &access);
    let mut install_error = None;
    if !plan.is_empty() {
        eprintln!("installing what is missing: {plan}");
        install_error = prerequisites::install(&plan, &access).err();
        found = requirements.iter().map(prerequisites::probe).collect();
    }
    let width = requirements.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut still_missing = Vec::new();
    for (requirement, found) in requirements.iter().zip(&found) {
        match found {
            Found::Yes(what) => eprintln!("  ok       {:width$}  {what}", requirement.name),
            Found::No(why) => {
                eprintln!("  MISSING  {:width$}  {why}", requirement.name);
                still_missing.push(requirement);
            }
        }
    }
    if let Some(error) = install_error {
        eprintln!("installing failed: {error:#}");
    }
    if still_missing.is_empty() {
        return Ok(());
    }
    eprintln!("\nThe suite cannot pass without:");
    for requirement in &still_missing {
        eprintln!("  - {}: {}", requirement.name, prerequisites::how_to(requirement, &access));
        eprintln!("      needed because {}", requirement.why);
    }
    bail!("{} prerequisite(s) missing; no test was run", still_missing.len())
}

/// Runs one step, which must succeed.
fn step(name: &str, mut command: Command) -> Result<()> {
    heading(name);
    let described = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("$ {described}");
    let started = Instant::now();
    let status =
        command.stdin(Stdio::null()).status().with_context(|| format!("cannot run `{described}`"))?;
    eprintln!("{name}: {status} after {}", seconds(started));
    if !status.success() {
        bail!("{name} failed: `{described}` ({status})");
    }
    Ok(())
}

/// The README's first command on both bundled examples: release-repo is
/// GO (exit 0), broken-repo NO-GO (exit 1).
fn examples() -> Result<()> {
    heading("examples");
    let this = std::env::current_exe().context("cannot find this program to run release-check")?;
    for (example, expected) in [("release-repo", 0), ("broken-repo", 1)] {
        let repo: OsString = crate::release_check::example_repo(example).into();
        let mut command = Command::new(&this);
        command.args(["release-check".into(), "--repo".into(), repo]).stdin(Stdio::null());
        if expected != 0 {
            // Its blockers are the expected outcome, not news.
            command.stdout(Stdio::null());
        }
        let status = command.status().context("cannot run release-check")?;
        if status.code() != Some(expected) {
            bail!("examples/{example} should exit {expected}, got {status}");
        }
        eprintln!("examples/{example}: exit {expected}, as expected");
    }
    Ok(())
}

fn heading(name: &str) {
    eprintln!("\n--- {name}");
}

fn seconds(since: Instant) -> String {
    format!("{:.0} s", since.elapsed().as_secs_f64())
}

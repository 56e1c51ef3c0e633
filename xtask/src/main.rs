//! Project tasks, run as `cargo xtask <TASK>` (the cargo-xtask pattern).
//! The tasks and their flags are declared once, in [`flags`]; each task is
//! one module: [`release_check`], [`test`], [`bench`], [`tidy`], [`man`].
//! `cargo xtask --help` lists them.

mod bench;
mod flags;
mod man;
mod release_check;
mod test;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use flags::{Task, Xtask};

/// The allocator the `release-check` binary uses, so that the benchmarks
/// that run a gate in this process time what the binary would do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ::release_check::without_huge_pages();
    let xtask = match Xtask::try_parse() {
        Ok(xtask) => xtask,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let (name, outcome) = match xtask.task {
        Task::ReleaseCheck(flags) => return release_check::run(flags),
        Task::Test(flags) => ("test", test::run(&flags)),
        // Declared and checked in `flags`; bench reads its arguments itself.
        Task::Bench(_) => ("bench", bench::main(std::env::args().skip(2).collect())),
        Task::Tidy(flags) => ("tidy", tidy::run(&flags)),
        Task::Man(flags) => ("man", man::run(&flags.out_dir)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
fn workspace() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    path.canonicalize().unwrap_or(path)
}

//! Project tasks, run as `cargo xtask <task>` (the cargo-xtask pattern).
//!
//! - `release-check [ARGS]`: the release-check command line. Without
//!   `--repo`, it works on the bundled example repository (subcommands such
//!   as `image-test` too).
//! - `bench [hash] [wheel-diff] [rebuild] [--rounds N]`: release-check's
//!   hashing against `sha256sum` and `openssl`, its explanation of two
//!   wheels' differences against `diffoscope`, and rebuilding wheels in
//!   parallel and from the cache (see `docs/benchmarks.md`). Re-runs itself
//!   built in release mode.

mod bench;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    match args.next().as_ref().and_then(|a| a.to_str()) {
        Some("release-check") => {
            let mut rest: Vec<std::ffi::OsString> = args.collect();
            // Only release-check's own arguments count, not a test command after `--`.
            let mut own = rest.iter().take_while(|a| *a != "--");
            if !own.any(|a| a == "--repo" || a.to_str().is_some_and(|s| s.starts_with("--repo="))) {
                rest.splice(0..0, ["--repo".into(), example_repo().into_os_string()]);
            }
            release_check::main(std::iter::once("cargo xtask release-check".into()).chain(rest))
        }
        Some("bench") => match bench::main(args.map(|a| a.to_string_lossy().into_owned()).collect()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench: {e:#}");
                ExitCode::FAILURE
            }
        },
        other => {
            eprintln!(
                "{}usage: cargo xtask release-check [ARGS]   (see `cargo xtask release-check --help`)\n       \
                 cargo xtask bench [hash] [wheel-diff] [rebuild] [--rounds N]",
                other.map(|t| format!("unknown task `{t}`\n")).unwrap_or_default()
            );
            ExitCode::from(2)
        }
    }
}

/// The bundled example, relative to the directory `cargo xtask` runs in.
fn example_repo() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = workspace.join("examples/release-repo");
    pathdiff(&path).unwrap_or(path)
}

/// `path` relative to the current directory, when it is below it.
fn pathdiff(path: &std::path::Path) -> Option<PathBuf> {
    let path = path.canonicalize().ok()?;
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    path.strip_prefix(&cwd).ok().map(PathBuf::from)
}

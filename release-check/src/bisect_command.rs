//! `release-check bisect --good WHEN|--good-report REPORT --bad WHEN`: the
//! first upload to the package index between two moments that changes the
//! build-dependency analysis, and the bump it was.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use build_deps::{bisect, closure};
use clap::Args;
use gate_core::Context;

use crate::{EXIT_GO, EXIT_NO_GO, config, parse_as_of};

/// `bisect`'s arguments.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("good_moment").required(true).args(["good", "good_report"])))]
pub struct BisectArgs {
    /// A moment whose analysis is good: an RFC 3339 time or a date (UTC).
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub good: Option<jiff::Timestamp>,
    /// A JSON report of a good run: its `build-closure` item's `as of` moment.
    #[arg(long, value_name = "REPORT")]
    pub good_report: Option<PathBuf>,
    /// A moment whose analysis is bad [default: now].
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub bad: Option<jiff::Timestamp>,
    /// Read only the cache of index answers; send no request.
    #[arg(long)]
    pub offline: bool,
}

/// Bisects and prints what changed: 0 when a change is named, 1 when both
/// moments give the same findings; `Err` (exit 2) when the analysis is not
/// configured or cannot run.
pub fn run(args: &BisectArgs, repo: &Path, loaded: &config::Loaded) -> anyhow::Result<u8> {
    let mut gates = loaded.config.gates.clone();
    if args.offline {
        crate::offline(&mut gates)?;
    }
    let analysis = gates.wheels.as_ref().and_then(|wheels| wheels.build_deps.as_ref());
    let Some(analysis) = analysis else {
        anyhow::bail!(
            "bisect bisects the build-dependency analysis, which is not configured: add [gates.wheels.build-deps] (docs/config.md)"
        );
    };
    let mut ctx = Context::new(repo);
    if let Some(jobs) = loaded.config.run.jobs() {
        ctx.jobs = jobs;
    }
    let good = match (args.good, &args.good_report) {
        (Some(good), _) => good,
        (None, Some(report)) => closure::recorded(report).map_err(anyhow::Error::msg)?.as_of,
        (None, None) => unreachable!("clap requires --good or --good-report"),
    };
    let bad = args.bad.unwrap_or(ctx.now);
    let found =
        bisect::bisect(&ctx, analysis, good, bad).map_err(anyhow::Error::msg).context("cannot bisect")?;
    print!("{found}");
    Ok(if found.change.is_some() { EXIT_GO } else { EXIT_NO_GO })
}

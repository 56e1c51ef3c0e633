//! `release-check bisect --good WHEN|--good-report REPORT --bad WHEN`: the
//! first upload to the package index between two moments that changes the
//! build-dependency analysis, and the bump it was.

use anyhow::Context as _;
use build_deps::{bisect, closure};

use crate::flags::BisectArgs;
use crate::{EXIT_GO, EXIT_NO_GO, Session};

/// Bisects and prints what changed: 0 when a change is named, 1 when both
/// moments give the same findings; `Err` (exit 2) when the analysis is not
/// configured or cannot run. `--offline` reached the analysis's
/// configuration through the session.
pub fn run(args: &BisectArgs, session: &Session) -> anyhow::Result<u8> {
    let analysis = session.gates_config.wheels.as_ref().and_then(|wheels| wheels.build_deps.as_ref());
    let Some(analysis) = analysis else {
        anyhow::bail!(
            "bisect bisects the build-dependency analysis, which is not configured: add [gates.wheels.build-deps] (docs/config.md)"
        );
    };
    let ctx = &session.ctx;
    let good = match (args.good, &args.good_report) {
        (Some(good), _) => good,
        (None, Some(report)) => closure::recorded(report).map_err(anyhow::Error::msg)?.as_of,
        (None, None) => unreachable!("clap requires --good or --good-report"),
    };
    let bad = args.bad.unwrap_or(ctx.now);
    let found =
        bisect::bisect(ctx, analysis, good, bad).map_err(anyhow::Error::msg).context("cannot bisect")?;
    print!("{found}");
    Ok(if found.change.is_some() { EXIT_GO } else { EXIT_NO_GO })
}

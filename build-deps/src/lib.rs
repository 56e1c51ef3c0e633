//! Build-dependency analysis per target Python, before anything is built:
//! cycles that a build from source (`--no-binary :all:`) walks into, and
//! build dependencies that build isolation takes, unpinned, from the index.
//!
//! Opt-in with `[gates.wheels.build-deps]` ([`Config`]). Each target Python
//! is analysed on its own ([`model`]), in an order that does not depend on
//! the configuration's: the requirements files are resolved from the index
//! ([`resolve`]) as of the run's moment (`--as-of`), every release is built
//! as the modelled pip version builds it ([`pip`]), and each isolated build
//! environment is resolved from the index in turn, recursively; the
//! repository's pins do not reach it, a constraints file does. Releases are
//! read once per run ([`catalog`]) from the index ([`index`]); what they
//! need comes from [`metadata`]. The results are reported per release and
//! cycle with the Pythons they hold on ([`report`]).
//!
//! The `wheels` gate of release-check runs the analysis ([`run`]) and lists
//! its checks ([`Check`]) among its own; `release-check bisect` drives [`bisect`].
//! Requirements files are read with `pip-requirements`, build backends are
//! asked through `python-build`, and findings are `gate-core` items.

mod analyser;
pub mod archive;
pub mod bisect;
pub(crate) mod catalog;
mod checks;
pub mod closure;
mod config;
pub mod graph;
pub mod hooks;
pub mod index;
pub mod metadata;
pub(crate) mod model;
pub mod pip;
mod python;
mod report;
pub(crate) mod resolve;
mod sources;

use gate_core::{Context, GateOutcome};

use analyser::Analyser;
pub use checks::Check;
pub use config::Config;
pub use python::{TargetError, TargetPython};

/// Runs the analysis, adding its items and notes to `outcome`: the wheels
/// gate's `[gates.wheels.build-deps]`.
pub fn run(ctx: &Context, config: &Config, outcome: &mut GateOutcome) {
    let Some(analyser) = Analyser::new(ctx, config, outcome) else { return };
    let analysis = analyser.at(ctx, ctx.now);
    analyser.report(&analysis, outcome);
    if let Some(baseline) = &config.baseline {
        outcome.items.extend(closure::compare(&ctx.repo, baseline, &analysis.closure()));
    }
}

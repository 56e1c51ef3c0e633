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
//! its [`CHECKS`] among its own; `release-check bisect` drives [`bisect`].
//! Requirements files are read with `pip-requirements`, build backends are
//! asked through `python-build`, and findings are `gate-core` items.

mod analyser;
pub mod archive;
pub mod bisect;
pub(crate) mod catalog;
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

use gate_core::{CheckInfo, Context, GateOutcome, Severity};

use analyser::Analyser;
pub use config::Config;
pub use python::TargetPython;

/// The checks of the analysis; the wheels gate lists them among its own.
pub const CHECKS: [CheckInfo; 5] = [
    CheckInfo {
        id: "build-cycle",
        default_severity: Severity::Blocker,
        summary: "No build from source (`--no-binary :all:`) needs, in its build environment, the release it builds, on any target Python, as the modelled pip builds (opt-in: [gates.wheels.build-deps]).",
        remedy: "Read the cycle's path: hold the release that brought the edge to a version without it in a constraints file that reaches build environments (`constraints`, PIP_CONSTRAINT), or allow a binary wheel for one member of the cycle (`only-binary`).",
    },
    CheckInfo {
        id: "unpinned-build-dep",
        default_severity: Severity::Blocker,
        summary: "Everything a build installs is pinned: with build isolation, every member of each isolated build environment is held to one version by a constraints file that reaches it (the repository's requirements files do not); without isolation, or for a legacy setup.py build, the build requirements provide every build need.",
        remedy: "Pin it with `==` in a constraints file given as `constraints` (and to pip as PIP_CONSTRAINT), or build without isolation from the pinned build requirements.",
    },
    CheckInfo {
        id: "index",
        default_severity: Severity::Blocker,
        summary: "The package index answers for every distribution of the closure: its project page, a matching sdist, its files with the listed SHA-256.",
        remedy: "Check index-url, the network or the cache (offline); pin a version the index has as of the date.",
    },
    CheckInfo {
        id: "build-metadata",
        default_severity: Severity::Blocker,
        summary: "Each distribution's needs are known statically: requirements files parse, and the index metadata file, PKG-INFO, pyproject.toml or setup.cfg give its build and run-time requirements.",
        remedy: "Fix the requirement at the reported place, or pin a version whose metadata is static (Metadata 2.2).",
    },
    CheckInfo {
        id: closure::CHECK,
        default_severity: Severity::Warning,
        summary: "The resolved build-dependency closure (name==version of every distribution) is recorded in the report; with `baseline`, every version that changed since that report is listed.",
        remedy: "A changed build dependency is where a new build failure usually comes from: `release-check bisect` names the upload that changed the analysis.",
    },
];

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

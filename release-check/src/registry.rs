//! The gates this binary knows, built from their configuration sections,
//! and each gate's own command-line flags applied to its section.
//!
//! Adding a gate: add its crate as a dependency, a field to [`GatesConfig`]
//! and a line to [`all_gates`] and [`turned_off`]; a gate with flags of its
//! own declares them in [`crate::flags::GateFlags`] and applies them in
//! [`GatesConfig::apply_flags`] (see `docs/writing-a-gate.md`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gate_core::Gate;
use serde::Deserialize;

use crate::flags::{CiFlags, GateFlags, WheelsFlags};

/// `[gates]`: one optional section per gate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatesConfig {
    /// `[gates.wheels]`.
    pub wheels: Option<gate_wheels::Config>,
    /// `[gates.images]`.
    pub images: Option<gate_images::Config>,
    /// `[gates.ci]`.
    pub ci: Option<gate_ci::Config>,
}

/// The gates turned off with `enabled = false`, by name.
pub fn turned_off(config: &GatesConfig) -> Vec<&'static str> {
    let mut off = Vec::new();
    if config.wheels.as_ref().and_then(|c| c.enabled) == Some(false) {
        off.push("wheels");
    }
    if config.images.as_ref().and_then(|c| c.enabled) == Some(false) {
        off.push("images");
    }
    if config.ci.as_ref().and_then(|c| c.enabled) == Some(false) {
        off.push("ci");
    }
    off
}

/// Every gate, configured, in report order.
pub fn all_gates(config: &GatesConfig) -> Vec<Arc<dyn Gate>> {
    vec![
        Arc::new(gate_wheels::WheelsGate::new(config.wheels.clone().unwrap_or_default())),
        Arc::new(gate_images::ImagesGate::new(config.images.clone().unwrap_or_default())),
        Arc::new(gate_ci::CiGate::new(config.ci.clone().unwrap_or_default())),
    ]
}

/// The least timeout a gate needs under this configuration, by gate name:
/// the runner's timeout for it is raised to this when shorter.
pub fn longest_runs(config: &GatesConfig) -> Vec<(&'static str, Duration)> {
    config.ci.as_ref().and_then(gate_ci::longest_run).map(|longest| ("ci", longest)).into_iter().collect()
}

/// A gate's flag that its configuration cannot take.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// The current directory, which relative paths of flags are joined to, cannot be read.
    #[error("cannot read the current directory")]
    CurrentDir(#[source] std::io::Error),
    /// `--replay DIR` where DIR is not a directory.
    #[error("--replay {}: not a directory", .0.display())]
    ReplayNotADirectory(PathBuf),
    /// `--wheel` or `--no-cache` without `[gates.wheels.rebuild]`.
    #[error(
        "--wheel and --no-cache choose what the wheels gate rebuilds, and rebuilding is not configured: add [gates.wheels.rebuild] (docs/config.md)"
    )]
    NoRebuild,
    /// `--offline` without `[gates.wheels.build-deps]`.
    #[error(
        "--offline keeps the build-dependency analysis to its cache, and it is not configured: add [gates.wheels.build-deps] (docs/config.md)"
    )]
    NoBuildDeps,
}

impl GatesConfig {
    /// Applies the gates' own flags to their sections, each gate's through
    /// its overrides below, in the order of the flags in `--help` (so of
    /// two flags that cannot apply, the first listed is named).
    pub fn apply_flags(&mut self, flags: &GateFlags) -> Result<(), FlagError> {
        ci_overrides(&flags.ci, &mut self.ci)?;
        wheels_overrides(&flags.wheels, &mut self.wheels)
    }
}

/// The ci gate's overrides: `--ref`, `--wait`, `--record`, `--replay`
/// override `[gates.ci]`; their paths are relative to the current
/// directory, like `--config`.
fn ci_overrides(flags: &CiFlags, config: &mut Option<gate_ci::Config>) -> Result<(), FlagError> {
    if flags.git_ref.is_none() && flags.wait.is_none() && flags.record.is_none() && flags.replay.is_none() {
        return Ok(());
    }
    let cwd = std::env::current_dir().map_err(FlagError::CurrentDir)?;
    let ci = config.get_or_insert_with(Default::default);
    if let Some(git_ref) = &flags.git_ref {
        ci.target = Some(git_ref.clone());
    }
    if let Some(wait) = flags.wait {
        ci.wait = Some(wait);
    }
    if let Some(dir) = &flags.record {
        ci.record = Some(cwd.join(dir));
        ci.replay = None;
    }
    if let Some(dir) = &flags.replay {
        if !dir.is_dir() {
            return Err(FlagError::ReplayNotADirectory(dir.clone()));
        }
        ci.replay = Some(cwd.join(dir));
        ci.record = None;
    }
    Ok(())
}

/// The wheels gate's overrides: `--wheel` and `--no-cache` override
/// `[gates.wheels.rebuild]`, which they need; `--offline` keeps the
/// build-dependency analysis, which it needs, to its cache.
fn wheels_overrides(flags: &WheelsFlags, config: &mut Option<gate_wheels::Config>) -> Result<(), FlagError> {
    if !flags.wheels.is_empty() || flags.no_cache {
        let Some(rebuild) = config.as_mut().and_then(|wheels| wheels.rebuild.as_mut()) else {
            return Err(FlagError::NoRebuild);
        };
        if !flags.wheels.is_empty() {
            rebuild.wheels = flags.wheels.clone();
        }
        if flags.no_cache {
            rebuild.cache = false;
        }
    }
    if flags.offline.offline {
        let Some(analysis) = config.as_mut().and_then(|wheels| wheels.build_deps.as_mut()) else {
            return Err(FlagError::NoBuildDeps);
        };
        analysis.offline = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::OfflineArg;

    fn wheels(offline: bool, wheel: Option<&str>) -> GateFlags {
        GateFlags {
            wheels: WheelsFlags {
                wheels: wheel.into_iter().map(str::to_owned).collect(),
                no_cache: false,
                offline: OfflineArg { offline },
            },
            ..GateFlags::default()
        }
    }

    #[test]
    fn no_flags_change_nothing() {
        let mut config = GatesConfig::default();
        config.apply_flags(&GateFlags::default()).unwrap();
        assert!(config.wheels.is_none() && config.ci.is_none());
    }

    #[test]
    fn a_wheels_flag_needs_its_section() {
        let mut config = GatesConfig::default();
        assert!(matches!(config.apply_flags(&wheels(true, None)), Err(FlagError::NoBuildDeps)));
        assert!(matches!(config.apply_flags(&wheels(false, Some("x"))), Err(FlagError::NoRebuild)));
        let mut config: GatesConfig = toml::from_str(
            "[wheels.rebuild]\npythons = [\"3.11\"]\n[wheels.build-deps]\ntarget-pythons = [\"3.11\"]\n",
        )
        .unwrap();
        config.apply_flags(&wheels(true, Some("x"))).unwrap();
        let wheels = config.wheels.unwrap();
        assert!(wheels.build_deps.unwrap().offline);
        assert_eq!(wheels.rebuild.unwrap().wheels, ["x"]);
    }

    #[test]
    fn ci_flags_are_checked_before_the_wheels_flags() {
        let mut config = GatesConfig::default();
        let mut flags = wheels(true, None);
        flags.ci.replay = Some(PathBuf::from("no such directory here"));
        assert!(matches!(config.apply_flags(&flags), Err(FlagError::ReplayNotADirectory(_))));
        flags.ci.replay = None;
        flags.ci.git_ref = Some("pull/7".to_owned());
        assert!(matches!(config.apply_flags(&flags), Err(FlagError::NoBuildDeps)));
        assert_eq!(config.ci.unwrap().target.as_deref(), Some("pull/7"));
    }
}

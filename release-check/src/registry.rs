//! The gates this binary knows, built from their configuration sections.
//!
//! Adding a gate: add its crate as a dependency, a field to [`GatesConfig`]
//! and a line to [`all_gates`] (see `docs/writing-a-gate.md`).

use std::sync::Arc;

use gate_core::Gate;
use serde::Deserialize;

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

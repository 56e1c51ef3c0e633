//! Helpers shared by the build-dependency tests: run the wheels gate at a
//! chosen moment (`--as-of`) and pick out its items.

use std::path::Path;

use gate_core::{Context, Gate as _, GateOutcome, Item};
use gate_wheels::{Config, WheelsGate};

/// Runs the gate on `repo` as of `as_of` (an RFC 3339 timestamp).
pub fn run(repo: &Path, config: &Config, as_of: &str) -> GateOutcome {
    let ctx = Context { now: as_of.parse().unwrap(), ..Context::new(repo) };
    WheelsGate::new(config.clone()).run(&ctx)
}

/// The items of one check.
pub fn items<'a>(outcome: &'a GateOutcome, check: &str) -> Vec<&'a Item> {
    outcome.items.iter().filter(|i| i.check == check).collect()
}

/// An item's evidence as JSON, to search and to show in messages.
pub fn facts(item: &Item) -> String {
    serde_json::to_string(&item.evidence).unwrap()
}

//! Helpers for tests of gates: where the project's shared third-party
//! fixtures and bundled examples are. Every test reads fixtures through
//! these, in place: third-party data is never copied into the repository.

use std::path::{Path, PathBuf};

/// The workspace root (this crate sits one level below it).
fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A third-party fixture under `../shared/fixtures` beside the checkout
/// (CI always has it). Panics with the path it looked at when it is absent.
pub fn shared_fixture(relative: &str) -> PathBuf {
    let path = workspace().join("../shared/fixtures").join(relative);
    assert!(
        path.exists(),
        "fixture `{relative}` not found at {}: the shared fixtures must sit beside the checkout (../shared/fixtures)",
        path.display()
    );
    path
}

/// A path inside the bundled examples (`examples/` of the workspace).
pub fn example(relative: &str) -> PathBuf {
    workspace().join("examples").join(relative)
}

/// Every location an item's evidence names, as `path:line:column`.
pub fn locations(item: &crate::Item) -> Vec<String> {
    item.evidence
        .iter()
        .filter_map(|e| match e {
            crate::Evidence::Location(l) => Some(l.to_string()),
            _ => None,
        })
        .collect()
}

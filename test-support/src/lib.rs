//! Test support for the workspace's crates, dev-only: every crate lists it
//! under `[dev-dependencies]` and none under `[dependencies]` (tidy checks
//! both that and that no production source carries a test helper).
//!
//! - Fixtures, read in place: [`shared_fixture`] (third-party data under
//!   `../shared/fixtures` beside the checkout, never copied into the
//!   repository) and [`example`] (the bundled examples).
//! - [`locations`]: where an item's evidence points, as `path:line:column`.
//! - [`http::Server`]: a wiremock server on 127.0.0.1 with its own runtime,
//!   for synchronous tests of blocking clients; [`http::closed_port`] for a
//!   port nothing listens on.
//! - [`github`]: GitHub's recorded answers from the shared fixtures, as
//!   values or as wiremock answers whose `Link` headers point at the fake.
//!
//! # Which fake servers are wiremock and which stay raw
//!
//! A fake that answers each request with a status, headers and a body is a
//! wiremock [`http::Server`]: the GitHub fakes of the `ci` gate and of
//! `publish`, the servers of http-layer's client tests, the package index
//! of the build-dependency tests, the token proxy and the faulty registries
//! (500s, redirects, wrong digests) of the registry tests. wiremock also
//! covers an answer that comes late (`ResponseTemplate::set_delay`) and
//! bodies of any bytes.
//!
//! A fault below HTTP stays a raw `std::net::TcpListener` in its test,
//! because wiremock always answers a request it has read, in full:
//! - the registry test's server that accepts connections and never answers
//!   (a hang, where the client's own timeout must end the wait);
//! - http-layer's server that closes the first connection before any
//!   answer (a transport error the client must retry).
//!
//! Each is a few lines used once, so each stays in its test. Half-written
//! answers and bodies that trickle would be raw too; none is tested today.
//! A refused connection needs no server at all: [`http::closed_port`].
//!
//! A crate's own unit tests (`#[cfg(test)]` in its `src/`) must not use this
//! crate when it depends on that crate: they would see two copies of its
//! types. This crate depends on gate-core alone, so gate-core's unit tests
//! do without it; every other crate's may use it.

pub mod github;
pub mod http;

use std::path::{Path, PathBuf};

use gate_core::{Evidence, Item};

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
pub fn locations(item: &Item) -> Vec<String> {
    item.evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Location(l) => Some(l.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_found_under_the_workspace() {
        assert!(example("release-repo").is_dir(), "{}", example("release-repo").display());
    }

    #[test]
    #[should_panic(expected = "fixture `no/such/fixture` not found")]
    fn a_missing_fixture_names_itself() {
        shared_fixture("no/such/fixture");
    }
}

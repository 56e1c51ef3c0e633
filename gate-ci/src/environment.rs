//! The GitHub Actions variables the gate reads, captured once per run so
//! that tests can give their own.

use std::collections::BTreeMap;

/// The variables the gate reads (never the token, which the client reads itself).
pub const VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_API_URL",
    "GITHUB_BASE_REF",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_JOB",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID",
    "GITHUB_SERVER_URL",
    "GITHUB_SHA",
    "RUNNER_NAME",
];

/// A snapshot of [`VARIABLES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment(BTreeMap<String, String>);

impl Environment {
    /// The process's values.
    pub fn capture() -> Self {
        Self(
            VARIABLES
                .iter()
                .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
                .collect(),
        )
    }

    /// These values and no others (names outside [`VARIABLES`] are kept too,
    /// and never read).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// A variable's value, trimmed; empty counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

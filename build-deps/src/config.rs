//! `[gates.wheels.build-deps]`: what the analysis is asked to do.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr as _;

use gate_core::HumanDuration;
use pep508_rs::pep440_rs::Version;
use pip_requirements::normalise_name;
use serde::{Deserialize, Deserializer};

use crate::python::TargetPython;

/// `[gates.wheels.build-deps]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The Simple API root (PEP 691 JSON, else PEP 503 HTML).
    #[serde(default = "default_index_url", deserialize_with = "index_url")]
    pub index_url: String,
    /// The Pythons markers are evaluated for: versions `X.Y` or `X.Y.Z`, or
    /// interpreters ([`TargetPython`]).
    pub target_pythons: Vec<TargetPython>,
    /// Whether builds use pip's build isolation (the default).
    #[serde(default = "yes")]
    pub build_isolation: bool,
    /// Distributions installed from wheels, never built (pip's
    /// `--only-binary`): their build needs are not followed.
    #[serde(default, deserialize_with = "names")]
    pub only_binary: BTreeSet<String>,
    /// Where index answers are cached; default `$XDG_CACHE_HOME/release-check/index`
    /// (else `~/.cache/release-check/index`). Relative to the repository.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Read only the cache; never send a request.
    #[serde(default)]
    pub offline: bool,
    /// The pinned requirements, relative to the repository.
    #[serde(default = "default_requirements")]
    pub requirements: String,
    /// The pinned build requirements, relative to the repository.
    #[serde(default = "default_build_requirements")]
    pub build_requirements: String,
    /// A JSON report of an earlier run, relative to the repository: every
    /// version of the closure that changed since is listed.
    #[serde(default)]
    pub baseline: Option<String>,
    /// How long asking one sdist's build backend (the PEP 517 hooks) may take.
    #[serde(default = "default_hook_timeout")]
    pub hook_timeout: HumanDuration,
    /// A constraints file, relative to the repository, that reaches every
    /// resolution, build environments included, as `PIP_CONSTRAINT` does.
    #[serde(default)]
    pub constraints: Option<String>,
    /// The pip version whose rules apply (`"21.3.1"`); else the `pip` pinned
    /// in the build requirements, else each target interpreter's own.
    #[serde(default, deserialize_with = "pip_version")]
    pub pip: Option<Version>,
}

fn default_hook_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(120))
}

fn default_index_url() -> String {
    "https://pypi.org/simple/".to_owned()
}

fn default_requirements() -> String {
    "requirements.txt".to_owned()
}

fn default_build_requirements() -> String {
    "build-requirements.txt".to_owned()
}

fn yes() -> bool {
    true
}

fn names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<String>, D::Error> {
    Ok(Vec::<String>::deserialize(deserializer)?.iter().map(|name| normalise_name(name)).collect())
}

fn index_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let url = String::deserialize(deserializer)?;
    if !["https://", "http://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(serde::de::Error::custom(format!(
            "expected an https:// or http:// URL of a Simple API root, found `{url}`"
        )));
    }
    Ok(url)
}

fn pip_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Version>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Version::from_str(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!("expected a pip version such as \"21.3.1\", found `{text}`: {e}"))
    })
}

//! `[gates.wheels.rebuild]` and the checks it enables.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use gate_core::HumanDuration;
use serde::{Deserialize, Deserializer};

/// `[gates.wheels.rebuild]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Target interpreters: versions resolved under the pyenv root
    /// (`$PYENV_ROOT`, else `~/.pyenv`: `versions/<X.Y[.Z]>*/bin/python`),
    /// or interpreter paths (relative to the repository) or command names.
    #[serde(deserialize_with = "non_empty")]
    pub pythons: Vec<String>,
    /// `pip --index-url`. Without it and with `find-links`, pip runs with
    /// `--no-index`; without either, pip's default index.
    #[serde(default, deserialize_with = "index_url")]
    pub index_url: Option<String>,
    /// `pip --find-links` directories (relative to the repository) or URLs.
    #[serde(default)]
    pub find_links: Vec<String>,
    /// The hash-pinned build requirements, relative to the repository.
    #[serde(default = "default_build_requirements")]
    pub build_requirements: String,
    /// The requirements file whose `--hash` pins include each sdist's hash,
    /// relative to the repository.
    #[serde(default = "default_requirements")]
    pub requirements: String,
    /// `SOURCE_DATE_EPOCH`; default: the time of the repository's last commit.
    #[serde(default, deserialize_with = "epoch")]
    pub source_date_epoch: Option<i64>,
    /// How many wheels are built at once; default: `[run] jobs`.
    #[serde(default)]
    pub jobs: Option<NonZeroUsize>,
    /// The time one wheel's job (environment, download, both builds) may take.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// The cache and work directory; default: `$XDG_CACHE_HOME/release-check`
    /// (else `~/.cache/release-check`). Relative to the repository.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Reuse and store results. `--no-cache` sets it to false.
    #[serde(default = "yes")]
    pub cache: bool,
    /// Build even when running as root.
    #[serde(default)]
    pub allow_root: bool,
    /// Rebuild only these wheels (file names or project names); empty: all.
    /// `--wheel NAME` sets it.
    #[serde(default)]
    pub wheels: Vec<String>,
}

fn default_build_requirements() -> String {
    "build-requirements.txt".to_owned()
}

fn default_requirements() -> String {
    "requirements.txt".to_owned()
}

fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(600))
}

fn yes() -> bool {
    true
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let pythons = Vec::<String>::deserialize(deserializer)?;
    if pythons.is_empty() || pythons.iter().any(|p| p.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "expected at least one target Python, a version such as \"3.11\" or an interpreter path",
        ));
    }
    Ok(pythons)
}

fn index_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(deserializer)?;
    if !["https://", "http://", "file://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(serde::de::Error::custom(format!(
            "expected an https://, http:// or file:// URL, found `{url}`"
        )));
    }
    Ok(Some(url))
}

/// 1980-01-01, the earliest time a zip archive can record.
const ZIP_EPOCH: i64 = 315_532_800;

fn epoch<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let epoch = i64::deserialize(deserializer)?;
    if !(ZIP_EPOCH..=4_354_819_199).contains(&epoch) {
        return Err(serde::de::Error::custom(format!(
            "expected seconds since 1970 between {ZIP_EPOCH} (1980, the earliest a zip archive records) and 4354819199 (2107), found {epoch}"
        )));
    }
    Ok(Some(epoch))
}

gate_core::check_catalogue! {
    /// The checks of the rebuild, part of the wheels gate's checks; the only
    /// way the rebuild builds its items.
    pub(crate) enum Check {
        Rebuild = "rebuild" {
            severity: Blocker,
            summary: "The wheel rebuilt from its hash-pinned sdist is byte-identical to the committed wheel (opt-in: [gates.wheels.rebuild]).",
            remedy: "Read the differences in the evidence: fix the build (a timestamp, a path, a mode, a build dependency) or commit the rebuilt wheel and sign the sums file again.",
        },
        Unstable = "rebuild-unstable" {
            severity: Blocker,
            summary: "Two builds of the same sdist, under conditions that must not matter (build path, HOME, time zone, locale, umask, environment, CPUs, clock, file order), give the same wheel.",
            remedy: "Make the build reproducible: the evidence names the variation that changed the bytes and what differs (build time, random values, paths, file order).",
        },
        Failed = "rebuild-failed" {
            severity: Blocker,
            summary: "The wheel could be rebuilt: interpreter found, build environment made and left unchanged, sdist pinned and downloaded, build finished within the timeout.",
            remedy: "Read the reason and the build log's tail (the full log's path is in the evidence), fix the cause, and run again.",
        },
    }
}

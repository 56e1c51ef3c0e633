//! Finding, reading and validating the configuration.
//!
//! Sources, first match wins: `--config FILE`; `release-check.toml` at the
//! repository root; `[workspace.metadata.release-check]` in the root
//! `Cargo.toml` of a Cargo workspace (found with `cargo metadata`, read
//! with `toml` so that errors point into `Cargo.toml`); else defaults.
//! Unknown keys are errors, and every error names file, line, column, the
//! key and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use gate_core::{RunOptions, Severity, Waiver};
use serde::Deserialize;
use toml::Spanned;

use crate::registry;

/// The configuration file's name at a repository's root.
pub const FILE_NAME: &str = "release-check.toml";

/// The whole configuration. `docs/config.md` documents every key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[run]`: how gates are run.
    #[serde(default)]
    pub run: RunSection,
    /// `[severity]`: `"gate/check" = "blocker" | "warning"` overrides.
    #[serde(default)]
    pub severity: BTreeMap<Spanned<String>, Severity>,
    /// `[[waiver]]` entries.
    #[serde(default)]
    pub waiver: Vec<Spanned<Waiver>>,
    /// `[gates.<name>]`: each gate's own settings.
    #[serde(default)]
    pub gates: registry::GatesConfig,
}

/// `[run]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunSection {
    /// Timeout of a gate with no timeout of its own (default `10m`).
    pub timeout: Option<HumanDuration>,
    /// Per-gate timeouts, by gate name.
    #[serde(default)]
    pub timeouts: BTreeMap<Spanned<String>, HumanDuration>,
    /// Parallel jobs a gate may use (default: the number of cores; at most
    /// [`MAX_JOBS`]).
    pub jobs: Option<Spanned<std::num::NonZeroUsize>>,
}

/// The most parallel jobs `[run] jobs` may ask for.
pub const MAX_JOBS: usize = 256;

impl RunSection {
    /// `jobs`, when configured.
    pub fn jobs(&self) -> Option<usize> {
        self.jobs.as_ref().map(|j| j.get_ref().get())
    }
}

pub use gate_core::HumanDuration;

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A TOML file of its own.
    File(PathBuf),
    /// `[workspace.metadata.release-check]` of a Cargo workspace.
    CargoWorkspace(PathBuf),
    /// Nothing found: defaults.
    Defaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::CargoWorkspace(path) => {
                write!(f, "{} [workspace.metadata.release-check]", path.display())
            }
            Source::Defaults => f.write_str("none found, defaults"),
        }
    }
}

/// A configuration error, located in its file.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}{snippet}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
    snippet: String,
}

impl ConfigError {
    fn at(path: &Path, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let line_text = source[line_start..].lines().next().unwrap_or("");
        let width =
            source[start..span.end.min(source.len())].lines().next().map_or(1, |s| s.chars().count().max(1));
        let gutter = " ".repeat(line.to_string().len());
        let snippet = format!(
            "\n{gutter} |\n{line} | {line_text}\n{gutter} | {}{}",
            " ".repeat(column - 1),
            "^".repeat(width.min(line_text.chars().count().saturating_sub(column - 1).max(1)))
        );
        Self { path: path.display().to_string(), line, column, message: message.into(), snippet }
    }
}

/// The configuration and where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Its source.
    pub source: Source,
}

/// Finds and reads the configuration for `repo`.
pub fn load(repo: &Path, explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    use anyhow::Context as _;
    if let Some(path) = explicit {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let config = parse(path, &text)?;
        return Ok(Loaded { config, source: Source::File(path.to_owned()) });
    }
    let own = repo.join(FILE_NAME);
    if own.is_file() {
        let text = std::fs::read_to_string(&own).with_context(|| format!("cannot read {}", own.display()))?;
        return Ok(Loaded { config: parse(&own, &text)?, source: Source::File(own) });
    }
    let manifest = repo.join("Cargo.toml");
    if manifest.is_file()
        && declares_release_check_metadata(&manifest)
        && let Some(loaded) = load_cargo_workspace(repo, &manifest)?
    {
        return Ok(loaded);
    }
    Ok(Loaded { config: Config::default(), source: Source::Defaults })
}

/// Whether `manifest` has a `[workspace.metadata.release-check]` table: a
/// cheap look before asking cargo, so that a repository with an unrelated
/// `Cargo.toml` does not need cargo at all.
fn declares_release_check_metadata(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("workspace")?.get("metadata")?.get("release-check").cloned())
        .is_some()
}

/// `[workspace.metadata.release-check]` of the workspace rooted at `repo`,
/// found and confirmed with `cargo metadata`, then read with `toml` so that
/// errors point into `Cargo.toml`.
fn load_cargo_workspace(repo: &Path, manifest: &Path) -> anyhow::Result<Option<Loaded>> {
    use anyhow::Context as _;
    #[derive(Deserialize)]
    struct Manifest {
        workspace: Option<Workspace>,
    }
    #[derive(Deserialize)]
    struct Workspace {
        metadata: Option<Metadata>,
    }
    #[derive(Deserialize)]
    struct Metadata {
        #[serde(rename = "release-check")]
        release_check: Option<Config>,
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .with_context(|| format!("`cargo metadata` failed on {}", manifest.display()))?;
    let is_this_repo = metadata.workspace_root.as_std_path().canonicalize().ok() == repo.canonicalize().ok();
    if !is_this_repo || metadata.workspace_metadata.get("release-check").is_none() {
        return Ok(None);
    }
    let root_manifest = metadata.workspace_root.join("Cargo.toml").into_std_path_buf();
    let text = std::fs::read_to_string(&root_manifest)
        .with_context(|| format!("cannot read {}", root_manifest.display()))?;
    let parsed: Manifest = toml::from_str(&text).map_err(|e| toml_error(&root_manifest, &text, &e))?;
    let config = parsed.workspace.and_then(|w| w.metadata).and_then(|m| m.release_check).unwrap_or_default();
    validate(&root_manifest, &text, &config)?;
    Ok(Some(Loaded { config, source: Source::CargoWorkspace(root_manifest) }))
}

/// Parses and validates configuration text read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    validate(path, text, &config)?;
    Ok(config)
}

fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim_end().to_owned();
    ConfigError::at(path, text, error.span().unwrap_or(0..0), message)
}

/// Checks what serde cannot: gate and check names, waiver patterns.
fn validate(path: &Path, text: &str, config: &Config) -> Result<(), ConfigError> {
    let gates = registry::all_gates(&registry::GatesConfig::default());
    let gate_names: Vec<&str> = gates.iter().map(|g| g.name()).collect();
    for name in config.run.timeouts.keys() {
        if !gate_names.contains(&name.get_ref().as_str()) {
            let hint = suggestion(name.get_ref(), gate_names.iter().copied());
            return Err(ConfigError::at(
                path,
                text,
                name.span(),
                format!("unknown gate `{}` in [run.timeouts]{hint}", name.get_ref()),
            ));
        }
    }
    let checks: Vec<String> =
        gates.iter().flat_map(|g| g.checks().iter().map(move |c| format!("{}/{}", g.name(), c.id))).collect();
    for key in config.severity.keys() {
        if !checks.contains(key.get_ref()) {
            let hint = suggestion(key.get_ref(), checks.iter().map(String::as_str));
            return Err(ConfigError::at(
                path,
                text,
                key.span(),
                format!("unknown check `{}` in [severity], expected `gate/check`{hint}", key.get_ref()),
            ));
        }
    }
    if let Some(jobs) = &config.run.jobs
        && jobs.get_ref().get() > MAX_JOBS
    {
        return Err(ConfigError::at(
            path,
            text,
            jobs.span(),
            format!("[run] jobs = {} is too many, expected 1 to {MAX_JOBS}", jobs.get_ref()),
        ));
    }
    for waiver in &config.waiver {
        if let Err(e) = waiver.get_ref().validate() {
            return Err(ConfigError::at(path, text, waiver.span(), e.to_string()));
        }
    }
    Ok(())
}

/// "; did you mean `x`?" for the closest known name, else a pointer to
/// `--list-gates`.
fn suggestion<'a>(unknown: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| (strsim::jaro_winkler(unknown, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(
            || " (`--list-gates` lists every gate and check)".to_owned(),
            |(_, k)| format!("; did you mean `{k}`?"),
        )
}

impl Config {
    /// The runner's options.
    pub fn run_options(&self) -> RunOptions {
        let defaults = RunOptions::default();
        RunOptions {
            default_timeout: self.run.timeout.map_or(defaults.default_timeout, |d| d.0),
            timeouts: self.run.timeouts.iter().map(|(k, v)| (k.get_ref().clone(), v.0)).collect(),
            severity: self.severity.iter().map(|(k, v)| (k.get_ref().clone(), *v)).collect(),
            waivers: self.waiver.iter().map(|w| w.get_ref().clone()).collect(),
            off: Vec::new(),
        }
    }
}

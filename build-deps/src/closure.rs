//! The resolved build-dependency closure as report evidence, and what
//! changed since a baseline report.
//!
//! The `build-closure` item carries the closure as one fact, `closure`:
//! `name==version` entries separated by `, `, sorted by name then version (a
//! name appears once per version: a build environment may take another
//! version than the requirements pin); and the moment it was resolved for as
//! the fact `as of` (RFC 3339). A later run with `baseline = "<report.json>"`
//! reads them back from that report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use gate_core::{Evidence, Item, Location, Report, Severity};
use pep508_rs::pep440_rs::Version;

use gate_core::files::read_bounded;

use crate::checks::Check;

/// The check of this module.
pub(crate) const CHECK: &str = Check::Closure.id();

/// Largest baseline report read.
const MAX_REPORT: u64 = 64 * 1024 * 1024;

/// The `build-closure` pass item recording `closure`.
pub(crate) fn item(closure: &Closure, as_of: jiff::Timestamp, snapshot: &str) -> Item {
    let text: Vec<String> = closure
        .iter()
        .flat_map(|(name, versions)| versions.iter().map(move |version| format!("{name}=={version}")))
        .collect();
    Check::Closure
        .pass("", format!("{} distributions resolved from the {snapshot}", text.len()))
        .with(Evidence::fact("closure", text.join(", ")))
        .with(Evidence::fact("as of", as_of.to_string()))
}

/// The versions of each distribution, by normalised name.
pub type Closure = BTreeMap<String, BTreeSet<Version>>;

/// The closure a report recorded, and the moment it was resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Versions by name.
    pub closure: Closure,
    /// The `as of` moment of that run.
    pub as_of: jiff::Timestamp,
}

/// Why the closure recorded in a baseline report cannot be read; each
/// message is located in the report file.
#[derive(Debug, thiserror::Error)]
pub enum RecordedError {
    /// The report cannot be read.
    #[error(transparent)]
    Read(#[from] gate_core::files::ReadError),
    /// The file is not a release-check JSON report.
    #[error("{}:{}:{}: a release-check JSON report expected: {source}", path.display(), source.line(), source.column())]
    NotAReport {
        /// The report file.
        path: PathBuf,
        /// What the JSON parser found.
        source: serde_json::Error,
    },
    /// The report has no `build-closure` item.
    #[error(
        "{}: no `{CHECK}` item: the report was written without [gates.wheels.build-deps] configured, or by a release-check without this check",
        path.display()
    )]
    NoItem {
        /// The report file.
        path: PathBuf,
    },
    /// The `build-closure` item lacks a fact.
    #[error("{}: the `{CHECK}` item has no `{label}` fact", path.display())]
    NoFact {
        /// The report file.
        path: PathBuf,
        /// The missing fact's label.
        label: &'static str,
    },
    /// The `as of` fact is not a time.
    #[error("{}: `as of` `{value}` is not an RFC 3339 time: {source}", path.display())]
    BadTime {
        /// The report file.
        path: PathBuf,
        /// The fact's text.
        value: String,
        /// Why it does not parse.
        source: jiff::Error,
    },
    /// A closure entry is not `name==version`.
    #[error("{}: closure entry `{entry}` is not `name==version`", path.display())]
    BadEntry {
        /// The report file.
        path: PathBuf,
        /// The entry's text.
        entry: String,
    },
}

/// Reads the closure recorded in the JSON report at `path`; the error says
/// what is wrong, located in the file.
pub fn recorded(path: &Path) -> Result<Recorded, RecordedError> {
    let bytes = read_bounded(path, MAX_REPORT)?;
    let report: Report = serde_json::from_slice(&bytes)
        .map_err(|source| RecordedError::NotAReport { path: path.to_owned(), source })?;
    let item = report
        .gates
        .iter()
        .flat_map(|gate| &gate.items)
        .find(|item| item.check == CHECK)
        .ok_or_else(|| RecordedError::NoItem { path: path.to_owned() })?;
    let fact = |label: &'static str| {
        item.evidence
            .iter()
            .find_map(|evidence| match evidence {
                Evidence::Fact { label: l, value } if l == label => Some(value.as_str()),
                _ => None,
            })
            .ok_or_else(|| RecordedError::NoFact { path: path.to_owned(), label })
    };
    let text = fact("closure")?;
    let as_of = fact("as of")?;
    let as_of = as_of.parse().map_err(|source| RecordedError::BadTime {
        path: path.to_owned(),
        value: as_of.to_owned(),
        source,
    })?;
    let mut closure = Closure::new();
    for entry in text.split(", ").filter(|e| !e.is_empty()) {
        let parsed = entry
            .split_once("==")
            .and_then(|(name, version)| Some((name.to_owned(), Version::from_str(version).ok()?)));
        let (name, version) = parsed
            .ok_or_else(|| RecordedError::BadEntry { path: path.to_owned(), entry: entry.to_owned() })?;
        closure.entry(name).or_default().insert(version);
    }
    Ok(Recorded { closure, as_of })
}

/// One `build-closure` warning per distribution whose version changed, came
/// or went since the closure recorded in `baseline` (relative to `repo`),
/// or one pass when none did.
pub(crate) fn compare(repo: &Path, baseline: &str, closure: &Closure) -> Vec<Item> {
    let recorded = match recorded(&repo.join(baseline)) {
        Ok(recorded) => recorded,
        Err(reason) => {
            return vec![Check::Closure.error(baseline, reason.to_string()).at(Location::file(baseline))];
        }
    };
    let since = format!("since the baseline {baseline} (as of {})", recorded.as_of);
    let mut items = Vec::new();
    let names = recorded.closure.keys().chain(closure.keys()).collect::<std::collections::BTreeSet<_>>();
    let shown = |versions: &BTreeSet<Version>| {
        versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    };
    for name in names {
        let change = match (recorded.closure.get(name), closure.get(name)) {
            (Some(old), Some(new)) if old != new => format!("{} → {} {since}", shown(old), shown(new)),
            (Some(old), None) => format!("no longer in the closure {since} (was {})", shown(old)),
            (None, Some(new)) => format!("new in the closure {since}: {}", shown(new)),
            _ => continue,
        };
        items.push(Check::Closure.fail(name, change).severity(Severity::Warning));
    }
    if items.is_empty() {
        let count: usize = closure.values().map(BTreeSet::len).sum();
        items.push(Check::Closure.pass(baseline, format!("the same {count} versions {since}")));
    }
    items
}

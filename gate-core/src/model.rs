//! The report model: items, gate reports and the verdict.
//!
//! Everything here serialises to the versioned JSON report described by
//! `docs/report.schema.json`; bump [`REPORT_SCHEMA_VERSION`] on any change a
//! consumer could notice.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::waiver::{WaiverReport, WaiverState};

/// Version of the JSON report's schema (`schema_version` in every report).
pub const REPORT_SCHEMA_VERSION: u32 = 3;

/// What a gate concluded about one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The precondition holds for this item.
    Pass,
    /// The precondition does not hold.
    Fail,
    /// Something worth a look that is not a failure.
    Warn,
    /// Not checked (the reason says why). Skipped is not passed: a skipped
    /// item blocks like a failure unless a waiver excuses it or its check's
    /// severity is set to `warning`.
    Skipped,
    /// The gate could not decide. Always blocks: release-check fails closed.
    Error,
}

/// How much a failing item matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure stops the release.
    Blocker,
    /// A failure is listed but does not stop the release.
    Warning,
}

/// A place in a file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the checked repository where possible.
    pub path: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Location {
    /// A whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Self { path: path.into(), line: None, column: None }
    }

    /// A line and column in a file.
    pub fn at(path: impl Into<String>, line: u32, column: u32) -> Self {
        Self { path: path.into(), line: Some(line), column: Some(column) }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// What a gate looked at to reach its conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Evidence {
    /// A place in a file.
    Location(Location),
    /// A web address (a CI run, an API request, a registry manifest).
    Url {
        /// The address.
        url: String,
    },
    /// A hash that was compared.
    Hash {
        /// Algorithm, e.g. `sha256`.
        algorithm: Cow<'static, str>,
        /// What the source of truth says.
        expected: String,
        /// What was computed or found.
        #[serde(skip_serializing_if = "Option::is_none")]
        actual: Option<String>,
    },
    /// A labelled fact: a key fingerprint, a date, a version, a size.
    Fact {
        /// What the value is.
        label: Cow<'static, str>,
        /// The value.
        value: String,
    },
    /// An excerpt of a log or command output.
    Log {
        /// What produced it.
        label: Cow<'static, str>,
        /// The excerpt (already bounded by the gate).
        text: String,
    },
    /// How long something took.
    Timing {
        /// What was timed.
        label: Cow<'static, str>,
        /// Milliseconds.
        millis: u64,
    },
}

impl Evidence {
    /// A labelled fact.
    pub fn fact(label: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        Self::Fact { label: label.into(), value: value.into() }
    }

    /// A compared hash.
    pub fn hash(
        algorithm: impl Into<Cow<'static, str>>,
        expected: impl Into<String>,
        actual: Option<String>,
    ) -> Self {
        Self::Hash { algorithm: algorithm.into(), expected: expected.into(), actual }
    }
}

/// One thing a gate checked: a wheel, an image, a CI check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// `gate/check/subject` (`gate/check` when the subject is empty), stable
    /// across runs; waivers and `--explain` use it.
    /// Filled in by the runner.
    pub id: String,
    /// The kind of check, one of the gate's [`crate::CheckInfo`] ids.
    /// Borrowed when it is a literal, as a catalogue's are: a large run
    /// makes hundreds of thousands of items.
    pub check: Cow<'static, str>,
    /// What was checked, e.g. a wheel's file name.
    pub subject: String,
    /// The conclusion.
    pub status: Status,
    /// How much a failure matters.
    pub severity: Severity,
    /// One line saying why.
    pub reason: String,
    /// What the conclusion rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// The waiver that excuses this item's failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
}

impl Item {
    /// An item with the given status; failures default to blockers, the rest to warnings.
    pub fn new(
        status: Status,
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        let severity = match status {
            Status::Fail | Status::Error | Status::Skipped => Severity::Blocker,
            Status::Pass | Status::Warn => Severity::Warning,
        };
        Self {
            id: String::new(),
            check: check.into(),
            subject: subject.into(),
            status,
            severity,
            reason: reason.into(),
            evidence: Vec::new(),
            waived_by: None,
        }
    }

    /// A passing item.
    pub fn pass(
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(Status::Pass, check, subject, reason)
    }

    /// A failing item (a blocker unless [`Item::severity`] says otherwise).
    pub fn fail(
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(Status::Fail, check, subject, reason)
    }

    /// A warning.
    pub fn warn(
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(Status::Warn, check, subject, reason)
    }

    /// An item the gate could not decide; it always blocks.
    pub fn error(
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(Status::Error, check, subject, reason)
    }

    /// An item that was not checked; it blocks unless waived or configured
    /// as a warning, since skipped is not passed.
    pub fn skipped(
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(Status::Skipped, check, subject, reason)
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds a piece of evidence.
    pub fn with(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }

    /// Adds a location as evidence.
    pub fn at(self, location: Location) -> Self {
        self.with(Evidence::Location(location))
    }

    /// The item's id when reported by `gate`: `gate/check/subject`, or
    /// `gate/check` when the subject is empty.
    pub fn id_in(&self, gate: &str) -> String {
        // Pushed rather than `format!`ed: every item of a run gets one.
        let mut id = String::with_capacity(gate.len() + self.check.len() + self.subject.len() + 2);
        for part in [gate, "/", &self.check] {
            id.push_str(part);
        }
        if !self.subject.is_empty() {
            id.push('/');
            id.push_str(&self.subject);
        }
        id
    }

    /// Whether the item's `id` already is its id in `gate` ([`Item::id_in`]):
    /// a gate that builds its items in parallel may set their ids there,
    /// and the runner then keeps them rather than making each again.
    pub fn has_id_in(&self, gate: &str) -> bool {
        let rest = self.id.strip_prefix(gate).and_then(|r| r.strip_prefix('/'));
        match rest.and_then(|r| r.strip_prefix(self.check.as_ref())) {
            Some("") => self.subject.is_empty(),
            Some(rest) => !self.subject.is_empty() && rest.strip_prefix('/') == Some(self.subject.as_str()),
            None => false,
        }
    }

    /// How this item weighs on the verdict.
    pub fn weight(&self) -> Weight {
        match self.status {
            Status::Error => Weight::Blocker,
            _ if self.waived_by.is_some() => Weight::Waived,
            Status::Fail | Status::Skipped if self.severity == Severity::Blocker => Weight::Blocker,
            Status::Fail | Status::Skipped | Status::Warn => Weight::Warning,
            Status::Pass => Weight::Clear,
        }
    }
}

/// How an item weighs on the verdict, after severity and waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// Stops the release.
    Blocker,
    /// Listed, does not stop the release.
    Warning,
    /// A failure (or a skipped item) excused by a waiver.
    Waived,
    /// Passed.
    Clear,
}

/// How a gate's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateRunStatus {
    /// The gate ran to the end and reported items.
    Completed,
    /// The gate ran but found nothing it applies to.
    NothingToCheck,
    /// The gate did not finish within its timeout.
    TimedOut,
    /// The gate panicked.
    Panicked,
    /// The gate did not run: turned off in the configuration
    /// (`enabled = false`) or left out with `--gate`. Its notes say which.
    Off,
}

/// One gate's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The gate's name.
    pub name: String,
    /// The precondition it verifies.
    pub verifies: String,
    /// How its run ended.
    pub run: GateRunStatus,
    /// Wall-clock duration of the run in milliseconds.
    pub duration_ms: u64,
    /// The gate's notes (e.g. what it recognised).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every item the gate reported.
    pub items: Vec<Item>,
}

/// The answer to "can we ship this commit?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every blocker passed (warnings may remain).
    #[serde(rename = "GO")]
    Go,
    /// At least one blocker failed or errored.
    #[serde(rename = "NO-GO")]
    NoGo,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
        })
    }
}

/// Counts over every item of a report.
///
/// `blockers`, `warnings`, `waived` and `passed` partition the items by how
/// they weigh on the verdict; `skipped` counts the items that were not
/// checked, whichever of the first three they fall in (never in `passed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Items that stop the release.
    pub blockers: usize,
    /// Items and waivers listed as warnings.
    pub warnings: usize,
    /// Failures and skipped items excused by a waiver.
    pub waived: usize,
    /// Items that passed.
    pub passed: usize,
    /// Items that were not checked (also counted as blockers, warnings or
    /// waived, never as passed).
    pub skipped: usize,
}

/// A ref and where it came from (`main` from `--ref`, a SHA from
/// `GITHUB_SHA`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefSource {
    /// The ref as named: a branch, tag, SHA or `pull/N`.
    pub name: String,
    /// Where it came from: `configuration`, `--ref`, `GITHUB_SHA`, ….
    pub from: String,
}

/// The whole release report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA_VERSION`] at the time the report was written.
    pub schema_version: u32,
    /// The release-check version that wrote it.
    pub tool_version: String,
    /// The checked repository, as given on the command line.
    pub repository: String,
    /// Where the configuration came from.
    #[serde(default)]
    pub config: String,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The commit judged (full SHA), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A web page of the commit, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_url: Option<String>,
    /// The ref the commit was named by, and where it came from.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<RefSource>,
    /// The moment the release is judged at (RFC 3339, UTC): `--as-of`, else
    /// the start of the run.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub as_of: String,
    /// GO or NO-GO.
    pub verdict: Verdict,
    /// Why, in one line.
    pub headline: String,
    /// Counts over every item.
    pub summary: Summary,
    /// One entry per gate that ran, in the order they were registered.
    pub gates: Vec<GateReport>,
    /// Every configured waiver and what became of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverReport>,
    /// In the partial report of one shard of a sharded run: which shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardInfo>,
}

impl Report {
    /// Assembles a report and derives its summary, headline and verdict.
    ///
    /// The verdict is NO-GO when any item is a blocker (a failing or skipped
    /// blocker without a waiver, or any error), and also when no gate checked
    /// anything at all (no items, or only skipped ones): an empty report
    /// proves nothing.
    pub fn assemble(
        repository: String,
        generated_at: String,
        gates: Vec<GateReport>,
        waivers: Vec<WaiverReport>,
    ) -> Self {
        let mut summary = Summary::default();
        for item in gates.iter().flat_map(|g| &g.items) {
            match item.weight() {
                Weight::Blocker => summary.blockers += 1,
                Weight::Warning => summary.warnings += 1,
                Weight::Waived => summary.waived += 1,
                Weight::Clear => summary.passed += 1,
            }
            if item.status == Status::Skipped {
                summary.skipped += 1;
            }
        }
        summary.warnings += waivers.iter().filter(|w| w.state != WaiverState::Applied).count();
        let checked_anything = gates.iter().flat_map(|g| &g.items).any(|i| i.status != Status::Skipped);
        let skipped_blockers = gates
            .iter()
            .flat_map(|g| &g.items)
            .filter(|i| i.status == Status::Skipped && i.weight() == Weight::Blocker)
            .count();
        let (verdict, headline) = if summary.blockers > 0 {
            let not_checked = match skipped_blockers {
                0 => String::new(),
                1 if summary.blockers == 1 => ", not checked".to_owned(),
                n if n == summary.blockers => ", none of them checked".to_owned(),
                n => format!(", {n} of them not checked"),
            };
            (Verdict::NoGo, format!("{} blocker{}{not_checked}", summary.blockers, plural(summary.blockers)))
        } else if !checked_anything {
            (Verdict::NoGo, "no gate checked anything, so nothing shows the release is safe".to_owned())
        } else if summary.warnings > 0 || summary.waived > 0 {
            let mut parts = Vec::new();
            if summary.warnings > 0 {
                parts.push(format!("{} warning{}", summary.warnings, plural(summary.warnings)));
            }
            if summary.waived > 0 {
                parts.push(format!("{} waived", summary.waived));
            }
            (Verdict::Go, format!("no blockers, {}", parts.join(", ")))
        } else {
            (Verdict::Go, "every check passed".to_owned())
        };
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            repository,
            config: String::new(),
            generated_at,
            commit: None,
            commit_url: None,
            git_ref: None,
            as_of: String::new(),
            verdict,
            headline,
            summary,
            gates,
            waivers,
            shard: None,
        }
    }

    /// Names the commit judged, unless one is named already.
    pub fn name_commit(&mut self, judged: crate::JudgedCommit) {
        if self.commit.is_none() {
            self.commit = Some(judged.sha);
            self.commit_url = judged.url;
            self.git_ref = Some(judged.git_ref);
        }
    }

    /// Every item, with the gate it belongs to.
    pub fn items(&self) -> impl Iterator<Item = (&GateReport, &Item)> {
        self.gates.iter().flat_map(|g| g.items.iter().map(move |i| (g, i)))
    }
}

/// Moves `more` to the end of `items`: when `items` is empty it takes
/// `more`'s allocation instead of copying every item (an item is about 150
/// bytes, and a large gate passes hundreds of thousands up its calls).
pub fn append(items: &mut Vec<Item>, more: Vec<Item>) {
    if items.is_empty() && items.capacity() <= more.capacity() {
        *items = more;
    } else {
        items.extend(more);
    }
}

/// `"s"` when `n` is not one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_kept_exactly_when_it_is_the_one_the_runner_would_make() {
        let parts = ["", "wheels", "hash", "a", "a/b", "/", "wheels/hash", "hash/a", "wheelsx"];
        let mut ids: Vec<String> = Vec::new();
        for a in parts {
            for b in parts {
                ids.extend([format!("{a}/{b}"), format!("{a}{b}"), format!("{a}/{b}/")]);
            }
        }
        for gate in ["wheels", "ci"] {
            for check in ["hash", "pin", ""] {
                for subject in ["", "a", "a/b", "hash/a", "/"] {
                    for id in &ids {
                        let mut item = Item::pass(check, subject, "");
                        item.id = id.clone();
                        assert_eq!(
                            item.has_id_in(gate),
                            *id == item.id_in(gate),
                            "gate {gate:?}, check {check:?}, subject {subject:?}, id {id:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn append_keeps_order_and_takes_an_allocation_when_it_can() {
        let item = |subject: &str| Item::pass("hash", subject, "");
        let more = vec![item("b"), item("c")];
        let buffer = more.as_ptr();
        let mut items = Vec::new();
        append(&mut items, more);
        assert_eq!(items.as_ptr(), buffer, "an empty list takes the other's allocation");
        append(&mut items, vec![item("d")]);
        let mut front = vec![item("a")];
        append(&mut front, items);
        let subjects: Vec<&str> = front.iter().map(|i| i.subject.as_str()).collect();
        assert_eq!(subjects, ["a", "b", "c", "d"]);
    }
}

//! Sharding one run across CI jobs: the plan that splits the gates' work
//! units into shards, the `shard` block of a partial report, and the merge
//! of the partial reports into the final one.
//!
//! A shard is one gate, whole or restricted to some of its units
//! ([`crate::Gate::units`]). Every shard records the plan's digest, the
//! commit and the configuration's digest, so that merging can refuse a
//! shard of another plan instead of counting it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::model::{GateReport, GateRunStatus, Item, Location, REPORT_SCHEMA_VERSION, Report};
use crate::waiver::{self, Waiver};

/// GitHub Actions runs at most this many jobs from one matrix.
pub const MAX_SHARDS: usize = 256;

/// The commit of a plan made outside a git work tree and without `GITHUB_SHA`.
pub const UNKNOWN_COMMIT: &str = "unknown";

/// The name of the pseudo-gate whose items say what is wrong with the set of
/// partial reports.
pub const AGGREGATE_GATE: &str = "aggregate";

/// One shard of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedShard {
    /// `wheels-1`, or the gate's name when the gate is one shard.
    pub id: String,
    /// The gate it runs.
    pub gate: String,
    /// The gate's units it runs; empty: the whole gate.
    pub units: Vec<String>,
}

/// How a run is split into shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// `sha256:<hex>` over the tool version, commit, configuration and shards.
    pub digest: String,
    /// The commit the plan is for, or [`UNKNOWN_COMMIT`].
    pub commit: String,
    /// `sha256:<hex>` of the configuration.
    pub config: String,
    /// Units grouped per shard: the requested maximum, or more when the
    /// requested one would exceed [`MAX_SHARDS`].
    pub units_per_shard: usize,
    /// Every shard, gates in report order.
    pub shards: Vec<PlannedShard>,
}

impl Plan {
    /// Groups each gate's units (gates in report order) into shards of at
    /// most `max_per_shard` units, growing the groups when needed to stay
    /// within [`MAX_SHARDS`]. A gate without units is one shard.
    pub fn new(gates: &[(&str, Vec<String>)], max_per_shard: usize, commit: &str, config: &str) -> Self {
        let count =
            |per: usize| -> usize { gates.iter().map(|(_, units)| units.len().div_ceil(per).max(1)).sum() };
        let largest = gates.iter().map(|(_, units)| units.len()).max().unwrap_or(1).max(1);
        let mut per = max_per_shard.max(1);
        while per < largest && count(per) > MAX_SHARDS {
            per += 1;
        }
        let mut shards = Vec::new();
        for (gate, units) in gates {
            if units.is_empty() {
                shards.push(PlannedShard {
                    id: (*gate).to_owned(),
                    gate: (*gate).to_owned(),
                    units: Vec::new(),
                });
                continue;
            }
            for (index, group) in units.chunks(per).enumerate() {
                shards.push(PlannedShard {
                    id: format!("{gate}-{}", index + 1),
                    gate: (*gate).to_owned(),
                    units: group.to_vec(),
                });
            }
        }
        let digest = sha256_of(&serde_json::json!({
            "tool_version": env!("CARGO_PKG_VERSION"),
            "commit": commit,
            "config": config,
            "shards": shards,
        }));
        Self { digest, commit: commit.to_owned(), config: config.to_owned(), units_per_shard: per, shards }
    }

    /// The shard with this id.
    pub fn shard(&self, id: &str) -> Option<&PlannedShard> {
        self.shards.iter().find(|s| s.id == id)
    }

    /// The `shard` block of a partial report of `shard`.
    pub fn info(&self, shard: &PlannedShard) -> ShardInfo {
        ShardInfo {
            id: shard.id.clone(),
            gate: shard.gate.clone(),
            units: shard.units.clone(),
            plan: self.digest.clone(),
            commit: self.commit.clone(),
            config: self.config.clone(),
        }
    }

    /// The plan as pretty-printed JSON, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).expect("a plan always serialises");
        out.push('\n');
        out
    }

    /// One line of JSON for GitHub Actions' `strategy.matrix`:
    /// `{"include":[{"shard":"wheels-1","gate":"wheels"},…]}`.
    pub fn github_matrix(&self) -> String {
        let include: Vec<_> =
            self.shards.iter().map(|s| serde_json::json!({ "shard": s.id, "gate": s.gate })).collect();
        let mut out = serde_json::json!({ "include": include }).to_string();
        out.push('\n');
        out
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::digest::hex(&sha2::Sha256::digest(bytes)))
}

fn sha256_of(value: &serde_json::Value) -> String {
    sha256_hex(value.to_string().as_bytes())
}

/// The `shard` block of a partial report: which shard of which plan it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// The shard's id in its plan.
    pub id: String,
    /// The gate it ran.
    pub gate: String,
    /// The units it ran; empty: the whole gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// The plan's digest.
    pub plan: String,
    /// The commit the plan is for.
    pub commit: String,
    /// The configuration's digest.
    pub config: String,
}

/// A partial report, read from a file.
#[derive(Debug, Clone)]
pub struct Partial {
    /// Where it was read from, for messages.
    pub file: String,
    /// Its `shard` block.
    pub shard: ShardInfo,
    /// The report.
    pub report: Report,
}

/// Why a partial report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Could not be read at all: an I/O error, too large, not UTF-8.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// JSON, but not a release-check report: no `schema_version`.
    #[error("{file}: not a release-check report (JSON without a `schema_version`)")]
    NotAReport {
        /// The file.
        file: String,
    },
    /// Not JSON, or not a report.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A report of another schema version.
    #[error(
        "{file}: report schema version {found}, this release-check reads version {REPORT_SCHEMA_VERSION}: write every shard and aggregate with the same release-check"
    )]
    Version {
        /// The file.
        file: String,
        /// Its `schema_version`.
        found: u64,
    },
    /// A whole report, not a shard's.
    #[error(
        "{file}: not a partial report (it has no `shard` block); write partial reports with `release-check run --shard ID`"
    )]
    NotPartial {
        /// The file.
        file: String,
    },
}

impl ReadError {
    /// The file that could not be read.
    pub fn file(&self) -> &str {
        match self {
            Self::Io { file, .. }
            | Self::NotAReport { file }
            | Self::Syntax { file, .. }
            | Self::Version { file, .. }
            | Self::NotPartial { file } => file,
        }
    }

    /// Whether the file was surely not a shard's partial report: JSON that is
    /// not a release-check report, or a whole report. Anything else (unreadable,
    /// malformed, another schema version) may have been one.
    pub fn surely_not_a_partial(&self) -> bool {
        matches!(self, Self::NotAReport { .. } | Self::NotPartial { .. })
    }

    /// The item of the `aggregate` pseudo-gate that names the file: a
    /// warning when the file is surely not a partial report, else an error,
    /// since it may have been a shard's report that is now not counted.
    fn item(&self) -> Item {
        let file = self.file();
        let item = if self.surely_not_a_partial() {
            Item::warn("not-a-partial", file, format!("{self}; ignored"))
        } else {
            Item::error(
                "unreadable",
                file,
                format!("{self}; not counted: if it was a shard's partial report, that shard is missing"),
            )
        };
        match self {
            Self::Syntax { line, column, .. } => item.at(Location::at(
                file,
                u32::try_from(*line).unwrap_or(u32::MAX),
                u32::try_from(*column).unwrap_or(u32::MAX),
            )),
            _ => item.at(Location::file(file)),
        }
    }
}

/// Reads the partial report `text`, read from `file`.
pub fn read_partial(file: &str, text: &str) -> Result<Partial, ReadError> {
    let syntax = |e: serde_json::Error| ReadError::Syntax {
        file: file.to_owned(),
        line: e.line(),
        column: e.column().max(1),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
    };
    #[derive(Deserialize)]
    struct Versioned {
        schema_version: u64,
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(syntax)?;
    if value.get("schema_version").is_none() {
        return Err(ReadError::NotAReport { file: file.to_owned() });
    }
    let versioned: Versioned = serde_json::from_str(text).map_err(syntax)?;
    if versioned.schema_version != u64::from(REPORT_SCHEMA_VERSION) {
        return Err(ReadError::Version { file: file.to_owned(), found: versioned.schema_version });
    }
    let report: Report = serde_json::from_str(text).map_err(syntax)?;
    let Some(shard) = report.shard.clone() else {
        return Err(ReadError::NotPartial { file: file.to_owned() });
    };
    Ok(Partial { file: file.to_owned(), shard, report })
}

/// Merges partial reports into the final report of `plan`.
///
/// Each planned shard counts once: a partial of another commit, tool
/// version, configuration or plan is refused (`aggregate/shard-foreign`),
/// a second partial of a shard is refused (`aggregate/shard-duplicate`), and
/// a planned shard with no accepted partial is `aggregate/shard-missing`.
/// All are errors, so the verdict is NO-GO. Each file in `unread` is named
/// too: `aggregate/unreadable` (an error) when it may have been a shard's
/// report, `aggregate/not-a-partial` (a warning) when it surely was not one;
/// either way every planned shard still needs an accepted partial for GO.
/// The gates' items are merged per
/// gate in plan order; waivers are applied here, once, to every item, judged
/// at `today`.
pub fn aggregate(
    plan: &Plan,
    partials: Vec<Partial>,
    unread: &[ReadError],
    waivers: &[Waiver],
    today: jiff::civil::Date,
    repository: String,
) -> Report {
    let mut problems = Vec::new();
    if plan.commit == UNKNOWN_COMMIT {
        problems.push(Item::warn(
            "commit",
            "",
            "the commit is unknown (no GITHUB_SHA and the repository is not a git work tree root): shards of another commit are only told apart by their plan",
        ));
    }
    problems.extend(unread.iter().map(ReadError::item));
    let suspects: Vec<&str> =
        unread.iter().filter(|e| !e.surely_not_a_partial()).map(ReadError::file).collect();
    let mut accepted: BTreeMap<String, Partial> = BTreeMap::new();
    let mut regroupings = BTreeMap::new();
    for partial in partials {
        let shard = &partial.shard;
        if let Some(mismatch) = foreign(plan, &partial, &mut regroupings) {
            problems.push(
                Item::error(
                    "shard-foreign",
                    &shard.id,
                    format!("{}: shard `{}` is {mismatch}; not counted", partial.file, shard.id),
                )
                .at(Location::file(&partial.file)),
            );
            continue;
        }
        if let Some(first) = accepted.get(&shard.id) {
            problems.push(
                Item::error(
                    "shard-duplicate",
                    &shard.id,
                    format!(
                        "shard `{}` reported twice, by {} and {}; only the first is counted",
                        shard.id, first.file, partial.file
                    ),
                )
                .at(Location::file(&first.file))
                .at(Location::file(&partial.file)),
            );
            continue;
        }
        accepted.insert(shard.id.clone(), partial);
    }
    for planned in &plan.shards {
        if !accepted.contains_key(&planned.id) {
            let what = match planned.units.len() {
                0 => format!("the whole {} gate", planned.gate),
                n => format!("{n} unit{} of the {} gate", crate::model::plural(n), planned.gate),
            };
            let unread = match suspects.as_slice() {
                [] => String::new(),
                files => format!(" (or it is one of the files that could not be read: {})", files.join(", ")),
            };
            problems.push(Item::error(
                "shard-missing",
                &planned.id,
                format!(
                    "no partial report of shard `{}` ({what}): its job failed or was cancelled, or its report was not collected{unread}",
                    planned.id
                ),
            ));
        }
    }

    // The commit the shards judged (the ci shard names it), else the plan's.
    let judged = accepted.values().find_map(|p| {
        Some((p.report.commit.clone()?, p.report.git_ref.clone()?, p.report.commit_url.clone()))
    });
    let mut gates: Vec<GateReport> = Vec::new();
    if !problems.is_empty() {
        let items = problems
            .into_iter()
            .map(|mut item| {
                item.id = item.id_in(AGGREGATE_GATE);
                item
            })
            .collect();
        gates.push(GateReport {
            name: AGGREGATE_GATE.to_owned(),
            verifies: "every planned shard reported once, from this commit, configuration and plan"
                .to_owned(),
            run: GateRunStatus::Completed,
            duration_ms: 0,
            notes: Vec::new(),
            items,
        });
    }
    for planned in &plan.shards {
        let Some(partial) = accepted.remove(&planned.id) else { continue };
        for part in partial.report.gates {
            match gates.iter_mut().find(|g| g.name == part.name) {
                Some(merged) => merge_into(merged, part),
                None => gates.push(part),
            }
        }
    }
    // Shards run without waivers; they are judged here, over every item.
    for item in gates.iter_mut().flat_map(|g| g.items.iter_mut()) {
        item.waived_by = None;
    }
    let waivers = waiver::apply(waivers, gates.iter_mut().flat_map(|g| g.items.iter_mut()), today);
    let mut report = Report::assemble(repository, crate::runner::generated_now(), gates, waivers);
    match judged {
        Some((sha, git_ref, url)) => report.name_commit(crate::JudgedCommit { sha, git_ref, url }),
        None if plan.commit != UNKNOWN_COMMIT => report.name_commit(crate::JudgedCommit {
            sha: plan.commit.clone(),
            git_ref: crate::RefSource { name: plan.commit.clone(), from: "the plan".to_owned() },
            url: None,
        }),
        None => {}
    }
    report
}

/// What is foreign about a partial, if anything.
///
/// `regroupings` remembers, per plan digest, what [`regrouped`] found.
fn foreign(
    plan: &Plan,
    partial: &Partial,
    regroupings: &mut BTreeMap<String, Option<usize>>,
) -> Option<String> {
    let shard = &partial.shard;
    let tool = &partial.report.tool_version;
    let gates: BTreeSet<&str> = partial.report.gates.iter().map(|g| g.name.as_str()).collect();
    Some(if shard.commit != plan.commit {
        format!("from another commit ({}, expected {})", shard.commit, plan.commit)
    } else if tool != env!("CARGO_PKG_VERSION") {
        format!("from another release-check ({tool}, expected {})", env!("CARGO_PKG_VERSION"))
    } else if shard.config != plan.config {
        format!("from another configuration ({}, expected {})", shard.config, plan.config)
    } else if let Some(per) =
        *regroupings.entry(shard.plan.clone()).or_insert_with(|| regrouped(plan, &shard.plan))
    {
        format!(
            "from another plan, made with another --max-per-shard: it groups {per} unit{} per shard, this plan {} (give plan, run --shard and aggregate the same --max-per-shard, or set RELEASE_CHECK_MAX_PER_SHARD once for all three)",
            crate::model::plural(per),
            plan.units_per_shard
        )
    } else if plan.shard(&shard.id).is_none() {
        format!("from another plan (this plan has no such shard; it has {})", ids(plan))
    } else if shard.plan != plan.digest {
        format!("from another plan ({}, expected {})", shard.plan, plan.digest)
    } else if gates.len() != 1 || !gates.contains(shard.gate.as_str()) {
        format!("not of its plan: it reports gates {gates:?}, expected only `{}`", shard.gate)
    } else {
        return None;
    })
}

/// The units per shard of the plan of digest `digest` when it differs from
/// `plan` only by its grouping, as with another `--max-per-shard`.
fn regrouped(plan: &Plan, digest: &str) -> Option<usize> {
    if digest == plan.digest {
        return None;
    }
    let mut gates: Vec<(&str, Vec<String>)> = Vec::new();
    for shard in &plan.shards {
        match gates.last_mut() {
            Some((gate, units)) if *gate == shard.gate => units.extend(shard.units.iter().cloned()),
            _ => gates.push((&shard.gate, shard.units.clone())),
        }
    }
    let largest = gates.iter().map(|(_, units)| units.len()).max().unwrap_or(0);
    (1..=largest.max(1))
        .filter(|per| *per != plan.units_per_shard)
        .map(|per| Plan::new(&gates, per, &plan.commit, &plan.config))
        .find(|other| other.digest == digest)
        .map(|other| other.units_per_shard)
}

fn ids(plan: &Plan) -> String {
    plan.shards.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
}

/// Adds the report of another shard of the same gate.
fn merge_into(merged: &mut GateReport, part: GateReport) {
    merged.run = match (merged.run, part.run) {
        (GateRunStatus::Panicked | GateRunStatus::TimedOut, _) => merged.run,
        (_, GateRunStatus::Panicked | GateRunStatus::TimedOut) => part.run,
        (GateRunStatus::Completed, _) | (_, GateRunStatus::Completed) => GateRunStatus::Completed,
        (GateRunStatus::NothingToCheck, _) | (_, GateRunStatus::NothingToCheck) => {
            GateRunStatus::NothingToCheck
        }
        (GateRunStatus::Off, GateRunStatus::Off) => GateRunStatus::Off,
    };
    merged.duration_ms = merged.duration_ms.saturating_add(part.duration_ms);
    for note in part.notes {
        if !merged.notes.contains(&note) {
            merged.notes.push(note);
        }
    }
    merged.items.extend(part.items);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evidence, Status};

    fn units(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("w{i}")).collect()
    }

    #[test]
    fn gates_without_units_are_one_shard_each_and_units_are_grouped() {
        let plan = Plan::new(&[("wheels", units(5)), ("images", vec![])], 2, "abc", "sha256:c");
        let ids: Vec<&str> = plan.shards.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["wheels-1", "wheels-2", "wheels-3", "images"]);
        assert_eq!(plan.shards[2].units, ["w5"]);
        assert_eq!(plan.units_per_shard, 2);
    }

    #[test]
    fn groups_grow_to_stay_within_the_matrix_limit() {
        let plan = Plan::new(&[("wheels", units(1000)), ("images", vec![]), ("ci", vec![])], 1, "abc", "c");
        assert!(plan.shards.len() <= MAX_SHARDS, "{}", plan.shards.len());
        assert_eq!(plan.units_per_shard, 4);
        let covered: usize = plan.shards.iter().map(|s| s.units.len()).sum();
        assert_eq!(covered, 1000);
    }

    #[test]
    fn the_digest_depends_on_commit_config_and_grouping() {
        let base = Plan::new(&[("wheels", units(3))], 1, "abc", "c");
        assert_eq!(base.digest, Plan::new(&[("wheels", units(3))], 1, "abc", "c").digest);
        for other in [
            Plan::new(&[("wheels", units(3))], 2, "abc", "c"),
            Plan::new(&[("wheels", units(3))], 1, "abd", "c"),
            Plan::new(&[("wheels", units(3))], 1, "abc", "d"),
            Plan::new(&[("wheels", units(4))], 1, "abc", "c"),
        ] {
            assert_ne!(base.digest, other.digest);
        }
    }

    #[test]
    fn malformed_partials_are_located() {
        let err = read_partial("p.json", "{\n  \"schema_version\": 2,\n  oops\n}").unwrap_err();
        assert!(err.to_string().starts_with("p.json:3:3: key must be a string"), "{err}");
        let err = read_partial("p.json", "{\"schema_version\": 1}").unwrap_err();
        assert!(matches!(err, ReadError::Version { found: 1, .. }), "{err}");
    }

    #[test]
    fn merged_run_status_keeps_the_worst() {
        let gate = |run| GateReport {
            name: "wheels".into(),
            verifies: String::new(),
            run,
            duration_ms: 5,
            notes: vec!["n".into()],
            items: vec![Item::new(Status::Pass, "hash", "a", "ok").with(Evidence::fact("k", "v"))],
        };
        let mut merged = gate(GateRunStatus::Completed);
        merge_into(&mut merged, gate(GateRunStatus::TimedOut));
        merge_into(&mut merged, gate(GateRunStatus::NothingToCheck));
        assert_eq!(merged.run, GateRunStatus::TimedOut);
        assert_eq!((merged.duration_ms, merged.notes.len(), merged.items.len()), (15, 1, 3));
    }
}

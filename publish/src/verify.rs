//! A report read from a file is only as good as its items: anyone can edit
//! `"verdict": "NO-GO"` into `"GO"`. Before anything is posted, the
//! verdict, the headline and the counts are derived again from the items
//! and waivers, as release-check derives them ([`Report::assemble`]), and
//! the waivers the items name are checked against the report's own list.
//! A report that disagrees with itself gets no verdict.

use std::fmt;

use gate_core::render::escape;
use gate_core::{GateRunStatus, Report, Status, Summary, Verdict, WaiverState};

/// A report that disagrees with itself: what it states is not what its
/// items make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistent {
    /// Every disagreement found, in report order.
    pub problems: Vec<Problem>,
}

impl std::error::Error for Inconsistent {}

impl fmt::Display for Inconsistent {
    /// Every problem, the first first: it is what a commit status shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the report is inconsistent")?;
        for (n, problem) in self.problems.iter().enumerate() {
            write!(f, "{}{problem}", if n == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

/// One way a report disagrees with itself. Names from the report are
/// shown escaped: they may be hostile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The verdict is not the one the items make.
    #[error("it says {stated}, but its items make it {derived}")]
    Verdict {
        /// What the report says.
        stated: Verdict,
        /// What its items and waivers make it.
        derived: Verdict,
    },
    /// The counts are not the items'.
    #[error("its counts say {}, its items {}", counts(.stated), counts(.derived))]
    Summary {
        /// What the report says.
        stated: Summary,
        /// What its items and waivers give.
        derived: Summary,
    },
    /// The headline is not the one the items make.
    #[error("its headline says `{stated}`, its items `{derived}`")]
    Headline {
        /// What the report says (escaped).
        stated: String,
        /// What its items and waivers make it.
        derived: String,
    },
    /// An item's id is not `gate/check/subject`.
    #[error("item `{id}` of gate `{gate}` should have the id `{expected}`")]
    Id {
        /// The gate (escaped).
        gate: String,
        /// The item's id (escaped).
        id: String,
        /// The id its gate, check and subject make (escaped).
        expected: String,
    },
    /// An error is marked waived: errors are never waived.
    #[error("item `{id}` is an error marked waived by `{waiver}`, and errors are never waived")]
    WaivedError {
        /// The item (escaped).
        id: String,
        /// The waiver it names (escaped).
        waiver: String,
    },
    /// An item names a waiver the report does not list as applied.
    #[error("item `{id}` is waived by `{waiver}`, which is not an applied waiver of the report")]
    UnknownWaiver {
        /// The item (escaped).
        id: String,
        /// The waiver it names (escaped).
        waiver: String,
    },
    /// An item names an applied waiver that does not list it as matched.
    #[error("item `{id}` is waived by `{waiver}`, which did not match it")]
    UnmatchedWaiver {
        /// The item (escaped).
        id: String,
        /// The waiver it names (escaped).
        waiver: String,
    },
    /// A gate that did not finish, or checked nothing, has no error item.
    #[error("gate `{gate}` {run} but has no error item")]
    RunWithoutError {
        /// The gate (escaped).
        gate: String,
        /// How its run ended.
        run: &'static str,
    },
    /// A gate that did not run lists items.
    #[error("gate `{gate}` is off but lists items")]
    OffWithItems {
        /// The gate (escaped).
        gate: String,
    },
}

fn counts(s: &Summary) -> String {
    format!(
        "{} passed, {} skipped, {} blocker{}, {} warning{}, {} waived",
        s.passed,
        s.skipped,
        s.blockers,
        gate_core::model::plural(s.blockers),
        s.warnings,
        gate_core::model::plural(s.warnings),
        s.waived
    )
}

fn shown(text: &str) -> String {
    escape::text(text).into_owned()
}

/// Checks that `report` says what its items make it: the verdict, headline
/// and counts as [`Report::assemble`] derives them from the items and
/// waivers; every waived item names an applied waiver of the report that
/// matched it, and none is an error; ids are `gate/check/subject`; a gate
/// that timed out, panicked or checked nothing holds an error item, and a
/// gate that is off holds none.
pub fn verify(report: &Report) -> Result<(), Inconsistent> {
    let mut problems = Vec::new();
    let derived =
        Report::assemble(String::new(), String::new(), report.gates.clone(), report.waivers.clone());
    if report.verdict != derived.verdict {
        problems.push(Problem::Verdict { stated: report.verdict, derived: derived.verdict });
    }
    if report.summary != derived.summary {
        problems.push(Problem::Summary { stated: report.summary, derived: derived.summary });
    }
    if report.headline != derived.headline {
        problems.push(Problem::Headline { stated: shown(&report.headline), derived: derived.headline });
    }
    for gate in &report.gates {
        let run = match gate.run {
            GateRunStatus::TimedOut => Some("timed out"),
            GateRunStatus::Panicked => Some("panicked"),
            GateRunStatus::NothingToCheck => Some("checked nothing"),
            GateRunStatus::Completed | GateRunStatus::Off => None,
        };
        if let Some(run) = run
            && !gate.items.iter().any(|i| i.status == Status::Error)
        {
            problems.push(Problem::RunWithoutError { gate: shown(&gate.name), run });
        }
        if gate.run == GateRunStatus::Off && !gate.items.is_empty() {
            problems.push(Problem::OffWithItems { gate: shown(&gate.name) });
        }
        for item in &gate.items {
            let expected = item.id_in(&gate.name);
            if item.id != expected {
                problems.push(Problem::Id {
                    gate: shown(&gate.name),
                    id: shown(&item.id),
                    expected: shown(&expected),
                });
            }
            let Some(waiver) = &item.waived_by else { continue };
            let (id, named) = (shown(&item.id), shown(waiver));
            if item.status == Status::Error {
                problems.push(Problem::WaivedError { id, waiver: named });
                continue;
            }
            let applied: Vec<_> = report
                .waivers
                .iter()
                .filter(|w| w.state == WaiverState::Applied && &w.waiver.item == waiver)
                .collect();
            if applied.is_empty() {
                problems.push(Problem::UnknownWaiver { id, waiver: named });
            } else if !applied.iter().any(|w| w.matched.contains(&item.id)) {
                problems.push(Problem::UnmatchedWaiver { id, waiver: named });
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Inconsistent { problems }) }
}

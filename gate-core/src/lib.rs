//! The contract every release-check gate implements.
//!
//! A [`Gate`] verifies one release precondition and answers with a
//! [`GateOutcome`]: one [`Item`] per thing it looked at (a wheel, an image, a
//! check), each with a [`Status`], a [`Severity`], a short reason and the
//! [`Evidence`] it used. The [`runner`] runs gates in parallel with timeouts,
//! applies severity overrides and [`waiver`]s, and assembles a [`Report`]
//! whose [`Verdict`] is GO or NO-GO. The [`render`] module turns a report
//! into text, JSON or Markdown.

pub mod bounded;
pub mod catalogue;
pub mod digest;
pub mod duration;
pub mod files;
pub mod model;
pub mod render;
pub mod runner;
pub mod shard;
pub mod waiver;

pub use duration::{DurationError, HumanDuration};
pub use model::{
    Evidence, GateReport, GateRunStatus, Item, Location, REPORT_SCHEMA_VERSION, RefSource, Report, Severity,
    Status, Summary, Verdict,
};
pub use runner::{Activity, CancelToken, Context, OffGate, RunOptions};
pub use waiver::{Waiver, WaiverReport, WaiverState};

/// What a gate found: its items and free-form notes (for example which
/// repository layout it recognised).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GateOutcome {
    /// Notes shown above the gate's items, such as "recognised the flat layout".
    pub notes: Vec<String>,
    /// One item per thing the gate looked at.
    pub items: Vec<Item>,
    /// The commit the gate judged, when it judged one (the ci gate does):
    /// the report names it at the top.
    pub judged: Option<JudgedCommit>,
}

/// The commit a gate judged, and how it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedCommit {
    /// The full SHA.
    pub sha: String,
    /// The ref it was named by, and where that came from.
    pub git_ref: RefSource,
    /// A web page of the commit, when known.
    pub url: Option<String>,
}

impl GateOutcome {
    /// An outcome with no items yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Adds an item.
    pub fn push(&mut self, item: Item) {
        self.items.push(item);
    }
}

/// Describes one kind of check a gate performs, for `--list-gates` and
/// `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// The check's identifier inside its gate, e.g. `hash`.
    pub id: &'static str,
    /// The severity a failure of this check has unless configured otherwise.
    pub default_severity: Severity,
    /// One sentence: what the check verifies.
    pub summary: &'static str,
    /// What to do when it fails.
    pub remedy: &'static str,
}

/// One release precondition, verified against a repository.
///
/// Gates are constructed from their configuration by the binary's registry
/// and run concurrently on worker threads, so they must be `Send + Sync`.
/// A gate never decides the verdict: it reports what it saw, item by item.
/// Long-running gates should poll [`Context::cancel`] and stop early when the
/// runner has given up on them.
pub trait Gate: Send + Sync {
    /// The gate's short name, used in item ids and on the command line (`wheels`).
    fn name(&self) -> &'static str;

    /// One sentence: the precondition this gate verifies.
    fn verifies(&self) -> &'static str;

    /// Every kind of check this gate can report.
    fn checks(&self) -> &'static [CheckInfo];

    /// Verifies the precondition. Problems with the repository are items;
    /// a gate that cannot do its job reports an [`Status::Error`] item, which
    /// always blocks the release.
    fn run(&self, ctx: &Context) -> GateOutcome;

    /// The independent pieces of work `run` would do on `ctx.repo` (for
    /// example one per wheel), for sharding a run across CI jobs. Run with
    /// [`Context::units`] set to some of them, the gate reports exactly the
    /// items of those pieces, so that the items of every piece together are
    /// the items of a whole run. Empty (the default): the gate is one piece.
    fn units(&self, ctx: &Context) -> Vec<String> {
        let _ = ctx;
        Vec::new()
    }

    /// What to configure when the gate finds nothing to check: the end of
    /// the blocker the runner reports for an enabled gate that checked
    /// nothing. Say which files the gate looks for and which keys point it
    /// at them.
    fn nothing_to_check(&self) -> String {
        format!(
            "configure it under [gates.{name}] (docs/config.md), or turn it off with `[gates.{name}] enabled = false` if it does not apply",
            name = self.name()
        )
    }
}

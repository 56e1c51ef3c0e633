//! Runs gates in parallel and assembles the report.
//!
//! Each gate runs on its own OS thread rather than on an async runtime:
//! gates do blocking work (hashing files, waiting on `pip`, walking a
//! registry), a handful of gates never needs more threads than that, and a
//! thread that overruns its timeout can simply be abandoned: the runner
//! records a timeout error item, raises the gate's [`CancelToken`] and moves
//! on. A gate that wants async I/O starts its own runtime inside `run`.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use jiff::civil::Date;

use crate::model::{GateReport, GateRunStatus, Item, Report, Severity};
use crate::waiver::{self, Waiver};
use crate::{Gate, GateOutcome};

/// Raised by the runner when it stops waiting for a gate.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Whether the gate should stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Asks the gate to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a gate may know about the run.
#[derive(Debug, Clone)]
pub struct Context {
    /// Root of the repository being checked.
    pub repo: PathBuf,
    /// The moment the release is judged at: expiry of waivers, keys and
    /// signatures is decided against it. Defaults to now.
    pub now: jiff::Timestamp,
    /// How many parallel jobs a gate may use.
    pub jobs: usize,
    /// Raised when the runner gives up on this gate.
    pub cancel: CancelToken,
    /// The gate's units ([`Gate::units`]) to run, for one shard of a run;
    /// `None`: all of them.
    pub units: Option<BTreeSet<String>>,
    /// What the gate is working on now ([`Context::working_on`]), named by
    /// the runner when the gate times out.
    pub activity: Activity,
}

/// What a gate is working on, shared with the runner so that a timed-out
/// gate's error item can name it.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<Mutex<Option<String>>>);

impl Activity {
    /// The last thing set, if any.
    pub fn current(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, what: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
    }
}

impl Context {
    /// The UTC date of [`Context::now`].
    pub fn today(&self) -> Date {
        self.now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
    }

    /// A context for `repo`, judged now, with one job per available core.
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        Self {
            repo: repo.into(),
            now: jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cancel: CancelToken::default(),
            units: None,
            activity: Activity::default(),
        }
    }

    /// Records what the gate is working on now (`rebuilding foo.whl`,
    /// `asking GitHub for the check runs of abc123`): a gate that times out
    /// is reported with the last thing it named.
    pub fn working_on(&self, what: impl Into<String>) {
        self.activity.set(what.into());
    }

    /// Whether this run includes the unit `unit` ([`Gate::units`]).
    pub fn wants(&self, unit: &str) -> bool {
        self.units.as_ref().is_none_or(|units| units.contains(unit))
    }
}

/// Settings that shape a run, from configuration.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Timeout for a gate without its own.
    pub default_timeout: Duration,
    /// Per-gate timeouts by gate name.
    pub timeouts: BTreeMap<String, Duration>,
    /// Severity overrides keyed by `gate/check`.
    pub severity: BTreeMap<String, Severity>,
    /// Configured waivers.
    pub waivers: Vec<Waiver>,
    /// Gates that do not run, listed in the report as off.
    pub off: Vec<OffGate>,
}

/// A gate that does not run: turned off in the configuration or left out
/// with `--gate`. The report lists it as off, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffGate {
    /// The gate's name.
    pub name: String,
    /// The precondition it would verify.
    pub verifies: String,
    /// Why it is off, e.g. "turned off in the configuration (`[gates.ci] enabled = false`)".
    pub why: String,
}

impl OffGate {
    /// The report entry of a gate that is off.
    pub fn report(&self) -> GateReport {
        GateReport {
            name: self.name.clone(),
            verifies: self.verifies.clone(),
            run: GateRunStatus::Off,
            duration_ms: 0,
            notes: vec![format!("off: {}", self.why)],
            items: Vec::new(),
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(600),
            timeouts: BTreeMap::new(),
            severity: BTreeMap::new(),
            waivers: Vec::new(),
            off: Vec::new(),
        }
    }
}

/// Where panics inside gate threads are recorded (message and location) by
/// the hook that [`install_panic_hook`] installs.
static GATE_PANICS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

const THREAD_PREFIX: &str = "gate:";

/// The check of the error item a gate gets when it is enabled but reports
/// nothing at all.
pub const NOTHING_CHECKED: &str = "nothing-checked";

/// The [`NOTHING_CHECKED`] error item: the runner adds it to a gate that
/// reports nothing, and a gate that looked and found nothing to check (so
/// that it reports something) may add it itself.
pub fn nothing_checked(reason: impl Into<String>) -> Item {
    Item::error(NOTHING_CHECKED, "", reason)
}

/// The check of the error item a gate gets for each check it reported but
/// does not declare in [`Gate::checks`]: a check that `--explain`,
/// `--list-gates`, the docs and `[severity]` do not know is a bug of the
/// gate, and a report holding it is not trusted.
pub const UNDECLARED_CHECK: &str = "undeclared-check";

/// Installs a panic hook that keeps panics of gate threads off stderr and
/// records their message and location for the report. Other threads keep
/// the previous hook. Call once, early, from a binary.
pub fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        match thread.name().and_then(|n| n.strip_prefix(THREAD_PREFIX)) {
            Some(gate) => {
                let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
                let message = format!("{}{location}", payload_message(info.payload()));
                GATE_PANICS.lock().unwrap_or_else(|e| e.into_inner()).insert(gate.to_owned(), message);
            }
            None => previous(info),
        }
    }));
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

enum Ended {
    Finished(GateOutcome),
    Panicked(String),
    TimedOut,
}

/// Runs every gate concurrently and assembles the report.
///
/// Never stops at the first failure; a gate that panics or overruns its
/// timeout becomes an error item, so the verdict fails closed.
pub fn run(gates: &[Arc<dyn Gate>], ctx: &Context, options: &RunOptions, repository: String) -> Report {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut tokens = Vec::with_capacity(gates.len());
    let mut activities = Vec::with_capacity(gates.len());
    for (index, gate) in gates.iter().enumerate() {
        let gate = Arc::clone(gate);
        let tx = tx.clone();
        let ctx = Context { cancel: CancelToken::default(), activity: Activity::default(), ..ctx.clone() };
        tokens.push(ctx.cancel.clone());
        activities.push(ctx.activity.clone());
        let on_spawn_error = tx.clone();
        let spawned =
            std::thread::Builder::new().name(format!("{THREAD_PREFIX}{}", gate.name())).spawn(move || {
                let begun = Instant::now();
                let ended = match panic::catch_unwind(AssertUnwindSafe(|| gate.run(&ctx))) {
                    Ok(outcome) => Ended::Finished(outcome),
                    Err(payload) => {
                        let recorded =
                            GATE_PANICS.lock().unwrap_or_else(|e| e.into_inner()).remove(gate.name());
                        Ended::Panicked(recorded.unwrap_or_else(|| payload_message(&*payload)))
                    }
                };
                // The receiver may have given up on us (timeout); nothing to do then.
                let _ = tx.send((index, ended, begun.elapsed()));
            });
        if let Err(error) = spawned {
            let _ = on_spawn_error.send((
                index,
                Ended::Panicked(format!("could not start a thread: {error}")),
                Duration::ZERO,
            ));
        }
    }
    drop(tx);

    let deadlines: Vec<Instant> = gates
        .iter()
        .map(|g| started + options.timeouts.get(g.name()).copied().unwrap_or(options.default_timeout))
        .collect();
    let mut results: Vec<Option<(Ended, Duration)>> = (0..gates.len()).map(|_| None).collect();
    let mut pending = gates.len();
    while pending > 0 {
        let next_deadline = (0..gates.len())
            .filter(|&i| results[i].is_none())
            .map(|i| deadlines[i])
            .min()
            .expect("a pending gate has a deadline");
        match rx.recv_timeout(next_deadline.saturating_duration_since(Instant::now())) {
            Ok((index, ended, took)) => {
                if results[index].is_none() {
                    results[index] = Some((ended, took));
                    pending -= 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                for i in 0..gates.len() {
                    if results[i].is_none() && deadlines[i] <= now {
                        tokens[i].cancel();
                        pending -= 1;
                        results[i] = Some((Ended::TimedOut, now - started));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }

    let mut judged = Vec::new();
    let mut reports: Vec<GateReport> = gates
        .iter()
        .zip(results)
        .zip(&deadlines)
        .zip(&activities)
        .map(|(((gate, result), deadline), activity)| {
            let timeout = *deadline - started;
            let (report, commit) = gate_report(gate.as_ref(), result, timeout, activity.current(), options);
            judged.extend(commit);
            report
        })
        .collect();
    reports.extend(options.off.iter().map(OffGate::report));
    let waivers =
        waiver::apply(&options.waivers, reports.iter_mut().flat_map(|g| g.items.iter_mut()), ctx.today());
    let mut report = Report::assemble(repository, generated_now(), reports, waivers);
    report.as_of = ctx.now.to_string();
    if let Some(first) = judged.into_iter().next() {
        report.name_commit(first);
    }
    report
}

/// The wall-clock time for a report's `generated_at`, to the second.
pub(crate) fn generated_now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

fn gate_report(
    gate: &dyn Gate,
    result: Option<(Ended, Duration)>,
    timeout: Duration,
    activity: Option<String>,
    options: &RunOptions,
) -> (GateReport, Option<crate::JudgedCommit>) {
    let name = gate.name();
    let (run, outcome, took) = match result {
        Some((Ended::Finished(mut outcome), took)) => {
            let run = if outcome.items.is_empty() {
                // Enabled and checked nothing: that proves nothing, so it blocks.
                outcome.push(nothing_checked(format!(
                    "the gate is enabled but found nothing to check: {}",
                    gate.nothing_to_check()
                )));
                GateRunStatus::NothingToCheck
            } else {
                GateRunStatus::Completed
            };
            flag_undeclared_checks(gate, &mut outcome);
            (run, outcome, took)
        }
        Some((Ended::Panicked(message), took)) => {
            let mut outcome = GateOutcome::new();
            outcome.push(Item::error("panic", "", format!("the gate panicked: {message}")));
            (GateRunStatus::Panicked, outcome, took)
        }
        Some((Ended::TimedOut, took)) => {
            let mut outcome = GateOutcome::new();
            outcome.push(Item::error(
                "timeout",
                "",
                match activity {
                    Some(what) => format!(
                        "the gate did not finish within its timeout of {}; it was working on: {what}",
                        human_duration(timeout)
                    ),
                    None => format!(
                        "the gate did not finish within its timeout of {} (it had not said what it was working on)",
                        human_duration(timeout)
                    ),
                },
            ));
            (GateRunStatus::TimedOut, outcome, took)
        }
        None => {
            let mut outcome = GateOutcome::new();
            outcome.push(Item::error("panic", "", "the gate's thread ended without reporting"));
            (GateRunStatus::Panicked, outcome, Duration::ZERO)
        }
    };
    // This gate's overrides by check, so that no item formats a key.
    let severity_of: BTreeMap<&str, Severity> = options
        .severity
        .iter()
        .filter_map(|(key, &severity)| Some((key.strip_prefix(name)?.strip_prefix('/')?, severity)))
        .collect();
    let items = outcome
        .items
        .into_iter()
        .map(|mut item| {
            if !item.has_id_in(name) {
                item.id = item.id_in(name);
            }
            let configured = severity_of.get(item.check.as_ref());
            if let (Some(&severity), false) = (configured, item.status == crate::Status::Error) {
                item.severity = severity;
            }
            item
        })
        .collect();
    let report = GateReport {
        name: name.to_owned(),
        verifies: gate.verifies().to_owned(),
        run,
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        notes: outcome.notes,
        items,
    };
    (report, outcome.judged)
}

/// Adds an [`UNDECLARED_CHECK`] error item for each check of `outcome`'s
/// items that `gate` does not declare. The items themselves stay.
fn flag_undeclared_checks(gate: &dyn Gate, outcome: &mut GateOutcome) {
    let declared: BTreeSet<&str> = gate.checks().iter().map(|check| check.id).collect();
    let undeclared: BTreeSet<String> = outcome
        .items
        .iter()
        .filter(|item| item.check != NOTHING_CHECKED && !declared.contains(item.check.as_ref()))
        .map(|item| item.check.to_string())
        .collect();
    for check in undeclared {
        let reason = format!(
            "the gate reported items of the check `{check}`, which it does not declare (`release-check --list-gates`): they cannot be explained, configured or trusted, so this is a bug of the gate"
        );
        outcome.push(Item::error(UNDECLARED_CHECK, check, reason));
    }
}

/// Formats a duration the way the config accepts it (`90s`, `10m`).
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

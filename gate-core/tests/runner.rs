//! Verdict rules and runner behaviour, with small gates written for the tests.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use gate_core::model::Weight;
use gate_core::runner::{self, install_panic_hook};
use gate_core::{
    CheckInfo, Context, Gate, GateOutcome, GateRunStatus, Item, RunOptions, Severity, Status, Verdict,
    Waiver, WaiverState,
};

/// A gate that reports fixed items, or runs a closure.
struct Fixed {
    name: &'static str,
    run: Box<dyn Fn(&Context) -> GateOutcome + Send + Sync>,
}

const CHECKS: &[CheckInfo] = &[CheckInfo {
    id: "thing",
    default_severity: Severity::Blocker,
    summary: "a thing holds",
    remedy: "fix the thing",
}];

impl Gate for Fixed {
    fn name(&self) -> &'static str {
        self.name
    }
    fn verifies(&self) -> &'static str {
        "things hold"
    }
    fn checks(&self) -> &'static [CheckInfo] {
        CHECKS
    }
    fn run(&self, ctx: &Context) -> GateOutcome {
        (self.run)(ctx)
    }
}

fn gate(name: &'static str, run: impl Fn(&Context) -> GateOutcome + Send + Sync + 'static) -> Arc<dyn Gate> {
    Arc::new(Fixed { name, run: Box::new(run) })
}

fn items(items: Vec<Item>) -> GateOutcome {
    GateOutcome { items, ..GateOutcome::default() }
}

fn ctx() -> Context {
    let mut ctx = Context::new(".");
    ctx.now = "2026-11-25T12:00:00Z".parse().unwrap();
    ctx
}

fn run(gates: &[Arc<dyn Gate>], options: &RunOptions) -> gate_core::Report {
    runner::run(gates, &ctx(), options, "repo".into())
}

fn waiver(item: &str, expires: &str) -> Waiver {
    Waiver {
        item: item.into(),
        reason: "accepted for this release".into(),
        expires: expires.parse().unwrap(),
        issue: None,
    }
}

#[test]
fn all_passing_is_go() {
    let report = run(&[gate("a", |_| items(vec![Item::pass("thing", "x", "ok")]))], &RunOptions::default());
    assert_eq!(report.verdict, Verdict::Go);
    assert_eq!(report.headline, "every check passed");
    assert_eq!(report.gates[0].items[0].id, "a/thing/x");
}

#[test]
fn a_failing_blocker_is_no_go_and_a_failing_warning_is_not() {
    let blocker =
        run(&[gate("a", |_| items(vec![Item::fail("thing", "x", "broken")]))], &RunOptions::default());
    assert_eq!(blocker.verdict, Verdict::NoGo);
    assert_eq!(blocker.summary.blockers, 1);

    let warning = run(
        &[gate("a", |_| items(vec![Item::fail("thing", "x", "meh").severity(Severity::Warning)]))],
        &RunOptions::default(),
    );
    assert_eq!(warning.verdict, Verdict::Go);
    assert_eq!(warning.summary.warnings, 1);
    assert_eq!(warning.headline, "no blockers, 1 warning");
}

#[test]
fn severity_override_escalates_a_warning_to_a_blocker() {
    let options =
        RunOptions { severity: [("a/thing".to_owned(), Severity::Blocker)].into(), ..RunOptions::default() };
    let report = run(
        &[gate("a", |_| items(vec![Item::fail("thing", "x", "meh").severity(Severity::Warning)]))],
        &options,
    );
    assert_eq!(report.verdict, Verdict::NoGo);
}

#[test]
fn waiver_excuses_a_blocker_but_expired_waiver_does_not() {
    let failing = || gate("a", |_| items(vec![Item::fail("thing", "x", "broken")]));
    let live = RunOptions { waivers: vec![waiver("a/thing/x", "2026-11-25")], ..RunOptions::default() };
    let report = run(&[failing()], &live);
    assert_eq!(report.verdict, Verdict::Go);
    assert_eq!(report.summary.waived, 1);
    assert_eq!(report.gates[0].items[0].weight(), Weight::Waived);
    assert_eq!(report.waivers[0].state, WaiverState::Applied);

    let expired = RunOptions { waivers: vec![waiver("a/thing/x", "2026-11-24")], ..RunOptions::default() };
    let report = run(&[failing()], &expired);
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.waivers[0].state, WaiverState::Expired);
    assert_eq!(report.summary.warnings, 1, "the expired waiver is itself a warning");
}

#[test]
fn unmatched_waiver_is_a_warning() {
    let options =
        RunOptions { waivers: vec![waiver("a/thing/nothing-*", "2030-01-01")], ..RunOptions::default() };
    let report = run(&[gate("a", |_| items(vec![Item::pass("thing", "x", "ok")]))], &options);
    assert_eq!(report.verdict, Verdict::Go);
    assert_eq!(report.waivers[0].state, WaiverState::Unmatched);
    assert_eq!(report.summary.warnings, 1);
}

#[test]
fn an_error_item_blocks_even_with_a_waiver_and_warning_severity() {
    let options = RunOptions { waivers: vec![waiver("a/*", "2030-01-01")], ..RunOptions::default() };
    let report = run(
        &[gate("a", |_| items(vec![Item::error("thing", "x", "cannot read").severity(Severity::Warning)]))],
        &options,
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.gates[0].items[0].waived_by, None);
}

#[test]
fn a_panicking_gate_becomes_an_error_item_and_others_still_report() {
    install_panic_hook();
    let report = run(
        &[
            gate("boom", |_| panic!("sums file exploded")),
            gate("fine", |_| items(vec![Item::pass("thing", "x", "ok")])),
        ],
        &RunOptions::default(),
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    let boom = &report.gates[0];
    assert_eq!(boom.run, GateRunStatus::Panicked);
    assert_eq!(boom.items[0].status, Status::Error);
    assert!(boom.items[0].reason.contains("sums file exploded"), "{}", boom.items[0].reason);
    assert!(boom.items[0].reason.contains("runner.rs"), "the location is recorded: {}", boom.items[0].reason);
    assert_eq!(report.gates[1].items.len(), 1);
}

#[test]
fn a_gate_past_its_timeout_is_an_error_and_is_asked_to_stop() {
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let options = RunOptions {
        timeouts: [("slow".to_owned(), Duration::from_millis(200))].into(),
        ..RunOptions::default()
    };
    let report = run(
        &[
            gate("slow", move |ctx| {
                while !ctx.cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let _ = seen_tx.send(());
                items(vec![Item::pass("thing", "x", "too late")])
            }),
            gate("fine", |_| items(vec![Item::pass("thing", "x", "ok")])),
        ],
        &options,
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.gates[0].run, GateRunStatus::TimedOut);
    assert_eq!(report.gates[0].items[0].id, "slow/timeout");
    assert!(report.gates[0].items[0].reason.contains("200ms"), "{}", report.gates[0].items[0].reason);
    seen_rx.recv_timeout(Duration::from_secs(10)).expect("the slow gate saw its cancel token raised");
}

#[test]
fn gates_run_concurrently() {
    // Each gate waits for the other at a barrier: run one after the other,
    // the first would wait forever and time out.
    let barrier = Arc::new(Barrier::new(2));
    let (a, b) = (Arc::clone(&barrier), Arc::clone(&barrier));
    let options = RunOptions { default_timeout: Duration::from_secs(20), ..RunOptions::default() };
    let report = run(
        &[
            gate("a", move |_| {
                a.wait();
                items(vec![Item::pass("thing", "x", "met b")])
            }),
            gate("b", move |_| {
                b.wait();
                items(vec![Item::pass("thing", "x", "met a")])
            }),
        ],
        &options,
    );
    assert_eq!(report.verdict, Verdict::Go);
}

#[test]
fn an_enabled_gate_that_checks_nothing_blocks_and_says_what_to_configure() {
    let report = run(
        &[gate("a", |_| GateOutcome::new()), gate("b", |_| items(vec![Item::pass("thing", "x", "ok")]))],
        &RunOptions::default(),
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.gates[0].run, GateRunStatus::NothingToCheck);
    let item = &report.gates[0].items[0];
    assert_eq!((item.id.as_str(), item.status), ("a/nothing-checked", Status::Error));
    assert!(item.reason.contains("[gates.a]") && item.reason.contains("enabled = false"), "{}", item.reason);
    assert_eq!(report.headline, "1 blocker");
}

#[test]
fn skipped_is_not_passed() {
    let report = run(
        &[gate("a", |_| {
            items(vec![Item::pass("thing", "x", "ok"), Item::skipped("thing", "y", "not fetched")])
        })],
        &RunOptions::default(),
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.headline, "1 blocker, not checked");
    let s = report.summary;
    assert_eq!((s.passed, s.skipped, s.blockers, s.warnings, s.waived), (1, 1, 1, 0, 0));
}

#[test]
fn a_skip_is_accepted_only_explicitly_by_a_waiver_or_a_warning_severity() {
    let skipping = || gate("a", |_| items(vec![Item::skipped("thing", "y", "not fetched")]));
    let waived = run(
        &[skipping(), gate("b", |_| items(vec![Item::pass("thing", "x", "ok")]))],
        &RunOptions { waivers: vec![waiver("a/thing/y", "2030-01-01")], ..RunOptions::default() },
    );
    assert_eq!(waived.verdict, Verdict::Go, "{}", waived.headline);
    assert_eq!((waived.summary.waived, waived.summary.skipped, waived.summary.passed), (1, 1, 1));
    let warning = run(
        &[skipping(), gate("b", |_| items(vec![Item::pass("thing", "x", "ok")]))],
        &RunOptions { severity: [("a/thing".to_owned(), Severity::Warning)].into(), ..RunOptions::default() },
    );
    assert_eq!(warning.verdict, Verdict::Go, "{}", warning.headline);
    assert_eq!((warning.summary.warnings, warning.summary.skipped), (1, 1));
}

#[test]
fn no_gate_checking_anything_is_no_go() {
    let report =
        run(&[gate("a", |_| items(vec![Item::skipped("thing", "", "no source")]))], &RunOptions::default());
    assert_eq!(report.verdict, Verdict::NoGo);
    assert!(report.headline.contains("not checked"), "{}", report.headline);
}

#[test]
fn gates_that_are_off_are_listed_as_off_and_weigh_nothing() {
    let options = RunOptions {
        off: vec![gate_core::OffGate {
            name: "ci".into(),
            verifies: "ci is green".into(),
            why: "left out with --gate".into(),
        }],
        ..RunOptions::default()
    };
    let report = run(&[gate("a", |_| items(vec![Item::pass("thing", "x", "ok")]))], &options);
    assert_eq!(report.verdict, Verdict::Go);
    let off = report.gates.iter().find(|g| g.name == "ci").expect("the off gate is listed");
    assert_eq!(off.run, GateRunStatus::Off);
    assert!(off.items.is_empty());
    assert_eq!(off.notes, ["off: left out with --gate"]);
    let text = gate_core::render::text(&report, gate_core::render::TextOptions::default());
    assert!(text.contains("ci — off"), "{text}");
    let markdown = gate_core::render::markdown(&report);
    assert!(markdown.contains("| ci | ➖ off |"), "{markdown}");
}

#[test]
fn only_gates_that_are_off_is_no_go() {
    let options = RunOptions {
        off: vec![gate_core::OffGate {
            name: "ci".into(),
            verifies: "ci is green".into(),
            why: "off".into(),
        }],
        ..RunOptions::default()
    };
    let report = run(&[], &options);
    assert_eq!(report.verdict, Verdict::NoGo);
}

#[test]
fn a_timed_out_gate_names_what_it_was_working_on() {
    let options = RunOptions { default_timeout: Duration::from_millis(200), ..RunOptions::default() };
    let report = run(
        &[gate("slow", |ctx| {
            ctx.working_on("rebuilding rc_units-0.3.1-py3-none-any.whl");
            while !ctx.cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(10));
            }
            GateOutcome::new()
        })],
        &options,
    );
    assert_eq!(report.gates[0].run, GateRunStatus::TimedOut);
    let reason = &report.gates[0].items[0].reason;
    assert!(reason.contains("working on: rebuilding rc_units-0.3.1-py3-none-any.whl"), "{reason}");
}

#[test]
fn the_commit_a_gate_judged_heads_the_report() {
    let report = run(
        &[gate("ci", |_| {
            let mut outcome = items(vec![Item::pass("thing", "x", "ok")]);
            outcome.judged = Some(gate_core::JudgedCommit {
                sha: "5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea5e".into(),
                git_ref: gate_core::RefSource { name: "main".into(), from: "--ref".into() },
                url: None,
            });
            outcome
        })],
        &RunOptions::default(),
    );
    assert_eq!(report.commit.as_deref(), Some("5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea5e"));
    assert_eq!(report.git_ref.as_ref().map(|r| (r.name.as_str(), r.from.as_str())), Some(("main", "--ref")));
    assert_eq!(report.as_of, "2026-11-25T12:00:00Z");
    let json = gate_core::render::json(&report);
    assert!(json.contains("\"ref\": {"), "{json}");
    let text = gate_core::render::text(&report, gate_core::render::TextOptions::default());
    assert!(
        text.contains("\ncommit 5e1ea5ec0ffe (main, from --ref) · as of 2026-11-25T12:00:00Z\n"),
        "{text}"
    );

    let mut linked = report.clone();
    linked.commit_url = Some("https://github.com/o/r/commit/5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea5e".into());
    let markdown = gate_core::render::markdown(&linked);
    assert!(
        markdown.contains("Commit [<code>5e1ea5ec0ffe</code>](https://github.com/o/r/commit/5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea5e) (main, from --ref)"),
        "{markdown}"
    );
    linked.commit_url = Some("https://x.invalid/a)[b](javascript:alert(1)".into());
    let markdown = gate_core::render::markdown(&linked);
    assert!(
        markdown.contains("Commit <code>5e1ea5ec0ffe</code> (main"),
        "an odd address is not linked: {markdown}"
    );
}

#[test]
fn a_check_the_gate_does_not_declare_blocks_and_names_it() {
    let report = run(
        &[gate("a", |_| {
            items(vec![
                Item::pass("thing", "x", "ok"),
                Item::pass("stray", "y", "ok"),
                Item::pass("stray", "z", "ok"),
            ])
        })],
        &RunOptions::default(),
    );
    assert_eq!(report.verdict, Verdict::NoGo);
    let ids: Vec<&str> = report.gates[0].items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a/thing/x", "a/stray/y", "a/stray/z", "a/undeclared-check/stray"]);
    let flagged = &report.gates[0].items[3];
    assert_eq!(flagged.status, Status::Error);
    assert!(flagged.reason.contains("`stray`, which it does not declare"), "{}", flagged.reason);
    // A waiver cannot hide the bug: errors block whatever waives them.
    let waived = RunOptions {
        waivers: vec![waiver("a/undeclared-check/stray", "2026-12-31")],
        ..RunOptions::default()
    };
    let report = run(&[gate("a", |_| items(vec![Item::pass("stray", "y", "ok")]))], &waived);
    assert_eq!(report.verdict, Verdict::NoGo, "{:?}", report.gates[0].items);
}

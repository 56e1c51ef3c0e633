//! A report is posted only if it agrees with itself: a verdict, headline or
//! count that its items and waivers do not make, a waiver that is not the
//! report's, a waived error, an id that is not `gate/check/subject`, or a
//! gate whose run its items do not show, gives no verdict and an `error`
//! status, as an unreadable report does.

mod support;

use gate_core::{
    GateReport, GateRunStatus, Item, Report, Verdict, Waiver, WaiverReport, WaiverState, render, waiver,
};
use github::Repo;
use publish::{Actions, Options, Problem, Publication, Target};
use support::{REPO, SHA, report};

fn target() -> Target {
    Target { repo: Repo::parse(REPO).unwrap(), sha: Some(SHA.to_owned()), pr: Some(7) }
}

fn inside_actions() -> Actions {
    Actions {
        step_summary: Some("summary.md".into()),
        run_url: Some("https://github.com/octo/app/actions/runs/1".into()),
    }
}

fn prepare(report: &Report) -> Publication {
    publish::prepare(Ok(report), &target(), &Options::default(), Some(&inside_actions()))
}

fn no_go() -> Report {
    report(vec![(
        "wheels",
        vec![
            Item::pass("sums", "a.whl", "matches"),
            Item::fail("sums", "b.whl", "differs").at(gate_core::Location::at("SHA256SUMS", 2, 1)),
        ],
    )])
}

/// A report whose failure a waiver excuses, as the runner applies it.
fn waived() -> Report {
    let mut items = vec![Item::pass("sums", "a.whl", "matches"), Item::fail("sums", "b.whl", "differs")];
    for item in &mut items {
        item.id = item.id_in("wheels");
    }
    let waivers = [Waiver {
        item: "wheels/sums/b.*".into(),
        reason: "rebuilt upstream".into(),
        expires: "2026-12-31".parse().unwrap(),
        issue: None,
    }];
    let reports = waiver::apply(&waivers, items.iter_mut(), "2026-11-26".parse().unwrap());
    let gate = GateReport {
        name: "wheels".into(),
        verifies: "wheels are fine".into(),
        run: GateRunStatus::Completed,
        duration_ms: 1,
        notes: Vec::new(),
        items,
    };
    Report::assemble("octo/app".into(), "2026-11-26T02:00:00Z".into(), vec![gate], reports)
}

/// `report` with its verdict, headline and counts derived again, as a
/// careful forger would leave them.
fn reassembled(report: Report) -> Report {
    Report::assemble(report.repository, report.generated_at, report.gates, report.waivers)
}

fn problems(report: &Report) -> Vec<Problem> {
    publish::verify(report).err().map(|e| e.problems).unwrap_or_default()
}

/// Asserts that `report` gets only an error status saying it is inconsistent.
fn refused(report: &Report) -> String {
    let publication = prepare(report);
    assert!(publication.comment.is_none(), "no comment for an inconsistent report");
    assert!(publication.summary.is_none(), "no job summary for an inconsistent report");
    assert_eq!(publication.annotations, "", "no annotations for an inconsistent report");
    let (sha, status) = publication.status.as_ref().expect("a status");
    assert_eq!(sha, SHA);
    assert_eq!(status.state, "error", "{status:?}");
    assert!(status.description.starts_with("no verdict: the report is inconsistent: "), "{status:?}");
    status.description.clone()
}

#[test]
fn reports_as_release_check_writes_them_are_consistent() {
    let timed_out = {
        let mut report = no_go();
        report.gates[0].run = GateRunStatus::TimedOut;
        report.gates[0]
            .items
            .push(Item { id: "wheels/timeout".into(), ..Item::error("timeout", "", "late") });
        reassembled(report)
    };
    let off = {
        let mut report = no_go();
        report.gates.push(GateReport {
            name: "ci".into(),
            verifies: "checks".into(),
            run: GateRunStatus::Off,
            duration_ms: 0,
            notes: vec!["off: turned off".into()],
            items: Vec::new(),
        });
        reassembled(report)
    };
    for report in
        [no_go(), waived(), timed_out, off, report(vec![("wheels", vec![Item::pass("s", "a", "ok")])])]
    {
        assert_eq!(publish::verify(&report), Ok(()), "{}", render::json(&report));
        let publication = prepare(&report);
        assert!(publication.comment.is_some() && publication.summary.is_some());
        let expected = if report.verdict == Verdict::Go { "success" } else { "failure" };
        assert_eq!(publication.status.unwrap().1.state, expected);
    }
    assert_eq!(waived().verdict, Verdict::Go, "the premise: the waiver excuses the failure");
}

#[test]
fn a_verdict_edited_to_go_posts_an_error_status_not_success() {
    let mut forged = no_go();
    forged.verdict = Verdict::Go;
    assert_eq!(problems(&forged), [Problem::Verdict { stated: Verdict::Go, derived: Verdict::NoGo }]);
    let description = refused(&forged);
    assert!(description.contains("it says GO, but its items make it NO-GO"), "{description}");

    // Headline and counts edited too: every disagreement is found.
    forged.headline = "every check passed".into();
    forged.summary.blockers = 0;
    forged.summary.passed = 2;
    let found = problems(&forged);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(matches!(found[1], Problem::Summary { .. }) && matches!(found[2], Problem::Headline { .. }));
    let description = refused(&forged);
    assert!(description.contains("it says GO, but its items make it NO-GO; its counts say"), "{description}");
    let message = publish::verify(&forged).unwrap_err().to_string();
    assert!(
        message.contains(
            "its counts say 2 passed, 0 skipped, 0 blockers, 0 warnings, 0 waived, its items 1 passed, 0 skipped, 1 blocker, 0 warnings, 0 waived; its headline says `every check passed`, its items `1 blocker`"
        ),
        "{message}"
    );
}

#[test]
fn edited_counts_or_headline_alone_are_refused() {
    let mut counts = no_go();
    counts.summary.warnings += 1;
    assert!(matches!(problems(&counts)[..], [Problem::Summary { .. }]));
    refused(&counts);
    let mut headline = no_go();
    headline.headline = "0 blockers".into();
    assert!(matches!(problems(&headline)[..], [Problem::Headline { .. }]));
    refused(&headline);
}

#[test]
fn a_waiver_the_report_does_not_list_as_applied_excuses_nothing() {
    // Marked waived, and verdict and counts derived again to match: still refused.
    let mut forged = no_go();
    forged.gates[0].items[1].waived_by = Some("wheels/*".into());
    let forged = reassembled(forged);
    assert_eq!(forged.verdict, Verdict::Go, "the premise: the forger's report says GO");
    assert!(matches!(&problems(&forged)[..], [Problem::UnknownWaiver { id, waiver }]
        if id == "wheels/sums/b.whl" && waiver == "wheels/*"));
    let description = refused(&forged);
    assert!(
        description
            .contains("item `wheels/sums/b.whl` is waived by `wheels/*`, which is not an applied waiver")
    );

    // An expired or unmatched waiver of that name does not do either.
    for state in [WaiverState::Expired, WaiverState::Unmatched] {
        let mut listed = forged.clone();
        listed.waivers.push(WaiverReport {
            waiver: Waiver {
                item: "wheels/*".into(),
                reason: "r".into(),
                expires: "2026-01-01".parse().unwrap(),
                issue: None,
            },
            state,
            matched: vec!["wheels/sums/b.whl".into()],
        });
        let listed = reassembled(listed);
        assert!(matches!(problems(&listed)[..], [Problem::UnknownWaiver { .. }]), "{state:?}");
    }

    // An applied waiver that did not match this item does not either.
    let mut other = waived();
    other.gates[0].items[0].waived_by = Some("wheels/sums/b.*".into());
    let other = reassembled(other);
    assert!(
        matches!(&problems(&other)[..], [Problem::UnmatchedWaiver { id, .. }] if id == "wheels/sums/a.whl")
    );
    refused(&other);
}

#[test]
fn an_error_marked_waived_is_refused() {
    let mut forged = report(vec![("ci", vec![Item::error("timeout", "", "the gate did not finish")])]);
    forged.gates[0].items[0].waived_by = Some("ci/*".into());
    forged.waivers.push(WaiverReport {
        waiver: Waiver {
            item: "ci/*".into(),
            reason: "r".into(),
            expires: "2027-01-01".parse().unwrap(),
            issue: None,
        },
        state: WaiverState::Applied,
        matched: vec!["ci/timeout".into()],
    });
    let forged = reassembled(forged);
    assert!(matches!(&problems(&forged)[..], [Problem::WaivedError { id, .. }] if id == "ci/timeout"));
    let description = refused(&forged);
    assert!(description.contains("errors are never waived"), "{description}");
}

#[test]
fn ids_and_gate_runs_must_be_what_the_runner_writes() {
    let mut renamed = no_go();
    renamed.gates[0].items[1].id = "images/pinned/b.whl".into();
    assert!(
        matches!(&problems(&renamed)[..], [Problem::Id { expected, .. }] if expected == "wheels/sums/b.whl")
    );

    let mut timed_out = report(vec![("ci", vec![Item::pass("required", "build", "passed")])]);
    timed_out.gates[0].run = GateRunStatus::TimedOut;
    assert!(matches!(&problems(&timed_out)[..], [Problem::RunWithoutError { run: "timed out", .. }]));
    refused(&timed_out);

    let mut off = report(vec![("ci", vec![Item::pass("required", "build", "passed")])]);
    off.gates[0].run = GateRunStatus::Off;
    assert!(matches!(&problems(&off)[..], [Problem::OffWithItems { .. }]));
}

#[test]
fn a_hostile_id_in_the_reason_is_escaped() {
    let mut forged =
        report(vec![("wheels", vec![Item::fail("sums", "x\n::error::pwned\u{202e}", "differs")])]);
    forged.gates[0].items[0].waived_by = Some("##[add-mask]GO\r\n".into());
    let forged = reassembled(forged);
    let message = publish::verify(&forged).unwrap_err().to_string();
    assert!(!message.chars().any(gate_core::render::escape::is_unsafe), "{message:?}");
    assert!(
        message.contains(r"x\n::error::pwned\u{202e}") && message.contains(r"\u{23}#[add-mask]GO\r\n"),
        "{message}"
    );
}

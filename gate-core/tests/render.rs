//! Snapshot tests of the three renderers over one fixed report, and the
//! JSON report against docs/report.schema.json.

#[path = "support/hostile.rs"]
mod hostile;

use gate_core::render::{self, TextOptions};
use gate_core::shard::{Plan, sha256_hex};
use gate_core::{
    Evidence, GateReport, GateRunStatus, Item, Location, Report, Severity, Waiver, WaiverReport, WaiverState,
};
use hostile::{decode_entities, has_old_workflow_command, starts_a_workflow_command};

fn item(mut item: Item, gate: &str) -> Item {
    item.id = item.id_in(gate);
    item
}

/// A report exercising every status, weight, evidence kind and waiver
/// state, with hostile names where untrusted text goes.
fn sample() -> Report {
    let hostile = "evil|pkg`<!-- x -->@someone<img src=x>[link](http://e)";
    let mut waived = item(Item::fail("hash", "rc_units-0.3.1-py3-none-any.whl", "SHA-256 differs"), "wheels");
    waived.waived_by = Some("wheels/hash/rc_units-*".into());
    let wheels = GateReport {
        name: "wheels".into(),
        verifies: "committed wheels match their sha256sums files".into(),
        run: GateRunStatus::Completed,
        duration_ms: 42,
        notes: vec!["recognised the flat layout: sha256sums.txt → localwheels/".into()],
        items: vec![
            item(Item::pass("hash", "rc_greeting-1.0.0-py3-none-any.whl", "SHA-256 matches"), "wheels"),
            item(
                Item::fail(
                    "hash",
                    format!("{hostile}.whl"),
                    format!("SHA-256 differs from sha256sums.txt for {hostile}"),
                )
                .with(Evidence::hash("sha256", "aa".repeat(32), Some("bb".repeat(32))))
                .at(Location::at("sha256sums.txt", 3, 1)),
                "wheels",
            ),
            item(
                Item::fail("sums-order", "sha256sums.txt", "not sorted \x1b[2J\x1b]0;pwned\x07")
                    .severity(Severity::Warning),
                "wheels",
            ),
            waived,
            item(Item::skipped("hash", "big.whl", "not fetched"), "wheels"),
        ],
    };
    let ci = GateReport {
        name: "ci".into(),
        verifies: "required checks passed on the release commit".into(),
        run: GateRunStatus::TimedOut,
        duration_ms: 600_000,
        notes: vec![],
        items: vec![item(
            Item::error("timeout", "", "the gate did not finish within its timeout of 10m")
                .with(Evidence::Url {
                    url: "https://api.github.com/repos/o/r/commits/main/check-runs".into(),
                })
                .with(Evidence::fact("branch", "release/`x` @maintainers"))
                .with(Evidence::Timing { label: "waited".into(), millis: 600_000 })
                .with(Evidence::Log { label: "last response".into(), text: "```\nHTTP 502\n````".into() }),
            "ci",
        )],
    };
    let waiver = |item: &str, expires: &str| Waiver {
        item: item.into(),
        reason: "upstream fix pending".into(),
        expires: expires.parse().unwrap(),
        issue: Some("https://example.invalid/issues/7".into()),
    };
    let waivers = vec![
        WaiverReport {
            waiver: waiver("wheels/hash/rc_units-*", "2026-12-31"),
            state: WaiverState::Applied,
            matched: vec!["wheels/hash/rc_units-0.3.1-py3-none-any.whl".into()],
        },
        WaiverReport {
            waiver: waiver("ci/flaky/*", "2026-01-01"),
            state: WaiverState::Expired,
            matched: vec![],
        },
        WaiverReport {
            waiver: waiver("images/*", "2027-01-01"),
            state: WaiverState::Unmatched,
            matched: vec![],
        },
    ];
    let mut report = Report::assemble(
        "examples/release-repo".into(),
        "2026-11-25T12:00:00Z".into(),
        vec![wheels, ci],
        waivers,
    );
    report.tool_version = "0.0.0-test".into();
    report.config = "examples/release-repo/release-check.toml".into();
    report
}

#[test]
fn text_report() {
    insta::assert_snapshot!(render::text(&sample(), TextOptions { color: false, verbose: false }));
}

#[test]
fn text_report_verbose_lists_passes() {
    let text = render::text(&sample(), TextOptions { color: false, verbose: true });
    assert!(
        text.contains("✓ pass    wheels/hash/rc_greeting-1.0.0-py3-none-any.whl: SHA-256 matches"),
        "{text}"
    );
}

#[test]
fn text_report_never_sends_untrusted_control_characters_to_the_terminal() {
    let text = render::text(&sample(), TextOptions { color: false, verbose: true });
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    assert!(text.contains("not sorted \\u{1b}[2J"), "{text}");
}

#[test]
fn text_report_colour_only_when_asked() {
    assert!(!render::text(&sample(), TextOptions { color: false, verbose: false }).contains('\x1b'));
    assert!(render::text(&sample(), TextOptions { color: true, verbose: false }).contains("\x1b["));
}

#[test]
fn json_report() {
    insta::assert_snapshot!(render::json(&sample()));
}

#[test]
fn markdown_report_escapes_untrusted_text() {
    let markdown = render::markdown(&sample());
    for forbidden in ["<!--", "<img", "@someone", "](http", "`<"] {
        assert!(!markdown.contains(forbidden), "{forbidden} got through:\n{markdown}");
    }
    insta::assert_snapshot!(markdown);
}

#[test]
fn json_report_matches_the_published_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let report: serde_json::Value = serde_json::from_str(&render::json(&sample())).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let mut broken = report.clone();
    broken["gates"][0]["items"][0]["status"] = "maybe".into();
    assert!(!validator.is_valid(&broken), "the schema must reject an unknown status");

    // A shard's partial report carries its `shard` block.
    let plan = Plan::new(
        &[("wheels", vec!["sha256sums.txt".into()]), ("ci", vec![])],
        1,
        "abc123",
        &sha256_hex(b""),
    );
    let mut partial = sample();
    partial.shard = Some(plan.info(&plan.shards[0]));
    let partial: serde_json::Value = serde_json::from_str(&render::json(&partial)).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&partial).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(partial["shard"]["units"], serde_json::json!(["sha256sums.txt"]));
    let mut broken = partial.clone();
    broken["shard"]["plan"] = "md5:00".into();
    assert!(!validator.is_valid(&broken), "the schema must reject a plan digest that is not SHA-256");
}

#[test]
fn json_report_round_trips() {
    let report = sample();
    let back: Report = serde_json::from_str(&render::json(&report)).unwrap();
    assert_eq!(back, report);
}

/// A report whose untrusted strings try to forge a verdict line, workflow
/// commands and reordered text.
fn forging() -> Report {
    let forged_verdict = "x\nGO: every check passed (9 passed, 0 skipped, 0 blockers, 0 warnings, 0 waived)";
    let gate = GateReport {
        name: "GO: every check passed".into(),
        verifies: "nothing\n::error::pwned".into(),
        run: GateRunStatus::Completed,
        duration_ms: 1,
        notes: vec!["note\r\n::add-mask::GO".into(), "\u{2028}::stop-commands::t0k3n".into()],
        items: vec![
            item(Item::fail("unlisted", format!("{forged_verdict}.whl"), "not listed\u{85}GO: all good"), "wheels"),
            item(
                Item::fail("required", "build\n::error file=a,line=1::pwned", "check ##[add-mask]GO failed")
                    .with(Evidence::fact("::add-mask::", "GO"))
                    .with(Evidence::fact(" \u{a0}:\u{ad}:warning::x", "y"))
                    .with(Evidence::Log {
                        label: ":".into(),
                        text: "::error::from the log\n  ::add-mask::secret\r\n\u{feff}::group::x\nGO: yes\n##[error]old form\n#\u{200b}#[warning]spaced"
                            .into(),
                    }),
                "ci",
            ),
            item(Item::fail("bidi", "evil\u{202e}lhw.exe", "\u{2066}abc\u{2069}\u{200f}\u{61c}\u{202a}"), "wheels"),
        ],
    };
    let mut report =
        Report::assemble("repo\n::error::r".into(), "2026-11-25T12:00:00Z".into(), vec![gate], Vec::new());
    report.tool_version = "0.0.0-test".into();
    report
}

#[test]
fn text_untrusted_text_cannot_forge_a_verdict_or_a_workflow_command() {
    for verbose in [false, true] {
        let text = render::text(&forging(), TextOptions { color: false, verbose });
        let lines: Vec<&str> = text.lines().collect();
        let (last, rest) = lines.split_last().unwrap();
        assert!(last.starts_with("NO-GO: 3 blockers"), "{text}");
        for line in rest {
            assert!(
                !line.starts_with("GO") && !line.starts_with("NO-GO"),
                "forged verdict {line:?}:\n{text}"
            );
            assert!(!starts_a_workflow_command(line), "workflow command {line:?}:\n{text}");
        }
        assert!(!has_old_workflow_command(&text), "{text}");
        assert!(!text.chars().any(|c| render::escape::is_unsafe(c) && c != '\n'), "{text:?}");
        for shown in [
            "x\\nGO: every check passed",
            "build\\n::error file=a,line=1::pwned",
            "not listed\\u{85}GO: all good",
            "\\u{23}#[add-mask]GO",
            "evil\\u{202e}lhw.exe",
            "\\u{2066}abc\\u{2069}\\u{200f}\\u{61c}\\u{202a}",
            "note\\r\\n::add-mask::GO",
            "\\u{2028}::stop-commands::t0k3n",
            "repo\\n::error::r",
            "\\u{47}O: every check passed",
            "        \\u{3a}:error::from the log",
            "          \\u{3a}:add-mask::secret",
            "      \\u{3a}:",
            "      \\u{3a}:add-mask::",
        ] {
            assert!(text.contains(shown), "{shown} is not shown:\n{text}");
        }
    }
}

#[test]
fn markdown_untrusted_text_cannot_forge_a_workflow_command_or_reorder_text() {
    let markdown = render::markdown(&forging());
    for line in markdown.lines() {
        assert!(!starts_a_workflow_command(line), "workflow command {line:?}:\n{markdown}");
    }
    assert!(!has_old_workflow_command(&markdown), "{markdown}");
    assert!(!markdown.chars().any(|c| render::escape::is_unsafe(c) && c != '\n'), "{markdown:?}");
    assert!(markdown.contains("<code>wheels/bidi/evil&#92;u{202e}lhw.exe</code>"), "{markdown}");
    assert!(markdown.contains("    \\u{3a}:error::from the log"), "{markdown}");
}

#[test]
fn markdown_ids_copy_into_a_waiver_exactly() {
    let subject = "@scope/pkg_1*[x]|`y`~$:#12\\&<b>\"q\".whl";
    let mut waived = item(Item::fail("hash", subject, "differs"), "wheels");
    waived.waived_by = Some("wheels/hash/@scope/*".into());
    let gate = GateReport {
        name: "wheels".into(),
        verifies: "wheels".into(),
        run: GateRunStatus::Completed,
        duration_ms: 1,
        notes: vec![],
        items: vec![waived.clone(), item(Item::fail("hash", subject, "differs"), "wheels")],
    };
    let waivers = vec![WaiverReport {
        waiver: Waiver {
            item: "wheels/hash/@scope/*".into(),
            reason: "known".into(),
            expires: "2026-12-31".parse().unwrap(),
            issue: None,
        },
        state: WaiverState::Applied,
        matched: vec![waived.id.clone()],
    }];
    let report = Report::assemble("r".into(), "2026-11-25T12:00:00Z".into(), vec![gate], waivers);
    let markdown = render::markdown(&report);
    let spans: Vec<&str> =
        markdown.split("<code>").skip(1).map(|s| s.split("</code>").next().unwrap()).collect();
    assert!(spans.len() >= 4, "{markdown}");
    for span in &spans {
        assert!(!span.contains('\u{200b}'), "a zero-width space in {span}");
        let shown = decode_entities(span);
        assert!(shown == waived.id || shown == "wheels/hash/@scope/*", "{shown} is not the id");
        for markup in ['|', '`', '*', '_', '[', '<', '@', '#', ':'] {
            assert!(!span.replace("&#", "").contains(markup), "raw {markup} in {span}");
        }
    }
    assert!(markdown.contains(&format!("<code>{}</code>", render::markdown_code(&waived.id))));
}

#[test]
fn json_escapes_what_could_forge_output_and_reads_back_the_same() {
    let report = forging();
    let json = render::json(&report);
    assert!(!json.chars().any(|c| render::escape::is_unsafe(c) && c != '\n'), "{json}");
    assert!(!has_old_workflow_command(&json), "{json}");
    assert!(json.contains(r"evil\u202elhw.exe"), "{json}");
    assert!(json.contains(r"check \u0023#[add-mask]GO failed"), "{json}");
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

//! Property tests of the renderers' escaping invariant: whatever an
//! untrusted string holds (line breaks of every kind, terminal escapes,
//! bidirectional formatting, workflow commands, verdict lines), no
//! rendered report carries a raw control character other than the
//! renderer's own line breaks, starts a line with `::`, holds `##[`, or
//! shows a verdict line other than its own last one.

#[path = "support/hostile.rs"]
mod hostile;

use gate_core::render::escape::is_unsafe;
use gate_core::render::{self, TextOptions};
use gate_core::{Report, Verdict};
use hostile::{decode_entities, has_old_workflow_command, shown, skeleton, starts_a_workflow_command};
use proptest::prelude::*;

/// The checks every text or Markdown output passes.
fn assert_no_forgery(output: &str) -> Result<(), TestCaseError> {
    prop_assert!(!output.chars().any(|c| is_unsafe(c) && c != '\n'), "a raw control character: {output:?}");
    for line in output.lines() {
        prop_assert!(!starts_a_workflow_command(line), "a workflow command {line:?} in {output:?}");
    }
    prop_assert!(!has_old_workflow_command(output), "##[ in {output:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn text_cannot_be_forged(report in hostile::report(), verbose in any::<bool>()) {
        let options = TextOptions { color: false, verbose };
        let text = render::text(&report, options);
        assert_no_forgery(&text)?;
        let lines: Vec<&str> = text.lines().collect();
        let (last, rest) = lines.split_last().expect("a verdict line");
        let verdict = match report.verdict {
            Verdict::Go => "GO: ",
            Verdict::NoGo => "NO-GO: ",
        };
        prop_assert!(last.starts_with(verdict), "the last line is not the verdict: {text}");
        for line in rest {
            let line = shown(line);
            prop_assert!(!line.starts_with("GO") && !line.starts_with("NO-GO"), "forged verdict {line:?}: {text}");
        }
        let own = render::text(&skeleton(&report), options);
        prop_assert_eq!(lines.len(), own.lines().count(), "untrusted text added lines:\n{}\n---\n{}", text, own);
    }

    #[test]
    fn one_item_in_full_cannot_be_forged(report in hostile::report()) {
        for (_, item) in report.items() {
            let text = render::text_item(item);
            assert_no_forgery(&text)?;
            for line in text.lines() {
                prop_assert!(!shown(line).starts_with("GO") && !shown(line).starts_with("NO-GO"), "{text}");
            }
        }
    }

    #[test]
    fn markdown_cannot_be_forged(report in hostile::report()) {
        let markdown = render::markdown(&report);
        assert_no_forgery(&markdown)?;
        let own = render::markdown(&skeleton(&report));
        prop_assert_eq!(
            markdown.lines().count(),
            own.lines().count(),
            "untrusted text added lines:\n{}\n---\n{}",
            markdown,
            own
        );
        let short = render::markdown_within(&report, 2_000, "shortened");
        assert_no_forgery(&short)?;
    }

    #[test]
    fn markdown_ids_show_exactly_the_id(id in hostile::hostile()) {
        let code = render::markdown_code(&id);
        prop_assert!(!code.chars().any(is_unsafe), "{code:?}");
        let zero_width = |text: &str| text.matches('\u{200b}').count();
        prop_assert_eq!(zero_width(&code), zero_width(&id), "a zero-width space added: {:?}", code);
        for markup in ['|', '`', '*', '_', '[', ']', '<', '>', '@', '#', ':', '\\', '~', '$'] {
            prop_assert!(!code.replace("&#", "").contains(markup), "raw {markup} in {code}");
        }
        if !id.chars().any(is_unsafe) {
            prop_assert_eq!(decode_entities(&code), id);
        }
    }

    #[test]
    fn json_escapes_and_reads_back(report in hostile::report()) {
        let json = render::json(&report);
        prop_assert!(!json.chars().any(|c| is_unsafe(c) && c != '\n'), "{json:?}");
        prop_assert!(!has_old_workflow_command(&json), "{json:?}");
        for line in json.lines() {
            prop_assert!(!starts_a_workflow_command(line), "{line:?}");
        }
        let back: Report = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, report);
    }
}

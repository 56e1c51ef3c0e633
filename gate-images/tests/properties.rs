//! Property tests of the gate's parsers: the Dockerfile reader, the
//! `image_hash` record parser and the test-record parser. Arbitrary input
//! never panics, and where the reference's rule can be stated (BuildKit's,
//! in-toto's), the parser is no more lenient than it.

use std::collections::BTreeMap;

use gate_images::scan::{Finding, Found};
use gate_images::tested::{self, Outcome, ResourceDescriptor, Statement, TestResult};
use gate_images::{dockerfile, pushed};
use proptest::prelude::*;

fn images(findings: &[Finding]) -> Vec<&Found> {
    findings
        .iter()
        .filter_map(|f| match f {
            Finding::Image(found) => Some(found),
            _ => None,
        })
        .collect()
}

/// The text at a 1-based line and column (in characters).
fn at(text: &str, line: u32, column: u32, len: usize) -> String {
    let line = text.split('\n').nth(line as usize - 1).unwrap_or_default();
    line.chars().skip(column as usize - 1).take(len).collect()
}

/// An image name that is not `scratch` and not a stage name used below.
fn image() -> impl Strategy<Value = String> {
    "img[a-z0-9]{0,6}(:[a-z0-9]{1,5})?".prop_map(String::from)
}

/// A line that names `image` in one of the forms BuildKit pulls, with the
/// instruction in any case and the line indented.
fn line_naming(image: String) -> impl Strategy<Value = (String, &'static str)> {
    let forms: Vec<(&'static str, &'static str)> = vec![
        ("FROM {}", "FROM"),
        ("FROM --platform=linux/amd64 {} AS s", "FROM"),
        ("COPY --chown=1 --from={} /a /b", "COPY --from"),
        ("RUN --mount=type=bind,target=/x,from={} make", "RUN --mount"),
        ("RUN --mount=from={},type=cache --network=none make", "RUN --mount"),
        ("ONBUILD COPY --from={} /a /b", "ONBUILD COPY --from"),
        ("ONBUILD RUN --mount=from={} make", "ONBUILD RUN --mount"),
    ];
    (proptest::sample::select(forms), "[ \t]{0,3}", any::<bool>()).prop_map(
        move |((form, context), indent, lower)| {
            let line = form.replace("{}", &image);
            let (instruction, rest) = line.split_once(' ').unwrap_or((&line, ""));
            let instruction = if lower { instruction.to_lowercase() } else { instruction.to_owned() };
            let rest = if lower && context.starts_with("ONBUILD") {
                let (trigger, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                format!("{} {tail}", trigger.to_lowercase())
            } else {
                rest.to_owned()
            };
            (format!("{indent}{instruction} {rest}"), context)
        },
    )
}

/// Lines that name no image (comments, other instructions, stage uses).
fn filler() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "RUN make".to_owned(),
        "# FROM evil".to_owned(),
        String::new(),
        "ENV A=1".to_owned(),
        "COPY --from=0 /a /b".to_owned(),
        "COPY --from=scratch /a /b".to_owned(),
        "RUN --mount=type=cache,target=/c make".to_owned(),
        "ARG X=1".to_owned(),
        "LABEL a=\"b c\"".to_owned(),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn dockerfile_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = dockerfile::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn dockerfile_parser_never_panics_on_near_dockerfiles(
        text in "((FROM|from|ONBUILD|COPY|RUN|ADD|ARG| AS |--from=|--mount=|--platform=|from=|type=|,|\"|'|`|\\\\|\\$|\\{|\\}|# syntax=|# escape=|//|<<-?|EOF|-- |[0-9]|=| |\\t|\\n|\\r\\n|\u{feff}|#!|[a-z])){0,80}"
    ) {
        let findings = dockerfile::parse(&text);
        for finding in &findings {
            let (line, column) = match finding {
                Finding::Image(f) | Finding::Unresolved { found: f, .. } => (f.line, f.column),
                Finding::Malformed { line, column, .. } | Finding::Unreadable { line, column, .. } => {
                    (*line, *column)
                }
            };
            prop_assert!(line >= 1 && column >= 1, "{finding:?}");
            prop_assert!(line as usize <= text.split('\n').count(), "{finding:?} in {text:?}");
        }
    }

    /// Every image named in a BuildKit form is found, once, at the place it
    /// is written, with the form as its context.
    #[test]
    fn every_named_image_is_found_where_it_is_written(
        named in proptest::collection::vec(image().prop_flat_map(|i| (Just(i.clone()), line_naming(i))), 1..6),
        fillers in proptest::collection::vec(filler(), 0..6),
    ) {
        let mut lines = vec!["FROM base@sha256:0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949".to_owned()];
        let mut want = Vec::new();
        for (i, (image, (line, context))) in named.iter().enumerate() {
            if let Some(filler) = fillers.get(i) {
                lines.push(filler.clone());
            }
            lines.push(line.clone());
            want.push((image.clone(), *context));
        }
        let text = lines.join("\n") + "\n";
        let findings = dockerfile::parse(&text);
        prop_assert!(
            !findings.iter().any(|f| matches!(f, Finding::Malformed { .. } | Finding::Unreadable { .. })),
            "{findings:?}\n{text}"
        );
        let found = images(&findings);
        let got: Vec<(String, &str)> = found.iter().skip(1).map(|f| (f.text.clone(), f.context.as_str())).collect();
        prop_assert_eq!(got, want, "{}", text);
        for f in &found {
            prop_assert_eq!(at(&text, f.line, f.column, f.text.chars().count()), f.text.clone(), "{:?}", f);
        }
    }

    /// BuildKit: a `# syntax=` directive after anything but other directives
    /// is an ordinary comment, never a frontend image.
    #[test]
    fn syntax_after_the_top_is_a_comment(
        before in proptest::collection::vec(filler(), 1..5),
        after in proptest::collection::vec(filler(), 0..3),
    ) {
        // The first line is not a directive: a filler, then an instruction.
        let mut lines = before.clone();
        if lines[0].is_empty() || lines[0].starts_with('#') {
            lines.insert(0, "FROM a".to_owned());
        }
        lines.push("# syntax=docker/dockerfile:1".to_owned());
        lines.extend(after);
        lines.push("FROM b".to_owned());
        let text = lines.join("\n");
        let findings = dockerfile::parse(&text);
        prop_assert!(!images(&findings).iter().any(|f| f.context.contains("syntax")), "{findings:?}\n{text}");
    }

    /// BuildKit: a heredoc body is not instructions, whatever it holds.
    #[test]
    fn heredoc_bodies_are_never_read(
        body in proptest::collection::vec("(FROM |COPY --from=|RUN --mount=from=)evil[a-z]{0,4}", 0..5),
        chomp in any::<bool>(),
        name in "[A-Z]{1,5}",
    ) {
        let indent = if chomp { "\t" } else { "" };
        let dash = if chomp { "-" } else { "" };
        let text = format!("FROM a\nRUN <<{dash}{name}\n{}\n{indent}{name}\nFROM b\n", body.join("\n"));
        let found: Vec<String> = images(&dockerfile::parse(&text)).iter().map(|f| f.text.clone()).collect();
        prop_assert_eq!(found, ["a", "b"], "{}", text);
    }

    /// BuildKit: `FROM` looks a stage up by its exact (lowercase) name;
    /// `COPY --from` and `RUN --mount` by any case, later stages too.
    #[test]
    fn stage_names(name in "[a-z][a-z0-9]{0,8}", upper in any::<bool>()) {
        prop_assume!(name != "scratch" && !name.starts_with("img"));
        let used = if upper { name.to_uppercase() } else { name.clone() };
        let text = format!(
            "FROM base AS {name}\nCOPY --from={used} /a /b\nRUN --mount=from={used} make\nFROM {used}\nCOPY --from={used}x /a /b\n"
        );
        let found: Vec<String> = images(&dockerfile::parse(&text)).iter().map(|f| f.text.clone()).collect();
        let mut want = vec!["base".to_owned()];
        if upper && used != name {
            want.push(used.clone());
        }
        want.push(format!("{used}x"));
        prop_assert_eq!(found, want, "{}", text);
    }

    /// BuildKit refuses variables in `COPY --from` and (before the last
    /// character) in a mount's `from=`: never an image, always located.
    #[test]
    fn variables_in_from_are_refused(var in "[A-Za-z_][A-Za-z0-9_]{0,6}", braces in any::<bool>(), prefix in "[a-z]{0,3}") {
        let reference = if braces { format!("{prefix}${{{var}}}") } else { format!("{prefix}${var}") };
        let text = format!("ARG {var}=img\nFROM a\nCOPY --from={reference} /a /b\nRUN --mount=from={reference} make\n");
        let findings = dockerfile::parse(&text);
        prop_assert_eq!(images(&findings).len(), 1, "{:?}", findings);
        let malformed: Vec<u32> = findings
            .iter()
            .filter_map(|f| match f {
                Finding::Malformed { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        prop_assert_eq!(malformed, [3, 4]);
    }

    #[test]
    fn image_hash_parser_never_panics(text in "\\PC{0,300}") {
        let _ = pushed::parse(&text);
    }

    /// A record holds exactly one distinct digest outside comments, found
    /// where it is written; two distinct ones are refused, and so is none.
    #[test]
    fn image_hash_records_hold_one_digest(
        hex in "[0-9a-f]{64}",
        other in "[0-9a-f]{64}",
        words in proptest::collection::vec("[g-z]{1,8}", 0..6),
        copies in 1usize..3,
        prefixed in any::<bool>(),
        commented in "[g-z ]{0,10}",
    ) {
        let digest = if prefixed { format!("sha256:{hex}") } else { hex.clone() };
        let mut lines: Vec<String> = words.iter().map(|w| format!("{w} # {commented} {other}")).collect();
        for i in 0..copies {
            lines.insert(i.min(lines.len()), format!("  {digest} {}", words.first().cloned().unwrap_or_default()));
        }
        let text = lines.join("\n");
        let record = pushed::parse(&text).unwrap();
        prop_assert_eq!(&record.digest, &format!("sha256:{hex}"));
        prop_assert_eq!(at(&text, record.line, record.column, digest.len()), digest.clone());

        prop_assume!(hex != other);
        let two = format!("{text}\n{other}\n");
        prop_assert_eq!(pushed::parse(&two), Err(pushed::RecordError::Ambiguous(record.line, two.lines().count() as u32)));
        let none = text.replace(&hex, &hex[1..]);
        prop_assert_eq!(pushed::parse(&none), Err(pushed::RecordError::NoDigest));
        let upper = text.replace(&hex, &hex.to_uppercase());
        prop_assume!(upper != text);
        prop_assert_eq!(pushed::parse(&upper), Err(pushed::RecordError::NoDigest));
    }

    #[test]
    fn test_record_parser_never_panics(
        text in "((\\{|\\}|\\[|\\]|,|:|\"|_type|subject|digest|sha256|predicate|predicateType|result|PASSED|configuration|https://in-toto.io/Statement/v1|[0-9a-f]{1,8}| |\\n|null|true|1e999)){0,60}"
    ) {
        if let Err(e) = tested::parse(&text) {
            prop_assert!(e.line >= 1 && e.column >= 1, "{e:?}");
            prop_assert!(e.line as usize <= text.split('\n').count() + 1, "{e:?}");
        }
    }

    /// A record written by `image-test` reads back as written; any other
    /// `_type`, `predicateType`, result or digest spelling is refused, as
    /// the in-toto test-result predicate defines them.
    #[test]
    fn test_records_round_trip_and_refuse_other_spellings(
        hex in "[0-9a-f]{64}",
        result in proptest::sample::select(vec![Outcome::Passed, Outcome::Warned, Outcome::Failed]),
        name in "[a-z]{1,8}(/[a-z]{1,8}){0,2}",
        tests in proptest::collection::vec("[ -~]{0,12}", 0..4),
        cut in 1usize..64,
    ) {
        let predicate = TestResult {
            result,
            configuration: vec![ResourceDescriptor {
                uri: Some("https://example.invalid/ci.yml".to_owned()),
                ..ResourceDescriptor::default()
            }],
            url: None,
            passed_tests: tests.clone(),
            warned_tests: Vec::new(),
            failed_tests: tests,
        };
        let statement = Statement::test_result(&name, "sha256", &hex, predicate);
        let text = statement.to_json();
        prop_assert_eq!(tested::parse(&text).unwrap(), statement.clone());

        for (from, to) in [
            (tested::STATEMENT_TYPE.to_owned(), "https://in-toto.io/Statement/v0.1".to_owned()),
            (tested::PREDICATE_TYPE.to_owned(), "https://in-toto.io/attestation/test-result/v0.2".to_owned()),
            (format!("\"{}\"", result.as_str()), format!("\"{}\"", result.as_str().to_lowercase())),
            (hex.clone(), hex[..cut].to_owned()),
            (hex.clone(), format!("{hex}0")),
        ] {
            let changed = text.replacen(&from, &to, 1);
            prop_assert!(tested::parse(&changed).is_err(), "accepted {to:?}:\n{changed}");
        }
        if hex.bytes().any(|b| b.is_ascii_alphabetic()) {
            prop_assert!(tested::parse(&text.replace(&hex, &hex.to_uppercase())).is_err());
        }
        // The digest set is a map of algorithm to hex: another algorithm alone
        // does not make the record a record of this digest.
        let other: BTreeMap<String, String> = BTreeMap::from([("sha512".to_owned(), "a".repeat(128))]);
        let mut moved = statement;
        moved.subject[0].digest = other;
        let moved = tested::parse(&moved.to_json()).unwrap();
        prop_assert!(moved.subject_for("sha256", &hex).is_none());
    }
}

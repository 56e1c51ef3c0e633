//! Property tests of what publish prints to an Actions log: whatever a
//! report's untrusted text holds, the annotations parse back, as the
//! Actions runner parses them, to exactly one command per line with the
//! text they were given, and nothing else printed (the dry run, each
//! step's outcome) holds a raw control character or a workflow command.

#[path = "../../gate-core/tests/support/hostile.rs"]
mod hostile;

use std::collections::BTreeMap;

use gate_core::model::Weight;
use gate_core::render::escape::is_unsafe;
use gate_core::{Evidence, GateRunStatus, Report, Status};
use github::Repo;
use hostile::{has_old_workflow_command, starts_a_workflow_command};
use proptest::prelude::*;
use publish::{Actions, Options, Step, Target};

/// A workflow command as the runner's `ActionCommand.TryParseV2` reads a
/// line: after leading whitespace, `::name props::data`, properties split
/// at `,` and `=` (empty ones dropped), each unescaped.
#[derive(Debug, PartialEq)]
struct Command {
    name: String,
    properties: BTreeMap<String, String>,
    data: String,
}

fn unescape(text: &str, mappings: &[(&str, &str)]) -> String {
    mappings.iter().fold(text.to_owned(), |text, (escaped, raw)| text.replace(escaped, raw))
}

fn parse(line: &str) -> Option<Command> {
    let message = line.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, properties) = match info.find(' ') {
        Some(space) => (&info[..space], Some(&info[space + 1..])),
        None => (info, None),
    };
    if !["group", "endgroup", "error", "warning", "notice", "add-mask", "stop-commands", "debug"]
        .contains(&name.to_ascii_lowercase().as_str())
    {
        return None;
    }
    let mut parsed = BTreeMap::new();
    for property in properties.unwrap_or_default().trim().split(',').filter(|p| !p.is_empty()) {
        let pair: Vec<&str> = property.splitn(2, '=').filter(|p| !p.is_empty()).collect();
        if let [key, value] = pair[..] {
            let value =
                unescape(value, &[("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]);
            parsed.insert(key.to_owned(), value);
        }
    }
    let data = unescape(&rest[end + 2..], &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]);
    Some(Command { name: name.to_owned(), properties: parsed, data })
}

/// What an annotation should show of `text`: control and bidirectional
/// formatting characters but CR and LF as escapes.
fn expected(text: &str) -> String {
    text.chars()
        .map(
            |c| {
                if is_unsafe(c) && c != '\r' && c != '\n' { c.escape_default().to_string() } else { c.into() }
            },
        )
        .collect()
}

fn target() -> Target {
    Target {
        repo: Repo::parse("octo/app").unwrap(),
        sha: Some("2a6c97f6f5dc9166cc2e5d0d95415a386805ca07".into()),
        pr: Some(7),
    }
}

/// `report` made consistent, so that publish posts it: runs completed, no
/// waivers named, verdict and counts derived again.
fn consistent(report: Report) -> Report {
    let mut gates = report.gates;
    for gate in &mut gates {
        gate.run = GateRunStatus::Completed;
        gate.items.iter_mut().for_each(|i| i.waived_by = None);
    }
    Report::assemble(report.repository, report.generated_at, gates, report.waivers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn annotations_parse_back_to_one_command_per_line(report in hostile::report()) {
        let annotations = publish::actions::annotations(&report);
        prop_assert!(!annotations.chars().any(|c| is_unsafe(c) && c != '\n'), "{annotations:?}");
        let mut annotated = Vec::new();
        for (_, item) in report.items() {
            let command = match item.weight() {
                Weight::Blocker => "error",
                Weight::Warning if item.status != Status::Skipped => "warning",
                _ => continue,
            };
            let location = item.evidence.iter().find_map(|e| match e {
                Evidence::Location(l) if !l.path.is_empty() => Some(l),
                _ => None,
            });
            if let Some(location) = location {
                annotated.push((command, item, location));
            }
        }
        if annotated.is_empty() {
            prop_assert_eq!(annotations, "");
            return Ok(());
        }
        let lines: Vec<&str> = annotations.lines().collect();
        prop_assert_eq!(lines.len(), annotated.len() + 2, "{:?}", annotations);
        let commands: Vec<Command> = lines.iter().map(|l| parse(l).expect("every line is a command")).collect();
        prop_assert_eq!(&commands[0].name, "group");
        prop_assert_eq!(&commands[lines.len() - 1].name, "endgroup");
        for (command, (name, item, location)) in commands[1..lines.len() - 1].iter().zip(&annotated) {
            prop_assert_eq!(&command.name, name);
            prop_assert_eq!(&command.data, &expected(&item.reason));
            // The runner trims the property list: the last value may lose trailing whitespace.
            let title = expected(&item.id);
            let shown = command.properties.get("title").cloned().unwrap_or_default();
            prop_assert!(
                title.starts_with(&shown) && title[shown.len()..].trim().is_empty(),
                "title {:?} shown as {:?}", title, shown
            );
            prop_assert_eq!(command.properties.get("file"), Some(&expected(&location.path)));
            prop_assert_eq!(command.properties.get("line").cloned(), location.line.map(|l| l.to_string()));
            prop_assert_eq!(command.properties.get("col").cloned(), location.column.map(|c| c.to_string()));
        }
    }

    #[test]
    fn the_dry_run_prints_no_workflow_command_but_the_annotations(report in hostile::report(), fix in any::<bool>()) {
        let report = if fix { consistent(report) } else { report };
        let actions = Actions { step_summary: Some("summary.md".into()), run_url: None };
        let publication = publish::prepare(Ok(&report), &target(), &Options::default(), Some(&actions));
        let printed = publication.to_string();
        prop_assert!(!printed.chars().any(|c| is_unsafe(c) && c != '\n'), "{printed:?}");
        // An annotation is a command of the current form: the runner looks no further.
        let annotations: Vec<&str> = publication.annotations.lines().collect();
        for line in printed.lines().filter(|l| !annotations.contains(l)) {
            prop_assert!(!starts_a_workflow_command(line), "{line:?} in {printed}");
            prop_assert!(!has_old_workflow_command(line), "{line:?} in {printed}");
        }
        if fix {
            prop_assert!(publication.comment.is_some(), "a consistent report is posted");
        }
    }

    #[test]
    fn step_outcomes_are_one_escaped_line(what in hostile::hostile()) {
        for step in [Step::Done(what.clone()), Step::Degraded(what.clone()), Step::Failed(what.clone())] {
            let printed = step.to_string();
            prop_assert!(!printed.chars().any(is_unsafe), "{printed:?}");
            prop_assert!(!starts_a_workflow_command(&printed) && !has_old_workflow_command(&printed), "{printed:?}");
        }
    }
}

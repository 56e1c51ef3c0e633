//! Every image BuildKit would pull for a Dockerfile: `# syntax`, `FROM`,
//! `COPY --from`, `RUN --mount=…,from=` and the `ONBUILD` forms, with
//! BuildKit's rules for what is a stage and what is an image. Cases marked
//! "BuildKit:" are taken from BuildKit's own tests
//! (`frontend/dockerfile/parser/directives_test.go`).

use std::path::Path;

use gate_core::{Context, Evidence, Gate, GateOutcome, Item, Status};
use gate_images::dockerfile;
use gate_images::scan::{Finding, Found};
use gate_images::{Config, ImagesGate};
use test_support::locations;

const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";

/// `text@line:column context` for images, `malformed@line:column: message`
/// and `unresolved VAR@line:column`.
fn summary(text: &str) -> Vec<String> {
    dockerfile::parse(text)
        .iter()
        .map(|f| match f {
            Finding::Image(Found { text, line, column, context }) => {
                format!("{text}@{line}:{column} {context}")
            }
            Finding::Unresolved { found, variable } => {
                format!("unresolved {variable}@{}:{}", found.line, found.column)
            }
            Finding::Malformed { line, column, message } => format!("malformed@{line}:{column}: {message}"),
            Finding::Unreadable { line, column, message } => format!("unreadable@{line}:{column}: {message}"),
        })
        .collect()
}

/// Only the images, as `text context`.
fn images(text: &str) -> Vec<String> {
    dockerfile::parse(text)
        .iter()
        .filter_map(|f| match f {
            Finding::Image(found) => Some(format!("{} {}", found.text, found.context)),
            _ => None,
        })
        .collect()
}

fn malformed(text: &str) -> Vec<String> {
    dockerfile::parse(text)
        .iter()
        .filter_map(|f| match f {
            Finding::Malformed { line, column, message } | Finding::Unreadable { line, column, message } => {
                Some(format!("{line}:{column}: {message}"))
            }
            _ => None,
        })
        .collect()
}

fn gate(files: &[(&str, &str)]) -> GateOutcome {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    run(dir.path())
}

fn run(repo: &Path) -> GateOutcome {
    ImagesGate::new(Config::default()).run(&Context::new(repo))
}

fn item<'a>(outcome: &'a GateOutcome, check: &str, subject: &str) -> &'a Item {
    outcome
        .items
        .iter()
        .find(|i| i.check == check && i.subject == subject)
        .unwrap_or_else(|| panic!("no {check} item for {subject}: {:#?}", outcome.items))
}

fn written_in(item: &Item) -> String {
    item.evidence
        .iter()
        .find_map(|e| match e {
            Evidence::Fact { label, value } if label == "written in" => Some(value.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Each new form, pinned and not, through the whole gate: the unpinned one
/// blocks, the pinned one passes, and the item says where it came from.
#[test]
fn every_form_is_pinned_like_from() {
    let pinned = format!("alpine@sha256:{HEX}");
    for (form, context, line_column) in [
        ("# syntax={IMAGE}\nFROM scratch\n", "# syntax", "1:10"),
        ("FROM scratch\nRUN --mount=type=bind,from={IMAGE},target=/x true\n", "RUN --mount", "2:28"),
        ("FROM scratch\nCOPY --from={IMAGE} /a /b\n", "COPY --from", "2:13"),
        ("FROM scratch\nONBUILD COPY --from={IMAGE} /a /b\n", "ONBUILD COPY --from", "2:21"),
        ("FROM scratch\nONBUILD RUN --mount=from={IMAGE} true\n", "ONBUILD RUN --mount", "2:26"),
    ] {
        for (image, status) in [("alpine:3.20", Status::Fail), (pinned.as_str(), Status::Pass)] {
            let text = form.replace("{IMAGE}", image);
            let outcome = gate(&[("Dockerfile", &text)]);
            let pinned = item(&outcome, "pinned", &format!("Dockerfile:{image}"));
            assert_eq!(pinned.status, status, "{text}");
            assert_eq!(written_in(pinned), context, "{text}");
            assert_eq!(locations(pinned), [format!("Dockerfile:{line_column}")], "{text}");
        }
    }
}

#[test]
fn syntax_directive_only_at_the_very_top() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("first line", "# syntax=docker/dockerfile:1\nFROM a\n", &["docker/dockerfile:1 # syntax", "a FROM"]),
        (
            "after other directives",
            "# escape=`\n# check=skip=all\n#SYNTAX = x y\nFROM a\n",
            &["x # syntax", "a FROM"],
        ),
        ("after an instruction it is a comment", "FROM a\n# syntax=docker/dockerfile:1\n", &["a FROM"]),
        ("after another comment", "# build image\n# syntax=docker/dockerfile:1\nFROM a\n", &["a FROM"]),
        ("after an empty line", "\n# syntax=docker/dockerfile:1\nFROM a\n", &["a FROM"]),
        ("indented", "  # syntax=docker/dockerfile:1\nFROM a\n", &["a FROM"]),
        ("after an unknown directive", "# foo=bar\n# syntax=docker/dockerfile:1\nFROM a\n", &["a FROM"]),
        // BuildKit: TestDetectSyntax and TestDetectSyntaxBOM.
        (
            "options after the image",
            "# syntax = dockerfile:experimental // opts\nFROM busybox\n",
            &["dockerfile:experimental # syntax", "busybox FROM"],
        ),
        (
            "after a shebang",
            "#!/bin/sh\n# syntax = dockerfile:experimental\nFROM busybox\n",
            &["dockerfile:experimental # syntax", "busybox FROM"],
        ),
        (
            "a shebang then an empty line",
            "#!/bin/sh\n\n# syntax = dockerfile:experimental\nFROM a\n",
            &["a FROM"],
        ),
        (
            "after a byte-order mark",
            "\u{feff}# syntax = myfrontend\nFROM busybox\n",
            &["myfrontend # syntax", "busybox FROM"],
        ),
        ("C-style", "//syntax=foo\n//key=value\nFROM a\n", &["foo // syntax", "a FROM"]),
        ("C-style after a shebang", "#!/bin/sh\n//syntax=x\nFROM a\n", &["x // syntax", "a FROM"]),
    ];
    for (name, text, want) in cases {
        assert_eq!(images(text), *want, "{name}");
    }
    // BuildKit: a JSON object with "syntax" names the frontend; broken JSON does not.
    assert_eq!(images(r#"{"syntax": "foo", "bar": ["abc"]}"#), ["foo syntax (JSON)"]);
    assert!(images(r#"{"syntax": "foo""#).is_empty());
    assert!(images("{\"syntax\": \"foo\"}\n# syntax=bar").is_empty());
}

#[test]
fn syntax_directive_problems_are_located() {
    // The first is pulled before the parser refuses the second.
    assert_eq!(
        summary("# syntax=a\n# syntax=b\nFROM c\n"),
        ["a@1:10 # syntax", "unreadable@2:1: only one syntax parser directive can be used"]
    );
    assert_eq!(
        summary("# syntax= \nFROM c\n")[0],
        "malformed@1:10: `# syntax` names no image: BuildKit cannot load the frontend"
    );
    assert_eq!(malformed("# escape=x\nFROM c\n"), ["1:10: invalid escape token 'x' does not match ` or \\"]);
}

#[test]
fn run_mount_from() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "an image, with other mount options",
            "FROM a\nRUN --mount=type=cache,target=/c,from=cache-img:1,sharing=locked make\n",
            &["a@1:6 FROM", "cache-img:1@2:39 RUN --mount"],
        ),
        (
            "stage names: any case, later stages too",
            "FROM a AS build\nRUN --mount=from=BUILD true\nRUN --mount=from=later true\nFROM b AS later\n",
            &["a@1:6 FROM", "b@4:6 FROM"],
        ),
        ("scratch is no image", "FROM a\nRUN --mount=type=cache,from=scratch true\n", &["a@1:6 FROM"]),
        (
            "a number is an image name: mounts take no stage index",
            "FROM a\nRUN --mount=from=0 true\n",
            &["a@1:6 FROM", "0@2:18 RUN --mount"],
        ),
        (
            "every --mount, the last from= of each",
            "FROM a\nRUN --mount=from=x,from=y --mount=type=secret,id=s --mount=from=z true\n",
            &["a@1:6 FROM", "y@2:25 RUN --mount", "z@2:65 RUN --mount"],
        ),
        (
            "quoted fields and flags",
            "FROM a\nRUN --mount='\"from=q,r\",target=/x' --mount=\"from=w\" true\n",
            &["a@1:6 FROM", "q,r@2:20 RUN --mount", "w@2:50 RUN --mount"],
        ),
        (
            "an empty from= is the build context",
            "FROM a\nRUN --mount=from=,target=/x true\n",
            &["a@1:6 FROM"],
        ),
        (
            "a trailing $ is literal",
            "FROM a\nRUN --mount=from=x$ true\n",
            &["a@1:6 FROM", "x$@2:18 RUN --mount"],
        ),
        (
            "continued lines join as written",
            "FROM a\nRUN --mount=type=bind,\\\nfrom=img \\\n  true\n",
            &["a@1:6 FROM", "img@3:6 RUN --mount"],
        ),
        (
            "an indented continuation puts a space in the flag: from= is then part of the command",
            "FROM a\nRUN --mount=type=bind,\\\n  from=img \\\n  true\n",
            &["a@1:6 FROM"],
        ),
        (
            "variables are refused",
            "ARG X=img\nFROM a\nRUN --mount=from=$X true\n",
            &[
                "a@2:6 FROM",
                "malformed@3:18: `from=$X`: 'from' doesn't support variable expansion, define alias stage instead",
            ],
        ),
        (
            "not CSV (the flag's own quotes are removed first)",
            "FROM a\nRUN --mount='from=\"x\"' true\n",
            &["a@1:6 FROM", "malformed@2:19: failed to parse csv mounts: bare \" in non-quoted-field"],
        ),
        (
            "no value",
            "FROM a\nRUN --mount true\n",
            &["a@1:6 FROM", "malformed@2:5: missing a value on flag: --mount"],
        ),
        ("not a flag once the command starts", "FROM a\nRUN echo --mount=from=x\n", &["a@1:6 FROM"]),
    ];
    for (name, text, want) in cases {
        assert_eq!(summary(text), *want, "{name}");
    }
}

#[test]
fn copy_from() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "stage names in any case, later stages and indexes are stages",
            "FROM a AS one\nCOPY --from=ONE /x /y\nCOPY --from=two /x /y\nCOPY --from=1 /x /y\nCOPY --from=+0 /x /y\nFROM b AS two\n",
            &["a@1:6 FROM", "b@6:6 FROM"],
        ),
        ("scratch", "FROM a\nCOPY --from=scratch /x /y\n", &["a@1:6 FROM"]),
        (
            "quotes in flags are removed",
            "FROM a\nCOPY --from=\"img:1\" /x /y\n",
            &["a@1:6 FROM", "img:1@2:14 COPY --from"],
        ),
        (
            "an index out of range",
            "FROM a\nCOPY --from=1 /x /y\nCOPY --from=-1 /x /y\n",
            &[
                "a@1:6 FROM",
                "malformed@2:13: invalid stage index 1: the file has 1 stage(s)",
                "malformed@3:13: invalid stage index -1: the file has 1 stage(s)",
            ],
        ),
        (
            "too large for an index: a name",
            "FROM a\nCOPY --from=99999999999999999999 /x /y\n",
            &["a@1:6 FROM", "99999999999999999999@2:13 COPY --from"],
        ),
        (
            "variables are refused, ARG or not",
            "ARG IMG=img\nFROM a\nCOPY --from=$IMG /x /y\nCOPY --from=${IMG} /x /y\n",
            &[
                "a@2:6 FROM",
                "malformed@3:13: `--from=$IMG`: variable expansion is not supported for --from; define a stage with FROM using an ARG from the global scope instead",
                "malformed@4:13: `--from=${IMG}`: variable expansion is not supported for --from; define a stage with FROM using an ARG from the global scope instead",
            ],
        ),
        (
            "given twice",
            "FROM a\nCOPY --from=x --from=y /x /y\n",
            &["a@1:6 FROM", "malformed@2:15: duplicate flag specified: --from"],
        ),
        (
            "no value",
            "FROM a\nCOPY --from /x /y\n",
            &["a@1:6 FROM", "malformed@2:6: missing a value on flag: --from"],
        ),
        (
            "ADD has no --from",
            "FROM a\nADD --from=img /x /y\n",
            &[
                "a@1:6 FROM",
                "malformed@2:5: ADD has no --from flag (BuildKit: unknown flag: --from); copy from an image or stage with COPY --from",
            ],
        ),
    ];
    for (name, text, want) in cases {
        assert_eq!(summary(text), *want, "{name}");
    }
}

#[test]
fn from_compares_stage_names_exactly() {
    // BuildKit looks a FROM up among the earlier stages by its exact text;
    // stage names are lowercase, so `Build` and `SCRATCH` are image names.
    assert_eq!(
        images("FROM a AS build\nFROM Build\nFROM SCRATCH\n"),
        ["a FROM", "Build FROM", "SCRATCH FROM"]
    );
    let outcome = gate(&[("Dockerfile", "FROM a AS build\nFROM Build\n")]);
    assert_eq!(item(&outcome, "reference-syntax", "Dockerfile:Build").status, Status::Fail);
    assert_eq!(
        malformed("FROM a AS 1st\n"),
        ["1:11: invalid name for build stage: \"1st\", name can't start with a number or contain symbols"]
    );
    assert_eq!(malformed("FROM --pull a\n"), ["1:6: unknown flag: --pull (FROM takes only --platform)"]);
    assert_eq!(malformed("ARG E=\nFROM $E\n"), ["2:6: base name ($E) should not be blank"]);
}

#[test]
fn onbuild_forms() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "stage names of this file mean nothing to the builds FROM it",
            "FROM a AS build\nONBUILD COPY --from=build /x /y\nONBUILD COPY --from=0 /x /y\n",
            &["a@1:6 FROM", "build@2:21 ONBUILD COPY --from"],
        ),
        (
            "lowercase instruction and mount",
            "FROM a\nonbuild run --mount=type=bind,from=tools:2 make\n",
            &["a@1:6 FROM", "tools:2@2:36 ONBUILD RUN --mount"],
        ),
        (
            "a heredoc body after ONBUILD RUN is skipped",
            "FROM a\nONBUILD RUN <<EOF\nFROM evil\nEOF\nFROM b\n",
            &["a@1:6 FROM", "b@5:6 FROM"],
        ),
        (
            "what BuildKit refuses",
            "FROM a\nONBUILD FROM b\nONBUILD ONBUILD RUN x\nONBUILD MAINTAINER me\nONBUILD ADD --from=c /x /y\nONBUILD\nONBUILD COPY --from=$X /x /y\n",
            &[
                "a@1:6 FROM",
                "malformed@2:9: FROM isn't allowed as an ONBUILD trigger",
                "malformed@3:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                "malformed@4:9: MAINTAINER isn't allowed as an ONBUILD trigger",
                "malformed@5:13: ADD has no --from flag (BuildKit: unknown flag: --from); copy from an image or stage with COPY --from",
                "malformed@6:1: ONBUILD requires at least one argument",
                "malformed@7:21: `--from=$X`: variable expansion is not supported for --from; define a stage with FROM using an ARG from the global scope instead",
            ],
        ),
    ];
    for (name, text, want) in cases {
        assert_eq!(summary(text), *want, "{name}");
    }
}

#[test]
fn what_buildkit_refuses_is_located() {
    let long = format!("FROM a\nRUN {}\nFROM b\n", "x".repeat(dockerfile::MAX_LINE_BYTES));
    assert_eq!(
        malformed(&long),
        [format!(
            "2:1: line of {} bytes: BuildKit refuses a Dockerfile line longer than 65535 bytes",
            dockerfile::MAX_LINE_BYTES + 4
        )]
    );
    assert_eq!(images(&long), ["a FROM"]);
    assert_eq!(malformed("FROM a\nRUN <<EOF\necho\n"), ["2:1: unterminated heredoc: no line `EOF` ends it"]);
    assert_eq!(malformed("# only a comment\n"), ["1:1: file with no instructions: BuildKit refuses it"]);
    assert_eq!(malformed("FROM a\nCOPY --from=x --from=y a b\n"), ["2:15: duplicate flag specified: --from"]);

    // Through the gate: a blocking `parse` item at the place.
    let outcome = gate(&[("Dockerfile", "FROM scratch\nONBUILD FROM evil\n")]);
    let parse = item(&outcome, "parse", "Dockerfile:2");
    assert_eq!(parse.status, Status::Fail);
    assert_eq!(locations(parse), ["Dockerfile:2:9"]);
    // An unparseable directive stops BuildKit, and the gate, there: an error,
    // since nothing after it was checked.
    let outcome = gate(&[("Dockerfile", "# escape=x\nFROM unpinned\n")]);
    let parse = item(&outcome, "parse", "Dockerfile:1");
    assert_eq!(parse.status, Status::Error);
    assert_eq!(
        parse.reason,
        "invalid escape token 'x' does not match ` or \\; the rest of the file was not checked"
    );
    assert_eq!(locations(parse), ["Dockerfile:1:10"]);
}

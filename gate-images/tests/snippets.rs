//! Table tests of the Dockerfile and CI parsers on hand-written snippets.

use gate_images::scan::{Finding, Found, Kind};
use gate_images::{ci, dockerfile, yaml};

/// A finding, summarised: `image text@line:column`, `unresolved VAR@line:column`,
/// or `malformed@line:column`.
fn summary(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| match f {
            Finding::Image(Found { text, line, column, .. }) => format!("{text}@{line}:{column}"),
            Finding::Unresolved { found, variable } => {
                format!("unresolved {variable}@{}:{}", found.line, found.column)
            }
            Finding::Malformed { line, column, .. } => format!("malformed@{line}:{column}"),
            Finding::Unreadable { line, column, .. } => format!("unreadable@{line}:{column}"),
        })
        .collect()
}

#[test]
fn dockerfile_table() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("plain FROM", "FROM debian:bookworm\n", &["debian:bookworm@1:6"]),
        ("lowercase instruction, indented", "  from debian\n", &["debian@1:8"]),
        (
            "--platform is skipped",
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
            &["golang:1.22@1:32"],
        ),
        (
            "multi-stage: stage names and scratch are not images",
            "FROM debian:bookworm AS Builder\nRUN make\nFROM builder\nFROM scratch\nFROM builder AS again\n",
            &["debian:bookworm@1:6"],
        ),
        (
            "COPY --from: stage names and indexes are not images",
            "FROM a AS one\nFROM b\nCOPY --from=one /x /y\nCOPY --from=0 /x /y\nCOPY --chown=1:1 --from=nginx:1.25 /x /y\n",
            &["a@1:6", "b@2:6", "nginx:1.25@5:25"],
        ),
        (
            "ARG defaults substituted in FROM",
            "ARG BASE=debian:bookworm\nARG TAG=\"12\"\nFROM ${BASE}\nFROM $BASE\nFROM debian:${TAG}\nFROM ${NONE:-alpine}\n",
            &["debian:bookworm@3:6", "debian:bookworm@4:6", "debian:12@5:6", "alpine@6:6"],
        ),
        (
            "an ARG without a default, or unknown, is unresolved",
            "ARG BASE\nFROM $BASE\nFROM ${OTHER}:1\n",
            &["unresolved BASE@2:6", "unresolved OTHER@3:6"],
        ),
        (
            "an ARG declared after FROM is not usable in FROM",
            "FROM a\nARG LATER=b\nFROM $LATER\n",
            &["a@1:6", "unresolved LATER@3:6"],
        ),
        (
            "continuations are joined and positions kept",
            "FROM \\\n    --platform=linux/amd64 \\\n    debian:bookworm \\\n    AS base\n",
            &["debian:bookworm@3:5"],
        ),
        (
            "comments and empty lines inside a continuation",
            "RUN apt-get update \\\n# FROM not-an-image\n\n    && true\nFROM real\n",
            &["real@5:6"],
        ),
        (
            "comments are ignored",
            "# FROM evil\n#FROM evil\nFROM good # not a comment here\n",
            &["malformed@3:6"],
        ),
        ("heredoc bodies are skipped", "FROM a\nRUN <<EOF\nFROM evil\nEOF\nFROM b\n", &["a@1:6", "b@5:6"]),
        ("escape directive", "# escape=`\nFROM `\n  debian\n", &["debian@3:3"]),
        (
            "CRLF line endings",
            "FROM debian:bookworm\r\nFROM alpine\r\n",
            &["debian:bookworm@1:6", "alpine@2:6"],
        ),
        ("FROM without an image", "FROM --platform=linux/amd64\n", &["malformed@1:1"]),
        ("FROM with stray words", "FROM a b\n", &["malformed@1:6"]),
        ("unicode columns count characters", "# é\nFROM  é:1\n", &["é:1@2:7"]),
    ];
    for (name, text, want) in cases {
        assert_eq!(summary(&dockerfile::parse(text)), *want, "{name}");
    }
}

#[test]
fn unresolved_findings_keep_the_written_text() {
    let findings = dockerfile::parse("ARG B\nFROM ${B}\n");
    let [Finding::Unresolved { found, variable }] = findings.as_slice() else { panic!("{findings:?}") };
    assert_eq!((found.text.as_str(), variable.as_str(), found.context.as_str()), ("${B}", "B", "FROM"));
}

fn ci_summary(kind: Kind, text: &str) -> Vec<String> {
    let root = yaml::parse(text).unwrap().unwrap();
    summary(&ci::find(kind, &root))
}

#[test]
fn ci_table() {
    let cases: &[(&str, Kind, &str, &[&str])] = &[
        (
            "CircleCI jobs and executors, with merge keys",
            Kind::CircleCi,
            "defaults: &defaults\n  docker:\n    - image: cimg/base:2024.01\nexecutors:\n  ex:\n    docker:\n      - image: debian@sha256:0000000000000000000000000000000000000000000000000000000000000000\njobs:\n  a:\n    <<: *defaults\n  b:\n    docker:\n      - image: \"redis:7\"\n      - image: postgres:16\n",
            &[
                "cimg/base:2024.01@3:14",
                "redis:7@13:17",
                "postgres:16@14:16",
                "debian@sha256:0000000000000000000000000000000000000000000000000000000000000000@7:16",
            ],
        ),
        (
            "GitHub Actions: container string and map, services, docker:// steps",
            Kind::GitHubActions,
            "jobs:\n  a:\n    container: debian:bookworm\n    services:\n      db: postgres:16\n      cache:\n        image: redis:7\n    steps:\n      - uses: actions/checkout@v4\n      - uses: docker://alpine:3.20\n  b:\n    container:\n      image: ghcr.io/o/i:1\n  c:\n    container: ${{ matrix.image }}\n",
            &[
                "debian:bookworm@3:16",
                "postgres:16@5:11",
                "redis:7@7:16",
                "alpine:3.20@10:24",
                "ghcr.io/o/i:1@13:14",
                "unresolved ${{ matrix.image }}@15:16",
            ],
        ),
        (
            "GitLab: top-level image, image: {name:}, services, default",
            Kind::GitLab,
            "image: ruby:3.3\nservices:\n  - postgres:16\n  - name: redis:7\n    alias: cache\nvariables:\n  image: not-an-image\ndefault:\n  image:\n    name: debian:bookworm\n    entrypoint: [\"\"]\nbuild:\n  image: { name: 'node:20' }\n  script: [make]\ntest:\n  image: $CI_REGISTRY_IMAGE:latest\n",
            &[
                "ruby:3.3@1:8",
                "postgres:16@3:5",
                "redis:7@4:11",
                "debian:bookworm@10:11",
                "node:20@13:19",
                "unresolved $CI_REGISTRY_IMAGE:latest@16:10",
            ],
        ),
        (
            "a non-string image is malformed",
            Kind::CircleCi,
            "jobs:\n  a:\n    docker:\n      - image: [x]\n",
            &["malformed@4:16"],
        ),
    ];
    for (name, kind, text, want) in cases {
        assert_eq!(ci_summary(*kind, text), *want, "{name}");
    }
}

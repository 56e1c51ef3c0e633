//! Test records: every image CI runs in was tested before use.
//!
//! A test record is an in-toto Statement (v1) with the test-result predicate
//! (`https://in-toto.io/attestation/test-result/v0.1`), whose subject is the
//! image's digest. It is committed as `<records directory>/<hex>.intoto.json`;
//! `release-check image-test` runs a test command and writes one.
//!
//! Records are read by the in-toto parsing rules: fields this module does not
//! know are ignored. A missing or mistyped required field, a `_type` or
//! `predicateType` other than the ones above, a subject without a digest, or
//! a configuration entry with neither `uri`, `digest` nor `content` is an
//! error located at its line and column.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use gate_core::{CancelToken, Evidence, GateOutcome, Item, Location, Severity};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{Check, Collected, ImageRef, ImagesGate, Reference, bounded_list, scan};

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// `predicateType` of the in-toto test-result predicate v0.1.
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The records directory when `test-records` is not configured; the check is
/// on when it exists.
pub const DEFAULT_DIR: &str = "dockerfiles/test-records";

/// The file name of the record of the digest `<algorithm>:<hex>`: `<hex>.intoto.json`.
pub fn file_name(hex: &str) -> String {
    format!("{hex}.intoto.json")
}

/// Algorithm → lowercase hex value (`{"sha256": "…"}`).
pub type DigestSet = BTreeMap<String, String>;

/// An in-toto Statement v1 with the test-result predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type", deserialize_with = "statement_type")]
    pub statement_type: String,
    /// What was tested: at least one artifact, each with a digest.
    #[serde(deserialize_with = "subjects")]
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType", deserialize_with = "predicate_type")]
    pub predicate_type: String,
    /// The outcome of the test run.
    pub predicate: TestResult,
}

/// One tested artifact (a ResourceDescriptor whose digest is required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The image name, without tag or digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its digests.
    #[serde(deserialize_with = "digest_set")]
    pub digest: DigestSet,
}

/// The test-result predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// The outcome.
    pub result: Outcome,
    /// The configuration the tests ran with (may be empty).
    #[serde(deserialize_with = "descriptors")]
    pub configuration: Vec<ResourceDescriptor>,
    /// Where the test run can be seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Tests that passed.
    #[serde(default)]
    pub passed_tests: Vec<String>,
    /// Tests that passed with warnings.
    #[serde(default)]
    pub warned_tests: Vec<String>,
    /// Tests that failed.
    #[serde(default)]
    pub failed_tests: Vec<String>,
}

/// `result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Every test passed.
    Passed,
    /// The tests passed with warnings.
    Warned,
    /// A test failed.
    Failed,
}

impl Outcome {
    /// `PASSED`, `WARNED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Warned => "WARNED",
            Outcome::Failed => "FAILED",
        }
    }
}

/// A ResourceDescriptor: a file or resource the tests used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A name, such as a path in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI identifying the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests of its content.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_digest_set")]
    pub digest: Option<DigestSet>,
    /// The content itself, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where it can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
}

impl Statement {
    /// A record that the image `name` with digest `<algorithm>:<hex>` was tested.
    pub fn test_result(name: &str, algorithm: &str, hex: &str, predicate: TestResult) -> Self {
        Self {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject: vec![Subject {
                name: Some(name.to_owned()),
                digest: BTreeMap::from([(algorithm.to_owned(), hex.to_owned())]),
            }],
            predicate_type: PREDICATE_TYPE.to_owned(),
            predicate,
        }
    }

    /// The record as written to a file: pretty JSON, two-space indents, a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("strings and string-keyed maps serialise");
        text.push('\n');
        text
    }

    /// The subject whose `algorithm` digest is `hex`, if any.
    pub fn subject_for(&self, algorithm: &str, hex: &str) -> Option<&Subject> {
        self.subject.iter().find(|s| s.digest.get(algorithm).is_some_and(|h| h == hex))
    }
}

impl Subject {
    /// `name@algorithm:hex` for each digest (`_` for a subject without a name).
    pub fn describe(&self) -> String {
        let name = self.name.as_deref().unwrap_or("_");
        let digests: Vec<String> = self.digest.iter().map(|(a, h)| format!("{name}@{a}:{h}")).collect();
        digests.join(", ")
    }
}

/// Why a record cannot be read as a test record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RecordError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Parses a record's text.
pub fn parse(text: &str) -> Result<Statement, RecordError> {
    // serde would also take a struct written as an array; a Statement is an object.
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with(['{']) && !text[start..].is_empty() {
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        return Err(RecordError {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            message: "expected a JSON object (an in-toto Statement)".to_owned(),
        });
    }
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        let clamp = |n: usize| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        RecordError { line: clamp(e.line()), column: clamp(e.column()), message }
    })
}

fn constant<'de, D: Deserializer<'de>>(d: D, field: &str, expected: &str) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text == expected {
        Ok(text)
    } else {
        Err(serde::de::Error::custom(format!("`{field}` is `{text}`, expected `{expected}`")))
    }
}

fn statement_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    constant(d, "_type", STATEMENT_TYPE)
}

fn predicate_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    constant(d, "predicateType", PREDICATE_TYPE)
}

fn subjects<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Subject>, D::Error> {
    let subjects = Vec::<Subject>::deserialize(d)?;
    if subjects.is_empty() {
        return Err(serde::de::Error::custom("`subject` is empty, expected the tested image's digest"));
    }
    Ok(subjects)
}

fn digest_set<'de, D: Deserializer<'de>>(d: D) -> Result<DigestSet, D::Error> {
    let set = DigestSet::deserialize(d)?;
    if set.is_empty() {
        return Err(serde::de::Error::custom("`digest` is empty, expected e.g. {\"sha256\": \"<64 hex>\"}"));
    }
    for (algorithm, hex) in &set {
        let length = match algorithm.as_str() {
            "sha256" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        let lower_hex = hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if length.is_some_and(|n| hex.len() != n) || !lower_hex || hex.is_empty() {
            return Err(serde::de::Error::custom(format!(
                "invalid {algorithm} digest `{hex}`, expected lowercase hex{}",
                length.map(|n| format!(" of {n} digits")).unwrap_or_default()
            )));
        }
    }
    Ok(set)
}

fn optional_digest_set<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DigestSet>, D::Error> {
    digest_set(d).map(Some)
}

fn descriptors<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ResourceDescriptor>, D::Error> {
    let list = Vec::<ResourceDescriptor>::deserialize(d)?;
    if let Some(i) = list.iter().position(|r| r.uri.is_none() && r.digest.is_none() && r.content.is_none()) {
        return Err(serde::de::Error::custom(format!(
            "`configuration[{i}]` has none of `uri`, `digest` and `content`; a resource descriptor needs one"
        )));
    }
    Ok(list)
}

/// Where the records directory is and why it is checked.
enum Records<'a> {
    /// Checked: the directory and how it was chosen.
    On(&'a str, &'static str),
    /// Not checked: why.
    Off(String),
    /// It cannot be used.
    Broken(&'a str, String),
}

impl ImagesGate {
    /// The `tested` and `tested-warned` items: one per digest CI runs in.
    pub(crate) fn check_tested(
        &self,
        repo: &Path,
        collected: &Collected,
        cancel: &CancelToken,
        outcome: &mut GateOutcome,
    ) {
        // Every distinct digest of a CI image, with the references to it. A
        // tag-only reference has no digest to test; `pinned` reports it.
        let mut digests: Vec<(&str, Vec<(&Reference, &ImageRef)>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (reference, image) in crate::ci_images(collected) {
            let Some(digest) = image.digest.as_deref() else { continue };
            match index.get(digest) {
                Some(&i) => digests[i].1.push((reference, image)),
                None => {
                    index.insert(digest, digests.len());
                    digests.push((digest, vec![(reference, image)]));
                }
            }
        }
        if digests.is_empty() {
            return;
        }
        let dir = match self.records_dir(repo) {
            Records::On(dir, how) => {
                outcome.note(format!(
                    "test records in {dir}/ ({how}), for {} digest(s) CI runs in",
                    digests.len()
                ));
                dir
            }
            Records::Off(why) => {
                outcome.push(Check::Tested.skipped("", why));
                return;
            }
            Records::Broken(dir, why) => {
                outcome.push(Check::Tested.error(dir, why).at(Location::file(dir)));
                return;
            }
        };
        for (digest, references) in digests {
            if cancel.is_cancelled() {
                outcome.push(Check::Tested.error("", "cancelled"));
                return;
            }
            let mut item = judge(repo, dir, &references[0].1.name(), digest);
            for (reference, _) in references {
                item = item.at(reference.location());
            }
            outcome.push(item);
        }
    }

    /// Where the records are, and whether the check is on.
    fn records_dir(&self, repo: &Path) -> Records<'_> {
        let (dir, configured) = match &self.config.test_records {
            Some(dir) => (dir.as_str().trim_end_matches('/'), true),
            None => (DEFAULT_DIR, false),
        };
        match scan::resolve(repo, dir, scan::Want::Directory) {
            Ok(_) => Records::On(dir, if configured { "configured" } else { "found" }),
            Err(e) if e.is_not_found() && !configured => Records::Off(format!(
                "no test records: {DEFAULT_DIR}/ does not exist; record a test of each image CI runs in with \
                 `release-check image-test IMAGE@DIGEST -- COMMAND` and commit the records to turn this check on"
            )),
            Err(e @ scan::ReadError::Io(_)) => {
                Records::Broken(dir, format!("cannot read the test-records directory {dir}: {e}"))
            }
            Err(e @ scan::ReadError::Outside) => {
                Records::Broken(dir, format!("the test-records directory {dir} {e}"))
            }
            Err(e) => Records::Broken(dir, format!("the test-records directory {dir} is {e}")),
        }
    }
}

/// The item of the image `name` pinned to `digest` (`<algorithm>:<hex>`),
/// from its record in `dir`.
fn judge(repo: &Path, dir: &str, name: &str, digest: &str) -> Item {
    let subject = format!("{name}@{digest}");
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let path = format!("{dir}/{}", file_name(hex));
    let text = match scan::read_file(repo, &path) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => {
            return Check::Tested.fail(
                subject,
                format!(
                    "no test record of {digest}: {path} does not exist; test the image and record the outcome \
                     with `release-check image-test {name}@{digest} -- COMMAND`"
                ),
            );
        }
        Err(e) => return Check::Tested.error(subject, format!("{path}: {e}")).at(Location::file(path)),
    };
    let statement = match parse(&text) {
        Ok(statement) => statement,
        Err(e) => {
            return Check::Tested
                .error(subject, format!("{path} is not a valid test record: {}", e.message))
                .at(Location::at(path, e.line, e.column));
        }
    };
    let Some(tested) = statement.subject_for(algorithm, hex) else {
        let described: Vec<String> = statement.subject.iter().map(Subject::describe).collect();
        let described: Vec<&str> = described.iter().map(String::as_str).collect();
        let found = statement.subject.iter().find_map(|s| s.digest.get(algorithm)).cloned();
        return Check::Tested
            .fail(
                subject,
                format!("{path} is a test record of {}, not of {digest}", bounded_list(&described)),
            )
            .with(Evidence::hash(algorithm.to_owned(), hex, found))
            .at(Location::file(path));
    };
    let predicate = &statement.predicate;
    let mut item = match predicate.result {
        Outcome::Passed => Check::Tested.pass(subject, format!("tested before use: {path} records PASSED")),
        Outcome::Warned => Check::TestedWarned
            .fail(subject, format!("{path} records WARNED: the image passed its tests with warnings"))
            .severity(Severity::Warning),
        Outcome::Failed => {
            Check::Tested.fail(subject, format!("{path} records FAILED: the image did not pass its tests"))
        }
    }
    .with(Evidence::fact("record of", tested.describe()))
    .with(Evidence::fact("result", predicate.result.as_str()));
    if let Some(url) = &predicate.url {
        item = item.with(Evidence::Url { url: url.clone() });
    }
    for (label, tests) in [("failed", &predicate.failed_tests), ("warned", &predicate.warned_tests)] {
        if !tests.is_empty() {
            let names: Vec<&str> = tests.iter().map(String::as_str).collect();
            item = item.with(Evidence::fact(label, bounded_list(&names)));
        }
    }
    item.at(Location::file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";

    fn record(result: Outcome) -> Statement {
        Statement::test_result(
            "ghcr.io/example/release-build",
            "sha256",
            HEX,
            TestResult {
                result,
                configuration: vec![ResourceDescriptor {
                    name: Some(".github/workflows/ci.yml".to_owned()),
                    digest: Some(BTreeMap::from([("sha256".to_owned(), "1".repeat(64))])),
                    ..ResourceDescriptor::default()
                }],
                url: Some("https://example.invalid/runs/1".to_owned()),
                passed_tests: vec!["make test".to_owned()],
                warned_tests: Vec::new(),
                failed_tests: Vec::new(),
            },
        )
    }

    #[test]
    fn written_records_have_the_in_toto_shape_and_read_back() {
        let text = record(Outcome::Passed).to_json();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["_type"], STATEMENT_TYPE);
        assert_eq!(value["subject"][0]["name"], "ghcr.io/example/release-build");
        assert_eq!(value["subject"][0]["digest"]["sha256"], HEX);
        assert_eq!(value["predicateType"], PREDICATE_TYPE);
        assert_eq!(value["predicate"]["result"], "PASSED");
        assert_eq!(value["predicate"]["configuration"][0]["name"], ".github/workflows/ci.yml");
        assert_eq!(value["predicate"]["passedTests"][0], "make test");
        assert_eq!(value["predicate"]["failedTests"], serde_json::json!([]));
        assert!(text.starts_with("{\n  \"_type\": ") && text.ends_with("}\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), record(Outcome::Passed));
    }

    #[test]
    fn the_spec_example_reads_and_unknown_fields_are_ignored() {
        // The in-toto test-result example, with an extension field and another subject digest.
        let text = r#"{
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"digest": {"gitCommit": "d20ace7968ba43c0219f62d71334c1095bab1602"}}],
    "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
    "predicate": {
        "result": "WARNED",
        "configuration": [{
            "name": ".github/workflows/ci.yml",
            "downloadLocation": "https://github.com/in-toto/in-toto/blob/d20ace7/.github/workflows/ci.yml",
            "digest": {"gitBlob": "ebe4add40f63c3c98bc9b32ff1e736f04120b023"}
        }],
        "url": "https://github.com/in-toto/in-toto/actions/runs/4425592351",
        "passedTests": ["build (3.7, ubuntu-latest, py)"],
        "warnedTests": ["lint"],
        "failedTests": [],
        "example.com/extension": {"any": "thing"}
    }
}"#;
        let statement = parse(text).unwrap();
        assert_eq!(statement.predicate.result, Outcome::Warned);
        assert_eq!(statement.subject[0].describe(), "_@gitCommit:d20ace7968ba43c0219f62d71334c1095bab1602");
        assert!(statement.subject_for("sha256", HEX).is_none());
    }

    #[test]
    fn bad_records_are_located() {
        let good = record(Outcome::Failed).to_json();
        let cases: Vec<(String, (u32, u32), &str)> = vec![
            ("{\n  \"_type\": \n".to_owned(), (3, 0), "EOF while parsing a value"),
            ("\n  [\"https://in-toto.io/Statement/v1\"]".to_owned(), (2, 3), "expected a JSON object"),
            (
                good.replace(STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1"),
                (2, 46),
                "`_type` is `https://in-toto.io/Statement/v0.1`, expected `https://in-toto.io/Statement/v1`",
            ),
            (
                good.replace(PREDICATE_TYPE, "https://slsa.dev/provenance/v1"),
                (11, 51),
                "`predicateType` is `https://slsa.dev/provenance/v1`, expected `https://in-toto.io/attestation/test-result/v0.1`",
            ),
            (
                good.replace("\"FAILED\"", "\"OK\""),
                (13, 18),
                "unknown variant `OK`, expected one of `PASSED`, `WARNED`, `FAILED`",
            ),
            (good.replace(HEX, &HEX.to_uppercase()), (9, 5), "expected lowercase hex of 64 digits"),
            (good.replace(HEX, &HEX[1..]), (9, 5), "expected lowercase hex of 64 digits"),
            (good.replace("\"result\": \"FAILED\",", ""), (28, 3), "missing field `result`"),
            (
                good.replace(
                    "\"name\": \".github/workflows/ci.yml\",\n        \"digest\"",
                    "\"name\": \"x\",\n        \"other\"",
                ),
                (21, 5),
                "`configuration[0]` has none of `uri`, `digest` and `content`",
            ),
            (
                good.replace(
                    &good[good.find("\"subject\"").unwrap()..good.find("\"predicateType\"").unwrap()],
                    "\"subject\": [],\n  ",
                ),
                (3, 15),
                "`subject` is empty",
            ),
        ];
        for (text, (line, column), message) in cases {
            let e = parse(&text).unwrap_err();
            let column = if column == 0 { e.column } else { column };
            assert!(e.message.contains(message), "{e}\n{text}");
            assert_eq!((e.line, e.column), (line, column), "{e}\n{text}");
        }
    }
}

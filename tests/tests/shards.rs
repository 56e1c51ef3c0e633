//! Sharding through the real binary: `plan`, `run --shard` for every shard,
//! and `aggregate`, on the bundled example; and what aggregate refuses.

use std::ffi::OsString;
use std::path::Path;

use release_check_e2e::{Run, release_check_with_env, workspace};
use serde_json::Value;
use test_support::example;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const OTHER_SHA: &str = "fedcba9876543210fedcba9876543210fedcba98";
/// The moment every run is judged at: the signature item records it.
const AS_OF: &str = "2026-11-01T00:00:00Z";

/// Runs the binary on `repo` with `args`, as in a job of commit `sha`.
fn on(repo: &Path, sha: &str, args: &[&str]) -> Run {
    let mut all: Vec<OsString> = args.iter().map(Into::into).collect();
    all.extend(["--repo".into(), repo.as_os_str().to_owned()]);
    release_check_with_env(all, &[("GITHUB_SHA", sha)])
}

/// `sha256:<64 hex>` replaced by `sha256:[digest]`: digests change with the
/// tool version and the example's configuration.
fn redact_digests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, after) = rest.split_at(at + "sha256:".len());
        out.push_str(before);
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str("[digest]");
            rest = &after[64..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn plan(repo: &Path, args: &[&str]) -> Value {
    let mut all = vec!["plan", "--format", "json"];
    all.extend(args);
    let run = on(repo, SHA, &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn shard_ids(plan: &Value) -> Vec<String> {
    plan["shards"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

/// Runs every shard of the example's plan into `dir`, one file per shard.
fn run_every_shard(dir: &Path) -> Vec<String> {
    let repo = example("release-repo");
    let ids = shard_ids(&plan(&repo, &[]));
    for id in &ids {
        let output = dir.join(format!("{id}.json"));
        let run =
            on(&repo, SHA, &["run", "--shard", id, "--as-of", AS_OF, "--output", output.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{id}: {}", run.stderr);
    }
    ids
}

fn aggregate(inputs: &[&Path]) -> Run {
    let mut args: Vec<&str> = vec!["aggregate", "--format", "json"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    on(&example("release-repo"), SHA, &args)
}

/// Each gate's items, without timings, sorted by id.
fn items_by_gate(report: &Value) -> Vec<(String, Vec<Value>)> {
    report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|gate| {
            let mut items = gate["items"].as_array().unwrap().clone();
            items.sort_by_key(|i| i["id"].as_str().unwrap().to_owned());
            (gate["name"].as_str().unwrap().to_owned(), items)
        })
        .collect()
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("docs/report.schema.json")).unwrap())
            .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn plan_formats() {
    let repo = example("release-repo");
    let text = on(&repo, SHA, &["plan"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("plan_text", redact_digests(&text.stdout));
    let json = on(&repo, SHA, &["plan", "--format", "json", "--max-per-shard", "2"]);
    insta::assert_snapshot!("plan_json_two_per_shard", redact_digests(&json.stdout));
    let matrix = on(&repo, SHA, &["plan", "--format", "github-matrix"]);
    insta::assert_snapshot!("plan_github_matrix", matrix.stdout);
    assert_eq!(matrix.stdout.lines().count(), 1, "one line, for $GITHUB_OUTPUT");
}

#[test]
fn the_commit_is_unknown_outside_a_work_tree_root_and_the_plan_says_so() {
    let run = release_check_with_env(["plan", "--repo", example("release-repo").to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("  commit  unknown (GITHUB_SHA is not set and the repository is not"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_shard_aggregated_is_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let ids = run_every_shard(dir.path());
    assert_eq!(ids.len(), 7, "{ids:?}");
    let validator = validator();
    for id in &ids {
        let partial: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("{id}.json"))).unwrap())
                .unwrap();
        let errors: Vec<String> = validator.iter_errors(&partial).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{id}: {errors:#?}");
        assert_eq!(partial["shard"]["id"], id.as_str());
        assert_eq!(partial["shard"]["commit"], SHA);
    }

    let aggregated = aggregate(&[dir.path()]);
    assert_eq!(aggregated.code, 0, "{}{}", aggregated.stdout, aggregated.stderr);
    let aggregated: Value = serde_json::from_str(&aggregated.stdout).unwrap();
    assert!(validator.iter_errors(&aggregated).next().is_none());
    assert!(aggregated.get("shard").is_none(), "the final report is not a partial one");

    let whole = on(&example("release-repo"), SHA, &["--format", "json", "--as-of", AS_OF]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let whole: Value = serde_json::from_str(&whole.stdout).unwrap();
    assert_eq!(aggregated["verdict"], whole["verdict"]);
    assert_eq!(aggregated["headline"], whole["headline"]);
    assert_eq!(aggregated["summary"], whole["summary"]);
    assert_eq!(items_by_gate(&aggregated), items_by_gate(&whole));
    let notes = |report: &Value| {
        report["gates"].as_array().unwrap().iter().map(|g| g["notes"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(notes(&aggregated), notes(&whole));

    // Files given one by one count the same as their directory.
    let files: Vec<std::path::PathBuf> = ids.iter().map(|id| dir.path().join(format!("{id}.json"))).collect();
    let by_file = aggregate(&files.iter().map(|f| f.as_path()).collect::<Vec<_>>());
    assert_eq!(by_file.code, 0, "{}", by_file.stdout);
}

#[test]
fn run_without_a_shard_is_a_plain_run() {
    let repo = example("release-repo");
    // Both judged at one moment: the signature item records it, and two
    // runs a second apart would differ by it.
    let plain = on(&repo, SHA, &["--format", "json", "--gate", "wheels", "--as-of", AS_OF]);
    let run = on(&repo, SHA, &["run", "--format", "json", "--gate", "wheels", "--as-of", AS_OF]);
    assert_eq!((run.code, plain.code), (0, 0), "{}", run.stderr);
    let items = |text: &str| items_by_gate(&serde_json::from_str(text).unwrap());
    assert_eq!(items(&run.stdout), items(&plain.stdout));
    let unknown = on(&repo, SHA, &["run", "--shard", "wheels-9"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("has no such shard, expected one of: wheels-1, wheels-2"),
        "{}",
        unknown.stderr
    );
    let refused = on(&repo, SHA, &["run", "--shard", "wheels-1", "--gate", "images"]);
    assert_eq!(refused.code, 2);
}

#[test]
fn a_missing_shard_is_no_go_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    run_every_shard(dir.path());
    std::fs::remove_file(dir.path().join("wheels-3.json")).unwrap();
    let run = aggregate(&[dir.path()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let problems = &report["gates"][0];
    assert_eq!(problems["name"], "aggregate");
    assert_eq!(problems["items"].as_array().unwrap().len(), 1, "{problems:#}");
    assert_eq!(problems["items"][0]["id"], "aggregate/shard-missing/wheels-3");
    assert_eq!(problems["items"][0]["status"], "error");
    assert_eq!(report["summary"]["blockers"], 1);
    // The wheel of that shard is neither checked nor counted.
    assert_eq!(report["summary"]["passed"], 17);

    let text = on(&example("release-repo"), SHA, &["aggregate", dir.path().to_str().unwrap()]);
    assert!(
        text.stdout
            .contains("✗ error   aggregate/shard-missing/wheels-3: no partial report of shard `wheels-3`"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .trim_end()
            .ends_with("NO-GO: 1 blocker (17 passed, 0 skipped, 1 blocker, 0 warnings, 0 waived)"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_duplicate_shard_is_no_go() {
    let dir = tempfile::tempdir().unwrap();
    run_every_shard(dir.path());
    std::fs::copy(dir.path().join("images.json"), dir.path().join("images-again.json")).unwrap();
    let run = aggregate(&[dir.path()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let item = &report["gates"][0]["items"][0];
    assert_eq!(item["id"], "aggregate/shard-duplicate/images");
    assert!(item["reason"].as_str().unwrap().contains("reported twice"), "{item:#}");
    // Counted once: the images gate's six items, not twelve.
    let images = report["gates"].as_array().unwrap().iter().find(|g| g["name"] == "images").unwrap();
    assert_eq!(images["items"].as_array().unwrap().len(), 6);
}

#[test]
fn a_shard_of_another_commit_configuration_or_plan_is_no_go() {
    let dir = tempfile::tempdir().unwrap();
    run_every_shard(dir.path());
    let repo = example("release-repo");

    // Another commit: the job ran on another SHA.
    let path = dir.path().join("ci.json");
    let run = on(&repo, OTHER_SHA, &["run", "--shard", "ci", "--output", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Another configuration: edited by hand, so the digest no longer matches.
    let path = dir.path().join("images.json");
    let mut partial: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    partial["shard"]["config"] = format!("sha256:{}", "0".repeat(64)).into();
    std::fs::write(&path, serde_json::to_string(&partial).unwrap()).unwrap();
    // Another plan: grouped two units to a shard.
    let path = dir.path().join("wheels-2.json");
    let run = on(
        &repo,
        SHA,
        &["run", "--shard", "wheels-2", "--max-per-shard", "2", "--output", path.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let run = aggregate(&[dir.path()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let reasons: Vec<(String, String)> = report["gates"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_owned(), i["reason"].as_str().unwrap().to_owned()))
        .collect();
    let has = |id: &str, text: &str| reasons.iter().any(|(i, r)| i == id && r.contains(text));
    assert!(
        has("aggregate/shard-foreign/ci", &format!("is from another commit ({OTHER_SHA}, expected {SHA})")),
        "{reasons:#?}"
    );
    assert!(has("aggregate/shard-foreign/images", "is from another configuration"), "{reasons:#?}");
    assert!(
        has("aggregate/shard-foreign/wheels-2", "is from another plan, made with another --max-per-shard"),
        "{reasons:#?}"
    );
    for id in ["ci", "images", "wheels-2"] {
        assert!(has(&format!("aggregate/shard-missing/{id}"), "no partial report"), "{reasons:#?}");
    }
    assert_eq!(reasons.len(), 6, "{reasons:#?}");
    assert!(
        report["gates"].as_array().unwrap().iter().all(|g| g["name"] != "ci"),
        "a foreign shard's items are not counted"
    );
}

/// The `aggregate` gate's items as (id, status, reason).
fn aggregate_items(report: &Value) -> Vec<(String, String, String)> {
    let gate = &report["gates"][0];
    assert_eq!(gate["name"], "aggregate", "{report:#}");
    gate["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap().to_owned();
            (text("id"), text("status"), text("reason"))
        })
        .collect()
}

#[test]
fn a_malformed_file_is_named_with_its_location_and_the_verdict_is_no_go() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let version = gate_core::model::REPORT_SCHEMA_VERSION;
    std::fs::write(&bad, format!("{{\n  \"schema_version\": {version},\n  \"tool_version\": 7\n}}\n"))
        .unwrap();
    let output = dir.path().join("report.json");
    let run = on(
        &example("release-repo"),
        SHA,
        &["aggregate", bad.to_str().unwrap(), "--format", "json", "--output", output.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert!(validator().is_valid(&report), "{report:#}");
    assert_eq!(report["verdict"], "NO-GO");
    let items = aggregate_items(&report);
    let unreadable = items.iter().find(|(id, ..)| id.starts_with("aggregate/unreadable/")).unwrap();
    assert_eq!(unreadable.1, "error");
    assert!(
        unreadable
            .2
            .contains(&format!("{}:3:19: invalid type: integer `7`, expected a string", bad.display())),
        "{unreadable:?}"
    );
    assert!(unreadable.2.contains("that shard is missing"), "{unreadable:?}");
    let location = &report["gates"][0]["items"][0]["evidence"];
    assert!(location.to_string().contains("\"line\":3"), "{location}");
    // Nothing else was read: every planned shard is missing, and each names
    // the file it may have been.
    let ids = shard_ids(&plan(&example("release-repo"), &[]));
    for id in &ids {
        let missing = items.iter().find(|(i, ..)| *i == format!("aggregate/shard-missing/{id}")).unwrap();
        assert!(missing.2.contains(&bad.display().to_string()), "{missing:?}");
    }
    assert_eq!(items.len(), ids.len() + 1, "{items:#?}");
}

#[test]
fn files_that_are_not_partial_reports_are_named_and_the_others_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    let ids = run_every_shard(dir.path());
    let repo = example("release-repo");
    // The plan job's output and a whole report lie among the shards' reports.
    let plan_file = dir.path().join("plan.json");
    let run = on(&repo, SHA, &["plan", "--format", "json", "--output", plan_file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let whole = dir.path().join("whole.json");
    let run = on(&repo, SHA, &["--format", "json", "--gate", "ci", "--output", whole.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let run = aggregate(&[dir.path()]);
    assert_eq!(run.code, 0, "every shard reported: GO\n{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(validator().is_valid(&report), "{report:#}");
    let items = aggregate_items(&report);
    assert_eq!(items.len(), 2, "{items:#?}");
    let named = |file: &Path, why: &str| {
        items.iter().any(|(id, status, reason)| {
            id == &format!("aggregate/not-a-partial/{}", file.display())
                && status == "warn"
                && reason.contains(why)
                && reason.ends_with("; ignored")
        })
    };
    assert!(named(&plan_file, "not a release-check report"), "{items:#?}");
    assert!(named(&whole, "not a partial report (it has no `shard` block)"), "{items:#?}");
    // Every shard was merged: the unsharded run's 18 items passed.
    assert_eq!(report["summary"]["passed"], 18, "{report:#}");
    assert_eq!(report["summary"]["warnings"], 2, "{report:#}");
    assert!(ids.len() > 3);
}

#[test]
fn a_report_of_another_schema_version_is_no_go_and_its_shard_missing() {
    let dir = tempfile::tempdir().unwrap();
    run_every_shard(dir.path());
    let path = dir.path().join("wheels-3.json");
    let mut partial: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    partial["schema_version"] = 99.into();
    std::fs::write(&path, serde_json::to_string(&partial).unwrap()).unwrap();
    let junk = dir.path().join("truncated.json");
    std::fs::write(&junk, "{\"gates\": [").unwrap();

    let run = aggregate(&[dir.path()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = aggregate_items(&report);
    let has =
        |id: &str, text: &str| items.iter().any(|(i, s, r)| i == id && s == "error" && r.contains(text));
    assert!(
        has(&format!("aggregate/unreadable/{}", path.display()), "report schema version 99"),
        "{items:#?}"
    );
    assert!(has(&format!("aggregate/unreadable/{}", junk.display()), "EOF while parsing"), "{items:#?}");
    assert!(has("aggregate/shard-missing/wheels-3", &path.display().to_string()), "{items:#?}");
    assert_eq!(items.len(), 3, "{items:#?}");
    // The other shards are merged: one wheel is not counted.
    assert_eq!(report["summary"]["passed"], 17, "{report:#}");
    assert_eq!(report["verdict"], "NO-GO");
}

#[test]
fn another_max_per_shard_is_named_as_the_cause() {
    let repo = example("release-repo");
    // `run --shard` of an id that only a finer plan has.
    let ids = shard_ids(&plan(&repo, &["--max-per-shard", "1"]));
    let last = ids.iter().rev().find(|id| id.starts_with("wheels-")).unwrap();
    let run = on(&repo, SHA, &["run", "--shard", last, "--max-per-shard", "3"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("probably made with another --max-per-shard than this job's 3"),
        "{}",
        run.stderr
    );
    let run = on(&repo, SHA, &["run", "--shard", "nonsense", "--max-per-shard", "3"]);
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("another --max-per-shard"), "{}", run.stderr);

    // `aggregate` with another --max-per-shard than the shards'.
    let dir = tempfile::tempdir().unwrap();
    run_every_shard(dir.path());
    let mut args: Vec<&str> = vec!["aggregate", "--format", "json", "--max-per-shard", "2"];
    args.push(dir.path().to_str().unwrap());
    let run = on(&repo, SHA, &args);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = aggregate_items(&report);
    let foreign: Vec<_> =
        items.iter().filter(|(id, ..)| id.starts_with("aggregate/shard-foreign/wheels-")).collect();
    assert!(!foreign.is_empty(), "{items:#?}");
    for (_, _, reason) in foreign {
        assert!(
            reason.contains("made with another --max-per-shard: it groups 1 unit per shard, this plan 2"),
            "{reason}"
        );
    }
}

#[test]
fn three_hundred_wheels_fit_in_one_matrix() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join("localwheels")).unwrap();
    let mut sums = String::new();
    for i in 0..300 {
        let name = format!("pkg{i:03}-1.0-py3-none-any.whl");
        std::fs::write(repo.path().join("localwheels").join(&name), name.as_bytes()).unwrap();
        sums.push_str(&format!("{}  {name}\n", "0".repeat(64)));
    }
    std::fs::write(repo.path().join("sha256sums.txt"), sums).unwrap();
    let plan = plan(repo.path(), &["--max-per-shard", "1"]);
    let shards = plan["shards"].as_array().unwrap();
    assert!(shards.len() <= 256, "{}", shards.len());
    assert_eq!(plan["units_per_shard"], 2, "301 units (a set and 300 wheels) at 2 per shard");
    let units: Vec<&str> = shards
        .iter()
        .flat_map(|s| s["units"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()))
        .collect();
    assert_eq!(units.len(), 301);
    assert_eq!(units.iter().collect::<std::collections::BTreeSet<_>>().len(), 301, "each unit once");
    let matrix = on(repo.path(), SHA, &["plan", "--format", "github-matrix"]);
    let matrix: Value = serde_json::from_str(&matrix.stdout).unwrap();
    assert_eq!(matrix["include"].as_array().unwrap().len(), shards.len());
}

#[test]
fn an_unknown_commit_is_a_warning_of_the_aggregate() {
    let repo = example("release-repo");
    let dir = tempfile::tempdir().unwrap();
    let unknown = |args: &[&str]| {
        let mut all: Vec<OsString> = args.iter().map(Into::into).collect();
        all.extend(["--repo".into(), repo.as_os_str().to_owned()]);
        release_check_with_env(all, &[])
    };
    let plan: Value = serde_json::from_str(&unknown(&["plan", "--format", "json"]).stdout).unwrap();
    assert_eq!(plan["commit"], "unknown");
    for id in shard_ids(&plan) {
        let output = dir.path().join(format!("{id}.json"));
        let run = unknown(&["run", "--shard", &id, "--output", output.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{id}: {}", run.stderr);
    }
    let run = unknown(&["aggregate", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("! warning aggregate/commit: the commit is unknown"), "{}", run.stdout);
    assert!(
        run.stdout
            .trim_end()
            .ends_with("GO: no blockers, 1 warning (18 passed, 0 skipped, 0 blockers, 1 warning, 0 waived)"),
        "{}",
        run.stdout
    );
}

//! The wheels gate on SecureDrop's real release files (read in place from
//! the shared fixtures), asserting the facts their READMEs list.

use release_check_e2e::release_check;
use serde_json::Value;
use test_support::shared_fixture;

/// Runs the wheels gate on `repo` judged at `as_of`: signature verdicts
/// depend on the time.
fn json_report(repo: &std::path::Path, as_of: &str) -> (i32, Value) {
    let run = release_check([
        "--repo".as_ref(),
        repo.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--as-of".as_ref(),
        as_of.as_ref(),
        "--gate".as_ref(),
        "wheels".as_ref(),
    ]);
    (
        run.code,
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr)),
    )
}

fn items<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["gates"][0]["items"].as_array().unwrap().iter().filter(|i| i["check"] == check).collect()
}

#[test]
fn flat_2022_layout_pointers_match_and_the_list_is_unsorted() {
    // Judged at the commit's date, when the signing key had not expired yet.
    let (code, report) = json_report(&shared_fixture("securedrop-2022-07"), "2022-07-05T18:42:08Z");
    assert_eq!(code, 0, "GO: the unsorted list is only a warning by default");
    let notes = report["gates"][0]["notes"][0].as_str().unwrap();
    assert!(notes.contains("recognised the flat layout"), "{notes}");
    assert!(
        notes.contains("sha256sums.txt → localwheels/")
            && notes.contains("bootstrap-sha256sums.txt → bootstrap/")
    );

    let hashes = items(&report, "hash");
    let localwheels =
        hashes.iter().filter(|i| i["subject"].as_str().unwrap().starts_with("localwheels/")).count();
    let bootstrap =
        hashes.iter().filter(|i| i["subject"].as_str().unwrap().starts_with("bootstrap/")).count();
    assert_eq!((localwheels, bootstrap), (86, 39), "86 + 39 pointers, one item each");
    assert!(hashes.iter().all(|i| i["status"] == "pass"), "0 mismatches");
    assert!(items(&report, "missing").is_empty() && items(&report, "unlisted").is_empty());

    let order = items(&report, "sums-order");
    assert_eq!(order.len(), 1, "only sha256sums.txt is unsorted; bootstrap-sha256sums.txt is sorted");
    let order = order[0];
    assert_eq!(order["subject"], "sha256sums.txt");
    assert_eq!(order["severity"], "warning");
    let reason = order["reason"].as_str().unwrap();
    assert!(reason.contains("16 adjacent pairs"), "{reason}");
    assert!(
        reason
            .contains("`charset_normalizer-2.0.4-py3-none-any.whl` before `charset-normalizer-2.0.4.tar.gz`")
    );
    assert_eq!(order["evidence"][0]["line"], 12);
}

#[test]
fn unsorted_list_blocks_when_configured_to() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[severity]\n\"wheels/sums-order\" = \"blocker\"\n").unwrap();
    let repo = shared_fixture("securedrop-2022-07");
    let run =
        release_check(["--repo".as_ref(), repo.as_os_str(), "--config".as_ref(), config.path().as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("✗ blocker wheels/sums-order/sha256sums.txt"), "{}", run.stdout);
}

#[test]
fn per_project_layout_has_forty_matching_pointers() {
    let (code, report) = json_report(&shared_fixture("securedrop-head"), "2026-06-29T20:07:23Z");
    assert_eq!(code, 0);
    let notes = report["gates"][0]["notes"][0].as_str().unwrap();
    assert!(notes.contains("recognised the per-project layout"), "{notes}");
    let per_project = |p: &str| {
        items(&report, "hash").iter().filter(|i| i["subject"].as_str().unwrap().starts_with(p)).count()
    };
    assert_eq!(
        (
            per_project("securedrop-export/"),
            per_project("securedrop-log/"),
            per_project("workstation-bootstrap/")
        ),
        (4, 2, 34)
    );
    assert_eq!(
        report["summary"]["passed"], 52,
        "40 pointers, 3 good signatures and 9 build-requirement pins"
    );
    // Sorted lists, and wheels/.empty is a dot file, not unlisted; the only
    // warnings are the 8 wheels of workstation-bootstrap that no
    // requirement pins (older build tools kept in the list).
    assert_eq!(report["summary"]["warnings"], 8);
    assert_eq!(items(&report, "unpinned-wheel").len(), 8);
}

fn signature_items(report: &Value) -> Vec<(String, String, String)> {
    report["gates"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["check"].as_str().unwrap().starts_with("signature"))
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
                i["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn signatures_of_2022_are_good_but_their_key_has_expired_since() {
    let (code, report) = json_report(&shared_fixture("securedrop-2022-07"), "2026-11-25T00:00:00Z");
    assert_eq!(code, 1, "an expired signing key blocks by default");
    let items = signature_items(&report);
    assert_eq!(items.len(), 2, "{items:#?}");
    for (id, status, reason) in &items {
        assert!(id.starts_with("wheels/signature-expired-key/"), "{id}");
        assert_eq!(status, "fail");
        assert!(reason.contains("key expired on 2022-12-14T08:11:16Z"), "primary key expiry: {reason}");
    }
    assert!(items[0].2.contains("made on 2022-05-11T17:07:28Z"), "bootstrap: {}", items[0].2);
    assert!(items[1].2.contains("made on 2022-06-03T19:31:46Z"), "sha256sums: {}", items[1].2);
    let signed = report["gates"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "wheels/signature-expired-key/sha256sums.txt.asc")
        .unwrap();
    let evidence = signed["evidence"].to_string();
    assert!(
        evidence.contains(
            "subkey D8CB59F05DBB9E0538C4819DF105F8101B05269B of FA1E9F9A41E7F43502CA5D6352FC8E7BEDB7FCA2"
        ),
        "{evidence}"
    );
}

#[test]
fn current_signatures_depend_on_the_day_they_are_judged() {
    let (code, report) = json_report(&shared_fixture("securedrop-head"), "2026-11-25T00:00:00Z");
    assert_eq!(code, 1);
    let items = signature_items(&report);
    let summary: Vec<(&str, &str)> =
        items.iter().map(|(id, status, _)| (id.as_str(), status.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("wheels/signature-expired-key/securedrop-export/sha256sums.txt.asc", "fail"),
            ("wheels/signature-expired-key/securedrop-log/sha256sums.txt.asc", "fail"),
            ("wheels/signature/workstation-bootstrap/sha256sums.txt.asc", "pass"),
        ]
    );
    assert!(
        items[0].2.contains("key expired on 2026-11-14T19:25:02Z"),
        "the subkey expires first: {}",
        items[0].2
    );
    let bootstrap = report["gates"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "wheels/signature/workstation-bootstrap/sha256sums.txt.asc")
        .unwrap();
    assert!(bootstrap["evidence"].to_string().contains("SHA-512"), "{bootstrap}");

    let (code, _) = json_report(&shared_fixture("securedrop-head"), "2027-05-24T00:00:00Z");
    assert_eq!(code, 1, "after 2027-05-23 Kunal's renewed key has expired too");
}

/// The build-dependency analysis of the issue: SecureDrop's Pythons, and
/// the index cache the gate-wheels tests share (under the target directory).
fn build_deps_config() -> tempfile::NamedTempFile {
    let config = tempfile::NamedTempFile::new().unwrap();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypi-cache");
    std::fs::write(
        config.path(),
        format!(
            "[gates.wheels.build-deps]\ntarget-pythons = [\"3.7\", \"3.9\"]\ncache-dir = {:?}\nhook-timeout = \"10m\"\n",
            cache.to_str().unwrap()
        ),
    )
    .unwrap();
    config
}

/// As of 2022-07-05, SecureDrop's own pip (21.3.1) building from source
/// walks into one cycle, on Python 3.7 only; against https://pypi.org/simple/
/// (the test needs the network and the pyenv Pythons 3.7 and 3.9).
#[test]
fn build_deps_as_of_2022_07_05_find_the_setuptools_scm_cycle_on_37_only() {
    let repo = shared_fixture("securedrop-2022-07");
    let config = build_deps_config();
    let run = release_check([
        "--repo".as_ref(),
        repo.as_os_str(),
        "--config".as_ref(),
        config.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--as-of".as_ref(),
        "2022-07-05".as_ref(),
        "--gate".as_ref(),
        "wheels".as_ref(),
    ]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    let index = items(&report, "index");
    assert!(
        index.is_empty(),
        "https://pypi.org/simple/ did not answer (this test needs the network): {index:#?}"
    );
    assert_eq!(run.code, 1, "NO-GO: the cycle blocks");
    let cycles = items(&report, "build-cycle");
    assert_eq!(cycles.len(), 1, "one cycle, and no other: {cycles:#?}");
    assert_eq!(cycles[0]["id"], "wheels/build-cycle/importlib-metadata→setuptools-scm");
    assert_eq!(cycles[0]["status"], "fail");
    let reason = cycles[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "build-time cycle on 3.7 (not on 3.9): importlib-metadata 4.12.0 → setuptools-scm 7.0."
        ) && reason.contains("python_version < '3.8'"),
        "{reason}"
    );
    assert!(items(&report, "build-metadata").is_empty(), "{:#?}", items(&report, "build-metadata"));
}

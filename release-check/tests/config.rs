//! Configuration parsing: every located error message is snapshotted.

use std::path::Path;

use release_check::config;

fn error(text: &str) -> String {
    config::parse(Path::new("release-check.toml"), text).expect_err("the config is invalid").to_string()
}

#[test]
fn full_config_parses() {
    let text = r#"
[run]
timeout = "5m"
jobs = 2
[run.timeouts]
wheels = "1h 30m"

[severity]
"wheels/sums-order" = "blocker"

[[waiver]]
item = "wheels/hash/rc_units-*"
reason = "rebuilt upstream, new hash signed next week"
expires = 2026-12-31
issue = "https://example.invalid/issues/7"

[gates.wheels]
max-sums-bytes = 1048576
[[gates.wheels.set]]
sums = "sha256sums.txt"
wheels = "localwheels"
"#;
    let config = config::parse(Path::new("release-check.toml"), text).unwrap();
    let options = config.run_options();
    assert_eq!(options.default_timeout.as_secs(), 300);
    assert_eq!(options.timeouts["wheels"].as_secs(), 5400);
    assert_eq!(options.severity["wheels/sums-order"], gate_core::Severity::Blocker);
    assert_eq!(options.waivers[0].expires.to_string(), "2026-12-31");
    assert_eq!(config.run.jobs(), Some(2));
    let wheels = config.gates.wheels.unwrap();
    assert_eq!((wheels.max_sums_bytes, wheels.set[0].wheels.as_str()), (1_048_576, "localwheels"));
}

#[test]
fn quoted_expiry_date_is_accepted_too() {
    let text = "[[waiver]]\nitem = \"x\"\nreason = \"r\"\nexpires = \"2026-12-31\"\n";
    let config = config::parse(Path::new("release-check.toml"), text).unwrap();
    assert_eq!(config.run_options().waivers[0].expires.to_string(), "2026-12-31");
}

#[test]
fn malformed_toml() {
    insta::assert_snapshot!(error("[run\ntimeout = \"5m\"\n"));
}

#[test]
fn unknown_top_level_key() {
    insta::assert_snapshot!(error("[run]\ntimeout = \"5m\"\n\n[notifications]\nslack = true\n"));
}

#[test]
fn unknown_key_in_a_gate_section() {
    insta::assert_snapshot!(error("[gates.wheels]\nmax-sums-bytes = 10\nsums = \"sha256sums.txt\"\n"));
}

#[test]
fn unknown_gate_section() {
    insta::assert_snapshot!(error("[gates.wheelz]\n"));
}

#[test]
fn bad_duration() {
    insta::assert_snapshot!(error("[run]\ntimeout = \"ten minutes\"\n"));
}

#[test]
fn zero_jobs() {
    insta::assert_snapshot!(error("[run]\njobs = 0\n"));
}

#[test]
fn timeout_for_an_unknown_gate() {
    insta::assert_snapshot!(error("[run.timeouts]\nwheels = \"5m\"\nimagez = \"5m\"\n"));
}

#[test]
fn severity_for_an_unknown_check() {
    insta::assert_snapshot!(error("[severity]\n\"wheels/sums-ordr\" = \"blocker\"\n"));
}

#[test]
fn bad_severity_value() {
    insta::assert_snapshot!(error("[severity]\n\"wheels/sums-order\" = \"fatal\"\n"));
}

#[test]
fn waiver_missing_reason() {
    insta::assert_snapshot!(error("[[waiver]]\nitem = \"wheels/*\"\nexpires = 2026-12-31\n"));
}

#[test]
fn waiver_with_a_datetime_instead_of_a_date() {
    insta::assert_snapshot!(error(
        "[[waiver]]\nitem = \"wheels/*\"\nreason = \"r\"\nexpires = 2026-12-31T10:00:00Z\n"
    ));
}

#[test]
fn waiver_with_an_invalid_pattern() {
    insta::assert_snapshot!(error("[[waiver]]\nitem = \"wheels/[\"\nreason = \"r\"\nexpires = 2026-12-31\n"));
}

#[test]
fn error_column_counts_characters_not_bytes() {
    let message = error("[run]\n# café ☕\ntimeout = \"x\" # é\n");
    assert!(message.starts_with("release-check.toml:3:11: "), "{message}");
}

#[test]
fn timeout_for_a_gate_like_no_other() {
    insta::assert_snapshot!(error("[run.timeouts]\nfrobnicator = \"5m\"\n"));
}

#[test]
fn images_settings_parse() {
    let text = r#"
[gates.images]
test-records = "ci/test-records"
allow-tags = [{ image = "debian:bookworm", reason = "rebuilt daily" }]
[[gates.images.record]]
image = "quay.io/org/builder"
file = "dockerfiles/builder/image_hash"
"#;
    let images = config::parse(Path::new("release-check.toml"), text).unwrap().gates.images.unwrap();
    assert_eq!(images.test_records.unwrap().as_str(), "ci/test-records");
    assert_eq!(images.allow_tags[0].image.0.image.name(), "docker.io/library/debian");
    assert_eq!(images.record[0].image.image.name(), "quay.io/org/builder");
}

#[test]
fn allow_tags_image_that_is_not_a_reference() {
    insta::assert_snapshot!(error(
        "[gates.images]\nallow-tags = [\n  { image = \"Debian:bookworm\", reason = \"rebuilt daily\" },\n]\n"
    ));
}

#[test]
fn allow_tags_image_with_a_digest() {
    insta::assert_snapshot!(error(&format!(
        "[[gates.images.allow-tags]]\nimage = \"debian@sha256:{}\"\nreason = \"r\"\n",
        "0".repeat(64)
    )));
}

#[test]
fn record_image_that_is_not_a_reference() {
    insta::assert_snapshot!(error(
        "[[gates.images.record]]\nimage = \"quay.io/org/builder@sha256:abc\"\nfile = \"dockerfiles/builder/image_hash\"\n"
    ));
}

#[test]
fn record_file_outside_the_repository() {
    insta::assert_snapshot!(error(
        "[[gates.images.record]]\nimage = \"quay.io/org/b\"\nfile = \"/etc/image_hash\"\n"
    ));
}

#[test]
fn records_directory_outside_the_repository() {
    insta::assert_snapshot!(error("[gates.images]\ntest-records = \"../shared/test-records\"\n"));
}

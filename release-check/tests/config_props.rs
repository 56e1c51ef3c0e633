//! Property tests of the configuration reader: on any text, it returns a
//! configuration or an error located inside that text, and never panics.

use std::path::Path;

use proptest::prelude::*;
use release_check::config;

/// Keys and values that reach the interesting parts of the schema.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[run]\n".to_owned()),
        Just("[run.timeouts]\n".to_owned()),
        Just("[[waiver]]\n".to_owned()),
        Just("[severity]\n".to_owned()),
        Just("[gates.wheels]\n".to_owned()),
        Just("[[gates.wheels.set]]\n".to_owned()),
        Just("[gates.images]\n".to_owned()),
        Just("[gates.ci]\n".to_owned()),
        Just("enabled = false\n".to_owned()),
        (0u64..=u64::MAX).prop_map(|n| format!("jobs = {n}\n")),
        (0u64..=u64::MAX).prop_map(|n| format!("max-sums-bytes = {n}\n")),
        "[0-9]{1,12}[smhd]".prop_map(|d| format!("timeout = \"{d}\"\n")),
        "[ a-z/*]{0,12}".prop_map(|v| format!("item = \"{v}\"\nreason = \"{v}\"\nexpires = 2030-01-01\n")),
        "[a-z/-]{1,20}".prop_map(|k| format!("\"{k}\" = \"warning\"\n")),
        "[a-z./]{0,12}".prop_map(|p| format!("sums = \"{p}\"\nwheels = \"{p}\"\n")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_text_gives_a_configuration_or_an_error_located_in_it(fragments in prop::collection::vec(fragment(), 0..8)) {
        let text: String = fragments.concat();
        if let Err(error) = config::parse(Path::new("release-check.toml"), &text) {
            let lines = text.split('\n').count();
            prop_assert!(error.line >= 1 && error.line <= lines, "line {} of {lines}: {error}", error.line);
            prop_assert!(error.column >= 1, "{error}");
            prop_assert!(error.to_string().starts_with("release-check.toml:"), "{error}");
        }
    }
}

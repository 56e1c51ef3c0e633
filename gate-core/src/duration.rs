//! Durations in configuration files.

use std::time::Duration;

use serde::Deserialize;

/// A positive duration written as `90s`, `10m`, `1h 30m` or ISO 8601 (`PT10M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl std::str::FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parsed: jiff::SignedDuration = text.parse().map_err(|_| {
            format!("invalid duration `{text}`, expected e.g. \"90s\", \"10m\" or \"1h 30m\"")
        })?;
        Duration::try_from(parsed)
            .ok()
            .filter(|d| !d.is_zero())
            .map(HumanDuration)
            .ok_or_else(|| format!("invalid duration `{text}`, expected a positive duration"))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

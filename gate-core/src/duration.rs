//! Durations in configuration files.

use std::time::Duration;

use serde::Deserialize;

/// A positive duration of at most [`HumanDuration::MAX`], written as `90s`,
/// `10m`, `1h 30m` or ISO 8601 (`PT10M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The longest duration accepted: 7 days. Longer ones are refused
    /// rather than left to overflow a deadline.
    pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration at all.
    #[error("invalid duration `{0}`, expected e.g. \"90s\", \"10m\" or \"1h 30m\"")]
    Syntax(String),
    /// Zero or negative.
    #[error("invalid duration `{0}`, expected a positive duration")]
    NotPositive(String),
    /// Longer than [`HumanDuration::MAX`].
    #[error("duration `{0}` is too long, expected at most 7 days (\"168h\")")]
    TooLong(String),
}

impl std::str::FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, DurationError> {
        let parsed: jiff::SignedDuration =
            text.parse().map_err(|_| DurationError::Syntax(text.to_owned()))?;
        let duration = Duration::try_from(parsed)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| DurationError::NotPositive(text.to_owned()))?;
        if duration > Self::MAX {
            return Err(DurationError::TooLong(text.to_owned()));
        }
        Ok(HumanDuration(duration))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

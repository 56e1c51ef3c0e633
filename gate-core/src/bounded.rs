//! Numbers in configuration files, range-checked where they are read, so
//! that the configuration error points at the value.

use serde::Deserialize;

/// Deserialises a whole number and refuses one outside `MIN..=MAX` with a
/// message naming the range (the TOML reader adds the location). For
/// `#[serde(deserialize_with = "gate_core::bounded::u32_in::<_, 0, 10>")]`.
pub fn u32_in<'de, D, const MIN: u32, const MAX: u32>(deserializer: D) -> Result<u32, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = i128::deserialize(deserializer)?;
    if value < i128::from(MIN) || value > i128::from(MAX) {
        return Err(serde::de::Error::custom(format!("{value} is out of range, expected {MIN} to {MAX}")));
    }
    Ok(u32::try_from(value).expect("checked against a u32 range"))
}

/// As [`u32_in`], for `u64` settings such as byte limits.
pub fn u64_in<'de, D, const MIN: u64, const MAX: u64>(deserializer: D) -> Result<u64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = i128::deserialize(deserializer)?;
    if value < i128::from(MIN) || value > i128::from(MAX) {
        return Err(serde::de::Error::custom(format!("{value} is out of range, expected {MIN} to {MAX}")));
    }
    Ok(u64::try_from(value).expect("checked against a u64 range"))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Settings {
        #[serde(deserialize_with = "super::u32_in::<_, 1, 10>")]
        retries: u32,
    }

    #[test]
    fn refuses_out_of_range_values_where_they_stand() {
        let ok: Settings = toml::from_str("retries = 10").unwrap();
        assert_eq!(ok.retries, 10);
        for bad in ["retries = 0", "retries = 11", "retries = -1", "retries = 9223372036854775807"] {
            let err = toml::from_str::<Settings>(bad).unwrap_err();
            assert!(err.to_string().contains("expected 1 to 10"), "{bad}: {err}");
            assert_eq!(err.span().map(|s| s.start), Some(10), "{bad}: located at the value");
        }
    }
}

//! Waivers: a recorded, expiring decision to ship despite a failure.
//!
//! A waiver names items by id (`gate/check/subject`, `*` and `?` wildcards
//! allowed). It excuses failures and warnings, never errors: release-check
//! fails closed, so a gate that could not decide always blocks. An expired
//! waiver no longer applies and is itself reported; so is a waiver that
//! matches nothing (like cargo-deny's unmatched ignores).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::model::{Item, Status};

/// One waiver, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The item id or a wildcard pattern over item ids.
    pub item: String,
    /// Why shipping with this failure is acceptable.
    pub reason: String,
    /// The last day the waiver applies (inclusive): a TOML date
    /// (`2026-12-31`) or a string in that form.
    #[serde(deserialize_with = "deserialize_date")]
    pub expires: Date,
    /// Where the follow-up is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

/// Accepts a `YYYY-MM-DD` string or a TOML local date, which the `toml`
/// crate hands over as a one-entry map holding the date's text.
fn deserialize_date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    struct DateVisitor;
    impl<'de> serde::de::Visitor<'de> for DateVisitor {
        type Value = Date;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a date such as 2026-12-31")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Date, E> {
            text.parse()
                .map_err(|_| E::custom(format!("invalid date `{text}`, expected a date such as 2026-12-31")))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
            let (_, text): (String, String) = map
                .next_entry()?
                .ok_or_else(|| serde::de::Error::custom("expected a date such as 2026-12-31"))?;
            self.visit_str(&text)
        }
    }
    deserializer.deserialize_any(DateVisitor)
}

/// What became of a waiver in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaiverState {
    /// It matched at least one failing item (excusing it, unless an
    /// earlier waiver already had).
    Applied,
    /// Its date has passed: it excused nothing.
    Expired,
    /// It matched no failing item.
    Unmatched,
}

/// A waiver and what it did, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverReport {
    /// The waiver as configured.
    #[serde(flatten)]
    pub waiver: Waiver,
    /// What became of it.
    pub state: WaiverState,
    /// Ids of the items it excused, or would have excused had it not expired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
}

/// What is wrong with a configured waiver.
#[derive(Debug, thiserror::Error)]
pub enum WaiverError {
    /// A required text is empty or blank.
    #[error("waiver `{field}` is empty: expected {expected}")]
    Blank {
        /// The key.
        field: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// The item pattern does not parse.
    #[error(transparent)]
    Pattern(#[from] PatternError),
}

/// Errors in a waiver's item pattern.
#[derive(Debug, thiserror::Error)]
#[error("waiver item pattern `{pattern}` is not a valid pattern: {source}")]
pub struct PatternError {
    /// The offending pattern.
    pub pattern: String,
    /// What is wrong with it.
    #[source]
    pub source: glob::PatternError,
}

impl Waiver {
    /// Checks that the item pattern parses.
    pub fn validate(&self) -> Result<(), WaiverError> {
        if self.item.trim().is_empty() {
            return Err(WaiverError::Blank {
                field: "item",
                expected: "an item id or a pattern over item ids",
            });
        }
        if self.reason.trim().is_empty() {
            return Err(WaiverError::Blank {
                field: "reason",
                expected: "a sentence saying why shipping with this failure is acceptable",
            });
        }
        if self.issue.as_ref().is_some_and(|i| i.trim().is_empty()) {
            return Err(WaiverError::Blank {
                field: "issue",
                expected: "where the follow-up is tracked, or no `issue` key",
            });
        }
        glob::Pattern::new(&self.item)
            .map(drop)
            .map_err(|source| WaiverError::Pattern(PatternError { pattern: self.item.clone(), source }))
    }

    fn matches(&self, id: &str) -> bool {
        self.item == id || glob::Pattern::new(&self.item).is_ok_and(|p| p.matches(id))
    }
}

/// Applies waivers to items in place and reports each waiver's state.
///
/// `today` decides expiry: a waiver expiring today still applies.
pub fn apply<'a>(
    waivers: &[Waiver],
    items: impl IntoIterator<Item = &'a mut Item>,
    today: Date,
) -> Vec<WaiverReport> {
    let mut reports: Vec<WaiverReport> = waivers
        .iter()
        .map(|w| WaiverReport {
            waiver: w.clone(),
            state: if w.expires < today { WaiverState::Expired } else { WaiverState::Unmatched },
            matched: Vec::new(),
        })
        .collect();
    for item in items {
        // Errors are never waived; a skipped item is, since it blocks.
        if !matches!(item.status, Status::Fail | Status::Warn | Status::Skipped) {
            continue;
        }
        for report in &mut reports {
            if !report.waiver.matches(&item.id) {
                continue;
            }
            report.matched.push(item.id.clone());
            if report.state == WaiverState::Unmatched {
                report.state = WaiverState::Applied;
            }
            if report.state == WaiverState::Expired {
                item.reason.push_str(&format!(
                    " (waiver for `{}` expired on {})",
                    report.waiver.item, report.waiver.expires
                ));
            } else if item.waived_by.is_none() {
                item.waived_by = Some(report.waiver.item.clone());
            }
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Weight;

    fn waiver(item: &str, expires: &str) -> Waiver {
        Waiver { item: item.into(), reason: "known".into(), expires: expires.parse().unwrap(), issue: None }
    }

    fn failing(id: &str) -> Item {
        let mut item = Item::fail("hash", "x", "differs");
        item.id = id.into();
        item
    }

    #[test]
    fn waiver_excuses_a_failure_until_its_last_day() {
        let today: Date = "2026-11-25".parse().unwrap();
        let mut items = vec![failing("wheels/hash/a.whl")];
        let reports = apply(&[waiver("wheels/hash/a.whl", "2026-11-25")], &mut items, today);
        assert_eq!(reports[0].state, WaiverState::Applied);
        assert_eq!(items[0].weight(), Weight::Waived);
    }

    #[test]
    fn expired_waiver_does_not_apply_and_says_so() {
        let today: Date = "2026-11-26".parse().unwrap();
        let mut items = vec![failing("wheels/hash/a.whl")];
        let reports = apply(&[waiver("wheels/hash/*", "2026-11-25")], &mut items, today);
        assert_eq!(reports[0].state, WaiverState::Expired);
        assert_eq!(reports[0].matched, ["wheels/hash/a.whl"]);
        assert_eq!(items[0].weight(), Weight::Blocker);
        assert!(items[0].reason.contains("expired on 2026-11-25"), "{}", items[0].reason);
    }

    #[test]
    fn waiver_never_excuses_an_error() {
        let today: Date = "2026-01-01".parse().unwrap();
        let mut item = Item::error("timeout", "", "gate timed out");
        item.id = "ci/timeout/".into();
        let mut items = vec![item];
        let reports = apply(&[waiver("ci/*", "2027-01-01")], &mut items, today);
        assert_eq!(reports[0].state, WaiverState::Unmatched);
        assert_eq!(items[0].weight(), Weight::Blocker);
    }

    #[test]
    fn invalid_pattern_is_reported() {
        let err = waiver("wheels/[", "2027-01-01").validate().unwrap_err();
        assert!(err.to_string().contains("wheels/["), "{err}");
    }
}

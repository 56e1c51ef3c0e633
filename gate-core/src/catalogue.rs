//! A gate's check catalogue: one declaration per gate lists every check it
//! can report, and the enum it generates is the only way the gate builds
//! an item, so an item can only name a declared check (as cargo-deny's
//! `diags.rs` does for its diagnostics).
//!
//! [`check_catalogue!`](crate::check_catalogue) generates the enum; the
//! functions here are what its compile-time checks run.

use crate::CheckInfo;

/// The first id that two checks of `checks` share, if any.
pub const fn duplicate_id(checks: &[CheckInfo]) -> Option<&'static str> {
    let mut i = 0;
    while i < checks.len() {
        let mut j = i + 1;
        while j < checks.len() {
            if same(checks[i].id, checks[j].id) {
                return Some(checks[i].id);
            }
            j += 1;
        }
        i += 1;
    }
    None
}

/// The first id of `checks` that is not a check id: one or more lowercase
/// ASCII letters, digits and inner `-` (no `/`: ids are `gate/check/subject`).
pub const fn malformed_id(checks: &[CheckInfo]) -> Option<&'static str> {
    let mut i = 0;
    while i < checks.len() {
        if !well_formed(checks[i].id) {
            return Some(checks[i].id);
        }
        i += 1;
    }
    None
}

/// `checks` followed by `more`, as an array of `N` checks; for a gate whose
/// checks come from more than one catalogue. Panics (at compile time, in a
/// constant) unless `N` is the total length and the ids are unique and
/// well-formed.
pub const fn concat<const N: usize>(parts: &[&[CheckInfo]]) -> [CheckInfo; N] {
    let placeholder =
        CheckInfo { id: "", default_severity: crate::Severity::Blocker, summary: "", remedy: "" };
    let mut all = [placeholder; N];
    let mut n = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            assert!(n < N, "concat: more checks than the array holds");
            all[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N, "concat: fewer checks than the array holds");
    assert!(duplicate_id(&all).is_none(), "two checks share an id");
    assert!(malformed_id(&all).is_none(), "a check id is not lowercase kebab-case");
    all
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn well_formed(id: &str) -> bool {
    let id = id.as_bytes();
    if id.is_empty() || id[0] == b'-' || id[id.len() - 1] == b'-' {
        return false;
    }
    let mut i = 0;
    while i < id.len() {
        if !matches!(id[i], b'a'..=b'z' | b'0'..=b'9' | b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a gate's checks: generates a `Copy` enum with one variant per
/// check, and on it
/// - `ALL`, every check's [`CheckInfo`](crate::CheckInfo) in declaration
///   order (what [`Gate::checks`](crate::Gate::checks) returns, so the
///   order is that of `--list-gates`);
/// - `id()` and `info()`;
/// - `pass`, `fail`, `warn`, `error` and `skipped(subject, reason)`, which
///   build an [`Item`](crate::Item) of that check.
///
/// Ids must be unique and lowercase kebab-case; the declaration does not
/// compile otherwise.
///
/// ```
/// gate_core::check_catalogue! {
///     /// The checks of the `example` gate.
///     pub enum Check {
///         /// Also documented here.
///         Hash = "hash" {
///             severity: Blocker,
///             summary: "The file's SHA-256 equals the listed hash.",
///             remedy: "Rebuild the file or update the list.",
///         },
///         Order = "order" {
///             severity: Warning,
///             summary: "The list is sorted.",
///             remedy: "Sort it.",
///         },
///     }
/// }
///
/// assert_eq!(Check::ALL.iter().map(|c| c.id).collect::<Vec<_>>(), ["hash", "order"]);
/// assert_eq!(Check::Order.info().default_severity, gate_core::Severity::Warning);
/// let item = Check::Hash.fail("a.whl", "the hash differs");
/// assert_eq!((item.check.as_ref(), item.status), ("hash", gate_core::Status::Fail));
/// ```
///
/// Two checks with one id do not compile:
///
/// ```compile_fail
/// gate_core::check_catalogue! {
///     /// The checks of the `example` gate.
///     pub enum Check {
///         Hash = "hash" { severity: Blocker, summary: "One.", remedy: "One." },
///         Again = "hash" { severity: Blocker, summary: "Two.", remedy: "Two." },
///     }
/// }
/// ```
#[macro_export]
macro_rules! check_catalogue {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $id:literal {
                    severity: $severity:ident,
                    summary: $summary:literal,
                    remedy: $remedy:literal $(,)?
                }
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $(
                #[doc = concat!("The `", $id, "` check (see [`", stringify!($name), "::info`]).")]
                $(#[$variant_meta])*
                $variant,
            )+
        }

        const _: () = {
            assert!($crate::catalogue::duplicate_id($name::ALL).is_none(), "two checks share an id");
            assert!($crate::catalogue::malformed_id($name::ALL).is_none(), "a check id is not lowercase kebab-case");
        };

        #[allow(dead_code)]
        impl $name {
            /// Every check, in declaration order: what the gate's `checks` returns.
            pub const ALL: &'static [$crate::CheckInfo] = &[
                $(
                    $crate::CheckInfo {
                        id: $id,
                        default_severity: $crate::Severity::$severity,
                        summary: $summary,
                        remedy: $remedy,
                    },
                )+
            ];

            /// The check's id inside its gate, as item ids and waivers name it.
            pub const fn id(self) -> &'static str {
                self.info().id
            }

            /// What `--list-gates` and `--explain` say about the check.
            pub const fn info(self) -> &'static $crate::CheckInfo {
                &Self::ALL[self as usize]
            }

            /// A passing item of this check.
            pub fn pass(self, subject: impl Into<String>, reason: impl Into<String>) -> $crate::Item {
                $crate::Item::pass(self.id(), subject, reason)
            }

            /// A failing item of this check (a blocker unless its severity says otherwise).
            pub fn fail(self, subject: impl Into<String>, reason: impl Into<String>) -> $crate::Item {
                $crate::Item::fail(self.id(), subject, reason)
            }

            /// A warning of this check.
            pub fn warn(self, subject: impl Into<String>, reason: impl Into<String>) -> $crate::Item {
                $crate::Item::warn(self.id(), subject, reason)
            }

            /// An item of this check the gate could not decide; it always blocks.
            pub fn error(self, subject: impl Into<String>, reason: impl Into<String>) -> $crate::Item {
                $crate::Item::error(self.id(), subject, reason)
            }

            /// An item of this check that was not checked; it blocks unless
            /// waived or configured as a warning.
            pub fn skipped(self, subject: impl Into<String>, reason: impl Into<String>) -> $crate::Item {
                $crate::Item::skipped(self.id(), subject, reason)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.id())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Severity, Status};

    crate::check_catalogue! {
        /// A catalogue for the tests.
        pub enum Check {
            Sums = "sums-file" {
                severity: Blocker,
                summary: "The sums file exists.",
                remedy: "Commit it.",
            },
            Order = "sums-order" {
                severity: Warning,
                summary: "Entries are sorted.",
                remedy: "Sort them.",
            },
            /// A third check.
            Hash = "hash" {
                severity: Blocker,
                summary: "The hash matches.",
                remedy: "Rebuild.",
            }
        }
    }

    const fn info(id: &'static str) -> CheckInfo {
        CheckInfo { id, default_severity: Severity::Blocker, summary: "", remedy: "" }
    }

    #[test]
    fn all_is_in_declaration_order_and_matches_the_variants() {
        let ids: Vec<&str> = Check::ALL.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["sums-file", "sums-order", "hash"]);
        for (check, id) in [(Check::Sums, "sums-file"), (Check::Order, "sums-order"), (Check::Hash, "hash")] {
            assert_eq!(check.id(), id);
            assert_eq!(check.info().id, id);
            assert_eq!(check.to_string(), id);
        }
        assert_eq!(Check::Order.info().default_severity, Severity::Warning);
        assert_eq!(Check::Order.info().summary, "Entries are sorted.");
        assert_eq!(Check::Order.info().remedy, "Sort them.");
    }

    #[test]
    fn constructors_set_the_check_and_the_status() {
        let items = [
            (Check::Hash.pass("a", "r"), Status::Pass),
            (Check::Hash.fail("a", "r"), Status::Fail),
            (Check::Hash.warn("a", "r"), Status::Warn),
            (Check::Hash.error("a", "r"), Status::Error),
            (Check::Hash.skipped("a", "r"), Status::Skipped),
        ];
        for (item, status) in items {
            assert_eq!(item, crate::Item::new(status, "hash", "a", "r"));
        }
    }

    #[test]
    fn duplicate_ids_are_found() {
        assert_eq!(duplicate_id(Check::ALL), None);
        assert_eq!(duplicate_id(&[info("a"), info("b"), info("a")]), Some("a"));
        assert_eq!(duplicate_id(&[info("ab"), info("a")]), None);
        assert_eq!(duplicate_id(&[]), None);
    }

    #[test]
    fn malformed_ids_are_found() {
        assert_eq!(malformed_id(Check::ALL), None);
        for bad in ["", "-a", "a-", "A", "a/b", "a b", "a_b"] {
            assert_eq!(malformed_id(&[info("ok"), info(bad)]), Some(bad), "{bad:?}");
        }
    }

    #[test]
    fn concat_keeps_the_order() {
        const ALL: [CheckInfo; 4] = concat(&[Check::ALL, &[info("extra")]]);
        let ids: Vec<&str> = ALL.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["sums-file", "sums-order", "hash", "extra"]);
    }

    #[test]
    #[should_panic(expected = "two checks share an id")]
    fn concat_refuses_a_shared_id() {
        let _ = concat::<4>(&[Check::ALL, &[info("hash")]]);
    }

    #[test]
    #[should_panic(expected = "fewer checks")]
    fn concat_refuses_a_wrong_length() {
        let _ = concat::<5>(&[Check::ALL, &[info("extra")]]);
    }
}

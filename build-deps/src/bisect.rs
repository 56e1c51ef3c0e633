//! `release-check bisect`: between a good and a bad moment, the first
//! upload to the index that changes the analysis, and the version bump and
//! new needs it brought.
//!
//! The candidates are the upload times, strictly between the two moments,
//! of every file of every distribution either moment's analysis reads. The
//! analysis is run as of just after a candidate (binary search, as `git
//! bisect` does, assuming the change stays once made); it changes when the
//! set of its findings (failing and error items, by check and subject)
//! does. Each project page is read from the index once: every step after
//! the first two costs no request unless the graph reaches a new
//! distribution.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use gate_core::{Context, GateOutcome, Status};
use pep508_rs::pep440_rs::Version;

use crate::analyser::Analyser;
use crate::config::Config;
use crate::model::Analysis;

/// What a bisection found.
#[derive(Debug, Clone)]
pub struct Bisection {
    /// The good moment and its findings (`check subject: reason`).
    pub good: (jiff::Timestamp, Vec<String>),
    /// The bad moment and its findings.
    pub bad: (jiff::Timestamp, Vec<String>),
    /// How many upload times lie between them.
    pub candidates: usize,
    /// How many analyses were run.
    pub steps: usize,
    /// The change, unless both moments give the same findings.
    pub change: Option<Change>,
    /// What the reader should know: the good moment already has errors.
    pub warnings: Vec<String>,
}

/// The first upload that changes the analysis.
#[derive(Debug, Clone)]
pub struct Change {
    /// When it was uploaded: the analysis as of just before gives the good
    /// findings, as of just after the bad ones.
    pub uploaded: jiff::Timestamp,
    /// The files uploaded at that moment.
    pub files: Vec<String>,
    /// The distributions whose analysed version changed then.
    pub bumps: Vec<Bump>,
    /// Needs (edges of the graph) there after and not before, described.
    pub new_needs: Vec<String>,
    /// Needs there before and not after.
    pub gone_needs: Vec<String>,
    /// Findings after and not before, and before and not after.
    pub new_findings: Vec<String>,
    /// Findings before and not after.
    pub gone_findings: Vec<String>,
}

/// One distribution's change of version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bump {
    /// Normalised name.
    pub name: String,
    /// The versions there before and not after (`, ` between them), if any.
    pub old: Option<String>,
    /// The versions there after and not before, if any.
    pub new: Option<String>,
    /// The versions there both before and after, if any.
    pub kept: Option<String>,
    /// The new version's sdist and its upload time.
    pub file: Option<(String, Option<jiff::Timestamp>)>,
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "{} {old} → {new}", self.name)?,
            (None, Some(new)) => match &self.kept {
                Some(kept) => write!(f, "{} {new} (new in the graph, beside {kept})", self.name)?,
                None => write!(f, "{} {new} (new in the graph)", self.name)?,
            },
            (Some(old), None) => match &self.kept {
                Some(kept) => write!(f, "{} {old} (gone from the graph, {kept} stays)", self.name)?,
                None => write!(f, "{} {old} (gone from the graph)", self.name)?,
            },
            (None, None) => f.write_str(&self.name)?,
        }
        if let Some((file, uploaded)) = &self.file {
            match uploaded {
                Some(when) => write!(f, ", {file} uploaded {when}")?,
                None => write!(f, ", {file}")?,
            }
        }
        Ok(())
    }
}

/// Findings, as `check subject: reason` keyed by `(check, subject)`.
type Findings = BTreeMap<(String, String), String>;

/// The findings of one analysis: every failing or error item; and how many
/// of them are errors.
fn findings(analyser: &Analyser, analysis: &Analysis) -> (Findings, Vec<String>) {
    let mut outcome = GateOutcome::default();
    analyser.report(analysis, &mut outcome);
    let errors = outcome
        .items
        .iter()
        .filter(|item| item.status == Status::Error)
        .map(|item| format!("{} {}: {}", item.check, item.subject, item.reason))
        .collect();
    let findings = outcome
        .items
        .into_iter()
        .filter(|item| matches!(item.status, Status::Fail | Status::Error))
        .map(|item| {
            let line = format!("{} {}: {}", item.check, item.subject, item.reason);
            ((item.check.into_owned(), item.subject), line)
        })
        .collect();
    (findings, errors)
}

/// Just after `t`: the first moment whose analysis sees a file uploaded at `t`.
fn after(t: jiff::Timestamp) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_nanos(1)).unwrap_or(t)
}

/// Why a bisection found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BisectError {
    /// The good moment is not before the bad one.
    #[error("the good moment {good} must be before the bad moment {bad}")]
    Backwards {
        /// The good moment.
        good: jiff::Timestamp,
        /// The bad moment.
        bad: jiff::Timestamp,
    },
    /// The analysis cannot run at all.
    #[error("the analysis cannot run: {}", .reasons.join("; "))]
    CannotRun {
        /// The reasons of the items that say why.
        reasons: Vec<String>,
    },
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The findings change between the moments, but no upload between
    /// them changes them.
    #[error(
        "the findings change between {good} and {bad}, but at no upload time between them: the index changed otherwise (a yank, a deleted file), or it answered differently"
    )]
    NoUpload {
        /// The good moment.
        good: jiff::Timestamp,
        /// The bad moment.
        bad: jiff::Timestamp,
    },
}

/// Bisects the analysis of `config` between `good` and `bad` (`good <
/// bad`); the error says why no analysis could run.
pub fn bisect(
    ctx: &Context,
    config: &Config,
    good: jiff::Timestamp,
    bad: jiff::Timestamp,
) -> Result<Bisection, BisectError> {
    if good >= bad {
        return Err(BisectError::Backwards { good, bad });
    }
    let mut setup = GateOutcome::default();
    let Some(analyser) = Analyser::new(ctx, config, &mut setup) else {
        let reasons: Vec<String> = setup.items.iter().map(|i| i.reason.clone()).collect();
        return Err(BisectError::CannotRun { reasons });
    };
    let before = analyser.at(ctx, good);
    let after_all = analyser.at(ctx, bad);
    let ((good_findings, good_errors), (bad_findings, _)) =
        (findings(&analyser, &before), findings(&analyser, &after_all));
    let listed = |f: &Findings| f.values().cloned().collect::<Vec<_>>();
    let mut warnings = Vec::new();
    if !good_errors.is_empty() {
        warnings.push(format!(
            "the good moment {good} already has {} error item{}: its analysis is incomplete, so a change may hide behind them: {}",
            good_errors.len(),
            if good_errors.len() == 1 { "" } else { "s" },
            good_errors.join("; ")
        ));
    }
    let mut bisection = Bisection {
        good: (good, listed(&good_findings)),
        bad: (bad, listed(&bad_findings)),
        candidates: 0,
        steps: 2,
        change: None,
        warnings,
    };
    if good_findings.keys().eq(bad_findings.keys()) {
        return Ok(bisection);
    }
    // Every upload time strictly between the two moments, of every
    // distribution either analysis reached.
    let names: BTreeSet<String> =
        before.closure().into_keys().chain(after_all.closure().into_keys()).collect();
    let mut uploads: BTreeMap<jiff::Timestamp, Vec<String>> = BTreeMap::new();
    for name in &names {
        let Ok(page) = analyser.catalog.index.project(name, &ctx.cancel) else { continue };
        for file in &page.files {
            if let Some(t) = file.upload_time.filter(|t| good <= *t && *t < bad) {
                uploads.entry(t).or_default().push(file.filename.clone());
            }
        }
    }
    let moments: Vec<jiff::Timestamp> = uploads.keys().copied().collect();
    bisection.candidates = moments.len();
    // Candidates before `start` give the good findings (as of just after
    // them); from `end` on, not.
    let (mut start, mut end) = (0, moments.len());
    let mut good_side = (before, good_findings);
    let mut bad_side = (after_all, bad_findings);
    while start < end {
        if ctx.cancel.is_cancelled() {
            return Err(BisectError::Cancelled);
        }
        let mid = start + (end - start) / 2;
        let analysis = analyser.at(ctx, after(moments[mid]));
        let (found, _) = findings(&analyser, &analysis);
        bisection.steps += 1;
        if found.keys().eq(good_side.1.keys()) {
            start = mid + 1;
            good_side = (analysis, found);
        } else {
            end = mid;
            bad_side = (analysis, found);
        }
    }
    // `end == moments.len()` would mean only `bad` itself differs, though
    // nothing was uploaded between the last candidate and it.
    let Some(&uploaded) = moments.get(end) else {
        return Err(BisectError::NoUpload { good, bad });
    };
    bisection.change = Some(describe(&analyser, &good_side, &bad_side, uploaded, uploads[&uploaded].clone()));
    Ok(bisection)
}

/// What differs between the last good and the first bad analysis.
fn describe(
    analyser: &Analyser,
    (good, good_findings): &(Analysis, Findings),
    (bad, bad_findings): &(Analysis, Findings),
    uploaded: jiff::Timestamp,
    files: Vec<String>,
) -> Change {
    let (before, after) = (good.closure(), bad.closure());
    let sdists = bad.sdists();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut bumps: Vec<Bump> = names
        .into_iter()
        .filter_map(|name| {
            let none = BTreeSet::new();
            let (old, new) = (before.get(name).unwrap_or(&none), after.get(name).unwrap_or(&none));
            let joined = |versions: Vec<&Version>| {
                (!versions.is_empty())
                    .then(|| versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
            };
            let gone = joined(old.difference(new).collect());
            let came: Vec<&Version> = new.difference(old).collect();
            let file = came.first().and_then(|v| sdists.get(&(name.clone(), (*v).clone()))).cloned();
            let came = joined(came);
            let kept = joined(old.intersection(new).collect());
            (gone.is_some() || came.is_some()).then(|| Bump {
                name: name.clone(),
                old: gone,
                new: came,
                kept,
                file,
            })
        })
        .collect();
    // The bump uploaded at the moment itself first: it is the cause, the
    // others follow from it.
    bumps.sort_by_key(|bump| bump.file.as_ref().and_then(|f| f.1) != Some(uploaded));
    let (before, after) = (good.needs(analyser), bad.needs(analyser));
    let only = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| {
        a.iter().filter(|(k, _)| !b.contains_key(*k)).map(|(_, v)| v.clone()).collect::<Vec<_>>()
    };
    let only_findings = |a: &Findings, b: &Findings| {
        a.iter().filter(|(k, _)| !b.contains_key(*k)).map(|(_, v)| v.clone()).collect::<Vec<_>>()
    };
    Change {
        uploaded,
        files,
        bumps,
        new_needs: only(&after, &before),
        gone_needs: only(&before, &after),
        new_findings: only_findings(bad_findings, good_findings),
        gone_findings: only_findings(good_findings, bad_findings),
    }
}

impl fmt::Display for Bisection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let findings = |list: &[String]| match list.len() {
            0 => "no findings".to_owned(),
            n => format!("{n} finding{}", if n == 1 { "" } else { "s" }),
        };
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        writeln!(f, "good: as of {}: {}", self.good.0, findings(&self.good.1))?;
        writeln!(f, "bad:  as of {}: {}", self.bad.0, findings(&self.bad.1))?;
        let Some(change) = &self.change else {
            return writeln!(f, "\nBoth moments give the same findings: nothing to bisect.");
        };
        writeln!(
            f,
            "{} upload time{} between them, {} analyses\n\nThe analysis changes with the upload of {} at {}:",
            self.candidates,
            if self.candidates == 1 { "" } else { "s" },
            self.steps,
            change.files.join(", "),
            change.uploaded
        )?;
        for bump in &change.bumps {
            writeln!(f, "  bump: {bump}")?;
        }
        for need in &change.new_needs {
            writeln!(f, "  new need: {need}")?;
        }
        for need in &change.gone_needs {
            writeln!(f, "  gone need: {need}")?;
        }
        for finding in &change.new_findings {
            writeln!(f, "  new finding: {finding}")?;
        }
        for finding in &change.gone_findings {
            writeln!(f, "  gone finding: {finding}")?;
        }
        Ok(())
    }
}

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

use super::{Analyser, Analysis, Config};

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
    /// The version before, if it was in the graph.
    pub old: Option<String>,
    /// The version after, if it is in the graph.
    pub new: Option<String>,
    /// The new version's sdist and its upload time.
    pub file: Option<(String, Option<jiff::Timestamp>)>,
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "{} {old} → {new}", self.name)?,
            (None, Some(new)) => write!(f, "{} {new} (new in the graph)", self.name)?,
            (Some(old), None) => write!(f, "{} {old} (gone from the graph)", self.name)?,
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

/// The findings of one analysis: every failing or error item.
fn findings(analyser: &Analyser, analysis: &Analysis) -> Findings {
    let mut outcome = GateOutcome::default();
    analyser.report(analysis, &mut outcome);
    outcome
        .items
        .into_iter()
        .filter(|item| matches!(item.status, Status::Fail | Status::Error))
        .map(|item| {
            let line = format!("{} {}: {}", item.check, item.subject, item.reason);
            ((item.check, item.subject), line)
        })
        .collect()
}

/// Just after `t`: the first moment whose analysis sees a file uploaded at `t`.
fn after(t: jiff::Timestamp) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_nanos(1)).unwrap_or(t)
}

/// Bisects the analysis of `config` between `good` and `bad` (`good <
/// bad`); the error says why no analysis could run.
pub fn bisect(
    ctx: &Context,
    config: &Config,
    good: jiff::Timestamp,
    bad: jiff::Timestamp,
) -> Result<Bisection, String> {
    if good >= bad {
        return Err(format!("the good moment {good} must be before the bad moment {bad}"));
    }
    let mut setup = GateOutcome::default();
    let Some(analyser) = Analyser::new(ctx, config, &mut setup) else {
        let reasons: Vec<String> = setup.items.iter().map(|i| i.reason.clone()).collect();
        return Err(format!("the analysis cannot run: {}", reasons.join("; ")));
    };
    let before = analyser.at(ctx, good);
    let after_all = analyser.at(ctx, bad);
    let (good_findings, bad_findings) = (findings(&analyser, &before), findings(&analyser, &after_all));
    let listed = |f: &Findings| f.values().cloned().collect::<Vec<_>>();
    let mut bisection = Bisection {
        good: (good, listed(&good_findings)),
        bad: (bad, listed(&bad_findings)),
        candidates: 0,
        steps: 2,
        change: None,
    };
    if good_findings.keys().eq(bad_findings.keys()) {
        return Ok(bisection);
    }
    // Every upload time strictly between the two moments, of every
    // distribution either analysis reached.
    let names: BTreeSet<&str> =
        before.walk.nodes.iter().chain(&after_all.walk.nodes).map(|n| n.name.as_str()).collect();
    let mut uploads: BTreeMap<jiff::Timestamp, Vec<String>> = BTreeMap::new();
    for name in names {
        let Ok(page) = analyser.index.project(name, &ctx.cancel) else { continue };
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
            return Err("cancelled".to_owned());
        }
        let mid = start + (end - start) / 2;
        let analysis = analyser.at(ctx, after(moments[mid]));
        let found = findings(&analyser, &analysis);
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
        return Err(format!(
            "the findings change between {good} and {bad}, but at no upload time between them: the index changed otherwise (a yank, a deleted file), or it answered differently"
        ));
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
    let version = |analysis: &Analysis, name: &str| {
        let node = &analysis.walk.nodes[*analysis.walk.by_name.get(name)?];
        node.chosen.as_ref().map(|c| (c.version.to_string(), c.filename.clone(), c.uploaded))
    };
    let names: BTreeSet<&String> = good.walk.by_name.keys().chain(bad.walk.by_name.keys()).collect();
    let mut bumps: Vec<Bump> = names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (version(good, name), version(bad, name));
            if old.as_ref().map(|o| &o.0) == new.as_ref().map(|n| &n.0) {
                return None;
            }
            Some(Bump {
                name: name.clone(),
                old: old.map(|o| o.0),
                file: new.as_ref().map(|n| (n.1.clone(), n.2)),
                new: new.map(|n| n.0),
            })
        })
        .collect();
    // The bump uploaded at the moment itself first: it is the cause, the
    // others follow from it.
    bumps.sort_by_key(|bump| bump.file.as_ref().and_then(|f| f.1) != Some(uploaded));
    let pythons = analyser.labels();
    let needs = |analysis: &Analysis| -> BTreeMap<String, String> {
        let walk = &analysis.walk;
        walk.needs
            .iter()
            .map(|need| {
                let from = &walk.nodes[need.edge.from];
                let key = format!("{}→{} {}", from.name, walk.nodes[need.edge.to].name, need.dependency.text);
                (key, format!("{from} {}", super::describe_need(walk, need, &pythons)))
            })
            .collect()
    };
    let (before, after) = (needs(good), needs(bad));
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

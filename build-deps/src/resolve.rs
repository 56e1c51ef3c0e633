//! One environment resolved from the index as pip resolves it, for one
//! target Python at one moment: each requirement gets the newest version
//! uploaded before the moment that every requirement met so far allows,
//! together with the constraints (what `PIP_CONSTRAINT` names), whose
//! `Requires-Python` admits the target Python, yanked versions left out
//! unless pinned with `==`, pre-releases only when nothing else matches;
//! then, breadth first, the run-time needs of each chosen release whose
//! marker is true there (extras included). When a later requirement rules
//! out a version already chosen, the resolution starts over with every
//! requirement met so far, a bounded number of times: a greedy resolver,
//! not pip's backtracking one, which gives the same answer whenever the
//! newest versions fit together.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr as _;
use std::sync::Arc;

use gate_core::{CancelToken, Item};
use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment};

use super::catalog::{self, Catalog, Release, sdist_version};
use super::index::{DistFile, ProjectPage};
use super::metadata::Dependency;
use super::model::RunNeedsError;
use pip_requirements::normalise_name;

use crate::checks::Check;

/// How many times a resolution may start over.
const MAX_PASSES: usize = 8;

/// One version specifier set that applies to a name, and where it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub specifiers: VersionSpecifiers,
    /// `setuptools_scm[toml]>=3.4.1`, or `constraints.txt: setuptools-scm==6.4.2`.
    pub text: String,
}

impl Spec {
    /// Whether it pins one version (`==1.0`, `===1.0`).
    fn pins(&self) -> bool {
        self.specifiers.iter().any(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual))
    }
}

/// Version specifiers by name that reach every resolution (constraints).
pub(crate) type Constraints = BTreeMap<String, Vec<Spec>>;

/// The target a resolution is for.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub markers: &'a MarkerEnvironment,
    /// Its full version, `3.7.16`, for `Requires-Python`.
    pub python: &'a Version,
    pub as_of: jiff::Timestamp,
    pub constraints: &'a Constraints,
}

/// One member of a resolved environment.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub release: Release,
    pub read: catalog::Read,
    /// The member whose need first brought it; `None` for a requirement of
    /// the environment itself.
    pub parent: Option<String>,
    /// That need.
    pub dependency: Dependency,
    /// The extras asked of it.
    pub extras: BTreeSet<ExtraName>,
    /// What pins it to one version (`==` in a requirement or a constraint).
    pub pinned: Option<String>,
}

/// A resolved environment.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    /// By normalised name.
    pub members: BTreeMap<String, Member>,
    /// Index and metadata problems, as error items.
    pub problems: Vec<Item>,
    /// Names whose needs are not (all) known.
    pub unread: Vec<String>,
    /// What the resolution left out and why (yanked versions, `Requires-Python`).
    pub notes: Vec<String>,
}

impl Resolution {
    /// The chain of members from a requirement of the environment down to
    /// `name`, first to last.
    pub fn chain(&self, name: &str) -> Vec<&Member> {
        let mut chain = Vec::new();
        let mut at = self.members.get(name);
        while let Some(member) = at {
            if chain.iter().any(|m: &&Member| m.release.name == member.release.name) {
                break;
            }
            chain.push(member);
            at = member.parent.as_ref().and_then(|p| self.members.get(p));
        }
        chain.reverse();
        chain
    }
}

/// What the resolver asks about a chosen release: its run-time needs on
/// the target, or why they are unknown.
pub(crate) type RunNeeds<'f> =
    &'f dyn Fn(&Release, &catalog::ReleaseInfo) -> Result<Vec<Dependency>, RunNeedsError>;

/// Resolves `requirements` for `target`, reading releases through `catalog`.
pub(crate) fn resolve(
    catalog: &Catalog,
    requirements: &[Dependency],
    target: Target,
    run_needs: RunNeeds,
    cancel: &CancelToken,
) -> Resolution {
    let mut specs: BTreeMap<String, Vec<Spec>> = BTreeMap::new();
    let mut last = Resolution::default();
    for _ in 0..MAX_PASSES {
        let resolution = pass(catalog, requirements, target, run_needs, &mut specs, cancel);
        let settled = resolution.members.iter().all(|(name, member)| {
            specs.get(name).is_none_or(|s| s.iter().all(|s| s.specifiers.contains(&member.release.version)))
        });
        if settled {
            return resolution;
        }
        last = resolution;
    }
    let unsettled: Vec<String> = last
        .members
        .iter()
        .filter(|(name, member)| {
            specs
                .get(*name)
                .is_some_and(|s| s.iter().any(|s| !s.specifiers.contains(&member.release.version)))
        })
        .map(|(_, member)| member.release.to_string())
        .collect();
    last.problems.push(Check::Index.error(
        unsettled.join(", "),
        format!(
            "no versions that fit together were found in {MAX_PASSES} passes (the newest allowed of each, started over when a later requirement ruled one out): {}",
            unsettled.join(", ")
        ),
    ));
    last
}

/// One breadth-first pass, adding every requirement met to `specs`.
fn pass(
    catalog: &Catalog,
    requirements: &[Dependency],
    target: Target,
    run_needs: RunNeeds,
    specs: &mut BTreeMap<String, Vec<Spec>>,
    cancel: &CancelToken,
) -> Resolution {
    let mut resolution = Resolution::default();
    let mut level: Vec<(Dependency, Option<String>)> =
        requirements.iter().map(|d| (d.clone(), None)).collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        // Name → (need, parent, extras), in the order first met.
        let mut pending: Vec<(String, Dependency, Option<String>, BTreeSet<ExtraName>)> = Vec::new();
        for (dependency, parent) in level {
            let no_extras = BTreeSet::new();
            let extras =
                parent.as_ref().and_then(|p| resolution.members.get(p)).map_or(&no_extras, |m| &m.extras);
            let extras: Vec<ExtraName> = extras.iter().cloned().collect();
            if !dependency.marker.evaluate(target.markers, &extras) {
                continue;
            }
            let name = normalise_name(&dependency.requirement.name);
            if let Ok(specifiers) = VersionSpecifiers::from_str(dependency.requirement.specifier.trim())
                && !specifiers.is_empty()
            {
                let spec = Spec { specifiers, text: dependency.text.clone() };
                let known = specs.entry(name.clone()).or_default();
                if !known.contains(&spec) {
                    known.push(spec);
                }
            }
            let asked: BTreeSet<ExtraName> = dependency.requirement.extras.iter().cloned().collect();
            if let Some(member) = resolution.members.get_mut(&name) {
                let before = member.extras.len();
                member.extras.extend(asked);
                if member.extras.len() > before
                    && let Ok(needs) = run_needs(&member.release, info(&member.read))
                {
                    next.extend(needs.into_iter().map(|d| (d, Some(name.clone()))));
                }
                continue;
            }
            match pending.iter_mut().find(|p| p.0 == name) {
                Some(found) => found.3.extend(asked),
                None => pending.push((name, dependency, parent, asked)),
            }
        }
        let names: Vec<String> = pending.iter().map(|p| p.0.clone()).collect();
        let pages = catalog.pages(&names, cancel);
        let mut wanted = Vec::new();
        let mut chosen = Vec::new();
        for ((name, dependency, parent, extras), page) in pending.into_iter().zip(pages) {
            let page = match page {
                Ok(page) => page,
                Err(item) => {
                    resolution.problems.push(*item);
                    resolution.unread.push(name);
                    continue;
                }
            };
            let mut wanted_specs = specs.get(&name).cloned().unwrap_or_default();
            wanted_specs.extend(target.constraints.get(&name).cloned().unwrap_or_default());
            match choose(&page, &name, &wanted_specs, target) {
                Ok(choice) => {
                    resolution.notes.extend(choice.notes);
                    let release = Release { name: name.clone(), version: choice.version };
                    wanted.push((release.clone(), choice.file, Arc::clone(&page)));
                    chosen.push((release, dependency, parent, extras, choice.pinned));
                }
                Err(reason) => {
                    resolution.problems.push(Check::Index.error(&name, reason.to_string()));
                    resolution.unread.push(name);
                }
            }
        }
        let reads = catalog.read(&wanted, cancel);
        for ((release, dependency, parent, extras, pinned), read) in chosen.into_iter().zip(reads) {
            let name = release.name.clone();
            match read.as_ref() {
                Ok(found) => match run_needs(&release, found) {
                    Ok(needs) => next.extend(needs.into_iter().map(|d| (d, Some(name.clone())))),
                    Err(why) => {
                        resolution
                            .problems
                            .push(Check::BuildMetadata.error(release.to_string(), why.to_string()));
                        resolution.unread.push(release.to_string());
                    }
                },
                Err(item) => {
                    resolution.problems.push(Item::clone(item));
                    resolution.unread.push(release.to_string());
                }
            }
            resolution.members.insert(name, Member { release, read, parent, dependency, extras, pinned });
        }
        level = next;
    }
    resolution
}

/// The release info of a read that succeeded; a failed one has no needs.
fn info(read: &catalog::Read) -> &catalog::ReleaseInfo {
    match read.as_ref() {
        Ok(info) => info,
        Err(_) => unreachable!("a member whose read failed is never asked for needs again"),
    }
}

/// A version chosen for a name.
struct Choice {
    version: Version,
    file: DistFile,
    pinned: Option<String>,
    notes: Vec<String>,
}

/// No sdist of a name fits the specs and the target.
#[derive(Debug, thiserror::Error)]
#[error(
    "no sdist of {name}{matching} uploaded before {as_of} on {url}{other_python}",
    matching = matching(.specs),
    other_python = other_python(*.excluded, .python),
)]
struct NoSdist {
    name: String,
    /// The specs' texts.
    specs: Vec<String>,
    as_of: jiff::Timestamp,
    /// The project page.
    url: String,
    /// How many sdists match the specs but require another Python.
    excluded: usize,
    /// The target's full version.
    python: Version,
}

/// ` matching `a` and `b``, or nothing without specs.
fn matching(specs: &[String]) -> String {
    match specs.is_empty() {
        true => String::new(),
        false => {
            format!(" matching {}", specs.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" and "))
        }
    }
}

/// ` (n matching ones require another Python than 3.7.16)`, or nothing.
fn other_python(excluded: usize, python: &Version) -> String {
    match excluded {
        0 => String::new(),
        n => format!(" ({n} matching ones require another Python than {python})"),
    }
}

/// The version pip takes of `name` from `page` for `target`: the newest
/// sdist uploaded before the moment that every spec allows, whose
/// `Requires-Python` admits the target, not yanked unless a spec pins it,
/// not a pre-release unless nothing else matches.
fn choose(page: &ProjectPage, name: &str, specs: &[Spec], target: Target) -> Result<Choice, NoSdist> {
    let mut sdists: Vec<(Version, &DistFile)> = page
        .as_of(target.as_of)
        .filter_map(|file| Some((sdist_version(name, &file.filename)?, file)))
        .collect();
    // The newest version first; of one version, a .tar.gz before a .zip.
    sdists.sort_by(|a, b| {
        b.0.cmp(&a.0).then(a.1.filename.ends_with(".zip").cmp(&b.1.filename.ends_with(".zip")))
    });
    let admits = |file: &DistFile| match file.requires_python.as_deref().map(VersionSpecifiers::from_str) {
        Some(Ok(supported)) => supported.contains(target.python),
        // pip ignores a Requires-Python it cannot parse.
        _ => true,
    };
    let matches = |version: &Version| specs.iter().all(|s| s.specifiers.contains(version));
    let pinned = specs.iter().find(|s| s.pins()).map(|s| format!("`{}`", s.text));
    let candidates: Vec<&(Version, &DistFile)> =
        sdists.iter().filter(|(v, f)| matches(v) && admits(f)).collect();
    let finals: Vec<&&(Version, &DistFile)> =
        candidates.iter().filter(|(v, _)| !v.any_prerelease()).collect();
    let usable: Vec<&(Version, &DistFile)> = match finals.is_empty() {
        true => candidates.clone(),
        false => finals.into_iter().copied().collect(),
    };
    let not_yanked = usable.iter().find(|(_, f)| !f.yanked);
    let chosen = match (not_yanked, &pinned) {
        (Some(found), _) => Some(*found),
        // PEP 592: a yanked release is taken only when a pin leaves nothing else.
        (None, Some(_)) => usable.first().copied(),
        (None, None) => None,
    };
    let Some((version, file)) = chosen else {
        return Err(NoSdist {
            name: name.to_owned(),
            specs: specs.iter().map(|s| s.text.clone()).collect(),
            as_of: target.as_of,
            url: page.url.clone(),
            excluded: sdists.iter().filter(|(v, f)| matches(v) && !admits(f)).count(),
            python: target.python.clone(),
        });
    };
    let notes = usable
        .iter()
        .take_while(|(v, _)| v > version)
        .filter(|(_, f)| f.yanked)
        .map(|(v, f)| {
            let why = f.yanked_reason.as_deref().map_or(String::new(), |r| format!(" ({r})"));
            format!("{name} {v} is yanked on the index{why}: as pip does, the resolution leaves it out and takes {version}")
        })
        .collect();
    Ok(Choice { version: version.clone(), file: (*file).clone(), pinned, notes })
}

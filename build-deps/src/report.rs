//! The items and notes of an analysis: one `build-cycle` item per knot of
//! builds that need each other (its shortest cycle as the path, its other
//! cycles and what reaches it in the evidence), one `unpinned-build-dep`
//! item per distribution a build installs unpinned, the problems met, and
//! the closure. Each says on which target Pythons it holds; the Pythons are
//! always listed in the analyser's order, so the configuration's order
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use gate_core::{Evidence, GateOutcome, Item, Location};
use pep508_rs::ExtraName;

use super::catalog::Release;
use super::closure;
use super::metadata::Dependency;
use super::model::{Analysis, Build, PythonAnalysis};
use super::pip::Mode;
use super::resolve::Member;
use crate::analyser::Analyser;
use crate::checks::Check;

/// `3.7` or `3.7, 3.9`.
fn list(pythons: &[&str], on: impl Fn(usize) -> bool) -> String {
    pythons.iter().enumerate().filter(|(i, _)| on(*i)).map(|(_, p)| *p).collect::<Vec<_>>().join(", ")
}

/// Where a need's marker holds: empty when on every Python, else
/// `: active on 3.7, inactive on 3.9`.
fn activity(analyser: &Analyser, dependency: &Dependency, extras: &BTreeSet<ExtraName>) -> String {
    let extras: Vec<ExtraName> = extras.iter().cloned().collect();
    let active: Vec<bool> =
        analyser.pythons.iter().map(|p| dependency.marker.evaluate(&p.markers, &extras)).collect();
    if active.iter().all(|a| *a) {
        return String::new();
    }
    let pythons = analyser.labels();
    format!(": active on {}, inactive on {}", list(&pythons, |i| active[i]), list(&pythons, |i| !active[i]))
}

/// One step of a path: ` → setuptools-scm 7.0.4 (setuptools_scm[toml]>=3.4.1 [build-system])`.
fn step(analyser: &Analyser, member: &Member, parent_extras: &BTreeSet<ExtraName>) -> String {
    let dependency = &member.dependency;
    format!(
        " → {} ({} [{}]{})",
        member.release,
        dependency.text,
        dependency.source,
        activity(analyser, dependency, parent_extras)
    )
}

/// The members from build `from`'s environment `env` down to `name`, each
/// with the extras of the member that needed it.
fn links<'p>(
    python: &'p PythonAnalysis,
    from: usize,
    env: usize,
    name: &str,
) -> Vec<(&'p Member, BTreeSet<ExtraName>)> {
    let resolution = &python.builds[from].envs[env].1;
    let chain = resolution.chain(name);
    let mut extras = BTreeSet::new();
    let mut out = Vec::new();
    for member in chain {
        out.push((member, std::mem::replace(&mut extras, member.extras.clone())));
    }
    out
}

/// A cycle of builds: `(from, to, environment, member)` per edge.
type Cycle = Vec<(usize, usize, usize, String)>;

/// The shortest cycle through build `start` within `knot` (breadth first).
fn shortest_cycle(python: &PythonAnalysis, start: usize, knot: &BTreeSet<usize>) -> Option<Cycle> {
    let mut reached: BTreeMap<usize, (usize, usize, String)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    while let Some(at) = queue.pop_front() {
        for (to, env, name) in &python.builds[at].needs {
            if !knot.contains(to) {
                continue;
            }
            if *to == start {
                let mut cycle = vec![(at, *to, *env, name.clone())];
                let mut back = at;
                while back != start {
                    let (from, env, name) = reached[&back].clone();
                    cycle.push((from, back, env, name));
                    back = from;
                }
                cycle.reverse();
                return Some(cycle);
            }
            if seen.insert(*to) {
                reached.insert(*to, (at, *env, name.clone()));
                queue.push_back(*to);
            }
        }
    }
    None
}

/// A cycle as read: its subject (`importlib-metadata→setuptools-scm`), its
/// path, the number of steps, and one evidence line per step.
struct Described {
    subject: String,
    path: String,
    steps: usize,
    evidence: Vec<String>,
    /// How pip builds each release of the cycle, and why.
    rules: Vec<String>,
}

fn describe(analyser: &Analyser, python: &PythonAnalysis, cycle: &Cycle) -> Described {
    let start = &python.builds[cycle[0].0].release;
    let (mut names, mut path, mut evidence) = (vec![start.name.clone()], start.to_string(), Vec::new());
    let mut steps = 0;
    let mut rules = Vec::new();
    for (from, _, env, name) in cycle {
        if let Some((_, rule)) = &python.builds[*from].mode {
            rules.push(format!("{}: {rule}", python.builds[*from].release));
        }
        let mut parent = python.builds[*from].release.to_string();
        let mut parent_name = python.builds[*from].release.name.clone();
        for (i, (member, extras)) in links(python, *from, *env, name).into_iter().enumerate() {
            steps += 1;
            path.push_str(&step(analyser, member, &extras));
            names.push(member.release.name.clone());
            let when = if i == 0 { "in its build environment" } else { "at run time" };
            let passed_over = match (i, python.builds[*from].envs[*env].1.members.get(&parent_name)) {
                (1.., Some(needer)) => match needer.read.as_ref() {
                    Ok(info) => match &info.metadata {
                        Ok(metadata) if !metadata.fallbacks.is_empty() => {
                            format!(" (passed over: {})", metadata.fallbacks.join("; "))
                        }
                        _ => String::new(),
                    },
                    Err(_) => String::new(),
                },
                _ => String::new(),
            };
            evidence.push(format!(
                "{parent} needs {} {when}: `{}` from {}{passed_over}",
                member.release, member.dependency.text, member.dependency.source
            ));
            parent_name = member.release.name.clone();
            parent = member.release.to_string();
        }
    }
    names.pop();
    Described { subject: names.join("→"), path, steps, evidence, rules }
}

/// One knot, merged over the Pythons.
struct Knot {
    on: Vec<bool>,
    path: String,
    evidence: Vec<String>,
    rules: BTreeSet<String>,
    also: BTreeSet<String>,
    reached_from: BTreeSet<String>,
    pips: Vec<String>,
}

/// The requirements files' releases whose builds reach `knot`.
fn reached_from(analyser: &Analyser, python: &PythonAnalysis, knot: &BTreeSet<usize>) -> BTreeSet<String> {
    let mut before: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (from, build) in python.builds.iter().enumerate() {
        for (to, _, _) in &build.needs {
            before.entry(*to).or_default().push(from);
        }
    }
    let mut seen: BTreeSet<usize> = knot.clone();
    let mut queue: VecDeque<usize> = knot.iter().copied().collect();
    let mut found = BTreeSet::new();
    while let Some(at) = queue.pop_front() {
        let build: &Build = &python.builds[at];
        for &root in &build.root_of {
            found.insert(format!("{}: {}", analyser.roots[root].0, build.release));
        }
        for &from in before.get(&at).into_iter().flatten() {
            if seen.insert(from) {
                queue.push_back(from);
            }
        }
    }
    found
}

/// The `build-cycle` items of every Python, one per knot.
fn cycle_items(analyser: &Analyser, analysis: &Analysis, snapshot: &str) -> Vec<Item> {
    let pythons = analyser.labels();
    let mut knots: BTreeMap<String, Knot> = BTreeMap::new();
    for (p, python) in analysis.pythons.iter().enumerate() {
        let edges: Vec<super::graph::Edge> = python
            .builds
            .iter()
            .enumerate()
            .flat_map(|(from, b)| {
                b.needs.iter().map(move |(to, _, _)| super::graph::Edge { from, to: *to, build: true })
            })
            .collect();
        let component = super::graph::components(python.builds.len(), &edges);
        let mut members: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (node, c) in component.iter().enumerate() {
            members.entry(*c).or_default().insert(node);
        }
        for knot in members.values() {
            let looped = knot.len() > 1 || edges.iter().any(|e| e.from == e.to && knot.contains(&e.from));
            if !looped {
                continue;
            }
            let mut cycles: Vec<Described> = knot
                .iter()
                .filter_map(|&start| shortest_cycle(python, start, knot))
                .map(|cycle| describe(analyser, python, &cycle))
                .collect();
            cycles.sort_by(|a, b| a.steps.cmp(&b.steps).then(a.subject.cmp(&b.subject)));
            let Some(first) = cycles.first() else { continue };
            let entry = knots.entry(first.subject.clone()).or_insert_with(|| Knot {
                on: vec![false; pythons.len()],
                path: first.path.clone(),
                evidence: first.evidence.clone(),
                rules: BTreeSet::new(),
                also: BTreeSet::new(),
                reached_from: BTreeSet::new(),
                pips: Vec::new(),
            });
            entry.on[p] = true;
            entry.rules.extend(first.rules.iter().map(|rule| format!("on {}, {rule}", pythons[p])));
            entry
                .also
                .extend(cycles.iter().skip(1).filter(|c| c.subject != first.subject).map(|c| c.path.clone()));
            if first.path != entry.path {
                entry.also.insert(format!("on {}: {}", pythons[p], first.path));
            }
            entry.reached_from.extend(reached_from(analyser, python, knot));
            entry.pips.push(format!("{}: {}", pythons[p], analyser.pythons[p].pip));
        }
    }
    if knots.is_empty() {
        let distributions = analysis.releases().len();
        let found =
            format!("no build-time cycle among {distributions} distributions on {}", pythons.join(", "));
        let unread: BTreeSet<&String> = analysis.pythons.iter().flat_map(|p| &p.unread).collect();
        // Needs that were not read may hide a cycle: that is not a pass.
        let item = match unread.is_empty() {
            true => Check::BuildCycle.pass("", found),
            false => Check::BuildCycle.skipped(
                "",
                format!(
                    "{found}, but the needs of {} are unknown (see the errors), so a cycle through them cannot be ruled out",
                    unread.into_iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ),
        };
        return vec![item.with(Evidence::fact("snapshot", snapshot))];
    }
    knots
        .into_iter()
        .map(|(subject, knot)| {
            let not_on = list(&pythons, |i| !knot.on[i]);
            let reason = format!(
                "build-time cycle on {}{}: {}",
                list(&pythons, |i| knot.on[i]),
                if not_on.is_empty() { String::new() } else { format!(" (not on {not_on})") },
                knot.path
            );
            let mut item = Check::BuildCycle.fail(subject, reason);
            for (i, line) in knot.evidence.iter().enumerate() {
                item = item.with(Evidence::fact(format!("edge {}", i + 1), line));
            }
            for rule in &knot.rules {
                item = item.with(Evidence::fact("how pip builds it", rule));
            }
            for also in &knot.also {
                item = item.with(Evidence::fact("also in this knot", also));
            }
            let reached: Vec<&String> = knot.reached_from.iter().collect();
            if !reached.is_empty() {
                item = item.with(Evidence::fact("reached from", bounded(&reached, 12)));
            }
            for pip in &knot.pips {
                item = item.with(Evidence::fact("pip modelled", pip));
            }
            item.with(Evidence::fact("snapshot", snapshot))
        })
        .collect()
}

/// `a, b, c and 4 more`.
fn bounded(items: &[impl AsRef<str>], most: usize) -> String {
    let shown: Vec<&str> = items.iter().take(most).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(most) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// One distribution installed unpinned, over every Python.
#[derive(Default)]
struct Loose {
    /// Version → the Pythons it is installed on.
    versions: BTreeMap<String, BTreeSet<usize>>,
    needed_by: BTreeSet<String>,
}

/// One `unpinned-build-dep` item per distribution an isolated build
/// environment installs without a pin, and per build need the environment
/// pip runs in does not meet.
fn unpinned_items(analyser: &Analyser, analysis: &Analysis, snapshot: &str) -> Vec<Item> {
    let config = analyser.config;
    let pythons = analyser.labels();
    let mut loose: BTreeMap<String, Loose> = BTreeMap::new();
    for (p, python) in analysis.pythons.iter().enumerate() {
        for build in &python.builds {
            if !matches!(build.mode, Some((Mode::Isolated, _))) {
                continue;
            }
            for (_, env) in &build.envs {
                for (name, member) in env.members.iter().filter(|(_, m)| m.pinned.is_none()) {
                    let entry = loose.entry(name.clone()).or_default();
                    entry.versions.entry(member.release.version.to_string()).or_default().insert(p);
                    let top = env.chain(name).first().map(|m| &m.dependency);
                    if let Some(top) = top {
                        entry.needed_by.insert(format!("{} (`{}`, {})", build.release, top.text, top.source));
                    }
                }
            }
        }
    }
    let build_pins: BTreeMap<&str, String> = analyser
        .roots
        .iter()
        .filter(|(file, _)| *file == config.build_requirements)
        .flat_map(|(_, deps)| deps)
        .filter_map(|d| Some((d.requirement.name.as_str(), d.requirement.version.as_ref()?.to_string())))
        .collect();
    let file = &config.build_requirements;
    let mut items = Vec::new();
    for (name, found) in &loose {
        let versions: Vec<String> = found
            .versions
            .iter()
            .map(|(version, on)| match on.len() == pythons.len() {
                true => format!("{name} {version}"),
                false => format!("{name} {version} on {}", list(&pythons, |i| on.contains(&i))),
            })
            .collect();
        let needed: Vec<&String> = found.needed_by.iter().collect();
        let pins = match build_pins.get(name.as_str()) {
            Some(pin) => format!(
                "{file} pins {name}=={pin}, but the repository's requirements files do not reach isolated build environments; a constraints file does"
            ),
            None => "no constraints file pins it".to_owned(),
        };
        let reason = format!(
            "build isolation installs {}, the newest the {snapshot} allows, to build {}: {pins}",
            versions.join(", "),
            bounded(&needed, 8)
        );
        let gives: Vec<String> = found.versions.keys().map(|v| format!("{name} {v}")).collect();
        items.push(
            Check::UnpinnedBuildDep
                .fail(name, reason)
                .at(Location::file(config.constraints.as_deref().unwrap_or(file)))
                .with(Evidence::fact("index gives", gives.join(", ")))
                .with(Evidence::fact("snapshot", snapshot)),
        );
    }
    items.extend(unmet_items(analyser, analysis, snapshot));
    items
}

/// The `unpinned-build-dep` items of needs the environment pip runs in does
/// not meet (no build isolation, or legacy builds).
fn unmet_items(analyser: &Analyser, analysis: &Analysis, snapshot: &str) -> Vec<Item> {
    let file = &analyser.config.build_requirements;
    let mut by_name: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)> = BTreeMap::new();
    for python in &analysis.pythons {
        for unmet in &python.unmet {
            let name = pip_requirements::normalise_name(&unmet.dependency.requirement.name);
            let entry = by_name.entry(name).or_default();
            let build = &python.builds[unmet.build];
            let how = if unmet.legacy { "setup.py" } else { "without isolation" };
            entry.0.insert(format!(
                "{} ({how}: `{}`, {})",
                build.release, unmet.dependency.text, unmet.dependency.source
            ));
            entry.1.extend(unmet.gives.iter().map(Release::to_string));
            entry.2 |= unmet.legacy;
        }
    }
    let pins: BTreeMap<String, String> = analysis
        .pythons
        .iter()
        .zip(&analyser.pythons)
        .flat_map(|(_, p)| p.outer.pins.iter().map(|(n, v)| (n.clone(), v.to_string())))
        .collect();
    by_name
        .into_iter()
        .map(|(name, (by, gives, legacy))| {
            let by: Vec<&String> = by.iter().collect();
            let reason = match (pins.get(&name), legacy) {
                (Some(pin), _) => format!(
                    "needed to build {} but {file} pins {name}=={pin}, which does not satisfy it",
                    bounded(&by, 8)
                ),
                (None, true) => format!(
                    "needed to build {} where pip runs, but not in {file}: setuptools fetches it from the index when setup.py runs (setup_requires), or setup.py cannot run",
                    bounded(&by, 8)
                ),
                (None, false) => format!(
                    "needed to build {} but not in {file}: a build without isolation does not have it",
                    bounded(&by, 8)
                ),
            };
            let mut item = Check::UnpinnedBuildDep.fail(&name, reason).at(Location::file(file));
            if !gives.is_empty() {
                item = item.with(Evidence::fact("index gives", gives.into_iter().collect::<Vec<_>>().join(", ")));
            }
            item.with(Evidence::fact("snapshot", snapshot))
        })
        .collect()
}

/// Every item and note of `analysis`.
pub(crate) fn report(analyser: &Analyser, analysis: &Analysis, outcome: &mut GateOutcome) {
    let config = analyser.config;
    let snapshot = format!("index {} as of {}", config.index_url, analysis.as_of);
    let releases = analysis.releases();
    let needs: usize = analysis.pythons.iter().flat_map(|p| &p.builds).map(|b| b.needs.len()).sum();
    outcome.note(format!(
        "build-deps: {} distributions, {needs} needs, {} requests to the {snapshot}",
        releases.len(),
        analysis.requests
    ));
    for (python, found) in analyser.pythons.iter().zip(&analysis.pythons) {
        let count =
            |mode: Mode| found.builds.iter().filter(|b| matches!(b.mode, Some((m, _)) if m == mode)).count();
        outcome.note(format!(
            "build-deps: on {}, {}: {} builds from source, {} through PEP 517 in isolated build environments, {} without isolation, {} the legacy way (setup.py where pip runs)",
            python.label,
            python.pip,
            found.builds.len(),
            count(Mode::Isolated),
            count(Mode::NotIsolated),
            count(Mode::Legacy)
        ));
    }
    let notes: BTreeSet<&String> = analysis.pythons.iter().flat_map(|p| &p.notes).collect();
    for note in notes {
        outcome.note(format!("build-deps: {note}"));
    }
    let html = analyser.catalog.html_pages();
    if !html.is_empty() {
        outcome.note(format!(
            "build-deps: the index served PEP 503 HTML for {}: no upload times, so --as-of could not filter their files",
            html.join(", ")
        ));
    }
    // One item per problem: when the Pythons met it differently, the first
    // reason, and each other Python's in the evidence.
    let pythons = analyser.labels();
    let mut problems: BTreeMap<(String, String), (Item, BTreeSet<String>)> = BTreeMap::new();
    for (p, python) in analysis.pythons.iter().enumerate() {
        for problem in &python.problems {
            let key = (problem.check.to_string(), problem.subject.clone());
            match problems.get_mut(&key) {
                None => {
                    problems.insert(key, (problem.clone(), BTreeSet::from([problem.reason.clone()])));
                }
                Some((item, seen)) => {
                    if seen.insert(problem.reason.clone()) {
                        *item =
                            item.clone().with(Evidence::fact(format!("on {}", pythons[p]), &problem.reason));
                    }
                }
            }
        }
    }
    outcome.items.extend(problems.into_values().map(|(item, _)| item));
    outcome.items.extend(cycle_items(analyser, analysis, &snapshot));
    outcome.items.extend(unpinned_items(analyser, analysis, &snapshot));
    outcome.push(closure::item(&analysis.closure(), analysis.as_of, &snapshot));
}

/// Every need of `analysis` (each link of each environment), described
/// (`setuptools-scm 7.0.1 → importlib-metadata 4.11.4 (…)`) and keyed by
/// the names and the requirement, so that another moment's can be compared.
pub(crate) fn needs(analyser: &Analyser, analysis: &Analysis) -> BTreeMap<String, String> {
    let mut needs = BTreeMap::new();
    let mut add = |from: &Release, resolution: &super::resolve::Resolution| {
        for member in resolution.members.values() {
            let parent = member.parent.as_ref().and_then(|p| resolution.members.get(p));
            let (who, extras) = match parent {
                Some(parent) => (&parent.release, parent.extras.clone()),
                None => (from, BTreeSet::new()),
            };
            let key = format!("{}→{} {}", who.name, member.release.name, member.dependency.text);
            needs.entry(key).or_insert_with(|| format!("{who}{}", step(analyser, member, &extras)));
        }
    };
    for python in &analysis.pythons {
        for build in &python.builds {
            for (_, env) in &build.envs {
                add(&build.release, env);
            }
        }
    }
    needs
}

impl Analyser<'_> {
    /// Every item and note of `analysis`.
    pub(crate) fn report(&self, analysis: &Analysis, outcome: &mut GateOutcome) {
        report(self, analysis, outcome);
    }
}

impl Analysis {
    /// Every need of the analysis, described, by a key that another
    /// moment's analysis shares.
    pub(crate) fn needs(&self, analyser: &Analyser) -> BTreeMap<String, String> {
        needs(analyser, self)
    }
}

//! Requirements files cross-checked against the entries of a sums file.
//!
//! The listed distributions are indexed once per sums file ([`Listed`]): by
//! release, by release and hash, by name and by hash. Each requirement then
//! reads only the index entries it needs, and names at most [`NAMED`] files
//! in its item, so the work is linear in the sizes of the files whatever
//! their shape: a release listed with thousands of wheels, a requirement
//! repeated for every platform, thousands of requirements files checked
//! against one sums file. What the requirements account for is recorded
//! per release and per (release, hash), never per wheel.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use gate_core::{Evidence, Item, Location, Severity};
use pep508_rs::pep440_rs::Version;
use pip_requirements::{
    HashAlgorithm, OptionKind, Requirement, RequirementsFile, SyntaxError, push_version_text, version_text,
};

use super::listed::{DistributionKind, Listed, ListedDistribution, classify_all};
use crate::Check;
use crate::sums::Entry;

/// A hash map keyed by text from the repository (names, hashes). ahash, like
/// std's SipHash, is keyed at random per map, so crafted names cannot make
/// it quadratic; on 64-digit hex keys it costs a fraction of SipHash, which
/// took a seventh of the wheels gate's instructions on a large sums file.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
/// A hash set keyed as [`Map`].
pub(crate) type Set<K> = std::collections::HashSet<K, ahash::RandomState>;

#[cfg(test)]
thread_local! {
    /// Index entries read and lookups made on this thread, for the tests
    /// that keep the cross-check linear.
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `units` of work: index entries read, or lookups.
pub(super) fn work(units: usize) {
    #[cfg(test)]
    WORK.with(|work| work.set(work.get() + units));
    #[cfg(not(test))]
    let _ = units;
}

/// The first [`NAMED`] files of `groups`, which are disjoint and each in
/// list order, in list order.
fn first_of(groups: &[&[usize]]) -> Vec<usize> {
    let mut first: Vec<usize> = groups.iter().flat_map(|group| group.iter().take(NAMED)).copied().collect();
    work(first.len());
    first.sort_unstable();
    first.truncate(NAMED);
    first
}

/// What the requirements account for: whole releases (a pin without
/// hashes, or whose hashes match none of the release's wheels, speaks for
/// each of them) and a release's wheels of one hash (a passing pin), by
/// their numbers in [`Listed`].
struct Coverage {
    releases: Vec<bool>,
    release_hashes: Vec<bool>,
}

impl Coverage {
    fn new(listed: &Listed<'_>) -> Self {
        let (releases, release_hashes) = listed.counts();
        Self { releases: vec![false; releases], release_hashes: vec![false; release_hashes] }
    }

    /// Records what one requirement accounts for.
    fn add(&mut self, pending: &Pending) {
        if let Some(release) = pending.releases {
            self.releases[release] = true;
        }
        for &id in &pending.release_hashes {
            self.release_hashes[id] = true;
        }
    }

    /// Whether the listed file `index` is accounted for.
    fn covers(&self, listed: &Listed<'_>, index: usize) -> bool {
        work(1);
        let Some((release, release_hash)) = listed.release_of(index) else { return false };
        self.releases[release] || self.release_hashes[release_hash]
    }
}

/// At most this many files, versions or hashes are named in one item: the
/// rest are counted, so that an item's size does not grow with the lists.
pub(super) const NAMED: usize = 16;

/// The first [`NAMED`] of `names`, joined with `, `, then how many more
/// of `total` there are.
fn listing<S: AsRef<str>>(names: impl Iterator<Item = S>, total: usize) -> String {
    listing_with(names, total, ", ")
}

/// The first [`NAMED`] of `names`, joined with `separator`, then how many
/// more of `total` there are. Only the names shown are read.
fn listing_with<S: AsRef<str>>(names: impl Iterator<Item = S>, total: usize, separator: &str) -> String {
    let mut text = String::new();
    push_listing(&mut text, names, total, separator);
    text
}

/// [`listing_with`], written at the end of `text`.
fn push_listing<S: AsRef<str>>(
    text: &mut String,
    names: impl Iterator<Item = S>,
    total: usize,
    separator: &str,
) {
    let mut shown = 0;
    for name in names.take(NAMED) {
        if shown > 0 {
            text.push_str(separator);
        }
        text.push_str(name.as_ref());
        shown += 1;
    }
    if total > shown {
        if shown > 0 {
            text.push_str(separator);
        }
        text.push_str(&format!("… and {} more", total - shown));
    }
}

/// `item`, saying how many of `total` files it names no evidence for.
fn more(item: Item, total: usize) -> Item {
    match total.saturating_sub(NAMED) {
        0 => item,
        rest => item.with(Evidence::fact("not shown", format!("{rest} more listed files"))),
    }
}

/// Makes item subjects unique within one requirements file: a repeated
/// subject gets the line it comes from.
#[derive(Default)]
struct Subjects(Set<(Check, String)>);

impl Subjects {
    /// Room for the subjects of `file`'s lines, so the set is not grown.
    fn for_file(file: &RequirementsFile) -> Self {
        let lines = file.requirements.len() + file.options.len();
        Self(Set::with_capacity_and_hasher(lines, Default::default()))
    }

    fn unique(&mut self, check: Check, subject: String, line: u32) -> String {
        if self.0.insert((check, subject.clone())) {
            return subject;
        }
        let subject = format!("{subject} (line {line})");
        self.0.insert((check, subject.clone()));
        subject
    }
}

/// Cross-checks the parsed requirements file at `req_path` against the
/// entries of the sums file at `sums_path`, whose names are files of
/// `wheels_dir`.
///
/// One item per parse error line (`pin-syntax`) and per requirement: `pin`
/// when a pinned SHA-256 is the listed hash of a wheel of the pinned name and
/// version, else `pin-unpinned`, `pin-no-wheel` or `pin-hash`. An editable
/// (`-e`) is `pin-unpinned`; an include (`-r`) is a skipped `pin` item, since
/// it is not followed. With `report_unpinned_wheels`, every listed wheel no
/// requirement pins is an `unpinned-wheel` warning.
pub fn check(
    req_path: &str,
    file: &RequirementsFile,
    sums: &[Entry],
    wheels_dir: &str,
    sums_path: &str,
    report_unpinned_wheels: bool,
) -> Vec<Item> {
    check_files(&[(req_path, file)], sums, wheels_dir, sums_path, report_unpinned_wheels)
}

/// [`check`] of several requirements files (path and parsed file) against
/// one sums file, indexed once: each file's items in turn, then, with
/// `report_unpinned_wheels`, an `unpinned-wheel` warning for each listed
/// wheel that no requirement of any of the files accounts for (build tools
/// and the application usually sit in different files), named as the first
/// file's. No file, no item.
pub(crate) fn check_files(
    files: &[(&str, &RequirementsFile)],
    sums: &[Entry],
    wheels_dir: &str,
    sums_path: &str,
    report_unpinned_wheels: bool,
) -> Vec<Item> {
    if files.is_empty() {
        return Vec::new();
    }
    let all = classify_all(sums);
    let listed = Listed::new(&all);
    let mut coverage = Coverage::new(&listed);
    let mut items = Vec::new();
    let mut first = None;
    for &(req_path, file) in files {
        let context = CheckContext::new(req_path, file, sums_path, wheels_dir, &listed);
        let mut subjects = Subjects::for_file(file);
        gate_core::model::append(&mut items, context.file_items(file, &mut subjects, &mut coverage));
        first.get_or_insert((context, subjects));
    }
    if report_unpinned_wheels && let Some((context, mut subjects)) = first {
        for (index, wheel) in listed.all.iter().enumerate() {
            if wheel.kind == DistributionKind::Wheel && !coverage.covers(&listed, index) {
                items.push(context.unpinned_wheel_item(wheel, &mut subjects));
            }
        }
    }
    items
}

/// What judging one requirement leaves to do in file order, once every
/// requirement is judged: make its item's subject unique, and record what it
/// accounts for in the file's [`Coverage`].
#[derive(Default)]
struct Pending {
    /// The check under which the item's subject must be unique; `None` keeps
    /// the subject as it is.
    unique: Option<Check>,
    /// A release whose every wheel the requirement speaks for.
    releases: Option<usize>,
    /// The release hashes ([`Listed::release_hash`]) the requirement pins.
    release_hashes: Vec<usize>,
}

impl Pending {
    /// `subject`, to be made unique under `check` ([`Subjects::unique`]).
    fn unique(&mut self, check: Check, subject: String) -> String {
        self.unique = Some(check);
        subject
    }
}

/// `judge` of each of `items`, in order: on the rayon pool the gate runs
/// on, but in order on the calling thread in unit tests, which count the
/// work done on that thread ([`work`]).
pub(super) fn in_parallel<'t, T: Sync, R: Send>(
    items: &'t [T],
    judge: impl Fn(&'t T) -> R + Sync + Send,
) -> Vec<R> {
    #[cfg(not(test))]
    {
        use rayon::prelude::*;
        items.par_iter().with_min_len(64).map(judge).collect()
    }
    #[cfg(test)]
    items.iter().map(judge).collect()
}

/// [`in_parallel`] of a judge that makes pairs, into two lists; the first
/// has room for `room` more.
fn in_parallel_unzip<'t, T: Sync, A: Send, B: Send>(
    items: &'t [T],
    room: usize,
    judge: impl Fn(&'t T) -> (A, B) + Sync + Send,
) -> (Vec<A>, Vec<B>) {
    let mut firsts = Vec::with_capacity(items.len() + room);
    let mut seconds = Vec::with_capacity(items.len());
    #[cfg(not(test))]
    {
        use rayon::prelude::*;
        // Written in place: the lists keep the room made above.
        items.par_iter().with_min_len(64).map(judge).unzip_into_vecs(&mut firsts, &mut seconds);
    }
    #[cfg(test)]
    for (first, second) in items.iter().map(judge) {
        firsts.push(first);
        seconds.push(second);
    }
    (firsts, seconds)
}

/// What every item of one requirements file refers to.
struct CheckContext<'a> {
    req_path: &'a str,
    sums_path: &'a str,
    wheels_dir: &'a str,
    listed: &'a Listed<'a>,
    file: &'a RequirementsFile,
    /// The requirements of each name, in file order: made when an
    /// unpinned wheel first asks, which is seldom.
    requirements_by_name: OnceLock<Map<&'a str, Vec<&'a Requirement>>>,
}

impl<'a> CheckContext<'a> {
    fn new(
        req_path: &'a str,
        file: &'a RequirementsFile,
        sums_path: &'a str,
        wheels_dir: &'a str,
        listed: &'a Listed<'a>,
    ) -> Self {
        Self { req_path, sums_path, wheels_dir, listed, file, requirements_by_name: OnceLock::new() }
    }

    /// The requirements named `name`, in file order.
    fn requirements_named(&self, name: &str) -> Option<&[&'a Requirement]> {
        let by_name = self.requirements_by_name.get_or_init(|| {
            let mut by_name: Map<&str, Vec<&Requirement>> = Map::default();
            for requirement in &self.file.requirements {
                by_name.entry(requirement.name.as_str()).or_default().push(requirement);
            }
            by_name
        });
        by_name.get(name).map(Vec::as_slice)
    }

    /// The items of `file`'s lines: its syntax errors, requirements and
    /// options; records what its requirements account for in `coverage`.
    fn file_items(
        &self,
        file: &'a RequirementsFile,
        subjects: &mut Subjects,
        coverage: &mut Coverage,
    ) -> Vec<Item> {
        let req_path = self.req_path;
        let mut errors_by_line: BTreeMap<u32, Vec<&SyntaxError>> = BTreeMap::new();
        for error in &file.errors {
            errors_by_line.entry(error.line).or_default().push(error);
        }
        let items: Vec<Item> = errors_by_line
            .into_iter()
            .map(|(line, errors)| {
                let reason = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
                errors.iter().fold(Check::PinSyntax.fail(format!("{req_path}:{line}"), reason), |item, e| {
                    item.at(Location::at(req_path, e.line, e.column))
                })
            })
            .collect();
        // The requirements' items are made in the list they end in, with
        // room for the rest, not in pairs with their `Pending` and then
        // moved: on a large file that was two more copies of every item.
        let room = items.len() + file.options.len();
        let (mut judged, pending) = in_parallel_unzip(&file.requirements, room, |r| {
            let (mut item, pending) = self.requirement_item(r);
            // Made here, in parallel, rather than by the runner; a subject
            // made unique below gets its id from the runner.
            item.id = item.id_in(crate::NAME);
            (item, pending)
        });
        for ((requirement, item), pending) in file.requirements.iter().zip(&mut judged).zip(&pending) {
            if let Some(check) = pending.unique {
                item.subject = subjects.unique(check, std::mem::take(&mut item.subject), requirement.line);
            }
            coverage.add(pending);
        }
        judged.splice(0..0, items);
        let mut items = judged;
        for option in &file.options {
            let Some(value) = &option.value else { continue };
            let at = Location::at(req_path, option.line, option.column);
            match option.kind {
                OptionKind::Editable => items.push(
                    Check::PinUnpinned.fail(
                        subjects.unique(Check::PinUnpinned, format!("{req_path}/{value}"), option.line),
                        format!("editable requirement `-e {value}` cannot be pinned by hash (pip refuses it with --require-hashes)"),
                    )
                    .at(at),
                ),
                OptionKind::Requirement => items.push(
                    Check::Pin.skipped(
                        subjects.unique(Check::Pin, format!("{req_path}/-r {value}"), option.line),
                        format!("includes `{value}`, which is not followed: check that file on its own"),
                    )
                    .at(at),
                ),
                _ => {}
            }
        }
        items
    }

    /// The listed file's path in the repository.
    fn listed_path(&self, entry: &Entry) -> String {
        if self.wheels_dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{}/{}", self.wheels_dir.trim_end_matches('/'), entry.name)
        }
    }

    fn listed_at(&self, entry: &Entry) -> Location {
        Location::at(self.sums_path, entry.line, 1)
    }

    /// The one item a requirement gets, and what is left to do in file
    /// order ([`Pending`]). It reads only shared data, so requirements are
    /// judged in parallel.
    fn requirement_item(&self, requirement: &'a Requirement) -> (Item, Pending) {
        let mut pending = Pending::default();
        let at = Location::at(self.req_path, requirement.line, requirement.column);
        let with_marker = |item: Item| match &requirement.marker {
            Some(marker) => item.with(Evidence::fact("marker", marker.clone())),
            None => item,
        };
        let pinned_hashes = |item: Item| {
            requirement
                .hashes
                .iter()
                .fold(item, |item, h| item.with(Evidence::hash(h.algorithm.name(), h.hex.clone(), None)))
        };
        let release_of = |kind: DistributionKind, version: &Version| {
            self.listed.release_id(kind, &requirement.name, version)
        };
        let Some(version) = requirement.version.as_ref().filter(|_| !requirement.hashes.is_empty()) else {
            // A version pinned without hashes: this failure speaks for its wheels.
            pending.releases =
                requirement.version.as_ref().and_then(|v| release_of(DistributionKind::Wheel, v));
            let reason = match (requirement.is_pinned(), requirement.hashes.is_empty()) {
                (false, true) => format!(
                    "`{}` is not pinned to an exact `==` version and has no `--hash`",
                    requirement.display()
                ),
                (false, false) => {
                    format!("`{}` is not pinned to an exact `==` version", requirement.display())
                }
                _ => format!(
                    "`{}` has no `--hash`, so any file of that version would do",
                    requirement.display()
                ),
            };
            let subject =
                pending.unique(Check::PinUnpinned, format!("{}/{}", self.req_path, requirement.name));
            return (pinned_hashes(with_marker(Check::PinUnpinned.fail(subject, reason).at(at))), pending);
        };
        let mut subject = String::with_capacity(self.req_path.len() + requirement.name.len() + 16);
        for part in [self.req_path, "/", &requirement.name, "=="] {
            subject.push_str(part);
        }
        push_version_text(&mut subject, version);
        let pinned: Vec<&str> = requirement.sha256_hashes().collect();
        // The distinct pinned hashes: a requirement pins a few, so a sorted
        // list costs less than a set.
        let mut is_pinned: Vec<&'a str> = pinned.clone();
        is_pinned.sort_unstable();
        is_pinned.dedup();
        let wheel_release = release_of(DistributionKind::Wheel, version);
        let sdist_release = release_of(DistributionKind::Sdist, version);
        let wheels = self.listed.members(wheel_release);
        // The release's wheels of each pinned hash, and the hashes matched.
        let mut matched: Vec<&[usize]> = Vec::new();
        let mut matched_hashes: Vec<usize> = Vec::new();
        if let Some(id) = wheel_release {
            for &hash in &is_pinned {
                if let Some(release_hash) = self.listed.release_hash(id, hash) {
                    matched.push(self.listed.with_release_hash(release_hash));
                    matched_hashes.push(release_hash);
                }
            }
        }
        let matched_count: usize = matched.iter().map(|group| group.len()).sum();
        let pinned_sdist = sdist_release
            .and_then(|id| {
                is_pinned
                    .iter()
                    .filter_map(|hash| self.listed.release_hash(id, hash))
                    .filter_map(|release_hash| self.listed.with_release_hash(release_hash).first())
                    .min()
            })
            .map(|&index| &self.listed.all[index]);
        if let (0, Some(sdist)) = (matched_count, pinned_sdist) {
            // A file used to fetch sources for from-source builds pins sdists:
            // the committed sdist is what it must match.
            pending.releases = wheel_release;
            let item = Check::Pin
                .pass(
                    subject,
                    format!(
                        "pins the listed sdist {} (the source a from-source build starts from)",
                        sdist.entry.name
                    ),
                )
                .with(Evidence::hash("sha256", sdist.entry.sha256.clone(), Some(sdist.entry.sha256.clone())))
                .with(Evidence::fact("sdist", self.listed_path(sdist.entry)))
                .at(at)
                .at(self.listed_at(sdist.entry));
            return (with_marker(item), pending);
        }

        if wheels.is_empty() {
            let mut item = Check::PinNoWheel
                .fail(
                    pending.unique(Check::PinNoWheel, subject),
                    format!("no `.whl` of {}=={version} is listed in {}", requirement.name, self.sums_path),
                )
                .at(at);
            let versions = self.listed.wheels_named(&requirement.name);
            if !versions.is_empty() {
                let shown = self
                    .listed
                    .shown(versions)
                    .filter_map(|w| w.release.as_ref())
                    .map(|(_, v)| version_text(v));
                item = item.with(Evidence::fact("wheel versions listed", listing(shown, versions.len())));
            }
            for sdist in self.listed.shown(self.listed.members(sdist_release)) {
                item = item.with(Evidence::fact("sdist listed", self.listed_path(sdist.entry)));
            }
            let pinned_listed: Vec<&[usize]> =
                is_pinned.iter().map(|hash| self.listed.of_hash(hash)).collect();
            for &index in &first_of(&pinned_listed) {
                let entry = self.listed.all[index].entry;
                item = item
                    .with(Evidence::fact("pinned hash listed for", self.listed_path(entry)))
                    .at(self.listed_at(entry));
            }
            let total = pinned_listed.iter().map(|group| group.len()).sum();
            return (pinned_hashes(with_marker(more(item, total))), pending);
        }

        if matched_count == 0 {
            // The failure speaks for every wheel of this release.
            pending.releases = wheel_release;
            let names = listing(self.listed.shown(wheels).map(|w| w.entry.name.as_str()), wheels.len());
            let reason = if pinned.is_empty() {
                format!("pins no sha256 hash, and {} lists sha256 only: {names}", self.sums_path)
            } else {
                format!(
                    "none of the {} pinned sha256 hash{} is the listed hash of {names}",
                    pinned.len(),
                    if pinned.len() == 1 { "" } else { "es" },
                )
            };
            let actual = (!pinned.is_empty()).then(|| listing(pinned.iter(), pinned.len()));
            let item = self.listed.shown(wheels).fold(
                Check::PinHash.fail(pending.unique(Check::PinHash, subject), reason).at(at),
                |item, wheel| {
                    item.with(Evidence::hash("sha256", wheel.entry.sha256.clone(), actual.clone()))
                        .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
                        .at(self.listed_at(wheel.entry))
                },
            );
            let item = requirement
                .hashes
                .iter()
                .filter(|h| h.algorithm != HashAlgorithm::Sha256)
                .fold(item, |item, h| item.with(Evidence::hash(h.algorithm.name(), h.hex.clone(), None)));
            return (with_marker(more(item, wheels.len())), pending);
        }

        pending.release_hashes = matched_hashes;
        let first = first_of(&matched);
        let mut reason = String::from("pinned sha256 is the listed hash of ");
        let names = first.iter().map(|&i| self.listed.all[i].entry.name.as_str());
        push_listing(&mut reason, names, matched_count, ", ");
        let item = first.iter().map(|&i| &self.listed.all[i]).fold(
            Check::Pin.pass(pending.unique(Check::Pin, subject), reason).at(at),
            |item, wheel| {
                item.with(Evidence::hash(
                    "sha256",
                    wheel.entry.sha256.clone(),
                    Some(wheel.entry.sha256.clone()),
                ))
                .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
                .at(self.listed_at(wheel.entry))
            },
        );
        (with_marker(more(item, matched_count)), pending)
    }

    /// The warning for a listed wheel that no requirement accounts for.
    fn unpinned_wheel_item(&self, wheel: &ListedDistribution<'_>, subjects: &mut Subjects) -> Item {
        let reason = match &wheel.release {
            None => {
                format!("not a PEP 427 wheel file name, so no requirement in {} can pin it", self.req_path)
            }
            Some((name, version)) => {
                let same_name = self.requirements_named(name).map_or_else(String::new, |same| {
                    listing_with(
                        same.iter().map(|r| format!("line {} pins `{}`", r.line, r.display())),
                        same.len(),
                        "; ",
                    )
                });
                if same_name.is_empty() {
                    format!(
                        "listed in {} but no requirement in {} pins {name}=={version}",
                        self.sums_path, self.req_path
                    )
                } else {
                    format!(
                        "listed in {} but no requirement in {} pins it ({})",
                        self.sums_path, self.req_path, same_name
                    )
                }
            }
        };
        let subject = format!("{}/{}", self.req_path, wheel.entry.name);
        Check::UnpinnedWheel
            .fail(subjects.unique(Check::UnpinnedWheel, subject, wheel.entry.line), reason)
            .severity(Severity::Warning)
            .at(self.listed_at(wheel.entry))
            .with(Evidence::hash("sha256", wheel.entry.sha256.clone(), None))
            .with(Evidence::fact("wheel", self.listed_path(wheel.entry)))
    }
}

#[cfg(test)]
mod tests {
    use gate_core::Status;

    use super::*;
    use pip_requirements::parse;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    fn entry(name: &str, sha256: &str, line: u32) -> Entry {
        Entry { name: name.to_owned(), sha256: sha256.to_owned(), binary: false, line }
    }

    /// (check, subject, status) of each item.
    fn outline(items: &[Item]) -> Vec<(&str, &str, Status)> {
        items.iter().map(|i| (i.check.as_ref(), i.subject.as_str(), i.status)).collect()
    }

    #[test]
    fn names_and_versions_match_after_normalisation() {
        let file = parse(&format!("Foo.Bar_baz==1.0 --hash=sha256:{A}\n"));
        let sums = [entry("foo_bar_baz-1.0.0-py3-none-any.whl", A, 1)];
        let items = check("requirements.txt", &file, &sums, "wheels", "sha256sums.txt", true);
        assert_eq!(outline(&items), [("pin", "requirements.txt/foo-bar-baz==1.0", Status::Pass)]);
        assert!(
            items[0].evidence.contains(&Evidence::fact("wheel", "wheels/foo_bar_baz-1.0.0-py3-none-any.whl"))
        );
        assert!(items[0].evidence.contains(&Evidence::Location(Location::at("sha256sums.txt", 1, 1))));
        assert!(items[0].evidence.contains(&Evidence::Location(Location::at("requirements.txt", 1, 1))));
    }

    #[test]
    fn every_outcome_of_a_requirement() {
        let text = format!(
            "ok==1.0 --hash=sha256:{A}\n\
             wrong==1.0 --hash=sha256:{C}\n\
             missing==1.0 --hash=sha256:{C}\n\
             loose>=1.0 --hash=sha256:{A}\n\
             nohash==1.0\n\
             -e ./src\n\
             -r base.txt\n\
             broken==\n"
        );
        let sums = [
            entry("ok-1.0-py3-none-any.whl", A, 1),
            entry("wrong-1.0-py3-none-any.whl", B, 2),
            entry("wrong-1.0.tar.gz", A, 3),
            entry("missing-1.0.tar.gz", A, 4),
            entry("missing-0.9-py3-none-any.whl", B, 5),
            entry("extra-2.0-py3-none-any.whl", B, 6),
            // Accounted for by the `pin-unpinned` of `nohash==1.0`, so not an
            // `unpinned-wheel` as well.
            entry("nohash-1.0-py3-none-any.whl", A, 7),
        ];
        let file = parse(&text);
        let items = check("req.txt", &file, &sums, "wheels", "sums.txt", true);
        assert_eq!(
            outline(&items),
            [
                ("pin-syntax", "req.txt:8", Status::Fail),
                ("pin", "req.txt/ok==1.0", Status::Pass),
                ("pin-hash", "req.txt/wrong==1.0", Status::Fail),
                ("pin-no-wheel", "req.txt/missing==1.0", Status::Fail),
                ("pin-unpinned", "req.txt/loose", Status::Fail),
                ("pin-unpinned", "req.txt/nohash", Status::Fail),
                ("pin-unpinned", "req.txt/./src", Status::Fail),
                ("pin", "req.txt/-r base.txt", Status::Skipped),
                ("unpinned-wheel", "req.txt/missing-0.9-py3-none-any.whl", Status::Fail),
                ("unpinned-wheel", "req.txt/extra-2.0-py3-none-any.whl", Status::Fail),
            ]
        );
        let by_subject = |subject: &str| items.iter().find(|i| i.subject == subject).expect(subject);
        let wrong = by_subject("req.txt/wrong==1.0");
        assert!(
            wrong.reason.contains("is the listed hash of wrong-1.0-py3-none-any.whl"),
            "{}",
            wrong.reason
        );
        assert!(wrong.evidence.contains(&Evidence::hash("sha256", B, Some(C.to_owned()))));
        assert!(wrong.evidence.contains(&Evidence::Location(Location::at("req.txt", 2, 1))));
        assert!(wrong.evidence.contains(&Evidence::Location(Location::at("sums.txt", 2, 1))));
        let missing = by_subject("req.txt/missing==1.0");
        assert!(missing.evidence.contains(&Evidence::fact("sdist listed", "wheels/missing-1.0.tar.gz")));
        assert!(missing.evidence.contains(&Evidence::fact("wheel versions listed", "0.9")));
        assert!(missing.evidence.contains(&Evidence::hash("sha256", C, None)));
        assert!(
            by_subject("req.txt:8").evidence.contains(&Evidence::Location(Location::at("req.txt", 8, 7)))
        );
        let warnings: Vec<_> =
            items.iter().filter(|i| i.check == "unpinned-wheel").map(|i| i.severity).collect();
        assert_eq!(warnings, [Severity::Warning, Severity::Warning]);
        assert!(
            items
                .iter()
                .filter(|i| i.check != "unpinned-wheel")
                .all(|i| i.severity == Severity::Blocker || i.status != Status::Fail)
        );
    }

    #[test]
    fn unpinned_wheels_are_reported_only_on_request() {
        let file = parse("");
        let sums = [entry("extra-2.0-py3-none-any.whl", B, 1), entry("extra-2.0.tar.gz", C, 2)];
        assert_eq!(check("r.txt", &file, &sums, "w", "s.txt", false), []);
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_eq!(outline(&items), [("unpinned-wheel", "r.txt/extra-2.0-py3-none-any.whl", Status::Fail)]);
    }

    #[test]
    fn a_wheel_whose_hash_is_not_pinned_is_unpinned_even_when_a_sibling_passes() {
        let file = parse(&format!("cython==0.29.22 --hash=sha256:{A}\n"));
        let sums = [
            entry("Cython-0.29.22-cp37-cp37m-linux_x86_64.whl", A, 1),
            entry("Cython-0.29.22-cp39-cp39-linux_x86_64.whl", B, 2),
        ];
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_eq!(
            outline(&items),
            [
                ("pin", "r.txt/cython==0.29.22", Status::Pass),
                ("unpinned-wheel", "r.txt/Cython-0.29.22-cp39-cp39-linux_x86_64.whl", Status::Fail),
            ]
        );
        assert!(items[1].reason.contains("line 1 pins `cython==0.29.22`"), "{}", items[1].reason);
    }

    #[test]
    fn ids_stay_unique_when_a_requirement_repeats_or_a_line_has_two_errors() {
        let text = format!(
            "foo==1.0 ; python_version < '3' --hash=sha256:{A}\nfoo==1.0 ; python_version >= '3' --hash=sha256:{A}\nbar --hash=md5:x --hash=sha256:y\nbar\n"
        );
        let file = parse(&text);
        let sums = [entry("foo-1.0-py3-none-any.whl", A, 1)];
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        let ids: Vec<_> = items.iter().map(|i| i.id_in("wheels")).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert_eq!(
            outline(&items),
            [
                ("pin-syntax", "r.txt:3", Status::Fail),
                ("pin", "r.txt/foo==1.0", Status::Pass),
                ("pin", "r.txt/foo==1.0 (line 2)", Status::Pass),
                ("pin-unpinned", "r.txt/bar", Status::Fail),
                ("pin-unpinned", "r.txt/bar (line 4)", Status::Fail),
            ]
        );
        // Both errors of line 3 are in one item, each with its location.
        assert_eq!(
            items[0].evidence,
            [
                Evidence::Location(Location::at("r.txt", 3, 12)),
                Evidence::Location(Location::at("r.txt", 3, 32))
            ]
        );
    }

    /// The work [`check_files`] does on `files` against `sums`, counted
    /// through the index, and its items.
    fn counted(files: &[(&str, &RequirementsFile)], sums: &[Entry]) -> (usize, Vec<Item>) {
        WORK.with(|work| work.set(0));
        let items = check_files(files, sums, "w", "s.txt", true);
        (WORK.with(std::cell::Cell::get), items)
    }

    /// Each shape that made a scan per requirement or per wheel quadratic:
    /// the work stays within a constant per line of the two files, where a
    /// scan would make it grow with their product (9,000,000 here), and no
    /// item grows with the lists.
    #[test]
    fn the_cross_check_reads_a_bounded_part_of_the_index_per_line() {
        const N: usize = 3000;
        let bound = 60 * N;
        let numbered = |make: &dyn Fn(usize) -> String| (0..N).map(make).collect::<String>();
        let line = |i: usize| u32::try_from(i + 1).unwrap();
        let shapes: [(&str, Vec<Entry>, String); 4] = [
            (
                // One release of N wheels of one hash, pinned by N requirements.
                "one release, one hash",
                (0..N).map(|i| entry(&format!("foo-1.0-py3-none-p{i}.whl"), A, line(i))).collect(),
                numbered(&|_| format!("foo==1.0 --hash=sha256:{A}\n")),
            ),
            (
                // The same, pinned by the wrong hash: every requirement fails
                // for every wheel of the release.
                "one release, wrong hash",
                (0..N).map(|i| entry(&format!("foo-1.0-py3-none-p{i}.whl"), A, line(i))).collect(),
                numbered(&|_| format!("foo==1.0 --hash=sha256:{B}\n")),
            ),
            (
                // N versions of one name listed with one hash; N requirements
                // of other versions pinning that hash; every wheel unpinned,
                // each with N requirements of its name.
                "one name, no wheel of the pinned versions",
                (0..N).map(|i| entry(&format!("foo-{i}.0-py3-none-any.whl"), A, line(i))).collect(),
                numbered(&|i| format!("foo==99.{i} --hash=sha256:{A}\n")),
            ),
            (
                // N sdists, each of a pinned release, none of the pinned hash.
                "sdists",
                (0..N).map(|i| entry(&format!("foo-{i}.0.tar.gz"), A, line(i))).collect(),
                numbered(&|i| format!("foo=={i}.0 --hash=sha256:{B}\n")),
            ),
        ];
        for (shape, sums, text) in &shapes {
            let file = parse(text);
            assert_eq!(file.errors, [], "{shape}");
            let (work, items) = counted(&[("r.txt", &file)], sums);
            assert!(work <= bound, "{shape}: {work} units of work for {N} lines each (at most {bound})");
            assert!(items.len() >= N, "{shape}: {} items", items.len());
            for item in &items {
                assert!(item.evidence.len() <= 3 * NAMED + 8, "{shape}: {item:?}");
                assert!(item.reason.len() <= 4096, "{shape}: a reason of {} bytes", item.reason.len());
            }
        }

        // N requirements files against one sums file of N wheels: the list
        // is indexed once, and each wheel judged pinned or not once.
        let sums: Vec<Entry> =
            (0..N).map(|i| entry(&format!("foo{i}-1.0-py3-none-any.whl"), A, line(i))).collect();
        let parsed: Vec<(String, RequirementsFile)> = (0..N)
            .map(|i| (format!("r{i}.txt"), parse(&format!("foo{i}==1.0 --hash=sha256:{A}\n"))))
            .collect();
        let files: Vec<(&str, &RequirementsFile)> = parsed.iter().map(|(p, f)| (p.as_str(), f)).collect();
        let (work, items) = counted(&files, &sums);
        assert!(work <= bound, "{N} files: {work} units of work (at most {bound})");
        assert_eq!(items.iter().filter(|i| i.status == Status::Pass).count(), N);
        assert!(items.iter().all(|i| i.check != "unpinned-wheel"), "each wheel is pinned by one file");
    }

    #[test]
    fn a_wheel_is_unpinned_only_when_no_file_pins_it_and_is_named_as_the_first_file_s() {
        let sums = [
            entry("app-1.0-py3-none-any.whl", A, 1),
            entry("tool-1.0-py3-none-any.whl", B, 2),
            entry("stray-1.0-py3-none-any.whl", C, 3),
        ];
        let app = parse(&format!("app==1.0 --hash=sha256:{A}\n"));
        let tools = parse(&format!("tool==1.0 --hash=sha256:{B}\nstray==1.0 --hash=sha256:{A}\n"));
        let items = check_files(&[("app.txt", &app), ("tools.txt", &tools)], &sums, "w", "s.txt", true);
        assert_eq!(
            outline(&items),
            [
                ("pin", "app.txt/app==1.0", Status::Pass),
                ("pin", "tools.txt/tool==1.0", Status::Pass),
                ("pin-hash", "tools.txt/stray==1.0", Status::Fail),
            ],
            "a failing pin speaks for its release's wheels"
        );
        let tools = parse(&format!("tool==1.0 --hash=sha256:{B}\n"));
        let items = check_files(&[("app.txt", &app), ("tools.txt", &tools)], &sums, "w", "s.txt", true);
        assert_eq!(
            outline(&items)[2..],
            [("unpinned-wheel", "app.txt/stray-1.0-py3-none-any.whl", Status::Fail)]
        );
        assert_eq!(check_files(&[], &sums, "w", "s.txt", true), []);
    }

    #[test]
    fn an_item_names_the_first_files_in_list_order_and_counts_the_rest() {
        let sums: Vec<Entry> = (0..40)
            .map(|i| entry(&format!("foo-1.0-py3-none-p{i:02}.whl"), if i % 2 == 0 { A } else { B }, 1 + i))
            .collect();
        let file = parse(&format!("foo==1.0 --hash=sha256:{B} --hash=sha256:{A}\n"));
        let items = check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_eq!(outline(&items), [("pin", "r.txt/foo==1.0", Status::Pass)]);
        let named: Vec<&str> = items[0]
            .evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Fact { label, value } if label == "wheel" => Some(value.as_str()),
                _ => None,
            })
            .collect();
        let expected: Vec<String> = (0..16).map(|i| format!("w/foo-1.0-py3-none-p{i:02}.whl")).collect();
        assert_eq!(named, expected);
        assert!(items[0].reason.ends_with("… and 24 more"), "{}", items[0].reason);
        assert!(items[0].evidence.contains(&Evidence::fact("not shown", "24 more listed files")));
    }
}

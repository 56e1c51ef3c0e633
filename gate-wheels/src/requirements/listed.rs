//! The distributions a sums file lists, indexed once for the cross-check:
//! by release, by release and hash, by name and by hash.
//!
//! Each index is a [`Groups`]: one map from key to group, and every group's
//! members in one shared array, so indexing a sums file of any size costs a
//! few allocations, not several per entry. The keys borrow the classified
//! names and versions rather than copying them.

use std::hash::Hash;
use std::sync::OnceLock;

use pep508_rs::pep440_rs::Version;
use pip_requirements::{release, wheel_release};

use super::cross_check::{Map, NAMED, in_parallel, work};
use crate::sums::Entry;

/// What kind of distribution a listed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum DistributionKind {
    Wheel,
    Sdist,
}

/// A file of the sums list that names a distribution.
#[derive(Debug)]
pub(super) struct ListedDistribution<'a> {
    pub(super) entry: &'a Entry,
    pub(super) kind: DistributionKind,
    /// Normalised name and version, when the file name follows PEP 427 or
    /// the sdist convention.
    pub(super) release: Option<(String, Version)>,
}

/// Classifies a listed file: a wheel is
/// `{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, an
/// sdist `{name}-{version}.tar.gz`. Other files are not distributions.
pub(super) fn classify(entry: &Entry) -> Option<ListedDistribution<'_>> {
    let file_name = entry.name.rsplit('/').next().unwrap_or(&entry.name);
    if file_name.ends_with(".whl") {
        let release = wheel_release(file_name);
        return Some(ListedDistribution { entry, kind: DistributionKind::Wheel, release });
    }
    let stem = file_name.strip_suffix(".tar.gz")?;
    let release = stem.rsplit_once('-').and_then(|(name, version)| release(name, version));
    Some(ListedDistribution { entry, kind: DistributionKind::Sdist, release })
}

/// The listed distributions of `sums`, in list order: parsing each file
/// name's version is most of the indexing, so it runs in parallel.
pub(super) fn classify_all(sums: &[Entry]) -> Vec<ListedDistribution<'_>> {
    work(sums.len());
    let classified = in_parallel(sums, classify);
    let mut all = Vec::with_capacity(classified.iter().flatten().count());
    all.extend(classified.into_iter().flatten());
    all
}

/// Indexes of listed files grouped by key, each group in list order: a
/// map from key to group number, and the groups laid end to end in one
/// array (a group is `members[starts[g]..starts[g + 1]]`).
pub(super) struct Groups<K> {
    ids: Map<K, usize>,
    starts: Vec<usize>,
    members: Vec<usize>,
}

impl<K: Hash + Eq> Groups<K> {
    /// Groups the indexes `0..keys.len()` by key; an index without a key is
    /// in no group. Also returns the group of each index.
    fn new(keys: Vec<Option<K>>) -> (Self, Vec<Option<usize>>) {
        // Sized for a key each, the most there can be: a map grown from
        // empty is rebuilt a dozen times on a large sums file.
        let mut ids: Map<K, usize> = Map::with_capacity_and_hasher(keys.len(), Default::default());
        let mut sizes: Vec<usize> = Vec::new();
        let group_of: Vec<Option<usize>> = keys
            .into_iter()
            .map(|key| {
                let key = key?;
                let next = sizes.len();
                let id = *ids.entry(key).or_insert(next);
                if id == next {
                    sizes.push(0);
                }
                sizes[id] += 1;
                Some(id)
            })
            .collect();
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        let mut total = 0;
        for size in &sizes {
            starts.push(total);
            total += size;
        }
        starts.push(total);
        // Each group's next free place: filled in index order, so each
        // group is in list order.
        let mut next = starts.clone();
        let mut members = vec![0; total];
        for (index, id) in group_of.iter().enumerate() {
            if let &Some(id) = id {
                members[next[id]] = index;
                next[id] += 1;
            }
        }
        (Self { ids, starts, members }, group_of)
    }

    /// The group number of `key`, if any index has it.
    fn id(&self, key: &K) -> Option<usize> {
        self.ids.get(key).copied()
    }

    /// The members of group `id`, in list order.
    fn group(&self, id: usize) -> &[usize] {
        match (self.starts.get(id), self.starts.get(id + 1)) {
            (Some(&start), Some(&end)) => &self.members[start..end],
            _ => &[],
        }
    }

    /// The members of the group of `key`, in list order.
    #[cfg(test)]
    fn get(&self, key: &K) -> &[usize] {
        self.id(key).map_or(&[], |id| self.group(id))
    }
}

/// A release: normalised name, kind and version.
type ReleaseKey<'a> = (&'a str, DistributionKind, &'a Version);

/// The listed distributions of one sums file, indexed; indexes are into
/// `all`, each list in list order.
pub(super) struct Listed<'a> {
    pub(super) all: &'a [ListedDistribution<'a>],
    /// The release of each of `all`, when its file name names one.
    release_of: Vec<Option<usize>>,
    /// Each release's files.
    releases: Groups<ReleaseKey<'a>>,
    /// A release's files of one SHA-256 (a "release hash"), by release and hash.
    by_release_hash: Groups<(usize, &'a str)>,
    /// The release hash of each of `all`, when it has a release.
    release_hash_of: Vec<Option<usize>>,
    /// Normalised name → its wheels, whatever the version; and SHA-256 →
    /// files. Only a pin that finds no wheel asks, to say what is listed
    /// instead: made on the first such question, not on every run.
    wheels_by_name: OnceLock<Groups<&'a str>>,
    by_hash: OnceLock<Groups<&'a str>>,
    /// Whether any sdist is listed: most sums files list wheels only, and
    /// then no requirement looks one up.
    sdists_listed: bool,
}

impl<'a> Listed<'a> {
    /// Indexes `all` ([`classify_all`]).
    pub(super) fn new(all: &'a [ListedDistribution<'a>]) -> Self {
        let release =
            |d: &'a ListedDistribution<'a>| d.release.as_ref().map(|(name, version)| (name, version));
        let (releases, release_of) = Groups::new(
            all.iter().map(|d| release(d).map(|(name, version)| (name.as_str(), d.kind, version))).collect(),
        );
        let (by_release_hash, release_hash_of) = Groups::new(
            all.iter().zip(&release_of).map(|(d, id)| id.map(|id| (id, d.entry.sha256.as_str()))).collect(),
        );
        let sdists_listed = all.iter().any(|d| d.kind == DistributionKind::Sdist);
        Self {
            all,
            release_of,
            releases,
            by_release_hash,
            release_hash_of,
            wheels_by_name: OnceLock::new(),
            by_hash: OnceLock::new(),
            sdists_listed,
        }
    }

    /// The release `name==version` of `kind`, if any file of it is listed.
    pub(super) fn release_id(&self, kind: DistributionKind, name: &str, version: &Version) -> Option<usize> {
        work(1);
        if kind == DistributionKind::Sdist && !self.sdists_listed {
            return None;
        }
        release_id(&self.releases, (name, kind, version))
    }

    /// The files of a release.
    pub(super) fn members(&self, release: Option<usize>) -> &[usize] {
        release.map_or(&[], |id| self.releases.group(id))
    }

    /// The release hash (a release's files with one SHA-256) of `release`
    /// and `sha256`, if any file of the release has that hash.
    pub(super) fn release_hash(&self, release: usize, sha256: &str) -> Option<usize> {
        work(1);
        release_hash(&self.by_release_hash, (release, sha256))
    }

    /// The files of a release hash.
    pub(super) fn with_release_hash(&self, id: usize) -> &[usize] {
        self.by_release_hash.group(id)
    }

    /// The listed wheels named `name`, whatever their version.
    pub(super) fn wheels_named(&self, name: &str) -> &[usize] {
        work(1);
        let wheels_by_name = self.wheels_by_name.get_or_init(|| {
            let name = |d: &'a ListedDistribution<'a>| match (d.kind, &d.release) {
                (DistributionKind::Wheel, Some((name, _))) => Some(name.as_str()),
                _ => None,
            };
            Groups::new(self.all.iter().map(name).collect()).0
        });
        str_id(wheels_by_name, name).map_or(&[], |id| wheels_by_name.group(id))
    }

    /// The listed files with the SHA-256 `sha256`.
    pub(super) fn of_hash(&self, sha256: &str) -> &[usize] {
        work(1);
        let by_hash = self
            .by_hash
            .get_or_init(|| Groups::new(self.all.iter().map(|d| Some(d.entry.sha256.as_str())).collect()).0);
        str_id(by_hash, sha256).map_or(&[], |id| by_hash.group(id))
    }

    /// The release of the listed file `index`, and its release hash.
    pub(super) fn release_of(&self, index: usize) -> Option<(usize, usize)> {
        self.release_of.get(index).copied().flatten().zip(self.release_hash_of.get(index).copied().flatten())
    }

    /// How many releases, and how many release hashes, there are.
    pub(super) fn counts(&self) -> (usize, usize) {
        (self.releases.starts.len().saturating_sub(1), self.by_release_hash.starts.len().saturating_sub(1))
    }

    /// The first [`NAMED`] of `indexes`: all that an item names.
    pub(super) fn shown<'s>(
        &'s self,
        indexes: &'s [usize],
    ) -> impl Iterator<Item = &'s ListedDistribution<'a>> + 's {
        work(indexes.len().min(NAMED));
        indexes.iter().take(NAMED).map(|&i| &self.all[i])
    }
}

// The lookups below take keys that borrow for less long than the index's
// own keys do: the index is covariant in its keys' lifetime, so it is
// looked at as one of keys that live only as long as the lookup's.

fn release_id<'s>(groups: &Groups<ReleaseKey<'s>>, key: ReleaseKey<'s>) -> Option<usize> {
    groups.id(&key)
}

fn release_hash<'s>(groups: &Groups<(usize, &'s str)>, key: (usize, &'s str)) -> Option<usize> {
    groups.id(&key)
}

fn str_id<'s>(groups: &Groups<&'s str>, key: &'s str) -> Option<usize> {
    groups.id(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_and_sdist_names_are_classified() {
        let release = |name: &str| {
            let listed = Entry { name: name.to_owned(), sha256: "a".repeat(64), binary: false, line: 1 };
            classify(&listed).map(|d| (d.kind, d.release.map(|(n, v)| format!("{n} {v}"))))
        };
        assert_eq!(
            release("Foo.Bar_baz-1.0.0-py3-none-any.whl"),
            Some((DistributionKind::Wheel, Some("foo-bar-baz 1.0.0".into())))
        );
        assert_eq!(
            release("Cython-0.29.22-1-cp39-cp39-linux_x86_64.whl"),
            Some((DistributionKind::Wheel, Some("cython 0.29.22".into())))
        );
        assert_eq!(release("not-a-wheel.whl"), Some((DistributionKind::Wheel, None)));
        assert_eq!(
            release("python-dateutil-2.7.5.tar.gz"),
            Some((DistributionKind::Sdist, Some("python-dateutil 2.7.5".into())))
        );
        assert_eq!(release("notes.txt"), None);
    }

    #[test]
    fn groups_keep_list_order_and_skip_indexes_without_a_key() {
        let (groups, group_of) =
            Groups::new(vec![Some("b"), None, Some("a"), Some("b"), Some("a"), Some("b")]);
        assert_eq!(groups.get(&"b"), [0, 3, 5]);
        assert_eq!(groups.get(&"a"), [2, 4]);
        assert_eq!(groups.get(&"c"), [] as [usize; 0]);
        assert_eq!(group_of, [Some(0), None, Some(1), Some(0), Some(1), Some(0)]);
        assert_eq!(groups.group(2), [] as [usize; 0], "no such group");
        let (empty, none) = Groups::<&str>::new(vec![None, None]);
        assert_eq!((empty.get(&"a"), none), (&[][..], vec![None, None]));
    }
}

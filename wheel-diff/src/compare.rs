//! The comparison: members paired by name, each pair compared.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use zip::read::OwnedZipFileEntry;

use crate::archive::Archive;
use crate::difference::{Difference, FirstDifference, Packing, WheelDiff};
use crate::error::ArchiveError;
use crate::limits::Limits;
use crate::stream::{Buffers, compare_sources};
use crate::structured::{Structured, diff_headers, diff_record, structured_kind};

/// Compares the wheels at `a` and `b` and explains every difference.
///
/// Both archives are checked against `limits` and the safety rules before
/// any member is decompressed; every member of both is then read to its end
/// (so a hostile member only one wheel has is refused too), in memory.
pub fn compare(a: &Path, b: &Path, limits: &Limits) -> Result<WheelDiff, ArchiveError> {
    let mut a = Archive::open(a, limits)?;
    let mut b = Archive::open(b, limits)?;
    let mut differences = Vec::new();

    let in_b: HashMap<&str, usize> =
        b.members.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    let in_a: HashMap<&str, usize> =
        a.members.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    let common_a: Vec<&str> =
        a.members.iter().map(|m| m.name.as_str()).filter(|n| in_b.contains_key(n)).collect();
    let common_b = b.members.iter().map(|m| m.name.as_str()).filter(|n| in_a.contains_key(n));
    if let Some((position, (x, y))) = common_a.iter().zip(common_b).enumerate().find(|(_, (x, y))| *x != y) {
        differences.push(Difference::Order { position: position + 1, a: x.to_string(), b: y.to_owned() });
    }

    // `a`'s members in order; each member only `b` has goes right after the
    // last common member before it in `b`.
    let mut added_after: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    let mut previous_common = None;
    for (j, member) in b.members.iter().enumerate() {
        match in_a.get(member.name.as_str()) {
            Some(&i) => previous_common = Some(i),
            None => added_after.entry(previous_common).or_default().push(j),
        }
    }
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    pairs.extend(added_after.get(&None).into_iter().flatten().map(|&j| (None, Some(j))));
    for (i, member) in a.members.iter().enumerate() {
        pairs.push((Some(i), in_b.get(member.name.as_str()).copied()));
        pairs.extend(added_after.get(&Some(i)).into_iter().flatten().map(|&j| (None, Some(j))));
    }

    let mut buffers = Buffers::new();
    for pair in pairs {
        match pair {
            (Some(i), Some(j)) => differences.extend(compare_member(&mut a, i, &mut b, j, &mut buffers)?),
            (Some(i), None) => {
                a.drain(i, &mut buffers.a)?;
                differences.push(Difference::MemberRemoved { member: a.members[i].name.clone() });
            }
            (None, Some(j)) => {
                b.drain(j, &mut buffers.b)?;
                differences.push(Difference::MemberAdded { member: b.members[j].name.clone() });
            }
            (None, None) => {}
        }
    }

    if differences.is_empty() {
        let compared = compare_sources(&mut a.raw()?, &mut b.raw()?, &mut buffers)?;
        if compared.first.is_some() {
            differences.push(Difference::ZipStructure { offset: compared.equal_bytes });
        }
    }
    Ok(WheelDiff { differences })
}

/// Compares member `i` of `a` with member `j` of `b`.
pub(crate) fn compare_member(
    a: &mut Archive,
    i: usize,
    b: &mut Archive,
    j: usize,
    buffers: &mut Buffers,
) -> Result<Vec<Difference>, ArchiveError> {
    let name = a.members[i].name.clone();
    let mut differences = Vec::new();
    let (entry_a, entry_b) = (&a.members[i].entry, &b.members[j].entry);
    let sizes = (entry_a.size(), entry_b.size());
    let packing = |entry: &OwnedZipFileEntry| Packing {
        method: entry.compression().to_string(),
        compressed_size: entry.compressed_size(),
    };
    let (packing_a, packing_b) = (packing(entry_a), packing(entry_b));
    let (time_a, time_b) = (entry_a.last_modified(), entry_b.last_modified());
    let (mode_a, mode_b) = (entry_a.external_attributes(), entry_b.external_attributes());

    // Where the content first differs, unless field differences explain it.
    let first = match structured_kind(&name) {
        Some(kind) => match (a.read_small(i, &mut buffers.a)?, b.read_small(j, &mut buffers.b)?) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => {
                let fields = match kind {
                    Structured::Headers => diff_headers(&name, &x, &y),
                    Structured::Record => diff_record(&name, &x, &y),
                };
                match fields {
                    Some(fields) if !fields.is_empty() => {
                        differences.extend(fields);
                        None
                    }
                    // Unparsable, or the same fields in other bytes: the bytes tell.
                    _ => compare_sources(&mut x.as_slice(), &mut y.as_slice(), buffers)?.first,
                }
            }
            _ => stream_difference(a, i, b, j, buffers)?,
        },
        None => stream_difference(a, i, b, j, buffers)?,
    };
    let content_equal = first.is_none() && differences.is_empty();
    if let Some(first) = first {
        differences.push(Difference::Content { member: name.clone(), first, sizes });
    }

    if time_a != time_b {
        differences.push(Difference::Timestamp { member: name.clone(), a: time_a, b: time_b });
    }
    if mode_a != mode_b {
        differences.push(Difference::Mode { member: name.clone(), a: mode_a, b: mode_b });
    }
    if packing_a.method != packing_b.method || (content_equal && packing_a != packing_b) {
        differences.push(Difference::Compression { member: name, a: packing_a, b: packing_b });
    }
    Ok(differences)
}

/// Streams member `i` of `a` against member `j` of `b`, reading both to the
/// end; where they first differ, if they do.
pub(crate) fn stream_difference(
    a: &mut Archive,
    i: usize,
    b: &mut Archive,
    j: usize,
    buffers: &mut Buffers,
) -> Result<Option<FirstDifference>, ArchiveError> {
    let mut stream_a = a.stream(i)?;
    let mut stream_b = b.stream(j)?;
    let compared = compare_sources(&mut stream_a, &mut stream_b, buffers)?;
    stream_a.finish(&mut buffers.a)?;
    stream_b.finish(&mut buffers.b)?;
    Ok(compared.first)
}

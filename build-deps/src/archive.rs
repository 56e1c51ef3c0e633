//! Reading sdists without unpacking them: the members that say what a
//! distribution needs (`PKG-INFO`, `pyproject.toml`, `setup.cfg`,
//! `setup.py` and the `*.egg-info/` that setuptools wrote when it made the
//! sdist), from a `.tar.gz` or a `.zip`, streaming, never trusting a declared
//! size for an allocation.

use std::collections::BTreeMap;
use std::io::Read;

/// Largest member of an sdist that is read.
const MAX_MEMBER: u64 = 4 * 1024 * 1024;

/// Most bytes an sdist may unpack to (a gzip bomb is refused).
pub(crate) const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;

/// Largest GNU long name or PAX extended header read.
const MAX_EXTENDED_HEADER: u64 = 64 * 1024;

/// Why an sdist cannot be read; each message starts with the sdist's name.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Neither a `.tar.gz` nor a `.zip`.
    #[error("{name}: only .tar.gz and .zip sdists are read")]
    NotAnSdist {
        /// The sdist's file name.
        name: String,
    },
    /// The tar archive unpacks to more than the limit.
    #[error("{name}: unpacks to more than {limit} bytes")]
    TooLarge {
        /// The sdist's file name.
        name: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A tar header cannot be read.
    #[error("{name}: not a gzip-compressed tar archive, or truncated: {source}")]
    NotTarGz {
        /// The sdist's file name.
        name: String,
        /// What reading found.
        source: std::io::Error,
    },
    /// A tar header's size field is not a number.
    #[error("{name}: a tar header's size is not octal")]
    BadSize {
        /// The sdist's file name.
        name: String,
    },
    /// A GNU long name or PAX header is larger than is read.
    #[error("{name}: an extended header of {size} bytes before {path}")]
    LongHeader {
        /// The sdist's file name.
        name: String,
        /// Its declared size.
        size: u64,
        /// The member it comes before.
        path: String,
    },
    /// Reading the tar stream failed.
    #[error("{name}: {source}")]
    Read {
        /// The sdist's file name.
        name: String,
        /// What reading found.
        source: std::io::Error,
    },
    /// A wanted member is larger than [`MAX_MEMBER`].
    #[error("{name}: {path} is larger than {MAX_MEMBER} bytes")]
    LargeMember {
        /// The sdist's file name.
        name: String,
        /// The member.
        path: String,
    },
    /// A wanted member is not text.
    #[error("{name}: {path} is not UTF-8 text")]
    NotUtf8 {
        /// The sdist's file name.
        name: String,
        /// The member.
        path: String,
    },
    /// The zip archive cannot be read.
    #[error("{name}: not a usable zip archive: {source}")]
    Zip {
        /// The sdist's file name.
        name: String,
        /// What the zip reader found.
        source: zip::result::ZipError,
    },
    /// A member of the zip archive cannot be read.
    #[error("{name}: {path}: {source}")]
    ZipMember {
        /// The sdist's file name.
        name: String,
        /// The member.
        path: String,
        /// What reading found.
        source: std::io::Error,
    },
}

/// One member of a tar archive, as its headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarMember {
    /// Its path, GNU and PAX long names resolved.
    pub path: String,
    /// The type flag: `b'0'` (or 0) a file, `b'5'` a directory, `b'2'` a
    /// symbolic link, `b'1'` a hard link, others special files.
    pub kind: u8,
    /// The permission bits.
    pub mode: u32,
    /// The declared size of its contents.
    pub size: u64,
    /// The target of a link, long link names resolved.
    pub link: String,
}

/// Walks the members of a `.tar.gz` named `name`, streaming: `visit` gets
/// each member with a reader of at most its declared size (what it leaves
/// unread is skipped) and returns whether to go on. Never allocates from a
/// declared size; refuses an archive that unpacks to more than `limit` bytes.
/// The error is `visit`'s, or the archive's made into one.
pub(crate) fn walk_tar<E: From<ArchiveError>>(
    name: &str,
    bytes: &[u8],
    limit: u64,
    mut visit: impl FnMut(&TarMember, &mut dyn Read) -> Result<bool, E>,
) -> Result<(), E> {
    let name = || name.to_owned();
    let read = |source| ArchiveError::Read { name: name(), source };
    let mut reader = flate2::read::GzDecoder::new(bytes).take(limit);
    let mut header = [0u8; 512];
    let (mut long_name, mut long_link): (Option<String>, Option<String>) = (None, None);
    loop {
        if let Err(e) = reader.read_exact(&mut header) {
            if reader.limit() == 0 {
                return Err(ArchiveError::TooLarge { name: name(), limit }.into());
            }
            return Err(ArchiveError::NotTarGz { name: name(), source: e }.into());
        }
        if header.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let size = octal(&header[124..136]).ok_or_else(|| ArchiveError::BadSize { name: name() })?;
        let mode = octal(&header[100..108]).unwrap_or(0o644) as u32;
        let path = match long_name.take() {
            Some(path) => path,
            None if &header[257..262] == b"ustar" && header[345] != 0 => {
                format!("{}/{}", field_text(&header[345..500]), field_text(&header[0..100]))
            }
            None => field_text(&header[0..100]),
        };
        let link = long_link.take().unwrap_or_else(|| field_text(&header[157..257]));
        let kind = header[156];
        let mut member = (&mut reader).take(size);
        if matches!(kind, b'L' | b'K' | b'x' | b'g') {
            if size > MAX_EXTENDED_HEADER {
                return Err(ArchiveError::LongHeader { name: name(), size, path }.into());
            }
            let mut text = Vec::new();
            member.read_to_end(&mut text).map_err(read)?;
            match kind {
                b'L' => long_name = Some(field_text(&text)),
                b'K' => long_link = Some(field_text(&text)),
                b'x' => (long_name, long_link) = (pax_record(&text, "path"), pax_record(&text, "linkpath")),
                _ => {}
            }
        } else if !visit(&TarMember { path, kind, mode, size, link }, &mut member)? {
            return Ok(());
        }
        std::io::copy(&mut member, &mut std::io::sink()).map_err(read)?;
        let padding = size.div_ceil(512) * 512 - size;
        std::io::copy(&mut (&mut reader).take(padding), &mut std::io::sink()).map_err(read)?;
    }
}

/// The `*.egg-info/` directory setuptools wrote into an sdist when it made
/// it: the shallowest one that holds a `PKG-INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EggInfo {
    /// Its path below the sdist's top directory (`src/wheel.egg-info`).
    pub dir: String,
    /// Its `requires.txt`; setuptools leaves it out when the distribution
    /// requires nothing.
    pub requires: Option<String>,
}

/// The files of an sdist that say what it needs, each as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdistFiles {
    /// `<top>/PKG-INFO`.
    pub pkg_info: Option<String>,
    /// `<top>/pyproject.toml`.
    pub pyproject: Option<String>,
    /// `<top>/setup.cfg`.
    pub setup_cfg: Option<String>,
    /// `<top>/setup.py`, decoded leniently; `Some("")` when it is larger than
    /// what is read.
    pub setup_py: Option<String>,
    /// The egg-info directory, when the sdist has one.
    pub egg_info: Option<EggInfo>,
}

/// Egg-info directories deeper than this below the top are not looked at.
const MAX_EGG_INFO_DEPTH: usize = 3;

/// What one member of an sdist is to [`SdistFiles`].
enum Wanted {
    PkgInfo,
    Pyproject,
    SetupCfg,
    SetupPy,
    /// `PKG-INFO` (false) or `requires.txt` (true) of an egg-info directory.
    EggInfo(String, bool),
}

/// Which wanted member `path` (`<top>/...`) is.
fn wanted(path: &str) -> Option<Wanted> {
    let (_, inner) = path.split_once('/')?;
    match inner {
        "PKG-INFO" => return Some(Wanted::PkgInfo),
        "pyproject.toml" => return Some(Wanted::Pyproject),
        "setup.cfg" => return Some(Wanted::SetupCfg),
        "setup.py" => return Some(Wanted::SetupPy),
        _ => {}
    }
    let (dir, file) = inner.rsplit_once('/')?;
    let requires = match file {
        "PKG-INFO" => false,
        "requires.txt" => true,
        _ => return None,
    };
    let depth = dir.split('/').count();
    (dir.ends_with(".egg-info") && depth <= MAX_EGG_INFO_DEPTH)
        .then(|| Wanted::EggInfo(dir.to_owned(), requires))
}

/// Collects the wanted members of one sdist.
#[derive(Default)]
struct Collector {
    files: SdistFiles,
    /// Egg-info directories seen: whether each has a `PKG-INFO`, and its
    /// `requires.txt`.
    egg_infos: BTreeMap<String, (bool, Option<String>)>,
}

impl Collector {
    /// Takes one member; `read` gives its text, at most [`MAX_MEMBER`]
    /// bytes (`None` when it is larger).
    fn take(
        &mut self,
        name: &str,
        path: &str,
        read: impl FnOnce() -> Result<Option<Vec<u8>>, ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let Some(which) = wanted(path) else { return Ok(()) };
        let text = |bytes: Option<Vec<u8>>| -> Result<String, ArchiveError> {
            let (name, path) = (name.to_owned(), path.to_owned());
            let bytes =
                bytes.ok_or_else(|| ArchiveError::LargeMember { name: name.clone(), path: path.clone() })?;
            String::from_utf8(bytes).map_err(|_| ArchiveError::NotUtf8 { name, path })
        };
        match which {
            Wanted::PkgInfo if self.files.pkg_info.is_none() => self.files.pkg_info = Some(text(read()?)?),
            Wanted::Pyproject if self.files.pyproject.is_none() => {
                self.files.pyproject = Some(text(read()?)?)
            }
            Wanted::SetupCfg if self.files.setup_cfg.is_none() => self.files.setup_cfg = Some(text(read()?)?),
            Wanted::SetupPy if self.files.setup_py.is_none() => {
                self.files.setup_py =
                    Some(read()?.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default());
            }
            Wanted::EggInfo(dir, requires)
                if self.egg_infos.len() < 16 || self.egg_infos.contains_key(&dir) =>
            {
                let entry = self.egg_infos.entry(dir).or_default();
                match requires {
                    false => entry.0 = true,
                    true if entry.1.is_none() => entry.1 = Some(text(read()?)?),
                    true => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> SdistFiles {
        let shallowest = self
            .egg_infos
            .into_iter()
            .filter(|(_, (pkg_info, _))| *pkg_info)
            .min_by_key(|(dir, _)| dir.split('/').count());
        self.files.egg_info = shallowest.map(|(dir, (_, requires))| EggInfo { dir, requires });
        self.files
    }
}

/// Reads the members that say what an sdist needs ([`SdistFiles`]) from a
/// `.tar.gz` or `.zip`, streaming, never trusting a declared size for an
/// allocation.
pub fn read_sdist(name: &str, bytes: &[u8]) -> Result<SdistFiles, ArchiveError> {
    if name.ends_with(".zip") {
        return zip_sdist_files(name, bytes);
    }
    if !name.ends_with(".tar.gz") {
        return Err(ArchiveError::NotAnSdist { name: name.to_owned() });
    }
    let mut collector = Collector::default();
    walk_tar(name, bytes, MAX_UNPACKED, |member, contents| {
        if matches!(member.kind, b'0' | 0) {
            collector.take(name, &member.path, || {
                if member.size > MAX_MEMBER {
                    return Ok(None);
                }
                let mut text = Vec::new();
                contents
                    .read_to_end(&mut text)
                    .map_err(|source| ArchiveError::Read { name: name.to_owned(), source })?;
                Ok(Some(text))
            })?;
        }
        Ok(true)
    })?;
    Ok(collector.finish())
}

/// [`read_sdist`] of a `.zip` sdist (older setuptools made them): each
/// wanted member is read through a limit, whatever size it declares.
fn zip_sdist_files(name: &str, bytes: &[u8]) -> Result<SdistFiles, ArchiveError> {
    let bad = |source| ArchiveError::Zip { name: name.to_owned(), source };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let mut collector = Collector::default();
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(bad)?;
        let path = member.name().map_err(bad)?.into_owned();
        if !member.is_file() {
            continue;
        }
        collector.take(name, &path, || {
            let mut text = Vec::new();
            (&mut member).take(MAX_MEMBER + 1).read_to_end(&mut text).map_err(|source| {
                ArchiveError::ZipMember { name: name.to_owned(), path: path.clone(), source }
            })?;
            Ok((text.len() as u64 <= MAX_MEMBER).then_some(text))
        })?;
    }
    Ok(collector.finish())
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn field_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]).into_owned()
}

/// The `keyword` record of a PAX extended header.
fn pax_record(bytes: &[u8], keyword: &str) -> Option<String> {
    String::from_utf8_lossy(bytes).lines().find_map(|record| {
        let (_, keyword_value) = record.split_once(' ')?;
        keyword_value.strip_prefix(keyword)?.strip_prefix('=').map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tar_larger_than_the_limit_is_refused() {
        use std::io::Write as _;
        let mut header = [0u8; 512];
        header[..7].copy_from_slice(b"a-1/big");
        header[124..136].copy_from_slice(b"00000020000\0");
        header[156] = b'0';
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&header).unwrap();
        gzip.write_all(&[b'x'; 8192]).unwrap();
        gzip.write_all(&[0; 1024]).unwrap();
        let archive = gzip.finish().unwrap();
        let mut seen = Vec::new();
        let mut read = |limit| {
            walk_tar("a-1.tar.gz", &archive, limit, |member, contents| {
                seen.push((
                    member.path.clone(),
                    member.size,
                    std::io::copy(contents, &mut std::io::sink()).unwrap(),
                ));
                Ok::<_, ArchiveError>(true)
            })
        };
        let error = read(4096).unwrap_err().to_string();
        assert_eq!(error, "a-1.tar.gz: unpacks to more than 4096 bytes");
        read(1 << 20).unwrap();
        assert_eq!(seen[1], ("a-1/big".to_owned(), 8192, 8192));
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut writer, bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_sdist_is_read_and_an_oversize_member_refused() {
        let sdist = zip(&[
            ("old-1.0/PKG-INFO", b"Metadata-Version: 1.1\nName: old\n"),
            ("old-1.0/setup.cfg", b"[options]\ninstall_requires = six\n"),
            ("old-1.0/docs/setup.cfg", b"not this one"),
        ]);
        let files = read_sdist("old-1.0.zip", &sdist).unwrap();
        assert_eq!(files.setup_cfg.as_deref(), Some("[options]\ninstall_requires = six\n"));
        assert!(files.pkg_info.unwrap().starts_with("Metadata-Version: 1.1"));
        assert_eq!(files.pyproject, None);
        let huge = vec![b'#'; MAX_MEMBER as usize + 1];
        let sdist = zip(&[("old-1.0/pyproject.toml", &huge)]);
        let error = read_sdist("old-1.0.zip", &sdist).unwrap_err().to_string();
        assert!(error.contains("pyproject.toml is larger than"), "{error}");
        // A setup.py too large to read is still there.
        let sdist = zip(&[("old-1.0/setup.py", &huge)]);
        assert_eq!(read_sdist("old-1.0.zip", &sdist).unwrap().setup_py.as_deref(), Some(""));
    }

    #[test]
    fn the_shallowest_egg_info_with_a_pkg_info_is_taken() {
        let sdist = zip(&[
            ("w-1/tests/fixture/x.egg-info/PKG-INFO", b"Name: x\n"),
            ("w-1/tests/fixture/x.egg-info/requires.txt", b"not-this\n"),
            ("w-1/src/w.egg-info/requires.txt", b"six\n[:python_version < \"3\"]\nfutures\n"),
            ("w-1/src/w.egg-info/PKG-INFO", b"Name: w\n"),
            ("w-1/lonely.egg-info/requires.txt", b"no PKG-INFO here\n"),
            ("w-1/setup.py", b"from setuptools import setup\nsetup()\n"),
        ]);
        let files = read_sdist("w-1.zip", &sdist).unwrap();
        let egg_info = files.egg_info.unwrap();
        assert_eq!(egg_info.dir, "src/w.egg-info");
        assert_eq!(egg_info.requires.as_deref(), Some("six\n[:python_version < \"3\"]\nfutures\n"));
        assert!(files.setup_py.unwrap().contains("setup()"));
        // An egg-info without requires.txt: the distribution requires nothing.
        let sdist = zip(&[("c-1/c.egg-info/PKG-INFO", b"Name: c\n")]);
        let egg_info = read_sdist("c-1.zip", &sdist).unwrap().egg_info.unwrap();
        assert_eq!((egg_info.dir.as_str(), egg_info.requires), ("c.egg-info", None));
    }

    #[test]
    fn garbage_is_not_an_sdist() {
        let error = |name: &str, bytes: &[u8]| read_sdist(name, bytes).unwrap_err().to_string();
        assert!(error("x.tar.gz", b"garbage").contains("not a gzip"));
        assert!(error("x.zip", b"garbage").contains("not a usable zip archive"));
        assert!(error("x.tar.bz2", b"").contains("only .tar.gz and .zip"));
    }
}

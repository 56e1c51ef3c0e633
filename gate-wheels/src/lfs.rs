//! Git LFS pointer files (spec v1): a wheel stored in LFS and not fetched is
//! a small text file naming the object's SHA-256 and size, which is enough
//! to check it against the sums file without downloading anything.

/// The first line of every v1 pointer.
const VERSION_LINE: &str = "version https://git-lfs.github.com/spec/v1";

/// Pointers are small; anything larger is a real file.
pub const MAX_POINTER_BYTES: u64 = 1024;

/// What a pointer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// Lowercase hex SHA-256 of the object.
    pub oid: String,
    /// The object's size in bytes.
    pub size: u64,
}

/// Parses `bytes` as a pointer; `None` when they are not one.
pub fn parse(bytes: &[u8]) -> Option<Pointer> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != VERSION_LINE {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for line in lines {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
            oid = valid.then(|| hex.to_ascii_lowercase());
        } else if let Some(n) = line.strip_prefix("size ") {
            size = n.parse().ok();
        }
    }
    Some(Pointer { oid: oid?, size: size? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_oid_and_size() {
        let text = "version https://git-lfs.github.com/spec/v1\noid sha256:4c920dd5437f648c1a648c57cd2e22289e01f6e44e7a4cfb6185ea5a9b301211\nsize 65003\n";
        let pointer = parse(text.as_bytes()).unwrap();
        assert_eq!(pointer.size, 65003);
        assert!(pointer.oid.starts_with("4c920dd5"));
    }

    #[test]
    fn rejects_other_files_and_bad_oids() {
        assert_eq!(parse(b"PK\x03\x04"), None);
        assert_eq!(parse(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n"), None);
    }
}

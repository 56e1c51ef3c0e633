//! Streaming SHA-256 of files: each file read once, in fixed-size chunks,
//! so memory stays flat whatever the file's size.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use gate_core::digest::hex;
use sha2::{Digest, Sha256};

const CHUNK: usize = 256 * 1024;

/// Why a file could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Reading failed.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The run was cancelled part-way.
    #[error("cancelled")]
    Cancelled,
}

/// Lowercase hex SHA-256 of the file at `path` and its size; stops early
/// when `cancelled` turns true.
pub fn sha256_file(path: &Path, cancelled: &dyn Fn() -> bool) -> Result<(String, u64), HashError> {
    let file =
        File::open(path).map_err(|source| HashError::Io { path: path.display().to_string(), source })?;
    sha256_rest(file, &[], path, cancelled)
}

/// Lowercase hex SHA-256 of `start` followed by the rest of `file` (named
/// `path` in errors), and the total size; stops early when `cancelled`
/// turns true.
pub(crate) fn sha256_rest(
    mut file: impl Read,
    start: &[u8],
    path: &Path,
    cancelled: &dyn Fn() -> bool,
) -> Result<(String, u64), HashError> {
    let io = |source| HashError::Io { path: path.display().to_string(), source };
    let mut hasher = Sha256::new();
    hasher.update(start);
    let mut size = start.len() as u64;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        if cancelled() {
            return Err(HashError::Cancelled);
        }
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_file_larger_than_one_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let content = vec![b'a'; CHUNK * 2 + 7];
        std::fs::write(&path, &content).unwrap();
        let (hash, size) = sha256_file(&path, &|| false).unwrap();
        assert_eq!(size, content.len() as u64);
        assert_eq!(hash, hex(&Sha256::digest(&content)));
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

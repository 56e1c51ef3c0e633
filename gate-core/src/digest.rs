//! Hex digests shared by the gates: lowercase hex of bytes, and the cache
//! key under which rebuilt wheels, build environments and build backends'
//! answers are kept.

use sha2::{Digest as _, Sha256};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    // A table, not `write!("{b:02x}")`: the formatter cost a tenth of the
    // wheels gate's instructions on a sums file of tiny wheels.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

/// The cache key of `parts`, in order: the hex SHA-256 of their
/// length-prefixed concatenation. The wheels gate's rebuild results and
/// build environments and the build-dependency analysis's backend answers
/// are cached under it.
pub fn cache_key(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"release-check rebuild v2\n");
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xf0, 0xff]), "000fabf0ff");
        assert_eq!(hex(&[]), "");
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cache_key_parts_are_length_prefixed() {
        assert_ne!(cache_key(&[b"sdist", b"python"]), cache_key(&[b"sdis", b"tpython"]));
    }
}

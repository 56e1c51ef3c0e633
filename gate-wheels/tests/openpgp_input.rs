//! Property tests of how a signature file is read (ASCII armor, then
//! OpenPGP packets) and judged: arbitrary bytes never panic and never pass,
//! a damaged real signature passes only if gpg passes it too, and any mix of
//! good, bad, unknown-key and marker packets passes exactly when
//! `gpg --verify` exits 0.
//!
//! The keys and signatures are the test data of `tests/signature.rs`
//! (`tests/data/signatures/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gate_core::{Item, Status};
use gate_wheels::signature::{self, PublicKey, Signed};
use jiff::Timestamp;
use pgp::composed::{Deserializable as _, DetachedSignature};
use pgp::ser::Serialize as _;
use proptest::prelude::*;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/signatures")
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read test data {}: {e}", path.display()))
}

/// The committed keys of a repository holding the given test-data key files.
fn keys(names: &[&str]) -> Vec<PublicKey> {
    let repo = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir(repo.path().join("pubkeys")).expect("create pubkeys/");
    for name in names {
        std::fs::write(repo.path().join("pubkeys").join(name), read(name)).expect("write key file");
    }
    let (keys, problems) = signature::load_keys(repo.path(), "pubkeys");
    assert!(problems.is_empty(), "{problems:#?}");
    keys
}

/// The committed keys of every case.
const KEYS: &[&str] = &["primary.pub", "rsa.pub"];

/// `verify` of `bytes` over `data.txt` with [`KEYS`], loaded once.
fn verify(bytes: &[u8]) -> Item {
    static LOADED: OnceLock<(Vec<PublicKey>, Vec<u8>)> = OnceLock::new();
    let (keys, data) = LOADED.get_or_init(|| (keys(KEYS), read("data.txt")));
    signature::verify(
        Signed { data_path: "data.txt", data, signature_path: "sums.asc", signature: bytes },
        keys,
        Timestamp::now(),
    )
}

/// Whether `gpg --verify` of `signature` over `data.txt`, in a fresh
/// GNUPGHOME holding only `pubkeys`, exits 0.
fn gpg_passes(pubkeys: &[&str], signature: &[u8]) -> bool {
    let home = tempfile::tempdir().expect("temporary GNUPGHOME");
    let gpg = || {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", home.path()).args(["--batch", "--no-tty", "--no-autostart"]);
        command
    };
    let out =
        gpg().arg("--import").args(pubkeys.iter().map(|p| data_dir().join(p))).output().unwrap_or_else(|e| {
            panic!("cannot run gpg ({e}); install GnuPG: it is the referee of these tests")
        });
    assert!(out.status.success(), "gpg --import failed: {}", String::from_utf8_lossy(&out.stderr));
    let file = home.path().join("signature");
    std::fs::write(&file, signature).expect("write the signature file");
    let out =
        gpg().arg("--verify").arg(&file).arg(data_dir().join("data.txt")).output().expect("run gpg --verify");
    out.status.success()
}

/// The binary signature packet of a test-data `.asc` file.
fn binary(name: &str) -> Vec<u8> {
    let (sig, _) = DetachedSignature::from_armor_single(&read(name)[..])
        .unwrap_or_else(|e| panic!("{name} is an armored signature: {e}"));
    sig.to_bytes().expect("serialise the signature")
}

/// Bytes written as-is by rPGP's armor writer.
struct Raw(Vec<u8>);

impl pgp::ser::Serialize for Raw {
    fn to_writer<W: std::io::Write>(&self, writer: &mut W) -> pgp::errors::Result<()> {
        writer.write_all(&self.0)?;
        Ok(())
    }
    fn write_len(&self) -> usize {
        self.0.len()
    }
}

fn armored(packets: &[u8], checksum: bool) -> Vec<u8> {
    let mut out = Vec::new();
    pgp::armor::write(&Raw(packets.to_vec()), pgp::armor::BlockType::Signature, &mut out, None, checksum)
        .expect("armor the packets");
    out
}

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Flip(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), 1..=255u8).prop_map(|(i, mask)| Edit::Flip(i, mask)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        match *edit {
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                let at = i % bytes.len();
                bytes.remove(at);
            }
            Edit::Flip(i, mask) if !bytes.is_empty() => {
                let at = i % bytes.len();
                bytes[at] ^= mask;
            }
            _ => {}
        }
    }
    bytes
}

/// What a packet in a generated signature file is.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// `primary.asc`: good, by a committed key.
    Good,
    /// `rsa.asc`: good, by a committed key.
    GoodRsa,
    /// `primary.asc` with its last byte flipped: BAD.
    Bad,
    /// `subkey.asc`: good, by a key not committed.
    UnknownKey,
    /// A marker packet, which gpg and release-check ignore.
    Marker,
}

fn piece_bytes(piece: Piece) -> Vec<u8> {
    match piece {
        Piece::Good => binary("primary.asc"),
        Piece::GoodRsa => binary("rsa.asc"),
        Piece::Bad => {
            let mut sig = binary("primary.asc");
            *sig.last_mut().expect("a signature has bytes") ^= 0x01;
            sig
        }
        Piece::UnknownKey => binary("subkey.asc"),
        Piece::Marker => b"\xca\x03PGP".to_vec(),
    }
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => Just(Piece::Good),
        2 => Just(Piece::GoodRsa),
        1 => Just(Piece::Bad),
        1 => Just(Piece::UnknownKey),
        1 => Just(Piece::Marker),
    ]
}

/// How the packets are put in the file.
#[derive(Debug, Clone, Copy)]
enum Form {
    Binary,
    OneBlock,
    BlockEach,
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![Just(Form::Binary), Just(Form::OneBlock), Just(Form::BlockEach)]
}

fn file_of(pieces: &[Piece], form: Form) -> Vec<u8> {
    let packets: Vec<Vec<u8>> = pieces.iter().map(|&p| piece_bytes(p)).collect();
    match form {
        Form::Binary => packets.concat(),
        Form::OneBlock => armored(&packets.concat(), true),
        Form::BlockEach => packets.iter().flat_map(|p| armored(p, true)).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_and_never_pass(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let item = verify(&bytes);
        prop_assert_ne!(item.status, Status::Pass, "{:#?}", item);
        prop_assert!(!item.reason.contains(['\n', '\r']), "{:?}", item.reason);
    }

    #[test]
    fn armored_arbitrary_packets_never_pass(
        packets in prop::collection::vec(any::<u8>(), 0..600),
        checksum in any::<bool>(),
    ) {
        let item = verify(&armored(&packets, checksum));
        prop_assert_ne!(item.status, Status::Pass, "{:#?}", item);
    }

    #[test]
    fn text_that_merely_looks_armored_never_passes(
        lines in prop::collection::vec("(-----(BEGIN|END) PGP SIGNATURE-----|[A-Za-z0-9+/=]{0,64}|Comment: [ -~]{0,20}|)", 0..12),
    ) {
        let item = verify(lines.join("\n").as_bytes());
        prop_assert_ne!(item.status, Status::Pass, "{:#?}", item);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Damaged real signatures never panic; the rare damage that leaves a
    /// signature valid (in its unhashed area) passes only if gpg agrees.
    #[test]
    fn a_damaged_signature_passes_only_if_gpg_passes_it(
        pieces in prop::collection::vec(piece(), 1..3),
        form in form(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let bytes = apply(file_of(&pieces, form), &edits);
        let item = verify(&bytes);
        if item.status == Status::Pass {
            prop_assert!(gpg_passes(KEYS, &bytes), "release-check passes what gpg refuses: {:#?}", item);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any mix of good, bad, unknown-key and marker packets, in any form,
    /// passes exactly when gpg passes it.
    #[test]
    fn mixed_packets_pass_exactly_when_gpg_passes_them(
        pieces in prop::collection::vec(piece(), 1..5),
        form in form(),
    ) {
        let bytes = file_of(&pieces, form);
        let item = verify(&bytes);
        let gpg = gpg_passes(KEYS, &bytes);
        prop_assert_eq!(item.status == Status::Pass, gpg, "{:?} as {:?}: {:#?}", pieces, form, item);
    }
}

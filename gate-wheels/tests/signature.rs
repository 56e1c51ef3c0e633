//! Fault injection for `gate_wheels::signature`: good, bad, unknown, revoked,
//! expired, unsupported and damaged detached signatures, each judged at a
//! fixed moment; then the same verdicts cross-checked against `gpg --verify`,
//! on the test data and on SecureDrop's real signed sums files.
//!
//! The keys and signatures are in `tests/data/signatures/`, made by its
//! `make.sh` (its README.md lists every file and its dates).

use std::path::{Path, PathBuf};
use std::process::Command;

use gate_core::{Evidence, Item, Status};
use gate_wheels::signature::{self, PublicKey, Signed};
use jiff::Timestamp;
use pgp::composed::{Deserializable, SignedSecretKey};
use pgp::ser::Serialize as _;
use pgp::types::KeyDetails as _;

/// The moment most cases are judged at: after `expired-before.pub` expired,
/// before the 2030 keys do.
const NOW: &str = "2026-01-01T00:00:00Z";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/signatures")
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read test data {}: {e}", path.display()))
}

fn at(time: &str) -> Timestamp {
    time.parse().unwrap_or_else(|e| panic!("bad timestamp literal {time}: {e}"))
}

/// Primary and signing-subkey fingerprints of a test key, as gpg printed
/// them when `make.sh` made it.
fn fingerprints(name: &str) -> (String, Option<String>) {
    let text = String::from_utf8(read("fingerprints.txt")).expect("fingerprints.txt is UTF-8");
    let fields = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .unwrap_or_else(|| panic!("no {name} line in fingerprints.txt"));
    (fields[1].to_owned(), fields.get(2).map(|s| (*s).to_owned()))
}

fn primary_fingerprint(name: &str) -> String {
    fingerprints(name).0
}

/// What `load_keys` made of a key directory.
struct Loaded {
    keys: Vec<PublicKey>,
    problems: Vec<Item>,
}

/// Loads a temporary repository whose `pubkeys/` holds `files`, given as
/// `(name, bytes)`.
fn load(files: &[(&str, Vec<u8>)]) -> Loaded {
    let repo = tempfile::tempdir().expect("temporary directory");
    let dir = repo.path().join("pubkeys");
    std::fs::create_dir(&dir).expect("create pubkeys/");
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("write key file");
    }
    let (keys, problems) = signature::load_keys(repo.path(), "pubkeys");
    Loaded { keys, problems }
}

/// The keys of the given test-data key files, which must all load cleanly.
fn keys(names: &[&str]) -> Vec<PublicKey> {
    let loaded = load(&names.iter().map(|n| (*n, read(n))).collect::<Vec<_>>());
    assert!(loaded.problems.is_empty(), "key files {names:?} did not load cleanly: {:#?}", loaded.problems);
    assert_eq!(loaded.keys.len(), names.len(), "one key per file expected");
    loaded.keys
}

fn verify(signature_file: &str, data_file: &str, keys: &[PublicKey], now: &str) -> Item {
    let data = read(data_file);
    let sig = read(signature_file);
    signature::verify(
        Signed { data_path: data_file, data: &data, signature_path: signature_file, signature: &sig },
        keys,
        at(now),
    )
}

/// Asserts an item's check, status and the words its reason must contain.
#[track_caller]
fn expect(item: &Item, check: &str, status: Status, words: &[&str]) {
    assert_eq!((item.check.as_ref(), item.status), (check, status), "unexpected item: {item:#?}");
    assert!(!item.reason.contains(['\n', '\r']), "a reason is one line: {:?}", item.reason);
    for word in words {
        assert!(item.reason.contains(word), "reason lacks {word:?}: {:?}\n{item:#?}", item.reason);
    }
}

/// The value of the item's fact `label`.
#[track_caller]
fn fact<'a>(item: &'a Item, label: &str) -> &'a str {
    item.evidence
        .iter()
        .find_map(|e| match e {
            Evidence::Fact { label: l, value } if l == label => Some(value.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {label:?} fact in {item:#?}"))
}

fn has_fact(item: &Item, label: &str) -> bool {
    item.evidence.iter().any(|e| matches!(e, Evidence::Fact { label: l, .. } if l == label))
}

#[test]
fn good_signature_by_a_primary_key_passes() {
    let fpr = primary_fingerprint("primary");
    let item = verify("primary.asc", "data.txt", &keys(&["primary.pub"]), NOW);
    expect(&item, "signature", Status::Pass, &["good signature", "valid until 2030-01-01T00:00:00Z"]);
    assert_eq!(item.subject, "primary.asc");
    assert_eq!(fact(&item, "signature made"), "2025-02-01T12:00:00Z");
    assert_eq!(fact(&item, "key expires"), "2030-01-01T00:00:00Z");
    assert_eq!(fact(&item, "judged at"), NOW);
    assert_eq!(fact(&item, "digest"), "SHA-256");
    assert_eq!(
        fact(&item, "signing key"),
        format!("{fpr} \"primary (release-check test key) <primary@example.invalid>\" (pubkeys/primary.pub)")
    );
    assert!(item.evidence.iter().any(|e| matches!(e, Evidence::Location(l) if l.path == "primary.asc")));
}

#[test]
fn good_signature_by_a_subkey_names_the_subkey_and_its_primary() {
    let (primary, subkey) = fingerprints("subkey");
    let subkey = subkey.expect("fingerprints.txt names the signing subkey");
    let item = verify("subkey.asc", "data.txt", &keys(&["subkey.pub"]), NOW);
    expect(&item, "signature", Status::Pass, &["good signature", "valid until 2030-01-01T00:00:00Z"]);
    assert_eq!(
        fact(&item, "signing key"),
        format!(
            "subkey {subkey} of {primary} \"subkey (release-check test key) <subkey@example.invalid>\" (pubkeys/subkey.pub)"
        )
    );
    assert_eq!(fact(&item, "signature made"), "2025-02-01T12:00:00Z");
}

#[test]
fn the_right_key_is_found_among_several() {
    let item = verify("subkey.asc", "data.txt", &keys(&["primary.pub", "rsa.pub", "subkey.pub"]), NOW);
    expect(&item, "signature", Status::Pass, &["good signature"]);
    assert!(fact(&item, "signing key").contains("(pubkeys/subkey.pub)"), "{item:#?}");
}

#[test]
fn tampered_data_is_a_bad_signature() {
    let item = verify("primary.asc", "data-tampered.txt", &keys(&["primary.pub"]), NOW);
    expect(&item, "signature", Status::Fail, &["BAD signature", "data-tampered.txt does not match"]);
    assert_eq!(fact(&item, "signature made"), "2025-02-01T12:00:00Z");
    assert!(fact(&item, "signing key").contains(&primary_fingerprint("primary")), "{item:#?}");
}

#[test]
fn tampered_data_signed_by_a_subkey_is_a_bad_signature() {
    let item = verify("subkey.asc", "data-tampered.txt", &keys(&["subkey.pub"]), NOW);
    expect(&item, "signature", Status::Fail, &["BAD signature"]);
}

#[test]
fn signature_by_a_key_not_committed_names_the_issuer() {
    let fpr = primary_fingerprint("primary");
    let key_id = &fpr[fpr.len() - 16..];
    for (what, keys) in [("no keys", Vec::new()), ("other keys", keys(&["subkey.pub", "rsa.pub"]))] {
        let item = verify("primary.asc", "data.txt", &keys, NOW);
        expect(&item, "signature", Status::Fail, &["not among the committed public keys", &fpr, key_id]);
        assert_eq!(fact(&item, "signature made"), "2025-02-01T12:00:00Z", "{what}");
        assert!(!has_fact(&item, "signing key"), "{what}: {item:#?}");
    }
}

#[test]
fn signature_by_a_revoked_key_fails() {
    let item = verify("revoked.asc", "data.txt", &keys(&["revoked.pub"]), NOW);
    expect(
        &item,
        "signature",
        Status::Fail,
        &["good signature, but the signing key was revoked", "2025-01-01T00:00:00Z"],
    );
    // Revoked is revoked, whenever the release is judged.
    let before = verify("revoked.asc", "data.txt", &keys(&["revoked.pub"]), "2025-02-02T00:00:00Z");
    expect(&before, "signature", Status::Fail, &["revoked"]);
}

#[test]
fn key_expired_since_the_signature_is_its_own_check_with_both_dates() {
    let item = verify("expired-before.asc", "data.txt", &keys(&["expired-before.pub"]), NOW);
    expect(
        &item,
        "signature-expired-key",
        Status::Fail,
        &["good signature made on 2025-03-01T00:00:00Z", "expired on 2025-06-01T00:00:00Z", NOW],
    );
    assert_eq!(fact(&item, "key expired"), "2025-06-01T00:00:00Z");
    assert_eq!(fact(&item, "signature made"), "2025-03-01T00:00:00Z");
    assert_eq!(fact(&item, "judged at"), NOW);
}

#[test]
fn key_expiring_later_passes_when_judged_before_its_expiry() {
    let keys = keys(&["expired-before.pub"]);
    let item = verify("expired-before.asc", "data.txt", &keys, "2025-05-01T00:00:00Z");
    expect(&item, "signature", Status::Pass, &["good signature", "valid until 2025-06-01T00:00:00Z"]);
    assert_eq!(fact(&item, "key expires"), "2025-06-01T00:00:00Z");
    // Like gpg (checked with --faked-system-time): valid up to and including
    // the expiry second, expired one second later.
    let last = verify("expired-before.asc", "data.txt", &keys, "2025-06-01T00:00:00Z");
    expect(&last, "signature", Status::Pass, &[]);
    let after = verify("expired-before.asc", "data.txt", &keys, "2025-06-01T00:00:01Z");
    expect(&after, "signature-expired-key", Status::Fail, &[]);
}

#[test]
fn signature_made_after_its_key_expired_fails() {
    let keys = keys(&["signed-after-expiry.pub"]);
    for now in [NOW, "2025-07-02T00:00:00Z"] {
        let item = verify("signed-after-expiry.asc", "data.txt", &keys, now);
        expect(
            &item,
            "signature",
            Status::Fail,
            &["signature made on 2025-07-01T00:00:00Z", "after its key expired on 2025-06-01T00:00:00Z"],
        );
    }
}

#[test]
fn signature_past_its_own_expiration_time_fails() {
    let keys = keys(&["primary.pub"]);
    let item = verify("expired-signature.asc", "data.txt", &keys, NOW);
    expect(
        &item,
        "signature",
        Status::Fail,
        &["signature expired on 2025-03-01T00:00:00Z", "made on 2025-02-01T12:00:00Z", NOW],
    );
    assert_eq!(fact(&item, "signature expires"), "2025-03-01T00:00:00Z");
    // Like gpg (checked with --faked-system-time): valid until the second
    // before its expiration time, expired from that second on.
    let before = verify("expired-signature.asc", "data.txt", &keys, "2025-02-28T23:59:59Z");
    expect(&before, "signature", Status::Pass, &["good signature"]);
    assert_eq!(fact(&before, "signature expires"), "2025-03-01T00:00:00Z");
    let at_expiry = verify("expired-signature.asc", "data.txt", &keys, "2025-03-01T00:00:00Z");
    expect(&at_expiry, "signature", Status::Fail, &["expired on 2025-03-01T00:00:00Z"]);
}

#[test]
fn rsa_with_sha512_passes() {
    let item = verify("rsa.asc", "data.txt", &keys(&["rsa.pub"]), NOW);
    expect(&item, "signature", Status::Pass, &["good signature", "valid until 2030-01-01T00:00:00Z"]);
    assert_eq!(fact(&item, "digest"), "SHA-512");
    assert!(fact(&item, "signing key").contains(&primary_fingerprint("rsa")), "{item:#?}");
}

#[test]
fn unsupported_hash_algorithm_fails_closed_as_an_error() {
    let item = verify("unsupported.sig", "data.txt", &keys(&["primary.pub"]), NOW);
    expect(&item, "signature", Status::Error, &["cannot verify", "unsupported"]);
    assert!(!item.reason.contains("BAD"), "an unverifiable signature is not a BAD one: {item:#?}");
}

#[test]
fn truncated_signature_fails_clearly() {
    let item = verify("truncated.asc", "data.txt", &keys(&["primary.pub"]), NOW);
    expect(&item, "signature", Status::Fail, &["not a valid detached OpenPGP signature"]);
}

#[test]
fn public_key_where_the_signature_should_be_fails_clearly() {
    let item = verify("not-a-signature.asc", "data.txt", &keys(&["primary.pub"]), NOW);
    expect(&item, "signature", Status::Fail, &["not a valid detached OpenPGP signature"]);
}

#[test]
fn empty_and_garbage_signatures_fail_clearly() {
    let keys = keys(&["primary.pub"]);
    for bytes in [&b""[..], b"\n", b"not a signature\n", &[0xff; 64]] {
        let item = signature::verify(
            Signed {
                data_path: "data.txt",
                data: &read("data.txt"),
                signature_path: "x.asc",
                signature: bytes,
            },
            &keys,
            at(NOW),
        );
        expect(&item, "signature", Status::Fail, &["not a valid detached OpenPGP signature"]);
    }
}

#[test]
fn armored_secret_key_among_the_public_keys_is_refused() {
    let loaded = load(&[("primary.pub", read("primary.pub")), ("secret.key", read("secret.key"))]);
    assert_refused_secret_key(&loaded, "pubkeys/secret.key");
}

#[test]
fn binary_secret_key_among_the_public_keys_is_refused() {
    let (secret, _) = SignedSecretKey::from_armor_single(&read("secret.key")[..]).expect("secret.key parses");
    let binary = secret.to_bytes().expect("serialise the secret key");
    assert!(!binary.windows(5).any(|w| w == b"BEGIN"), "expected binary, not armour");
    let loaded = load(&[("primary.pub", read("primary.pub")), ("oops.gpg", binary)]);
    assert_refused_secret_key(&loaded, "pubkeys/oops.gpg");
}

#[track_caller]
fn assert_refused_secret_key(loaded: &Loaded, file: &str) {
    let [problem] = &loaded.problems[..] else {
        panic!("expected exactly one pubkey problem, got {:#?}", loaded.problems);
    };
    expect(problem, "pubkey", Status::Fail, &["PRIVATE key", "refusing"]);
    assert_eq!(problem.subject, file);
    let files: Vec<&str> = loaded.keys.iter().map(|k| k.file.as_str()).collect();
    assert_eq!(files, ["pubkeys/primary.pub"], "no key may be loaded from the private key file");
    let throwaway = primary_fingerprint("throwaway-secret");
    for key in &loaded.keys {
        let fpr = gate_wheels::hex(key.key.primary_key.fingerprint().as_bytes()).to_ascii_uppercase();
        assert_ne!(fpr, throwaway, "the private key's public part was loaded");
    }
}

#[test]
fn files_that_are_not_keys_are_reported_and_dot_files_ignored() {
    let loaded = load(&[
        ("primary.pub", read("primary.pub")),
        ("README", b"these are our release keys\n".to_vec()),
        ("sig.asc", read("primary.asc")),
        (".gitkeep", Vec::new()),
    ]);
    let subjects: Vec<&str> = loaded.problems.iter().map(|p| p.subject.as_str()).collect();
    assert_eq!(subjects, ["pubkeys/README", "pubkeys/sig.asc"], "{:#?}", loaded.problems);
    for problem in &loaded.problems {
        expect(
            problem,
            "pubkey",
            Status::Fail,
            &["not an OpenPGP public key: it does not read as a certificate"],
        );
        assert!(has_fact(problem, "parser detail"), "rPGP's words stay as evidence: {problem:#?}");
    }
    assert_eq!(loaded.keys.len(), 1);
}

#[test]
fn missing_key_directory_is_an_error() {
    let repo = tempfile::tempdir().expect("temporary directory");
    let (keys, problems) = signature::load_keys(repo.path(), "pubkeys");
    assert!(keys.is_empty());
    let [problem] = &problems[..] else { panic!("expected one problem, got {problems:#?}") };
    expect(problem, "pubkey", Status::Error, &["cannot list the key directory"]);
}

// ---------------------------------------------------------------------------
// SecureDrop's real signed sums files (read in place from the shared fixtures).

fn securedrop() -> PathBuf {
    test_support::shared_fixture("securedrop-2022-07")
}

fn securedrop_keys(dir: &Path) -> Vec<PublicKey> {
    let (keys, problems) = signature::load_keys(dir, "pubkeys");
    assert!(problems.is_empty(), "SecureDrop's pubkeys/ did not load cleanly: {problems:#?}");
    keys
}

fn verify_in(dir: &Path, sums: &str, keys: &[PublicKey], now: Timestamp) -> Item {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("cannot read fixture file {name}: {e}"))
    };
    let signature_path = format!("{sums}.asc");
    signature::verify(
        Signed {
            data_path: sums,
            data: &read(sums),
            signature_path: &signature_path,
            signature: &read(&signature_path),
        },
        keys,
        now,
    )
}

#[test]
fn securedrop_2022_sums_are_good_signatures_by_a_key_expired_since() {
    let dir = securedrop();
    let keys = securedrop_keys(&dir);
    for (sums, made) in
        [("sha256sums.txt", "2022-06-03T19:31:46Z"), ("bootstrap-sha256sums.txt", "2022-05-11T17:07:28Z")]
    {
        let item = verify_in(&dir, sums, &keys, at(NOW));
        // gpg: primary key FA1E...FCA2 expires 2022-12-14T08:11:16Z, its
        // signing subkey D8CB...269B at 08:11:47Z; the earlier one counts.
        expect(&item, "signature-expired-key", Status::Fail, &[made, "2022-12-14T08:11:16Z"]);
        assert_eq!(fact(&item, "signature made"), made);
        assert_eq!(
            fact(&item, "signing key"),
            "subkey D8CB59F05DBB9E0538C4819DF105F8101B05269B of FA1E9F9A41E7F43502CA5D6352FC8E7BEDB7FCA2 \
             \"Kunal Mehta <legoktm@riseup.net>\" (pubkeys/kunal.pub)"
        );
        // Judged while the key was still valid, the same signature passes.
        let then = verify_in(&dir, sums, &keys, at("2022-07-01T00:00:00Z"));
        expect(&then, "signature", Status::Pass, &["valid until 2022-12-14T08:11:16Z"]);
    }
}

// ---------------------------------------------------------------------------
// Cross-check with gpg.

/// How `gpg --verify` (and release-check) judge a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// GOODSIG; a passing `signature` item.
    Good,
    /// BADSIG; a failing `signature` item saying BAD.
    Bad,
    /// EXPKEYSIG; a failing `signature-expired-key` item.
    ExpiredKey,
    /// REVKEYSIG; a failing `signature` item saying revoked.
    Revoked,
    /// ERRSIG with NO_PUBKEY; a failing `signature` item saying "not among".
    NoPublicKey,
    /// EXPSIG; a failing `signature` item saying the signature expired.
    ExpiredSignature,
}

fn our_verdict(item: &Item) -> Option<Verdict> {
    match (item.check.as_ref(), item.status) {
        ("signature", Status::Pass) => Some(Verdict::Good),
        ("signature-expired-key", Status::Fail) => Some(Verdict::ExpiredKey),
        ("signature", Status::Fail) if item.reason.contains("BAD") => Some(Verdict::Bad),
        ("signature", Status::Fail) if item.reason.contains("revoked") => Some(Verdict::Revoked),
        ("signature", Status::Fail) if item.reason.contains("not among") => Some(Verdict::NoPublicKey),
        ("signature", Status::Fail) if item.reason.contains("signature expired") => {
            Some(Verdict::ExpiredSignature)
        }
        _ => None,
    }
}

/// Checks that gpg runs at all: the cross-check must fail, not skip, without it.
fn require_gpg() {
    match Command::new("gpg").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`gpg --version` failed ({}): {}; gpg is required for the gpg cross-check",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            panic!("cannot run `gpg --version` ({e}); install GnuPG: it is required for the gpg cross-check")
        }
    }
}

/// gpg's verdict on `signature` over `data`, in a fresh GNUPGHOME holding
/// only `pubkeys`, at the real current time.
fn gpg_verdict(pubkeys: &[PathBuf], signature: &Path, data: &Path) -> Result<Verdict, String> {
    let home = tempfile::tempdir().expect("temporary GNUPGHOME");
    let gpg = || {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", home.path()).args(["--batch", "--no-tty", "--no-autostart"]);
        command
    };
    if !pubkeys.is_empty() {
        let out = gpg().arg("--import").args(pubkeys).output().map_err(|e| format!("gpg --import: {e}"))?;
        if !out.status.success() {
            return Err(format!("gpg --import failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    let out = gpg()
        .args(["--status-fd", "1", "--verify"])
        .args([signature, data])
        .output()
        .map_err(|e| format!("gpg --verify: {e}"))?;
    let status = String::from_utf8_lossy(&out.stdout);
    let keywords: Vec<&str> =
        status.lines().filter_map(|l| l.strip_prefix("[GNUPG:] ")?.split_whitespace().next()).collect();
    let has = |k: &str| keywords.contains(&k);
    let verdict = if has("GOODSIG") {
        Verdict::Good
    } else if has("BADSIG") {
        Verdict::Bad
    } else if has("EXPKEYSIG") {
        Verdict::ExpiredKey
    } else if has("REVKEYSIG") {
        Verdict::Revoked
    } else if has("EXPSIG") {
        Verdict::ExpiredSignature
    } else if has("ERRSIG") && has("NO_PUBKEY") {
        Verdict::NoPublicKey
    } else {
        return Err(format!("gpg gave no verdict:\n{status}{}", String::from_utf8_lossy(&out.stderr)));
    };
    Ok(verdict)
}

#[test]
fn gpg_agrees_with_release_check() {
    require_gpg();
    let now = Timestamp::now();
    let dir = data_dir();
    // (signature, data, public keys, expected verdict). The keys expiring
    // 2030-01-01 keep Good meaning Good until then; after that, re-run
    // make.sh with later dates.
    let cases: &[(&str, &str, &[&str], Verdict)] = &[
        ("primary.asc", "data.txt", &["primary.pub"], Verdict::Good),
        ("subkey.asc", "data.txt", &["subkey.pub"], Verdict::Good),
        ("primary.asc", "data-tampered.txt", &["primary.pub"], Verdict::Bad),
        ("primary.asc", "data.txt", &[], Verdict::NoPublicKey),
        ("primary.asc", "data.txt", &["subkey.pub", "rsa.pub"], Verdict::NoPublicKey),
        ("revoked.asc", "data.txt", &["revoked.pub"], Verdict::Revoked),
        ("expired-before.asc", "data.txt", &["expired-before.pub"], Verdict::ExpiredKey),
        ("rsa.asc", "data.txt", &["rsa.pub"], Verdict::Good),
        ("expired-signature.asc", "data.txt", &["primary.pub"], Verdict::ExpiredSignature),
    ];
    let mut disagreements = Vec::new();
    let mut compare = |case: String, expected: Verdict, gpg: Result<Verdict, String>, item: &Item| {
        let ours = our_verdict(item);
        match gpg {
            Ok(gpg) if ours == Some(gpg) && gpg == expected => {}
            Ok(gpg) => disagreements.push(format!(
                "{case}: expected {expected:?}, gpg says {gpg:?}, release-check says {ours:?}: {item:#?}"
            )),
            Err(e) => disagreements.push(format!("{case}: {e}")),
        }
    };
    for &(sig, data, pubkeys, expected) in cases {
        let names = pubkeys;
        let item = verify(sig, data, &keys(pubkeys), &now.to_string());
        let pubkeys: Vec<PathBuf> = pubkeys.iter().map(|p| dir.join(p)).collect();
        let gpg = gpg_verdict(&pubkeys, &dir.join(sig), &dir.join(data));
        compare(format!("{sig} over {data} with keys {names:?}"), expected, gpg, &item);
    }

    let securedrop = securedrop();
    let keys = securedrop_keys(&securedrop);
    let mut pubkeys: Vec<PathBuf> = std::fs::read_dir(securedrop.join("pubkeys"))
        .expect("list SecureDrop pubkeys/")
        .map(|e| e.expect("read SecureDrop pubkeys/").path())
        .collect();
    pubkeys.sort();
    for sums in ["sha256sums.txt", "bootstrap-sha256sums.txt"] {
        let item = verify_in(&securedrop, sums, &keys, now);
        let signature = securedrop.join(format!("{sums}.asc"));
        let gpg = gpg_verdict(&pubkeys, &signature, &securedrop.join(sums));
        compare(format!("SecureDrop {sums}"), Verdict::ExpiredKey, gpg, &item);
    }
    assert!(disagreements.is_empty(), "gpg and release-check disagree:\n{}", disagreements.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Several signatures in one file, and odd signature files, with gpg as
// referee: release-check passes a file exactly when `gpg --verify` exits 0,
// except where it is deliberately stricter (then it fails and says where).

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

/// `packets` in one armor block, with its CRC-24 line.
fn armored(packets: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    pgp::armor::write(&Raw(packets.to_vec()), pgp::armor::BlockType::Signature, &mut out, None, true)
        .expect("armor the packets");
    out
}

/// The binary signature packet of a test-data `.asc` file.
fn binary(name: &str) -> Vec<u8> {
    let (sig, _) = pgp::composed::DetachedSignature::from_armor_single(&read(name)[..])
        .unwrap_or_else(|e| panic!("{name} is an armored signature: {e}"));
    sig.to_bytes().expect("serialise the signature")
}

/// `primary.asc` with the last byte of its signature value flipped: a
/// signature by a committed key that does not match `data.txt` (gpg: BADSIG).
fn bad_primary() -> Vec<u8> {
    let mut sig = binary("primary.asc");
    *sig.last_mut().expect("a signature packet has bytes") ^= 0x01;
    sig
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
    if !pubkeys.is_empty() {
        let out = gpg()
            .arg("--import")
            .args(pubkeys.iter().map(|p| data_dir().join(p)))
            .output()
            .expect("run gpg --import");
        assert!(out.status.success(), "gpg --import failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let file = home.path().join("signature");
    std::fs::write(&file, signature).expect("write the signature file");
    let out =
        gpg().arg("--verify").arg(&file).arg(data_dir().join("data.txt")).output().expect("run gpg --verify");
    out.status.success()
}

/// How release-check must judge a case compared with gpg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Referee {
    /// Pass exactly when gpg exits 0 (and gpg must say `gpg_passes`).
    Agrees { gpg_passes: bool },
    /// gpg passes it; release-check refuses it on purpose, with a located
    /// reason containing the given words.
    Stricter(&'static str),
}

/// Key files committed in a case.
type Keys = &'static [&'static str];

/// A signature file over `data.txt`, the committed keys, and how
/// release-check must judge it compared with gpg.
struct Case {
    name: String,
    bytes: Vec<u8>,
    keys: Keys,
    referee: Referee,
}

fn several_signature_cases() -> Vec<Case> {
    let good = binary("primary.asc");
    let rsa = binary("rsa.asc");
    let subkey = binary("subkey.asc");
    let bad = bad_primary();
    let both: Keys = &["primary.pub", "rsa.pub"];
    let primary_only: Keys = &["primary.pub"];
    let pass = Referee::Agrees { gpg_passes: true };
    let fail = Referee::Agrees { gpg_passes: false };
    let combos: Vec<(&str, Vec<&[u8]>, Keys, Referee)> = vec![
        ("good", vec![&good], primary_only, pass),
        ("bad", vec![&bad], primary_only, fail),
        ("good + bad", vec![&good, &bad], primary_only, fail),
        ("good + unknown key", vec![&good, &rsa], primary_only, fail),
        ("unknown key + good", vec![&rsa, &good], primary_only, fail),
        ("bad + good", vec![&bad, &rsa], both, fail),
        ("two good from two known keys", vec![&good, &rsa], both, pass),
        ("good + good by a subkey", vec![&good, &subkey], &["primary.pub", "subkey.pub"], pass),
        ("the same good signature twice", vec![&good, &good], primary_only, pass),
    ];
    let mut cases = Vec::new();
    for (name, packets, keys, referee) in combos {
        let concatenated: Vec<u8> = packets.concat();
        let blocks: Vec<u8> = packets.iter().flat_map(|p| armored(p)).collect();
        let armored_once = armored(&concatenated);
        cases.push(Case { name: format!("{name}, binary"), bytes: concatenated, keys, referee });
        cases.push(Case { name: format!("{name}, one armor block"), bytes: armored_once, keys, referee });
        if packets.len() > 1 {
            cases.push(Case { name: format!("{name}, one armor block each"), bytes: blocks, keys, referee });
        }
    }
    let primary_asc = read("primary.asc");
    let text = String::from_utf8(primary_asc.clone()).expect("primary.asc is text");
    let with_trailing = [&primary_asc[..], b"this line is not part of the signature\n"].concat();
    let with_leading = [&b"this line is not part of the signature\n"[..], &primary_asc].concat();
    let crc_line = text.lines().find(|l| l.starts_with('=')).expect("primary.asc has a CRC-24 line");
    let other_crc = if crc_line == "=AAAA" { "=AAAB" } else { "=AAAA" };
    let structural: Vec<(&str, Vec<u8>, Referee)> = vec![
        ("an empty file", Vec::new(), fail),
        ("a signature then a public key packet", [good.clone(), dearmored("primary.pub")].concat(), fail),
        ("a marker packet then a signature", [&b"\xca\x03PGP"[..], &good].concat(), pass),
        ("a signature then a truncated one", [&good[..], &good[..40]].concat(), fail),
        ("a signature then one stray byte", [&good[..], b"\xc2"].concat(), fail),
        ("a damaged armor checksum", text.replace(crc_line, other_crc).into_bytes(), fail),
        (
            "no empty line after the BEGIN line",
            text.replacen("-----BEGIN PGP SIGNATURE-----\n\n", "-----BEGIN PGP SIGNATURE-----\n", 1)
                .into_bytes(),
            fail,
        ),
        ("CRLF line endings", text.replace('\n', "\r\n").into_bytes(), pass),
        (
            "an armor header",
            text.replacen("-----\n\n", "-----\nComment: made by gpg\n\n", 1).into_bytes(),
            pass,
        ),
        ("no armor checksum", text.replace(&format!("{crc_line}\n"), "").into_bytes(), pass),
        ("text after the END line", with_trailing, Referee::Stricter("line 8, column 1: text outside")),
        ("text before the BEGIN line", with_leading, Referee::Stricter("line 1, column 1: text outside")),
        (
            "a PGP MESSAGE block",
            text.replace("PGP SIGNATURE", "PGP MESSAGE").into_bytes(),
            Referee::Stricter("only signature blocks are read"),
        ),
        (
            "no END line",
            text.replace("-----END PGP SIGNATURE-----\n", "").into_bytes(),
            Referee::Stricter("the file ends inside the armor"),
        ),
    ];
    for (name, bytes, referee) in structural {
        cases.push(Case { name: name.to_owned(), bytes, keys: primary_only, referee });
    }
    cases
}

/// The binary packets of an armored test-data file, via gpg --dearmor.
fn dearmored(name: &str) -> Vec<u8> {
    let out = Command::new("gpg")
        .args(["--batch", "--no-tty", "--dearmor"])
        .stdin(std::fs::File::open(data_dir().join(name)).expect("open the key file"))
        .output()
        .expect("run gpg --dearmor");
    assert!(out.status.success(), "gpg --dearmor {name}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn several_signatures_and_odd_files_are_judged_as_gpg_judges_them() {
    require_gpg();
    let now = Timestamp::now();
    let data = read("data.txt");
    let mut disagreements = Vec::new();
    for Case { name: case, bytes, keys: pubkeys, referee } in several_signature_cases() {
        let item = signature::verify(
            Signed { data_path: "data.txt", data: &data, signature_path: "sums.asc", signature: &bytes },
            &keys(pubkeys),
            now,
        );
        let ours = item.status == Status::Pass;
        let gpg = gpg_passes(pubkeys, &bytes);
        let agreed = match referee {
            Referee::Agrees { gpg_passes } => gpg == gpg_passes && ours == gpg,
            Referee::Stricter(words) => gpg && !ours && item.reason.contains(words),
        };
        if !agreed {
            disagreements.push(format!(
                "{case}: expected {referee:?}; gpg passes: {gpg}, release-check passes: {ours}: {item:#?}"
            ));
        }
        if !ours {
            assert!(item.status != Status::Pass && !item.reason.is_empty(), "{case}: {item:#?}");
        }
    }
    assert!(disagreements.is_empty(), "gpg and release-check disagree:\n{}", disagreements.join("\n\n"));
}

#[test]
fn a_bad_signature_among_good_ones_is_named_in_words() {
    let bytes = armored(&[binary("rsa.asc"), bad_primary()].concat());
    let item = signature::verify(
        Signed {
            data_path: "data.txt",
            data: &read("data.txt"),
            signature_path: "sums.asc",
            signature: &bytes,
        },
        &keys(&["primary.pub", "rsa.pub"]),
        at(NOW),
    );
    expect(&item, "signature", Status::Fail, &["signature 2 of 2: BAD signature", "data.txt does not match"]);
    for internal in ["assertion", "left", "right", "Error", "{"] {
        assert!(!item.reason.contains(internal), "library internals in the reason: {:?}", item.reason);
    }
    assert!(fact(&item, "signing key").contains(&primary_fingerprint("primary")), "{item:#?}");
    assert!(has_fact(&item, "verifier detail"), "the library's words stay as evidence: {item:#?}");
    let first = fact(&item, "signature 1 of 2");
    assert!(first.starts_with("good signature") && first.contains("(pubkeys/rsa.pub)"), "{first}");
}

#[test]
fn a_signature_by_an_unknown_key_after_a_good_one_fails_and_names_the_key() {
    let fpr = primary_fingerprint("rsa");
    let bytes = [binary("primary.asc"), binary("rsa.asc")].concat();
    let item = signature::verify(
        Signed {
            data_path: "data.txt",
            data: &read("data.txt"),
            signature_path: "sums.sig",
            signature: &bytes,
        },
        &keys(&["primary.pub"]),
        at(NOW),
    );
    expect(
        &item,
        "signature",
        Status::Fail,
        &["signature 2 of 2", "not among the committed public keys", &fpr],
    );
}

#[test]
fn good_signatures_from_two_keys_pass_and_list_both() {
    let bytes = [read("primary.asc"), read("rsa.asc")].concat();
    let item = signature::verify(
        Signed {
            data_path: "data.txt",
            data: &read("data.txt"),
            signature_path: "sums.asc",
            signature: &bytes,
        },
        &keys(&["primary.pub", "rsa.pub"]),
        at(NOW),
    );
    expect(&item, "signature", Status::Pass, &["all 2 signatures are good"]);
    assert!(fact(&item, "signing key").contains("(pubkeys/primary.pub)"), "{item:#?}");
    assert!(fact(&item, "signature 2 of 2").contains("(pubkeys/rsa.pub)"), "{item:#?}");
}

#[test]
fn an_expired_key_among_good_signatures_stays_its_own_waivable_check_but_a_bad_one_wins() {
    let keys = keys(&["primary.pub", "expired-before.pub"]);
    let verify = |bytes: &[u8]| {
        signature::verify(
            Signed {
                data_path: "data.txt",
                data: &read("data.txt"),
                signature_path: "s.sig",
                signature: bytes,
            },
            &keys,
            at(NOW),
        )
    };
    let expired = verify(&[binary("primary.asc"), binary("expired-before.asc")].concat());
    expect(&expired, "signature-expired-key", Status::Fail, &["signature 2 of 2", "expired on 2025-06-01"]);
    let bad = verify(&[binary("expired-before.asc"), bad_primary()].concat());
    expect(&bad, "signature", Status::Fail, &["signature 2 of 2: BAD signature"]);
}

#[test]
fn armor_problems_are_located() {
    let keys = keys(&["primary.pub"]);
    let text = String::from_utf8(read("primary.asc")).expect("primary.asc is text");
    let verify = |bytes: &[u8]| {
        signature::verify(
            Signed {
                data_path: "data.txt",
                data: &read("data.txt"),
                signature_path: "s.asc",
                signature: bytes,
            },
            &keys,
            at(NOW),
        )
    };
    let cases: &[(String, &str)] = &[
        (text.replacen("iHUE", "iH!E", 1), "line 3, column 3: `!`: expected a base64 character"),
        (format!("{text}garbage\n"), "line 8, column 1: text outside the armored signature"),
        (text.replacen("\n\n", "\nnot a header\n\n", 1), "line 2, column 4: expected an armor header"),
        ("\n\n".to_owned(), "the file is empty"),
    ];
    for (bytes, words) in cases {
        let item = verify(bytes.as_bytes());
        expect(&item, "signature", Status::Fail, &["not a valid detached OpenPGP signature", words]);
    }
    let item = verify(&[read("primary.asc"), read("primary.pub")].concat());
    expect(&item, "signature", Status::Fail, &["line 8, column 1", "PGP PUBLIC KEY BLOCK"]);
    let item = verify(&[binary("primary.asc"), dearmored("primary.pub")].concat());
    expect(
        &item,
        "signature",
        Status::Fail,
        &["packet 2 (at byte 119) is a public key packet, not a signature"],
    );
}

// ---------------------------------------------------------------------------
// Through the wheels gate: a sums file whose signature file adds a bad
// signature to a good one makes the run NO-GO.

/// The run verdict and the non-passing items of a flat-layout repository:
/// `data.txt` as its sums file, signed by `signature`, `primary.pub`
/// committed, and each listed wheel an LFS pointer naming its listed hash.
fn gate_run(signature: &[u8]) -> (gate_core::Verdict, Vec<Item>) {
    use std::sync::Arc;

    use gate_core::{Context, Gate, RunOptions, runner};
    let repo = tempfile::tempdir().expect("temporary directory");
    let root = repo.path();
    let sums = read("data.txt");
    std::fs::write(root.join("sha256sums.txt"), &sums).expect("write the sums file");
    std::fs::write(root.join("sha256sums.txt.asc"), signature).expect("write the signature file");
    std::fs::create_dir(root.join("pubkeys")).expect("create pubkeys/");
    std::fs::write(root.join("pubkeys/primary.pub"), read("primary.pub")).expect("write the key");
    std::fs::create_dir(root.join("localwheels")).expect("create localwheels/");
    for line in String::from_utf8(sums).expect("data.txt is text").lines() {
        let (hash, name) = line.split_once("  ").expect("a sums line");
        let pointer = gate_wheels::lfs::Pointer { oid: hash.to_owned(), size: 1000 };
        std::fs::write(root.join("localwheels").join(name), pointer.to_string()).expect("write the pointer");
    }
    let gate: Arc<dyn Gate> = Arc::new(gate_wheels::WheelsGate::default());
    let report = runner::run(&[gate], &Context::new(root), &RunOptions::default(), "repo".into());
    let failing =
        report.gates.into_iter().flat_map(|g| g.items).filter(|i| i.status != Status::Pass).collect();
    (report.verdict, failing)
}

#[test]
fn the_gate_says_no_go_when_a_bad_signature_follows_a_good_one() {
    let (verdict, failing) = gate_run(&read("primary.asc"));
    assert_eq!(verdict, gate_core::Verdict::Go, "the good signature alone passes: {failing:#?}");
    let (verdict, failing) = gate_run(&armored(&[binary("primary.asc"), bad_primary()].concat()));
    assert_eq!(verdict, gate_core::Verdict::NoGo);
    let [item] = &failing[..] else { panic!("only the signature fails: {failing:#?}") };
    expect(item, "signature", Status::Fail, &["signature 2 of 2: BAD signature"]);
    assert_eq!(item.subject, "sha256sums.txt.asc");
}

//! Detached OpenPGP signatures over sums files, verified with rPGP (pure
//! Rust) against the repository's committed public keys only: no user
//! keyring, no agent, no network.
//!
//! A signature is judged like `gpg --verify` judges it (GOODSIG, BADSIG,
//! EXPSIG, EXPKEYSIG, REVKEYSIG, NO_PUBKEY), with the dates that matter
//! said out loud: when it was made, when the signing key expires, and the
//! moment the release is judged at.

use std::path::Path;

use gate_core::{Evidence, Item, Location, Status};
use jiff::Timestamp;
use pgp::composed::{Deserializable, SignedPublicKey, SignedSecretKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag};

use crate::Check;

mod packets;

use packets::{one_line, read_signatures};

/// Largest key or signature file read.
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// A public key loaded from a committed key file.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// The file it came from, relative to the repository.
    pub file: String,
    /// The certificate.
    pub key: SignedPublicKey,
}

/// Loads every key file of `dir` (relative to `repo`). Files that are not
/// public keys become failing `pubkey` items; a private key is refused.
pub fn load_keys(repo: &Path, dir: &str) -> (Vec<PublicKey>, Vec<Item>) {
    let mut keys = Vec::new();
    let mut items = Vec::new();
    let mut files: Vec<_> = match std::fs::read_dir(repo.join(dir)) {
        Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) => {
            items.push(Check::Pubkey.error(dir, format!("cannot list the key directory: {e}")));
            return (keys, items);
        }
    };
    files.sort();
    for name in files.into_iter().filter(|n| !n.starts_with('.')) {
        let file = format!("{dir}/{name}");
        match load_key_file(&repo.join(&file)) {
            Ok(loaded) => keys.extend(loaded.into_iter().map(|key| PublicKey { file: file.clone(), key })),
            Err((reason, detail)) => {
                let item = Check::Pubkey.fail(&file, reason);
                let item = match detail {
                    Some(detail) => item.with(Evidence::fact("parser detail", detail)),
                    None => item,
                };
                items.push(item.at(Location::file(&file)));
            }
        }
    }
    (keys, items)
}

/// The keys of one key file, or why it is refused: a sentence, and rPGP's
/// own words (kept as evidence) when it said more.
fn load_key_file(path: &Path) -> Result<Vec<SignedPublicKey>, (String, Option<String>)> {
    let bytes =
        gate_core::files::read_bounded(path, MAX_KEY_FILE_BYTES).map_err(|e| (e.to_string(), None))?;
    if SignedSecretKey::from_reader_single(&bytes[..]).is_ok()
        || bytes.windows(27).any(|w| w == b"BEGIN PGP PRIVATE KEY BLOCK")
    {
        let reason = "this is a PRIVATE key: refusing to use it; commit only public keys (and revoke this one if it was ever pushed)";
        return Err((reason.into(), None));
    }
    let not_a_key = |e: pgp::errors::Error| {
        let reason = "not an OpenPGP public key: it does not read as a certificate (`gpg --export --armor` writes one)";
        (reason.to_owned(), Some(one_line(e)))
    };
    let (keys, _) = SignedPublicKey::from_reader_many(&bytes[..]).map_err(not_a_key)?;
    let keys: Vec<SignedPublicKey> = keys.collect::<Result<_, _>>().map_err(not_a_key)?;
    if keys.is_empty() {
        return Err(("no OpenPGP public key in this file".into(), None));
    }
    Ok(keys)
}

/// What is verified: a sums file and its detached signature.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The signed file's path, for messages.
    pub data_path: &'a str,
    /// The signed bytes.
    pub data: &'a [u8],
    /// The signature file's path, the item's subject.
    pub signature_path: &'a str,
    /// The signature file's bytes.
    pub signature: &'a [u8],
}

/// Verifies `signed` against `keys` as of `now`, as one item of check
/// `signature`, or `signature-expired-key` for a good signature whose key
/// has since expired (so a waiver can accept exactly that case).
///
/// Like `gpg --verify`, every signature packet of the file is judged and
/// the file passes only when each one does: one bad signature, or one by a
/// key not committed, fails the file however many good ones it holds.
pub fn verify(signed: Signed<'_>, keys: &[PublicKey], now: Timestamp) -> Item {
    let subject = signed.signature_path;
    let found = match read_signatures(signed.signature) {
        Ok(found) => found,
        Err(problem) => return problem.item(subject),
    };
    let total = found.len();
    let items: Vec<Item> = found
        .iter()
        .map(|f| {
            let at = match f.line {
                Some(line) => Location::at(subject, line, 1),
                None => Location::file(subject),
            };
            verify_one(&f.signature, signed, keys, now).at(at)
        })
        .collect();
    combine(items, total)
}

/// One item for the whole file from the items of its `total` signatures:
/// the first that does not pass (a `signature` failure before an expired
/// key, which a waiver may excuse), else the first; the others are listed
/// as facts.
fn combine(mut items: Vec<Item>, total: usize) -> Item {
    if total == 1 {
        return items.remove(0);
    }
    let failing = |check: Option<&str>| {
        items.iter().position(|i| i.status != Status::Pass && check.is_none_or(|c| i.check == c))
    };
    let chosen = failing(Some(Check::Signature.id())).or_else(|| failing(None));
    let summaries: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != chosen)
        .map(|(i, item)| {
            let key = item.evidence.iter().find_map(|e| match e {
                Evidence::Fact { label, value } if label == "signing key" => Some(value.as_str()),
                _ => None,
            });
            let summary = match key {
                Some(key) => format!("{}, by {key}", item.reason),
                None => item.reason.clone(),
            };
            (i, summary)
        })
        .collect();
    let mut item = match chosen {
        Some(i) => {
            let mut item = items.swap_remove(i);
            item.reason = format!("signature {} of {total}: {}", i + 1, item.reason);
            item
        }
        None => {
            let mut item = items.swap_remove(0);
            item.reason = format!("all {total} signatures are good; the first: {}", item.reason);
            item
        }
    };
    for (i, summary) in summaries {
        item = item.with(Evidence::fact(format!("signature {} of {total}", i + 1), summary));
    }
    item
}

/// Judges one signature packet over `signed.data`; the caller adds where
/// the packet is.
fn verify_one(signature: &Signature, signed: Signed<'_>, keys: &[PublicKey], now: Timestamp) -> Item {
    let subject = signed.signature_path;
    if signature.config().is_none() {
        return Check::Signature.error(
            subject,
            format!("cannot verify: unsupported signature version {:?}", signature.version()),
        );
    }
    if !matches!(signature.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return Check::Signature.fail(
            subject,
            format!(
                "a signature of type {}, which certifies keys, not a signature over {}; sign the file with `gpg --detach-sign`",
                signature.typ().map_or_else(|| "unknown".to_owned(), |t| format!("{t:?}")),
                signed.data_path
            ),
        );
    }
    let Some(created) = signature.created() else {
        return Check::Signature.fail(subject, "signature has no creation time");
    };
    let made = to_timestamp(created);
    let signature_expires = expiry_of(created, Some(signature), Signature::signature_expiration_time);
    let issuers: Vec<String> = signature
        .issuer_fingerprint()
        .iter()
        .map(|f| hex_upper(f.as_bytes()))
        .chain(signature.issuer_key_id().iter().map(|k| hex_upper(k.as_ref())))
        .collect();
    let evidence = [
        Evidence::fact("signature made", made.to_string()),
        Evidence::fact("digest", digest_name(signature.hash_alg())),
        Evidence::fact("judged at", now.to_string()),
    ];
    let Some(signer) = find_signer(signature, keys) else {
        let issuers = if issuers.is_empty() { "an unnamed key".to_owned() } else { issuers.join(" / ") };
        return with_all(
            Check::Signature.fail(
                subject,
                format!("signed by key {issuers}, which is not among the committed public keys"),
            ),
            evidence,
        );
    };
    let item = match signer.verify_data(signature, signed.data) {
        Err(VerifyError::Bad(e)) => Check::Signature.fail(
            subject,
            format!(
                "BAD signature: {} does not match what was signed (it was changed after signing, or the signature is for another file)",
                signed.data_path
            ),
        )
        .with(Evidence::fact("verifier detail", one_line(e))),
        Err(VerifyError::Unsupported(e)) => Check::Signature.error(
            subject,
            format!(
                "cannot verify: the signature uses an unsupported algorithm or format (digest {})",
                digest_name(signature.hash_alg())
            ),
        )
        .with(Evidence::fact("verifier detail", one_line(e))),
        Ok(()) => judge_validity(&signer, made, signature_expires, now, subject),
    };
    let item = with_all(item, evidence).with(Evidence::fact("signing key", signer.describe()));
    match signature_expires {
        Some(expires) => item.with(Evidence::fact("signature expires", expires.to_string())),
        None => item,
    }
}

fn with_all(item: Item, evidence: impl IntoIterator<Item = Evidence>) -> Item {
    evidence.into_iter().fold(item, Item::with)
}

/// Applies revocation and expiry (the key's and the signature's own) to a
/// cryptographically good signature.
fn judge_validity(
    signer: &Signer<'_>,
    made: Timestamp,
    signature_expires: Option<Timestamp>,
    now: Timestamp,
    subject: &str,
) -> Item {
    if let Some(revoked) = signer.revoked() {
        return Check::Signature
            .fail(subject, format!("good signature, but the signing key was revoked on {revoked}"));
    }
    if !signer.may_sign() {
        return Check::Signature.fail(subject, "good signature, but the key's flags do not allow signing");
    }
    if made > now {
        return Check::Signature.fail(
            subject,
            format!(
                "signature made on {made}, after the moment judged ({now}): it cannot vouch for the release then"
            ),
        );
    }
    let key_expires = signer.expires();
    if let Some(expiry) = key_expires.filter(|expiry| made > *expiry) {
        return Check::Signature
            .fail(subject, format!("signature made on {made}, after its key expired on {expiry}"));
    }
    // Like gpg's EXPSIG: expired from its expiration second on.
    if let Some(expired) = signature_expires.filter(|expires| now >= *expires) {
        return Check::Signature.fail(
            subject,
            format!(
                "signature expired on {expired} (made on {made}, judged at {now}): its signer limited how long it is valid; sign the file again"
            ),
        );
    }
    match key_expires {
        Some(expiry) if now > expiry => Check::SignatureExpiredKey.fail(
            subject,
            format!("good signature made on {made}, but its key expired on {expiry} (judged at {now}); renew the key and re-sign, or waive this item"),
        )
        .with(Evidence::fact("key expired", expiry.to_string())),
        Some(expiry) => Check::Signature.pass(subject, format!("good signature; key valid until {expiry}"))
            .with(Evidence::fact("key expires", expiry.to_string())),
        None => Check::Signature.pass(subject, "good signature; key does not expire"),
    }
}

/// The key (primary or subkey) that made a signature, with its certificate.
struct Signer<'a> {
    cert: &'a PublicKey,
    /// `None`: the primary key signed.
    subkey: Option<usize>,
}

enum VerifyError {
    Bad(pgp::errors::Error),
    Unsupported(pgp::errors::Error),
}

fn find_signer<'a>(signature: &Signature, keys: &'a [PublicKey]) -> Option<Signer<'a>> {
    let fingerprints: Vec<Vec<u8>> =
        signature.issuer_fingerprint().iter().map(|f| f.as_bytes().to_vec()).collect();
    let key_ids: Vec<Vec<u8>> = signature.issuer_key_id().iter().map(|k| k.as_ref().to_vec()).collect();
    let matches = |key: &dyn KeyDetailsDyn| {
        fingerprints.contains(&key.fingerprint_bytes()) || key_ids.contains(&key.key_id_bytes())
    };
    keys.iter().find_map(|cert| {
        if matches(&cert.key.primary_key) {
            return Some(Signer { cert, subkey: None });
        }
        cert.key.public_subkeys.iter().position(|s| matches(&s.key)).map(|i| Signer { cert, subkey: Some(i) })
    })
}

/// Fingerprint and key id bytes of a primary key or subkey.
trait KeyDetailsDyn {
    fn fingerprint_bytes(&self) -> Vec<u8>;
    fn key_id_bytes(&self) -> Vec<u8>;
}

impl<K: KeyDetails> KeyDetailsDyn for K {
    fn fingerprint_bytes(&self) -> Vec<u8> {
        self.fingerprint().as_bytes().to_vec()
    }
    fn key_id_bytes(&self) -> Vec<u8> {
        self.legacy_key_id().as_ref().to_vec()
    }
}

impl Signer<'_> {
    fn primary(&self) -> &pgp::packet::PublicKey {
        &self.cert.key.primary_key
    }

    fn verify_data(&self, signature: &Signature, data: &[u8]) -> Result<(), VerifyError> {
        let result = match self.subkey {
            None => signature.verify(self.primary(), data),
            Some(i) => signature.verify(&self.cert.key.public_subkeys[i].key, data),
        };
        result.map_err(|e| match e {
            pgp::errors::Error::Unsupported { .. } | pgp::errors::Error::Unimplemented { .. } => {
                VerifyError::Unsupported(e)
            }
            e => VerifyError::Bad(e),
        })
    }

    /// "SUBKEY (subkey of PRIMARY "User <id>", pubkeys/x.pub)".
    fn describe(&self) -> String {
        let user = self
            .cert
            .key
            .details
            .users
            .iter()
            .find(|u| u.is_primary())
            .or(self.cert.key.details.users.first())
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .unwrap_or_default();
        let primary = hex_upper(self.primary().fingerprint().as_bytes());
        match self.subkey {
            None => format!("{primary} \"{user}\" ({})", self.cert.file),
            Some(i) => format!(
                "subkey {} of {primary} \"{user}\" ({})",
                hex_upper(self.cert.key.public_subkeys[i].key.fingerprint().as_bytes()),
                self.cert.file
            ),
        }
    }

    /// Self-signatures over the primary key that verify: user id
    /// certifications and direct-key signatures.
    fn primary_self_signatures(&self) -> Vec<&Signature> {
        let primary = self.primary();
        let details = &self.cert.key.details;
        let certifications = details.users.iter().flat_map(|user| {
            user.signatures
                .iter()
                .filter(move |s| s.verify_certification(primary, Tag::UserId, &user.id).is_ok())
        });
        let direct = details.direct_signatures.iter().filter(|s| s.verify_key(primary).is_ok());
        certifications.chain(direct).collect()
    }

    /// Binding signatures of the signing subkey that verify.
    fn subkey_bindings(&self, i: usize) -> Vec<&Signature> {
        let subkey = &self.cert.key.public_subkeys[i];
        subkey
            .signatures
            .iter()
            .filter(|s| {
                s.typ() == Some(SignatureType::SubkeyBinding)
                    && s.verify_subkey_binding(self.primary(), &subkey.key).is_ok()
            })
            .collect()
    }

    /// When the signing key stops being valid: the earlier of the primary
    /// key's and (for a subkey) the subkey's expiry, each from its newest
    /// valid self-signature, as gpg computes it.
    fn expires(&self) -> Option<Timestamp> {
        let primary = expiry_of(
            self.primary().created_at(),
            newest(self.primary_self_signatures()),
            Signature::key_expiration_time,
        );
        let subkey = self.subkey.and_then(|i| {
            expiry_of(
                self.cert.key.public_subkeys[i].key.created_at(),
                newest(self.subkey_bindings(i)),
                Signature::key_expiration_time,
            )
        });
        match (primary, subkey) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the newest binding (subkey) or self-signature (primary)
    /// allows signing. Keys whose self-signatures carry no flags are allowed.
    fn may_sign(&self) -> bool {
        let binding = match self.subkey {
            Some(i) => newest(self.subkey_bindings(i)),
            None => newest(self.primary_self_signatures()),
        };
        binding.is_none_or(|s| {
            let flags = s.key_flags();
            flags.sign() || !(flags.certify() || flags.encrypt_comms() || flags.encrypt_storage())
        })
    }

    /// The date of a valid revocation of the primary key or the signing subkey.
    fn revoked(&self) -> Option<Timestamp> {
        let primary = self.primary();
        let key_revocation =
            self.cert.key.details.revocation_signatures.iter().find(|s| s.verify_key(primary).is_ok());
        let subkey_revocation = self.subkey.and_then(|i| {
            let subkey = &self.cert.key.public_subkeys[i];
            subkey.signatures.iter().find(|s| {
                s.typ() == Some(SignatureType::SubkeyRevocation)
                    && s.verify_subkey_binding(primary, &subkey.key).is_ok()
            })
        });
        key_revocation.or(subkey_revocation).and_then(|s| s.created()).map(to_timestamp)
    }
}

fn newest(signatures: Vec<&Signature>) -> Option<&Signature> {
    signatures.into_iter().max_by_key(|s| s.created().map(|t| t.as_secs()))
}

/// `created` plus a lifetime from `signature` (0 or absent: never): the key
/// expiration time of a self-signature, or a signature's own expiration time.
fn expiry_of(
    created: pgp::types::Timestamp,
    signature: Option<&Signature>,
    lifetime: impl Fn(&Signature) -> Option<pgp::types::Duration>,
) -> Option<Timestamp> {
    let lifetime = lifetime(signature?)?.as_secs();
    (lifetime > 0)
        .then(|| to_timestamp(pgp::types::Timestamp::from_secs(created.as_secs().saturating_add(lifetime))))
}

fn to_timestamp(t: pgp::types::Timestamp) -> Timestamp {
    Timestamp::from_second(i64::from(t.as_secs())).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `SHA-256` for rPGP's `Sha256`.
fn digest_name(algorithm: Option<pgp::crypto::hash::HashAlgorithm>) -> String {
    algorithm
        .map_or_else(|| "unknown".to_owned(), |a| format!("{a:?}").to_uppercase().replacen("SHA", "SHA-", 1))
}

fn hex_upper(bytes: &[u8]) -> String {
    gate_core::digest::hex(bytes).to_ascii_uppercase()
}

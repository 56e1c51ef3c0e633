#!/usr/bin/env bash
# Regenerates the OpenPGP test data of gate-wheels/tests/signature.rs: small
# throw-away keys, detached signatures over a tiny sums file, and damaged
# variants of them. See README.md for what each file is.
#
# Needs gpg (GnuPG 2.2 or later) and python3. Works from any directory and
# writes only into the directory this script lives in; every key is made in
# a temporary GNUPGHOME that is deleted at the end.
#
# Reproducibility: every timestamp (key creation, expiry, signature and
# revocation times) is fixed with --faked-system-time, so the dates the tests
# assert hold on every run. The key material itself is random (gpg cannot be
# seeded), so a re-run produces new keys, new signatures and new
# fingerprints; the tests read the fingerprints from fingerprints.txt, which
# this script writes, instead of hard-coding them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

GNUPGHOME=$(mktemp -d)
export GNUPGHOME
cleanup() {
    gpgconf --kill gpg-agent >/dev/null 2>&1 || true
    rm -rf "$GNUPGHOME"
}
trap cleanup EXIT

# at TIME ARGS...: runs gpg with the clock frozen at TIME (UTC, YYYYMMDDTHHMMSS).
at() {
    local time=$1
    shift
    gpg --batch --no-tty --quiet --no-auto-check-trustdb --pinentry-mode loopback --passphrase '' \
        --faked-system-time "${time}!" "$@" 2> >(grep -v 'running with faked system time' >&2)
}

# Fingerprint of the primary key whose user id contains $1.
primary_fpr() {
    gpg --batch --quiet --no-auto-check-trustdb --with-colons --list-keys "$1" | awk -F: '/^fpr:/ { print $10; exit }'
}

# Fingerprint of the (first) subkey of the key whose user id contains $1.
subkey_fpr() {
    gpg --batch --quiet --no-auto-check-trustdb --with-colons --list-keys "$1" | awk -F: '/^sub:/ { sub_seen = 1 } sub_seen && /^fpr:/ { print $10; exit }'
}

# new_key NAME ALGO USAGE EXPIRY: a fresh key made on 2025-01-01, printing its
# fingerprint. EXPIRY is an ISO time (exact, UTC): gpg reads a bare date such
# as 2030-01-01 as noon of that day.
new_key() {
    at 20250101T000000 --quick-gen-key "$1 (release-check test key) <$1@example.invalid>" "$2" "$3" "$4" >&2
    primary_fpr "<$1@example.invalid>"
}

# sign TIME SIGNER OUT: a detached signature over data.txt made at TIME by
# exactly the key or subkey SIGNER (the `!` stops gpg from choosing another).
sign() {
    at "$1" --armor --detach-sign --local-user "$2!" --output "$3" data.txt
}

rm -f ./*.pub ./*.asc ./*.sig ./*.key data.txt data-tampered.txt fingerprints.txt

# A tiny sums file, and a copy with exactly one byte changed (1.0 -> 1.1).
printf '%s  %s\n' \
    8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8 alpha-1.0-py3-none-any.whl \
    f44e64e75f3948e9f73f8dfa94721c4ce8cbb4f265c4790c702b2d41cfbf2753 beta-2.0-py3-none-any.whl \
    be9d587defa1f0c09ef49eb17e206983a5f8f8289e4281860bd0ee5a19592c67 gamma-3.0-py3-none-any.whl \
    >data.txt
sed 's/alpha-1\.0-/alpha-1.1-/' data.txt >data-tampered.txt
[ "$(cmp -l data.txt data-tampered.txt | wc -l)" -eq 1 ]

# primary: the primary key signs; expires 2030-01-01.
primary=$(new_key primary ed25519 sign 20300101T000000)
gpg --batch --armor --export "$primary" >primary.pub
sign 20250201T120000 "$primary" primary.asc
# expired-signature.asc: by the same key, but the signature itself carries an
# expiration time (2025-03-01); gpg says EXPSIG once it has passed.
at 20250201T120000 --default-sig-expire 20250301T000000 --armor --detach-sign \
    --local-user "$primary!" --output expired-signature.asc data.txt

# subkey: a certify-only primary key with a signing subkey; the subkey signs.
subkey_primary=$(new_key subkey ed25519 cert 20300101T000000)
at 20250101T000000 --quick-add-key "$subkey_primary" ed25519 sign 20300101T000000
subkey=$(subkey_fpr "<subkey@example.invalid>")
gpg --batch --armor --export "$subkey_primary" >subkey.pub
sign 20250201T120000 "$subkey" subkey.asc

# revoked: the key signs, then its revocation certificate (the one gpg wrote
# when it made the key, so dated 2025-01-01) is imported. gpg prefixes the
# certificate's armor line with ':' so it is not imported by accident.
revoked=$(new_key revoked ed25519 sign 20300101T000000)
sign 20250201T120000 "$revoked" revoked.asc
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$revoked.rev" | at 20250301T000000 --import
gpg --batch --armor --export "$revoked" >revoked.pub

# expired-before: expires 2025-06-01, signed 2025-03-01 (good when made).
expired=$(new_key expired-before ed25519 sign 20250601T000000)
gpg --batch --armor --export "$expired" >expired-before.pub
sign 20250301T000000 "$expired" expired-before.asc

# signed-after-expiry: a signature made after the key expired. gpg refuses
# to sign with a key that is expired at the (faked) signing time ("skipped:
# Unusable secret key"), so the key is made valid until 2030, signs on
# 2025-07-01, and only then gets a new self-signature, dated 2025-02-01 (so
# it is the newest one, and older than the signature), that sets the expiry
# to 2025-06-01. gpg replaces the old self-signature with the new one.
late=$(new_key signed-after-expiry ed25519 sign 20300101T000000)
sign 20250701T000000 "$late" signed-after-expiry.asc
at 20250201T000000 --quick-set-expire "$late" 20250601T000000
gpg --batch --armor --export "$late" >signed-after-expiry.pub

# rsa: RSA-2048, signing with SHA-512.
rsa=$(new_key rsa rsa2048 sign 20300101T000000)
gpg --batch --armor --export "$rsa" >rsa.pub
at 20250201T120000 --armor --detach-sign --digest-algo SHA512 --local-user "$rsa!" --output rsa.asc data.txt

# unsupported.sig: primary.asc, binary, with the hash algorithm octet set to
# 110 (a private/experimental id no implementation can verify). Binary,
# because `gpg --enarmor` writes an "ARMORED FILE" block, not a signature.
gpg --batch --dearmor <primary.asc | python3 -c '
import sys
sig = bytearray(sys.stdin.buffer.read())
tag = sig[0]
assert tag & 0x80, "not an OpenPGP packet"
if tag & 0x40:  # new format: tag 2, one-octet length (a signature is short)
    assert tag & 0x3F == 2 and sig[1] < 192, "unexpected packet header"
    body = 2
else:  # old format: tag 2, length type 0/1/2 -> 1/2/4 length octets
    assert (tag >> 2) & 0x0F == 2 and tag & 3 < 3, "unexpected packet header"
    body = 1 + (1, 2, 4)[tag & 3]
version, sig_type, pubkey_alg, hash_alg = sig[body:body + 4]
assert version == 4 and sig_type == 0x00, "not a v4 binary-document signature"
sig[body + 3] = 110
sys.stdout.buffer.write(sig)
' >unsupported.sig

# truncated.asc: the first half of primary.asc; not-a-signature.asc: a public key.
head -c "$(($(wc -c <primary.asc) / 2))" primary.asc >truncated.asc
cp primary.pub not-a-signature.asc

# secret.key: the armoured SECRET key of a throw-away key, TEST ONLY, to
# check that a private key committed among the public keys is refused.
throwaway=$(new_key throwaway-secret ed25519 sign 20300101T000000)
at 20250101T000000 --armor --export-secret-keys "$throwaway" >secret.key

{
    echo "# Fingerprints of the keys made by make.sh, read by tests/signature.rs."
    echo "# name primary-fingerprint [signing-subkey-fingerprint]"
    echo "primary $primary"
    echo "subkey $subkey_primary $subkey"
    echo "revoked $revoked"
    echo "expired-before $expired"
    echo "signed-after-expiry $late"
    echo "rsa $rsa"
    echo "throwaway-secret $throwaway"
} >fingerprints.txt

for f in ./*; do
    size=$(wc -c <"$f")
    [ "$size" -lt 10240 ] || { echo "$f is $size bytes, larger than 10 KB" >&2; exit 1; }
done
echo "make.sh: wrote $(find . -maxdepth 1 -type f ! -name make.sh ! -name README.md | wc -l) files"

#!/usr/bin/env bash
# Installs release-check for the GitHub Action in action.yml (and works
# anywhere with bash, curl and tar).
#
#   install.sh target    print the release target of this machine, or
#                        nothing when no prebuilt binary fits it
#   install.sh install   install release-check (the default)
#
# Installing takes the prebuilt archive of this action's own version for
# the machine's OS and architecture from the release, and verifies it
# against the release's sha256sums.txt before anything in it runs: a
# missing or different sum is refused (exit 1), never worked around. When
# no prebuilt binary fits the machine, or the release cannot be reached, it
# builds the same version from the action's own source with
# `cargo install --locked` (a binary already built there, restored from
# the cache, is reused).
#
# Environment (all optional except as noted):
#   RC_SOURCE        the action's checkout (default: this script's parent)
#   RC_VERSION       the version to install (default: the workspace
#                    version in RC_SOURCE/Cargo.toml)
#   RC_DOWNLOAD_URL  where releases are, without the tag: the archive is
#                    RC_DOWNLOAD_URL/v<version>/<archive>. Only https://,
#                    or http:// to 127.0.0.1 or localhost (tests). Default:
#                    the releases of RC_ACTION_REPOSITORY (owner/name), else
#                    of the repository the action was checked out from
#                    (.../_actions/<owner>/<name>/<ref>), else of the
#                    `repository` in RC_SOURCE/Cargo.toml when on GitHub
#   GITHUB_SERVER_URL  the GitHub server (default: https://github.com)
#   RC_ROOT          the install root: the binary goes to RC_ROOT/bin
#   RC_CARGO         the cargo command of the fallback (default: cargo)
#   RUNNER_OS, RUNNER_ARCH   the platform as GitHub Actions names it
#                    (default: from uname)
#   GITHUB_OUTPUT, GITHUB_PATH   set by Actions: outputs (`path`, `bin`,
#                    `method`, `version`, `target`) and the PATH addition
set -euo pipefail

say() { printf 'release-check install: %s\n' "$*" >&2; }
# An error GitHub Actions shows as an annotation, then exit 1.
refuse() {
    printf '::error title=release-check install::%s\n' "$*" >&2
    exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="${RC_SOURCE:-$(dirname "$here")}"

# The version in [workspace.package] of the root Cargo.toml.
workspace_version() {
    awk '
        /^\[/ { in_package = ($0 == "[workspace.package]") }
        in_package && /^version[ \t]*=/ {
            sub(/^version[ \t]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit
        }
    ' "$source_dir/Cargo.toml"
}

# The OS and architecture as GitHub Actions names them (Linux, macOS,
# Windows; X64, ARM64), from RUNNER_OS and RUNNER_ARCH or uname.
runner_os() {
    if [ -n "${RUNNER_OS:-}" ]; then
        echo "$RUNNER_OS"
        return
    fi
    case "$(uname -s)" in
        Linux) echo Linux ;;
        Darwin) echo macOS ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT) echo Windows ;;
        *) uname -s ;;
    esac
}

runner_arch() {
    if [ -n "${RUNNER_ARCH:-}" ]; then
        echo "$RUNNER_ARCH"
        return
    fi
    case "$(uname -m)" in
        x86_64 | amd64 | AMD64) echo X64 ;;
        aarch64 | arm64 | ARM64) echo ARM64 ;;
        *) uname -m ;;
    esac
}

# The Rust target triple of the prebuilt archive for this machine, or
# nothing. Linux binaries are static (musl), so any distribution fits.
release_target() {
    case "$(runner_os)/$(runner_arch)" in
        Linux/X64) echo x86_64-unknown-linux-musl ;;
        Linux/ARM64) echo aarch64-unknown-linux-musl ;;
        macOS/X64) echo x86_64-apple-darwin ;;
        macOS/ARM64) echo aarch64-apple-darwin ;;
        Windows/X64) echo x86_64-pc-windows-msvc ;;
        *) ;;
    esac
}

exe_suffix() {
    case "$(runner_os)" in Windows) echo .exe ;; *) ;; esac
}

archive_name() {
    case "$2" in
        *-windows-*) echo "release-check-v$1-$2.zip" ;;
        *) echo "release-check-v$1-$2.tar.gz" ;;
    esac
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{ print $1 }'
    else
        openssl dgst -sha256 -r "$1" | awk '{ print $1 }'
    fi
}

# The sum sha256sums.txt gives for $2 (text or binary marker), exactly one.
listed_sum() {
    awk -v name="$2" '
        { sub(/\r$/, "") }
        NF == 2 && ($2 == name || $2 == "*" name) { print tolower($1); found++ }
        END { if (found != 1) exit 1 }
    ' "$1"
}

# The default of RC_DOWNLOAD_URL, or nothing.
default_download_url() {
    local server="${GITHUB_SERVER_URL:-https://github.com}" repository="${RC_ACTION_REPOSITORY:-}" rest
    if [ -z "$repository" ]; then
        # Actions checks an action out to <tool dir>/_actions/<owner>/<name>/<ref>.
        case "$source_dir" in
            */_actions/*/*/*)
                rest="${source_dir##*/_actions/}"
                repository="${rest%/*}"
                ;;
        esac
    fi
    case "$repository" in
        */*/* | /* | */ | "") ;;
        */*)
            echo "${server%/}/$repository/releases/download"
            return
            ;;
    esac
    repository="$(awk '
        /^\[/ { in_package = ($0 == "[workspace.package]") }
        in_package && /^repository[ \t]*=/ { sub(/^repository[ \t]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit }
    ' "$source_dir/Cargo.toml")"
    case "$repository" in
        https://github.com/*/*) echo "${repository%/}/releases/download" ;;
        *) ;;
    esac
}

check_url() {
    case "$1" in
        https://*) ;;
        http://127.0.0.1[:/]* | http://localhost[:/]*) ;;
        *) refuse "RC_DOWNLOAD_URL must be an https:// URL, found: $1" ;;
    esac
}

fetch() {
    curl --fail --location --silent --show-error --retry 3 --connect-timeout 20 --max-time 300 \
        --output "$2" "$1"
}

output() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
    fi
}

work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

# Downloads, verifies and unpacks the archive into $root/bin. Returns 2
# when the release cannot be reached (the caller falls back to building);
# refuses (exit 1) whatever does not match its published sum.
download() {
    local version="$1" target="$2" root="$3" base="$4"
    local archive url expected actual suffix unpacked
    archive="$(archive_name "$version" "$target")"
    suffix="$(exe_suffix)"
    url="${base%/}/v$version"
    work="$(mktemp -d)"
    if ! fetch "$url/sha256sums.txt" "$work/sha256sums.txt"; then
        say "cannot download $url/sha256sums.txt"
        return 2
    fi
    if ! expected="$(listed_sum "$work/sha256sums.txt" "$archive")"; then
        refuse "$archive is not listed exactly once in $url/sha256sums.txt: refusing to install it"
    fi
    case "$expected" in
        [0-9a-f]*) [ "${#expected}" -eq 64 ] || refuse "the sum of $archive in sha256sums.txt is not a SHA-256: $expected" ;;
        *) refuse "the sum of $archive in sha256sums.txt is not a SHA-256: $expected" ;;
    esac
    if ! fetch "$url/$archive" "$work/$archive"; then
        say "cannot download $url/$archive"
        return 2
    fi
    actual="$(sha256_of "$work/$archive")"
    if [ "$actual" != "$expected" ]; then
        refuse "$archive has SHA-256 $actual, but sha256sums.txt lists $expected: refusing to install it"
    fi
    say "$archive matches sha256sums.txt ($actual)"
    mkdir -p "$work/unpacked"
    case "$archive" in
        *.zip)
            if command -v unzip >/dev/null 2>&1; then
                unzip -q "$work/$archive" -d "$work/unpacked" || refuse "cannot unpack $archive"
            else
                tar -xf "$work/$archive" -C "$work/unpacked" || refuse "cannot unpack $archive"
            fi
            ;;
        *) tar -xzf "$work/$archive" -C "$work/unpacked" || refuse "cannot unpack $archive" ;;
    esac
    unpacked="$work/unpacked/${archive%.tar.gz}"
    unpacked="${unpacked%.zip}/release-check$suffix"
    [ -f "$unpacked" ] || refuse "$archive holds no ${unpacked#"$work/unpacked/"}"
    mkdir -p "$root/bin" || refuse "cannot create $root/bin"
    cp "$unpacked" "$root/bin/release-check$suffix" || refuse "cannot copy release-check into $root/bin"
    chmod +x "$root/bin/release-check$suffix"
}

# Whether $1 is release-check at version $2.
is_version() {
    [ -x "$1" ] && [ "$("$1" --version 2>/dev/null)" = "release-check $2" ]
}

install() {
    local version target root base suffix binary method
    version="${RC_VERSION:-$(workspace_version)}"
    [ -n "$version" ] || refuse "no version: set RC_VERSION, or RC_SOURCE to the action's checkout"
    target="$(release_target)"
    suffix="$(exe_suffix)"
    root="${RC_ROOT:-${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/release-check/$version/${target:-source}}"
    binary="$root/bin/release-check$suffix"
    base="${RC_DOWNLOAD_URL:-$(default_download_url)}"
    method=""
    if is_version "$binary" "$version"; then
        say "release-check $version is already installed in $root/bin"
        method=cached
    elif [ -n "$target" ] && [ -n "$base" ]; then
        check_url "$base"
        local status=0
        download "$version" "$target" "$root" "$base" || status=$?
        case "$status" in
            0) method=download ;;
            2) say "the release of $version cannot be reached: building it instead" ;;
            *) exit "$status" ;;
        esac
    elif [ -z "$target" ]; then
        say "no prebuilt binary for $(runner_os) $(runner_arch): building release-check $version"
    else
        say "no download URL (RC_DOWNLOAD_URL): building release-check $version"
    fi
    if [ -z "$method" ]; then
        [ -f "$source_dir/release-check/Cargo.toml" ] || refuse "no source to build in $source_dir/release-check"
        ${RC_CARGO:-cargo} install --locked --path "$source_dir/release-check" --root "$root"
        method=cargo
    fi
    is_version "$binary" "$version" ||
        refuse "$binary does not say it is release-check $version: $("$binary" --version 2>&1 || true)"
    say "installed $("$binary" --version) ($method) in $root/bin"
    if [ -n "${GITHUB_PATH:-}" ]; then
        printf '%s\n' "$root/bin" >>"$GITHUB_PATH"
    fi
    output path "$binary"
    output bin "$root/bin"
    output method "$method"
    output version "$version"
    output target "$target"
}

case "${1:-install}" in
    target) release_target ;;
    install) install ;;
    *)
        say "usage: install.sh [target|install]"
        exit 2
        ;;
esac

#!/usr/bin/env bash
# Fetch the official Redis 8.0.x test suite from Debian's `redis` source
# package and unpack it into tcl-compat/.cache/redis-8.0.x/.
#
# apt runs with a private configuration (own sources.list, lists and cache
# under a temp dir), so the system's apt state is never touched. Its deb-src
# lines point at the Debian archive the machine already uses, read from
# /etc/apt/sources.list{,.d/*.list,.d/*.sources}; no mirror is hard-coded.
#
# Then it links the binaries the suite runs from its src/ directory:
#   src/redis-server   -> our release binary (REDIS_SERVER_BIN overrides)
#   src/redis-cli, ... -> the suite's own 8.0 tools, built from the same
#                         package by build-redis.sh (REDIS_TOOLS_DIR overrides)
# The suite drives redis-cli and redis-benchmark with 8.0 options and reads
# their 8.0 output; with Debian's 7.0 tools integration/redis-cli hangs even
# against real Redis 8.0.
#
# Idempotent: once a suite is unpacked, only the links are refreshed.
# Environment:
#   REDIS_SUITE_VERSION  Debian version glob to prefer (default 5:8.0.6-*)
#   REDIS_SERVER_BIN     server to test (default target/release/redis-rust)
#   REDIS_TOOLS_DIR      where redis-cli & co. live (default: the 8.0 build)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache="$here/.cache"
prefer=${REDIS_SUITE_VERSION:-5:8.0.6-*}
# Newest first; the version choice below does not depend on this order.
suites=(sid trixie bookworm-backports)

log() { echo "tcl-compat/fetch.sh: $*" >&2; }
die() { log "$*"; exit 1; }

"$here/deps.sh"

# --- Which suite is already unpacked? ------------------------------------

# Print the directory name of the newest unpacked suite, if any.
unpacked_suite() {
    local d best=""
    for d in "$cache"/redis-8.0.*/; do
        [ -f "$d/.fetched" ] || continue
        d=$(basename "$d")
        if [ -z "$best" ] || dpkg --compare-versions "${d#redis-}" gt "${best#redis-}"; then
            best=$d
        fi
    done
    echo "$best"
}

# --- Debian archive URIs from the machine's apt sources --------------------

# Print "URI<TAB>SIGNED-BY" for every enabled source of the Debian archive:
# one whose suites include a Debian release codename or alias (so not
# bookworm-security, nodesource's nodistro or google's cloud-sdk-*) and whose
# components include main. An inline deb822 key is written to a file in
# $keydir and its path printed instead.
debian_archive_sources() {
    local keydir=$1 releases
    releases="buzz rex bo hamm slink potato woody sarge etch lenny squeeze \
wheezy jessie stretch buster bullseye bookworm trixie forky duke sid \
oldoldstable oldstable stable testing unstable"
    if [ -r /etc/os-release ]; then
        releases="$releases $(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    fi
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    local f
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk -v releases="$releases" -v keydir="$keydir" '
        function has_word(list, words,    n, a, i) {
            n = split(list, a, /[ \t]+/)
            for (i = 1; i <= n; i++)
                if (a[i] != "" && index(" " words " ", " " a[i] " ")) return 1
            return 0
        }
        function wanted(types, suites, comps) {
            return has_word(types, "deb deb-src") && has_word(suites, releases) &&
                   has_word(comps, "main")
        }
        function emit(uris, signed,    n, a, i) {
            n = split(uris, a, /[ \t]+/)
            for (i = 1; i <= n; i++)
                if (a[i] != "") print a[i] "\t" signed
        }
        # deb822 stanza, flushed at a blank line or the end of a file.
        function flush(    key) {
            if (f["uris"] != "" && tolower(f["enabled"]) != "no" &&
                wanted(f["types"], f["suites"], f["components"])) {
                key = f["signed-by"]
                if (inline_key != "") {
                    key = keydir "/key" (++nkeys) ".asc"
                    printf "%s", inline_key > key
                    close(key)
                }
                emit(f["uris"], key)
            }
            delete f
            field = ""; inline_key = ""
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        # One-line format: deb [opt=val ...] URI SUITE COMPONENT...
        !deb822 {
            sub(/#.*/, "")
            if ($1 != "deb" && $1 != "deb-src") next
            type = $1; $1 = ""; line = $0; opts = ""
            if (match(line, /^[ \t]*\[[^]]*\]/)) {
                opts = substr(line, RSTART, RLENGTH)
                line = substr(line, RSTART + RLENGTH)
            }
            n = split(line, w, /[ \t]+/); j = 0
            for (i = 1; i <= n; i++) if (w[i] != "") v[++j] = w[i]
            comps = ""
            for (i = 3; i <= j; i++) comps = comps " " v[i]
            if (j < 3 || !wanted(type, v[2], comps)) next
            signed = ""
            if (match(opts, /signed-by=[^] \t]+/))
                signed = substr(opts, RSTART + 10, RLENGTH - 10)
            emit(v[1], signed)
            next
        }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ {
            # Continuation line: more list items, or an inline key.
            if (field == "signed-by") {
                s = $0; sub(/^[ \t]+/, "", s)
                inline_key = inline_key (s == "." ? "" : s) "\n"
            } else if (field != "") {
                f[field] = f[field] " " $0
            }
            next
        }
        /^[A-Za-z0-9-]+:/ {
            field = tolower(substr($0, 1, index($0, ":") - 1))
            value = substr($0, index($0, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            f[field] = value
            next
        }
        END { flush() }
    ' "${files[@]}" | awk -F'\t' '!seen[$1]++'
}

# --- Download and unpack ----------------------------------------------------

fetch_suite() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # apt drops to user _apt for downloads when run as root.
    chmod 755 "$tmp"
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" \
        "$tmp/sources.list.d" "$tmp/keys" "$tmp/src"
    chmod 777 "$tmp/src"

    local sources
    sources=$(debian_archive_sources "$tmp/keys")
    [ -n "$sources" ] || die "no Debian archive (a Debian release suite with component main) found in /etc/apt/sources.list or /etc/apt/sources.list.d/"

    local uri signed suite
    while IFS=$'\t' read -r uri signed; do
        log "using Debian archive $uri"
        for suite in "${suites[@]}"; do
            if [ -n "$signed" ]; then
                echo "deb-src [signed-by=$signed] $uri $suite main"
            else
                echo "deb-src $uri $suite main"
            fi
        done
    done <<<"$sources" >"$tmp/sources.list"

    local apt_opts=(
        -o "Dir::Etc::SourceList=$tmp/sources.list"
        -o "Dir::Etc::SourceParts=$tmp/sources.list.d"
        -o "Dir::State::Lists=$tmp/lists"
        -o "Dir::Cache=$tmp/cache"
        -o "Acquire::Languages=none"
    )
    log "apt-get update (private state in $tmp)"
    apt-get "${apt_opts[@]}" -q update >&2

    local versions version="" v
    versions=$(apt-cache "${apt_opts[@]}" showsrc redis |
        awk '/^Package:/ { p = $2 } /^Version:/ && p == "redis" { print $2 }' |
        grep -E '^([0-9]+:)?8\.0\.' | sort -u || true)
    [ -n "$versions" ] || die "no redis 8.0.x source package in ${suites[*]}"
    log "redis 8.0.x source versions available: $(echo $versions)"

    # The preferred version if present, else the newest 8.0.x.
    for v in $versions; do
        # shellcheck disable=SC2053  # $prefer is a glob on purpose
        if [[ $v == $prefer ]] && { [ -z "$version" ] || dpkg --compare-versions "$v" gt "$version"; }; then
            version=$v
        fi
    done
    if [ -z "$version" ]; then
        log "no version matches $prefer; taking the newest 8.0.x"
        for v in $versions; do
            if [ -z "$version" ] || dpkg --compare-versions "$v" gt "$version"; then
                version=$v
            fi
        done
    fi

    log "downloading source package redis=$version"
    (cd "$tmp/src" && apt-get "${apt_opts[@]}" -q source --download-only "redis=$version" >&2)

    local orig
    orig=$(ls "$tmp"/src/redis_*.orig.tar.* 2>/dev/null | head -n 1)
    [ -n "$orig" ] || die "redis=$version: no .orig tarball downloaded"

    # Upstream version: strip the epoch and the Debian revision.
    local upstream=${version#*:}
    upstream=${upstream%-*}
    local dest="$cache/redis-$upstream"
    mkdir -p "$cache"
    rm -rf "$dest" "$cache/.unpack"
    mkdir "$cache/.unpack"
    tar -xf "$orig" -C "$cache/.unpack"
    local top
    top=$(find "$cache/.unpack" -mindepth 1 -maxdepth 1 -type d)
    [ -n "$top" ] && [ -f "$top/tests/test_helper.tcl" ] ||
        die "$(basename "$orig") does not contain tests/test_helper.tcl"
    mv "$top" "$dest"
    rmdir "$cache/.unpack"
    echo "Debian source package redis $version ($(basename "$orig"))" >"$dest/.fetched"
}

# --- Main ---------------------------------------------------------------------

suite=$(unpacked_suite)
if [ -z "$suite" ]; then
    fetch_suite
    suite=$(unpacked_suite)
    [ -n "$suite" ] || die "unpacking failed"
fi
dir="$cache/$suite"
ln -sfn "$suite" "$cache/redis"

server=${REDIS_SERVER_BIN:-$repo/target/release/redis-rust}
if [ -n "${REDIS_TOOLS_DIR:-}" ]; then
    tools=$REDIS_TOOLS_DIR
else
    tools=$(dirname "$("$here/build-redis.sh")")
fi
ln -sfn "$(realpath -m "$server")" "$dir/src/redis-server"
for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    ln -sfn "$tools/$tool" "$dir/src/$tool"
done

echo "tcl-compat: Redis test suite $suite, from $(cat "$dir/.fetched")"
echo "tcl-compat: suite at ${dir#"$repo"/}, src/redis-server -> $(readlink "$dir/src/redis-server")"

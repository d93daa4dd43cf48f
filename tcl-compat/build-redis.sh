#!/usr/bin/env bash
# Build a real Redis 8.0 server from the Debian source package fetch.sh
# unpacked (tcl-compat/.cache/redis-8.0.x), for the RDB interop tests
# (tests/rdb_interop.rs): our files must load in it and pass its
# redis-check-rdb. Built outside the suite's tree, whose src/redis-server
# is a link to our binary, into tcl-compat/.cache/redis-build/.
#
# Idempotent: prints the server's path; builds only when it is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/.cache"
out="$cache/redis-build"
log() { echo "tcl-compat/build-redis.sh: $*" >&2; }

# Builds from before redis-check-aof was linked get the link now.
if [ -x "$out/src/redis-server" ] && [ ! -e "$out/src/redis-check-aof" ]; then
    ln -sf redis-server "$out/src/redis-check-aof"
fi
if [ -x "$out/src/redis-server" ] && [ -L "$out/src/redis-check-rdb" ]; then
    echo "$out/src/redis-server"
    exit 0
fi
src=""
for d in "$cache"/redis-8.0.*/; do
    [ -f "$d/.fetched" ] && src=${d%/}
done
[ -n "$src" ] || { log "no unpacked suite in $cache: run tcl-compat/fetch.sh first"; exit 1; }

log "building Redis from $(basename "$src") (a few minutes)"
rm -rf "$out.tmp"
# A copy without the links fetch.sh put in src/ (the build would write
# through them).
cp -a "$src" "$out.tmp"
find "$out.tmp/src" -maxdepth 1 -type l -delete
rm -f "$out.tmp/.fetched"
# libc malloc: no jemalloc build, which is slow and irrelevant here.
if ! make -C "$out.tmp" -j"$(nproc)" MALLOC=libc BUILD_TLS=no >"$cache/redis-build.log" 2>&1; then
    tail -30 "$cache/redis-build.log" >&2
    log "build failed (full log: $cache/redis-build.log)"
    exit 1
fi
# redis-check-rdb and redis-check-aof are the server binary under other names, as `make
# install` sets it up.
ln -sf redis-server "$out.tmp/src/redis-check-rdb"
ln -sf redis-server "$out.tmp/src/redis-check-aof"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out/src/redis-server"

#!/usr/bin/env bash
# Install what the official test suite needs beside our server, if missing:
#   tclsh                        runs the suite (tcl)
#   redis-check-aof/-rdb         Debian's redis-tools (7.0.x on bookworm): our
#                                files must keep passing its checkers (the
#                                suite itself runs the 8.0 tools build-redis.sh
#                                builds)
#   python3                      runs tcl-compat/run.py
#   redis-server                 Debian's server (7.0.x): RDB interop tests,
#                                and make bench's history column
#   gcc, g++, make               build-redis.sh builds Redis 8.0 for them
# Runs `apt-get update` only when something has to be installed.
set -euo pipefail

need=()
command -v tclsh >/dev/null || need+=(tcl)
for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    if ! command -v "$tool" >/dev/null; then
        need+=(redis-tools)
        break
    fi
done
command -v python3 >/dev/null || need+=(python3)
command -v redis-server >/dev/null || need+=(redis-server)
for tool in gcc g++ make; do
    if ! command -v "$tool" >/dev/null; then
        need+=(build-essential)
        break
    fi
done

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "tcl-compat/deps.sh: need root to install: ${need[*]}" >&2
        exit 1
    fi
fi
echo "tcl-compat/deps.sh: installing ${need[*]}"
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${need[@]}"

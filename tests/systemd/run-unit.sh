#!/bin/sh
# Runs redis-rust.service under a real systemd (as root, on a machine booted
# with systemd): installs it (`make install`), starts it, checks what
# systemd saw (active, "Ready to accept connections"), writes a key,
# restarts it and finds the key again (saved at stop, loaded at start),
# then stops it. Exits 77 (skipped) where systemd is not PID 1 or we are
# not root; before that it checks the unit offline (systemd-analyze
# security) from a DESTDIR install, which needs neither.
#
#   tests/systemd/run-unit.sh            # from the repository's top
#   KEEP=1 tests/systemd/run-unit.sh     # leave it installed and running
set -eu
cd "$(dirname "$0")/../.."

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s install DESTDIR="$stage" >/dev/null
unit="$stage/usr/local/lib/systemd/system/redis-rust.service"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze security --offline=yes --root="$stage" "$unit" | tail -1
fi

if [ ! -d /run/systemd/system ]; then
    echo "SKIP: this machine was not booted with systemd (PID 1 is $(cat /proc/1/comm))"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: installing a system service needs root"
    exit 77
fi

fail() { echo "FAIL: $*"; journalctl -u redis-rust -n 30 --no-pager || true; exit 1; }

make -s install
systemd-analyze verify /usr/local/lib/systemd/system/redis-rust.service
systemctl restart redis-rust
[ "$(systemctl show -P ActiveState redis-rust)" = active ] || fail "not active"
status=$(systemctl show -P StatusText redis-rust)
[ "$status" = "Ready to accept connections" ] || fail "status: $status"
[ "$(systemctl show -P User redis-rust)" = redis ] || fail "not running as redis"
[ "$(redis-cli ping)" = PONG ] || fail "no PONG"
redis-cli set run-unit-check "$$" >/dev/null

systemctl restart redis-rust
[ "$(redis-cli get run-unit-check)" = "$$" ] || fail "key lost across a restart"
[ -s /var/lib/redis-rust/dump.rdb ] || fail "no /var/lib/redis-rust/dump.rdb"
redis-rust-check-rdb /var/lib/redis-rust/dump.rdb | grep -q 'RDB looks OK' || fail "check-rdb"
redis-cli del run-unit-check >/dev/null

if [ -z "${KEEP:-}" ]; then
    systemctl stop redis-rust
    [ "$(systemctl show -P ActiveState redis-rust)" = inactive ] || fail "still running"
fi
echo "OK: redis-rust.service starts, notifies, keeps its data and stops under systemd"

#!/usr/bin/env bash
# Run the official Redis test suite against our server, unit by unit.
# The runner is run.py; `tcl-compat/run.sh --help` prints its usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v python3 >/dev/null || "$here/deps.sh"
exec python3 "$here/run.py" "$@"

#!/usr/bin/env bash
# Install everything the tests need (Debian chromium for the browser tests, Debian
# postgresql for the PostgreSQL event store: tests/pgcluster.py starts a throwaway
# cluster from /usr/lib/postgresql/<version>/bin, the package with its test extras)
# and run the whole suite with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."

MISSING=""
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || MISSING="$MISSING postgresql"
if [ -n "$MISSING" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
python -m pip install -q -e '.[test]'
export NO_MKDOCS_2_WARNING=1
exec python -W error -m pytest "$@"

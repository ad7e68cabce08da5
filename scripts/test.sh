#!/usr/bin/env bash
# Install everything the tests need (Debian chromium for the browser tests, the
# package with its test extras) and run the whole suite with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
python -m pip install -q -e '.[test]'
export NO_MKDOCS_2_WARNING=1
exec python -W error -m pytest "$@"

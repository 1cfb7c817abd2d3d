#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it all.
# Python packages go into a virtualenv of the repo's own, .venv (RASSIST_VENV overrides), never
# into the system Python.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

packages="xvfb xdotool x11-utils coturn iproute2 iptables openssl tmux redis-server vim postgresql tesseract-ocr tesseract-ocr-eng"
missing=""
for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq $missing >/dev/null
fi

venv=${RASSIST_VENV:-.venv}
make_venv "$venv"
# Reinstall only when pyproject.toml changed since the last install into this venv.
stamp="$venv/.rassist-installed"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) $PWD"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
  echo "$wanted" > "$stamp"
fi

status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "scripts/test.sh: pytest collected no tests (exit 5): that is a failure, not a pass" >&2
fi
exit "$status"

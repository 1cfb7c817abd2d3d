#!/usr/bin/env bash
# Install rassist for this user: a virtualenv of its own (the system Python stays untouched) and
# a `rassist` command in ~/.local/bin. Every dependency comes as a binary wheel, so no compiler is
# needed. Run it again to upgrade; remove the two paths it prints to uninstall.
#   RASSIST_HOME  where the virtualenv goes (default ~/.local/share/rassist)
#   RASSIST_BIN   where the command goes (default ~/.local/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

home=${RASSIST_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/rassist}
bin=${RASSIST_BIN:-$HOME/.local/bin}
make_venv "$home/venv"
echo "installing rassist into $home/venv" >&2
"$home/venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: --upgrade .
mkdir -p "$bin"
ln -sf "$home/venv/bin/rassist" "$bin/rassist"
echo "installed $("$bin/rassist" --version) as $bin/rassist" >&2
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH yet (it is from your next login on Debian and Ubuntu); until then run $bin/rassist" >&2 ;;
esac

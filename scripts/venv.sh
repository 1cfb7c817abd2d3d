# Sourced by install.sh and test.sh: make a virtualenv without touching the system Python.
# Debian 12+ and Ubuntu 23.04+ mark the system Python "externally managed" (pip refuses to install
# into it) and ship the venv module's pip bootstrap in a separate package, python3-venv.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# make_venv DIR: a virtualenv at DIR (kept if it already works), made by $RASSIST_PYTHON or python3.
make_venv() {
  local dir=$1 py=${RASSIST_PYTHON:-python3} version
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then return 0; fi
  if ! command -v "$py" >/dev/null; then
    echo "rassist needs Python 3.11 or newer, and there is no $py: install python3 first" >&2; return 1
  fi
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "rassist needs Python 3.11 or newer; $py is $("$py" -V 2>&1)" >&2; return 1
  fi
  rm -rf "$dir"
  if ! "$py" -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    if ! command -v apt-get >/dev/null; then
      echo "$py cannot make a virtualenv (python -m venv failed); install your system's venv package" >&2
      return 1
    fi
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    local wanted="python3-venv"
    if apt-cache show "python$version-venv" >/dev/null 2>&1; then wanted="$wanted python$version-venv"; fi
    echo "installing $wanted (the venv module) with apt" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq $wanted >/dev/null
    "$py" -m venv "$dir"
  fi
}

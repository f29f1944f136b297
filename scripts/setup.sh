#!/usr/bin/env bash
# Install what tracehub needs, idempotently: Debian packages (mosquitto, influxdb,
# node), the Python venv with pinned dependencies, and the pinned npm tools.
# Each step is skipped when already satisfied. When something cannot be installed
# (not root and no sudo), stop with one line naming the package and the command.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# --- Debian packages --------------------------------------------------------
# binary -> package that provides it
declare -A APT_FOR=(
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [influxd]=influxdb
  [node]=nodejs
  [npm]=npm
  [chromium]=chromium
  [zbarimg]=zbar-tools  # decodes the QR codes in tests/web/test_qr.py
  [wrk]=wrk  # load generator of bench/web.py
)
missing=()
for bin in "${!APT_FOR[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
    missing+=("${APT_FOR[$bin]}")
  fi
done
# WeasyPrint (the temperature reports' PDF) loads Pango through cffi, not a binary
if ! compgen -G "/usr/lib/*/libpangoft2-1.0.so.0" >/dev/null \
   && ! compgen -G "/usr/lib/libpangoft2-1.0.so.0" >/dev/null; then
  missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fi
# PostgreSQL's server binaries live outside PATH on Debian
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  missing+=(postgresql)
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ]; then SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
  else die "missing Debian packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq || die "apt-get update failed — run: sudo apt-get update"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]} — run: sudo apt-get install -y ${missing[*]}"
fi

# --- Python virtual environment ---------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python >= 3.11 is required (found $("$PYTHON" --version 2>&1)) — set PYTHON=/path/to/python3.11"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create a venv — run: sudo apt-get install -y python3-venv"
fi
stamp="$VENV/.tracehub-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  say "installing Python dependencies (pinned by constraints.txt)"
  log="$VENV/pip-install.log"
  # pip's output goes to a log (shown on failure): index warnings would bury the result.
  # grafana-client pulls urllib3-future, whose wheel replaces urllib3 for every package
  # (web3 and requests then leak sockets); built from source with URLLIB3_NO_OVERRIDE it
  # installs beside the real urllib3 instead.
  if ! { "$VENV/bin/python" -m pip install -q --upgrade pip \
         && URLLIB3_NO_OVERRIDE=1 "$VENV/bin/python" -m pip install -q -c constraints.txt \
              --no-binary urllib3-future -e '.[dev,grafana,fuzz]'; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "pip install failed (log: $log) — run: URLLIB3_NO_OVERRIDE=1 $VENV/bin/pip install -c constraints.txt --no-binary urllib3-future -e '.[dev,grafana,fuzz]'"
  fi
  touch "$stamp"
fi

# --- npm tools (solc-js, anvil) ---------------------------------------------
nstamp="node_modules/.tracehub-installed"
if [ ! -f "$nstamp" ] || [ package-lock.json -nt "$nstamp" ]; then
  say "installing pinned npm packages (solc, anvil)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed — run: npm ci"
  touch "$nstamp"
fi
say "ready"

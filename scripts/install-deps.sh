#!/usr/bin/env bash
# Installs the Debian packages osprey needs to build and test. Idempotent: it
# asks apt only for what is missing, so a second run does nothing.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libsqlite3-dev sqlite3 libyaml-cpp-dev libfmt-dev libhowardhinnant-date-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev tzdata
  zlib1g-dev libcurl4-openssl-dev libssl-dev
  libcpp-httplib-dev
  chromium chromium-driver fonts-dejavu-core
  wrk curl
  libpq-dev postgresql postgresql-client libmariadb-dev mariadb-server mariadb-client
  python3
)
if [[ "${1:-}" == "--print" ]]; then printf '%s\n' "${PKGS[@]}"; exit 0; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

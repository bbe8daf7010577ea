#!/usr/bin/env bash
# Installs everything the tests need and runs the whole suite: the README's test command (and CI's).
#   bash scripts/test.sh                 # everything: unit, page logic, slow, browser — on every core
#   bash scripts/test.sh -m "not e2e"    # pytest arguments pass through (a later -m wins)
# `.venv/bin/python -m pytest` alone runs the fast tier (pytest.ini).
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for screenshots.
if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi

# The lake tests run a throwaway PostgreSQL cluster (initdb + pg_ctl, on a loopback port, in a
# temporary folder): Debian's postgresql package provides the binaries (the service is not used).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
# -m "" selects every test (the fast tier's -m in pytest.ini is overridden); the browser tests
# share one worker, the rest spread over the other.
exec .venv/bin/python -m pytest -q -m "" "$@"

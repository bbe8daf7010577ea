#!/usr/bin/env bash
# Installs everything the tests need and runs the whole suite: the README's test command.
#   bash scripts/test.sh            # all tests (unit, page logic, browser)
#   bash scripts/test.sh -m "not e2e"   # pytest arguments pass through
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for screenshots.
if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
exec .venv/bin/python -m pytest -q "$@"

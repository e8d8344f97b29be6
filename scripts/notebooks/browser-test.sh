#!/usr/bin/env bash
# The panels in a real browser (JupyterLab + Debian's Chromium driven by Playwright): installs
# what it needs, then runs scripts/notebooks/browser_test.py. Screenshots go to target/browser.
# Not part of CI (chromium comes from apt; ~4 minutes on two cores with a warm kernel slot).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash scripts/setup-notebooks.sh
if [ ! -x "${TDW_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "installing chromium from apt (sudo if not root)"
  ${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )} apt-get install -y chromium
fi
# Playwright drives the system chromium: its own browser download is skipped.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv-notebooks/bin/pip install --quiet "playwright==1.55.0"
.venv-notebooks/bin/python scripts/notebooks/browser_test.py

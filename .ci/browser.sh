#!/usr/bin/env bash
# Installs the real browser the dashboard's end-to-end tests drive: Debian's Chromium and
# ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver). Idempotent; needs root.
set -euo pipefail

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "browser.sh: installing chromium chromium-driver" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core >&2
fi
chromium --version
chromedriver --version

#!/usr/bin/env bash
# Install Debian's chromium (for tests/test_browser.py) when /usr/bin/chromium is missing.
# Quiet: prints nothing on success, apt's output on failure. Idempotent. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } \
        >"$log" 2>&1; then
    cat "$log" >&2
    echo "browser.sh: installing chromium failed" >&2
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "browser.sh: apt-get installed chromium but /usr/bin/chromium is missing" >&2
    exit 1
fi

#!/usr/bin/env bash
# Runs the browser journeys against the exitentry binary.
#   EXITENTRY_BIN  path to the binary (default ../target/debug/exitentry)
#   CHROMIUM_PATH  Chromium executable (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

rm -rf artifacts
status=0
node --test --test-concurrency=1 tests/ || status=$?

shots=$(find artifacts -name '*.png' 2>/dev/null | wc -l)
echo "screenshots of the pages the journeys saw (phone and kiosk size, three languages): $shots in $PWD/artifacts/"
exit "$status"

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

if [[ -d artifacts ]] && compgen -G 'artifacts/*.png' > /dev/null; then
  echo "screenshots of failed tests: $PWD/artifacts/"
  ls -1 artifacts/*.png | sed 's/^/  /'
else
  echo "screenshots of failed tests go to $PWD/artifacts/ (none this run)"
fi
exit "$status"

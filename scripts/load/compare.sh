#!/usr/bin/env bash
# The whole verification load comparison in one command: builds the release binary, runs
# scripts/load/verify.sh on SQLite and then on PostgreSQL (same data, 1,000,000 people by
# default), and prints each endpoint's throughput as a ratio to /healthz of the same server
# in the same run (medians of interleaved rounds), p50/p99, the 10,000-line batch and the
# server's memory.
#   scripts/load/compare.sh            # both backends
#   scripts/load/compare.sh sqlite     # one
# Environment: PEOPLE, DURATION, ROUNDS, CONNS, THREADS, WARMUP as for verify.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
backends=("$@")
[[ ${#backends[@]} -gt 0 ]] || backends=(sqlite postgres)
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked -p exitentry
PEOPLE=${PEOPLE:-1000000}
export PEOPLE
WORK=${WORK:-/tmp/exitentry-load-$PEOPLE}
export WORK
for b in "${backends[@]}"; do
  RESULTS="$WORK/results-$b.tsv" scripts/load/verify.sh "$b"
done

echo
echo "| backend, $PEOPLE people | endpoint | req/s | p50 ms | p99 ms | vs /healthz |"
echo "|---|---|---|---|---|---|"
for b in "${backends[@]}"; do
  awk -F'\t' -v b="$b" '
    $1 == "batch" { batch = $2; next }
    $1 == "memory" { rss = $2; hwm = $3; anon = $4; next }
    { printf "| %s | %s | %.0f | %s | %s | **%.2f** |\n", b, $1, $2, $3, $4, $6
      if ($5 + 0 > 0) printf "| %s | (%s answers not 2xx in the run above) | | | | |\n", b, $5 }
    END { printf "| %s | POST /api/v1/verify/batch, 10,000 lines (median of 5) | %s s | | | |\n", b, batch
          printf "| %s | server memory after the runs | %s MB resident (peak %s MB), %s MB not file pages | | | |\n", b, rss, hwm, anon }
  ' "$WORK/results-$b.tsv"
done

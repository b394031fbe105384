#!/usr/bin/env bash
# Load test of the relying-party checks against `exitentry serve` on a registry of
# PEOPLE people (default 1,000,000), with /healthz of the same server as the ceiling.
#   scripts/load/verify.sh [sqlite|postgres]
# Needs: target/release/exitentry (cargo build --release), wrk (apt-get install wrk).
# Data is generated once into $WORK (default /tmp/exitentry-load) and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=${1:-sqlite}
PEOPLE=${PEOPLE:-1000000}
WORK=${WORK:-/tmp/exitentry-load-$PEOPLE}
DURATION=${DURATION:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
BIN=${BIN:-target/release/exitentry}
mkdir -p "$WORK"

if [[ ! -f $WORK/sample/documents.csv ]]; then
  $BIN import sample --people "$PEOPLE" --out-dir "$WORK/sample"
fi
case $BACKEND in
  sqlite) URL="sqlite://$WORK/load.db" ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS exitentry_load" \
      -c "CREATE DATABASE exitentry_load" >/dev/null
    rm -f "$WORK/.postgres-loaded"
    URL="postgres://postgres@127.0.0.1:5432/exitentry_load" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
export DATABASE_URL=$URL EXITENTRY_LOG__FILTER=warn
if [[ $BACKEND == postgres || ! -f $WORK/.sqlite-loaded ]]; then
  [[ $BACKEND == sqlite ]] && rm -f "$WORK"/load.db*
  $BIN import offices crates/cli/seed/offices.csv >/dev/null
  $BIN import people "$WORK/sample/people.csv" >/dev/null
  $BIN import documents "$WORK/sample/documents.csv" >/dev/null
  [[ $BACKEND == sqlite ]] && touch "$WORK/.sqlite-loaded"
  # Fresh tables: give PostgreSQL its statistics and visibility map, as a live system has.
  [[ $BACKEND == postgres ]] && psql -q -h 127.0.0.1 -U postgres -d exitentry_load -c "VACUUM ANALYZE" >/dev/null
fi

# Checks drawn from the registry: valid-looking permit checks and linkage pairs.
# people.csv: external_id,name_zh,name_latin,sex,date_of_birth,…
# documents.csv: person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code
awk -F, 'NR==FNR { if (FNR>1) { name[$1]=$3; dob[$1]=$5 } next }
         FNR>1 && ($2=="hrp" || $2=="twp" || $2=="eep_card") && n < 20000 { print $2 "\t" $3 "\t" name[$1] "\t" dob[$1]; n++ }' \
  "$WORK/sample/people.csv" "$WORK/sample/documents.csv" > "$WORK/permit.tsv"
awk -F, 'NR==FNR { if (FNR>1) name[$1]=$3; next }
         FNR>1 && ($2=="hrp" || $2=="twp") { travel[$1]=$2 "\t" $3 }
         FNR>1 && $2=="residence_permit" { rp[$1]=$3 }
         END { for (p in rp) if (p in travel && n < 20000) { print travel[p] "\t" rp[p] "\t" name[p]; n++ } }' \
  "$WORK/sample/people.csv" "$WORK/sample/documents.csv" > "$WORK/linkage.tsv"

NAME="load-$(date +%s)"
KEY=$($BIN partners create --name "$NAME" --kind other \
  --scopes verify_permit,verify_linkage,verify_credential --rate 1000000 --daily-quota 1000000000 | tail -n 1)

# A production-shaped server: its own log-hash key (serve refuses the development default).
EXITENTRY_SECURITY__LOG_HASH_SECRET="load-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")" \
EXITENTRY_SERVER__METRICS_TOKEN="load-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")" \
  $BIN serve --listen 127.0.0.1:$PORT &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done

# One check of each kind first, shown: wrk only counts answers that are not 2xx.
IFS=$'\t' read -r k n nm dob < "$WORK/permit.tsv"
curl -sf -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d "{\"document_kind\":\"$k\",\"document_number\":\"$n\",\"name\":\"$nm\",\"date_of_birth\":\"$dob\"}" \
  http://127.0.0.1:$PORT/api/v1/verify/permit; echo
IFS=$'\t' read -r k n rp nm < "$WORK/linkage.tsv"
curl -sf -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d "{\"travel_document_kind\":\"$k\",\"travel_document_number\":\"$n\",\"residence_permit_number\":\"$rp\",\"name\":\"$nm\"}" \
  http://127.0.0.1:$PORT/api/v1/verify/linkage; echo

# Figures go to $RESULTS as tab-separated lines: label, req/s, p50, p99 (ms), non-2xx
# answers, and the ratio to /healthz; scripts/load/compare.sh reads them into its table. The
# endpoints run in ROUNDS interleaved rounds and each figure is the median over the rounds (the
# ratio the median of each round's ratio): these machines are noisy, and a drift in the
# machine's speed then touches the ceiling and the checks alike. Many short rounds by default:
# the speed drifts within seconds (docs/PERFORMANCE.md, issue 19 fifth pass).
RESULTS=${RESULTS:-$WORK/results-$BACKEND.tsv}
ROUNDS=${ROUNDS:-9}
RAW=$WORK/rounds-$BACKEND.tsv
: > "$RAW"
ms() { # wrk latency ("850.00us", "1.23ms", "1.02s") in milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
run() { # round, label, extra args…
  local round=$1 label=$2 out
  echo "== $label (round $round)"
  shift 2
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@")
  grep -E "Requests/sec|Latency|  50%|  99%|Non-2xx|Socket errors" <<<"$out"
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$label" "$rps" "$p50" "$p99" "${bad:-0}" >> "$RAW"
}
# Warm-up, not counted: a fresh server's first seconds read the registry's pages from disk
# into the caches (the permit checks and the linkage checks touch different documents), which a
# node in service has long done; counted, they made the first round of each check the slowest.
WARMUP=${WARMUP:-3s}
for check in permit linkage; do
  CHECK=$check CHECKS_FILE=$WORK/$check.tsv PARTNER_KEY=$KEY \
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s scripts/load/verify.lua http://127.0.0.1:$PORT >/dev/null
done
for round in $(seq "$ROUNDS"); do
  run "$round" "baseline GET /healthz" http://127.0.0.1:$PORT/healthz
  CHECK=permit CHECKS_FILE=$WORK/permit.tsv PARTNER_KEY=$KEY run "$round" "POST /api/v1/verify/permit" -s scripts/load/verify.lua http://127.0.0.1:$PORT
  CHECK=linkage CHECKS_FILE=$WORK/linkage.tsv PARTNER_KEY=$KEY run "$round" "POST /api/v1/verify/linkage" -s scripts/load/verify.lua http://127.0.0.1:$PORT
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: > "$RESULTS"
for label in "baseline GET /healthz" "POST /api/v1/verify/permit" "POST /api/v1/verify/linkage"; do
  col() { awk -F'\t' -v l="$label" -v c="$1" '$2 == l { print $c }' "$RAW" | median; }
  ratio=$(awk -F'\t' -v l="$label" '$2 ~ /healthz/ { base[$1] = $3 } $2 == l { print $3 / base[$1] }' "$RAW" | median)
  bad=$(awk -F'\t' -v l="$label" '$2 == l { n += $6 } END { print n + 0 }' "$RAW")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(col 3)" "$(col 4)" "$(col 5)" "$bad" "$ratio" >> "$RESULTS"
done

# Batch: 10,000 permit checks in one request.
awk -F'\t' 'NR<=10000 { printf "{\"check\":\"permit\",\"document_kind\":\"%s\",\"document_number\":\"%s\",\"name\":\"%s\",\"date_of_birth\":\"%s\"}\n", $1, $2, $3, $4 }' \
  "$WORK/permit.tsv" > "$WORK/batch.ndjson"
echo "== POST /api/v1/verify/batch (10,000 lines)"
times=()
for i in 1 2 3 4 5; do
  t=$(curl -s -o "$WORK/batch.out" -w "%{time_total}" -H "Authorization: Bearer $KEY" \
    -H "Content-Type: application/x-ndjson" --data-binary @"$WORK/batch.ndjson" http://127.0.0.1:$PORT/api/v1/verify/batch)
  echo "   $t s"
  times+=("$t")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "   answers: $(wc -l < "$WORK/batch.out"), valid: $(grep -c '"valid":true' "$WORK/batch.out"), median $median s"
printf 'batch\t%s\n' "$median" >> "$RESULTS"
# The server's resident memory after the runs (the database's pages it mapped count too).
rss=$(awk '/VmRSS/ { print $2 }' /proc/$SERVER/status)
hwm=$(awk '/VmHWM/ { print $2 }' /proc/$SERVER/status)
anon=$(awk '/RssAnon/ { print $2 }' /proc/$SERVER/status)
echo "== server memory: $((rss / 1024)) MB resident, peak $((hwm / 1024)) MB, $((anon / 1024)) MB its own (not file pages)"
printf 'memory\t%s\t%s\t%s\n' "$((rss / 1024))" "$((hwm / 1024))" "$((anon / 1024))" >> "$RESULTS"

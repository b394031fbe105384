#!/usr/bin/env bash
# Registry import against the sqlite3 shell, in one run: the same generated files, the same
# schema and indexes, the same page cache and synchronous setting. The shell loads each file
# into a temporary table (`.import`) and moves it with one `INSERT … SELECT`, validating
# nothing; `exitentry import` validates every row and checks it against the file and the
# registry. Prints wall time, the ratio to the shell and peak memory, then imports the same
# files into PostgreSQL.
#   scripts/load/import.sh
# Environment: PEOPLE (default 1,000,000), WORK (default /tmp/exitentry-load-$PEOPLE).
set -euo pipefail
cd "$(dirname "$0")/../.."
PEOPLE=${PEOPLE:-1000000}
WORK=${WORK:-/tmp/exitentry-load-$PEOPLE}
BIN=target/release/exitentry
for tool in sqlite3 /usr/bin/time; do
  command -v $tool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 time >/dev/null
done
cargo build --release --locked -p exitentry
mkdir -p "$WORK"
[[ -f $WORK/sample/documents.csv ]] || $BIN import sample --people "$PEOPLE" --out-dir "$WORK/sample"
export EXITENTRY_LOG__FILTER=warn

# One empty database with the schema and the offices, copied for each contender.
rm -f "$WORK"/import-*.db*
DATABASE_URL="sqlite://$WORK/import-base.db" $BIN import offices crates/cli/seed/offices.csv >/dev/null
sqlite3 "$WORK/import-base.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$WORK/import-base.db" "$WORK/import-shell.db"
cp "$WORK/import-base.db" "$WORK/import-ours.db"

timed() { # label, command…: appends "label<TAB>seconds<TAB>peak MB" to $WORK/import.tsv
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null
  read -r secs kb <"$WORK/time.txt"
  printf '%s\t%s\t%s\n' "$label" "$secs" "$((kb / 1024))" >>"$WORK/import.tsv"
  echo "$label: $secs s, peak $((kb / 1024)) MB"
}
: >"$WORK/import.tsv"

PRAGMAS="PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
timed "people, sqlite3 shell" sqlite3 "$WORK/import-shell.db" <<SQL
$PRAGMAS
CREATE TEMP TABLE load_people (external_id TEXT, name_zh TEXT, name_latin TEXT, sex TEXT,
  date_of_birth TEXT, region TEXT, nationality TEXT, id_kind TEXT, id_number TEXT, hukou_area TEXT);
.import --csv --skip 1 $WORK/sample/people.csv load_people
INSERT INTO people (external_id, name_zh, name_latin, sex, date_of_birth, region, nationality,
  id_kind, id_number, hukou_area, created_at, updated_at)
SELECT external_id, NULLIF(name_zh, ''), name_latin, sex, date_of_birth, region, nationality,
  id_kind, id_number, NULLIF(hukou_area, ''), 0, 0 FROM load_people;
SQL
timed "people, exitentry import" env DATABASE_URL="sqlite://$WORK/import-ours.db" \
  $BIN import people "$WORK/sample/people.csv"
timed "documents, sqlite3 shell" sqlite3 "$WORK/import-shell.db" <<SQL
$PRAGMAS
CREATE TEMP TABLE load_documents (person_external_id TEXT, kind TEXT, number TEXT,
  issue_count TEXT, issued_on TEXT, expires_on TEXT, status TEXT, office_code TEXT);
.import --csv --skip 1 $WORK/sample/documents.csv load_documents
INSERT INTO documents (person_id, kind, number, issue_count, issued_on, expires_on, status,
  office_code, created_at, updated_at)
SELECT p.id, d.kind, d.number, COALESCE(NULLIF(d.issue_count, ''), 0), d.issued_on,
  d.expires_on, d.status, NULLIF(d.office_code, ''), 0, 0
FROM load_documents d JOIN people p ON p.external_id = d.person_external_id;
SQL
timed "documents, exitentry import" env DATABASE_URL="sqlite://$WORK/import-ours.db" \
  $BIN import documents "$WORK/sample/documents.csv"
for t in people documents; do
  shell=$(sqlite3 "$WORK/import-shell.db" "SELECT COUNT(*) FROM $t")
  ours=$(sqlite3 "$WORK/import-ours.db" "SELECT COUNT(*) FROM $t")
  [[ $shell == "$ours" ]] || { echo "$t: the shell loaded $shell rows, exitentry $ours" >&2; exit 1; }
done

PG=postgres://postgres@127.0.0.1:5432/exitentry_import
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS exitentry_import" \
  -c "CREATE DATABASE exitentry_import" >/dev/null
DATABASE_URL=$PG $BIN import offices crates/cli/seed/offices.csv >/dev/null
timed "people, exitentry import, PostgreSQL" env DATABASE_URL=$PG $BIN import people "$WORK/sample/people.csv"
timed "documents, exitentry import, PostgreSQL" env DATABASE_URL=$PG $BIN import documents "$WORK/sample/documents.csv"

echo
echo "| $PEOPLE people | wall time | vs the sqlite3 shell | peak memory |"
echo "|---|---|---|---|"
awk -F'\t' '
  /sqlite3 shell/ { base = $2 }
  { ratio = ($1 ~ /shell/ || $1 ~ /PostgreSQL/) ? "" : sprintf("**%.2f×**", $2 / base)
    printf "| %s | %.1f s | %s | %d MB |\n", $1, $2, ratio, $3 }
' "$WORK/import.tsv"

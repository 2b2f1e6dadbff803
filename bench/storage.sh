#!/usr/bin/env bash
# Storage benchmark: database bytes per product against the JSON served, and bytes per recorded
# change, for a listing-only mirror of the fake storefront (release build, pacing off).
#
#   bench/storage.sh                    # N = 25000, 4 rounds of 1% changed
#   bench/storage.sh --products 2500 --rounds 2 --no-build
#
# "Used bytes" are (page_count - freelist_count) x page_size after a WAL checkpoint: the bytes
# the database needs, whatever the file's free pages. Per-table bytes come from dbstat.
# SHOPMIRROR_BENCH_BIN / SHOPMIRROR_BENCH_FAKE measure binaries built elsewhere.
# Prints Markdown on stdout; progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=25000
ROUNDS=4
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --products) N=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        *) echo "bench/storage.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in curl sqlite3 awk; do
    command -v "$tool" >/dev/null || { echo "bench/storage.sh: needs $tool" >&2; exit 2; }
done
if [ "$BUILD" = 1 ]; then
    echo "building release binaries..." >&2
    (cd "$ROOT" && cargo build --release --quiet --bin shopmirror --example fakeshop)
fi
BIN=${SHOPMIRROR_BENCH_BIN:-$ROOT/target/release/shopmirror}
FAKE=${SHOPMIRROR_BENCH_FAKE:-$ROOT/target/release/examples/fakeshop}

WORK=$(mktemp -d)
FAKE_PID=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export SHOPMIRROR_HTTP__ALLOW_PRIVATE=true SHOPMIRROR_HTTP__MIN_DELAY=0s RUST_LOG=${RUST_LOG:-warn}

"$FAKE" --port 0 --control-port 0 --products "$N" --cap 25000 >"$WORK/fake.out" 2>"$WORK/fake.err" &
FAKE_PID=$!
for _ in $(seq 1 6000); do
    grep -q '^control ' "$WORK/fake.out" && grep -q '^store ' "$WORK/fake.out" && break
    kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/fake.err" >&2; exit 1; }
    sleep 0.1
done
CTL=$(awk '/^control / { print $2 }' "$WORK/fake.out")
URL=$(awk '/^store / { print $3; exit }' "$WORK/fake.out")
DB=$WORK/storage.db
printf '[stores.bench]\nurl = "%s"\ncollections = false\n' "$URL" >"$WORK/listing.toml"

sync_once() {
    curl -sf -X POST "$CTL/_control/clear" >/dev/null
    "$BIN" -q --db "$DB" --config "$WORK/listing.toml" sync bench >/dev/null 2>"$WORK/sync.err" ||
        { cat "$WORK/sync.err" >&2; exit 1; }
    sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
}
used() { sqlite3 "$DB" "SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM pragma_freelist_count)" | awk -v ps="$(sqlite3 "$DB" 'PRAGMA page_size')" '{ print $1 * ps }'; }
# Bytes of the JSON the store served in the last sync: the same requests again, summed.
served() {
    curl -sf "$CTL/_control/requests" |
        awk -F'\t' -v base="$URL" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, $4 }' >"$WORK/curl.cfg"
    curl -s -K "$WORK/curl.cfg" -w '%{size_download}\n' | awk '{ s += $1 } END { print s }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo "first sync of $N products..." >&2
sync_once
SERVED=$(served)
USED=$(used)
echo "Listing only, $N products, one store; $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo ' (with uncommitted changes)'); binary $BIN"
echo
echo "| after the first sync | bytes | MiB | per product | × JSON served |"
echo "|---|---|---|---|---|"
printf '| JSON served (%s requests) | %s | %s | %.0f | 1 |\n' "$(wc -l <"$WORK/curl.cfg" | awk '{ print $1 / 2 }')" "$SERVED" "$(mib "$SERVED")" "$(awk -v b="$SERVED" -v n="$N" 'BEGIN { print b / n }')"
printf '| database, used pages | %s | %s | %.0f | %.2f |\n' "$USED" "$(mib "$USED")" "$(awk -v b="$USED" -v n="$N" 'BEGIN { print b / n }')" "$(awk -v a="$USED" -v b="$SERVED" 'BEGIN { print a / b }')"
sqlite3 -separator ' ' "$DB" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8" |
    while read -r name bytes; do
        printf '| of which %s | %s | %s | %.0f | %.2f |\n' "$name" "$bytes" "$(mib "$bytes")" "$(awk -v b="$bytes" -v n="$N" 'BEGIN { print b / n }')" "$(awk -v a="$bytes" -v b="$SERVED" 'BEGIN { print a / b }')"
    done
printf '| sum(length(raw_json)) in products | %s | %s | %.0f | %.2f |\n' "$(sqlite3 "$DB" 'SELECT sum(length(CAST(raw_json AS BLOB))) FROM products')" "$(mib "$(sqlite3 "$DB" 'SELECT sum(length(CAST(raw_json AS BLOB))) FROM products')")" "$(sqlite3 "$DB" "SELECT sum(length(CAST(raw_json AS BLOB))) * 1.0 / $N FROM products")" "$(sqlite3 "$DB" "SELECT sum(length(CAST(raw_json AS BLOB))) * 1.0 / $SERVED FROM products")"
echo
echo "| round | products changed | change rows (events + variant changes + versions) | used bytes grown | bytes per changed product |"
echo "|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
    changed=$(curl -sf -X POST "$CTL/_control/mutate?percent=1")
    before=$USED
    echo "round $r: $changed products changed..." >&2
    sync_once
    USED=$(used)
    run=$(sqlite3 "$DB" "SELECT max(run_id) FROM sync_runs")
    rows=$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM product_events WHERE run_id = $run)
        + (SELECT count(*) FROM variant_changes WHERE run_id = $run)
        + (SELECT count(*) FROM product_versions WHERE run_id = $run)")
    got=$(sqlite3 "$DB" "SELECT products_changed FROM sync_runs WHERE run_id = $run")
    printf '| %s | %s | %s | %s | %.0f |\n' "$r" "$got" "$rows" "$((USED - before))" "$(awk -v d="$((USED - before))" -v c="$got" 'BEGIN { print d / c }')"
done

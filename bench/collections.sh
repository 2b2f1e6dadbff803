#!/usr/bin/env bash
# Requests per run with collections walked, both ways: the default (every collection's feed
# walked every run) and the opt-in `collections.full_walk_every = "7d"` (a feed walked only when
# its /collections.json entry changed), on the fake storefront with membership changes between
# runs (release build, pacing off). Each mode gets a fresh fake (same seed, so the same
# catalogue and the same collections changed) and a fresh database:
#   1. first sync   2. unchanged re-sync
#   3. K collections gain a member (their products_count moves)
#   4. K collections swap a member (their entry stays exactly as it was)
#   5. 8 days later (the recorded walk times moved back): the full walk is due
#
#   bench/collections.sh                       # 25,000 products, K = 5
#   bench/collections.sh --products 2500 --changes 3 --no-build
#
# SHOPMIRROR_BENCH_BIN / SHOPMIRROR_BENCH_FAKE measure binaries built elsewhere.
# Prints Markdown on stdout; progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=25000
K=5
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --products) N=$2; shift 2 ;;
        --changes) K=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        *) echo "bench/collections.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in curl sqlite3 awk /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/collections.sh: needs $tool" >&2; exit 2; }
done
if [ "$BUILD" = 1 ]; then
    echo "building release binaries..." >&2
    (cd "$ROOT" && cargo build --release --quiet --bin shopmirror --example fakeshop)
fi
BIN=${SHOPMIRROR_BENCH_BIN:-$ROOT/target/release/shopmirror}
FAKE=${SHOPMIRROR_BENCH_FAKE:-$ROOT/target/release/examples/fakeshop}

WORK=$(mktemp -d)
FAKE_PID=""
stop_fake() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    FAKE_PID=""
}
cleanup() { stop_fake; rm -rf "$WORK"; }
trap cleanup EXIT
export SHOPMIRROR_HTTP__ALLOW_PRIVATE=true SHOPMIRROR_HTTP__MIN_DELAY=0s RUST_LOG=${RUST_LOG:-warn}

start_fake() {
    : >"$WORK/fake.out"
    "$FAKE" --port 0 --control-port 0 --products "$N" --cap 25000 >"$WORK/fake.out" 2>"$WORK/fake.err" &
    FAKE_PID=$!
    for _ in $(seq 1 6000); do
        grep -q '^control ' "$WORK/fake.out" && grep -q '^store ' "$WORK/fake.out" && break
        kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/fake.err" >&2; exit 1; }
        sleep 0.1
    done
    CTL=$(awk '/^control / { print $2 }' "$WORK/fake.out")
    URL=$(awk '/^store / { print $3; exit }' "$WORK/fake.out")
}

# run MODE LABEL: one sync of the store, one table row.
run() {
    local mode=$1 label=$2
    curl -sf -X POST "$CTL/_control/clear" >/dev/null
    /usr/bin/time -f '%U %S' -o "$WORK/time.out" \
        "$BIN" -q --db "$DB" --config "$WORK/$mode.toml" sync bench >/dev/null 2>"$WORK/sync.err" ||
        { cat "$WORK/sync.err" >&2; exit 1; }
    local cpu fake row
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time.out")
    fake=$(curl -sf "$CTL/_control/requests" | wc -l)
    row=$(sqlite3 -separator ' | ' "$DB" "
        SELECT r.status, r.requests, r.requests_listing, r.requests_collections,
               r.requests_sitemap + r.requests_single + r.requests_deletions,
               (SELECT count(*) FROM collection_changes c WHERE c.run_id = r.run_id)
        FROM sync_runs r ORDER BY r.run_id DESC LIMIT 1")
    echo "| $mode | $label | $row | $fake | $cpu |"
}

echo "$N products, one store, $K collections changed per step; commit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo ' (with uncommitted changes)'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| mode | run | status | requests | listing | collections | sitemap + single + deletions | membership changes recorded | fake's log | CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mode in default opt-in; do
    echo "$mode: starting the fake storefront ($N products)..." >&2
    start_fake
    DB=$WORK/$mode.db
    printf '[stores.bench]\nurl = "%s"\n' "$URL" >"$WORK/default.toml"
    printf '[collections]\nfull_walk_every = "7d"\n\n[stores.bench]\nurl = "%s"\n' "$URL" >"$WORK/opt-in.toml"
    echo "$mode: first sync" >&2
    run "$mode" "1. first sync"
    echo "$mode: unchanged re-sync" >&2
    run "$mode" "2. unchanged re-sync"
    changed=$(curl -sf -X POST "$CTL/_control/members?collections=$K")
    echo "$mode: $changed collections gained a member" >&2
    run "$mode" "3. $changed collections gained a member"
    changed=$(curl -sf -X POST "$CTL/_control/members?collections=$K&hidden=1")
    echo "$mode: $changed collections swapped a member" >&2
    run "$mode" "4. $changed collections swapped a member (entry unchanged)"
    sqlite3 "$DB" "UPDATE collection_walks SET walked_at = datetime(walked_at, '-8 days')"
    echo "$mode: 8 days later" >&2
    run "$mode" "5. 8 days later (full walk due)"
    stop_fake
done

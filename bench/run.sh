#!/usr/bin/env bash
# Benchmark harness: the release shopmirror against the fake storefront example, next to a curl
# floor that downloads exactly the same pages (replayed from the fake's request log).
#
#   bench/run.sh                        # N = 2500 25000 100000, then 200 stores x 500 products
#   bench/run.sh --sizes "2500" --no-stores
#   bench/run.sh --stores-only --concurrency "8 1"
#
# Options: --sizes "N..."  --cap C (fake's page*limit cap, default 25000)  --no-stores
#          --stores-only  --stores K  --store-products N  --concurrency "C..."
#          --floor-repeat R (curl floor: best of R after a warm-up pass, default 3)  --repeat R (each N's four runs
#          R times, fresh database each time, one row per run)  --listing-only (the sizes
#          table with the store's `collections = false`; default: collections walked)
#          --no-build  --keep DIR
# Prints Markdown tables on stdout; progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES="2500 25000 100000"
CAP=25000
RUN_SIZES=1
RUN_STORES=1
STORES=200
STORE_PRODUCTS=500
CONCURRENCY="8 1"
FLOOR_REPEAT=3
REPEAT=1
BUILD=1
KEEP=""
LISTING_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --cap) CAP=$2; shift 2 ;;
        --no-stores) RUN_STORES=0; shift ;;
        --stores-only) RUN_SIZES=0; shift ;;
        --stores) STORES=$2; shift 2 ;;
        --store-products) STORE_PRODUCTS=$2; shift 2 ;;
        --concurrency) CONCURRENCY=$2; shift 2 ;;
        --floor-repeat) FLOOR_REPEAT=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --listing-only) LISTING_ONLY=1; shift ;;
        --keep) KEEP=$2; shift 2 ;;
        *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

for tool in curl sqlite3 /usr/bin/time awk; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh: needs $tool" >&2; exit 2; }
done

if [ "$BUILD" = 1 ]; then
    echo "building release binaries..." >&2
    (cd "$ROOT" && cargo build --release --quiet --bin shopmirror --example fakeshop)
fi
# SHOPMIRROR_BENCH_BIN / SHOPMIRROR_BENCH_FAKE: measure binaries built elsewhere (e.g. a copy of
# main saved before a change), with --no-build.
BIN=${SHOPMIRROR_BENCH_BIN:-$ROOT/target/release/shopmirror}
FAKE=${SHOPMIRROR_BENCH_FAKE:-$ROOT/target/release/examples/fakeshop}

WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
FAKE_PID=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

export SHOPMIRROR_HTTP__ALLOW_PRIVATE=true SHOPMIRROR_HTTP__MIN_DELAY=0s
export RUST_LOG=${RUST_LOG:-warn}

now_ns() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# start_fake ARGS...: starts the fake, waits for its URLs; sets FAKE_PID, CTL, STORE_URLS.
start_fake() {
    local out=$WORK/fake.out
    : >"$out"
    "$FAKE" --port 0 --control-port 0 "$@" >"$out" 2>"$WORK/fake.err" &
    FAKE_PID=$!
    local want=$(( $(printf '%s\n' "$@" | awk 'p { print; exit } /^--stores$/ { p = 1 }') + 0 ))
    [ "$want" -gt 0 ] || want=1
    for _ in $(seq 1 6000); do
        if grep -q '^control ' "$out" && [ "$(grep -c '^store ' "$out")" -ge "$want" ]; then
            CTL=$(awk '/^control / { print $2 }' "$out")
            STORE_URLS=$(awk '/^store / { print $3 }' "$out")
            return 0
        fi
        kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/fake.err" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench/run.sh: fake storefront did not start" >&2
    exit 1
}

stop_fake() {
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=""
}

# timed_sync DB [--config FILE] [TARGET...]: runs shopmirror sync; sets WALL_NS, CPU, RSS_KB.
timed_sync() {
    local db=$1; shift
    local opts=()
    if [ "${1:-}" = --config ]; then opts=(--config "$2"); shift 2; fi
    local t0 t1
    t0=$(now_ns)
    if ! /usr/bin/time -f '%U %S %M' -o "$WORK/time.out" \
        "$BIN" -q --db "$db" "${opts[@]}" sync "$@" >"$WORK/sync.out" 2>"$WORK/sync.err"; then
        echo "bench/run.sh: shopmirror sync failed:" >&2
        cat "$WORK/sync.err" >&2
        exit 1
    fi
    t1=$(now_ns)
    WALL_NS=$((t1 - t0))
    read -r user sys RSS_KB < <(tail -n 1 "$WORK/time.out")
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# floor: curl fetches every logged request again, sequentially on one connection per host,
# into /dev/null; best of FLOOR_REPEAT after one untimed warm-up pass over the same pages (the
# fake renders pages on demand: a cold pass times the fake's own first work, not the network).
# Sets FLOOR_NS and FAKE_REQUESTS.
floor() {
    local log=$WORK/requests.tsv cfg=$WORK/curl.cfg
    curl -sf "$CTL/_control/requests" >"$log"
    FAKE_REQUESTS=$(wc -l <"$log")
    # Each logged line: store, ms, status, path. Store i's base URL is line i+1 of STORE_URLS.
    printf '%s\n' "$STORE_URLS" >"$WORK/bases"
    awk -F'\t' 'NR == FNR { base[NR - 1] = $0; next }
                { printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base[$1], $4 }' \
        "$WORK/bases" "$log" >"$cfg"
    FLOOR_NS=""
    curl -s -K "$cfg"
    for _ in $(seq 1 "$FLOOR_REPEAT"); do
        local t0 t1
        t0=$(now_ns)
        curl -s -K "$cfg"
        t1=$(now_ns)
        if [ -z "$FLOOR_NS" ] || [ $((t1 - t0)) -lt "$FLOOR_NS" ]; then FLOOR_NS=$((t1 - t0)); fi
    done
}

db_bytes() { local total=0 f; for f in "$1" "$1-wal"; do [ -f "$f" ] && total=$((total + $(stat -c %s "$f"))); done; echo "$total"; }

# one_scenario N LABEL DB: one sync of store 0 and its floor, one table row.
one_scenario() {
    local n=$1 label=$2 db=$3
    curl -sf -X POST "$CTL/_control/clear" >/dev/null
    if [ "$LISTING_ONLY" = 1 ]; then
        printf '[stores.bench]\nurl = "%s"\ncollections = false\n' \
            "$(printf '%s\n' "$STORE_URLS" | head -n 1)" >"$WORK/listing.toml"
        timed_sync "$db" --config "$WORK/listing.toml" bench
    else
        timed_sync "$db" "$(printf '%s\n' "$STORE_URLS" | head -n 1)"
    fi
    floor
    local run
    run=$(sqlite3 "$db" "SELECT max(run_id) FROM sync_runs")
    local row
    row=$(sqlite3 -separator ' ' "$db" "
        SELECT status, requests, products_new + products_changed + products_unchanged
               + products_restored, products_new, products_changed, products_unchanged,
          (SELECT count(*) FROM products WHERE written_run = $run),
          (SELECT count(*) FROM variants WHERE written_run = $run),
          (SELECT count(*) FROM images WHERE written_run = $run),
          (SELECT count(*) FROM options WHERE written_run = $run),
          (SELECT count(*) FROM product_versions WHERE run_id = $run)
        FROM sync_runs WHERE run_id = $run")
    local status requests seen new changed unchanged wp wv wi wo pv
    read -r status requests seen new changed unchanged wp wv wi wo pv <<<"$row"
    local wall floor_s ratio pps
    wall=$(secs "$WALL_NS")
    floor_s=$(secs "$FLOOR_NS")
    ratio=$(awk -v a="$WALL_NS" -v b="$FLOOR_NS" 'BEGIN { printf "%.2f", a / b }')
    pps=$(awk -v s="$seen" -v ns="$WALL_NS" 'BEGIN { printf "%.0f", s / (ns / 1e9) }')
    printf '| %s | %s | %s | %s | %sx | %s | %s (%s new, %s changed) | %s | %s / %s | %.1f | %.1f | %s/%s/%s/%s/%s | %s |\n' \
        "$n" "$label" "$wall" "$floor_s" "$ratio" "$CPU" "$seen" "$new" "$changed" "$pps" \
        "$requests" "$FAKE_REQUESTS" "$(awk -v k="$RSS_KB" 'BEGIN { print k / 1024 }')" \
        "$(awk -v b="$(db_bytes "$db")" 'BEGIN { print b / 1048576 }')" \
        "$wp" "$wv" "$wi" "$wo" "$pv" "$status"
}

machine() {
    echo "Machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo
}

sizes() {
    if [ "$LISTING_ONLY" = 1 ]; then echo "Listing only (\`collections = false\`)."; else echo "Collections walked (default settings)."; fi
    echo
    echo "| N | run | wall s | curl floor s | wall / floor | CPU s (user+sys) | products seen | products/s | requests (run / fake log) | peak RSS MiB | DB MiB | rows written this run: products/variants/images/options/versions | status |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    local n
    for n in $SIZES; do
        echo "N = $n: starting the fake storefront..." >&2
        start_fake --products "$n" --cap "$CAP"
        local db=$WORK/bench-$n.db rep changed
        for rep in $(seq 1 "$REPEAT"); do
            rm -f "$db" "$db-wal" "$db-shm"
            echo "N = $n ($rep/$REPEAT): full sync" >&2
            one_scenario "$n" "full sync" "$db"
            echo "N = $n ($rep/$REPEAT): re-sync, no change" >&2
            one_scenario "$n" "re-sync, no change" "$db"
            # Again: run id 1 is stored in zero bytes, so the first re-sync also grows every
            # products row by one byte; the second shows the steady state.
            echo "N = $n ($rep/$REPEAT): re-sync, no change, again" >&2
            one_scenario "$n" "re-sync, no change (2nd)" "$db"
            changed=$(curl -sf -X POST "$CTL/_control/mutate?percent=1")
            echo "N = $n ($rep/$REPEAT): re-sync after $changed products changed" >&2
            one_scenario "$n" "re-sync, 1% changed ($changed)" "$db"
        done
        stop_fake
    done
    echo
}

# overlap LOG: from the request log, the most stores with requests in flight at one time
# (a store's window runs from its first to its last request).
overlap() {
    awk -F'\t' '{ if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2; if ($2 > hi[$1]) hi[$1] = $2 }
        END { for (s in lo) { print lo[s], 1; print hi[s] + 0.5, -1 } }' "$1" |
        sort -n -k1,1 |
        awk '{ n += $2; if (n > m) m = n } END { print m + 0 }'
}

stores() {
    echo "Many stores: $STORES fake stores x $STORE_PRODUCTS products in one \`shopmirror sync\` process."
    echo
    echo "| sync.concurrent_stores | wall s | curl floor s (sequential) | CPU s | peak RSS MiB | requests (fake log) | products seen | runs complete | most stores with requests in flight at once | DB MiB |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    echo "$STORES stores: starting the fake storefronts..." >&2
    start_fake --stores "$STORES" --products "$STORE_PRODUCTS" --cap "$CAP"
    local c
    for c in $CONCURRENCY; do
        local cfg=$WORK/stores-$c.toml db=$WORK/stores-$c.db
        rm -f "$db" "$db-wal" "$db-shm"
        {
            printf '[http]\nallow_private = true\nmin_delay = "0s"\n\n[sync]\nconcurrent_stores = %s\n' "$c"
            printf '%s\n' "$STORE_URLS" | awk '{ printf "\n[stores.s%03d]\nurl = \"%s\"\n", NR - 1, $0 }'
        } >"$cfg"
        echo "$STORES stores, concurrent_stores = $c" >&2
        curl -sf -X POST "$CTL/_control/clear" >/dev/null
        timed_sync "$db" --config "$cfg"
        floor
        local row most
        row=$(sqlite3 -separator ' ' "$db" "SELECT sum(products_new + products_changed
            + products_unchanged), sum(status IN ('complete', 'capped')) FROM sync_runs")
        most=$(overlap "$WORK/requests.tsv")
        printf '| %s | %s | %s | %s | %.1f | %s | %s | %s | %s | %.1f |\n' "$c" \
            "$(secs "$WALL_NS")" "$(secs "$FLOOR_NS")" "$CPU" \
            "$(awk -v k="$RSS_KB" 'BEGIN { print k / 1024 }')" "$FAKE_REQUESTS" \
            "${row% *}" "${row#* }" "$most" \
            "$(awk -v b="$(db_bytes "$db")" 'BEGIN { print b / 1048576 }')"
    done
    stop_fake
    echo
}

machine
if [ "$RUN_SIZES" = 1 ]; then sizes; fi
if [ "$RUN_STORES" = 1 ]; then stores; fi

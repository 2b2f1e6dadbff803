#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of a full sync and a no-change re-sync of one fake
# store, on a fresh database: a deterministic figure to compare two builds with, where wall and
# CPU times on a shared machine are noise.
#
#   bench/callgrind.sh [--products N] [--collections] [--bin DIR]
#
# --products N   catalogue size (default 2500)
# --collections  walk collections too (default: the store's `collections = false`)
# --bin DIR      a target/release folder holding shopmirror and examples/fakeshop (default: this
#                checkout's, built first)
# Prints one Markdown row: products, feed, full-sync and re-sync instructions (millions).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PRODUCTS=2500
COLLECTIONS=false
BIN_DIR=""
while [ $# -gt 0 ]; do
    case "$1" in
        --products) PRODUCTS=$2; shift 2 ;;
        --collections) COLLECTIONS=true; shift ;;
        --bin) BIN_DIR=$2; shift 2 ;;
        *) echo "bench/callgrind.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "bench/callgrind.sh: needs valgrind" >&2; exit 2; }
if [ -z "$BIN_DIR" ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin shopmirror --example fakeshop)
    BIN_DIR=$ROOT/target/release
fi

WORK=$(mktemp -d)
FAKE_PID=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN_DIR/examples/fakeshop" --port 0 --control-port 0 --products "$PRODUCTS" >"$WORK/fake.out" 2>"$WORK/fake.err" &
FAKE_PID=$!
for _ in $(seq 1 600); do
    grep -q '^store ' "$WORK/fake.out" && break
    kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/fake.err" >&2; exit 1; }
    sleep 0.1
done
URL=$(awk '/^store / { print $3 }' "$WORK/fake.out")
printf '[http]\nallow_private = true\nmin_delay = "0s"\n\n[stores.s]\nurl = "%s"\ncollections = %s\n' \
    "$URL" "$COLLECTIONS" >"$WORK/config.toml"

counts=()
for run in full resync; do
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$run" \
        "$BIN_DIR/shopmirror" -q --config "$WORK/config.toml" --db "$WORK/mirror.db" sync \
        >/dev/null 2>"$WORK/valgrind.$run" \
        || { cat "$WORK/valgrind.$run" >&2; exit 1; }
    refs=$(awk '/I +refs:/ { gsub(",", "", $NF); print $NF }' "$WORK/valgrind.$run")
    counts+=("$(awk -v r="$refs" 'BEGIN { printf "%.1f", r / 1e6 }')")
done
feed=$([ "$COLLECTIONS" = true ] && echo "collections walked" || echo "listing only")
echo "| $PRODUCTS | $feed | ${counts[0]} | ${counts[1]} |"

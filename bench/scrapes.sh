#!/usr/bin/env bash
# /metrics under concurrent scrapes and after a reload that removes most stores
# (BENCHMARKS.md, "Scrapes").
#
#   bench/scrapes.sh [--bin FILE] [--stores K] [--concurrent C]
#
# Starts the daemon (default target/release/shopmirror) with K configured stores (default
# 1,000) whose URLs refuse connections (every series exists from the first scrape; the runs fail
# and back off), waits until /metrics shows every store, then reports the daemon's RSS before,
# its peak RSS (VmHWM) after C concurrent scrapes (default 100), its RSS after them, and how many
# of them failed. Then rewrites the config with one store, reloads (SIGHUP) and reports the
# daemon's CPU seconds per scrape over 20 sequential scrapes. Needs curl and xargs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release/shopmirror
STORES=1000
CONCURRENT=100
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --stores) STORES=$2; shift 2 ;;
        --concurrent) CONCURRENT=$2; shift 2 ;;
        *) echo "bench/scrapes.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
WORK=$(mktemp -d)
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

config() {
    {
        printf '[database]\npath = "%s/m.db"\n' "$WORK"
        printf '[http]\nallow_private = true\n'
        printf '[daemon]\nlisten = "127.0.0.1:0"\nschedule = "0 0 0 1 1 *"\n'
        for i in $(seq 1 "$1"); do printf '[stores.s%04d]\nurl = "http://127.0.0.1:9/"\n' "$i"; done
    } >"$WORK/config.toml"
}

config "$STORES"
RUST_LOG=info "$BIN" --config "$WORK/config.toml" daemon >/dev/null 2>"$WORK/daemon.err" &
PID=$!
ADDR=""
for _ in $(seq 1 600); do
    ADDR=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/daemon.err" | head -n 1 || true)
    [ -n "$ADDR" ] && break
    sleep 0.1
done
[ -n "$ADDR" ] || { echo "bench/scrapes.sh: the daemon did not start" >&2; cat "$WORK/daemon.err" >&2; exit 1; }
last=$(printf 's%04d' "$STORES")
for _ in $(seq 1 600); do
    curl -sf "$ADDR/metrics" | grep -q "store=\"$last\"" && break
    sleep 0.2
done
status() { awk -v k="$1" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
body=$(curl -sf "$ADDR/metrics" | wc -c)
echo "stores: $STORES; /metrics body: $((body / 1024)) KiB"
echo "RSS before: $(status VmRSS) MiB"
seq 1 "$CONCURRENT" | xargs -P "$CONCURRENT" -I{} sh -c \
    "curl -s -o /dev/null -m 30 -w '%{http_code}\n' '$ADDR/metrics'" >"$WORK/codes"
echo "$CONCURRENT concurrent scrapes: $(grep -c '^200$' "$WORK/codes") answered 200;" \
    "peak RSS (VmHWM) $(status VmHWM) MiB; RSS after $(status VmRSS) MiB"

config 1
kill -HUP "$PID"
for _ in $(seq 1 600); do
    curl -sf "$ADDR/metrics" | grep -q 'store="s0002"' || break
    sleep 0.2
done
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
before=$(cpu)
for _ in $(seq 1 20); do curl -sf "$ADDR/metrics" >/dev/null; sleep 1.1; done
after=$(cpu)
echo "after a reload removing $((STORES - 1)) stores: daemon CPU per scrape" \
    "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz / 20 }') s" \
    "(20 scrapes 1.1 s apart, each a fresh render)"

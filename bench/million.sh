#!/usr/bin/env bash
# The million-product database and its readers (BENCHMARKS.md, "A million products").
#
#   bench/million.sh build   [--db FILE] [--products N] [--seed-products S] [--bin F] [--fake F]
#   bench/million.sh measure [--db FILE] [--bin FILE]
#   bench/million.sh sizes   [--db FILE]
#   bench/million.sh copy    [--db FILE] [--products N] [--seed-products S]   (the copying alone)
# --bin: the shopmirror binary (default target/release/shopmirror, built when missing);
# --fake: the fake storefront example (default target/release/examples/fakeshop).
#
# build: syncs a fake store of S products (default 10,000) for real with the release binary
# (collections walked), changes 2% of its prices and syncs again, twice, so every table a sync
# writes has rows (versions, events, variant changes, collection members and changes). Then
# copies those rows N/S - 1 times inside SQLite (default N = 1,000,000), each copy with
# product, variant and image ids moved by k * 10^14, handles suffixed "-k" and collection
# positions moved past the earlier copies: one store of N products, as a sync would have left
# it. Ends with `PRAGMA optimize`, as every run does. Default DB: /tmp/shopmirror-million.db
# (about ten gigabytes; keep it out of git).
#
# measure: runs `status`, `status --json`, `stores list`, `history`, every export format and
# filter, and every query of the README's "Querying the mirror" (with sqlite3 -readonly), each
# twice (the second, warm run is reported), under GNU time: wall seconds, peak RSS, and for
# exports the time to the first line. Prints a Markdown table.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-}
[ -n "$MODE" ] && shift
DB=/tmp/shopmirror-million.db
PRODUCTS=1000000
SEED=10000
BIN=$ROOT/target/release/shopmirror
FAKE=$ROOT/target/release/examples/fakeshop
while [ $# -gt 0 ]; do
    case "$1" in
        --db) DB=$2; shift 2 ;;
        --products) PRODUCTS=$2; shift 2 ;;
        --seed-products) SEED=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --fake) FAKE=$2; shift 2 ;;
        *) echo "bench/million.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in curl sqlite3 /usr/bin/time awk; do
    command -v "$tool" >/dev/null || { echo "bench/million.sh: needs $tool" >&2; exit 2; }
done
export SHOPMIRROR_HTTP__ALLOW_PRIVATE=true SHOPMIRROR_HTTP__MIN_DELAY=0s RUST_LOG=warn

# The columns of TABLE as the copy K writes them (INTEGER PRIMARY KEY columns left out, so they
# are numbered afresh); prints "cols|exprs".
copy_columns() {
    local table=$1 k=$2 pos=$3
    sqlite3 "$DB" "SELECT name, pk, type, (SELECT count(*) FROM pragma_table_info('$table')
                   WHERE pk > 0) FROM pragma_table_info('$table')" | awk -F'|' \
        -v t="$table" -v k="$k" -v pos="$pos" '
        $2 == 1 && $4 == 1 && $3 == "INTEGER" { next }
        {
            e = $1
            if ($1 == "product_id" || $1 == "variant_id" || $1 == "image_id" \
                || $1 == "featured_image_id") e = $1 " + " k " * 100000000000000"
            else if ($1 == "handle" && t == "products") e = "handle || \x27-" k "\x27"
            else if ($1 == "position" && t == "collection_products") e = "position + " k " * " pos
            cols = cols (cols ? ", " : "") $1; exprs = exprs (exprs ? ", " : "") e
        }
        END { print cols "|" exprs }'
}

build() {
    [ -e "$DB" ] && { echo "bench/million.sh: $DB exists; remove it first" >&2; exit 2; }
    if [ ! -x "$BIN" ] || [ ! -x "$FAKE" ]; then
        (cd "$ROOT" && cargo build --release --quiet --bin shopmirror --example fakeshop)
    fi
    local work
    work=$(mktemp -d)
    "$FAKE" --products "$SEED" --port 0 --control-port 0 \
        >"$work/fake.out" 2>"$work/fake.err" &
    local fake=$!
    trap 'kill $fake 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 1 600); do grep -q '^control ' "$work/fake.out" && break; sleep 0.1; done
    local ctl url
    ctl=$(awk '/^control / { print $2 }' "$work/fake.out")
    url=$(awk '/^store / { print $3 }' "$work/fake.out")
    printf '[stores.big]\nurl = "%s"\n' "$url" >"$work/config.toml"
    local t0=$SECONDS
    "$BIN" -q --config "$work/config.toml" --db "$DB" sync big
    for _ in 1 2; do
        curl -sf -X POST "$ctl/_control/mutate?percent=2" >/dev/null
        "$BIN" -q --config "$work/config.toml" --db "$DB" sync big
    done
    echo "seed store synced ($SEED products, three runs) in $((SECONDS - t0)) s" >&2
    copy
}

# copy: the seed's product rows copied PRODUCTS / SEED - 1 times.
copy() {
    local big
    big=$(sqlite3 "$DB" "SELECT max(product_id, (SELECT max(variant_id) FROM variants),
        (SELECT max(image_id) FROM images)) FROM products ORDER BY product_id DESC LIMIT 1")
    [ "$big" -lt 100000000000000 ] || { echo "bench/million.sh: ids too large to copy" >&2; exit 1; }
    local pos copies=$((PRODUCTS / SEED - 1)) k table spec t0
    pos=$(sqlite3 "$DB" "SELECT coalesce(max(position), 0) FROM collection_products")
    local tables="products product_seen variants images options product_versions product_events
        variant_changes collection_products collection_changes"
    t0=$SECONDS
    for k in $(seq 1 "$copies"); do
        {
            echo "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; BEGIN;"
            for table in $tables; do
                spec=$(copy_columns "$table" "$k" "$pos")
                echo "INSERT INTO $table (${spec%%|*}) SELECT ${spec#*|} FROM $table
                      WHERE product_id < 100000000000000;"
            done
            echo "COMMIT;"
        } | sqlite3 "$DB"
        [ $((k % 10)) = 0 ] && echo "copy $k of $copies ($((SECONDS - t0)) s)" >&2
    done
    sqlite3 "$DB" "PRAGMA analysis_limit = 400; PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    echo "built $DB in $((SECONDS - t0)) s of copying" >&2
    sizes
}

sizes() {
    echo "| table | rows |"
    echo "|---|---|"
    local t
    for t in products variants images options product_versions product_events variant_changes \
        collections collection_products collection_changes sync_runs; do
        echo "| $t | $(sqlite3 -readonly "$DB" "SELECT count(*) FROM $t") |"
    done
    echo
    echo "Database file: $(du -BM --apparent-size "$DB" | cut -f1)iB, schema version $(sqlite3 -readonly "$DB" 'PRAGMA user_version')."
}

# timed LABEL CMD...: runs CMD twice (stdout to /dev/null), reports the second run.
timed() {
    local label=$1; shift
    local out
    out=$(mktemp)
    for _ in 1 2; do
        /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$out.err" \
            || { echo "bench/million.sh: $label failed: $(cat "$out.err")" >&2; }
    done
    local wall rss
    read -r wall rss < <(tail -n 1 "$out")
    local first="-"
    if [ "${FIRST:-0}" = 1 ]; then
        local t0 t1
        t0=$(date +%s%N)
        "$@" 2>/dev/null | head -n 2 >/dev/null || true
        t1=$(date +%s%N)
        first=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", ns / 1e9 }')
    fi
    printf '| %s | %s | %s | %.1f |\n' "$label" "$wall" "$first" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
    rm -f "$out" "$out.err"
}

query() { timed "$1" sqlite3 -readonly "$DB" "$2"; }

measure() {
    [ -e "$DB" ] || { echo "bench/million.sh: no $DB; run build first" >&2; exit 2; }
    local store handle collection since
    store=$(sqlite3 -readonly "$DB" "SELECT name FROM stores LIMIT 1")
    handle=$(sqlite3 -readonly "$DB" "SELECT p.handle FROM variant_changes c JOIN products p
        USING (store_id, product_id) ORDER BY c.change_id DESC LIMIT 1")
    collection=$(sqlite3 -readonly "$DB" "SELECT c.handle FROM collections c
        JOIN collection_products cp USING (store_id, collection_id)
        GROUP BY c.collection_id ORDER BY count(*) DESC LIMIT 1")
    since=$(sqlite3 -readonly "$DB" "SELECT max(content_changed_at) FROM products")
    echo "Store \`$store\`, product \`$handle\`, collection \`$collection\` (the largest), changed since \`$since\`."
    echo
    echo "| reader | wall s | first line s | peak RSS MiB |"
    echo "|---|---|---|---|"
    local m=("$BIN" --db "$DB")
    timed "status" "${m[@]}" status
    timed "status --json" "${m[@]}" status --json
    timed "stores list" "${m[@]}" stores list
    timed "history $store $handle" "${m[@]}" history "$store" "$handle"
    FIRST=1 timed "export (csv)" "${m[@]}" export --force --output -
    FIRST=1 timed "export --variants" "${m[@]}" export --variants --force --output -
    FIRST=1 timed "export --format jsonl" "${m[@]}" export --format jsonl --force --output -
    FIRST=1 timed "export --format shopify-csv" "${m[@]}" export --format shopify-csv --force --output -
    FIRST=1 timed "export --store $store --include-deleted" "${m[@]}" export --store "$store" --include-deleted --force --output -
    FIRST=1 timed "export --collection $collection" "${m[@]}" export --collection "$collection" --force --output -
    FIRST=1 timed "export --changed-since '$since'" "${m[@]}" export --changed-since "$since" --force --output -
    query "README: the current catalogue" \
        "SELECT store, handle, title, vendor, product_type FROM current_products ORDER BY store, title;"
    query "README: ten cheapest in-stock variants of one store" \
        "SELECT handle, title, price, compare_at_price FROM current_variants
         WHERE store = '$store' AND available = 1 ORDER BY price_cents LIMIT 10;"
    query "README: variants on sale" \
        "SELECT handle, price, compare_at_price,
                round(100.0 * (compare_at_price_cents - price_cents) / compare_at_price_cents) AS pct_off
         FROM current_variants WHERE compare_at_price_cents > price_cents ORDER BY pct_off DESC;"
    query "README: the last run of each store" \
        "SELECT s.name, r.run_id, r.status, r.products_new, r.products_changed,
                r.products_unchanged, r.products_deleted, r.started_at, r.finished_at
         FROM sync_runs r JOIN stores s USING (store_id)
         WHERE r.run_id = (SELECT max(run_id) FROM sync_runs WHERE store_id = r.store_id);"
    query "README: what changed in the last run" \
        "SELECT store, handle, title, event, observed_at FROM product_changes
         WHERE run_id = (SELECT max(run_id) FROM sync_runs) ORDER BY observed_at;"
    query "README: price drops in the last 7 days" \
        "SELECT store, handle, variant_id, old_price, new_price, observed_at FROM price_changes
         WHERE new_cents < old_cents AND observed_at >= datetime('now', '-7 days')
         ORDER BY observed_at DESC;"
    query "README: products added and removed since a date" \
        "SELECT store, handle, title, event, observed_at FROM product_changes
         WHERE event IN ('added', 'deleted') AND observed_at >= '2026-11-01' ORDER BY observed_at;"
    query "README: out-of-stock variants" \
        "SELECT store, handle, product_title, title, sku FROM out_of_stock_variants;"
    query "README: variant history of one product" \
        "SELECT observed_at, variant_id, field, old_value, new_value FROM variant_history
         WHERE store = '$store' AND handle = '$handle' ORDER BY observed_at DESC;"
    query "README: product history of one product" \
        "SELECT version_id, first_observed_at, last_observed_at, is_current FROM product_history
         WHERE store = '$store' AND handle = '$handle';"
    query "README: collection contents" \
        "SELECT position, handle, title FROM collection_contents
         WHERE store = '$store' AND collection_handle = '$collection' ORDER BY position;"
    query "README: latest membership changes" \
        "SELECT c.handle, cc.product_id, cc.change, cc.observed_at
         FROM collection_changes cc JOIN collections c USING (store_id, collection_id)
         ORDER BY cc.observed_at DESC LIMIT 20;"
}

case "$MODE" in
    build) build ;;
    copy) copy ;;
    measure) measure ;;
    sizes) sizes ;;
    *) echo "usage: bench/million.sh build|measure|sizes [--db FILE] [--products N] [--seed-products S] [--bin FILE]" >&2; exit 2 ;;
esac

#!/usr/bin/env python3
# bench/zstd_versions.py MIRROR.db  (needs: pip install zstandard)
# Measures what zstd would save on superseded product versions: each product's raw_json of a
# 25,000-product mirror stands in for one superseded version (the versions table keeps exactly
# that text). Per-row zstd (level 3 and 19) and zstd with a 112 KiB dictionary trained on 2,000
# of the store's products.
import sqlite3, sys, time, zstandard, random
db = sqlite3.connect(sys.argv[1])
rows = [r[0].encode() for r in db.execute("SELECT raw_json FROM products")]
total = sum(map(len, rows))
print(f"rows {len(rows)}  raw_json bytes {total:,}  mean {total/len(rows):,.0f}")
for level in (3, 19):
    c = zstandard.ZstdCompressor(level=level)
    t = time.time(); out = sum(len(c.compress(r)) for r in rows); dt = time.time() - t
    print(f"per-row zstd -{level}: {out:,} bytes ({total/out:.2f}x), {dt:.2f} s")
random.seed(1)
sample = random.sample(rows, 2000)
d = zstandard.train_dictionary(112 * 1024, sample)
for level in (3, 19):
    c = zstandard.ZstdCompressor(level=level, dict_data=d)
    t = time.time(); out = sum(len(c.compress(r)) for r in rows); dt = time.time() - t
    print(f"dictionary zstd -{level}: {out:,} bytes + {len(d.as_bytes()):,} dictionary ({total/out:.2f}x), {dt:.2f} s")
dec = zstandard.ZstdDecompressor(dict_data=d)
c = zstandard.ZstdCompressor(level=3, dict_data=d)
blobs = [c.compress(r) for r in rows[:5000]]
t = time.time(); [dec.decompress(b) for b in blobs]; dt = time.time() - t
print(f"decompress 5,000 rows with the dictionary: {dt*1000:.0f} ms")

//! Hostile response bodies for fault injection: gzip bomb, deep nesting, invalid UTF-8,
//! oversized and truncated bodies.

use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};

/// A gzip member that inflates to `{"products":[` + `n` spaces + `]}` (valid JSON when fully
/// decompressed). Hand-written deflate: 2 bits per 258 bytes (~1:1000).
pub fn gzip_bomb(n: usize) -> Bytes {
    static CACHE: OnceLock<Mutex<Vec<(usize, Bytes)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some((_, b)) = cache.lock().unwrap().iter().find(|(k, _)| *k == n) {
        return b.clone();
    }
    let head = br#"{"products":["#;
    let tail = b"]}";
    let mut w = BitWriter::default();
    let fixed_lit = |w: &mut BitWriter, b: u8| {
        if b < 144 {
            w.code(0x30 + b as u32, 8)
        } else {
            w.code(0x190 + (b as u32 - 144), 9)
        }
    };
    // Block 1: fixed Huffman, the JSON head.
    w.bits(0, 1);
    w.bits(0b01, 2);
    head.iter().for_each(|&b| fixed_lit(&mut w, b));
    w.code(0, 7);
    // Block 2: dynamic Huffman where length 258 (285) and distance 1 have 1-bit codes:
    // lit/len lengths {32: 2, 256: 2, 285: 1}, one distance code of length 1.
    w.bits(0, 1);
    w.bits(0b10, 2);
    w.bits(29, 5); // HLIT: 286 codes
    w.bits(0, 5); // HDIST: 1 code
    w.bits(14, 4); // HCLEN: 18 code-length codes
                   // order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1: lengths 18->1, 2->2, 1->2
    for l in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        w.bits(l, 3);
    }
    // code-length codes: 18 = "0", 1 = "10", 2 = "11"
    let zeros = |w: &mut BitWriter, n: u32| {
        w.code(0, 1);
        w.bits(n - 11, 7);
    };
    zeros(&mut w, 32); // 0..=31
    w.code(0b11, 2); // 32: length 2
    zeros(&mut w, 138); // 33..=170
    zeros(&mut w, 85); // 171..=255
    w.code(0b11, 2); // 256: length 2
    zeros(&mut w, 28); // 257..=284
    w.code(0b10, 2); // 285: length 1
    w.code(0b10, 2); // distance 0: length 1
                     // lit/len codes: 285 = "0", 32 = "10", 256 = "11"; distance 0 = "0"
    let mut left = n;
    if left > 0 {
        w.code(0b10, 2);
        left -= 1;
    }
    while left >= 258 {
        w.code(0, 1);
        w.code(0, 1);
        left -= 258;
    }
    for _ in 0..left {
        w.code(0b10, 2);
    }
    w.code(0b11, 2);
    // Block 3 (final): fixed Huffman, the JSON tail.
    w.bits(1, 1);
    w.bits(0b01, 2);
    tail.iter().for_each(|&b| fixed_lit(&mut w, b));
    w.code(0, 7);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend(w.finish());
    let mut crc = Crc::default();
    crc.feed(head);
    crc.feed_repeat(b' ', n);
    crc.feed(tail);
    out.extend(crc.value().to_le_bytes());
    out.extend(((head.len() + n + tail.len()) as u32).to_le_bytes());
    let b = Bytes::from(out);
    cache.lock().unwrap().push((n, b.clone()));
    b
}

#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Writes `len` bits of `v`, least significant first (header fields).
    fn bits(&mut self, v: u32, len: u32) {
        self.acc |= (v as u64) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// Writes a Huffman code, most significant bit first.
    fn code(&mut self, c: u32, len: u32) {
        let rev = c.reverse_bits() >> (32 - len);
        self.bits(rev, len);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

struct Crc {
    table: [u32; 256],
    c: u32,
}

impl Default for Crc {
    fn default() -> Self {
        let mut table = [0u32; 256];
        for (i, t) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *t = c;
        }
        Crc { table, c: !0 }
    }
}

impl Crc {
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            self.c = self.table[((self.c ^ b as u32) & 0xff) as usize] ^ (self.c >> 8);
        }
    }
    fn feed_repeat(&mut self, b: u8, n: usize) {
        for _ in 0..n {
            self.c = self.table[((self.c ^ b as u32) & 0xff) as usize] ^ (self.c >> 8);
        }
    }
    fn value(&self) -> u32 {
        !self.c
    }
}

/// Stands for a deeply nested value in a product until its JSON text is written.
pub const DEEP_MARK: &str = "@@deep-nesting@@";

/// `{"products":[[[[…]]]]}` nested `depth` levels.
pub fn deep_nesting(depth: usize) -> String {
    format!(
        "{{\"products\":[{}{}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// Puts invalid UTF-8 (0xFF 0xFE) inside the first JSON string value after `"title":"`.
pub fn invalid_utf8(body: &[u8]) -> Vec<u8> {
    let key = b"\"title\":\"";
    let at = body
        .windows(key.len())
        .position(|w| w == key)
        .map_or(body.len().min(2), |p| p + key.len());
    let mut out = body[..at].to_vec();
    out.extend([0xff, 0xfe]);
    out.extend(&body[at..]);
    out
}

/// A valid `{"products":[...]}` body of at least `bytes` bytes made of copies of `product`,
/// streamed (chunked, no Content-Length) without holding it in memory.
pub fn oversized(product: String, bytes: usize) -> Body {
    let product = Bytes::from(product + ",");
    let copies = bytes / product.len().max(1) + 1;
    let head = std::iter::once(Bytes::from_static(br#"{"products":["#));
    let body = std::iter::repeat_n(product, copies);
    let tail = std::iter::once(Bytes::from_static(b"{}]}"));
    let chunks = head.chain(body).chain(tail).map(Ok::<_, std::io::Error>);
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// Sends the first half of `body`, then fails the stream so the connection is closed
/// while the declared Content-Length is still owed.
pub fn cut_then_close(body: Bytes) -> Body {
    let half = body.slice(..body.len() / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated",
        )),
    ];
    Body::from_stream(futures_util::stream::iter(chunks))
}

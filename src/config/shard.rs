//! Splitting a store list across instances: `shard = "I/N"` keeps the stores whose name
//! hashes to shard I of N (1-based). The hash is FNV-1a (64 bit) of the name's UTF-8 bytes, so
//! every instance on every machine and every build agrees without coordination.

use std::fmt;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `"I/N"` with 1 <= I <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} must look like \"I/N\" with 1 <= I <= N, e.g. \"2/4\"");
        let (index, count) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The 1-based shard a store name belongs to among `count`.
    pub fn of(name: &str, count: u32) -> u32 {
        (fnv1a(name.as_bytes()) % u64::from(count.max(1))) as u32 + 1
    }

    /// True when `name` belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        Shard::of(name, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bit: stable across processes, machines and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse(" 2/4 "), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_is_the_published_fnv1a() {
        // Reference values of FNV-1a 64: a stable hash, not Rust's randomized one.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            Shard::of("a", 4),
            (0xaf63_dc4c_8601_ec8c_u64 % 4) as u32 + 1
        );
    }

    #[test]
    fn every_store_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..200).map(|i| format!("store-{i}")).collect();
        let shards: Vec<Shard> = (1..=4).map(|index| Shard { index, count: 4 }).collect();
        let mut sizes = [0; 4];
        for name in &names {
            let owners: Vec<_> = shards.iter().filter(|s| s.contains(name)).collect();
            assert_eq!(owners.len(), 1, "{name}");
            sizes[owners[0].index as usize - 1] += 1;
        }
        // A usable split: no shard is empty or holds most of the stores.
        assert!(sizes.iter().all(|&n| (25..=75).contains(&n)), "{sizes:?}");
        assert!(Shard { index: 1, count: 1 }.contains("anything"));
    }
}

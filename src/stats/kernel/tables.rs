//! Count tables of 16-bit keys (with the plain and lane layouts described in `kernel`) and of
//! byte codes, and the loops that fill them.

use super::BLOCK;
use crate::decode::groups;
use crate::stats::prefetch;

/// Something that counts 16-bit keys; `lane` is the value's position modulo 4.
pub(crate) trait Counter {
    fn bump(&mut self, key: usize, lane: usize);
}

/// One counter per key.
pub(crate) type Plain = [u32; 1 << 16];
/// Four counters per key.
pub(crate) type Lanes = [[u32; 4]; 1 << 16];

impl Counter for Plain {
    #[inline(always)]
    fn bump(&mut self, key: usize, _lane: usize) {
        self[key & 0xFFFF] += 1;
    }
}

impl Counter for Lanes {
    #[inline(always)]
    fn bump(&mut self, key: usize, lane: usize) {
        self[key & 0xFFFF][lane & 3] += 1;
    }
}

/// Counts per 16-bit key in the two layouts described in the module documentation.
pub(crate) struct KeyTable {
    plain: Box<Plain>,
    lanes: Box<Lanes>,
    lanes_used: bool,
    /// Whether the last block looked crowded: the next one goes to the lane table.
    crowded: bool,
}

impl KeyTable {
    pub fn new() -> KeyTable {
        let plain = vec![0u32; 1 << 16].into_boxed_slice().try_into();
        let lanes = vec![[0u32; 4]; 1 << 16].into_boxed_slice().try_into();
        KeyTable {
            plain: plain.unwrap_or_else(|_| unreachable!("2^16 counters")),
            lanes: lanes.unwrap_or_else(|_| unreachable!("2^16 counters")),
            lanes_used: false,
            crowded: false,
        }
    }

    /// The table to count the next block into.
    pub fn pick(&mut self) -> Layout<'_> {
        if self.crowded {
            self.lanes_used = true;
            Layout::Lanes(&mut self.lanes)
        } else {
            Layout::Plain(&mut self.plain)
        }
    }

    /// Looks at a block just counted (its bytes are in L1 now; sampling it before counting costs
    /// 32 cache misses) to choose the layout of the next one, given the key at each position.
    pub fn observe(&mut self, n: usize, key: impl Fn(usize) -> usize) {
        self.crowded = crowded(n, key);
    }

    /// Counts the 16-bit little-endian codes of `bytes` (even length).
    pub fn count_codes16(&mut self, bytes: &[u8]) {
        for codes in bytes.chunks(2 * BLOCK) {
            match self.pick() {
                Layout::Plain(t) => count16(codes, t),
                Layout::Lanes(t) => count16(codes, t),
            }
            self.observe(codes.len() / 2, |i| {
                usize::from(u16::from_le_bytes([codes[2 * i], codes[2 * i + 1]]))
            });
        }
    }

    /// The non-zero counts as `(key, count)` in key order, leaving the table zeroed.
    pub fn drain(&mut self) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        // Sixteen keys (64 bytes) at a time: most groups of a sparse table are empty.
        for (group, counts) in self.plain.chunks_exact_mut(16).enumerate() {
            if counts.iter().all(|&c| c == 0) {
                continue;
            }
            for (i, c) in counts.iter_mut().enumerate() {
                if *c != 0 {
                    out.push(((group * 16 + i) as u32, u64::from(*c)));
                    *c = 0;
                }
            }
        }
        if !self.lanes_used {
            return out;
        }
        self.lanes_used = false;
        let mut lanes = Vec::new();
        for (key, c) in self.lanes.iter_mut().enumerate() {
            let n: u64 = c.iter().map(|&x| u64::from(x)).sum();
            if n != 0 {
                lanes.push((key as u32, n));
                *c = [0; 4];
            }
        }
        merge_sorted(&out, &lanes)
    }
}

/// The two tables, as a block's loop sees them.
pub(crate) enum Layout<'a> {
    Plain(&'a mut Plain),
    Lanes(&'a mut Lanes),
}

/// Whether one key is frequent enough in a block of `n` values to slow the plain table: 16 evenly
/// spaced samples are matched against two of them and against zero (either sign); a quarter of
/// matches is crowded.
fn crowded(n: usize, key: impl Fn(usize) -> usize) -> bool {
    if n < 64 {
        return false;
    }
    let sample: [usize; 16] = std::array::from_fn(|i| key(i * (n / 16)));
    let hits = |target: usize| sample.iter().filter(|&&k| k == target).count();
    let zeros = sample.iter().filter(|&&k| k & 0x7FFF == 0).count();
    zeros >= 4 || hits(sample[0]) >= 4 || hits(sample[8]) >= 4
}

/// Four codes per 64-bit load: the loop is bound by memory operations (a load and a store per
/// increment), and loading codes one by one would add a third. One prefetch per 64-byte line.
fn count16(codes: &[u8], t: &mut impl Counter) {
    let lines = codes.chunks_exact(prefetch::LINE);
    let rest = lines.remainder();
    for (i, line) in lines.enumerate() {
        prefetch::ahead(codes, prefetch::LINE * i);
        for w in groups::<8>(line) {
            let w = u64::from_le_bytes(w);
            t.bump(w as usize & 0xFFFF, 0);
            t.bump((w >> 16) as usize & 0xFFFF, 1);
            t.bump((w >> 32) as usize & 0xFFFF, 2);
            t.bump((w >> 48) as usize, 3);
        }
    }
    for (i, c) in groups::<2>(rest).enumerate() {
        t.bump(usize::from(u16::from_le_bytes(c)), i);
    }
}

/// Two lists sorted by key, summed into one.
pub(crate) fn merge_sorted(a: &[(u32, u64)], b: &[(u32, u64)]) -> Vec<(u32, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
                (x.0, x.1 + y.1)
            }
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

/// A lane-interleaved count table for codes of up to 8 bits (`code << 2 | lane`): byte data is
/// often crowded (masks, BOOL), and the table is small enough to be drained per piece.
pub(crate) type Table8 = [u32; 1024];

/// Counts byte codes into `table`.
pub(crate) fn count_codes8(bytes: &[u8], table: &mut Table8) {
    let rest = bytes.chunks_exact(8).remainder();
    for (i, w) in groups::<8>(bytes).enumerate() {
        if i % (prefetch::LINE / 8) == 0 {
            prefetch::ahead(bytes, 8 * i);
        }
        let v = u64::from_le_bytes(w);
        for lane in 0..8 {
            table[((v >> (8 * lane) & 0xFF) << 2) as usize | (lane & 3)] += 1;
        }
    }
    for (lane, &b) in rest.iter().enumerate() {
        table[(usize::from(b) << 2) | (lane & 3)] += 1;
    }
}

/// Counts unpacked codes (one per byte) into `table`.
pub(crate) fn count_unpacked(codes: &[u8], table: &mut Table8) {
    for (i, &c) in codes.iter().enumerate() {
        table[(usize::from(c) << 2) | (i & 3)] += 1;
    }
}

/// The non-zero counts of the first `2^bits` codes of a [`Table8`], in code order, leaving the
/// table zeroed.
pub(crate) fn drain8(table: &mut Table8, bits: u32) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let used = 4usize << bits;
    // Four codes (64 bytes) at a time: most groups of a sparse table are empty.
    for (group, lanes) in table[..used].chunks_exact_mut(16).enumerate() {
        if lanes.iter().all(|&c| c == 0) {
            continue;
        }
        for (i, code) in lanes.chunks_exact_mut(4).enumerate() {
            let n: u64 = code.iter().map(|&c| u64::from(c)).sum();
            if n != 0 {
                out.push(((group * 4 + i) as u32, n));
                code.fill(0);
            }
        }
    }
    out
}

/// A counter that counts nothing (for sums without keys).
pub(crate) struct NoCount;

impl Counter for NoCount {
    #[inline(always)]
    fn bump(&mut self, _key: usize, _lane: usize) {}
}

/// Counts the keys of the f32 in `g` (a multiple of 8 bytes), read straight from the bytes the
/// vector loop has just loaded (in L1): the key of each f32 is its high 16-bit half, so one 64-bit
/// load yields two keys, and no vector has to be spilled.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
#[inline(always)]
pub(crate) fn count_keys(g: &[u8], t: &mut impl Counter) {
    for (j, w) in groups::<8>(g).enumerate() {
        let w = u64::from_le_bytes(w);
        t.bump((w >> 16) as usize & 0xFFFF, 2 * j);
        t.bump((w >> 48) as usize, 2 * j + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_counters_count_every_code_once() {
        let mut bytes: Vec<u8> = (0..=u16::MAX).flat_map(|c| c.to_le_bytes()).collect();
        bytes.extend([0, 0, 0, 0, 0, 0]); // three more zeros, one in the unaligned tail
        let mut t = KeyTable::new();
        t.count_codes16(&bytes[..]);
        let counts = t.drain();
        assert_eq!(counts.len(), 65536);
        assert_eq!(counts[0], (0, 4));
        assert!(
            counts[1..]
                .iter()
                .enumerate()
                .all(|(i, &(c, n))| c == i as u32 + 1 && n == 1)
        );
        assert!(t.drain().is_empty(), "drain leaves the table zeroed");

        // Crowded blocks (mostly zeros) go to the lane table; the counts are the same.
        let mut bytes = Vec::new();
        for i in 0..3 * BLOCK as u32 {
            let code = if i % 3 == 0 || (i > 2 * BLOCK as u32 && i % 5 != 0) {
                0
            } else {
                (i * 7919) as u16
            };
            bytes.extend(code.to_le_bytes());
        }
        let mut naive = std::collections::BTreeMap::new();
        for c in bytes.chunks_exact(2) {
            *naive
                .entry(u32::from(u16::from_le_bytes([c[0], c[1]])))
                .or_insert(0u64) += 1;
        }
        t.count_codes16(&bytes);
        assert!(t.lanes_used);
        assert_eq!(t.drain(), naive.into_iter().collect::<Vec<_>>());
        assert!(
            !t.lanes_used
                && t.lanes.iter().all(|c| *c == [0; 4])
                && t.plain.iter().all(|&c| c == 0)
        );

        let bytes: Vec<u8> = (0..=255u8).chain([7, 7, 7]).collect();
        let mut t8 = [0u32; 1024];
        count_codes8(&bytes, &mut t8);
        let counts = drain8(&mut t8, 8);
        assert_eq!(counts.len(), 256);
        assert_eq!(counts[7], (7, 4));
        assert!(t8.iter().all(|&c| c == 0));
    }
}

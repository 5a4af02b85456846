//! The hot loops: counting codes, and the moment kernel for `F32` (explicit AVX-512 and AVX2,
//! chosen at run time, with a scalar twin) and for values decoded to f64.
//!
//! # Code tables
//!
//! Types of at most 16 bits are counted per code into a table; every statistic follows exactly from
//! the counts. The increment per value is the whole cost of the loop (about one value per cycle), so
//! the layout matters:
//!
//! - a *plain* table (one counter per code, 256 KiB) keeps the hot codes of typical weights (a few
//!   thousand) inside L1;
//! - but when one code dominates (zeros in a pruned or padded matrix), consecutive increments of the
//!   same counter chain through memory and the plain loop falls to a third of its speed. The
//!   *lane* table keeps four counters per code (`[code][i % 4]`), so the same-address dependency is
//!   four values apart.
//!
//! [`KeyTable`] picks the layout per block of [`BLOCK`] values from 16 samples of the previous
//! block, taken once it is in L1 (a code, or zero, in 4 of 16 samples means crowded),
//! and [`KeyTable::drain`] folds both layouts into one list of counts, leaving the tables zeroed
//! for reuse. The layout changes speed only, never counts.
//!
//! # Moments
//!
//! `F32` tensors (and the wide types, decoded to f64) go through blocks of [`BLOCK`] values. Each
//! block sums `d = x - shift` and `d²` over its finite values in f64, eight lanes wide, where the
//! shift is one value per tensor near its centre (`accum::tensor_shift`: the median of its first
//! block); blocks and pieces are merged with Chan's formula on the offsets from that shift. f64 lanes
//! keep every block sum to about 1e-16 relative, so mean, std and L2 stay within about 1e-15 of a
//! compensated two-pass f64 reference even when |mean| ≫ std (`tests/stats_engine.rs` measures it).
//! f32 partial sums would not do: their 2^-24 rounding shows at 1e-7 of the std.
//!
//! The AVX-512 and AVX2 kernels and [`f32_block_scalar`] perform the same operations in the same
//! order (lane j of 8 takes element j of each group of 8, in order; the tail goes to lanes 0..; the
//! same final reduction; FMA for the squares in all), so they agree bit for bit, which the tests
//! check for every kernel the CPU runs ([`F32Kernel::available`]).
//!
//! # Speed
//!
//! With the moments in vector registers, the F32 loop is bound by memory operations, not
//! arithmetic: each value's key increment is a load and a store, and a core issues about three
//! memory operations per cycle. The kernels therefore read the keys two at a time with one 64-bit
//! load from the bytes the vector load has just brought into L1 (16-bit codes: four at a time),
//! about 2.5 memory operations per value (2.25 for codes). Measured on the 2-core Zen 4 machines
//! here, that is about 1.2 values per cycle per core; variants that packed the keys in a vector and
//! extracted them, or counted them from a buffer after the block, or always used the lane table,
//! were 20-100% slower.

use crate::decode::groups;

/// Values per moment block. Small enough that per-lane i32 counters cannot overflow and a block of
/// f32 stays in L1 for the key pass.
pub(super) const BLOCK: usize = 4096;

/// Something that counts 16-bit keys; `lane` is the value's position modulo 4.
pub(super) trait Counter {
    fn bump(&mut self, key: usize, lane: usize);

    /// Adds `n` (0 or 1) without a branch.
    fn add(&mut self, key: usize, lane: usize, n: u32);
}

/// One counter per key.
pub(super) type Plain = [u32; 1 << 16];
/// Four counters per key.
pub(super) type Lanes = [[u32; 4]; 1 << 16];

impl Counter for Plain {
    #[inline(always)]
    fn bump(&mut self, key: usize, _lane: usize) {
        self[key & 0xFFFF] += 1;
    }

    #[inline(always)]
    fn add(&mut self, key: usize, _lane: usize, n: u32) {
        self[key & 0xFFFF] += n;
    }
}

impl Counter for Lanes {
    #[inline(always)]
    fn bump(&mut self, key: usize, lane: usize) {
        self[key & 0xFFFF][lane & 3] += 1;
    }

    #[inline(always)]
    fn add(&mut self, key: usize, lane: usize, n: u32) {
        self[key & 0xFFFF][lane & 3] += n;
    }
}

/// Counts per 16-bit key in the two layouts described in the module documentation.
pub(super) struct KeyTable {
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
pub(super) enum Layout<'a> {
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
/// increment), and loading codes one by one would add a third.
fn count16(codes: &[u8], t: &mut impl Counter) {
    let quads = codes.chunks_exact(8);
    let rest = quads.remainder();
    for q in quads {
        let w = u64::from_le_bytes(q.try_into().unwrap_or_else(|_| unreachable!("8 bytes")));
        t.bump(w as usize & 0xFFFF, 0);
        t.bump((w >> 16) as usize & 0xFFFF, 1);
        t.bump((w >> 32) as usize & 0xFFFF, 2);
        t.bump((w >> 48) as usize, 3);
    }
    for (i, c) in groups::<2>(rest).enumerate() {
        t.bump(usize::from(u16::from_le_bytes(c)), i);
    }
}

/// Two lists sorted by key, summed into one.
pub(super) fn merge_sorted(a: &[(u32, u64)], b: &[(u32, u64)]) -> Vec<(u32, u64)> {
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
pub(super) type Table8 = [u32; 1024];

/// Counts byte codes into `table`.
pub(super) fn count_codes8(bytes: &[u8], table: &mut Table8) {
    let rest = bytes.chunks_exact(8).remainder();
    for w in groups::<8>(bytes) {
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
pub(super) fn count_unpacked(codes: &[u8], table: &mut Table8) {
    for (i, &c) in codes.iter().enumerate() {
        table[(usize::from(c) << 2) | (i & 3)] += 1;
    }
}

/// The non-zero counts of the first `2^bits` codes of a [`Table8`], in code order, leaving the
/// table zeroed.
pub(super) fn drain8(table: &mut Table8, bits: u32) -> Vec<(u32, u64)> {
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

/// The 16-bit bucket key of an f32: its top 16 bits (sign, exponent, 7 mantissa bits: the bf16
/// truncation). Non-finite values have the all-ones exponent and only they do.
#[inline]
pub(super) fn f32_key(bits: u32) -> usize {
    (bits >> 16) as usize
}

/// Sums of one block of values. `min`/`max` are meaningful only when `n > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BlockSums {
    /// Finite values.
    pub n: u64,
    /// Σ (x - shift) over finite values.
    pub s: f64,
    /// Σ (x - shift)² over finite values.
    pub q: f64,
    pub min: f64,
    pub max: f64,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

/// The lane sums of the eight-wide accumulation, reduced in one fixed order.
fn reduce(s: &[f64; 8], q: &[f64; 8]) -> (f64, f64) {
    let fold = |l: &[f64; 8]| {
        let t = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
        ((t[0] + t[1]) + t[2]) + t[3]
    };
    (fold(s), fold(q))
}

/// Which implementation of the F32 block kernel to run, chosen once per computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum F32Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl F32Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> F32Kernel {
        *Self::available().last().unwrap_or(&F32Kernel::Scalar)
    }

    /// Every kernel this CPU runs, slowest first (the tests check each against the scalar one).
    pub fn available() -> Vec<F32Kernel> {
        #[allow(unused_mut)]
        let mut out = vec![F32Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            out.push(F32Kernel::Avx2);
            if std::arch::is_x86_feature_detected!("avx512f") {
                out.push(F32Kernel::Avx512);
            }
        }
        out
    }

    /// Sums over one block of little-endian f32 (`bytes.len()` a multiple of 4, at most
    /// [`BLOCK`] values), counting every value's key into `table` when given. `rep` is a finite
    /// value of the same piece, standing in for non-finite values in the min/max lanes.
    pub fn block(
        self,
        bytes: &[u8],
        shift: f64,
        rep: f32,
        table: Option<&mut KeyTable>,
    ) -> BlockSums {
        debug_assert!(bytes.len().is_multiple_of(4) && bytes.len() / 4 <= BLOCK);
        let Some(table) = table else {
            return self.run(bytes, shift, rep, &mut NoCount);
        };
        let sums = match table.pick() {
            Layout::Plain(t) => self.run(bytes, shift, rep, t),
            Layout::Lanes(t) => self.run(bytes, shift, rep, t),
        };
        table.observe(bytes.len() / 4, |i| {
            let b = &bytes[4 * i..4 * i + 4];
            f32_key(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        });
        sums
    }

    fn run(self, bytes: &[u8], shift: f64, rep: f32, t: &mut impl Counter) -> BlockSums {
        match self {
            F32Kernel::Scalar => f32_block_scalar(bytes, shift, rep, t),
            // SAFETY: `Avx2` is only constructed by `detect` after the CPU reported AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            F32Kernel::Avx2 => unsafe { avx2::f32_block(bytes, shift, rep, t) },
            // SAFETY: `Avx512` is only constructed by `available` after the CPU reported AVX-512F.
            #[cfg(target_arch = "x86_64")]
            F32Kernel::Avx512 => unsafe { avx512::f32_block(bytes, shift, rep, t) },
        }
    }
}

/// A counter that counts nothing (for sums without keys).
pub(super) struct NoCount;

impl Counter for NoCount {
    #[inline(always)]
    fn bump(&mut self, _key: usize, _lane: usize) {}

    #[inline(always)]
    fn add(&mut self, _key: usize, _lane: usize, _n: u32) {}
}

/// Adds one f32 to the lane accumulators: the scalar twin of one lane of the AVX2 loop.
#[inline]
fn f32_lane(x: f32, lane: usize, shift: f64, acc: &mut LaneAcc) {
    if x.is_finite() {
        let d = f64::from(x) - shift;
        acc.s[lane] += d;
        acc.q[lane] = d.mul_add(d, acc.q[lane]);
        acc.min = acc.min.min(x);
        acc.max = acc.max.max(x);
    } else if x.is_nan() {
        acc.nan += 1;
    } else {
        acc.inf += 1;
    }
    acc.zeros += u64::from(x == 0.0);
}

struct LaneAcc {
    s: [f64; 8],
    q: [f64; 8],
    min: f32,
    max: f32,
    zeros: u64,
    nan: u64,
    inf: u64,
}

impl LaneAcc {
    fn finish(self, values: usize) -> BlockSums {
        let (s, q) = reduce(&self.s, &self.q);
        BlockSums {
            n: values as u64 - self.nan - self.inf,
            s,
            q,
            min: f64::from(self.min),
            max: f64::from(self.max),
            zeros: self.zeros,
            nan: self.nan,
            inf: self.inf,
        }
    }
}

/// The portable F32 block kernel (also the reference the AVX2 kernel is tested against).
pub(super) fn f32_block_scalar(
    bytes: &[u8],
    shift: f64,
    rep: f32,
    t: &mut impl Counter,
) -> BlockSums {
    let mut acc = LaneAcc {
        s: [0.0; 8],
        q: [0.0; 8],
        min: rep,
        max: rep,
        zeros: 0,
        nan: 0,
        inf: 0,
    };
    for (i, b) in groups::<4>(bytes).enumerate() {
        let bits = u32::from_le_bytes(b);
        f32_lane(f32::from_bits(bits), i % 8, shift, &mut acc);
        t.bump(f32_key(bits), i);
    }
    acc.finish(bytes.len() / 4)
}

/// Counts the keys of the f32 in `g` (a multiple of 8 bytes), read straight from the bytes the
/// vector loop has just loaded (in L1): the key of each f32 is its high 16-bit half, so one 64-bit
/// load yields two keys, and no vector has to be spilled.
#[inline(always)]
fn count_keys(g: &[u8], t: &mut impl Counter) {
    for (j, w) in groups::<8>(g).enumerate() {
        let w = u64::from_le_bytes(w);
        t.bump((w >> 16) as usize & 0xFFFF, 2 * j);
        t.bump((w >> 48) as usize, 2 * j + 1);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BlockSums, Counter, LaneAcc, count_keys, f32_key, f32_lane, groups};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn spill_pd(v: __m256d) -> [f64; 4] {
        let mut out = [0.0; 4];
        // SAFETY: `out` has room for four f64; storeu has no alignment requirement.
        unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
        out
    }

    #[target_feature(enable = "avx2,fma")]
    fn spill_ps(v: __m256) -> [f32; 8] {
        let mut out = [0.0; 8];
        // SAFETY: `out` has room for eight f32; storeu has no alignment requirement.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
        out
    }

    #[target_feature(enable = "avx2,fma")]
    fn spill_epi32(v: __m256i) -> [u32; 8] {
        let mut out = [0u32; 8];
        // SAFETY: `out` has room for 32 bytes; storeu has no alignment requirement.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out
    }

    #[target_feature(enable = "avx2,fma")]
    fn lane_total(v: __m256i) -> u64 {
        spill_epi32(v).iter().map(|&c| u64::from(c)).sum()
    }

    /// AVX2 version of [`super::f32_block_scalar`]: eight f32 per step, converted to two f64
    /// vectors for the sums; non-finite lanes contribute `d = 0` and `rep` to min/max.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn f32_block(bytes: &[u8], shift: f64, rep: f32, t: &mut impl Counter) -> BlockSums {
        let chunks = bytes.chunks_exact(32);
        let tail = chunks.remainder();
        let whole = bytes.len() / 32;
        let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF));
        let inf = _mm256_set1_ps(f32::INFINITY);
        let zero = _mm256_setzero_ps();
        let shift_pd = _mm256_set1_pd(shift);
        let rep_ps = _mm256_set1_ps(rep);
        let (mut s_lo, mut s_hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let (mut q_lo, mut q_hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let (mut min, mut max) = (rep_ps, rep_ps);
        let (mut nan, mut infs, mut zeros) = (
            _mm256_setzero_si256(),
            _mm256_setzero_si256(),
            _mm256_setzero_si256(),
        );
        for g in chunks {
            // SAFETY: `g` is 32 readable bytes; loadu has no alignment requirement.
            let bits = unsafe { _mm256_loadu_si256(g.as_ptr().cast()) };
            let x = _mm256_castsi256_ps(bits);
            let finite = _mm256_cmp_ps::<_CMP_LT_OQ>(_mm256_and_ps(x, abs_mask), inf);
            let is_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
            let is_inf = _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_and_ps(x, abs_mask), inf);
            let is_zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(x, zero);
            // A true lane is all ones (-1): subtracting counts it.
            nan = _mm256_sub_epi32(nan, _mm256_castps_si256(is_nan));
            infs = _mm256_sub_epi32(infs, _mm256_castps_si256(is_inf));
            zeros = _mm256_sub_epi32(zeros, _mm256_castps_si256(is_zero));
            let xm = _mm256_blendv_ps(rep_ps, x, finite);
            min = _mm256_min_ps(min, xm);
            max = _mm256_max_ps(max, xm);
            // Sign-extended lane masks select x (finite) or the shift itself (d = 0).
            let fin_i = _mm256_castps_si256(finite);
            let m_lo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(fin_i)));
            let m_hi =
                _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(fin_i)));
            let x_lo = _mm256_blendv_pd(shift_pd, _mm256_cvtps_pd(_mm256_castps256_ps128(x)), m_lo);
            let x_hi = _mm256_blendv_pd(
                shift_pd,
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
                m_hi,
            );
            let d_lo = _mm256_sub_pd(x_lo, shift_pd);
            let d_hi = _mm256_sub_pd(x_hi, shift_pd);
            s_lo = _mm256_add_pd(s_lo, d_lo);
            s_hi = _mm256_add_pd(s_hi, d_hi);
            q_lo = _mm256_fmadd_pd(d_lo, d_lo, q_lo);
            q_hi = _mm256_fmadd_pd(d_hi, d_hi, q_hi);
            count_keys(g, t);
        }
        let (slo, shi, qlo, qhi) = (
            spill_pd(s_lo),
            spill_pd(s_hi),
            spill_pd(q_lo),
            spill_pd(q_hi),
        );
        let mut acc = LaneAcc {
            s: [
                slo[0], slo[1], slo[2], slo[3], shi[0], shi[1], shi[2], shi[3],
            ],
            q: [
                qlo[0], qlo[1], qlo[2], qlo[3], qhi[0], qhi[1], qhi[2], qhi[3],
            ],
            min: spill_ps(min).iter().copied().fold(rep, f32::min),
            max: spill_ps(max).iter().copied().fold(rep, f32::max),
            zeros: lane_total(zeros),
            nan: lane_total(nan),
            inf: lane_total(infs),
        };
        for (j, b) in groups::<4>(tail).enumerate() {
            let bits = u32::from_le_bytes(b);
            f32_lane(f32::from_bits(bits), j, shift, &mut acc);
            t.bump(f32_key(bits), j);
        }
        acc.finish(whole * 8 + tail.len() / 4)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{BlockSums, Counter, LaneAcc, count_keys, f32_key, f32_lane, groups};
    use std::arch::x86_64::*;

    /// AVX-512 version of [`super::f32_block_scalar`]: sixteen f32 per step, as two groups of
    /// eight whose f64 lanes are added in order (group 2k, then 2k + 1) into the same eight-lane
    /// accumulators, so the sums are those of the scalar and AVX2 kernels bit for bit. Non-finite
    /// lanes are masked out: `d = 0`, min/max unchanged.
    #[target_feature(enable = "avx512f")]
    pub(super) fn f32_block(bytes: &[u8], shift: f64, rep: f32, t: &mut impl Counter) -> BlockSums {
        let chunks = bytes.chunks_exact(64);
        let tail = chunks.remainder();
        let whole = bytes.len() / 64;
        let abs_mask = _mm512_set1_epi32(0x7FFF_FFFF);
        let inf = _mm512_set1_ps(f32::INFINITY);
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_epi32(1);
        let shift_pd = _mm512_set1_pd(shift);
        let rep_ps = _mm512_set1_ps(rep);
        let (mut s, mut q) = (_mm512_setzero_pd(), _mm512_setzero_pd());
        let (mut min, mut max) = (rep_ps, rep_ps);
        let (mut nan, mut infs, mut zeros) = (
            _mm512_setzero_si512(),
            _mm512_setzero_si512(),
            _mm512_setzero_si512(),
        );
        for g in chunks {
            // SAFETY: `g` is 64 readable bytes; loadu has no alignment requirement.
            let bits = unsafe { _mm512_loadu_si512(g.as_ptr().cast()) };
            let x = _mm512_castsi512_ps(bits);
            let ax = _mm512_castsi512_ps(_mm512_and_si512(bits, abs_mask));
            let finite = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(ax, inf);
            let is_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
            let is_inf = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(ax, inf);
            let is_zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero);
            nan = _mm512_mask_add_epi32(nan, is_nan, nan, one);
            infs = _mm512_mask_add_epi32(infs, is_inf, infs, one);
            zeros = _mm512_mask_add_epi32(zeros, is_zero, zeros, one);
            min = _mm512_mask_min_ps(min, finite, min, x);
            max = _mm512_mask_max_ps(max, finite, max, x);
            let x_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
            let x_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(x),
            )));
            let d_lo = _mm512_maskz_sub_pd(finite as __mmask8, x_lo, shift_pd);
            let d_hi = _mm512_maskz_sub_pd((finite >> 8) as __mmask8, x_hi, shift_pd);
            s = _mm512_add_pd(_mm512_add_pd(s, d_lo), d_hi);
            q = _mm512_fmadd_pd(d_hi, d_hi, _mm512_fmadd_pd(d_lo, d_lo, q));
            count_keys(g, t);
        }
        let (mut sl, mut ql) = ([0.0f64; 8], [0.0f64; 8]);
        let (mut mn, mut mx) = ([0.0f32; 16], [0.0f32; 16]);
        let mut counts = [[0u32; 16]; 3];
        // SAFETY: each destination has room for 64 bytes; the unaligned stores need no alignment.
        unsafe {
            _mm512_storeu_pd(sl.as_mut_ptr(), s);
            _mm512_storeu_pd(ql.as_mut_ptr(), q);
            _mm512_storeu_ps(mn.as_mut_ptr(), min);
            _mm512_storeu_ps(mx.as_mut_ptr(), max);
            _mm512_storeu_si512(counts[0].as_mut_ptr().cast(), zeros);
            _mm512_storeu_si512(counts[1].as_mut_ptr().cast(), nan);
            _mm512_storeu_si512(counts[2].as_mut_ptr().cast(), infs);
        }
        let total = |c: &[u32; 16]| c.iter().map(|&n| u64::from(n)).sum::<u64>();
        let mut acc = LaneAcc {
            s: sl,
            q: ql,
            min: mn.iter().copied().fold(rep, f32::min),
            max: mx.iter().copied().fold(rep, f32::max),
            zeros: total(&counts[0]),
            nan: total(&counts[1]),
            inf: total(&counts[2]),
        };
        for (j, b) in groups::<4>(tail).enumerate() {
            let bits = u32::from_le_bytes(b);
            f32_lane(f32::from_bits(bits), j % 8, shift, &mut acc);
            t.bump(f32_key(bits), j);
        }
        acc.finish(whole * 16 + tail.len() / 4)
    }
}

/// The bucket key of a value decoded to f64: the f32 key of its rounding to f32, with finite values
/// beyond the f32 range kept in the largest finite bucket (the all-ones exponent stays reserved for
/// NaN and infinity).
#[inline]
pub(super) fn f64_key(x: f64) -> usize {
    let f = x as f32;
    if f.is_infinite() && x.is_finite() {
        f32_key(f32::MAX.copysign(f).to_bits())
    } else {
        f32_key(f.to_bits())
    }
}

/// Sums over a block of values decoded to f64, counting every value's key into `table` when given.
pub(super) fn f64_block(values: &[f64], shift: f64, table: Option<&mut KeyTable>) -> BlockSums {
    let Some(table) = table else {
        return f64_sums(values, shift, &mut NoCount);
    };
    let sums = match table.pick() {
        Layout::Plain(t) => f64_sums(values, shift, t),
        Layout::Lanes(t) => f64_sums(values, shift, t),
    };
    table.observe(values.len(), |i| f64_key(values[i]));
    sums
}

fn f64_sums(values: &[f64], shift: f64, t: &mut impl Counter) -> BlockSums {
    // Four independent lanes; `d * d + q` rather than `mul_add`, which is a libm call on x86-64
    // builds without FMA.
    let mut s = [0.0f64; 4];
    let mut q = [0.0f64; 4];
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n, mut zeros, mut nan) = (0u64, 0u64, 0u64);
    let mut add = |x: f64, lane: usize, s: &mut [f64; 4], q: &mut [f64; 4]| {
        t.bump(f64_key(x), lane);
        if x.is_finite() {
            let d = x - shift;
            s[lane] += d;
            q[lane] += d * d;
            min = min.min(x);
            max = max.max(x);
            n += 1;
            zeros += u64::from(x == 0.0);
        } else if x.is_nan() {
            nan += 1;
        }
    };
    let quads = values.chunks_exact(4);
    let rest = quads.remainder();
    for quad in quads {
        for (lane, &x) in quad.iter().enumerate() {
            add(x, lane, &mut s, &mut q);
        }
    }
    for (lane, &x) in rest.iter().enumerate() {
        add(x, lane, &mut s, &mut q);
    }
    BlockSums {
        n,
        s: (s[0] + s[1]) + (s[2] + s[3]),
        q: (q[0] + q[1]) + (q[2] + q[3]),
        min,
        max,
        zeros,
        nan,
        inf: values.len() as u64 - n - nan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// A deterministic spread of awkward f32 values: normals around a large mean, zeros of both
    /// signs, subnormals, NaN, infinities.
    fn awkward(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match state % 97 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    3 => -0.0,
                    4 => 0.0,
                    5 => f32::from_bits(1 + (state >> 40) as u32 % 1000),
                    _ => 1000.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32,
                }
            })
            .collect()
    }

    #[test]
    fn simd_kernels_match_the_scalar_kernel_bit_for_bit() {
        for kernel in F32Kernel::available() {
            simd_kernel_matches_the_scalar_kernel(kernel);
        }
    }

    fn simd_kernel_matches_the_scalar_kernel(kernel: F32Kernel) {
        for (n, offset) in [
            (0, 0),
            (1, 1),
            (7, 3),
            (8, 0),
            (9, 2),
            (4096, 1),
            (4095, 3),
            (1000, 0),
            (15, 1),
            (16, 0),
            (17, 2),
            (31, 0),
            (33, 3),
            (4088, 0),
            (4081, 1),
        ] {
            let values = awkward(n, n as u64 + 17);
            let mut bytes = vec![0u8; offset];
            bytes.extend(f32_bytes(&values));
            let bytes = &bytes[offset..];
            let mut t1 = KeyTable::new();
            let mut t2 = KeyTable::new();
            let a = kernel.block(bytes, 999.5, 1000.0, Some(&mut t1));
            let b = F32Kernel::Scalar.block(bytes, 999.5, 1000.0, Some(&mut t2));
            assert_eq!(a.s.to_bits(), b.s.to_bits(), "{kernel:?} n={n}");
            assert_eq!(a.q.to_bits(), b.q.to_bits(), "{kernel:?} n={n}");
            assert_eq!(a, b, "{kernel:?} n={n}");
            assert_eq!(t1.drain(), t2.drain());
        }
    }

    #[test]
    fn block_sums_match_a_naive_reference() {
        let values = awkward(4096, 5);
        let bytes = f32_bytes(&values);
        let got = F32Kernel::detect().block(&bytes, 1000.0, 1000.0, None);
        assert_eq!(got, f32_block_scalar(&bytes, 1000.0, 1000.0, &mut NoCount));
        let finite: Vec<f64> = values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| f64::from(v))
            .collect();
        assert_eq!(got.n, finite.len() as u64);
        assert_eq!(got.nan, values.iter().filter(|v| v.is_nan()).count() as u64);
        assert_eq!(
            got.inf,
            values.iter().filter(|v| v.is_infinite()).count() as u64
        );
        assert_eq!(
            got.zeros,
            values.iter().filter(|&&v| v == 0.0).count() as u64
        );
        let s: f64 = finite.iter().map(|x| x - 1000.0).sum();
        let q: f64 = finite.iter().map(|x| (x - 1000.0).powi(2)).sum();
        assert!(
            (got.s - s).abs() <= 1e-12 * q.sqrt() * 64.0,
            "{} vs {s}",
            got.s
        );
        assert!((got.q - q).abs() <= 1e-13 * q);
        assert_eq!(
            got.min,
            finite.iter().copied().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            got.max,
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }

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

    #[test]
    fn keys_order_like_values_and_keep_non_finite_apart() {
        assert_eq!(f32_key(1.0f32.to_bits()), 0x3F80);
        assert_eq!(f64_key(1e300), 0x7F7F);
        assert_eq!(f64_key(-1e300), 0xFF7F);
        assert_eq!(f64_key(f64::INFINITY), 0x7F80);
        assert_eq!(f64_key(f64::NAN) & 0x7F80, 0x7F80);
        assert_eq!(f64_key(1e-300), 0);
    }

    #[test]
    fn f64_block_counts_and_sums() {
        let v = [1.0, f64::NAN, -2.0, f64::INFINITY, 0.0, -0.0, 1e300];
        let mut t = KeyTable::new();
        let b = f64_block(&v, 0.0, Some(&mut t));
        assert_eq!((b.n, b.nan, b.inf, b.zeros), (5, 1, 1, 2));
        assert_eq!((b.min, b.max), (-2.0, 1e300));
        assert_eq!(b.s, 1e300 - 1.0);
        assert_eq!(t.drain().iter().map(|c| c.1).sum::<u64>(), 7);
    }
}

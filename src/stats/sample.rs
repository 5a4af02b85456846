//! The sampled method for large F32, BF16 and F16 tensors (and ggml-quantised ones, dequantised to
//! f32 runs): exact moments, exact tails, and a deterministic one-in-eight sample of the central
//! values for the distribution.
//!
//! Counting every value into a table (the *Codes* and *Buckets* methods) costs a load and a store
//! per value, which bounds a core at about one value per cycle: 30-40% of the memory bandwidth of
//! the machines here. This method counts only what the distribution needs:
//!
//! - **Moments** of every value, in f64 lanes (sixteen: lane `i % 16` takes value `i` of the
//!   tensor; for BF16 thirty-two, in the order AVX-512 widens them, see `bf16_lane`), shifted by
//!   one value per tensor near its centre, with min, max and zeros, all exact up to f64 rounding
//!   as in the bucketed kernel. A block holding NaN or Inf (its f64 sums turn
//!   non-finite, which finite f32 values cannot do) has its moments recomputed by the masked
//!   [`F32Kernel`], which counts NaN and Inf.
//! - A **window** of central values `[lo, hi]`, chosen per tensor before it is read (the median ±
//!   twice the larger of its distances to the 1st and 99th percentiles, about ±4.7σ for normal
//!   weights, of values spread over the tensor) and widened to whole 16-bit key buckets
//!   (the f32's top 16 bits, as in the bucketed method), so that a key is either central or not.
//! - **Tails**: every value outside the window (and every NaN and Inf) is counted under its key:
//!   exactly, as in the bucketed method. The key of an F32 (or dequantised) value is its top 16
//!   bits; a BF16 or F16 value is keyed by its code, so those buckets are single values.
//! - **Sample**: in each aligned group of 16 values (`16g..16g + 16` of the tensor), two lanes
//!   chosen by a hash of `g / 8` (one byte of it per group) are counted under their key if they
//!   are central. Each value is sampled with probability 1/8, independently of its row or column
//!   (a fixed stride would alias with matrix structure); the choice depends only on the value's
//!   position, so results never depend on threads or chunking.
//!
//! At the end (`finish`), central buckets hold sampled counts scaled to the exact number of central
//! values (`finite - tails`), tail buckets exact counts. Percentiles and the histogram are estimates
//! for central values (standard error of a percentile about `sqrt(p(1-p)/m)/density`: 0.005σ for
//! p1 from the 2^19 samples of a 2^22-value tensor), exact to a bucket beyond the window, which is
//! where outliers lie for any threshold above ±4.7σ.
//!
//! The kernels (AVX-512; AVX2 with FMA and F16C; a scalar twin, the reference) perform the same
//! operations per lane in the same order and agree bit for bit, so results do not depend on the
//! CPU either. A tensor whose centre lies within its spread (weights around zero) gets a shift of
//! 0, which spares a subtraction per value at no cost in precision.

use super::accum::Summary;
use super::kernel::{self, BlockSums, Counter, F32Kernel, KeyTable, Layout};
use crate::dtype::DType;

/// The element types the sampled kernels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    F32,
    BF16,
    F16,
}

impl Source {
    pub fn of(dtype: DType) -> Option<Source> {
        match dtype {
            DType::F32 => Some(Source::F32),
            DType::BF16 => Some(Source::BF16),
            DType::F16 => Some(Source::F16),
            _ => None,
        }
    }

    pub fn width(self) -> usize {
        match self {
            Source::F32 => 4,
            Source::BF16 | Source::F16 => 2,
        }
    }

    /// Value `i` of `bytes`, as f32 (exact for all three types).
    #[inline(always)]
    pub fn value(self, bytes: &[u8], i: usize) -> f32 {
        match self {
            Source::F32 => {
                let b = &bytes[4 * i..4 * i + 4];
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            Source::BF16 => {
                Code16::BF16.value(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]))
            }
            Source::F16 => Code16::F16.value(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])),
        }
    }
}

/// The 16-bit key of an f32 (its top 16 bits), as the bucketed method keys values.
#[inline(always)]
fn key(x: f32) -> usize {
    (x.to_bits() >> 16) as usize
}

/// The key of value `l` of the group at `p`, for source `K` (0: F32, 1: BF16, 2: F16), straight
/// from the bytes: the value's top half (F32) or its code (BF16, F16).
///
/// # Safety
///
/// `p` must point to a whole group (16 values) of source `K`, and `l < 16`.
#[inline(always)]
unsafe fn group_key<const K: u8>(p: *const u8, l: usize) -> usize {
    // SAFETY: the caller guarantees the group is readable; the reads have no alignment needs.
    unsafe {
        match K {
            0 => usize::from(p.add(4 * l + 2).cast::<u16>().read_unaligned()),
            _ => usize::from(p.add(2 * l).cast::<u16>().read_unaligned()),
        }
    }
}

/// Position of a key in value order: negative keys (sign bit set) descend, positive ones ascend;
/// -0's bucket comes just before +0's.
pub(super) fn rank(key: u32) -> u32 {
    if key & 0x8000 != 0 {
        0x7FFF - (key & 0x7FFF)
    } else {
        0x8000 + key
    }
}

/// The central values of a tensor: `lo <= x <= hi`, exactly the values whose keys lie in
/// `keys.0..=keys.1` (in value order, see [`rank`]). For a 16-bit source, `codes` are the same
/// values as a range of its codes in [`ord16`] order (BF16: the keys themselves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Window {
    pub lo: f32,
    pub hi: f32,
    pub keys: (u32, u32),
    pub codes: (i16, i16),
}

impl Window {
    /// The window of whole buckets covering `[a, b]` (finite, `a <= b`). Neither end is a bucket
    /// of zero seen from the wrong side (`+0`'s as the lower end, `-0`'s as the upper), so that
    /// `-0.0 == +0.0` cannot put a zero inside the bounds but outside the keys.
    pub fn covering(a: f32, b: f32) -> Window {
        let mut ka = a.to_bits() >> 16;
        let mut kb = b.to_bits() >> 16;
        if ka == 0x0000 {
            ka = 0x8000;
        }
        if kb == 0x8000 {
            kb = 0x0000;
        }
        // The smallest value of bucket `ka` and the largest of bucket `kb`.
        let lo = if ka & 0x8000 != 0 {
            f32::from_bits(ka << 16 | 0xFFFF)
        } else {
            f32::from_bits(ka << 16)
        };
        let hi = if kb & 0x8000 != 0 {
            f32::from_bits(kb << 16)
        } else {
            f32::from_bits(kb << 16 | 0xFFFF)
        };
        Window {
            lo,
            hi,
            keys: (ka, kb),
            codes: (ord16(ka as u16), ord16(kb as u16)),
        }
    }

    /// The same window with `codes` for F16: the F16 values in `[lo, hi]` are those whose codes
    /// lie in `codes.0..=codes.1` in [`ord16`] order (an empty range if none does).
    pub fn for_f16(mut self) -> Window {
        let value = |o: i16| half::f16::from_bits(ord16(o as u16) as u16).to_f32();
        // The finite and infinite codes, in order: -Inf (0xFC00) to +Inf (0x7C00).
        let (first, last) = (ord16(0xFC00), ord16(0x7C00));
        // The first code in order whose value passes `pred` (monotone over the range).
        let search = |pred: &dyn Fn(f32) -> bool| -> i32 {
            let (mut a, mut b) = (i32::from(first), i32::from(last) + 1);
            while a < b {
                let m = a + (b - a) / 2;
                if pred(value(m as i16)) {
                    b = m;
                } else {
                    a = m + 1;
                }
            }
            a
        };
        let lo = search(&|x| x >= self.lo);
        let hi = search(&|x| x > self.hi) - 1;
        self.codes = if lo <= hi {
            (lo as i16, hi as i16)
        } else {
            (i16::MAX, i16::MIN)
        };
        self
    }

    /// Whether a key's bucket is central.
    pub fn central_key(&self, key: u32) -> bool {
        (rank(self.keys.0)..=rank(self.keys.1)).contains(&rank(key))
    }

    #[inline(always)]
    fn central(&self, x: f32) -> bool {
        x >= self.lo && x <= self.hi
    }
}

/// Values per block: the per-block work (folding the lanes, merging, choosing the count table's
/// layout) is a few hundred nanoseconds, and a block's f64 lane sums stay within about 1e-16
/// relative for any length.
pub(super) const BLOCK: usize = 1 << 15;

/// Values read per sampled position when choosing a tensor's window and shift.
const PROBE: usize = 512;
/// Positions read, evenly spread over the tensor.
const PROBES: usize = 8;

/// The byte ranges of a tensor read to choose its window, with the window they give.
pub(super) struct Probed {
    pub shift: f64,
    pub window: Window,
    pub ranges: Vec<std::ops::Range<usize>>,
}

/// The shift and window of a tensor of `source` values, from up to 4096 values read at eight
/// evenly spread places (a first block of padding or special tokens does not decide alone).
pub(super) fn window(source: Source, bytes: &[u8]) -> Probed {
    let n = bytes.len() / source.width();
    let mut values: Vec<f32> = Vec::with_capacity(PROBE * PROBES);
    let ranges = probes(n, PROBE);
    for range in &ranges {
        values.extend(range.clone().map(|i| source.value(bytes, i)));
    }
    let (shift, window) = window_of(values);
    let window = if source == Source::F16 {
        window.for_f16()
    } else {
        window
    };
    let w = source.width();
    Probed {
        shift,
        window,
        ranges: ranges.into_iter().map(|r| r.start * w..r.end * w).collect(),
    }
}

/// The shift and window of a ggml block-quantised tensor (`bytes` whole blocks of `ty`), from the
/// dequantised values of the blocks at the same eight places.
pub(super) fn window_ggml(ty: crate::dtype::GgmlType, bytes: &[u8]) -> Probed {
    let (per, size) = (ty.block_elements() as usize, ty.block_bytes() as usize);
    let blocks = bytes.len() / size;
    let mut values: Vec<f32> = Vec::with_capacity(PROBE * PROBES);
    let mut buffer = Vec::new();
    let ranges = probes(blocks, PROBE.div_ceil(per));
    for range in ranges.iter().cloned() {
        buffer.resize(range.len() * per, 0.0);
        if crate::decode::ggml::dequantize(
            ty,
            &bytes[range.start * size..range.end * size],
            &mut buffer,
        )
        .is_ok()
        {
            values.extend_from_slice(&buffer);
        }
    }
    let (shift, window) = window_of(values);
    Probed {
        shift,
        window,
        ranges: ranges
            .into_iter()
            .map(|r| r.start * size..r.end * size)
            .collect(),
    }
}

/// Up to [`PROBES`] ranges of `len` units (values or blocks) evenly spread over `n` units.
fn probes(n: usize, len: usize) -> Vec<std::ops::Range<usize>> {
    let len = len.max(1);
    let mut out = Vec::new();
    for k in 0..PROBES {
        let start = (n / PROBES * k).min(n.saturating_sub(len));
        out.push(start..(start + len).min(n));
        if n <= len {
            break;
        }
    }
    out
}

/// Shift: the median of the finite `values` (0 when the median is within the spread). Window: the
/// median ± twice the larger of its distances to their 1st and 99th percentiles (at least 2^-8 of
/// the median's magnitude and the smallest normal f32, so that a constant tensor stays central).
fn window_of(mut values: Vec<f32>) -> (f64, Window) {
    values.retain(|x| x.is_finite());
    if values.is_empty() {
        return (0.0, Window::covering(-f32::MIN_POSITIVE, f32::MIN_POSITIVE));
    }
    values.sort_unstable_by(f32::total_cmp);
    let m = values.len();
    let median = values[m / 2];
    let (p1, p99) = (values[m / 100], values[m - 1 - m / 100]);
    let (m64, p1, p99) = (f64::from(median), f64::from(p1), f64::from(p99));
    let spread = (m64 - p1).max(p99 - m64);
    let w = (2.0 * spread)
        .max(f64::from(median.abs()) / 256.0)
        .max(f64::from(f32::MIN_POSITIVE));
    let a = ((m64 - w) as f32).max(f32::MIN);
    let b = ((m64 + w) as f32).min(f32::MAX);
    // A shift of 0 spares the kernel a subtraction per value; it costs no precision while the
    // centre is within the spread (the sums' cancellation is then at most a factor of 2).
    let shift = if m64.abs() <= spread { 0.0 } else { m64 };
    (shift, Window::covering(a, b))
}

/// The two sampled lanes of group `group` (values `16·group..16·group + 16` of a tensor).
///
/// Each octet of groups (`group / 8`, 128 values) goes through murmur3's 64-bit finaliser, so that
/// any structure in the data (matrix columns, periodic patterns) meets independent-looking picks:
/// each value's inclusion is like a fair 1-in-8 draw. Group `8o + j` of the octet takes byte `j`
/// of its hash, from the top. Of a byte, lane `a` (high nibble) is uniform; `b = a ^ c` with `c`
/// (low nibble) in 1..=15 (8 twice as likely) is uniform too, since `a ^ c` runs over every lane as
/// `a` does, and never equals `a`.
#[inline(always)]
fn picks(group: u64) -> (usize, usize) {
    pick_byte(group_byte(octet_hash(group >> 3), group))
}

/// The hash of the octet of `group`, the group of step `k` of a kernel's loop: recomputed at the
/// first step and at each octet's first group, kept in `hash` in between (the hash is most of a
/// pick's cost).
#[inline(always)]
fn step_hash(hash: &mut u64, k: usize, group: u64) -> u64 {
    if k == 0 || group & 7 == 0 {
        *hash = octet_hash(group >> 3);
    }
    *hash
}

/// The byte of an octet's hash that group `group` takes: the top one for the first group.
#[inline(always)]
fn group_byte(hash: u64, group: u64) -> u8 {
    (hash >> (56 - 8 * (group & 7))) as u8
}

/// murmur3's 64-bit finaliser of an octet of groups (128 values).
#[inline(always)]
fn octet_hash(pair: u64) -> u64 {
    let mut z = pair ^ (pair >> 33);
    z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

/// The two lanes a byte of the hash picks (see [`picks`]).
#[inline(always)]
fn pick_byte(byte: u8) -> (usize, usize) {
    let a = usize::from(byte >> 4);
    let c = usize::from(byte & 15);
    (a, a ^ (c | usize::from(c == 0) << 3))
}

/// Whether value `i` of a tensor is sampled (the rule the kernels implement).
pub(super) fn sampled(i: u64) -> bool {
    let (a, b) = picks(i / 16);
    let lane = (i % 16) as usize;
    lane == a || lane == b
}

/// Sixteen-lane accumulators of one block.
struct Lanes16 {
    s: [f64; 16],
    q: [f64; 16],
    min: [f32; 16],
    max: [f32; 16],
    zeros: u64,
}

impl Lanes16 {
    fn new() -> Lanes16 {
        Lanes16 {
            s: [0.0; 16],
            q: [0.0; 16],
            min: [f32::INFINITY; 16],
            max: [f32::NEG_INFINITY; 16],
            zeros: 0,
        }
    }

    /// Adds `x` to lane `lane`, with the semantics of the vector instructions (`vminps(m, x)` is
    /// `m < x ? m : x`).
    #[inline(always)]
    fn add(&mut self, x: f32, lane: usize, shift: f64) {
        let d = f64::from(x) - shift;
        self.s[lane] += d;
        self.q[lane] = d.mul_add(d, self.q[lane]);
        self.min[lane] = if self.min[lane] < x {
            self.min[lane]
        } else {
            x
        };
        self.max[lane] = if self.max[lane] > x {
            self.max[lane]
        } else {
            x
        };
        self.zeros += u64::from(x == 0.0);
    }

    /// The block's sums, or `None` if a value was NaN or infinite.
    fn finish(self, values: usize) -> Option<BlockSums> {
        let (s, q) = (fold16(&self.s), fold16(&self.q));
        if !(s.is_finite() && q.is_finite()) {
            return None;
        }
        let min = self.min.iter().copied().fold(f32::INFINITY, f32::min);
        let max = self.max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Some(BlockSums {
            n: values as u64,
            s,
            q,
            min: f64::from(min),
            max: f64::from(max),
            zeros: self.zeros,
            nan: 0,
            inf: 0,
        })
    }
}

/// Sixteen lane sums reduced in one fixed order.
fn fold16(l: &[f64; 16]) -> f64 {
    let h: [f64; 8] = std::array::from_fn(|j| l[j] + l[j + 8]);
    let t = [h[0] + h[4], h[1] + h[5], h[2] + h[6], h[3] + h[7]];
    ((t[0] + t[1]) + t[2]) + t[3]
}

/// A BF16 or F16 code (sign and magnitude) as a signed integer in value order (negative codes
/// reversed below the positive ones, -0 just below +0, NaN codes beyond the infinities); its own
/// inverse.
#[inline(always)]
pub(super) fn ord16(code: u16) -> i16 {
    (code ^ (((code as i16) >> 15) as u16 & 0x7FFF)) as i16
}

/// The lane of value `p` (0..32) of an aligned group of 32 BF16 values: the order in which
/// AVX-512 widens them (`vpunpck[lh]wd` with zero, then the two halves of each to f64): lanes 0-7
/// hold values 0-3 and 8-11, lanes 8-15 values 16-19 and 24-27, lanes 16-23 values 4-7 and 12-15,
/// lanes 24-31 values 20-23 and 28-31. Widening costs one instruction per 16 values this way.
const fn bf16_lane(p: usize) -> usize {
    let (block, within) = (p / 8, p % 8);
    ((within / 4) * 2 + block / 2) * 8 + (block % 2) * 4 + within % 4
}

/// The 16-bit float types whose codes the 32-lane kernels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Code16 {
    BF16,
    F16,
}

impl Code16 {
    #[inline(always)]
    fn value(self, code: u16) -> f32 {
        match self {
            Code16::BF16 => f32::from_bits(u32::from(code) << 16),
            Code16::F16 => half::f16::from_bits(code).to_f32(),
        }
    }

    /// The lane of value `p` (0..32) of an aligned group of 32: the order in which the AVX-512
    /// kernel widens them ([`bf16_lane`] for BF16; F16 widens in order).
    #[inline(always)]
    fn lane(self, p: usize) -> usize {
        match self {
            Code16::BF16 => bf16_lane(p),
            Code16::F16 => p,
        }
    }
}

/// Thirty-two-lane accumulators of one block of 16-bit codes, extremes as [`ord16`] codes.
struct Lanes32 {
    s: [f64; 32],
    q: [f64; 32],
    min: i16,
    max: i16,
    zeros: u64,
}

impl Lanes32 {
    fn new() -> Lanes32 {
        Lanes32 {
            s: [0.0; 32],
            q: [0.0; 32],
            min: i16::MAX,
            max: i16::MIN,
            zeros: 0,
        }
    }

    /// Adds `code` (whose value is `x`), value `i` of the tensor.
    #[inline(always)]
    fn add(&mut self, kind: Code16, code: u16, x: f32, i: u64, shift: f64) {
        let lane = kind.lane((i % 32) as usize);
        let d = f64::from(x) - shift;
        self.s[lane] += d;
        self.q[lane] = d.mul_add(d, self.q[lane]);
        let o = ord16(code);
        self.min = self.min.min(o);
        self.max = self.max.max(o);
        self.zeros += u64::from(code & 0x7FFF == 0);
    }

    /// The block's sums, or `None` if a value was NaN or infinite.
    fn finish(self, kind: Code16, values: usize) -> Option<BlockSums> {
        let fold = |l: &[f64; 32]| fold16(&std::array::from_fn(|j| l[j] + l[j + 16]));
        let (s, q) = (fold(&self.s), fold(&self.q));
        if !(s.is_finite() && q.is_finite()) {
            return None;
        }
        // (`ord16` is its own inverse: the extreme codes back from their ranks.)
        let value = |o: i16| f64::from(kind.value(ord16(o as u16) as u16));
        let (min, max) = if values == 0 {
            (f64::INFINITY, f64::NEG_INFINITY)
        } else {
            (value(self.min), value(self.max))
        };
        Some(BlockSums {
            n: values as u64,
            s,
            q,
            min,
            max,
            zeros: self.zeros,
            nan: 0,
            inf: 0,
        })
    }
}

/// Adds values `range` of `bytes` (16-bit codes of `kind`; value 0 being value `first` of the
/// tensor) through the scalar lanes, counting every code outside the window's `codes` and the
/// sampled ones inside it (the key of a 16-bit value is its code).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn code16_run(
    kind: Code16,
    bytes: &[u8],
    range: std::ops::Range<usize>,
    first: u64,
    shift: f64,
    win: &Window,
    acc: &mut Lanes32,
    t: &mut impl Counter,
) {
    for j in range {
        let code = u16::from_le_bytes([bytes[2 * j], bytes[2 * j + 1]]);
        let i = first + j as u64;
        acc.add(kind, code, kind.value(code), i, shift);
        let o = ord16(code);
        let central = win.codes.0 <= o && o <= win.codes.1;
        if !central || sampled(i) {
            t.bump(usize::from(code), (i % 16) as usize);
        }
    }
}

/// The portable kernel for 16-bit codes (and the reference of the vector ones): as
/// [`block_scalar`], in the lanes of [`Code16::lane`], keyed by code.
fn block_scalar_code16(
    kind: Code16,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let n = bytes.len() / 2;
    let mut acc = Lanes32::new();
    code16_run(kind, bytes, 0..n, first, shift, win, &mut acc, t);
    acc.finish(kind, n)
}

/// Counts value `x` (the tensor's value `i`, in lane `lane`) into `t`: every value outside the
/// window, and a sampled one inside it.
#[inline(always)]
fn count(x: f32, i: u64, win: &Window, t: &mut impl Counter) {
    let lane = (i % 16) as usize;
    if !win.central(x) || sampled(i) {
        t.bump(key(x), lane);
    }
}

/// The portable kernel (and the reference of the vector ones): one block of at most [`BLOCK`]
/// values of `bytes`, the first being value `first` of the tensor.
pub(super) fn block_scalar(
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    match source {
        Source::BF16 => return block_scalar_code16(Code16::BF16, bytes, first, shift, win, t),
        Source::F16 => return block_scalar_code16(Code16::F16, bytes, first, shift, win, t),
        Source::F32 => {}
    }
    let n = bytes.len() / 4;
    let mut acc = Lanes16::new();
    scalar_run(bytes, 0..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// Adds F32 values `range` of `bytes` (value 0 being value `first` of the tensor) through the
/// scalar lanes, counting their keys.
#[inline(always)]
fn scalar_run(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    first: u64,
    shift: f64,
    win: &Window,
    acc: &mut Lanes16,
    t: &mut impl Counter,
) {
    for j in range {
        let x = Source::F32.value(bytes, j);
        let i = first + j as u64;
        acc.add(x, (i % 16) as usize, shift);
        count(x, i, win, t);
    }
}

/// How a vector kernel taking `G` values a step cuts `n` values starting at value `first` of the
/// tensor: the values before the first whole aligned group, and the number of whole groups after.
fn cut<const G: u64>(first: u64, n: usize) -> (usize, usize) {
    let head = ((G - first % G) % G).min(n as u64) as usize;
    (head, (n - head) / G as usize)
}

/// Counts one whole group of 16 values of a vector kernel (at `at`): the key of every lane not in
/// `central` (bit `l`: lane `l` is central), and of the group's two sampled lanes (`picks`) if they
/// are central (adding 0 otherwise, without a branch).
///
/// # Safety
///
/// `at` must point to the group's 16 values of source `K`.
#[inline(always)]
unsafe fn count_picked<const K: u8>(
    at: *const u8,
    (a, b): (usize, usize),
    central: u16,
    t: &mut impl Counter,
) {
    // SAFETY: the caller guarantees the group is readable; every `l` is below 16.
    let key_of = |l: usize| unsafe { group_key::<K>(at, l) };
    let mut tails = !central;
    while tails != 0 {
        let l = tails.trailing_zeros() as usize;
        tails &= tails - 1;
        t.bump(key_of(l), l);
    }
    t.add(key_of(a), 0, u32::from(central >> a & 1));
    t.add(key_of(b), 1, u32::from(central >> b & 1));
}

/// Which implementation runs the sampled blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SampleKernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl SampleKernel {
    pub fn detect() -> SampleKernel {
        *Self::available().last().unwrap_or(&SampleKernel::Scalar)
    }

    /// Every kernel this CPU runs, slowest first.
    pub fn available() -> Vec<SampleKernel> {
        #[allow(unused_mut)]
        let mut out = vec![SampleKernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            out.push(SampleKernel::Avx2);
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                out.push(SampleKernel::Avx512);
            }
        }
        out
    }

    /// One block (see [`block_scalar`]).
    pub fn block(
        self,
        source: Source,
        bytes: &[u8],
        first: u64,
        shift: f64,
        win: &Window,
        t: &mut impl Counter,
    ) -> Option<BlockSums> {
        match self {
            SampleKernel::Scalar => block_scalar(source, bytes, first, shift, win, t),
            // SAFETY: `Avx2` is only constructed by `available` after the CPU reported AVX2, FMA,
            // F16C and POPCNT.
            #[cfg(target_arch = "x86_64")]
            SampleKernel::Avx2 => unsafe {
                match (source, shift == 0.0) {
                    (Source::F32, true) => avx2::block_f32::<false>(bytes, first, shift, win, t),
                    (Source::F32, false) => avx2::block_f32::<true>(bytes, first, shift, win, t),
                    (Source::BF16, true) => {
                        avx2::block_code16::<1, false>(bytes, first, shift, win, t)
                    }
                    (Source::BF16, false) => {
                        avx2::block_code16::<1, true>(bytes, first, shift, win, t)
                    }
                    (Source::F16, true) => {
                        avx2::block_code16::<2, false>(bytes, first, shift, win, t)
                    }
                    (Source::F16, false) => {
                        avx2::block_code16::<2, true>(bytes, first, shift, win, t)
                    }
                }
            },
            // SAFETY: `Avx512` is only constructed by `available` after the CPU reported AVX-512F,
            // AVX-512BW and the features of `Avx2`.
            #[cfg(target_arch = "x86_64")]
            SampleKernel::Avx512 => unsafe {
                match (source, shift == 0.0) {
                    (Source::F32, true) => avx512::block_f32::<false>(bytes, first, shift, win, t),
                    (Source::F32, false) => avx512::block_f32::<true>(bytes, first, shift, win, t),
                    (Source::BF16, true) => {
                        avx512::block_code16::<1, false>(bytes, first, shift, win, t)
                    }
                    (Source::BF16, false) => {
                        avx512::block_code16::<1, true>(bytes, first, shift, win, t)
                    }
                    (Source::F16, true) => {
                        avx512::block_code16::<2, false>(bytes, first, shift, win, t)
                    }
                    (Source::F16, false) => {
                        avx512::block_code16::<2, true>(bytes, first, shift, win, t)
                    }
                }
            },
        }
    }
}

/// Summary of the values `bytes` of a tensor, the first being value `first`, block by block; tails
/// and samples go into `table`. `scratch` holds f32 bytes when a block with NaN or Inf has its
/// moments recomputed.
#[allow(clippy::too_many_arguments)]
pub(super) fn summarise(
    kernel: SampleKernel,
    f32_kernel: F32Kernel,
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    table: &mut KeyTable,
    scratch: &mut Vec<u8>,
) -> Summary {
    let mut out = Summary::default();
    let width = source.width();
    for (b, block) in bytes.chunks(BLOCK * width).enumerate() {
        let start = first + (b * BLOCK) as u64;
        let sums = match table.pick() {
            Layout::Plain(t) => kernel.block(source, block, start, shift, win, t),
            Layout::Lanes(t) => kernel.block(source, block, start, shift, win, t),
        };
        let n = block.len() / width;
        table.observe(n, |i| key(source.value(block, i)));
        match sums {
            Some(sums) => out.add_block(&sums),
            None => {
                // NaN or Inf in the block: the masked kernel counts them (keys are already
                // counted), over f32 bytes in its own block size.
                let f32_bytes = if source == Source::F32 {
                    block
                } else {
                    scratch.clear();
                    scratch.extend((0..n).flat_map(|i| source.value(block, i).to_le_bytes()));
                    &scratch[..]
                };
                let rep = (0..n)
                    .map(|i| source.value(block, i))
                    .find(|x| x.is_finite())
                    .unwrap_or(0.0);
                for sub in f32_bytes.chunks(kernel::BLOCK * 4) {
                    out.add_block(&f32_kernel.block(sub, shift, rep, None));
                }
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{
        BlockSums, Code16, Counter, Lanes16, Lanes32, Window, code16_run, count_picked, cut,
        group_byte, pick_byte, scalar_run, step_hash,
    };
    use std::arch::x86_64::*;

    /// AVX2 version of [`super::block_scalar`] for F32: sixteen values per step as two vectors of
    /// eight, lane `j` of each f64 vector being lane `4v + j` of the scalar kernel (v = 0..4 in
    /// order).
    #[target_feature(enable = "avx2,fma,f16c,popcnt")]
    pub(super) unsafe fn block_f32<const SHIFTED: bool>(
        bytes: &[u8],
        first: u64,
        shift: f64,
        win: &Window,
        t: &mut impl Counter,
    ) -> Option<BlockSums> {
        let width = 4;
        let n = bytes.len() / width;
        let mut acc = Lanes16::new();
        let (head, groups) = cut::<16>(first, n);
        scalar_run(bytes, 0..head, first, shift, win, &mut acc, t);
        let shift_pd = _mm256_set1_pd(shift);
        let (lo_e, hi_e) = (_mm256_set1_ps(win.lo), _mm256_set1_ps(win.hi));
        let zero = _mm256_setzero_ps();
        // SAFETY (loads and stores below): `acc`'s arrays hold 16 lanes; the group loads read
        // `16 * width` bytes at `head + 16 * k` values, inside `bytes` for `k < groups`.
        let mut s: [__m256d; 4] =
            unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.s.as_ptr().add(4 * v))) };
        let mut q: [__m256d; 4] =
            unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.q.as_ptr().add(4 * v))) };
        let (mut mn, mut mx) = unsafe {
            (
                [
                    _mm256_loadu_ps(acc.min.as_ptr()),
                    _mm256_loadu_ps(acc.min.as_ptr().add(8)),
                ],
                [
                    _mm256_loadu_ps(acc.max.as_ptr()),
                    _mm256_loadu_ps(acc.max.as_ptr().add(8)),
                ],
            )
        };
        let mut zeros = 0u64;
        let first_group = (first + head as u64) / 16;
        let mut hash = 0u64;
        for k in 0..groups {
            let group = first_group + k as u64;
            let off = (head + 16 * k) * width;
            // SAFETY: see above.
            let x = unsafe {
                [
                    _mm256_loadu_ps(bytes.as_ptr().add(off).cast()),
                    _mm256_loadu_ps(bytes.as_ptr().add(off + 32).cast()),
                ]
            };
            let mut central = 0u16;
            for h in 0..2 {
                let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x[h]));
                let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x[h]));
                let (dlo, dhi) = if SHIFTED {
                    (_mm256_sub_pd(lo, shift_pd), _mm256_sub_pd(hi, shift_pd))
                } else {
                    (lo, hi)
                };
                s[2 * h] = _mm256_add_pd(s[2 * h], dlo);
                s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], dhi);
                q[2 * h] = _mm256_fmadd_pd(dlo, dlo, q[2 * h]);
                q[2 * h + 1] = _mm256_fmadd_pd(dhi, dhi, q[2 * h + 1]);
                mn[h] = _mm256_min_ps(mn[h], x[h]);
                mx[h] = _mm256_max_ps(mx[h], x[h]);
                let z = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(x[h], zero));
                zeros += u64::from(z.count_ones());
                let c = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GE_OQ>(x[h], lo_e),
                    _mm256_cmp_ps::<_CMP_LE_OQ>(x[h], hi_e),
                );
                central |= (_mm256_movemask_ps(c) as u16) << (8 * h);
            }
            let picked = pick_byte(group_byte(step_hash(&mut hash, k, group), group));
            // SAFETY: the group just loaded.
            unsafe { count_picked::<0>(bytes.as_ptr().add(off), picked, central, t) };
        }
        // SAFETY: see above.
        unsafe {
            for v in 0..4 {
                _mm256_storeu_pd(acc.s.as_mut_ptr().add(4 * v), s[v]);
                _mm256_storeu_pd(acc.q.as_mut_ptr().add(4 * v), q[v]);
            }
            for h in 0..2 {
                _mm256_storeu_ps(acc.min.as_mut_ptr().add(8 * h), mn[h]);
                _mm256_storeu_ps(acc.max.as_mut_ptr().add(8 * h), mx[h]);
            }
        }
        acc.zeros += zeros;
        scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
        acc.finish(n)
    }

    /// AVX2 version of [`super::block_scalar_code16`] for codes `KIND` (1: BF16, 2: F16): 32
    /// values per step, widened in their order and each run of four added to the accumulator
    /// [`super::Code16::lane`] gives it; extremes, zeros and the window test on the codes as
    /// signed integers in value order.
    #[target_feature(enable = "avx2,fma,f16c,popcnt")]
    pub(super) unsafe fn block_code16<const KIND: u8, const SHIFTED: bool>(
        bytes: &[u8],
        first: u64,
        shift: f64,
        win: &Window,
        t: &mut impl Counter,
    ) -> Option<BlockSums> {
        /// The accumulator (of eight, four lanes each) of values `4c..4c + 4` of a BF16 group.
        const ACC: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];
        let kind = if KIND == 1 { Code16::BF16 } else { Code16::F16 };
        let n = bytes.len() / 2;
        let mut acc = Lanes32::new();
        let (head, groups) = cut::<32>(first, n);
        code16_run(kind, bytes, 0..head, first, shift, win, &mut acc, t);
        let shift_pd = _mm256_set1_pd(shift);
        let m7 = _mm256_set1_epi16(0x7FFF);
        let (lo_o, hi_o) = (
            _mm256_set1_epi16(win.codes.0),
            _mm256_set1_epi16(win.codes.1),
        );
        // SAFETY (loads and stores below): `acc`'s arrays hold 32 lanes; the group loads read 64
        // bytes at value `head + 32 * k`, inside `bytes` for `k < groups`.
        let mut s: [__m256d; 8] =
            unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.s.as_ptr().add(4 * v))) };
        let mut q: [__m256d; 8] =
            unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.q.as_ptr().add(4 * v))) };
        let (mut mn, mut mx) = (_mm256_set1_epi16(i16::MAX), _mm256_set1_epi16(i16::MIN));
        let mut zeros = 0u64;
        let first_group = (first + head as u64) / 32;
        let mut hash = 0u64;
        for k in 0..groups {
            let off = (head + 32 * k) * 2;
            for m in 0..4 {
                // SAFETY: see above.
                let codes = unsafe { _mm_loadu_si128(bytes.as_ptr().add(off + 16 * m).cast()) };
                let x = if KIND == 1 {
                    _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(codes)))
                } else {
                    _mm256_cvtph_ps(codes)
                };
                let halves = [
                    _mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
                ];
                for (h, &x) in halves.iter().enumerate() {
                    let a = if KIND == 1 { ACC[2 * m + h] } else { 2 * m + h };
                    let d = if SHIFTED {
                        _mm256_sub_pd(x, shift_pd)
                    } else {
                        x
                    };
                    s[a] = _mm256_add_pd(s[a], d);
                    q[a] = _mm256_fmadd_pd(d, d, q[a]);
                }
            }
            let mut central = 0u32;
            for h in 0..2 {
                // SAFETY: see above.
                let v = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(off + 32 * h).cast()) };
                let ord = _mm256_xor_si256(v, _mm256_and_si256(_mm256_srai_epi16::<15>(v), m7));
                mn = _mm256_min_epi16(mn, ord);
                mx = _mm256_max_epi16(mx, ord);
                let out =
                    _mm256_or_si256(_mm256_cmpgt_epi16(lo_o, ord), _mm256_cmpgt_epi16(ord, hi_o));
                // Two mask bits per value: keep the even ones.
                let bits = _mm256_movemask_epi8(out) as u32;
                central |= u32::from(!compress_even(bits)) << (16 * h);
                let z = _mm256_cmpeq_epi16(_mm256_and_si256(v, m7), _mm256_setzero_si256());
                zeros += u64::from((_mm256_movemask_epi8(z) as u32).count_ones() / 2);
            }
            let (c0, c1) = (central as u16, (central >> 16) as u16);
            let group = 2 * (first_group + k as u64);
            let z = step_hash(&mut hash, k, group);
            let (p0, p1) = (
                pick_byte(group_byte(z, group)),
                pick_byte(group_byte(z, group + 1)),
            );
            // SAFETY: the two groups of 16 just loaded.
            unsafe {
                count_picked::<1>(bytes.as_ptr().add(off), p0, c0, t);
                count_picked::<1>(bytes.as_ptr().add(off + 32), p1, c1, t);
            }
        }
        let (mut mins, mut maxs) = ([0i16; 16], [0i16; 16]);
        // SAFETY: see above; `mins` and `maxs` hold 16 i16.
        unsafe {
            for v in 0..8 {
                _mm256_storeu_pd(acc.s.as_mut_ptr().add(4 * v), s[v]);
                _mm256_storeu_pd(acc.q.as_mut_ptr().add(4 * v), q[v]);
            }
            _mm256_storeu_si256(mins.as_mut_ptr().cast(), mn);
            _mm256_storeu_si256(maxs.as_mut_ptr().cast(), mx);
        }
        acc.min = mins.iter().copied().fold(acc.min, i16::min);
        acc.max = maxs.iter().copied().fold(acc.max, i16::max);
        acc.zeros += zeros;
        code16_run(
            kind,
            bytes,
            head + 32 * groups..n,
            first,
            shift,
            win,
            &mut acc,
            t,
        );
        acc.finish(kind, n)
    }

    /// Bits 0, 2, 4, … 30 of `m` as bits 0..16.
    #[inline(always)]
    fn compress_even(m: u32) -> u16 {
        let mut x = m & 0x5555_5555;
        x = (x | (x >> 1)) & 0x3333_3333;
        x = (x | (x >> 2)) & 0x0F0F_0F0F;
        x = (x | (x >> 4)) & 0x00FF_00FF;
        x = (x | (x >> 8)) & 0x0000_FFFF;
        x as u16
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{
        BlockSums, Code16, Counter, Lanes16, Lanes32, Window, code16_run, count_picked, cut,
        group_byte, pick_byte, scalar_run, step_hash,
    };
    use std::arch::x86_64::*;

    /// AVX-512 version of [`super::block_scalar`] for F32 (`SHIFTED`: `shift != 0`): values before
    /// the first whole group of sixteen and after the last go through the scalar lanes; whole
    /// groups through the vector lanes, lane `j` of the `lo` vectors being lane `j` and of the `hi`
    /// vectors lane `8 + j`, each adding its values in the same order as the scalar kernel.
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn block_f32<const SHIFTED: bool>(
        bytes: &[u8],
        first: u64,
        shift: f64,
        win: &Window,
        t: &mut impl Counter,
    ) -> Option<BlockSums> {
        let width = 4;
        let n = bytes.len() / width;
        let mut acc = Lanes16::new();
        let (head, groups) = cut::<16>(first, n);
        scalar_run(bytes, 0..head, first, shift, win, &mut acc, t);
        let shift_pd = _mm512_set1_pd(shift);
        let (lo_e, hi_e) = (_mm512_set1_ps(win.lo), _mm512_set1_ps(win.hi));
        let zero = _mm512_setzero_ps();
        // SAFETY (loads and stores below): `acc`'s arrays hold 16 lanes; the group loads read
        // `16 * width` bytes at `head + 16 * k` values, inside `bytes` for `k < groups`.
        let (mut sa, mut sb, mut qa, mut qb, mut mn, mut mx) = unsafe {
            (
                _mm512_loadu_pd(acc.s.as_ptr()),
                _mm512_loadu_pd(acc.s.as_ptr().add(8)),
                _mm512_loadu_pd(acc.q.as_ptr()),
                _mm512_loadu_pd(acc.q.as_ptr().add(8)),
                _mm512_loadu_ps(acc.min.as_ptr()),
                _mm512_loadu_ps(acc.max.as_ptr()),
            )
        };
        let mut zeros = 0u64;
        let first_group = (first + head as u64) / 16;
        let mut hash = 0u64;
        for k in 0..groups {
            let group = first_group + k as u64;
            let off = (head + 16 * k) * width;
            // SAFETY: see above.
            let x = unsafe { _mm512_loadu_ps(bytes.as_ptr().add(off).cast()) };
            let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
            let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(x),
            )));
            // `x - 0.0` is `x` for every finite x (and -0.0 stays -0.0).
            let (dlo, dhi) = if SHIFTED {
                (_mm512_sub_pd(lo, shift_pd), _mm512_sub_pd(hi, shift_pd))
            } else {
                (lo, hi)
            };
            sa = _mm512_add_pd(sa, dlo);
            sb = _mm512_add_pd(sb, dhi);
            qa = _mm512_fmadd_pd(dlo, dlo, qa);
            qb = _mm512_fmadd_pd(dhi, dhi, qb);
            mn = _mm512_min_ps(mn, x);
            mx = _mm512_max_ps(mx, x);
            zeros += u64::from(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero).count_ones());
            let central = _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(
                _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, lo_e),
                x,
                hi_e,
            );
            let picked = pick_byte(group_byte(step_hash(&mut hash, k, group), group));
            // SAFETY: the group just loaded.
            unsafe { count_picked::<0>(bytes.as_ptr().add(off), picked, central, t) };
        }
        // SAFETY: see above.
        unsafe {
            _mm512_storeu_pd(acc.s.as_mut_ptr(), sa);
            _mm512_storeu_pd(acc.s.as_mut_ptr().add(8), sb);
            _mm512_storeu_pd(acc.q.as_mut_ptr(), qa);
            _mm512_storeu_pd(acc.q.as_mut_ptr().add(8), qb);
            _mm512_storeu_ps(acc.min.as_mut_ptr(), mn);
            _mm512_storeu_ps(acc.max.as_mut_ptr(), mx);
        }
        acc.zeros += zeros;
        scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
        acc.finish(n)
    }

    /// AVX-512 version of [`super::block_scalar_code16`] for codes `KIND` (1: BF16, 2: F16): 32
    /// values per step, BF16 widened by `vpunpck[lh]wd` with zero (the lane order of
    /// [`super::bf16_lane`]), F16 by `vcvtph2ps` (in order); extremes, zeros and the window test
    /// on the codes as signed integers in value order ([`super::ord16`]).
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub(super) unsafe fn block_code16<const KIND: u8, const SHIFTED: bool>(
        bytes: &[u8],
        first: u64,
        shift: f64,
        win: &Window,
        t: &mut impl Counter,
    ) -> Option<BlockSums> {
        let kind = if KIND == 1 { Code16::BF16 } else { Code16::F16 };
        let n = bytes.len() / 2;
        let mut acc = Lanes32::new();
        let (head, groups) = cut::<32>(first, n);
        code16_run(kind, bytes, 0..head, first, shift, win, &mut acc, t);
        let shift_pd = _mm512_set1_pd(shift);
        let zero = _mm512_setzero_si512();
        let m7 = _mm512_set1_epi16(0x7FFF);
        let (lo_o, hi_o) = (
            _mm512_set1_epi16(win.codes.0),
            _mm512_set1_epi16(win.codes.1),
        );
        // SAFETY (loads and stores below): `acc`'s arrays hold 32 lanes; the group loads read 64
        // bytes at value `head + 32 * k`, inside `bytes` for `k < groups`.
        let mut s: [__m512d; 4] =
            unsafe { std::array::from_fn(|v| _mm512_loadu_pd(acc.s.as_ptr().add(8 * v))) };
        let mut q: [__m512d; 4] =
            unsafe { std::array::from_fn(|v| _mm512_loadu_pd(acc.q.as_ptr().add(8 * v))) };
        let (mut mn, mut mx) = (_mm512_set1_epi16(i16::MAX), _mm512_set1_epi16(i16::MIN));
        let (mut zc, minus_one) = (_mm512_setzero_si512(), _mm512_set1_epi16(-1));
        let first_group = (first + head as u64) / 32;
        let mut hash = 0u64;
        for k in 0..groups {
            let off = (head + 32 * k) * 2;
            // SAFETY: see above.
            let v = unsafe { _mm512_loadu_si512(bytes.as_ptr().add(off).cast()) };
            let half = |x: __m512| _mm512_castps_pd(x);
            let top = |x: __m512d| _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(x));
            let (a, b) = if KIND == 1 {
                (
                    _mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v)),
                    _mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v)),
                )
            } else {
                // SAFETY: the group's two halves, inside `bytes` (see above); converting them
                // straight from memory spares extracting the upper half.
                unsafe {
                    (
                        _mm512_cvtph_ps(_mm256_loadu_si256(bytes.as_ptr().add(off).cast())),
                        _mm512_cvtph_ps(_mm256_loadu_si256(bytes.as_ptr().add(off + 32).cast())),
                    )
                }
            };
            let x = [
                _mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                _mm512_cvtps_pd(top(half(a))),
                _mm512_cvtps_pd(_mm512_castps512_ps256(b)),
                _mm512_cvtps_pd(top(half(b))),
            ];
            for (j, &x) in x.iter().enumerate() {
                let d = if SHIFTED {
                    _mm512_sub_pd(x, shift_pd)
                } else {
                    x
                };
                s[j] = _mm512_add_pd(s[j], d);
                q[j] = _mm512_fmadd_pd(d, d, q[j]);
            }
            let ord = _mm512_xor_si512(v, _mm512_and_si512(_mm512_srai_epi16::<15>(v), m7));
            mn = _mm512_min_epi16(mn, ord);
            mx = _mm512_max_epi16(mx, ord);
            let central =
                _mm512_mask_cmple_epi16_mask(_mm512_cmpge_epi16_mask(ord, lo_o), ord, hi_o);
            // Zeros in sixteen-bit lanes (at most 1,024 steps a block: no overflow).
            zc = _mm512_mask_sub_epi16(zc, _mm512_testn_epi16_mask(v, m7), zc, minus_one);
            // The upper half through a mask shift: left to itself the compiler moves the mask
            // through memory into a vector register, a store-forwarding stall per step.
            let (c0, c1) = (
                _cvtmask32_u32(central) as u16,
                _cvtmask32_u32(_kshiftri_mask32::<16>(central)) as u16,
            );
            let group = 2 * (first_group + k as u64);
            let z = step_hash(&mut hash, k, group);
            let (p0, p1) = (
                pick_byte(group_byte(z, group)),
                pick_byte(group_byte(z, group + 1)),
            );
            // SAFETY: the two groups of 16 just loaded.
            unsafe {
                count_picked::<1>(bytes.as_ptr().add(off), p0, c0, t);
                count_picked::<1>(bytes.as_ptr().add(off + 32), p1, c1, t);
            }
        }
        let (mut mins, mut maxs, mut zs) = ([0i16; 32], [0i16; 32], [0u16; 32]);
        // SAFETY: see above; `mins`, `maxs` and `zs` hold 32 16-bit lanes.
        unsafe {
            for v in 0..4 {
                _mm512_storeu_pd(acc.s.as_mut_ptr().add(8 * v), s[v]);
                _mm512_storeu_pd(acc.q.as_mut_ptr().add(8 * v), q[v]);
            }
            _mm512_storeu_si512(mins.as_mut_ptr().cast(), mn);
            _mm512_storeu_si512(maxs.as_mut_ptr().cast(), mx);
            _mm512_storeu_si512(zs.as_mut_ptr().cast(), zc);
        }
        acc.min = mins.iter().copied().fold(acc.min, i16::min);
        acc.max = maxs.iter().copied().fold(acc.max, i16::max);
        acc.zeros += zs.iter().map(|&z| u64::from(z)).sum::<u64>();
        code16_run(
            kind,
            bytes,
            head + 32 * groups..n,
            first,
            shift,
            win,
            &mut acc,
            t,
        );
        acc.finish(kind, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::kernel::NoCount;
    use std::collections::BTreeMap;

    /// A table that records every bump.
    #[derive(Default)]
    struct Record(BTreeMap<usize, u64>);

    impl Counter for Record {
        fn bump(&mut self, key: usize, _lane: usize) {
            *self.0.entry(key).or_default() += 1;
        }

        fn add(&mut self, key: usize, _lane: usize, n: u32) {
            if n > 0 {
                *self.0.entry(key).or_default() += u64::from(n);
            }
        }
    }

    fn mixed(n: usize, seed: u64, specials: bool) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                match state % 113 {
                    0 if specials => f32::NAN,
                    1 if specials => f32::INFINITY,
                    2 => -0.0,
                    3 => 0.0,
                    4 => 0.9,
                    5 => -0.7,
                    6 => f32::from_bits(1 + (state >> 40) as u32 % 1000),
                    _ => ((u - 0.5) * 0.1) as f32,
                }
            })
            .collect()
    }

    fn encode(source: Source, v: &[f32]) -> Vec<u8> {
        match source {
            Source::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Source::BF16 => v
                .iter()
                .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
            Source::F16 => v
                .iter()
                .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                .collect(),
        }
    }

    #[test]
    fn bf16_lanes_are_a_permutation_in_widening_order_and_ord16_is_value_order() {
        let lanes: Vec<usize> = (0..32).map(bf16_lane).collect();
        let mut sorted = lanes.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..32).collect::<Vec<_>>());
        // Lanes 0-7: values 0-3, 8-11; 8-15: 16-19, 24-27; 16-23: 4-7, 12-15; 24-31: 20-23, 28-31.
        let order = [
            0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27, 4, 5, 6, 7, 12, 13,
        ];
        for (lane, &p) in order.iter().enumerate() {
            assert_eq!(bf16_lane(p), lane);
        }
        for code in 0..=u16::MAX {
            assert_eq!(
                i32::from(ord16(code)) + 0x8000,
                rank(u32::from(code)) as i32
            );
            assert_eq!(ord16(ord16(code) as u16) as u16, code);
        }
    }

    #[test]
    fn sample_picks_two_distinct_lanes_and_one_in_eight() {
        let mut per_lane = [0u64; 16];
        for g in 0..100_000u64 {
            let (a, b) = picks(g);
            assert!(a < 16 && b < 16 && a != b);
            per_lane[a] += 1;
            per_lane[b] += 1;
        }
        // Each lane about 12,500 times.
        assert!(
            per_lane.iter().all(|&c| (11_500..13_500).contains(&c)),
            "{per_lane:?}"
        );
        let n = 1 << 20;
        let hits = (0..n).filter(|&i| sampled(i)).count();
        assert_eq!(hits as u64, n / 8);
        // No aliasing with a matrix column: every column of 4096 is sampled about 1/8 of the time
        // over 256 rows.
        let cols = 4096u64;
        let mut per_col = vec![0u32; cols as usize];
        for i in 0..cols * 256 {
            per_col[(i % cols) as usize] += u32::from(sampled(i));
        }
        assert!(
            per_col.iter().all(|&c| (8..=64).contains(&c)),
            "{:?}",
            per_col.iter().min()
        );
    }

    #[test]
    fn window_keys_agree_with_its_bounds() {
        let cases = [
            (-0.07f32, 0.08f32),
            (0.0, 1.0),
            (-1.0, 0.0),
            (0.0, 0.0),
            (-0.0, -0.0),
            (0.9, 1.1),
            (-1.1, -0.9),
            (-f32::MIN_POSITIVE, f32::MIN_POSITIVE),
            (f32::MIN, f32::MAX),
        ];
        let probes: Vec<f32> = [
            0.0f32,
            -0.0,
            1e-40,
            -1e-40,
            0.07,
            -0.07,
            0.08,
            -0.08,
            0.0801,
            -0.0701,
            0.9,
            1.1,
            -0.9,
            -1.1,
            1.0,
            -1.0,
            1.2,
            -1.2,
            0.5,
            -0.5,
            f32::MAX,
            f32::MIN,
            3e-39,
        ]
        .into_iter()
        .flat_map(|x| {
            [
                x,
                f32::from_bits(x.to_bits() + 1),
                f32::from_bits(x.to_bits().saturating_sub(1)),
            ]
        })
        .filter(|x| x.is_finite())
        .collect();
        for (a, b) in cases {
            let w = Window::covering(a, b);
            assert!(w.lo <= a && w.hi >= b, "{a} {b}: {w:?}");
            for &x in &probes {
                assert_eq!(
                    w.central(x),
                    w.central_key(x.to_bits() >> 16),
                    "{a}..{b}: {x:e} ({:#x}) in {w:?}",
                    x.to_bits()
                );
            }
        }
    }

    #[test]
    fn f16_code_bounds_select_exactly_the_values_inside_the_window() {
        let cases = [
            (-0.07f32, 0.08f32),
            (0.0, 1.0),
            (-1.0, 0.0),
            (0.0, 0.0),
            (0.9, 1.1),
            (-1.1, -0.9),
            (1.0001, 1.0002), // no F16 value inside
            (1e-7, 1e-6),     // F16 subnormals
            (-1e6, 1e6),      // beyond the F16 range
            (f32::MIN, f32::MAX),
        ];
        for (a, b) in cases {
            let w = Window::covering(a, b).for_f16();
            for code in 0..=u16::MAX {
                let x = half::f16::from_bits(code).to_f32();
                if x.is_nan() {
                    continue;
                }
                let o = ord16(code);
                assert_eq!(
                    w.central(x),
                    w.codes.0 <= o && o <= w.codes.1,
                    "{a}..{b}: {code:#06x} = {x:e} in {w:?}"
                );
            }
        }
    }

    #[test]
    fn window_of_normal_values_is_about_five_sigma_and_constant_tensors_stay_central() {
        let v: Vec<f32> = mixed(100_000, 3, false);
        let bytes = encode(Source::F32, &v);
        let Probed {
            shift,
            window: w,
            ranges,
        } = window(Source::F32, &bytes);
        assert_eq!(shift, 0.0, "centred values need no shift");
        assert_eq!(ranges.len(), 8);
        assert!(
            ranges
                .iter()
                .all(|r| r.len() == 4 * PROBE && r.end <= bytes.len())
        );
        assert!(ranges.windows(2).all(|p| p[0].end <= p[1].start));
        assert!(
            w.lo < -0.05 && w.lo > -0.2 && w.hi > 0.05 && w.hi < 0.2,
            "{w:?}"
        );
        for c in [0.0f32, 1.0, -3.5, 1e-30] {
            let bytes = encode(Source::F32, &vec![c; 5000]);
            let Probed {
                shift, window: w, ..
            } = window(Source::F32, &bytes);
            assert_eq!(shift, if c == 0.0 { 0.0 } else { f64::from(c) });
            assert!(w.central(c), "{c}: {w:?}");
        }
        let w = window(Source::F32, &encode(Source::F32, &[f32::NAN; 10])).window;
        assert!(w.central(0.0));
        let p = window(Source::F32, &[]);
        assert_eq!((p.shift, p.ranges.len()), (0.0, 1));
    }

    #[test]
    fn vector_kernels_match_the_scalar_kernel_bit_for_bit() {
        for kernel in SampleKernel::available() {
            for source in [Source::F32, Source::BF16, Source::F16] {
                for (n, first, specials) in [
                    (0, 0, false),
                    (1, 5, false),
                    (15, 1, false),
                    (16, 0, false),
                    (17, 15, true),
                    (31, 1, false),
                    (32, 0, false),
                    (70, 17, false),
                    (4096, 0, false),
                    (4096, 7, true),
                    (4000, 33, false),
                    (4000, 16, false),
                    (1000, 1 << 40, true),
                ] {
                    let v = mixed(n, n as u64 + first, specials);
                    let bytes = encode(source, &v);
                    for shift in [0.001, 0.0] {
                        let win = Window::covering(-0.04, 0.045);
                        let (mut t1, mut t2) = (Record::default(), Record::default());
                        let a = kernel.block(source, &bytes, first, shift, &win, &mut t1);
                        let b = block_scalar(source, &bytes, first, shift, &win, &mut t2);
                        let bits = |s: Option<BlockSums>| s.map(|s| (s.s.to_bits(), s.q.to_bits()));
                        let case = format!("{kernel:?} {source:?} n={n} first={first} {shift}");
                        assert_eq!(bits(a), bits(b), "{case}");
                        assert_eq!(a, b, "{case}");
                        assert_eq!(t1.0, t2.0, "{case}");
                        assert_eq!(a.is_none(), v.iter().any(|x| !x.is_finite()));
                    }
                }
            }
        }
    }

    #[test]
    fn scalar_kernel_matches_a_naive_reference() {
        let v = mixed(4096, 11, false);
        let first = 4096 * 3 + 5;
        let (shift, win) = (0.0, Window::covering(-0.03, 0.03));
        let mut t = Record::default();
        let got = block_scalar(
            Source::F32,
            &encode(Source::F32, &v),
            first,
            shift,
            &win,
            &mut t,
        )
        .unwrap();
        let x: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        let s: f64 = x.iter().sum();
        let q: f64 = x.iter().map(|x| x * x).sum();
        assert!((got.s - s).abs() < 1e-13 * q.sqrt());
        assert!((got.q - q).abs() < 1e-13 * q);
        assert_eq!(got.zeros, v.iter().filter(|&&x| x == 0.0).count() as u64);
        assert_eq!(got.min, x.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(got.max, x.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let mut want: BTreeMap<usize, u64> = BTreeMap::new();
        for (j, &x) in v.iter().enumerate() {
            if !win.central(x) || sampled(first + j as u64) {
                *want.entry((x.to_bits() >> 16) as usize).or_default() += 1;
            }
        }
        assert_eq!(t.0, want);
        let _ = NoCount;
    }
}

//! The central window of a sampled tensor, chosen before it is read from a few probes spread over
//! it, and the key order the window is a range of.

use super::Source;
use crate::stats::lanes::ord16;

/// Position of a key in value order: negative keys (sign bit set) descend, positive ones ascend;
/// -0's bucket comes just before +0's.
pub(crate) fn rank(key: u32) -> u32 {
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
pub(crate) struct Window {
    pub lo: f32,
    pub hi: f32,
    pub keys: (u32, u32),
    pub codes: (i16, i16),
    /// The tensor's extremes are expected beyond the window on both sides (16-bit weights whose
    /// probes reach well towards both ends): the kernels then leave the extremes of a block out
    /// (`BlockSums::min`/`max` are ±∞) and [`super::extremes`] takes them from the tails, exactly
    /// counted, reading the tensor again only if a side has none. Saves AVX-512 two
    /// instructions a step.
    pub extremes_in_tails: bool,
}

/// How far towards each end of a symmetric window a tensor's probes must reach for its extremes
/// to be expected beyond it: normal weights' 4,096 probes reach about ±3.5σ of a ±4.7σ window
/// (0.75; the tensor, 2^22 values or more, then has at least 7 values beyond each end on average,
/// none on one side about once in a thousand), uniform ones about half of it.
const TAIL_REACH: f32 = 0.6;

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
            extremes_in_tails: false,
        }
    }

    /// The same window, with [`Window::extremes_in_tails`] set if it is symmetric and the probes'
    /// extremes `reach` at least [`TAIL_REACH`] of the way to both of its ends.
    fn expecting_tails(mut self, reach: (f32, f32)) -> Window {
        self.extremes_in_tails = self.symmetric_magnitude().is_some()
            && reach.0 <= TAIL_REACH * self.lo
            && reach.1 >= TAIL_REACH * self.hi;
        self
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

    /// The largest central magnitude when the window is symmetric about zero in code order:
    /// `Some(m)` when a 16-bit code is central exactly if `code & 0x7FFF <= m` (`±0` included).
    /// The AVX-512 kernel then tests a value with one comparison of its magnitude.
    pub fn symmetric_magnitude(&self) -> Option<u16> {
        let (lo, hi) = self.codes;
        (hi >= 0 && i32::from(lo) == -1 - i32::from(hi)).then_some(hi as u16)
    }

    /// Whether a key's bucket is central.
    pub fn central_key(&self, key: u32) -> bool {
        (rank(self.keys.0)..=rank(self.keys.1)).contains(&rank(key))
    }

    #[inline(always)]
    pub fn central(&self, x: f32) -> bool {
        x >= self.lo && x <= self.hi
    }
}

/// Values read per sampled position when choosing a tensor's window and shift.
pub(crate) const PROBE: usize = 512;
/// Positions read, evenly spread over the tensor.
const PROBES: usize = 8;

/// The byte ranges of a tensor read to choose its window, with the window they give.
pub(crate) struct Probed {
    pub shift: f64,
    pub window: Window,
    pub ranges: Vec<std::ops::Range<usize>>,
}

/// The shift and window of a tensor of `source` values, from up to 4096 values read at eight
/// evenly spread places (a first block of padding or special tokens does not decide alone).
pub(crate) fn window(source: Source, bytes: &[u8]) -> Probed {
    let n = bytes.len() / source.width();
    let mut values: Vec<f32> = Vec::with_capacity(PROBE * PROBES);
    let ranges = probes(n, PROBE);
    for range in &ranges {
        values.extend(range.clone().map(|i| source.value(bytes, i)));
    }
    let finite = values.iter().copied().filter(|x| x.is_finite());
    let reach = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (shift, window) = window_of(values);
    let window = match source {
        Source::F32 => window,
        Source::BF16 => window.expecting_tails(reach),
        Source::F16 => window.for_f16().expecting_tails(reach),
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
pub(crate) fn window_ggml(ty: crate::format::gguf::GgmlType, bytes: &[u8]) -> Probed {
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
/// the median's magnitude and the smallest normal f32, so that a constant tensor stays central);
/// when the median lies within a quarter of the spread of zero (weights), widened to be symmetric
/// about zero (by at most an eighth of its half-width on one side), so that a 16-bit value's test
/// is one comparison of its magnitude (see [`Window::symmetric_magnitude`]).
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
    let (a, b) = if m64.abs() <= spread / 4.0 {
        let h = m64.abs() + w;
        (-h, h)
    } else {
        (m64 - w, m64 + w)
    };
    let a = (a as f32).max(f32::MIN);
    let b = (b as f32).min(f32::MAX);
    // A shift of 0 spares the kernel a subtraction per value; it costs no precision while the
    // centre is within the spread (the sums' cancellation is then at most a factor of 2).
    let shift = if m64.abs() <= spread { 0.0 } else { m64 };
    (shift, Window::covering(a, b))
}

//! Mergeable partial results: moments, code counts, and the zero structure of 2-D tensors.
//!
//! Everything here merges in a fixed order (the engine merges pieces in chunk order), so a result
//! depends on the chunk size but never on the number of threads. Counts merge exactly in any order.

use super::isa::Isa;
use super::kernel::{self, BLOCK, KeyTable};
use super::lanes::BlockSums;
use crate::decode;
use crate::dtype::DType;

/// Count, mean and sum of squared deviations (M2) of finite values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Moments of values whose shifted sums are `s = Σ(x - shift)` and `q = Σ(x - shift)²`.
    ///
    /// `q - s²/n` cancels only in proportion to how far the shift is from the mean; callers keep
    /// the shift within a few standard deviations of it.
    pub fn from_shifted(n: u64, shift: f64, s: f64, q: f64) -> Moments {
        if n == 0 {
            return Moments::default();
        }
        let nf = n as f64;
        let d = s / nf;
        Moments {
            n,
            mean: shift + d,
            m2: (q - s * d).max(0.0),
        }
    }

    /// Chan, Golub and LeVeque's pairwise update: exact in the count, stable in mean and M2.
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let (na, nb, nf) = (self.n as f64, o.n as f64, n as f64);
        let delta = o.mean - self.mean;
        self.mean += delta * (nb / nf);
        self.m2 += o.m2 + delta * delta * (na * nb / nf);
        self.n = n;
    }
}

/// Moments and the exact simple statistics of one run of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Summary {
    pub moments: Moments,
    /// Finite minimum and maximum (meaningless while `moments.n == 0`).
    pub min: f64,
    pub max: f64,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            moments: Moments::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zeros: 0,
            nan: 0,
            inf: 0,
        }
    }
}

impl Summary {
    pub fn merge(&mut self, o: &Summary) {
        self.moments.merge(&o.moments);
        if o.moments.n > 0 {
            self.min = self.min.min(o.min);
            self.max = self.max.max(o.max);
        }
        self.zeros += o.zeros;
        self.nan += o.nan;
        self.inf += o.inf;
    }

    /// Adds a block's sums; the block was shifted by the tensor's shift, so the moments' mean is
    /// an offset from it.
    pub fn add_block(&mut self, b: &BlockSums) {
        self.merge(&Summary {
            moments: Moments::from_shifted(b.n, 0.0, b.s, b.q),
            min: b.min,
            max: b.max,
            zeros: b.zeros,
            nan: b.nan,
            inf: b.inf,
        });
    }
}

/// The shift of a tensor's moments: the median of the finite values among its first [`BLOCK`]
/// values (or, if there are none, of the next blocks, up to 16).
///
/// Every piece of the tensor sums `x - shift` with this same shift, and means are merged as
/// offsets from it, so precision depends on the spread of the data, not on its distance from zero
/// (integers near 2^32 differing by one keep their variance). The median is not pulled by a leading
/// outlier, and it depends only on the tensor's first bytes, never on how the tensor is cut.
pub(super) fn tensor_shift(dtype: DType, bytes: &[u8]) -> f64 {
    let step = BLOCK / decode::values_per_element(dtype) as usize * dtype.block_bytes() as usize;
    let mut values = Vec::with_capacity(BLOCK);
    for block in bytes.chunks(step).take(16) {
        values.clear();
        if decode::decode_f64(dtype, block, &mut values).is_err() {
            break;
        }
        values.retain(|x| x.is_finite());
        if !values.is_empty() {
            let mid = values.len() / 2;
            return *values.select_nth_unstable_by(mid, f64::total_cmp).1;
        }
    }
    0.0
}

/// Summary of a run of little-endian f32, block by block, shifted by the tensor's `shift`; every
/// value's key goes into `table`.
pub(super) fn summarise_f32(isa: Isa, bytes: &[u8], shift: f64, table: &mut KeyTable) -> Summary {
    let mut out = Summary::default();
    // A finite value of this run stands in for non-finite values in the min/max lanes.
    let rep = decode::groups::<4>(bytes)
        .map(f32::from_le_bytes)
        .find(|x| x.is_finite())
        .unwrap_or(0.0);
    for block in bytes.chunks(BLOCK * 4) {
        out.add_block(&kernel::f32_block(isa, block, shift, rep, Some(table)));
    }
    out
}

/// Adds values decoded to f64 to `out`, in the block structure of [`summarise_f32`].
pub(super) fn summarise_f64(values: &[f64], shift: f64, out: &mut Summary, table: &mut KeyTable) {
    for block in values.chunks(BLOCK) {
        out.add_block(&kernel::f64_block(block, shift, Some(table)));
    }
}

/// Counts per 16-bit-or-narrower key, merged from sparse lists; dense once it fills up.
#[derive(Debug, Clone)]
pub(super) enum KeyCounts {
    /// Sorted by key.
    Sparse(Vec<(u32, u64)>),
    /// Indexed by key.
    Dense(Vec<u64>),
}

impl KeyCounts {
    pub fn new() -> KeyCounts {
        KeyCounts::Sparse(Vec::new())
    }

    /// Adds counts sorted by key (as [`KeyTable::drain`] returns them).
    pub fn add(&mut self, bits: u32, counts: &[(u32, u64)]) {
        match self {
            KeyCounts::Dense(d) => {
                for &(k, n) in counts {
                    d[k as usize] += n;
                }
            }
            KeyCounts::Sparse(s) => {
                let mut merged = Vec::with_capacity(s.len() + counts.len());
                let (mut a, mut b) = (s.iter().peekable(), counts.iter().peekable());
                loop {
                    let next = match (a.peek(), b.peek()) {
                        (Some(&&x), Some(&&y)) if x.0 == y.0 => {
                            a.next();
                            b.next();
                            (x.0, x.1 + y.1)
                        }
                        (Some(&&x), Some(&&y)) if x.0 < y.0 => *a.next().unwrap_or(&x),
                        (_, Some(&&y)) => *b.next().unwrap_or(&y),
                        (Some(&&x), None) => *a.next().unwrap_or(&x),
                        (None, None) => break,
                    };
                    merged.push(next);
                }
                if merged.len() > (1usize << bits) / 16 {
                    let mut d = vec![0u64; 1 << bits];
                    for (k, n) in merged {
                        d[k as usize] += n;
                    }
                    *self = KeyCounts::Dense(d);
                } else {
                    *s = merged;
                }
            }
        }
    }

    /// The non-zero counts as `(key, count)` in key order.
    pub fn entries(&self) -> Vec<(u32, u64)> {
        match self {
            KeyCounts::Sparse(s) => s.clone(),
            KeyCounts::Dense(d) => d
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 0)
                .map(|(k, &n)| (k as u32, n))
                .collect(),
        }
    }
}

/// Which rows touched by a contiguous run of elements of a row-major matrix are all zero.
///
/// The run may start and end inside rows; `first` and `last` describe the (possibly partial)
/// first and last rows, `inner_dead` the rows strictly between them, which the run covers whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowSpan {
    pub first_row: u64,
    pub first_zero: bool,
    pub last_row: u64,
    pub last_zero: bool,
    pub inner_dead: u64,
}

impl RowSpan {
    pub fn row(row: u64, zero: bool) -> RowSpan {
        RowSpan {
            first_row: row,
            first_zero: zero,
            last_row: row,
            last_zero: zero,
            inner_dead: 0,
        }
    }

    /// The span of this run followed directly by `next`.
    pub fn then(self, next: RowSpan) -> RowSpan {
        let a_single = self.first_row == self.last_row;
        let b_single = next.first_row == next.last_row;
        if self.last_row == next.first_row {
            let joined = self.last_zero && next.first_zero;
            match (a_single, b_single) {
                (true, true) => RowSpan::row(self.first_row, joined),
                (true, false) => RowSpan {
                    first_zero: joined,
                    first_row: self.first_row,
                    ..next
                },
                (false, true) => RowSpan {
                    last_zero: joined,
                    last_row: self.last_row,
                    ..self
                },
                (false, false) => RowSpan {
                    first_row: self.first_row,
                    first_zero: self.first_zero,
                    last_row: next.last_row,
                    last_zero: next.last_zero,
                    inner_dead: self.inner_dead + next.inner_dead + u64::from(joined),
                },
            }
        } else {
            RowSpan {
                first_row: self.first_row,
                first_zero: self.first_zero,
                last_row: next.last_row,
                last_zero: next.last_zero,
                inner_dead: self.inner_dead
                    + next.inner_dead
                    + u64::from(!a_single && self.last_zero)
                    + u64::from(!b_single && next.first_zero),
            }
        }
    }

    /// Dead rows of a span that covers whole rows (a whole tensor).
    pub fn dead(&self) -> u64 {
        self.inner_dead
            + u64::from(self.first_zero)
            + u64::from(self.last_row != self.first_row && self.last_zero)
    }
}

/// Columns seen with a non-zero value, over the contiguous column range a run touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ColMask {
    /// First column covered.
    pub lo: u64,
    /// Columns covered (`lo..lo + len`).
    pub len: u64,
    /// Bit `i` set: column `lo + i` has a non-zero value; `None`: every covered column does.
    pub alive: Option<Vec<u64>>,
}

/// Row and column zero structure of the elements `first..first + n` of a matrix with `cols`
/// columns, held in `bytes` as `n` elements of `width` bytes; `zero` says whether an element's
/// bytes are a zero.
///
/// Whole rows go through an `ndarray` view, row by row: the dead-row test stops at the first
/// non-zero value, and a live row marks its non-zero columns until every column has been seen. So
/// typical weights cost one pass over the first row and one element per later row, and an all-zero
/// matrix one pass.
pub(super) fn zero_structure(
    bytes: &[u8],
    width: usize,
    first: u64,
    cols: u64,
    zero: impl Fn(&[u8]) -> bool,
) -> (RowSpan, ColMask) {
    use ndarray::{ArrayView2, Axis};
    let n = (bytes.len() / width) as u64;
    debug_assert!(n > 0 && cols > 0);
    let covers_all = n >= cols || first % cols + n > cols;
    let (lo, len) = if covers_all {
        (0, cols)
    } else {
        (first % cols, n)
    };
    let mut alive = Alive {
        lo,
        bits: vec![0u64; len.div_ceil(64) as usize],
        count: 0,
    };

    // Partial first row, whole rows, partial last row.
    let head = ((cols - first % cols) % cols).min(n) as usize;
    let whole = ((n - head as u64) / cols) as usize;
    let body_end = head + whole * cols as usize;
    let mut span: Option<RowSpan> = None;
    let mut push = |s: RowSpan| span = Some(span.map_or(s, |a| a.then(s)));

    let segment = |part: &[u8], start: u64, alive: &mut Alive| -> bool {
        let mut all_zero = true;
        for (i, e) in part.chunks_exact(width).enumerate() {
            if !zero(e) {
                all_zero = false;
                alive.mark((start + i as u64) % cols);
            }
        }
        all_zero
    };

    if head > 0 {
        let z = segment(&bytes[..head * width], first, &mut alive);
        push(RowSpan::row(first / cols, z));
    }
    if whole > 0 {
        let body = &bytes[head * width..body_end * width];
        let view = ArrayView2::from_shape((whole, cols as usize * width), body)
            .unwrap_or_else(|_| unreachable!("whole rows fit the slice"));
        let first_row = (first + head as u64) / cols;
        for (r, row) in view.axis_iter(Axis(0)).enumerate() {
            let row = row_bytes(row);
            let dead = row.chunks_exact(width).all(&zero);
            push(RowSpan::row(first_row + r as u64, dead));
            // Columns: a dead row marks none; the others until every column has been seen.
            if !dead && alive.count < len {
                for (c, e) in row.chunks_exact(width).enumerate() {
                    if !zero(e) {
                        alive.mark(c as u64);
                    }
                }
            }
        }
    }
    if body_end < n as usize {
        let start = first + body_end as u64;
        let z = segment(&bytes[body_end * width..], start, &mut alive);
        push(RowSpan::row(start / cols, z));
    }
    let mask = ColMask {
        lo,
        len,
        alive: (alive.count < len).then_some(alive.bits),
    };
    (span.unwrap_or_else(|| unreachable!("n > 0")), mask)
}

/// The bytes of a row of a standard-layout view (always contiguous).
fn row_bytes(row: ndarray::ArrayView1<'_, u8>) -> &[u8] {
    row.to_slice().unwrap_or_default()
}

/// Columns of `lo..lo + bits` seen non-zero so far.
struct Alive {
    lo: u64,
    bits: Vec<u64>,
    count: u64,
}

impl Alive {
    fn mark(&mut self, col: u64) {
        let i = col - self.lo;
        let (w, b) = ((i / 64) as usize, i % 64);
        if self.bits[w] >> b & 1 == 0 {
            self.bits[w] |= 1 << b;
            self.count += 1;
        }
    }
}

/// Columns with a non-zero value, over a whole tensor.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    alive: Vec<u64>,
    cols: u64,
}

impl Columns {
    pub fn new(cols: u64) -> Columns {
        Columns {
            alive: vec![0; cols.div_ceil(64) as usize],
            cols,
        }
    }

    pub fn add(&mut self, m: &ColMask) {
        for i in 0..m.len {
            let seen = match &m.alive {
                None => true,
                Some(bits) => bits[(i / 64) as usize] >> (i % 64) & 1 == 1,
            };
            if seen {
                let c = m.lo + i;
                self.alive[(c / 64) as usize] |= 1 << (c % 64);
            }
        }
    }

    pub fn dead(&self) -> u64 {
        self.cols
            - self
                .alive
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn moments_merge_matches_two_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| 1.0 + 1e-3 * ((i * 7919 % 1000) as f64 - 500.0) / 500.0)
            .collect();
        let mean = xs.iter().sum::<f64>() / 1000.0;
        let m2: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        let mut m = Moments::default();
        for part in xs.chunks(37) {
            let shift = part[0];
            let s: f64 = part.iter().map(|x| x - shift).sum();
            let q: f64 = part.iter().map(|x| (x - shift).powi(2)).sum();
            m.merge(&Moments::from_shifted(part.len() as u64, shift, s, q));
        }
        assert_eq!(m.n, 1000);
        assert!((m.mean - mean).abs() < 1e-15);
        assert!((m.m2 - m2).abs() < 1e-12 * m2);
    }

    #[test]
    fn key_counts_merge_sparse_and_dense() {
        let mut k = KeyCounts::new();
        k.add(8, &[(1, 2), (5, 1)]);
        k.add(8, &[(0, 1), (5, 3), (9, 1)]);
        assert_eq!(k.entries(), vec![(0, 1), (1, 2), (5, 4), (9, 1)]);
        let many: Vec<(u32, u64)> = (10..40).map(|c| (c, 1)).collect();
        k.add(8, &many);
        assert!(matches!(k, KeyCounts::Dense(_)));
        k.add(8, &[(5, 1)]);
        let e = k.entries();
        assert_eq!(e.len(), 34);
        assert_eq!(e[2], (5, 5));
    }

    fn naive_rows(zero: &[bool], cols: usize) -> u64 {
        zero.chunks(cols).filter(|r| r.iter().all(|&z| z)).count() as u64
    }

    fn naive_cols(zero: &[bool], cols: usize) -> u64 {
        (0..cols)
            .filter(|&c| zero.iter().skip(c).step_by(cols).all(|&z| z))
            .count() as u64
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        /// Splitting a matrix anywhere and merging the pieces' spans and masks in order gives the
        /// dead rows and columns a direct count gives.
        #[test]
        fn zero_structure_of_pieces_merges_to_the_whole(
            rows in 1usize..9,
            cols in 1usize..9,
            density in 0.0f64..1.0,
            seed in any::<u64>(),
            cuts in proptest::collection::vec(any::<u16>(), 0..6),
        ) {
            let n = rows * cols;
            let mut state = seed | 1;
            let zero: Vec<bool> = (0..n).map(|_| {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                (state % 1000) as f64 / 1000.0 < density
            }).collect();
            let mut bounds: Vec<usize> = cuts.iter().map(|&c| c as usize % (n + 1)).collect();
            bounds.extend([0, n]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut span: Option<RowSpan> = None;
            let mut columns = Columns::new(cols as u64);
            for w in bounds.windows(2) {
                let (a, b) = (w[0], w[1]);
                let bytes: Vec<u8> = zero[a..b].iter().map(|&z| u8::from(!z)).collect();
                let (s, m) = zero_structure(&bytes, 1, a as u64, cols as u64, |e| e[0] == 0);
                span = Some(span.map_or(s, |x| x.then(s)));
                columns.add(&m);
            }
            let span = span.unwrap();
            prop_assert_eq!(span.dead(), naive_rows(&zero, cols));
            prop_assert_eq!(columns.dead(), naive_cols(&zero, cols));
        }
    }
}

//! Low-rank detection on Δ = B − A for a changed 2-D tensor, without materialising Δ.
//!
//! The randomized range finder of Halko, Martinsson and Tropp (2011, algorithm 4.4): Y = Δ·Ω for a
//! Gaussian Ω of [`SKETCH`] columns, [`POWER_ITERATIONS`] rounds of Q ← orth(Δ·orth(Δᵀ·Q)) to
//! sharpen the spectrum, then the singular values of the small matrix Qᵀ·Δ. Every product streams
//! Δ by row chunks (each chunk decoded from both sides and subtracted), in parallel, summed in row
//! order. The thin QR is modified Gram–Schmidt run twice; the small SVD takes the eigenvalues of
//! (QᵀΔ)(QᵀΔ)ᵀ, k × k, by cyclic Jacobi. A merged rank-r LoRA has r singular values far above the
//! rounding floor and almost all of ‖Δ‖² in them.
//!
//! The range finder reads Δ at least twice and costs 2 · [`SKETCH`] flops per value and pass: on a
//! fully changed model it was 55× the read limit. Three cheaper answers come first, each exact or
//! with a stated error probability, from the Σ Δ² of every row that the numbers pass gives:
//!
//! 1. **Noise floor**: when ‖Δ‖_F is at most the rounding floor (below), no singular value can
//!    be above it (σ₁ ≤ ‖Δ‖_F): nothing to measure, nothing read.
//! 2. **Few rows**: when at most [`EXACT_ROWS_MAX`] rows of Δ are non-zero, those rows are Δ: their
//!    Gram matrix gives every singular value exactly, from one read of those rows.
//! 3. **Row-sample gate** (length-squared sampling, Frieze–Kannan–Vempala): [`GATE_ROWS`] rows
//!    drawn with probability ∝ their Σ Δ², each scaled to unit length (the unbiased estimator
//!    SᵀS of ΔᵀΔ up to a constant, since row i scaled by 1/√pᵢ has norm² ‖Δ‖²_F). For a fixed
//!    projector P onto Δ's top [`LOW_RANK_MAX`] right singular vectors, the sample's captured
//!    share (1/s) Σ ‖P sᵢ‖² is a mean of s independent values in [0, 1] whose expectation is
//!    Δ's top-16 share, and the sample's own top-16 share is at least that (Ky Fan). A
//!    low-rank Δ (top-16 share ≥ 99%, what `low_rank` means) gives a sample share below
//!    [`GATE_SHARE`] = 90% with probability at most exp(−s · KL(0.1 ‖ 0.01)) ≈ 1e-8 for
//!    s = 128 (Chernoff–Hoeffding). So a sample share below 90% reads "not low rank" and the range
//!    finder is skipped; anything else, including a change on a few heavy rows, which the
//!    sample then draws again and again, goes to the range finder. The sample reads 2 · 128 rows:
//!    under 1% of a 16384 × 4096 matrix.

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use super::pairing::View;
use crate::decode::DecodeError;

/// Columns of the sketch: ranks up to this are measured; more reads as "above".
pub const SKETCH: usize = 32;
/// Power iterations: two are enough for the slowly decaying spectra of fine-tunes.
pub const POWER_ITERATIONS: usize = 2;
/// Below this share of ‖Δ‖² in the first sketch, Δ reads as full rank without power iterations.
const EARLY_FULL_RANK_SHARE: f64 = 0.5;
/// Values of Δ decoded per chunk.
const CHUNK_VALUES: usize = 1 << 18;
/// Rows of Δ drawn by the row-sample gate.
pub const GATE_ROWS: usize = 128;
/// A sample whose top [`LOW_RANK_MAX`] directions hold less than this share of its energy reads
/// as not low rank.
pub const GATE_SHARE: f64 = 0.9;
/// At most this many non-zero rows: the singular values are computed exactly from those rows.
pub const EXACT_ROWS_MAX: usize = 128;
/// Seed of the row sample (reports are reproducible).
const GATE_SEED: u64 = 0x9a7e_5a4d_0c1b_2e3f;
/// Width the gate's sampled rows are sketched to before their Gram matrix (when wider): a
/// CountSketch, each column added with a random sign into one of this many buckets. A linear map
/// keeps a rank-16 part of rank at most 16 and every row's squared norm in expectation, whatever
/// columns the change lies in, so the energy shares the gate reads are kept; four times the rows
/// keeps a full-rank change spread (its top 16 of 128 directions hold about a quarter), at an
/// eighth of the flops of 4096 columns (the Gram matrix was 18% of a default diff of two fully
/// changed 2 GiB BF16 files).
const GATE_SKETCH: usize = 4 * GATE_ROWS;

/// How the rank profile was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankMethod {
    /// The randomized range finder on the whole of Δ.
    RangeFinder,
    /// Δ has at most [`EXACT_ROWS_MAX`] non-zero rows: exact singular values from those.
    ExactRows,
    /// The row-sample gate read Δ as not low rank; the range finder was skipped.
    RowSample,
    /// ‖Δ‖_F is within the rounding floor: no singular value above it, nothing read.
    NoiseFloor,
}

/// The rank profile of Δ.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LowRank {
    /// Smallest rank holding 90% of ‖Δ‖²; null when more than the `sketch` measured, or not
    /// measured (`row_sample`, `noise_floor`).
    pub r90: Option<usize>,
    pub r99: Option<usize>,
    /// ‖Δ‖²_F / σ₁²; for `row_sample` estimated from the sample (s / λ₁ of its Gram matrix of
    /// unit rows); null for `noise_floor`.
    pub stable: Option<f64>,
    /// Singular values above `floor`, largest first (empty for `row_sample` and `noise_floor`).
    pub singular_values: Vec<f64>,
    /// The largest singular value rounding noise alone would give: 2 · noise rms · (√rows + √cols).
    pub floor: f64,
    /// Columns of the sketch (the largest rank that can be measured).
    pub sketch: usize,
    /// Whether the change reads as a low-rank merge: r99 at most [`LOW_RANK_MAX`] and at most a
    /// quarter of the smaller dimension (so a full-rank change of a small matrix does not count).
    pub low_rank: bool,
    pub method: RankMethod,
    /// For `row_sample`: the rows drawn and the share of their energy in their top
    /// [`LOW_RANK_MAX`] directions (below [`GATE_SHARE`]).
    pub sample: Option<RowSample>,
}

/// What a report can say of r90 or r99.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankReading {
    Measured(usize),
    /// Above this rank: the sketch for the range finder, [`LOW_RANK_MAX`] for the row-sample gate
    /// (r99 only).
    Above(usize),
    NotMeasured,
}

impl LowRank {
    /// r90 as a report shows it.
    pub fn r90_reading(&self) -> RankReading {
        self.reading(self.r90, false)
    }

    /// r99 as a report shows it.
    pub fn r99_reading(&self) -> RankReading {
        self.reading(self.r99, true)
    }

    fn reading(&self, r: Option<usize>, is_r99: bool) -> RankReading {
        match (self.method, r) {
            (_, Some(v)) => RankReading::Measured(v),
            (RankMethod::RangeFinder | RankMethod::ExactRows, None) => {
                RankReading::Above(self.sketch)
            }
            (RankMethod::RowSample, None) if is_r99 => RankReading::Above(LOW_RANK_MAX),
            _ => RankReading::NotMeasured,
        }
    }
}

/// What the row-sample gate saw.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowSample {
    pub rows: usize,
    pub top_share: f64,
}

/// Largest r99 that still reads as a low-rank merge (LoRA ranks are 4…64; the sketch measures 32).
pub const LOW_RANK_MAX: usize = 16;

/// Measures the rank of Δ = B − A (same shape, `rows × cols`); `delta_sq` is ‖Δ‖² from the
/// numbers pass, `noise_rms` the rounding noise per value and `row_energies` the Σ Δ² of each row
/// when the numbers pass had them (the cheap answers of the module guide need them).
pub(crate) fn compute_low_rank(
    a: &View<'_>,
    b: &View<'_>,
    delta_sq: f64,
    noise_rms: f64,
    row_energies: Option<&[f64]>,
) -> Result<Option<LowRank>, DecodeError> {
    let (m, n) = (a.rows, a.cols);
    let k = SKETCH.min(m).min(n);
    if k < 2 || delta_sq <= 0.0 || b.rows != m || b.cols != n {
        return Ok(None);
    }
    let floor = 2.0 * noise_rms * ((m as f64).sqrt() + (n as f64).sqrt());
    if delta_sq.sqrt() <= floor {
        return Ok(Some(LowRank {
            r90: None,
            r99: None,
            stable: None,
            singular_values: Vec::new(),
            floor,
            sketch: 0,
            low_rank: false,
            method: RankMethod::NoiseFloor,
            sample: None,
        }));
    }
    if let Some(energies) = row_energies.filter(|e| e.len() == m) {
        let nonzero: Vec<usize> = (0..m).filter(|&r| energies[r] > 0.0).collect();
        if nonzero.len() <= EXACT_ROWS_MAX {
            return exact_rows(a, b, &nonzero, floor).map(Some);
        }
        if m > 2 * GATE_ROWS && n > LOW_RANK_MAX {
            let rows = length_squared_sample(energies, GATE_ROWS, GATE_SEED);
            let sample = unit_rows(a, b, &rows, GATE_SKETCH)?;
            let mut lambda = symmetric_eigenvalues_fast(sample.dot(&sample.t()));
            lambda.sort_by(|x, y| y.total_cmp(x));
            let trace: f64 = lambda.iter().map(|l| l.max(0.0)).sum();
            let top: f64 = lambda.iter().take(LOW_RANK_MAX).map(|l| l.max(0.0)).sum();
            let top_share = if trace > 0.0 { top / trace } else { 1.0 };
            if top_share < GATE_SHARE {
                let l1 = lambda.first().copied().unwrap_or(0.0);
                return Ok(Some(LowRank {
                    r90: None,
                    r99: None,
                    stable: (l1 > 0.0).then(|| trace / l1),
                    singular_values: Vec::new(),
                    floor,
                    sketch: 0,
                    low_rank: false,
                    method: RankMethod::RowSample,
                    sample: Some(RowSample {
                        rows: rows.len(),
                        top_share,
                    }),
                }));
            }
        }
    }
    let omega = gaussian(n, k, 0x5eed_1234_abcd_ef01);
    let mut q = orthonormalise(delta_times(a, b, &omega)?);
    // Bᵀ = Δᵀ·Q (n × k); the singular values of B are the square roots of eig(B·Bᵀ). The first
    // power iteration starts from the same product, so it is computed once.
    let mut bt = delta_t_times(a, b, &q)?;
    let captured = bt.iter().map(|x| x * x).sum::<f64>();
    // A sketch that holds under half of ‖Δ‖² leaves the rank above what it can measure (a full-rank
    // fine-tune): the power iterations, four more passes over both tensors, would not change
    // that reading, so they are skipped (r90 and r99 read "above the sketch").
    let full_rank = captured < EARLY_FULL_RANK_SHARE * delta_sq;
    if !full_rank {
        for i in 0..POWER_ITERATIONS {
            let z = orthonormalise(if i == 0 {
                bt.clone()
            } else {
                delta_t_times(a, b, &q)?
            });
            q = orthonormalise(delta_times(a, b, &z)?);
        }
        bt = delta_t_times(a, b, &q)?;
    }
    let gram = bt.t().dot(&bt);
    let mut sigma: Vec<f64> = symmetric_eigenvalues(gram)
        .into_iter()
        .map(|l| l.max(0.0).sqrt())
        .collect();
    sigma.sort_by(|x, y| y.total_cmp(x));
    let rank_for = |share: f64| rank_holding(&sigma, share * delta_sq);
    let top = sigma.first().copied().unwrap_or(0.0);
    let r99 = if full_rank { None } else { rank_for(0.99) };
    Ok(Some(LowRank {
        r90: if full_rank { None } else { rank_for(0.90) },
        r99,
        low_rank: is_low_rank(r99, m, n),
        stable: Some(if top > 0.0 {
            delta_sq / (top * top)
        } else {
            0.0
        }),
        singular_values: sigma.iter().copied().filter(|&s| s > floor).collect(),
        floor,
        sketch: k,
        method: RankMethod::RangeFinder,
        sample: None,
    }))
}

/// Whether an r99 reads as a low-rank merge of an `m × n` matrix.
fn is_low_rank(r99: Option<usize>, m: usize, n: usize) -> bool {
    r99.is_some_and(|r| r <= LOW_RANK_MAX && r * 4 <= m.min(n))
}

/// Δ whose only non-zero rows are `rows`: the singular values of those rows are Δ's, from the
/// eigenvalues of their Gram matrix (k × k).
fn exact_rows(
    a: &View<'_>,
    b: &View<'_>,
    rows: &[usize],
    floor: f64,
) -> Result<LowRank, DecodeError> {
    let (m, n) = (a.rows, a.cols);
    let mut d = Array2::zeros((rows.len(), n));
    for (i, &r) in rows.iter().enumerate() {
        d.row_mut(i)
            .assign(&ndarray::Array1::from(delta_rows(a, b, r, r + 1)?));
    }
    let mut sigma: Vec<f64> = symmetric_eigenvalues_fast(d.dot(&d.t()))
        .into_iter()
        .map(|l| l.max(0.0).sqrt())
        .collect();
    sigma.sort_by(|x, y| y.total_cmp(x));
    // ‖Δ‖² as the sum of the squared singular values (the numbers pass summed the same values in
    // another order), so the shares end at exactly 1.
    let total: f64 = sigma.iter().map(|s| s * s).sum();
    let rank_for = |share: f64| rank_holding(&sigma, share * total * (1.0 - 1e-12));
    let r99 = rank_for(0.99);
    let top = sigma.first().copied().unwrap_or(0.0);
    Ok(LowRank {
        r90: rank_for(0.90),
        r99,
        stable: Some(if top > 0.0 { total / (top * top) } else { 0.0 }),
        singular_values: sigma.iter().copied().filter(|&s| s > floor).collect(),
        floor,
        sketch: rows.len(),
        low_rank: is_low_rank(r99, m, n),
        method: RankMethod::ExactRows,
        sample: None,
    })
}

/// `count` row indices drawn with replacement, row r with probability energies[r] / Σ energies,
/// sorted (the rows are then read in file order).
fn length_squared_sample(energies: &[f64], count: usize, seed: u64) -> Vec<usize> {
    let mut cumulative = Vec::with_capacity(energies.len());
    let mut total = 0.0;
    for &e in energies {
        total += e.max(0.0);
        cumulative.push(total);
    }
    let mut uniform = xorshift(seed);
    let mut rows: Vec<usize> = (0..count)
        .map(|_| {
            let u = uniform() * total;
            // The first row whose cumulative energy exceeds u: never a row of zero energy.
            cumulative
                .partition_point(|&c| c <= u)
                .min(energies.len() - 1)
        })
        .collect();
    rows.sort_unstable();
    rows
}

/// Rows `rows` of Δ (repeats included), CountSketched to `width` columns when wider (see
/// [`GATE_SKETCH`]), each then scaled to unit length (a zero row stays zero).
fn unit_rows(
    a: &View<'_>,
    b: &View<'_>,
    rows: &[usize],
    width: usize,
) -> Result<Array2<f64>, DecodeError> {
    let n = a.cols;
    // Column j goes to bucket `buckets[j]` with sign `signs[j]` (drawn from a fixed seed).
    let sketched = n > width;
    let mut draw = xorshift(!GATE_SEED);
    let (buckets, signs): (Vec<usize>, Vec<f64>) = (0..if sketched { n } else { 0 })
        .map(|_| {
            let (u, v) = (draw(), draw());
            let bucket = ((u * width as f64) as usize).min(width - 1);
            (bucket, if v < 0.5 { 1.0 } else { -1.0 })
        })
        .unzip();
    let mut s = Array2::zeros((rows.len(), if sketched { width } else { n }));
    for (i, &r) in rows.iter().enumerate() {
        let d = delta_rows(a, b, r, r + 1)?;
        let mut out = s.row_mut(i);
        if sketched {
            for (j, x) in d.iter().enumerate() {
                out[buckets[j]] += signs[j] * x;
            }
        } else {
            out.iter_mut().zip(&d).for_each(|(o, x)| *o = *x);
        }
        let norm = out.dot(&out).sqrt();
        if norm > 0.0 {
            out.mapv_inplace(|x| x / norm);
        }
    }
    Ok(s)
}

/// Row chunks of Δ: `(first row, rows × cols values)`.
fn chunks(a: &View<'_>) -> Vec<(usize, usize)> {
    let per = (CHUNK_VALUES / a.cols.max(1)).max(1);
    (0..a.rows)
        .step_by(per)
        .map(|r0| (r0, (r0 + per).min(a.rows)))
        .collect()
}

fn delta_rows(a: &View<'_>, b: &View<'_>, r0: usize, r1: usize) -> Result<Vec<f64>, DecodeError> {
    let mut da = Vec::with_capacity((r1 - r0) * a.cols);
    let mut db = Vec::with_capacity((r1 - r0) * a.cols);
    a.read_rows(r0, r1, &mut da)?;
    b.read_rows(r0, r1, &mut db)?;
    a.release_rows_batched(r0, r1);
    b.release_rows_batched(r0, r1);
    for (x, y) in da.iter_mut().zip(&db) {
        // Non-finite values carry no rank information; they are counted by the numbers pass.
        *x = if x.is_finite() && y.is_finite() {
            y - *x
        } else {
            0.0
        };
    }
    Ok(da)
}

/// Δ · X for X of `cols × k`.
fn delta_times(a: &View<'_>, b: &View<'_>, x: &Array2<f64>) -> Result<Array2<f64>, DecodeError> {
    let parts: Result<Vec<(usize, Array2<f64>)>, DecodeError> = chunks(a)
        .into_par_iter()
        .map(|(r0, r1)| {
            let d = delta_rows(a, b, r0, r1)?;
            let d = ArrayView2::from_shape((r1 - r0, a.cols), &d).expect("rows × cols values");
            Ok((r0, d.dot(x)))
        })
        .collect();
    let mut y = Array2::zeros((a.rows, x.ncols()));
    for (r0, part) in parts? {
        y.slice_mut(s![r0..r0 + part.nrows(), ..]).assign(&part);
    }
    Ok(y)
}

/// Chunks of Δᵀ · Q computed at once before they are added: each part is `cols × k`, so
/// collecting every chunk's part of a 16384² matrix would hold 1024 parts of 4 MiB.
const PARTS_IN_FLIGHT: usize = 16;

/// Δᵀ · Q for Q of `rows × k`, summed over the row chunks in order (batches of
/// [`PARTS_IN_FLIGHT`] computed in parallel, added in chunk order: the same sum on any number of
/// threads, and memory bounded by the batch).
fn delta_t_times(a: &View<'_>, b: &View<'_>, q: &Array2<f64>) -> Result<Array2<f64>, DecodeError> {
    let mut z = Array2::zeros((a.cols, q.ncols()));
    for batch in chunks(a).chunks(PARTS_IN_FLIGHT) {
        let parts: Result<Vec<Array2<f64>>, DecodeError> = batch
            .par_iter()
            .map(|&(r0, r1)| {
                let d = delta_rows(a, b, r0, r1)?;
                let d = ArrayView2::from_shape((r1 - r0, a.cols), &d).expect("rows × cols values");
                Ok(d.t().dot(&q.slice(s![r0..r1, ..])))
            })
            .collect();
        for p in parts? {
            z += &p;
        }
    }
    Ok(z)
}

/// Orthonormal columns spanning those of `y` (modified Gram–Schmidt, twice for stability);
/// columns that vanish (Δ of lower rank than the sketch) become zero.
fn orthonormalise(mut y: Array2<f64>) -> Array2<f64> {
    let k = y.ncols();
    let scale = y
        .axis_iter(Axis(1))
        .map(|c| c.dot(&c).sqrt())
        .fold(0.0, f64::max);
    for j in 0..k {
        for _ in 0..2 {
            for i in 0..j {
                let qi = y.column(i).to_owned();
                let r = qi.dot(&y.column(j));
                y.column_mut(j).scaled_add(-r, &qi);
            }
        }
        let norm = y.column(j).dot(&y.column(j)).sqrt();
        if norm > scale * 1e-13 && norm > 0.0 {
            y.column_mut(j).mapv_inplace(|v| v / norm);
        } else {
            y.column_mut(j).fill(0.0);
        }
    }
    y
}

/// Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations.
fn symmetric_eigenvalues(mut a: Array2<f64>) -> Vec<f64> {
    let n = a.nrows();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        let diag: f64 = (0..n).map(|i| a[[i, i]] * a[[i, i]]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[[i, i]]).collect()
}

/// Uniform numbers in (0, 1) from xorshift64*: the same seed, the same sequence.
fn xorshift(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Eigenvalues of a symmetric matrix: Householder reduction to tridiagonal form, then the
/// implicit QL iteration (EISPACK `tred1` and `tql1`, as in Numerical Recipes' `tred2`/`tqli`
/// without eigenvectors): O(n³) with a small constant, where cyclic Jacobi
/// ([`symmetric_eigenvalues`], the reference it is tested against) costs several times more on
/// the gate's 128 × 128 Gram matrices.
///
/// The reduction keeps both triangles of the active block (its updates are symmetric), in one
/// row-major buffer, so that every product is a contiguous dot product and every update a
/// contiguous row: the textbook's lower triangle reads a column in its inner loop, and that
/// version took 3.6% of a default diff of two fully changed 2 GiB BF16 files (Intel Xeon).
#[allow(
    clippy::needless_range_loop,
    reason = "the QL sweeps read and write neighbouring entries of d and e in one loop"
)]
fn symmetric_eigenvalues_fast(m: Array2<f64>) -> Vec<f64> {
    let n = m.nrows();
    if n == 0 {
        return Vec::new();
    }
    // The lower triangle, mirrored: a Gram matrix computed in floating point may differ from its
    // transpose in the last bits, and the textbook reads the lower triangle only.
    let mut a: Vec<f64> = (0..n)
        .flat_map(|r| (0..n).map(move |c| (r, c)))
        .map(|(r, c)| m[[r.max(c), r.min(c)]])
        .collect();
    let (mut d, mut e) = (vec![0.0; n], vec![0.0; n]);
    for i in (1..n).rev() {
        let l = i - 1;
        let mut h = 0.0;
        let (above, from_i) = a.split_at_mut(i * n);
        // Row i's part in the active block (columns 0..=l): the Householder vector u.
        let u = &mut from_i[..=l];
        if l > 0 {
            let scale: f64 = u.iter().map(|x| x.abs()).sum();
            if scale == 0.0 {
                e[i] = u[l];
            } else {
                for x in u.iter_mut() {
                    *x /= scale;
                    h += *x * *x;
                }
                let f = u[l];
                let g = if f >= 0.0 { -h.sqrt() } else { h.sqrt() };
                e[i] = scale * g;
                h -= f * g;
                u[l] = f - g;
                // p = A·u / h, and K = uᵀp / 2h.
                let mut f = 0.0;
                for j in 0..=l {
                    let row = ndarray::ArrayView1::from(&above[j * n..j * n + l + 1]);
                    e[j] = row.dot(&ndarray::ArrayView1::from(&*u)) / h;
                    f += e[j] * u[j];
                }
                let hh = f / (h + h);
                // q = p − K·u, then A ← A − q·uᵀ − u·qᵀ on the whole block.
                for j in 0..=l {
                    e[j] -= hh * u[j];
                }
                let q = &e[..=l];
                for j in 0..=l {
                    let (uj, qj) = (u[j], q[j]);
                    for ((x, &qk), &uk) in above[j * n..j * n + l + 1].iter_mut().zip(q).zip(&*u) {
                        *x -= uj * qk + qj * uk;
                    }
                }
            }
        } else {
            e[i] = u[l];
        }
        d[i] = h;
    }
    for i in 0..n {
        d[i] = a[i * n + i];
    }
    // Implicit QL with Wilkinson shifts on the tridiagonal (d, e).
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        let mut iterations = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l || iterations == 60 {
                break;
            }
            iterations += 1;
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + if g >= 0.0 { r.abs() } else { -r.abs() });
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut underflow = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    d
}

/// A deterministic standard-normal matrix (xorshift64* and Box–Muller): the same seed gives the
/// same sketch, so reports are reproducible.
pub(crate) fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut uniform = xorshift(seed);
    Array2::from_shape_simple_fn((rows, cols), || {
        let (u, v) = (uniform(), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    })
}

/// The smallest rank whose singular values (largest first) hold `energy` of Σσ²; `None` when all of
/// them do not.
fn rank_holding(sigma: &[f64], energy: f64) -> Option<usize> {
    let mut acc = 0.0;
    sigma
        .iter()
        .position(|s| {
            acc += s * s;
            acc >= energy
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenvalues_of_a_known_matrix() {
        // [[2,1],[1,2]] has eigenvalues 1 and 3.
        let a = Array2::from_shape_vec((2, 2), vec![2.0, 1.0, 1.0, 2.0]).unwrap();
        let mut e = symmetric_eigenvalues(a);
        e.sort_by(f64::total_cmp);
        assert!(
            (e[0] - 1.0).abs() < 1e-12 && (e[1] - 3.0).abs() < 1e-12,
            "{e:?}"
        );
    }

    #[test]
    fn orthonormalised_columns_are_orthonormal() {
        let q = orthonormalise(gaussian(50, 6, 7));
        let g = q.t().dot(&q);
        for i in 0..6 {
            for j in 0..6 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((g[[i, j]] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn tridiagonal_ql_matches_jacobi_on_random_symmetric_matrices() {
        for (n, seed) in [(1, 1), (2, 2), (7, 3), (40, 4), (128, 5)] {
            let g = gaussian(n, n + 3, seed);
            // A Gram matrix (positive semi-definite, like the gate's) and a signed one.
            for m in [
                g.dot(&g.t()),
                &g.slice(s![.., ..n]) + &g.slice(s![.., ..n]).t(),
            ] {
                let mut fast = symmetric_eigenvalues_fast(m.clone());
                let mut slow = symmetric_eigenvalues(m.clone());
                fast.sort_by(f64::total_cmp);
                slow.sort_by(f64::total_cmp);
                let scale = slow.iter().map(|x| x.abs()).fold(0.0, f64::max);
                for (f, s) in fast.iter().zip(&slow) {
                    assert!((f - s).abs() <= 1e-10 * scale, "n {n}: {f} vs {s}");
                }
            }
        }
    }

    #[test]
    fn tridiagonal_ql_of_a_rank_two_gram_has_two_nonzero_eigenvalues() {
        // Rows spanned by two vectors: the Gram matrix has rank 2 (trace = sum of eigenvalues).
        let basis = gaussian(2, 30, 9);
        let coef = gaussian(12, 2, 10);
        let rows = coef.dot(&basis);
        let gram = rows.dot(&rows.t());
        let trace: f64 = (0..12).map(|i| gram[[i, i]]).sum();
        let mut e = symmetric_eigenvalues_fast(gram);
        e.sort_by(|x, y| y.total_cmp(x));
        assert!(e[2..].iter().all(|x| x.abs() <= 1e-10 * trace), "{e:?}");
        assert!(((e[0] + e[1]) - trace).abs() <= 1e-10 * trace);
    }

    #[test]
    fn length_squared_sampling_never_draws_a_zero_row_and_follows_the_energies() {
        // Energies 0, 1, 0, 3, 0: rows 1 and 3 only, about one draw in four on row 1.
        let energies = [0.0, 1.0, 0.0, 3.0, 0.0];
        let rows = length_squared_sample(&energies, 4000, 42);
        assert!(rows.iter().all(|&r| r == 1 || r == 3));
        let ones = rows.iter().filter(|&&r| r == 1).count();
        // Binomial(4000, 1/4): mean 1000, sd 27.
        assert!((900..1100).contains(&ones), "{ones}");
        assert!(rows.windows(2).all(|w| w[0] <= w[1]));
    }
}

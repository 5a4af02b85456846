//! Low-rank detection on Δ = B − A for a changed 2-D tensor, without materialising Δ.
//!
//! The randomized range finder of Halko, Martinsson and Tropp (2011, algorithm 4.4): Y = Δ·Ω for a
//! Gaussian Ω of [`SKETCH`] columns, [`POWER_ITERATIONS`] rounds of Q ← orth(Δ·orth(Δᵀ·Q)) to
//! sharpen the spectrum, then the singular values of the small matrix Qᵀ·Δ. Every product streams
//! Δ by row chunks (each chunk decoded from both sides and subtracted), in parallel, summed in row
//! order. The thin QR is modified Gram–Schmidt run twice; the small SVD takes the eigenvalues of
//! (QᵀΔ)(QᵀΔ)ᵀ, k × k, by cyclic Jacobi. A merged rank-r LoRA has r singular values far above the
//! rounding floor and almost all of ‖Δ‖² in them.

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

/// The rank profile of Δ.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LowRank {
    /// Smallest rank holding 90% of ‖Δ‖²; null when more than the `sketch` measured.
    pub r90: Option<usize>,
    pub r99: Option<usize>,
    /// ‖Δ‖²_F / σ₁².
    pub stable: f64,
    /// Singular values above `floor`, largest first.
    pub singular_values: Vec<f64>,
    /// The largest singular value rounding noise alone would give: 2 · noise rms · (√rows + √cols).
    pub floor: f64,
    /// Columns of the sketch (the largest rank that can be measured).
    pub sketch: usize,
    /// Whether the change reads as a low-rank merge: r99 at most [`LOW_RANK_MAX`] and at most a
    /// quarter of the smaller dimension (so a full-rank change of a small matrix does not count).
    pub low_rank: bool,
}

/// Largest r99 that still reads as a low-rank merge (LoRA ranks are 4…64; the sketch measures 32).
pub const LOW_RANK_MAX: usize = 16;

/// Measures the rank of Δ = B − A (same shape, `rows × cols`); `delta_sq` is ‖Δ‖² from the
/// numbers pass and `noise_rms` the rounding noise per value.
pub(crate) fn compute_low_rank(
    a: &View<'_>,
    b: &View<'_>,
    delta_sq: f64,
    noise_rms: f64,
) -> Result<Option<LowRank>, DecodeError> {
    let (m, n) = (a.rows, a.cols);
    let k = SKETCH.min(m).min(n);
    if k < 2 || delta_sq <= 0.0 || b.rows != m || b.cols != n {
        return Ok(None);
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
    let rank_for = |share: f64| {
        let mut acc = 0.0;
        sigma
            .iter()
            .position(|s| {
                acc += s * s;
                acc >= share * delta_sq
            })
            .map(|i| i + 1)
    };
    let floor = 2.0 * noise_rms * ((m as f64).sqrt() + (n as f64).sqrt());
    let top = sigma.first().copied().unwrap_or(0.0);
    let r99 = if full_rank { None } else { rank_for(0.99) };
    Ok(Some(LowRank {
        r90: if full_rank { None } else { rank_for(0.90) },
        r99,
        low_rank: r99.is_some_and(|r| r <= LOW_RANK_MAX && r * 4 <= m.min(n)),
        stable: if top > 0.0 {
            delta_sq / (top * top)
        } else {
            0.0
        },
        singular_values: sigma.iter().copied().filter(|&s| s > floor).collect(),
        floor,
        sketch: k,
    }))
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

/// A deterministic standard-normal matrix (xorshift64* and Box–Muller): the same seed gives the
/// same sketch, so reports are reproducible.
pub(crate) fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut state = seed | 1;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    Array2::from_shape_simple_fn((rows, cols), || {
        let (u, v) = (uniform(), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    })
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
}

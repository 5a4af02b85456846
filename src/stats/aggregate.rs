//! Statistics of groups of tensors: per repeated block (layer, as [`crate::model::naming::block_of`]
//! defines it) and for the whole model.
//!
//! Groups merge the per-tensor results exactly as if the values of all their tensors had been
//! measured together: counts and extremes combine directly, means and variances with Chan's
//! formula over the finite values, the L2 norm as the root of the summed squares.

use serde::Serialize;

use super::TensorStats;

/// Statistics of a group of tensors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// Tensors in the group.
    pub tensors: usize,
    pub count: u64,
    pub finite: u64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub abs_max: Option<f64>,
    pub l2_norm: Option<f64>,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

impl GroupStats {
    /// Combines per-tensor statistics.
    pub fn of<'a>(stats: impl IntoIterator<Item = &'a TensorStats>) -> GroupStats {
        let mut g = GroupStats {
            tensors: 0,
            count: 0,
            finite: 0,
            mean: None,
            std: None,
            min: None,
            max: None,
            abs_max: None,
            l2_norm: None,
            zeros: 0,
            nan: 0,
            inf: 0,
        };
        // Chan's parallel merge of (n, mean, M2).
        let (mut n, mut mean, mut m2, mut sq) = (0f64, 0f64, 0f64, 0f64);
        for s in stats {
            g.tensors += 1;
            g.count += s.count;
            g.finite += s.finite;
            g.zeros += s.zeros;
            g.nan += s.nan;
            g.inf += s.inf;
            let min_f = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
                (Some(a), Some(b)) => Some(f(a, b)),
                (a, b) => a.or(b),
            };
            g.min = min_f(g.min, s.min, f64::min);
            g.max = min_f(g.max, s.max, f64::max);
            g.abs_max = min_f(g.abs_max, s.abs_max, f64::max);
            if let (Some(m), Some(sd)) = (s.mean, s.std)
                && s.finite > 0
            {
                let nb = s.finite as f64;
                let delta = m - mean;
                let total = n + nb;
                mean += delta * nb / total;
                m2 += sd * sd * nb + delta * delta * n * nb / total;
                n = total;
            }
            if let Some(l2) = s.l2_norm {
                sq += l2 * l2;
            }
        }
        if n > 0.0 {
            g.mean = Some(mean);
            g.std = Some((m2 / n).max(0.0).sqrt());
            g.l2_norm = Some(sq.sqrt());
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(values: &[f64]) -> TensorStats {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        TensorStats {
            count: values.len() as u64,
            finite: values.len() as u64,
            mean: Some(mean),
            std: Some(var.sqrt()),
            min: values.iter().copied().reduce(f64::min),
            max: values.iter().copied().reduce(f64::max),
            abs_max: values.iter().map(|v| v.abs()).reduce(f64::max),
            l2_norm: Some(values.iter().map(|v| v * v).sum::<f64>().sqrt()),
            zeros: values.iter().filter(|&&v| v == 0.0).count() as u64,
            nan: 0,
            inf: 0,
            p1: None,
            p50: None,
            p99: None,
            histogram: None,
            outliers: 0,
            outlier_sigmas: 6.0,
            exact_distribution: true,
            distribution: crate::stats::Distribution::Exact,
            dead_rows: None,
            dead_columns: None,
        }
    }

    #[test]
    fn merging_equals_measuring_all_values_together() {
        let a = [1.0, 2.0, 3.0, 0.0];
        let b = [10.0, -4.0];
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let g = GroupStats::of([&stats_of(&a), &stats_of(&b)]);
        let whole = stats_of(&all);
        assert_eq!(g.tensors, 2);
        assert_eq!(g.count, 6);
        assert_eq!(g.zeros, 1);
        assert!((g.mean.unwrap() - whole.mean.unwrap()).abs() < 1e-12);
        assert!((g.std.unwrap() - whole.std.unwrap()).abs() < 1e-12);
        assert!((g.l2_norm.unwrap() - whole.l2_norm.unwrap()).abs() < 1e-12);
        assert_eq!(
            (g.min, g.max, g.abs_max),
            (Some(-4.0), Some(10.0), Some(10.0))
        );
        let empty = GroupStats::of([]);
        assert_eq!((empty.tensors, empty.mean, empty.std), (0, None, None));
    }
}

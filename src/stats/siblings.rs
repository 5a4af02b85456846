//! Anomalies against siblings: a weight matrix compared with the same tensor in the other layers.
//!
//! A layer re-initialised, rescaled, or swapped in from another model or another depth (a broken
//! merge, a corrupted upload) has statistics that are each unremarkable on their own; what gives it
//! away is that it does not look like its siblings. The siblings of `model.layers.7.mlp.up_proj.weight`
//! are the tensors with the same stack and in-block name in other layers
//! ([`crate::model::naming::split_block`], the one definition of a layer):
//! `model.layers.*.mlp.up_proj.weight`.
//!
//! Real models are not flat across depth: the spread of a projection commonly grows or shrinks
//! smoothly with the layer index. So each group's log standard deviations are fitted against the
//! layer index by a Theil–Sen line (the median of the pairwise slopes: a quarter of the points can
//! be wrong without moving it), and each tensor is judged by its distance from that line: its
//! *expected* std at its depth, the siblings' typical value named in the finding. A tensor is
//! reported when both:
//!
//! - its std is at least [`MIN_RATIO`] times (or at most 1/[`MIN_RATIO`] of) the expected one:
//!   trained layers of one model differ by tens of percent, a scale or an initialisation changes it
//!   by multiples; and
//!   The first and last layer of a stack need [`EDGE_MIN_RATIO`]: they see the embeddings or feed
//!   the head, and trained models often set them apart from the trend (SmolLM2-135M's layer 0
//!   value and output projections have 1/2.6 and 1/2.1 of the std the trend gives them; the
//!   layer-pruning literature finds first and last layers the least like their neighbours). A
//!   re-initialisation or a ×4 scale still exceeds it; and
//! - that distance is at least [`MIN_ROBUST_Z`] robust standard deviations (1.4826 × the median
//!   absolute deviation of the group's distances, floored at [`MAD_FLOOR`] so that a group that fits
//!   its line almost exactly does not make every small wobble an anomaly).
//!
//! The std carries the signal of every listed fault (a scale multiplies it, an initialisation sets
//! it to the initialiser's, a swap brings another depth's, zeroing sets it to 0). The L2 norm is the
//! std times a constant within a group of equal shapes (weights centred near zero), and the
//! extremes and tail mass of a few thousand heavy-tailed values vary too much between healthy
//! layers to add a reliable test, so they are not used. All-zero and constant tensors are left
//! to their own findings (`all_zero`, `constant`) and out of the fit. Only floating-point
//! matrices (2 or more dimensions) in groups of at least [`MIN_SIBLINGS`] are compared: norm gains
//! and biases legitimately differ from layer to layer.

use std::collections::BTreeMap;

use super::{TensorSlice, TensorStats};
use crate::finding::{Evidence, Finding, Severity, Subject};
use crate::model::naming::split_block;

/// Fewest tensors in a sibling group for the comparison (with fewer, the median and the line are
/// not robust: one wrong tensor of three is a third of the evidence).
pub const MIN_SIBLINGS: usize = 4;
/// Smallest factor between a tensor's std and its expected std that is reported.
pub const MIN_RATIO: f64 = 2.0;
/// The same factor for the first and the last layer of a group, which real models set apart.
pub const EDGE_MIN_RATIO: f64 = 3.0;
/// Smallest distance from the fitted line, in robust standard deviations, that is reported.
pub const MIN_ROBUST_Z: f64 = 6.0;
/// Floor of the robust standard deviation of the log-std distances (about 5% relative).
pub const MAD_FLOOR: f64 = 0.05;

/// One member of a sibling group.
struct Member {
    tensor: usize,
    layer: u64,
    std: f64,
    log_std: f64,
}

/// The `unlike_siblings` findings, each with the position of the tensor it is about, in tensor
/// order. `names`, `tensors` and `stats` are parallel.
pub(super) fn sibling_findings(
    names: &[&str],
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
) -> Vec<(usize, Finding)> {
    let mut groups: BTreeMap<(&str, &str), Vec<Member>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let (t, s) = (&tensors[i], &stats[i]);
        if !(t.dtype.is_float() && t.shape.len() >= 2) {
            continue;
        }
        let Some(std) = s.std.filter(|&x| x > 0.0 && x.is_finite()) else {
            continue;
        };
        if let Some(b) = split_block(name) {
            groups.entry((b.stack, b.rest)).or_default().push(Member {
                tensor: i,
                layer: b.index,
                std,
                log_std: std.ln(),
            });
        }
    }
    let mut out = Vec::new();
    for ((stack, rest), members) in groups {
        if members.len() < MIN_SIBLINGS {
            continue;
        }
        let (a, b) = theil_sen(&members);
        let residual: Vec<f64> = members
            .iter()
            .map(|m| m.log_std - (a + b * m.layer as f64))
            .collect();
        let centre = median(residual.clone());
        let mad = median(residual.iter().map(|r| (r - centre).abs()).collect());
        let sigma = (1.4826 * mad).max(MAD_FLOOR);
        let first = members.iter().map(|m| m.layer).min();
        let last = members.iter().map(|m| m.layer).max();
        for (m, r) in members.iter().zip(&residual) {
            let expected = (a + b * m.layer as f64 + centre).exp();
            let actual = m.std;
            let ratio = actual / expected;
            let z = (r - centre).abs() / sigma;
            let min_ratio = if Some(m.layer) == first || Some(m.layer) == last {
                EDGE_MIN_RATIO
            } else {
                MIN_RATIO
            };
            if z < MIN_ROBUST_Z || (ratio < min_ratio && ratio > 1.0 / min_ratio) {
                continue;
            }
            let pattern = format!("{stack}.*.{rest}");
            let mut finding = Finding::new(
                Severity::Warning,
                "unlike_siblings",
                Subject::Tensor(names[m.tensor].to_owned()),
                format!(
                    "std {} is {} its siblings' (`{pattern}`, {} layers: about {} at this depth): re-initialised, rescaled or from another model or layer?",
                    fmt(actual),
                    if ratio >= 1.0 {
                        format!("{} times", fmt(ratio))
                    } else {
                        format!("1/{} of", fmt(1.0 / ratio))
                    },
                    members.len(),
                    fmt(expected),
                ),
            );
            finding.evidence = [
                ("std", actual.into()),
                ("expected_std", expected.into()),
                ("ratio", ratio.into()),
                ("robust_z", z.into()),
                ("siblings", pattern.into()),
                ("layers", (members.len() as u64).into()),
            ]
            .into_iter()
            .map(|(field, value)| Evidence { field, value })
            .collect();
            out.push((m.tensor, finding));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Four significant digits (`0.02000`, `4.000`, `123.4`), scientific beyond.
fn fmt(x: f64) -> String {
    if x == 0.0 || !(1e-4..1e6).contains(&x.abs()) {
        return format!("{x:.3e}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// The Theil–Sen line `log_std ≈ a + b · layer` of a sibling group.
fn theil_sen(members: &[Member]) -> (f64, f64) {
    let points: Vec<(f64, f64)> = members
        .iter()
        .map(|m| (m.layer as f64, m.log_std))
        .collect();
    theil_sen_line(&points)
}

/// The Theil–Sen line `y ≈ a + b · x` through `points`: `b` the median of the slopes between
/// points at different `x`, `a` the median of `y - b · x` (a quarter of the points can be wrong
/// without moving it). Also the trend the TUI's layer heatmap colours against.
pub(crate) fn theil_sen_line(points: &[(f64, f64)]) -> (f64, f64) {
    let mut slopes = Vec::new();
    for (i, p) in points.iter().enumerate() {
        for q in &points[i + 1..] {
            if p.0 != q.0 {
                slopes.push((q.1 - p.1) / (q.0 - p.0));
            }
        }
    }
    let b = if slopes.is_empty() {
        0.0
    } else {
        median(slopes)
    };
    let a = median(points.iter().map(|(x, y)| y - b * x).collect());
    (a, b)
}

/// The median (the mean of the two middle values for an even count); 0 for none.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::TensorSlice;

    fn members(stds: &[f64]) -> Vec<Member> {
        stds.iter()
            .enumerate()
            .map(|(i, s)| Member {
                tensor: i,
                layer: i as u64,
                std: *s,
                log_std: s.ln(),
            })
            .collect()
    }

    #[test]
    fn theil_sen_follows_a_trend_through_a_wrong_point() {
        // std doubling every 3 layers, layer 4 scaled ×4.
        let mut stds: Vec<f64> = (0..8).map(|l| 0.05 * 2f64.powf(l as f64 / 3.0)).collect();
        stds[4] *= 4.0;
        let (a, b) = theil_sen(&members(&stds));
        assert!((b - 2f64.ln() / 3.0).abs() < 1e-12, "{b}");
        assert!((a - 0.05f64.ln()).abs() < 1e-12, "{a}");
    }

    /// Findings over `layers` F32 matrices (and one 1-D tensor per layer) whose stds are `stds`.
    fn found(stds: &[f64]) -> Vec<String> {
        let mut bytes = Vec::new();
        let mut names = Vec::new();
        for (l, &std) in stds.iter().enumerate() {
            // 64 values: ±std alternating (mean 0, population std exactly `std`).
            let v: Vec<u8> = (0..64)
                .flat_map(|i| (if i % 2 == 0 { std } else { -std } as f32).to_le_bytes())
                .collect();
            bytes.push(v);
            names.push(format!("model.layers.{l}.mlp.up_proj.weight"));
        }
        let shape = [8u64, 8];
        let one_d = [64u64];
        let mut slices = Vec::new();
        let mut all_names = Vec::new();
        for (b, n) in bytes.iter().zip(&names) {
            slices.push(TensorSlice {
                dtype: crate::dtype::DType::F32,
                shape: &shape,
                bytes: b,
            });
            all_names.push(n.clone());
        }
        // The same values as 1-D tensors: never compared (gains and biases differ by layer).
        for (l, b) in bytes.iter().enumerate() {
            slices.push(TensorSlice {
                dtype: crate::dtype::DType::F32,
                shape: &one_d,
                bytes: b,
            });
            all_names.push(format!("model.layers.{l}.norm.bias"));
        }
        let stats = super::super::compute_stats(
            &slices,
            &super::super::StatsOptions::default(),
            &|_, _| {},
            &|_, _| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
        let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
        sibling_findings(&names, &slices, &stats)
            .into_iter()
            .map(|(_, f)| f.subject.tensor().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn only_large_departures_from_the_depth_trend_are_reported() {
        let trend: Vec<f64> = (0..8).map(|l| 0.05 * 1.2f64.powi(l)).collect();
        assert!(found(&trend).is_empty(), "a smooth trend is healthy");
        let mut scaled = trend.clone();
        scaled[3] *= 2.5;
        assert_eq!(found(&scaled), ["model.layers.3.mlp.up_proj.weight"]);
        let mut mild = trend.clone();
        mild[3] *= 1.8; // far from the line, but below MIN_RATIO
        assert!(found(&mild).is_empty());
        // The first and last layers need EDGE_MIN_RATIO: 1/2.6 (as SmolLM2's layer 0) is not
        // reported, a ×4 scale or a 1/4 is.
        let mut first = trend.clone();
        first[0] /= 2.6;
        assert!(found(&first).is_empty());
        first[0] = trend[0] / 4.0;
        assert_eq!(found(&first), ["model.layers.0.mlp.up_proj.weight"]);
        let mut last = trend.clone();
        last[7] *= 2.5;
        assert!(found(&last).is_empty());
        last[7] = trend[7] * 4.0;
        assert_eq!(found(&last), ["model.layers.7.mlp.up_proj.weight"]);
        let mut small = trend[..3].to_vec();
        small[1] *= 10.0; // three siblings: too few to compare
        assert!(found(&small).is_empty());
        // A noisy group (±30% around the trend) needs more than twice its spread.
        let noisy: Vec<f64> = trend
            .iter()
            .enumerate()
            .map(|(l, s)| s * if l % 2 == 0 { 1.3 } else { 0.77 })
            .collect();
        assert!(found(&noisy).is_empty());
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(fmt(0.02), "0.02000");
        assert_eq!(fmt(4.0), "4.000");
        assert_eq!(fmt(123.456), "123.5");
        assert_eq!(fmt(1e-7), "1.000e-7");
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}

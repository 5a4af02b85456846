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
//! The std carries the signal of most faults (a scale multiplies it, an initialisation with the
//! initialiser's own std sets it to that, a swap brings another depth's, zeroing sets it to 0). The
//! L2 norm is the std times a constant within a group of equal shapes (weights centred near zero).
//!
//! A re-initialisation drawn with the std the trained layer had keeps the std; what it cannot keep
//! is the trained layer's tails. Training leaves heavy tails in weight matrices (SmolLM2-135M's
//! q projections reach 6.8-18.5 standard deviations from their mean, Gemma 3 270M's 12.7-40.3),
//! while a fresh Gaussian draw of n values reaches a little under √(2 ln n) (about 4.7 for
//! 300,000 values: [`gaussian_typical_tail`]) and a uniform one √3. So a second test reports a tensor whose largest departure from its mean is
//! within [`gaussian_tail`] of its size, when at least [`HEAVY_SIBLINGS_SHARE`] of its siblings
//! reach [`HEAVY_TAIL_FACTOR`] times their own Gaussian bound: a matrix that looks freshly drawn
//! among siblings that look trained. Models whose trained matrices are themselves near-Gaussian
//! (all-MiniLM-L6-v2's query projections reach 5.2-8.1 σ) give this test nothing to go on, and it
//! stays silent there. The extremes of small matrices (a few thousand values) vary too much for
//! it, which the Gaussian bound of their size allows for. All-zero and constant tensors are left
//! to their own findings (`all_zero`, `constant`) and out of the fit. Only floating-point
//! matrices (2 or more dimensions) in groups of at least [`MIN_SIBLINGS`] are compared: norm gains
//! and biases legitimately differ from layer to layer.

use std::collections::BTreeMap;

use super::findings::fields;
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
/// Standard deviations added to √(2 ln n), the typical largest |z| of n Gaussian values, for the
/// bound a freshly drawn matrix stays within: the largest of n draws varies by a few tenths.
pub const GAUSSIAN_TAIL_MARGIN: f64 = 1.0;
/// A sibling looks trained when its largest departure reaches this many times its own Gaussian
/// bound (the healthy models measured reach 1.5-6 times it in most layers).
pub const HEAVY_TAIL_FACTOR: f64 = 1.5;
/// Share of the siblings that must look trained before a Gaussian-looking tensor is reported.
pub const HEAVY_SIBLINGS_SHARE: f64 = 0.75;

/// The largest departure from the mean, in standard deviations, under which a matrix of `n`
/// values reads as freshly drawn: √(2 ln n), a little above what a Gaussian draw typically reaches
/// ([`gaussian_typical_tail`]), plus [`GAUSSIAN_TAIL_MARGIN`].
pub fn gaussian_tail(n: u64) -> f64 {
    (2.0 * (n.max(2) as f64).ln()).sqrt() + GAUSSIAN_TAIL_MARGIN
}

/// The typical largest |z| of `n` Gaussian values: the mode of the largest of 2n half-normal
/// tails, √(2 ln 2n) − (ln ln 2n + ln 4π) / (2 √(2 ln 2n)) (4.68 for 576 × 576 values, where 20
/// draws measured a median of 4.74).
pub fn gaussian_typical_tail(n: u64) -> f64 {
    let l = (2.0 * n.max(2) as f64).ln();
    let r = (2.0 * l).sqrt();
    r - (l.ln() + (4.0 * std::f64::consts::PI).ln()) / (2.0 * r)
}

/// One member of a sibling group.
struct Member {
    tensor: usize,
    layer: u64,
    std: f64,
    log_std: f64,
    /// The largest departure from the mean, in standard deviations.
    tail: f64,
    /// [`gaussian_tail`] of its size.
    gaussian: f64,
    /// Its finite values.
    count: u64,
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
            let tail = match (s.mean, s.min, s.max) {
                (Some(mean), Some(min), Some(max)) => (max - mean).max(mean - min) / std,
                _ => f64::NAN,
            };
            groups.entry((b.stack, b.rest)).or_default().push(Member {
                tensor: i,
                layer: b.index,
                std,
                log_std: std.ln(),
                tail,
                gaussian: gaussian_tail(s.finite),
                count: s.finite,
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
            let pattern = format!("{stack}.*.{rest}");
            if z < MIN_ROBUST_Z || (ratio < min_ratio && ratio > 1.0 / min_ratio) {
                out.extend(untrained_tail(m, &members, &pattern, names));
                continue;
            }
            let message = format!(
                "std {} is {} its siblings' (`{pattern}`, {} layers: about {} at this depth): re-initialised, rescaled or from another model or layer?",
                fmt(actual),
                if ratio >= 1.0 {
                    format!("{} times", fmt(ratio))
                } else {
                    format!("1/{} of", fmt(1.0 / ratio))
                },
                members.len(),
                fmt(expected),
            );
            let evidence = fields([
                ("std", actual.into()),
                ("expected_std", expected.into()),
                ("ratio", ratio.into()),
                ("robust_z", z.into()),
                ("siblings", pattern.into()),
                ("layers", (members.len() as u64).into()),
            ]);
            out.push((m.tensor, warning(names[m.tensor], message, evidence)));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// The finding on `m` when its tails look freshly drawn among siblings whose tails look trained
/// (see the module guide), or none.
fn untrained_tail(
    m: &Member,
    members: &[Member],
    pattern: &str,
    names: &[&str],
) -> Option<(usize, Finding)> {
    if m.tail.is_nan() || m.tail > m.gaussian {
        return None;
    }
    let others: Vec<&Member> = members.iter().filter(|o| o.tensor != m.tensor).collect();
    let heavy: Vec<f64> = others
        .iter()
        .filter(|o| o.tail >= HEAVY_TAIL_FACTOR * o.gaussian)
        .map(|o| o.tail)
        .collect();
    if (heavy.len() as f64) < HEAVY_SIBLINGS_SHARE * others.len() as f64 {
        return None;
    }
    let typical = median(others.iter().map(|o| o.tail).collect());
    let message = format!(
        "its values reach {} standard deviations from their mean, as a freshly drawn Gaussian matrix of its size does (typically about {}; under {} reads as freshly drawn), where {} of its {} siblings (`{pattern}`) reach {} or more (typically {}), as trained weights do: re-initialised?",
        fmt(m.tail),
        fmt(gaussian_typical_tail(m.count)),
        fmt(m.gaussian),
        heavy.len(),
        others.len(),
        fmt(heavy.iter().copied().fold(f64::INFINITY, f64::min)),
        fmt(typical),
    );
    let evidence = fields([
        ("tail_sigmas", m.tail.into()),
        ("fresh_bound_sigmas", m.gaussian.into()),
        ("siblings_tail_sigmas", typical.into()),
        ("heavy_tailed_siblings", (heavy.len() as u64).into()),
        ("siblings", pattern.to_owned().into()),
        ("layers", (members.len() as u64).into()),
    ]);
    Some((m.tensor, warning(names[m.tensor], message, evidence)))
}

/// An `unlike_siblings` warning on tensor `name`.
fn warning(name: &str, message: String, evidence: Vec<Evidence>) -> Finding {
    let mut finding = Finding::new(
        Severity::Warning,
        "unlike_siblings",
        Subject::Tensor(name.to_owned()),
        message,
    );
    finding.evidence = evidence;
    finding
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
                tail: f64::NAN,
                gaussian: gaussian_tail(1000),
                count: 1000,
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

    /// Findings over eight 512 × 512 F32 matrices of std 0.02 whose largest departures from the
    /// mean are `tails` standard deviations (statistics given, as the engine would report them).
    fn tail_found(tails: &[f64]) -> Vec<(String, String)> {
        let shape = [512u64, 512];
        let n = 512 * 512;
        let names: Vec<String> = (0..tails.len())
            .map(|l| format!("model.layers.{l}.self_attn.q_proj.weight"))
            .collect();
        let slices: Vec<TensorSlice> = tails
            .iter()
            .map(|_| TensorSlice {
                dtype: crate::dtype::DType::F32,
                shape: &shape,
                bytes: &[],
            })
            .collect();
        let stats: Vec<TensorStats> = tails
            .iter()
            .map(|&t| TensorStats {
                finite: n,
                mean: Some(0.001),
                std: Some(0.02),
                min: Some(0.001 - 0.02 * t / 2.0),
                max: Some(0.001 + 0.02 * t),
                ..TensorStats::not_decoded(n, 6.0)
            })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        sibling_findings(&names, &slices, &stats)
            .into_iter()
            .map(|(_, f)| (f.subject.tensor().unwrap().to_owned(), f.message))
            .collect()
    }

    #[test]
    fn a_gaussian_looking_matrix_among_heavy_tailed_siblings_is_reported() {
        // √(2 ln 262144) + 1 = 5.995: a fresh Gaussian draw of that size stays within it.
        assert!((gaussian_tail(512 * 512) - 5.995328).abs() < 1e-6);
        let trained = [10.0, 12.0, 9.0, 15.0, 11.0, 4.7, 13.0, 10.0];
        let found = tail_found(&trained);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "model.layers.5.self_attn.q_proj.weight");
        assert!(
            found[0]
                .1
                .starts_with("its values reach 4.700 standard deviations")
                && found[0]
                    .1
                    .contains("(typically about 4.634; under 5.995 reads as freshly drawn)")
                && found[0].1.contains("7 of its 7 siblings")
                && found[0].1.contains("reach 9.000 or more (typically 11.00)"),
            "{}",
            found[0].1
        );
        // Every matrix near-Gaussian (all-MiniLM's query projections): nothing to go on.
        assert!(tail_found(&[5.2, 5.5, 4.9, 5.8, 5.1, 4.7, 5.3, 5.6]).is_empty());
        // Lighter tails than its siblings, but beyond a Gaussian's: trained too.
        assert!(tail_found(&[10.0, 12.0, 9.0, 15.0, 11.0, 6.5, 13.0, 10.0]).is_empty());
        // Only five of seven siblings heavy-tailed (under 75%).
        assert!(tail_found(&[10.0, 12.0, 5.5, 15.0, 5.0, 4.7, 13.0, 10.0]).is_empty());
        // Three siblings: too few to compare.
        assert!(tail_found(&[10.0, 4.7, 12.0]).is_empty());
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

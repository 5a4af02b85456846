//! Health findings: what the statistics say is suspicious.
//!
//! Two kinds, made at two moments. [`tensor_findings`] looks at one tensor as soon as its
//! statistics are known: each check is a row of [`RULES`] (a code and a function from one tensor's
//! statistics to an optional severity and message). [`cross_tensor_findings`] looks across the
//! tensors once all are measured: byte-identical tensors, by [`duplicates`]; tensors unlike their
//! siblings in the other layers (`siblings`); the model's heavy tails, once. [`find_anomalies`]
//! puts both in report order: tensor order, the order of [`RULES`] within a tensor, the duplicate
//! check last. Every finding is a [`crate::finding::Finding`] about `Subject::Tensor(name)`.
//!
//! Severities follow one principle: a warning or an error is something likely wrong (a broken
//! export, a corrupted upload, an untrained layer); what trained networks normally show is
//! information, and said once for the model rather than once per tensor. The rules and the
//! reason for each threshold:
//!
//! | code | severity | rule | why |
//! |---|---|---|---|
//! | `not_decoded` | info | a ggml type without a decoder | nothing is wrong with the file; the values are simply not measured |
//! | `nan` | error | any NaN | no trained weight is NaN: a numeric blow-up or a corrupted file |
//! | `inf` | error | any +inf or -inf | as NaN |
//! | `norm_uninitialised` | warning | a 1-D norm weight (name contains `norm` or `ln_`, ends in `.weight`) that is all ones or all zeros | the two initial values (zeros where the norm scales by `1 + w`, as Gemma does): training always moves them |
//! | `all_zero` | warning for a floating-point tensor of 2 or more dimensions, info otherwise | every value is zero (not reported again as `constant`) | a zero weight matrix passes nothing; a zero bias or an integer buffer (token type ids) is common and harmless |
//! | `constant` | as `all_zero` | more than one value, all finite and equal | as `all_zero` |
//! | `dead_rows` / `dead_columns` | as `all_zero`, but info in an embedding or output head | a matrix with rows / columns of zeros (not for an all-zero tensor) | a zero row of a projection is a dead unit; in an embedding it is a padding or unused token |
//! | `duplicate` | info, warning | byte-identical to an earlier tensor: info when either name looks like an embedding or output head | tied weights are the usual, intended cause; two identical layers are a broken merge or export |
//! | `unlike_siblings` | warning | a floating-point matrix whose std is at least 2 times (or at most half) the std its siblings (the same tensor in the other layers, 4 or more) have at its depth, and 6 robust deviations from their trend (see `siblings`) | a layer re-initialised, rescaled, zeroed or swapped in from another model or depth: the signature of a broken merge or a corrupted upload |
//! | `heavy_tails` | info, once per model | floating-point tensors with over 100 times the values beyond `outlier_sigmas` (6) standard deviations that a normal distribution would put there (at 6σ, 2 per billion), counted, with the one with the largest share | every released model measured has them (SmolLM2, Gemma 3, MiniLM: hundreds of tensors): outlier features and large norm gains are how trained transformers look |

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;

use super::siblings::sibling_findings;
use super::{Distribution, TensorSlice, TensorStats};
use crate::dtype::DType;
use crate::finding::{Evidence, Finding, Severity, Subject};
use crate::text::plural;

/// What a per-tensor rule sees.
struct Measured<'a> {
    name: &'a str,
    slice: &'a TensorSlice<'a>,
    stats: &'a TensorStats,
}

struct Rule {
    code: &'static str,
    /// The severity and the sentence, when the rule finds something.
    check: fn(&Measured<'_>) -> Option<(Severity, String)>,
    /// The fields the sentence is made from (the finding's `evidence`).
    evidence: fn(&Measured<'_>) -> Vec<Evidence>,
}

/// Evidence fields from `(name, value)` pairs.
pub(super) fn fields<const N: usize>(
    pairs: [(&'static str, serde_json::Value); N],
) -> Vec<Evidence> {
    pairs
        .into_iter()
        .map(|(field, value)| Evidence { field, value })
        .collect()
}

/// The per-tensor rules, in report order.
const RULES: &[Rule] = &[
    Rule {
        code: "not_decoded",
        check: |s| {
            (!crate::decode::can_decode(s.slice.dtype)).then(|| {
                (
                    Severity::Info,
                    format!(
                        "`{}` values are not decoded: {} values listed, not measured",
                        s.slice.dtype, s.stats.count
                    ),
                )
            })
        },
        evidence: |s| {
            fields([
                ("dtype", s.slice.dtype.to_string().into()),
                ("values", s.stats.count.into()),
            ])
        },
    },
    Rule {
        code: "nan",
        check: |s| {
            (s.stats.nan > 0).then(|| {
                (
                    Severity::Error,
                    format!(
                        "{} NaN {} ({})",
                        s.stats.nan,
                        plural(s.stats.nan, "value", "values"),
                        share(s.stats.nan, s.stats.count)
                    ),
                )
            })
        },
        evidence: |s| {
            fields([
                ("nan", s.stats.nan.into()),
                ("values", s.stats.count.into()),
            ])
        },
    },
    Rule {
        code: "inf",
        check: |s| {
            (s.stats.inf > 0).then(|| {
                (
                    Severity::Error,
                    format!(
                        "{} infinite {} ({})",
                        s.stats.inf,
                        plural(s.stats.inf, "value", "values"),
                        share(s.stats.inf, s.stats.count)
                    ),
                )
            })
        },
        evidence: |s| {
            fields([
                ("inf", s.stats.inf.into()),
                ("values", s.stats.count.into()),
            ])
        },
    },
    Rule {
        code: "norm_uninitialised",
        check: |s| {
            norm_uninitialised(s).map(|v| {
                (
                    Severity::Warning,
                    format!("norm weight is all {v}s, its initial value: it looks untrained"),
                )
            })
        },
        evidence: |s| fields([("value", norm_uninitialised(s).unwrap_or_default().into())]),
    },
    Rule {
        code: "all_zero",
        check: |s| {
            (all_zero(s.stats) && norm_uninitialised(s).is_none()).then(|| {
                (
                    structural_severity(s),
                    format!("all {} values are zero", s.stats.count),
                )
            })
        },
        evidence: |s| fields([("values", s.stats.count.into())]),
    },
    Rule {
        code: "constant",
        check: |s| {
            let v = constant(s.stats)?;
            (!all_zero(s.stats) && norm_uninitialised(s).is_none()).then(|| {
                (
                    structural_severity(s),
                    format!(
                        "all {} values equal {}",
                        s.stats.count,
                        crate::text::value(v)
                    ),
                )
            })
        },
        evidence: |s| {
            fields([
                ("value", s.stats.min.into()),
                ("values", s.stats.count.into()),
            ])
        },
    },
    Rule {
        code: "dead_rows",
        check: |s| dead(s, s.stats.dead_rows, 0, "rows"),
        evidence: |s| {
            fields([
                ("dead_rows", s.stats.dead_rows.into()),
                ("rows", s.slice.shape.first().copied().into()),
            ])
        },
    },
    Rule {
        code: "dead_columns",
        check: |s| dead(s, s.stats.dead_columns, 1, "columns"),
        evidence: |s| {
            fields([
                ("dead_columns", s.stats.dead_columns.into()),
                ("columns", s.slice.shape.get(1).copied().into()),
            ])
        },
    },
];

/// A weight matrix that is zero or constant, or has rows or columns of zeros, is likely broken
/// (trained matrices never are); a 1-D tensor (a bias, a scale) or an integer or boolean buffer
/// (ids, masks) often legitimately is.
fn structural_severity(s: &Measured<'_>) -> Severity {
    if s.slice.dtype.is_float() && s.slice.shape.len() >= 2 {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// Whether a name looks like an embedding or output head (see [`TIED_NAMES`]): rows of zeros
/// there are padding or unused tokens, and copies are tied weights.
fn looks_like_embedding(name: &str) -> bool {
    let name = name.to_lowercase();
    TIED_NAMES.iter().any(|t| name.contains(t))
}

/// Tensors with this many times more values beyond `outlier_sigmas` than a normal distribution
/// would put there count as heavy-tailed for [`heavy_tails`].
const HEAVY_TAIL_FACTOR: f64 = 100.0;

/// Whether a tensor has heavy tails: more than [`HEAVY_TAIL_FACTOR`] times the outliers a normal
/// distribution would have (at 6σ, 2 per billion values).
fn heavy_tailed(st: &TensorStats) -> bool {
    let expected = st.finite as f64 * normal_tail(st.outlier_sigmas);
    st.outliers > 0 && st.outliers as f64 > HEAVY_TAIL_FACTOR * expected
}

/// The one `heavy_tails` finding of a model: how many floating-point tensors have heavy tails
/// and the most extreme of them (the largest share of outliers). Heavy tails in weight matrices and
/// a few large entries in norm gains and biases are what trained transformers look like (every
/// released model measured has them), so they are reported once, as information, not per tensor.
fn heavy_tails(
    names: &[&str],
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
) -> Option<Finding> {
    let float = |i: &usize| tensors[*i].dtype.is_float();
    let measured = (0..stats.len())
        .filter(float)
        .filter(|&i| stats[i].finite > 0)
        .count();
    let tailed: Vec<usize> = (0..stats.len())
        .filter(float)
        .filter(|&i| heavy_tailed(&stats[i]))
        .collect();
    // Tensors whose outliers were counted by 16-bit bucket (every value beyond a sampled
    // tensor's window is counted, exactly), the bucket the threshold falls in shared out: near
    // the threshold a tensor can land on either side of it (all-MiniLM-L6-v2: 55 here, 56
    // counted by numpy).
    let estimated = (0..stats.len())
        .filter(float)
        .filter(|&i| stats[i].finite > 0 && !stats[i].exact_distribution)
        .count();
    let share_of = |i: usize| stats[i].outliers as f64 / stats[i].finite.max(1) as f64;
    let &worst = tailed
        .iter()
        .max_by(|&&a, &&b| share_of(a).total_cmp(&share_of(b)))?;
    let st = &stats[worst];
    let mut finding = Finding::new(
        Severity::Info,
        "heavy_tails",
        Subject::Model,
        format!(
            "{} of {} floating-point tensors have values beyond {} standard deviations{}, as trained weights do; the most: `{}`, {} {} ({}){}",
            tailed.len(),
            measured,
            st.outlier_sigmas,
            match estimated {
                0 => String::new(),
                n => format!(
                    " (in {n} large {}, counted to the 16-bit bucket at the threshold)",
                    plural(n as u64, "tensor", "tensors")
                ),
            },
            names[worst],
            st.outliers,
            plural(st.outliers, "value", "values"),
            share(st.outliers, st.finite),
            match st.distribution {
                Distribution::Exact | Distribution::None => "",
                Distribution::Buckets => "; count estimated from 16-bit buckets",
                Distribution::Sampled => "; central values sampled 1 in 16",
            },
        ),
    );
    finding.evidence = fields([
        ("tensors", (tailed.len() as u64).into()),
        ("of", (measured as u64).into()),
        ("sigmas", st.outlier_sigmas.into()),
        ("estimated", (estimated as u64).into()),
        ("most", names[worst].into()),
        ("outliers", st.outliers.into()),
        ("finite", st.finite.into()),
        (
            "distribution",
            serde_json::to_value(st.distribution).unwrap_or_default(),
        ),
    ]);
    Some(finding)
}

/// Name fragments of embeddings and output heads: byte-identical copies of these are tied weights.
const TIED_NAMES: &[&str] = &[
    "embed",
    "wte",
    "lm_head",
    "output.weight",
    "word_embeddings",
    "shared.weight",
];

/// The findings about one tensor, from its statistics alone, in the order of the rules in the module documentation.
pub fn tensor_findings(name: &str, slice: &TensorSlice<'_>, stats: &TensorStats) -> Vec<Finding> {
    let measured = Measured { name, slice, stats };
    RULES
        .iter()
        .filter_map(|rule| {
            let (severity, message) = (rule.check)(&measured)?;
            let mut finding = Finding::new(
                severity,
                rule.code,
                Subject::Tensor(name.to_owned()),
                message,
            );
            finding.evidence = (rule.evidence)(&measured);
            Some(finding)
        })
        .collect()
}

/// The findings that compare tensors (byte-identical copies, then the model's one `heavy_tails`
/// finding), once every tensor is measured.
/// `names`, `tensors` and `stats` are parallel; the findings come in the order of the tensor they
/// are about (the later copy). Confirming a duplicate reads both tensors again: `release(i,
/// range)` is called for each span of tensor `i` once it is compared (offsets within the tensor,
/// as the engine's release hook takes them), so that resident memory stays bounded.
pub fn cross_tensor_findings(
    names: &[&str],
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
    release: &dyn Fn(usize, Range<usize>),
) -> Vec<Finding> {
    let mut about: Vec<(usize, Finding)> = duplicate_findings(names, tensors, stats, release);
    about.extend(sibling_findings(names, tensors, stats));
    // Stable: a tensor's duplicate finding before its sibling one.
    about.sort_by_key(|(i, _)| *i);
    about
        .into_iter()
        .map(|(_, f)| f)
        .chain(heavy_tails(names, tensors, stats))
        .collect()
}

/// The `duplicate` findings, each with the position of the tensor it is about.
fn duplicate_findings(
    names: &[&str],
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
    release: &dyn Fn(usize, Range<usize>),
) -> Vec<(usize, Finding)> {
    duplicates(tensors, stats, release)
        .into_iter()
        .map(|(later, earlier)| {
            let tied = looks_like_embedding(names[later]) || looks_like_embedding(names[earlier]);
            let mut finding = Finding::new(
                if tied {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                "duplicate",
                Subject::Tensor(names[later].to_owned()),
                format!(
                    "byte-identical to `{}`{}",
                    names[earlier],
                    if tied {
                        " (tied weights: the embedding stored again as the output head)"
                    } else {
                        " (tied or copied weights)"
                    }
                ),
            );
            finding.evidence = fields([
                ("duplicate_of", names[earlier].into()),
                ("tied", tied.into()),
            ]);
            (later, finding)
        })
        .collect()
}

/// Every finding about a model's tensors, in report order (see the module documentation).
/// `names`, `tensors` and `stats` are parallel (as given to and returned by
/// [`compute_stats`](super::compute_stats)).
pub fn find_anomalies(
    names: &[&str],
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
) -> Vec<Finding> {
    let mut per_tensor: Vec<Vec<Finding>> = names
        .iter()
        .zip(tensors)
        .zip(stats)
        .map(|((name, slice), stats)| tensor_findings(name, slice, stats))
        .collect();
    for (later, finding) in duplicate_findings(names, tensors, stats, &|_, _| {}) {
        per_tensor[later].push(finding);
    }
    for (i, finding) in sibling_findings(names, tensors, stats) {
        per_tensor[i].push(finding);
    }
    per_tensor
        .into_iter()
        .flatten()
        .chain(heavy_tails(names, tensors, stats))
        .collect()
}

/// `n` as a percentage of `of`, for messages.
fn share(n: u64, of: u64) -> String {
    let p = 100.0 * n as f64 / of.max(1) as f64;
    if p >= 0.1 {
        format!("{p:.1}%")
    } else {
        format!("{p:.2e}%")
    }
}

fn all_zero(s: &TensorStats) -> bool {
    s.count > 0 && s.zeros == s.count
}

/// The single value of a tensor of more than one value, all finite and equal.
fn constant(s: &TensorStats) -> Option<f64> {
    (s.count > 1 && s.finite == s.count && s.min == s.max).then_some(s.min?)
}

/// The value (1 or 0) of a norm weight that holds nothing else.
fn norm_uninitialised(s: &Measured<'_>) -> Option<u8> {
    let name = s.name.to_lowercase();
    let is_norm = (name.contains("norm") || name.contains("ln_")) && name.ends_with(".weight");
    if !is_norm || s.slice.shape.len() != 1 || s.stats.count == 0 || s.stats.finite != s.stats.count
    {
        return None;
    }
    match (s.stats.min, s.stats.max) {
        (Some(a), Some(b)) if a == b && a == 1.0 => Some(1),
        (Some(a), Some(b)) if a == b && a == 0.0 => Some(0),
        _ => None,
    }
}

fn dead(
    s: &Measured<'_>,
    dead: Option<u64>,
    axis: usize,
    what: &str,
) -> Option<(Severity, String)> {
    let n = dead.filter(|&d| d > 0)?;
    if all_zero(s.stats) {
        return None;
    }
    let of = s.slice.shape.get(axis).copied().unwrap_or(0);
    Some((
        if looks_like_embedding(s.name) {
            Severity::Info
        } else {
            structural_severity(s)
        },
        format!("{n} of {of} {what} are all zero"),
    ))
}

/// P(|z| > k) for a standard normal z, by the Mills-ratio bound `sqrt(2/π)·exp(-k²/2)/k` (within 3%
/// for k ≥ 6; 1 for small k, where no count is notable anyway).
fn normal_tail(k: f64) -> f64 {
    if k < 1.0 {
        return 1.0;
    }
    ((2.0 / std::f64::consts::PI).sqrt() * (-k * k / 2.0).exp() / k).min(1.0)
}

/// Pairs `(later, earlier)` of byte-identical tensors, each later tensor paired with the first
/// identical one, in the order of the later tensor. Candidates share dtype, shape and the
/// statistics that do not depend on how the tensor was cut into chunks (counts, extremes,
/// histogram); bytes confirm: two candidates are compared ([`same_bytes`]), three or more are told
/// apart by a hash of their bytes ([`content_hash`]), each read once (comparing each with every
/// earlier one would read quadratically many bytes: a sparse model's tensors, zeros but for a
/// value or two, all share their statistics). Empty and constant tensors are left out (they are
/// reported as such). Every span read is handed to `release` (see [`cross_tensor_findings`]).
fn duplicates(
    tensors: &[TensorSlice<'_>],
    stats: &[TensorStats],
    release: &dyn Fn(usize, Range<usize>),
) -> Vec<(usize, usize)> {
    type Key<'a> = (
        DType,
        &'a [u64],
        u64,
        u64,
        u64,
        u64,
        Option<u64>,
        Option<u64>,
        Option<&'a [u64]>,
    );
    let mut groups: HashMap<Key<'_>, Vec<usize>> = HashMap::new();
    for (i, (t, s)) in tensors.iter().zip(stats).enumerate() {
        if s.count == 0
            || constant(s).is_some()
            || all_zero(s)
            || !crate::decode::can_decode(t.dtype)
        {
            continue;
        }
        let key = (
            t.dtype,
            t.shape,
            s.count,
            s.zeros,
            s.nan,
            s.inf,
            s.min.map(f64::to_bits),
            s.max.map(f64::to_bits),
            s.histogram.as_ref().map(|h| h.counts.as_slice()),
        );
        groups.entry(key).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in groups.values() {
        match *members.as_slice() {
            [] | [_] => {}
            [earlier, later] => {
                let both = |r: Range<usize>| {
                    release(earlier, r.clone());
                    release(later, r);
                };
                if same_bytes(tensors[earlier].bytes, tensors[later].bytes, &both) {
                    out.push((later, earlier));
                }
            }
            _ => {
                // Members are in tensor order: the first of each hash is the earliest copy.
                let mut first: HashMap<[u8; 32], usize> = HashMap::new();
                for &i in members {
                    let hash = content_hash(tensors[i].bytes, &|r| release(i, r));
                    match first.entry(hash) {
                        Entry::Occupied(e) => out.push((i, *e.get())),
                        Entry::Vacant(e) => {
                            e.insert(i);
                        }
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// Bytes of two candidate duplicates compared at a time.
const COMPARE_BYTES: usize = 4 << 20;

/// The spans of `len` bytes read at a time by [`same_bytes`] and [`content_hash`].
fn spans(len: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(COMPARE_BYTES)
        .map(move |start| start..(start + COMPARE_BYTES).min(len))
}

/// Whether `a` and `b` hold the same bytes, compared [`COMPARE_BYTES`] at a time, each span handed
/// to `release` once compared: candidates share their statistics, so a sparse model's tensors
/// (zeros but for a value or two) can differ only near their end, and comparing two mapped
/// 512 MiB tensors at once kept both resident (a 40 GiB sparse model peaked at 19 GiB).
fn same_bytes(a: &[u8], b: &[u8], release: &dyn Fn(Range<usize>)) -> bool {
    a.len() == b.len()
        && spans(a.len()).all(|span| {
            let same = a[span.clone()] == b[span.clone()];
            release(span);
            same
        })
}

/// BLAKE3 of `bytes`, read [`COMPARE_BYTES`] at a time, each span handed to `release` once read.
fn content_hash(bytes: &[u8], release: &dyn Fn(Range<usize>)) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    for span in spans(bytes.len()) {
        hasher.update(&bytes[span.clone()]);
        release(span);
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::{StatsOptions, compute_stats};
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    type Named = (&'static str, DType, Vec<u64>, Vec<u8>);

    /// The slices of `tensors` and their statistics.
    fn measured(tensors: &[Named]) -> (Vec<TensorSlice<'_>>, Vec<TensorStats>) {
        let slices: Vec<TensorSlice<'_>> = tensors
            .iter()
            .map(|(_, d, s, b)| TensorSlice {
                dtype: *d,
                shape: s,
                bytes: b,
            })
            .collect();
        let stats = compute_stats(
            &slices,
            &StatsOptions::default(),
            &|_, _| {},
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        (slices, stats)
    }

    fn findings(tensors: &[Named]) -> Vec<(&'static str, String, Severity)> {
        let (slices, stats) = measured(tensors);
        let names: Vec<&str> = tensors.iter().map(|t| t.0).collect();
        find_anomalies(&names, &slices, &stats)
            .into_iter()
            .map(|f| {
                (
                    f.code,
                    f.tensor().unwrap_or("(model)").to_owned(),
                    f.severity,
                )
            })
            .collect()
    }

    fn normal(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                let mut s = 0.0;
                for _ in 0..12 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    s += (state >> 11) as f64 / (1u64 << 53) as f64;
                }
                ((s - 6.0) * 0.02) as f32
            })
            .collect()
    }

    #[test]
    fn one_finding_per_problem() {
        let healthy = normal(4096, 1);
        let mut nan = normal(1024, 2);
        nan[5] = f32::NAN;
        let mut rows = normal(64, 3);
        rows[8..16].fill(0.0);
        let mut cols = normal(64, 4);
        for r in 0..8 {
            cols[r * 8 + 3] = 0.0;
        }
        let mut outliers = normal(16384, 5);
        outliers[100] = 1.0;
        outliers[9000] = -1.0;
        let dup = normal(256, 6);
        let t = vec![
            ("healthy.weight", DType::F32, vec![64, 64], f32s(&healthy)),
            ("nan.weight", DType::F32, vec![1024], f32s(&nan)),
            ("zero.bias", DType::F32, vec![8], f32s(&[0.0; 8])),
            ("const.weight", DType::F32, vec![4, 4], f32s(&[0.5; 16])),
            ("rows.weight", DType::F32, vec![8, 8], f32s(&rows)),
            ("cols.weight", DType::F32, vec![8, 8], f32s(&cols)),
            ("out.weight", DType::F32, vec![16384], f32s(&outliers)),
            ("a.weight", DType::F32, vec![16, 16], f32s(&dup)),
            ("b.weight", DType::F32, vec![16, 16], f32s(&dup)),
            ("model.norm.weight", DType::F32, vec![8], f32s(&[1.0; 8])),
            (
                "layers.0.post_attention_layernorm.weight",
                DType::F32,
                vec![8],
                f32s(&[0.0; 8]),
            ),
            (
                "model.embed_tokens.weight",
                DType::F32,
                vec![16, 16],
                f32s(&normal(256, 20)),
            ),
            (
                "lm_head.weight",
                DType::F32,
                vec![16, 16],
                f32s(&normal(256, 20)),
            ),
        ];
        let got = findings(&t);
        let want = vec![
            ("nan", "nan.weight".to_owned(), Severity::Error),
            ("all_zero", "zero.bias".to_owned(), Severity::Info),
            ("constant", "const.weight".to_owned(), Severity::Warning),
            ("dead_rows", "rows.weight".to_owned(), Severity::Warning),
            ("dead_columns", "cols.weight".to_owned(), Severity::Warning),
            ("duplicate", "b.weight".to_owned(), Severity::Warning),
            (
                "norm_uninitialised",
                "model.norm.weight".to_owned(),
                Severity::Warning,
            ),
            (
                "norm_uninitialised",
                "layers.0.post_attention_layernorm.weight".to_owned(),
                Severity::Warning,
            ),
            ("duplicate", "lm_head.weight".to_owned(), Severity::Info),
        ];
        let got: Vec<_> = got.into_iter().filter(|f| f.0 != "heavy_tails").collect();
        assert_eq!(got, want);
    }

    #[test]
    fn heavy_tails_are_one_finding_for_the_model_naming_the_most_extreme() {
        let mut few = normal(16384, 5);
        few[100] = 1.0;
        let mut many = normal(16384, 6);
        for i in 0..20 {
            many[i * 500] = if i % 2 == 0 { 1.0 } else { -1.0 };
        }
        let t = [
            ("few.weight", DType::F32, vec![128, 128], f32s(&few)),
            (
                "healthy.weight",
                DType::F32,
                vec![64, 64],
                f32s(&normal(4096, 7)),
            ),
            ("many.weight", DType::F32, vec![128, 128], f32s(&many)),
            // Integer buffers are not weights: never counted.
            (
                "position_ids",
                DType::I64,
                vec![1, 4],
                [0i64, 1, 2, 511]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
            ),
        ];
        let slices: Vec<TensorSlice<'_>> = t
            .iter()
            .map(|(_, d, s, b)| TensorSlice {
                dtype: *d,
                shape: s,
                bytes: b,
            })
            .collect();
        let names: Vec<&str> = t.iter().map(|x| x.0).collect();
        let stats = compute_stats(
            &slices,
            &StatsOptions::default(),
            &|_, _| {},
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let all = find_anomalies(&names, &slices, &stats);
        assert_eq!(all.len(), 1, "{all:?}");
        let f = &all[0];
        assert_eq!(
            (f.code, f.severity, &f.subject),
            ("heavy_tails", Severity::Info, &Subject::Model)
        );
        let ev = |k: &str| {
            f.evidence
                .iter()
                .find(|e| e.field == k)
                .map(|e| e.value.clone())
        };
        assert_eq!(ev("tensors"), Some(2.into()));
        assert_eq!(ev("of"), Some(3.into()));
        assert_eq!(ev("most"), Some("many.weight".into()));
        assert_eq!(ev("outliers"), Some(20.into()));
        assert_eq!(
            cross_tensor_findings(&names, &slices, &stats, &|_, _| {}).len(),
            1
        );
        assert!(find_anomalies(&names[1..2], &slices[1..2], &stats[1..2]).is_empty());
    }

    #[test]
    fn normal_properties_of_buffers_and_embeddings_are_information() {
        let mut embed = normal(64, 3);
        embed[0..8].fill(0.0); // row 0: the padding token
        let t = vec![
            ("token_type_ids", DType::I64, vec![2, 4], vec![0u8; 64]),
            (
                "word_embeddings.weight",
                DType::F32,
                vec![8, 8],
                f32s(&embed),
            ),
            ("proj.weight", DType::F32, vec![8, 8], f32s(&embed)),
        ];
        let got = findings(&t);
        assert_eq!(
            got,
            vec![
                ("all_zero", "token_type_ids".to_owned(), Severity::Info),
                (
                    "dead_rows",
                    "word_embeddings.weight".to_owned(),
                    Severity::Info
                ),
                ("dead_rows", "proj.weight".to_owned(), Severity::Warning),
                ("duplicate", "proj.weight".to_owned(), Severity::Info),
            ]
        );
    }

    #[test]
    fn same_statistics_different_bytes_is_not_a_duplicate() {
        // Same values in a different order: identical counts, extremes and histogram.
        let a = normal(64, 9);
        let mut b = a.clone();
        b.reverse();
        let t = vec![
            ("a.weight", DType::F32, vec![8, 8], f32s(&a)),
            ("b.weight", DType::F32, vec![8, 8], f32s(&b)),
        ];
        assert!(findings(&t).is_empty());
    }

    #[test]
    fn three_or_more_candidates_pair_each_copy_with_its_first_original() {
        // Same values in two orders: one key for all five, two contents; by hash.
        let a = normal(64, 9);
        let mut b = a.clone();
        b.reverse();
        let t: Vec<_> = [&a, &b, &a, &b, &a]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name: &'static str =
                    ["p.weight", "q.weight", "r.weight", "s.weight", "u.weight"][i];
                (name, DType::F32, vec![8, 8], f32s(v))
            })
            .collect();
        let got: Vec<_> = findings(&t)
            .into_iter()
            .filter(|f| f.0 == "duplicate")
            .map(|f| f.1)
            .collect();
        assert_eq!(got, ["r.weight", "s.weight", "u.weight"]);
        let (slices, stats) = measured(&t);
        let released = std::cell::RefCell::new(Vec::new());
        let pairs = duplicates(&slices, &stats, &|i, r| released.borrow_mut().push((i, r)));
        assert_eq!(pairs, [(2, 0), (3, 1), (4, 0)]);
        // Each read once, whole.
        let mut released = released.into_inner();
        released.sort_by_key(|(i, _)| *i);
        assert_eq!(released, (0..5).map(|i| (i, 0..256)).collect::<Vec<_>>());
    }

    #[test]
    fn bytes_are_compared_span_by_span_and_released() {
        let spans = |a: &[u8], b: &[u8]| {
            let released = std::cell::RefCell::new(Vec::new());
            let same = same_bytes(a, b, &|r| released.borrow_mut().push(r));
            (same, released.into_inner())
        };
        let n = 2 * COMPARE_BYTES + 10;
        let a = vec![7u8; n];
        let whole = vec![
            0..COMPARE_BYTES,
            COMPARE_BYTES..2 * COMPARE_BYTES,
            2 * COMPARE_BYTES..n,
        ];
        assert_eq!(spans(&a, &a.clone()), (true, whole.clone()));
        let mut late = a.clone();
        late[n - 1] = 8;
        assert_eq!(spans(&a, &late), (false, whole.clone()));
        let mut early = a.clone();
        early[5] = 8;
        assert_eq!(spans(&a, &early), (false, whole[..1].to_vec()));
        assert_eq!(spans(&a, &a[1..]), (false, vec![]));
        // The hash reads and releases the same spans.
        let hashed = std::cell::RefCell::new(Vec::new());
        let h = content_hash(&a, &|r| hashed.borrow_mut().push(r));
        assert_eq!(hashed.into_inner(), whole);
        assert_eq!(h, *blake3::hash(&a).as_bytes());
        assert_ne!(h, content_hash(&late, &|_| {}));
    }

    #[test]
    fn normal_tail_is_close_to_erfc() {
        // P(|z| > 6) = erfc(6/√2) = 1.973e-9
        assert!((normal_tail(6.0) / 1.973e-9 - 1.0).abs() < 0.03);
        assert_eq!(normal_tail(0.5), 1.0);
    }
}

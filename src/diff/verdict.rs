//! The per-layer × role map of the change and the verdict for the pair, with its evidence.
//!
//! The verdict is decided in a fixed order, the first that fits: identical weights; unrelated or
//! derived-but-permuted (from the lineage test, when both models have MLPs to match); a re-cast
//! (every difference is the rounding of a cast to B's type, nothing else changed); quantised (a
//! type changed beyond re-rounding); a low-rank merge (every changed matrix has most of its change
//! in a few directions); fine-tuned.

use std::collections::{BTreeMap, BTreeSet};

use super::lineage::{Lineage, MlpPair, Units};
use super::pairing::Canonical;
use super::{Status, TensorDiff};
use crate::model::Model;

use crate::model::naming::Role;

/// One cell of the map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoleCell {
    /// The short role name (`q`, `gate`, `norm`, …).
    pub role: &'static str,
    /// The role itself, for the column order of the map.
    #[serde(skip)]
    pub kind: Role,
    /// The most significant status of the role's tensors in this layer.
    pub status: Status,
    /// Largest rel_l2 of the role's tensors.
    pub rel_l2: Option<f64>,
    /// Smallest r99 among the role's changed matrices.
    pub r99: Option<usize>,
    /// Every changed matrix of the role reads as a low-rank merge.
    pub low_rank: bool,
}

/// One row of the map: a layer (`null` for tensors outside the layers: embeddings, final norm,
/// head).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerRow {
    pub layer: Option<usize>,
    /// Tensors whose values changed (any status but identical and renamed).
    pub changed: usize,
    pub mean_rel_l2: Option<f64>,
    pub roles: Vec<RoleCell>,
}

/// What the pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Identical,
    Recast,
    Quantised,
    FineTuned,
    LowRankMerge,
    /// Every differing tensor replaced by unrelated values, scaled or zeroed: an edit, not
    /// training (a broken merge, a corrupted or tampered upload).
    Edited,
    DerivedPermuted,
    Unrelated,
}

impl VerdictKind {
    pub fn name(self) -> &'static str {
        match self {
            VerdictKind::Identical => "identical",
            VerdictKind::Recast => "recast",
            VerdictKind::Quantised => "quantised",
            VerdictKind::FineTuned => "fine_tuned",
            VerdictKind::LowRankMerge => "low_rank_merge",
            VerdictKind::Edited => "edited",
            VerdictKind::DerivedPermuted => "derived_permuted",
            VerdictKind::Unrelated => "unrelated",
        }
    }
}

/// The verdict and the facts behind it (faces write the sentence).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub evidence: Evidence,
}

/// The facts a verdict rests on.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Evidence {
    /// Tensors paired and compared.
    pub paired: usize,
    /// The paired tensors' share of the parameters, of A's or of B's whichever is larger (0 to
    /// 1): under a half, the two models have too little in common to be compared.
    pub paired_share: f64,
    /// Paired tensors whose values differ.
    pub differing: usize,
    /// Of those, tensors that differ only by a change of type (`re-rounded` or `retyped`).
    pub converted: usize,
    /// Tensors only in B and only in A (not paired: they do not decide the kind).
    pub added: usize,
    pub removed: usize,
    /// Layers with a differing tensor (beyond a change of type, if any tensor differs so).
    pub layers: Vec<usize>,
    /// Roles with a differing tensor (as `layers`).
    pub roles: Vec<&'static str>,
    /// Parameters per dtype of B among the differing tensors (the type mix of a quantisation).
    pub dtypes_b: BTreeMap<&'static str, u64>,
    /// Lowest and parameter-weighted mean SQNR (dB) of the differing tensors.
    pub min_sqnr_db: Option<f64>,
    pub mean_sqnr_db: Option<f64>,
    /// r99 of the changed matrices, largest first (low-rank merge).
    pub ranks: Vec<usize>,
    /// What differs besides the weights: `format`, `file_metadata`, `documents:<kind>`.
    pub other_differences: Vec<String>,
    /// Lineage conclusion, when the test ran.
    pub lineage: Option<&'static str>,
    /// Differing tensors B replaced by values unrelated to A's (|cosine| under 0.2 over at
    /// least 1,024 values: a re-initialised or swapped-in tensor, not a fine-tune's change).
    pub replaced: Vec<Replaced>,
    /// Differing tensors B holds as A's times a factor (cosine above 0.999999, 0.9999 in another
    /// type; the norms' ratio off 1 by more than 1%; a factor of 0 when B's are all zero).
    pub scaled: Vec<Scaled>,
}

/// A tensor whose values B replaced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Replaced {
    pub tensor: String,
    pub cosine: f64,
}

/// A tensor B holds scaled.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scaled {
    pub tensor: String,
    /// B ≈ factor × A.
    pub factor: f64,
}

/// The layer and role of each differing tensor, as a map.
pub(crate) fn layer_map(tensors: &[TensorDiff]) -> Vec<LayerRow> {
    let mut by_layer: BTreeMap<Option<usize>, BTreeMap<Role, Vec<&TensorDiff>>> = BTreeMap::new();
    for t in tensors {
        by_layer
            .entry(t.layer)
            .or_default()
            .entry(t.role_kind)
            .or_default()
            .push(t);
    }
    by_layer
        .into_iter()
        .map(|(layer, roles)| {
            let all: Vec<&TensorDiff> = roles.values().flatten().copied().collect();
            // Unchanged tensors count as 0 (byte-identical ones are not decoded).
            let rels: Vec<f64> = all
                .iter()
                .filter_map(|t| {
                    if t.status.is_same() {
                        Some(0.0)
                    } else {
                        t.headline.rel_l2
                    }
                })
                .collect();
            LayerRow {
                layer,
                changed: all.iter().filter(|t| !t.status.is_same()).count(),
                mean_rel_l2: (!rels.is_empty())
                    .then(|| rels.iter().sum::<f64>() / rels.len() as f64),
                roles: roles
                    .values()
                    .map(|ts| RoleCell {
                        role: ts[0].role,
                        kind: ts[0].role_kind,
                        status: ts
                            .iter()
                            .map(|t| t.status)
                            .max()
                            .unwrap_or(Status::Identical),
                        rel_l2: ts
                            .iter()
                            .filter_map(|t| t.headline.rel_l2)
                            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r)))),
                        r99: ts.iter().filter_map(|t| t.rank.as_ref()?.r99).min(),
                        low_rank: ts.iter().any(|t| t.status == Status::Changed)
                            && ts
                                .iter()
                                .filter(|t| t.status == Status::Changed)
                                .all(|t| t.rank.as_ref().is_some_and(|r| r.low_rank)),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The MLP matrices the lineage test matches, paired on both sides, layer by layer: gate and up
/// of a gated MLP, else up and down.
pub(crate) fn mlp_pairs<'a, 'b>(
    pairs: &[(Canonical<'a>, Canonical<'b>, bool)],
) -> Vec<MlpPair<'a, 'b>> {
    let mut by_layer: BTreeMap<(u64, Role), &(Canonical<'a>, Canonical<'b>, bool)> =
        BTreeMap::new();
    // The matrices only: a role's bias shares its name's prefix.
    for pair in pairs.iter().filter(|p| p.1.view.shape.len() == 2) {
        let name = pair.1.name.as_str();
        let role = crate::model::naming::role_of(name);
        if let (Some(layer), Role::MlpGate | Role::MlpUp | Role::MlpDown) =
            (crate::model::naming::layer_of(name), role)
        {
            by_layer.entry((layer, role)).or_insert(pair);
        }
    }
    let units = |layer: u64, role: Role| -> Option<Units<'a, 'b>> {
        let (x, y, _) = by_layer.get(&(layer, role))?;
        let (sa, sb) = (&x.view.shape, &y.view.shape);
        if sa.len() != 2 || sa != sb {
            return None;
        }
        // `[out, in]`: up and gate hold a unit per row, down one per column; GPT-2's Conv1D
        // stores the transpose.
        let by_columns =
            (role == Role::MlpDown) != crate::model::naming::stored_transposed(&y.name);
        Some(Units {
            a: x.view.clone(),
            b: y.view.clone(),
            by_columns,
        })
    };
    let layers: BTreeSet<u64> = by_layer.keys().map(|(l, _)| *l).collect();
    layers
        .into_iter()
        .filter_map(|layer| {
            let (first, second) = match units(layer, Role::MlpGate) {
                Some(gate) => (gate, units(layer, Role::MlpUp)?),
                None => (units(layer, Role::MlpUp)?, units(layer, Role::MlpDown)?),
            };
            Some(MlpPair { first, second })
        })
        .collect()
}

/// Decides the verdict.
pub(crate) fn decide(
    a: &Model,
    b: &Model,
    tensors: &[TensorDiff],
    lineage: Option<&Lineage>,
) -> Verdict {
    // The kind is decided by the paired tensors: a converter that drops a buffer or a pooler
    // (llama.cpp drops BERT's) does not turn a re-cast into a fine-tune.
    let unpaired = |s: Status| matches!(s, Status::Added | Status::Removed);
    let differing: Vec<&TensorDiff> = tensors
        .iter()
        .filter(|t| !t.status.is_same() && !unpaired(t.status))
        .collect();
    let count = |s: Status| tensors.iter().filter(|t| t.status == s).count();
    // Tensors whose values changed beyond a change of type: where they are is where the model
    // was changed (a tensor replaced inside a BF16 → F32 conversion is in its layer, not in
    // every layer the conversion touched).
    let conversion = |t: &TensorDiff| matches!(t.status, Status::ReRounded | Status::Retyped);
    let edits = differing.iter().filter(|t| !conversion(t)).count();
    let mut layers = BTreeSet::new();
    let mut roles = BTreeSet::new();
    let mut dtypes_b = BTreeMap::new();
    let (mut sqnr_sum, mut sqnr_weight, mut min_sqnr) = (0.0, 0.0, None::<f64>);
    for t in &differing {
        if edits == 0 || !conversion(t) {
            if let Some(l) = t.layer {
                layers.insert(l);
            }
            roles.insert(t.role);
        }
        if let (Some(d), Some(shape)) = (t.dtype_b, &t.shape_b) {
            *dtypes_b.entry(d).or_insert(0) += shape.iter().product::<u64>();
        }
        if let (Some(s), Some(n)) = (t.headline.sqnr_db, &t.numbers) {
            sqnr_sum += s * n.count as f64;
            sqnr_weight += n.count as f64;
            min_sqnr = Some(min_sqnr.map_or(s, |m| m.min(s)));
        }
    }
    let mut ranks: Vec<usize> = differing
        .iter()
        .filter_map(|t| t.rank.as_ref().and_then(|r| r.r99))
        .collect();
    ranks.sort_unstable_by(|x, y| y.cmp(x));
    let evidence = Evidence {
        paired: tensors.iter().filter(|t| !unpaired(t.status)).count(),
        paired_share: paired_share(tensors),
        differing: differing.len(),
        converted: differing.len() - edits,
        added: count(Status::Added),
        removed: count(Status::Removed),
        layers: layers.into_iter().collect(),
        roles: roles.into_iter().collect(),
        dtypes_b,
        min_sqnr_db: min_sqnr,
        mean_sqnr_db: (sqnr_weight > 0.0).then(|| sqnr_sum / sqnr_weight),
        ranks,
        other_differences: other_differences(a, b, tensors),
        lineage: lineage.map(|l| l.conclusion),
        replaced: differing
            .iter()
            .filter_map(|t| {
                let n = t.numbers.as_ref()?;
                let cosine = n.cosine?;
                (n.count >= 1024 && cosine.abs() < 0.2).then(|| Replaced {
                    tensor: t.name.clone(),
                    cosine,
                })
            })
            .collect(),
        scaled: differing
            .iter()
            .filter_map(|t| {
                let n = t.numbers.as_ref()?;
                let factor = scale_factor(n)?;
                // B all zero (A not) is a factor of 0, with no cosine. Rounding to another
                // type leaves a cosine of 1 - 1.3e-6 (BF16) to 1 - 1e-5 (8-bit).
                let bound = if t.dtype_a == t.dtype_b {
                    0.999_999
                } else {
                    0.9999
                };
                let collinear = factor == 0.0 || n.cosine.is_some_and(|c| c > bound);
                (collinear && (factor - 1.0).abs() > 0.01).then(|| Scaled {
                    tensor: t.name.clone(),
                    factor,
                })
            })
            .collect(),
    };
    let all = |f: &dyn Fn(&TensorDiff) -> bool| differing.iter().all(|t| f(t));
    let kind = if evidence.paired_share < 0.5 {
        // Two models that share no tensor (or a few, say a pooler) are not "identical".
        VerdictKind::Unrelated
    } else if differing.is_empty() {
        VerdictKind::Identical
    } else if lineage.is_some_and(|l| l.conclusion == "unrelated") {
        VerdictKind::Unrelated
    } else if lineage.is_some_and(|l| l.conclusion == "permuted") {
        VerdictKind::DerivedPermuted
    } else if all(&|t| t.status == Status::ReRounded) {
        VerdictKind::Recast
    } else if edits > 0 && evidence.replaced.len() + evidence.scaled.len() == edits {
        // Tensors replaced or scaled inside a conversion (the others only changed type).
        VerdictKind::Edited
    } else if differing.iter().any(|t| t.status == Status::Retyped) {
        VerdictKind::Quantised
    } else if all(&|t| t.status == Status::Changed && t.rank.as_ref().is_some_and(|r| r.low_rank)) {
        VerdictKind::LowRankMerge
    } else if evidence.replaced.len() + evidence.scaled.len() == differing.len() {
        VerdictKind::Edited
    } else {
        VerdictKind::FineTuned
    };
    Verdict { kind, evidence }
}

/// ‖B‖ / ‖A‖ from the sides' moments (‖X‖² = n · (std² + mean²)); `None` when A is all zero.
pub(crate) fn scale_factor(n: &crate::diff::PairNumbers) -> Option<f64> {
    let s = &n.sides;
    let square = |mean: Option<f64>, std: Option<f64>| Some(mean? * mean? + std? * std?);
    let (a, b) = (square(s.mean_a, s.std_a)?, square(s.mean_b, s.std_b)?);
    (a > 0.0).then(|| (b / a).sqrt())
}

/// The paired tensors' share of A's parameters or of B's, whichever is larger; 1 for two models
/// without parameters.
fn paired_share(tensors: &[TensorDiff]) -> f64 {
    let numel = |shape: &Option<Vec<u64>>| shape.as_ref().map_or(0, |s| s.iter().product::<u64>());
    let (mut paired_a, mut paired_b, mut all_a, mut all_b) = (0u64, 0u64, 0u64, 0u64);
    for t in tensors {
        let (a, b) = (numel(&t.shape_a), numel(&t.shape_b));
        all_a += a;
        all_b += b;
        // A reshaped pair counts by the values it compared (the shared rows); one whose shapes
        // share no rows (another width) was not compared at all.
        let compared = match t.status {
            Status::Added | Status::Removed => None,
            Status::Reshaped => Some(t.numbers.as_ref().map_or(0, |n| n.count)),
            _ => Some(a.min(b)),
        };
        if let Some(values) = compared {
            paired_a += values.min(a);
            paired_b += values.min(b);
        }
    }
    if all_a == 0 && all_b == 0 {
        return 1.0;
    }
    let share = |paired: u64, all: u64| {
        if all == 0 {
            0.0
        } else {
            paired as f64 / all as f64
        }
    };
    share(paired_a, all_a).max(share(paired_b, all_b))
}

/// What differs between the two models besides the tensor values: `dtypes` when a tensor holds
/// the same values stored in another type (a Q4_1 GGUF against its exact F32 dequantisation).
fn other_differences(a: &Model, b: &Model, tensors: &[TensorDiff]) -> Vec<String> {
    let mut out = Vec::new();
    if a.format != b.format {
        out.push("format".to_owned());
    }
    if tensors
        .iter()
        .any(|t| t.status == Status::Identical && t.dtype_a != t.dtype_b)
    {
        out.push("dtypes".to_owned());
    }
    // The union over the shards: resharding alone is not a metadata change.
    let meta = |m: &Model| {
        m.files
            .iter()
            .flat_map(|f| f.metadata.clone())
            .collect::<BTreeMap<_, _>>()
    };
    if a.format == b.format && meta(a) != meta(b) {
        out.push("file_metadata".to_owned());
    }
    let kinds: BTreeSet<&str> = a
        .documents
        .iter()
        .chain(&b.documents)
        .map(|d| d.kind)
        .collect();
    for kind in kinds {
        let read = |m: &Model| m.document(kind).and_then(|d| std::fs::read(&d.path).ok());
        if read(a) != read(b) {
            out.push(format!("documents:{kind}"));
        }
    }
    out
}

//! The `glassbox diff A B` report: both models' objects around the comparison
//! ([`crate::diff::Diff`]), which is already plain data. Its serde form is the diff document.

use serde::Serialize;

use super::{ModelObject, SCHEMA_VERSION};
use crate::diff::{Diff, Evidence, Verdict, VerdictKind};
use crate::model::Model;

/// What every face of `glassbox diff` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub schema_version: u32,
    pub a: ModelObject,
    pub b: ModelObject,
    #[serde(flatten)]
    pub diff: Diff,
}

impl DiffReport {
    pub fn new(a: &Model, b: &Model, diff: Diff) -> DiffReport {
        DiffReport {
            schema_version: SCHEMA_VERSION,
            a: ModelObject::new(a),
            b: ModelObject::new(b),
            diff,
        }
    }
}

/// The verdict as a sentence.
pub fn verdict_sentence(v: &Verdict) -> String {
    let e = &v.evidence;
    let layers = |l: &[usize]| {
        if l.is_empty() {
            "no layer".to_owned()
        } else if l.len() == 1 {
            format!("layer {}", l[0])
        } else {
            format!(
                "layers {}",
                l.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let roles = e.roles.join(", ");
    let mut sentence = kind_sentence(v, &layers, &roles);
    // Tensors replaced or scaled are named: neither is what training does to a tensor.
    let mut edits: Vec<String> = e
        .replaced
        .iter()
        .map(|r| format!("{} replaced (cosine {:.3})", r.tensor, r.cosine))
        .chain(e.scaled.iter().map(|s| match s.factor {
            0.0 => format!("{} zeroed", s.tensor),
            f => format!("{} scaled ×{f:.3}", s.tensor),
        }))
        .collect();
    if edits.len() > 4 {
        let more = edits.len() - 3;
        edits.truncate(3);
        edits.push(format!("{more} more"));
    }
    if !edits.is_empty() && matches!(v.kind, VerdictKind::FineTuned | VerdictKind::Edited) {
        sentence = format!("{sentence}; {}", edits.join(", "));
    }
    // What differs besides the values (the identical verdict says it in its own words).
    if !matches!(v.kind, VerdictKind::Identical | VerdictKind::Unrelated)
        && !e.other_differences.is_empty()
    {
        sentence = format!(
            "{sentence}; also differs in {}",
            e.other_differences.join(", ")
        );
    }
    let unpaired: Vec<String> = [(e.removed, "only in A"), (e.added, "only in B")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, side)| {
            format!(
                "{n} {} {side}",
                crate::text::plural(n as u64, "tensor", "tensors")
            )
        })
        .collect();
    if unpaired.is_empty() {
        sentence
    } else {
        format!("{sentence}; {}", unpaired.join(", "))
    }
}

/// The verdict's kind with its evidence, as a sentence.
fn kind_sentence(v: &Verdict, layers: &dyn Fn(&[usize]) -> String, roles: &str) -> String {
    let e = &v.evidence;
    match v.kind {
        VerdictKind::Identical => {
            if e.other_differences.is_empty() {
                format!(
                    "identical weights: {} the same values",
                    all_tensors(e.paired)
                )
            } else {
                format!(
                    "identical weights: {} the same values; differs only in {}",
                    all_tensors(e.paired),
                    e.other_differences.join(", ")
                )
            }
        }
        VerdictKind::Recast => format!(
            "re-cast: {} only by rounding {}{}",
            match e.differing {
                1 => "1 tensor differs".to_owned(),
                n => format!("{n} tensors differ"),
            },
            // Rounding goes to the narrower type: B's, unless B widened A's (BF16 → F32).
            if e.dtypes_b.keys().all(|d| matches!(*d, "F32" | "F64")) {
                format!("to A's types (B: {})", dtypes(e))
            } else {
                format!("to {}", dtypes(e))
            },
            if e.other_differences.is_empty() && e.added + e.removed == 0 {
                ", nothing else changed"
            } else {
                ""
            }
        ),
        VerdictKind::Quantised => format!(
            "quantised: {} changed type (B: {}), SQNR {} dB on average, {} dB at worst",
            tensors(e.differing),
            dtypes(e),
            fixed(e.mean_sqnr_db, 1),
            fixed(e.min_sqnr_db, 1)
        ),
        VerdictKind::FineTuned => format!(
            "fine-tuned: {} changed in {} (roles {roles}){}",
            tensors(e.differing - e.converted),
            layers(&e.layers),
            also_converted(e)
        ),
        VerdictKind::LowRankMerge => format!(
            "low-rank merge: {} {} changed by rank {} in {} (roles {roles})",
            e.differing,
            crate::text::plural(e.differing as u64, "matrix", "matrices"),
            e.ranks.first().map_or("?".to_owned(), usize::to_string),
            layers(&e.layers)
        ),
        VerdictKind::Edited => format!(
            "edited in {} (roles {roles}), not a training change{}",
            layers(&e.layers),
            also_converted(e)
        ),
        VerdictKind::DerivedPermuted => format!(
            "derived, hidden units permuted: B's MLP units are A's in another order ({} differ)",
            tensors(e.differing)
        ),
        VerdictKind::Unrelated if e.paired_share < 0.5 => match e.paired {
            0 => "unrelated: no tensor of A pairs with one of B (by name, shape or content)"
                .to_owned(),
            n => format!(
                "unrelated: {n} {} by name, but {} of the parameters in shapes that compare",
                if n == 1 {
                    "tensor pairs"
                } else {
                    "tensors pair"
                },
                if e.paired_share < 0.01 {
                    "under 1%".to_owned()
                } else {
                    format!("only {:.0}%", e.paired_share * 100.0)
                }
            ),
        },
        VerdictKind::Unrelated => {
            "unrelated: B's MLP units do not match A's (independently initialised)".to_owned()
        }
    }
}

/// B's dtypes among the differing tensors, for a sentence.
fn dtypes(e: &Evidence) -> String {
    e.dtypes_b.keys().copied().collect::<Vec<_>>().join(", ")
}

/// " (N others only changed type, B: …)" when a model was changed beyond a conversion of it.
fn also_converted(e: &Evidence) -> String {
    match e.converted {
        0 => String::new(),
        n => format!(
            " ({} {} only changed type, B: {})",
            n,
            crate::text::plural(n as u64, "other", "others"),
            dtypes(e)
        ),
    }
}

/// "N tensors" (or "1 tensor").
fn tensors(n: usize) -> String {
    format!("{n} {}", crate::text::plural(n as u64, "tensor", "tensors"))
}

/// "all N tensors have" (or "the 1 tensor has").
fn all_tensors(n: usize) -> String {
    match n {
        1 => "the 1 tensor has".to_owned(),
        n => format!("all {n} tensors have"),
    }
}

/// A number with `digits` decimals, `-` when unknown.
fn fixed(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
}

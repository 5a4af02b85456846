//! The Diff tab's data: [`DiffView::new`] turns the [`DiffReport`] of `glassbox A B` into what the
//! tab draws — the verdict in words, the layer × role map of the change, and the changed tensors
//! sorted by how much they changed, each knowing its cell of the map, so that a selection in the
//! list moves the map's cursor and a move in the map selects the list's tensor.
//!
//! It is built on the diff's background thread, so the UI thread only swaps it in. Like
//! [`super::data`], it computes nothing beyond ordering: the numbers are the diff's, the verdict
//! sentence the report's.

use std::cmp::Ordering;

use crate::diff::{LowRank, PairNumbers, Status, TensorDiff};
use crate::report::diff::{DiffReport, verdict_sentence};

/// One cell of the layer × role map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCell {
    /// The most significant status of the role's tensors in this layer.
    pub status: Status,
    /// Largest rel_l2 of those tensors.
    pub rel_l2: Option<f64>,
    pub low_rank: bool,
}

/// One row of the map: a layer, or the tensors outside the layers (`other`).
#[derive(Debug, Clone, PartialEq)]
pub struct MapRow {
    pub label: String,
    /// Parallel to [`DiffView::columns`]; `None` where the layer has no tensor of that role.
    pub cells: Vec<Option<MapCell>>,
}

/// A tensor whose values differ (or that exists on one side only).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedTensor {
    /// The canonical (Hugging Face) name both sides were paired under.
    pub name: String,
    /// The names in the files, where they differ from `name`.
    pub name_a: Option<String>,
    pub name_b: Option<String>,
    pub status: Status,
    pub dtype_a: Option<&'static str>,
    pub dtype_b: Option<&'static str>,
    pub shape_a: Option<Vec<u64>>,
    pub shape_b: Option<Vec<u64>>,
    /// (row, column) of its cell in the map.
    pub cell: Option<(usize, usize)>,
    /// `None` for added and removed tensors and for types that are not decoded.
    pub numbers: Option<PairNumbers>,
    pub rank: Option<LowRank>,
}

impl ChangedTensor {
    pub fn rel_l2(&self) -> Option<f64> {
        self.numbers.as_ref().and_then(|n| n.rel_l2)
    }
}

/// Everything the Diff tab shows once the comparison is done.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffView {
    /// The two models' names (the last component of the paths the user gave).
    pub a: String,
    pub b: String,
    /// `fine_tuned`, `identical` …
    pub verdict_kind: &'static str,
    /// The verdict as a sentence (the same the CLI prints).
    pub verdict: String,
    /// `3 changed, 17 identical` (statuses with a count).
    pub counts: String,
    /// Tensors compared in all.
    pub total: usize,
    /// Map columns: role short names, in role order.
    pub columns: Vec<&'static str>,
    /// Map rows: layers ascending, then `other`.
    pub rows: Vec<MapRow>,
    /// Largest rel_l2 in the map: the colour scale's top.
    pub max_rel_l2: Option<f64>,
    /// Added and removed first (nothing to compare), then by rel_l2, largest first; ties and
    /// tensors without numbers by name.
    pub changed: Vec<ChangedTensor>,
    /// Whether every tensor is paired and within the tolerance (what exit status 0 means).
    pub within_tolerance: bool,
}

impl DiffView {
    pub fn new(report: &DiffReport) -> DiffView {
        let diff = &report.diff;
        let mut kinds: Vec<_> = diff
            .layers
            .iter()
            .flat_map(|r| r.roles.iter().map(|c| (c.kind, c.role)))
            .collect();
        kinds.sort();
        kinds.dedup();
        let columns: Vec<&'static str> = kinds.iter().map(|&(_, r)| r).collect();
        // Layers ascending, the tensors outside any layer last (the diff sorts them first).
        let mut layer_rows: Vec<_> = diff.layers.iter().collect();
        layer_rows.sort_by_key(|r| (r.layer.is_none(), r.layer));
        let rows: Vec<MapRow> = layer_rows
            .iter()
            .map(|r| MapRow {
                label: r
                    .layer
                    .map_or_else(|| "other".to_owned(), |l| l.to_string()),
                cells: kinds
                    .iter()
                    .map(|&(kind, _)| {
                        r.roles.iter().find(|c| c.kind == kind).map(|c| MapCell {
                            status: c.status,
                            rel_l2: c.rel_l2,
                            low_rank: c.low_rank,
                        })
                    })
                    .collect(),
            })
            .collect();
        let cell_of = |t: &TensorDiff| {
            let row = layer_rows.iter().position(|r| r.layer == t.layer)?;
            let col = kinds.iter().position(|&(k, _)| k == t.role_kind)?;
            Some((row, col))
        };
        let mut changed: Vec<ChangedTensor> = diff
            .tensors
            .iter()
            .filter(|t| !t.status.is_same())
            .map(|t| ChangedTensor {
                name: t.name.clone(),
                name_a: t.name_a.clone(),
                name_b: t.name_b.clone(),
                status: t.status,
                dtype_a: t.dtype_a,
                dtype_b: t.dtype_b,
                shape_a: t.shape_a.clone(),
                shape_b: t.shape_b.clone(),
                cell: cell_of(t),
                numbers: t.numbers.clone(),
                rank: t.rank.clone(),
            })
            .collect();
        changed.sort_by(by_change);
        let max_rel_l2 = rows
            .iter()
            .flat_map(|r| r.cells.iter().flatten())
            .filter_map(|c| c.rel_l2)
            .filter(|v| v.is_finite())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let s = &diff.summary;
        let counts = [
            (s.changed, "changed"),
            (s.reshaped, "reshaped"),
            (s.retyped, "retyped"),
            (s.re_rounded, "re-rounded"),
            (s.added, "added"),
            (s.removed, "removed"),
            (s.renamed, "renamed"),
            (s.identical, "identical"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ");
        DiffView {
            a: report.a.display_name.clone(),
            b: report.b.display_name.clone(),
            verdict_kind: diff.verdict.kind.name(),
            verdict: verdict_sentence(&diff.verdict),
            counts,
            total: diff.tensors.len(),
            columns,
            rows,
            max_rel_l2,
            changed,
            within_tolerance: diff.within_tolerance,
        }
    }

    /// The changed tensors in map cell (row, column), in list order (largest change first).
    pub fn in_cell(&self, cell: (usize, usize)) -> impl Iterator<Item = usize> + '_ {
        self.changed
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.cell == Some(cell))
            .map(|(i, _)| i)
    }
}

/// Added and removed first, then rel_l2 descending (no number after numbers), then name.
fn by_change(x: &ChangedTensor, y: &ChangedTensor) -> Ordering {
    let paired = |t: &ChangedTensor| !matches!(t.status, Status::Added | Status::Removed);
    paired(x)
        .cmp(&paired(y))
        .then_with(|| match (x.rel_l2(), y.rel_l2()) {
            (Some(a), Some(b)) => b.total_cmp(&a),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| crate::model::sort::natural_cmp(&x.name, &y.name))
}

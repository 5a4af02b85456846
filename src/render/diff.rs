//! `glassbox diff`: the comparison report as text (with a layer × role grid), markdown or JSON.
//!
//! Everything shown is in [`Diff`]; the sentences of the verdict are written here from its kind
//! and evidence fields, and colour in the grid comes from each cell's status.

use std::fmt::Write as _;

use super::json::to_string;
use super::table::{Align, Table, shape};
use super::{Painted, Tone};
use crate::diff::lowrank::RankReading;
use crate::diff::{Diff, LayerRow, Status, TensorDiff};
use crate::report::ModelObject;
use crate::report::diff::DiffReport;

/// The JSON document: the report's serde form.
pub fn render_diff_json(report: &DiffReport) -> String {
    to_string(report)
}

/// One character per status in the grid.
fn cell_symbol(status: Status, low_rank: bool) -> char {
    match status {
        Status::Identical => '.',
        Status::Renamed => '=',
        Status::ReRounded => '~',
        Status::Retyped => 'q',
        Status::Changed if low_rank => 'L',
        Status::Changed => '#',
        Status::Reshaped => 'R',
        Status::Added => '+',
        Status::Removed => '-',
    }
}

/// The colour of a cell, from its status (none for unchanged values).
fn cell_tone(status: Status) -> Option<Tone> {
    match status {
        Status::Identical | Status::Renamed => None,
        Status::ReRounded => Some(Tone::Info),
        Status::Retyped | Status::Added | Status::Removed => Some(Tone::Warning),
        Status::Changed | Status::Reshaped => Some(Tone::Error),
    }
}

/// The verdict as a sentence: written once in the report layer, shared with the TUI's header.
pub use crate::report::diff::verdict_sentence;

/// A p-value; below f64's range it reads as a bound rather than 0.
fn p_value(p: f64) -> String {
    if p < 1e-300 {
        "< 1e-300".to_owned()
    } else {
        format!("= {p:.3e}")
    }
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
}

fn sci(x: Option<f64>) -> String {
    x.map_or("-".to_owned(), |v| {
        if v == 0.0 {
            "0".to_owned()
        } else {
            format!("{v:.3e}")
        }
    })
}

fn rank_cell(t: &TensorDiff) -> String {
    t.rank.as_ref().map_or("-".to_owned(), |r| {
        format!(
            "{}/{}",
            rank_text(r.r90_reading()),
            rank_text(r.r99_reading())
        )
    })
}

fn rank_text(r: RankReading) -> String {
    match r {
        RankReading::Measured(v) => v.to_string(),
        RankReading::Above(v) => format!(">{v}"),
        RankReading::NotMeasured => "-".to_owned(),
    }
}

fn dtype_cell(t: &TensorDiff) -> String {
    match (t.dtype_a, t.dtype_b) {
        (Some(a), Some(b)) if a == b => a.to_owned(),
        (Some(a), Some(b)) => format!("{a}→{b}"),
        (a, b) => a.or(b).unwrap_or("-").to_owned(),
    }
}

fn shape_cell(t: &TensorDiff) -> String {
    match (&t.shape_a, &t.shape_b) {
        (Some(a), Some(b)) if a == b => shape(a),
        (Some(a), Some(b)) => format!("{}→{}", shape(a), shape(b)),
        (a, b) => a
            .as_ref()
            .or(b.as_ref())
            .map_or("-".to_owned(), |s| shape(s)),
    }
}

fn tensor_table(diff: &Diff) -> Table {
    let mut table = Table::new(&[
        ("tensor", Align::Left),
        ("status", Align::Left),
        ("dtype", Align::Left),
        ("shape", Align::Left),
        ("rel_l2", Align::Right),
        ("SQNR dB", Align::Right),
        ("cosine", Align::Right),
        ("max |Δ|", Align::Right),
        ("p99 |Δ|", Align::Right),
        ("rank 90/99", Align::Right),
    ]);
    for t in diff.tensors.iter().filter(|t| !t.status.is_same()) {
        let n = t.numbers.as_ref();
        table.push(vec![
            t.name.clone(),
            t.status.name().to_owned(),
            dtype_cell(t),
            shape_cell(t),
            sci(t.headline.rel_l2),
            num(t.headline.sqnr_db, 1),
            num(t.headline.cosine, 6),
            sci(t.headline.max_abs),
            sci(n.and_then(|n| n.p99_abs)),
            rank_cell(t),
        ]);
    }
    table
}

fn summary_line(diff: &Diff) -> String {
    let s = &diff.summary;
    let parts = [
        (s.identical, "identical"),
        (s.renamed, "renamed"),
        (s.re_rounded, "re-rounded"),
        (s.retyped, "retyped"),
        (s.changed, "changed"),
        (s.reshaped, "reshaped"),
        (s.added, "added"),
        (s.removed, "removed"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn layer_label(row: &LayerRow) -> String {
    row.layer.map_or("-".to_owned(), |l| l.to_string())
}

/// Roles present in the map, in its column order.
fn columns(diff: &Diff) -> Vec<&'static str> {
    // Columns in role order (as a block reads: embeddings, attention, MLP, norms, head).
    let mut cols: Vec<_> = diff
        .layers
        .iter()
        .flat_map(|row| row.roles.iter().map(|c| (c.kind, c.role)))
        .collect();
    cols.sort();
    cols.dedup();
    cols.into_iter().map(|(_, role)| role).collect()
}

/// What `--tolerance` decided, when one was given: the exit code follows it.
fn tolerance_line(diff: &crate::diff::Diff) -> Option<String> {
    (diff.tolerance > 0.0).then(|| {
        if diff.within_tolerance {
            format!(
                "rel_l2 ≤ {} for every paired tensor and none added or removed: the weights count as the same (exit 0)",
                diff.tolerance
            )
        } else {
            format!(
                "some tensor differs by more than rel_l2 {}, or was added or removed (exit 1)",
                diff.tolerance
            )
        }
    })
}

fn model_line(out: &mut String, label: &str, m: &ModelObject) {
    let _ = writeln!(
        out,
        "{label}  {} ({}, {} {})",
        m.path,
        m.format,
        m.tensor_count,
        crate::text::plural(m.tensor_count as u64, "tensor", "tensors")
    );
}

/// The text face: header, verdict, transforms, the table of differing tensors, the layer × role
/// grid (cells marked with their status's tone) and the lineage test.
pub fn render_diff_text(report: &DiffReport) -> Painted {
    let diff = &report.diff;
    let mut painted = Painted::default();
    let mut out = String::new();
    model_line(&mut out, "A", &report.a);
    model_line(&mut out, "B", &report.b);
    let _ = writeln!(out, "\nverdict: {}", verdict_sentence(&diff.verdict));
    if let Some(t) = tolerance_line(diff) {
        let _ = writeln!(out, "tolerance: {t}");
    }
    let _ = writeln!(out, "tensors: {}", summary_line(diff));
    if !diff.transforms.is_empty() {
        out.push_str("\ntransforms undone to pair the tensors:\n");
        for t in &diff.transforms {
            let _ = writeln!(
                out,
                "  {} on {}: {} tensors ({})",
                t.code, t.side, t.tensors, t.detail
            );
        }
    }
    if diff.tensors.iter().any(|t| !t.status.is_same()) {
        out.push('\n');
        tensor_table(diff).render_text(&mut out);
    }
    let cols = columns(diff);
    if diff.layers.iter().any(|r| r.changed > 0) {
        out.push_str("\nchange by layer × role (. same  ~ re-rounded  q retyped  # changed  L low-rank  R reshaped  + added  - removed):\n");
        let _ = write!(out, "{:>6} ", "layer");
        for c in &cols {
            // `pos embed` would read as two columns: one word each.
            let _ = write!(out, " {:>w$}", c.replace(' ', "_"), w = c.len().max(1));
        }
        out.push('\n');
        for row in &diff.layers {
            let _ = write!(out, "{:>6} ", layer_label(row));
            for c in &cols {
                let w = c.len().max(1);
                match row.roles.iter().find(|r| r.role == *c) {
                    Some(cell) => {
                        let sym = cell_symbol(cell.status, cell.low_rank);
                        let _ = write!(out, " {:>w$}", "", w = w - 1);
                        match cell_tone(cell.status) {
                            Some(tone) => {
                                painted.push_str(&std::mem::take(&mut out));
                                painted.push_marked(&sym.to_string(), tone);
                            }
                            None => out.push(sym),
                        }
                    }
                    None => {
                        let _ = write!(out, " {:>w$}", "");
                    }
                }
            }
            let _ = writeln!(out, "   mean rel_l2 {}", sci(row.mean_rel_l2));
        }
    }
    if let Some(l) = &diff.lineage {
        let _ = writeln!(
            out,
            "\nlineage ({}): {} of {} sampled MLP units matched consistently in two MLP projections ({} in place), p {}: {}",
            l.test,
            l.agreements,
            l.rows,
            l.identity,
            p_value(l.p_value),
            l.conclusion
        );
    }
    out.push_str(&super::open_notes(&report.a.notes, "notes on A", false));
    out.push_str(&super::open_notes(&report.b.notes, "notes on B", false));
    painted.push_str(&out);
    painted
}

pub fn render_diff_markdown(report: &DiffReport) -> String {
    let diff = &report.diff;
    let mut out = String::new();
    let _ = writeln!(out, "## Diff\n");
    let _ = writeln!(out, "- A: `{}` ({})", report.a.path, report.a.format);
    let _ = writeln!(out, "- B: `{}` ({})", report.b.path, report.b.format);
    let _ = writeln!(
        out,
        "- **Verdict: {}** — {}",
        diff.verdict.kind.name(),
        verdict_sentence(&diff.verdict)
    );
    if let Some(t) = tolerance_line(diff) {
        let _ = writeln!(out, "- Tolerance: {t}");
    }
    let _ = writeln!(out, "- Tensors: {}", summary_line(diff));
    for t in &diff.transforms {
        let _ = writeln!(
            out,
            "- Transform `{}` on {}: {} tensors ({})",
            t.code, t.side, t.tensors, t.detail
        );
    }
    if let Some(l) = &diff.lineage {
        let _ = writeln!(
            out,
            "- Lineage: {} of {} MLP units matched consistently (p {}): {}",
            l.agreements,
            l.rows,
            p_value(l.p_value),
            l.conclusion
        );
    }
    if diff.tensors.iter().any(|t| !t.status.is_same()) {
        out.push_str("\n### Changed tensors\n\n");
        tensor_table(diff).render_markdown(&mut out);
    }
    if diff.layers.iter().any(|r| r.changed > 0) {
        let cols = columns(diff);
        out.push_str("\n### Change by layer and role (rel_l2)\n\n");
        let mut header = vec![("layer", Align::Right)];
        header.extend(cols.iter().map(|c| (*c, Align::Right)));
        let mut table = Table::new(&header);
        for row in &diff.layers {
            let mut cells = vec![layer_label(row)];
            for c in &cols {
                cells.push(match row.roles.iter().find(|r| r.role == *c) {
                    Some(cell) if cell.status.is_same() => "·".to_owned(),
                    Some(cell) => match cell.rel_l2 {
                        Some(r) => format!("{} {:.1e}", cell.status.name(), r),
                        None => cell.status.name().to_owned(),
                    },
                    None => String::new(),
                });
            }
            table.push(cells);
        }
        table.render_markdown(&mut out);
    }
    out.push_str(&super::open_notes(&report.a.notes, "notes on A", true));
    out.push_str(&super::open_notes(&report.b.notes, "notes on B", true));
    out
}

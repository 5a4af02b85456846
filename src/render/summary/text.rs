//! The summary as aligned plain text.

use super::{
    checks_table, dtype_mix, family_line, files_words, group_header, memory_lines, metadata_rows,
    others_table, parameters_table, store_layer_rows,
};
use crate::render::Painted;
use crate::render::table::{Align, Table, human_count, thousands};
use crate::report::summary::SummaryReport;

/// The summary as aligned plain text, contradicted checks marked for colour.
pub fn render_summary_text(report: &SummaryReport) -> Painted {
    let mut out = Painted::default();
    let arch = &report.architecture;
    let p = &report.parameters;
    let mut head = Table::new(&[("", Align::Left), ("", Align::Left)]);
    head.push(vec!["model".into(), report.model.path.clone()]);
    head.push(vec!["family".into(), family_line(arch)]);
    head.push(vec!["evidence".into(), arch.family_evidence.to_string()]);
    if let Some(c) = &arch.class {
        head.push(vec!["class".into(), c.clone()]);
    }
    let mut size = format!("{} ({})", thousands(p.total), human_count(p.total));
    if p.buffers > 0 {
        size.push_str(&format!(
            ", {} in buffers (not trained)",
            thousands(p.buffers)
        ));
    }
    if let Some(a) = p.active {
        size.push_str(&format!(
            ", {} ({}) active per token",
            thousands(a),
            human_count(a)
        ));
    }
    head.push(vec!["parameters".into(), size]);
    head.push(vec![
        "storage".into(),
        format!("{}, {}", dtype_mix(&report.storage), files_words(report)),
    ]);
    for (k, v) in metadata_rows(report.metadata.as_ref())
        .into_iter()
        .chain(store_layer_rows(report))
    {
        head.push(vec![k, v]);
    }
    let mut s = String::new();
    head.render_text(&mut s);
    // The header row of this two-column table is empty: drop it.
    out.push_str(s.split_once('\n').map_or("", |(_, rest)| rest));

    if !report.checks.is_empty() {
        out.push('\n');
        checks_table(report, false).render_text_painted(&mut out);
    }

    out.push('\n');
    parameters_table(report).render_text_painted(&mut out);
    if let Some(b) = &p.active_basis {
        out.push_str(&format!("  active: {b}\n"));
    }

    out.push_str("\nblocks\n");
    if report.blocks.is_empty() {
        out.push_str("  (no repeated blocks found)\n");
    }
    for stack in &report.blocks {
        for g in &stack.groups {
            out.push_str(&format!("  {}\n", group_header(g)));
            out.push_str(&format!("    {}\n", g.outline()));
            for d in &g.differences {
                out.push_str(&format!("    differs: {d}\n"));
            }
        }
    }
    if !report.other_tensors.is_empty() {
        out.push_str("outside blocks\n");
        let t = others_table(report, |name| format!("  {name}"));
        let mut s = String::new();
        t.render_text(&mut s);
        out.push_str(s.split_once('\n').map_or("", |(_, rest)| rest));
    }

    out.push('\n');
    let mut t = Table::new(&[("", Align::Left), ("", Align::Left)]);
    for (k, v) in memory_lines(&report.memory) {
        t.push(vec![k, v]);
    }
    let mut s = String::new();
    t.render_text(&mut s);
    out.push_str("memory\n");
    for line in s.lines().skip(1) {
        out.push_str(&format!("  {line}\n"));
    }

    let mut notes = report.shown_notes().peekable();
    if notes.peek().is_some() {
        out.push_str("\nnotes\n");
        for n in notes {
            out.push_str(&format!("  - {}\n", n.message));
        }
    }
    out
}

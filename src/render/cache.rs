//! `glassbox cache` as text and markdown: the stores looked at, then one row per model
//! (reference, revisions, size, format, family).

use super::table::{Align, Table, human_bytes};
use crate::report::cache::CacheReport;

/// The stores line by line, then the model table (markdown: a table under a heading).
pub fn render_cache(report: &CacheReport, markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        out.push_str("## Cached models\n\n");
    }
    for s in &report.stores {
        let state = if s.exists { "" } else { " (absent)" };
        let path = super::printable(&s.path, false);
        if markdown {
            out.push_str(&format!("- `{}` {path}{state}\n", s.store));
        } else {
            out.push_str(&format!("{:<12} {path}{state}\n", s.store));
        }
    }
    out.push('\n');
    if report.models.is_empty() {
        out.push_str("No models found.\n");
        return out;
    }
    let mut table = Table::new(&[
        ("model", Align::Left),
        ("revisions", Align::Left),
        ("size", Align::Right),
        ("format", Align::Left),
        ("family", Align::Left),
    ]);
    for m in &report.models {
        table.push(vec![
            m.reference.clone(),
            m.revisions.join(", "),
            human_bytes(m.bytes),
            m.formats.join(", "),
            m.family.clone().unwrap_or_else(|| "—".into()),
        ]);
    }
    if markdown {
        table.render_markdown(&mut out);
    } else {
        table.render_text(&mut out);
    }
    out.push_str(&format!(
        "\n{} {}, {} on disk.\n",
        report.models.len(),
        crate::text::plural(report.models.len() as u64, "model", "models"),
        human_bytes(report.total_bytes)
    ));
    out
}

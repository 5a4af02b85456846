//! `glassbox tensors`: the tensor table ([`TensorTable`]) as text or markdown.

use super::table::{Align, Table, human_bytes, human_count, shape, thousands};
use crate::report::tensors::TensorTable;

/// Renders the table as text or markdown.
///
/// A GGUF model gets two more columns: bits per weight and the Hugging Face name of each tensor
/// (`-` where the mapping does not know it).
pub fn render_tensors_table(report: &TensorTable, markdown: bool) -> String {
    let gguf = report.gguf_columns;
    let mut columns = vec![
        ("name", Align::Left),
        ("dtype", Align::Left),
        ("shape", Align::Left),
        ("parameters", Align::Right),
        ("size", Align::Right),
    ];
    if gguf {
        columns.push(("bpw", Align::Right));
    }
    columns.push(("file", Align::Left));
    if gguf {
        columns.push(("hf name", Align::Left));
    }
    let mut table = Table::new(&columns);
    let code = |s: &str| {
        if markdown {
            format!("`{s}`")
        } else {
            s.to_owned()
        }
    };
    for t in &report.tensors {
        let mut row = vec![
            code(&t.name),
            t.dtype.to_string(),
            shape(&t.shape),
            thousands(t.parameters),
            if t.known_dtype() {
                human_bytes(t.bytes)
            } else {
                "not decoded".to_owned()
            },
        ];
        if gguf {
            row.push(t.bits_per_weight.map_or("-".into(), |b| format!("{b:.2}")));
        }
        row.push(t.file.clone());
        if gguf {
            let hf_name = t.gguf.as_ref().and_then(|g| g.hf_name.as_deref());
            row.push(hf_name.map_or("-".into(), code));
        }
        table.push(row);
    }
    let mut out = String::new();
    if markdown {
        table.render_markdown(&mut out);
    } else {
        table.render_text(&mut out);
    }
    out.push('\n');
    footer(report, markdown, &mut out);
    out
}

fn footer(report: &TensorTable, markdown: bool, out: &mut String) {
    let totals = &report.totals;
    let params = totals.parameters;
    let of = if totals.tensors == totals.model_tensors {
        String::new()
    } else {
        format!(" (of {})", thousands(totals.model_tensors as u64))
    };
    let files = totals.files;
    let bullet = if markdown { "- " } else { "" };
    let approx = human_count(params);
    let approx = if approx == params.to_string() {
        String::new()
    } else {
        format!(" ({approx})")
    };
    out.push_str(&format!(
        "{bullet}{} tensors{of}, {} parameters{approx}, {} in {files} file{}\n",
        thousands(totals.tensors as u64),
        thousands(params),
        human_bytes(totals.bytes),
        if files == 1 { "" } else { "s" },
    ));
    if let Some(bpw) = totals.bits_per_weight {
        out.push_str(&format!("{bullet}{bpw:.2} bits per weight\n"));
    }
    for d in &totals.by_dtype {
        let share = if params == 0 {
            0.0
        } else {
            100.0 * d.parameters as f64 / params as f64
        };
        out.push_str(&format!(
            "{bullet}{}: {} parameters ({share:.1}%)\n",
            d.dtype,
            thousands(d.parameters)
        ));
    }
    out.push_str(&super::open_notes(&report.model.notes, "notes", markdown));
}

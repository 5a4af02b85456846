//! `glassbox tensors`: the tensor table.

use super::json::{self, ModelJson, SCHEMA_VERSION, TensorJson, TensorsDocument};
use super::table::{Align, Table, human_bytes, human_count, shape, thousands};
use crate::model::{Model, TensorInfo};

/// Renders the table of `tensors` (already filtered and sorted) as text or markdown.
pub fn render_tensors_table(model: &Model, tensors: &[&TensorInfo], markdown: bool) -> String {
    let mut table = Table::new(&[
        ("name", Align::Left),
        ("dtype", Align::Left),
        ("shape", Align::Left),
        ("parameters", Align::Right),
        ("size", Align::Right),
        ("file", Align::Left),
    ]);
    for t in tensors {
        table.push(vec![
            if markdown {
                format!("`{}`", t.name)
            } else {
                t.name.clone()
            },
            t.dtype.to_string(),
            shape(&t.shape),
            thousands(t.parameters()),
            human_bytes(t.bytes),
            model.files[t.file].name.clone(),
        ]);
    }
    let mut out = String::new();
    if markdown {
        table.render_markdown(&mut out);
        out.push('\n');
    } else {
        table.render_text(&mut out);
        out.push('\n');
    }
    footer(model, tensors, markdown, &mut out);
    out
}

fn footer(model: &Model, tensors: &[&TensorInfo], markdown: bool, out: &mut String) {
    let params: u64 = tensors.iter().map(|t| t.parameters()).sum();
    let bytes: u64 = tensors.iter().map(|t| t.bytes).sum();
    let of = if tensors.len() == model.tensors.len() {
        String::new()
    } else {
        format!(" (of {})", thousands(model.tensors.len() as u64))
    };
    let files = model.files.len();
    let bullet = if markdown { "- " } else { "" };
    let approx = human_count(params);
    let approx = if approx == params.to_string() {
        String::new()
    } else {
        format!(" ({approx})")
    };
    out.push_str(&format!(
        "{bullet}{} tensors{of}, {} parameters{approx}, {} in {files} file{}\n",
        thousands(tensors.len() as u64),
        thousands(params),
        human_bytes(bytes),
        if files == 1 { "" } else { "s" },
    ));
    let mut by_dtype = std::collections::BTreeMap::new();
    for t in tensors {
        *by_dtype.entry(t.dtype).or_insert(0u64) += t.parameters();
    }
    let mut by_dtype: Vec<_> = by_dtype.into_iter().collect();
    by_dtype.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (dtype, n) in by_dtype {
        let share = if params == 0 {
            0.0
        } else {
            100.0 * n as f64 / params as f64
        };
        out.push_str(&format!(
            "{bullet}{dtype}: {} parameters ({share:.1}%)\n",
            thousands(n)
        ));
    }
    if !model.notes.is_empty() {
        out.push_str(if markdown {
            "\n**Notes**\n\n"
        } else {
            "\nnotes:\n"
        });
        for note in &model.notes {
            out.push_str(&format!("- {}: {}\n", note.code, note.message));
        }
    }
}

/// The JSON document for `glassbox tensors`.
pub fn render_tensors_json(model: &Model, tensors: &[&TensorInfo]) -> String {
    json::to_string(&TensorsDocument {
        schema_version: SCHEMA_VERSION,
        model: ModelJson::new(model),
        tensors: tensors.iter().map(|t| TensorJson::new(model, t)).collect(),
    })
}

//! `glassbox tensors`: the tensor table.

use super::json::{self, ModelJson, SCHEMA_VERSION, TensorJson, TensorsDocument};
use super::table::{Align, Table, human_bytes, human_count, shape, thousands};
use crate::arch::gguf_names::gguf_to_hf_name;
use crate::model::{DType, Model, TensorInfo};

/// Renders the table of `tensors` (already filtered and sorted) as text or markdown.
///
/// A GGUF model gets two more columns: bits per weight and the Hugging Face name of each tensor
/// (`-` where the mapping does not know it).
pub fn render_tensors_table(model: &Model, tensors: &[&TensorInfo], markdown: bool) -> String {
    let arch = model.gguf.as_ref().map(|g| g.architecture().unwrap_or(""));
    let mut columns = vec![
        ("name", Align::Left),
        ("dtype", Align::Left),
        ("shape", Align::Left),
        ("parameters", Align::Right),
        ("size", Align::Right),
    ];
    if arch.is_some() {
        columns.push(("bpw", Align::Right));
    }
    columns.push(("file", Align::Left));
    if arch.is_some() {
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
    for t in tensors {
        let mut row = vec![
            code(&t.name),
            t.dtype.to_string(),
            shape(&t.shape),
            thousands(t.parameters()),
            if matches!(t.dtype, DType::Unknown(_)) {
                "not decoded".to_owned()
            } else {
                human_bytes(t.bytes)
            },
        ];
        if let Some(arch) = arch {
            row.push(
                t.bits_per_weight()
                    .map_or("-".into(), |b| format!("{b:.2}")),
            );
            row.push(model.files[t.file].name.clone());
            row.push(gguf_to_hf_name(arch, &t.name).map_or("-".into(), |n| code(&n)));
        } else {
            row.push(model.files[t.file].name.clone());
        }
        table.push(row);
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
    if model.gguf.is_some() {
        let known: Vec<_> = tensors
            .iter()
            .filter(|t| !matches!(t.dtype, DType::Unknown(_)))
            .collect();
        let bytes: u64 = known.iter().map(|t| t.bytes).sum();
        let n: u64 = known.iter().map(|t| t.parameters()).sum();
        if n > 0 {
            out.push_str(&format!(
                "{bullet}{:.2} bits per weight\n",
                bytes as f64 * 8.0 / n as f64
            ));
        }
    }
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

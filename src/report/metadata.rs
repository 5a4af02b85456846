//! Every metadata entry of a model as key and text, for faces that list them all: a GGUF file's
//! key/value pairs (arrays with their type, length and first items, read from the mapped header
//! when they were not kept) and each safetensors file's `__metadata__`.

use crate::format::gguf::Value as MetaValue;
use crate::model::Model;
use crate::text::thousands;

/// One metadata entry (GGUF key/value, safetensors `__metadata__`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetaEntry {
    pub key: String,
    /// One line for the tree.
    pub short: String,
    /// Everything: a chat template in full, an array's type, length and first items.
    pub full: String,
}

/// Metadata keys with a one-line and a full rendering. Long GGUF arrays (the vocabulary) are read
/// from the header bytes once here, for their first items.
pub fn entries(model: &Model) -> Vec<MetaEntry> {
    const PREVIEW: usize = 40;
    let mut out = Vec::new();
    if let Some(g) = model.gguf.as_deref() {
        let bytes = model.files.first().map(|f| f.bytes()).unwrap_or(&[]);
        for (key, value) in g.metadata.entries() {
            let short = crate::text::printable(&value.to_string(), false).into_owned();
            let full = match value {
                MetaValue::String(s) => s.clone(),
                MetaValue::Array(a) => {
                    let items = match &a.items {
                        Some(items) => items.clone(),
                        None => a.read_items(bytes, key).unwrap_or_default(),
                    };
                    let shown: Vec<String> =
                        items.iter().take(PREVIEW).map(|v| v.to_string()).collect();
                    format!(
                        "{} items of {}:\n{}{}",
                        thousands(a.len),
                        a.item_type.name(),
                        shown.join("\n"),
                        if a.len as usize > PREVIEW {
                            "\n…"
                        } else {
                            ""
                        }
                    )
                }
                other => other.to_string(),
            };
            out.push(MetaEntry {
                key: key.clone(),
                short,
                full,
            });
        }
    }
    for f in &model.files {
        for (k, v) in &f.metadata {
            out.push(MetaEntry {
                key: if model.files.len() > 1 {
                    format!("{}: {k}", f.name)
                } else {
                    k.clone()
                },
                short: crate::text::printable(v, false).into_owned(),
                full: v.clone(),
            });
        }
    }
    out
}

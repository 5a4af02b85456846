//! What the metadata means: the `general.*` keys (architecture, name, licence, base models,
//! datasets), the tokenizer keys (without the vocabulary) and the `split.*` keys of a split model.
//!
//! The reader keeps every key as it is; these accessors give the keys the rest of glassbox reads a
//! name and a type, in one place.

use super::{Gguf, Value};

/// A base model or a dataset named in `general.base_model.*` / `general.dataset.*` (or
/// `general.datasets`). Serialises with absent fields left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
}

/// What the `tokenizer.*` keys say, without the vocabulary itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenizerInfo {
    /// `tokenizer.ggml.model` (`llama`, `gpt2`, `bert`, ...).
    pub model: Option<String>,
    /// `tokenizer.ggml.pre`.
    pub pre: Option<String>,
    /// Length of `tokenizer.ggml.tokens`.
    pub tokens: Option<u64>,
    /// Length of `tokenizer.ggml.merges`.
    pub merges: Option<u64>,
    pub bos_token_id: Option<u64>,
    pub eos_token_id: Option<u64>,
    pub eot_token_id: Option<u64>,
    pub eom_token_id: Option<u64>,
    pub unknown_token_id: Option<u64>,
    pub padding_token_id: Option<u64>,
    pub add_bos_token: Option<bool>,
    pub add_eos_token: Option<bool>,
    /// `tokenizer.chat_template`.
    pub chat_template: Option<String>,
    /// Names of the extra `tokenizer.chat_template.{name}` templates.
    pub named_chat_templates: Vec<String>,
    /// Whether a whole `tokenizer.huggingface.json` is embedded.
    pub has_hf_json: bool,
}

/// `split.*`: this file is part `no` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitInfo {
    pub no: u64,
    pub count: u64,
    /// `split.tensors.count`: tensors across all parts.
    pub tensors: Option<u64>,
}

const SOURCE_FIELDS: [&str; 9] = [
    "name",
    "author",
    "version",
    "organization",
    "description",
    "url",
    "doi",
    "uuid",
    "repo_url",
];

impl Gguf {
    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.metadata.get_str("general.architecture")
    }

    /// `general.name`.
    pub fn name(&self) -> Option<&str> {
        self.metadata.get_str("general.name")
    }

    /// `general.license`, as written (often not SPDX).
    pub fn license(&self) -> Option<&str> {
        self.metadata.get_str("general.license")
    }

    /// A key of the architecture's namespace: `arch_value("block_count")` reads
    /// `{general.architecture}.block_count`.
    pub fn arch_value(&self, suffix: &str) -> Option<&Value> {
        let arch = self.architecture()?;
        self.metadata.get(&format!("{arch}.{suffix}"))
    }

    /// An integer key of the architecture's namespace (any integer type).
    pub fn arch_u64(&self, suffix: &str) -> Option<u64> {
        self.arch_value(suffix)?.as_u64()
    }

    /// A numeric key of the architecture's namespace.
    pub fn arch_f64(&self, suffix: &str) -> Option<f64> {
        self.arch_value(suffix)?.as_f64()
    }

    /// `general.base_model.{i}.*` for `i` below `general.base_model.count` (or while any field is
    /// present, when the count is missing).
    pub fn base_models(&self) -> Vec<Source> {
        self.sources("general.base_model")
    }

    /// Datasets from both conventions: `general.datasets` (a string array, as the GGUF spec has it)
    /// then `general.dataset.{i}.*` (as gguf-py's writer has it).
    pub fn datasets(&self) -> Vec<Source> {
        let mut out: Vec<Source> = match self.metadata.get_array("general.datasets") {
            Some(a) => a
                .items
                .iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|s| Source {
                    name: Some(s.to_owned()),
                    ..Source::default()
                })
                .collect(),
            None => self
                .metadata
                .get_str("general.datasets")
                .map(|s| {
                    vec![Source {
                        name: Some(s.to_owned()),
                        ..Source::default()
                    }]
                })
                .unwrap_or_default(),
        };
        out.extend(self.sources("general.dataset"));
        out
    }

    fn sources(&self, prefix: &str) -> Vec<Source> {
        let declared = self.metadata.get_u64(&format!("{prefix}.count"));
        let mut out = Vec::new();
        // Without a count, stop at the first index with no field at all; never loop more than
        // the number of keys.
        let limit = declared.unwrap_or(u64::MAX).min(self.metadata.len() as u64);
        for i in 0..limit {
            let field = |f: &str| {
                self.metadata
                    .get(&format!("{prefix}.{i}.{f}"))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            };
            let [
                name,
                author,
                version,
                organization,
                description,
                url,
                doi,
                uuid,
                repo_url,
            ] = SOURCE_FIELDS.map(field);
            let source = Source {
                name,
                author,
                version,
                organization,
                description,
                url,
                doi,
                uuid,
                repo_url,
            };
            if declared.is_none() && source == Source::default() {
                break;
            }
            out.push(source);
        }
        out
    }

    /// The tokenizer keys, with array lengths instead of arrays.
    pub fn tokenizer(&self) -> TokenizerInfo {
        let m = &self.metadata;
        let s = |k: &str| m.get_str(k).map(str::to_owned);
        TokenizerInfo {
            model: s("tokenizer.ggml.model"),
            pre: s("tokenizer.ggml.pre"),
            tokens: m.array_len("tokenizer.ggml.tokens"),
            merges: m.array_len("tokenizer.ggml.merges"),
            bos_token_id: m.get_u64("tokenizer.ggml.bos_token_id"),
            eos_token_id: m.get_u64("tokenizer.ggml.eos_token_id"),
            eot_token_id: m.get_u64("tokenizer.ggml.eot_token_id"),
            eom_token_id: m.get_u64("tokenizer.ggml.eom_token_id"),
            unknown_token_id: m.get_u64("tokenizer.ggml.unknown_token_id"),
            padding_token_id: m.get_u64("tokenizer.ggml.padding_token_id"),
            add_bos_token: m.get_bool("tokenizer.ggml.add_bos_token"),
            add_eos_token: m.get_bool("tokenizer.ggml.add_eos_token"),
            chat_template: s("tokenizer.chat_template"),
            named_chat_templates: m
                .entries()
                .iter()
                .filter_map(|(k, _)| k.strip_prefix("tokenizer.chat_template."))
                .map(str::to_owned)
                .collect(),
            has_hf_json: m.get("tokenizer.huggingface.json").is_some(),
        }
    }

    /// `split.no` / `split.count`, when the file is one part of a split model.
    pub fn split(&self) -> Option<SplitInfo> {
        Some(SplitInfo {
            no: self.metadata.get_u64("split.no")?,
            count: self.metadata.get_u64("split.count")?,
            tensors: self.metadata.get_u64("split.tensors.count"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bytes::B;
    use super::super::*;

    #[test]
    fn metadata_helpers() {
        let mut b = B::header(3, 0, 12);
        b.kv_str("general.architecture", "llama")
            .kv_u32("general.base_model.count", 1)
            .kv_str("general.base_model.0.name", "Base")
            .kv_str("general.base_model.0.repo_url", "https://example.org/base")
            .kv_u32("general.dataset.count", 1)
            .kv_str("general.dataset.0.name", "Set")
            .str("general.datasets")
            .u32(9)
            .u32(8)
            .u64(1)
            .str("spec-set")
            .kv_str("tokenizer.chat_template", "{{ x }}")
            .kv_str("tokenizer.chat_template.tool_use", "{{ y }}")
            .kv_u32("split.no", 1)
            .kv_u32("split.count", 3)
            .str("tokenizer.ggml.eos_token_id")
            .u32(5)
            .u32(2);
        let g = b.parse().unwrap();
        let base = g.base_models();
        assert_eq!(base.len(), 1);
        assert_eq!(base[0].name.as_deref(), Some("Base"));
        assert_eq!(
            base[0].repo_url.as_deref(),
            Some("https://example.org/base")
        );
        let names: Vec<_> = g.datasets().into_iter().map(|d| d.name.unwrap()).collect();
        assert_eq!(names, ["spec-set", "Set"]);
        let tok = g.tokenizer();
        assert_eq!(tok.chat_template.as_deref(), Some("{{ x }}"));
        assert_eq!(tok.named_chat_templates, ["tool_use"]);
        assert_eq!(tok.eos_token_id, Some(2));
        assert_eq!(
            g.split(),
            Some(SplitInfo {
                no: 1,
                count: 3,
                tensors: None
            })
        );
    }
}

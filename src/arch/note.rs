//! What the architecture inference remarks on, as data: each [`Note`] variant carries the fields a
//! remark is about (which key, which tensor, declared and observed values), and the sentence is
//! rendered from them by [`Note::message`]. [`Note::into_finding`] makes it the shared
//! [`Finding`] that [`super::Architecture::notes`] holds (code, severity, subject, evidence).
//!
//! Key names are whatever the declared side calls them: `config.json` keys for a Hugging Face
//! model, GGUF metadata keys for a GGUF model (the config reader names each key as its source
//! does), so no sentence is ever rewritten afterwards.

use super::basis::Basis;
use super::{DeclaredBy, Value, value_text};
use crate::finding::{Finding, Severity, Subject};

/// One remark of the architecture inference.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// `config.json` parsed but is not an object.
    ConfigNotObject,
    /// A config value of the wrong type, ignored.
    ConfigValueIgnored {
        key: String,
        /// The value as written (cut to 40 characters).
        found: String,
        /// What was expected (`a count`, `a list of strings`, …).
        expected: &'static str,
    },
    /// A declared value the weights contradict (one per contradicted check).
    Contradiction {
        field: &'static str,
        declared: Option<Value>,
        declared_key: Option<String>,
        observed: Option<Value>,
        /// How the observed value was obtained.
        basis: Option<Basis>,
        declared_by: DeclaredBy,
    },
    /// A stack whose block indices have holes.
    MissingBlockIndices {
        stack: String,
        blocks: u64,
        first: u64,
        last: u64,
    },
    /// The config declares multi-token-prediction layers the weights do not hold.
    MtpDeclaredNotFound { key: String, declared: u64 },
    /// Multi-token-prediction blocks found in the main stack (not counted as layers).
    MtpBlocks {
        stack: String,
        /// Their indices, as ranges (`61`, `60-61`).
        ranges: String,
        count: u64,
        /// The config key declaring them and its value.
        declared: Option<(String, u64)>,
    },
    /// MLA projection shapes solved for heads and head dims.
    MlaSolved {
        q_rows: u64,
        kv_b_rows: u64,
        o_columns: u64,
        kv_a_rows: u64,
        kv_lora: u64,
        heads: u64,
        nope: u64,
        rope: u64,
        v: u64,
    },
    /// MLA tensors whose shapes do not solve.
    MlaUnsolved,
    /// A MoE router whose rows differ from the number of experts.
    RouterRows {
        router: String,
        rows: u64,
        experts: u64,
    },
    /// LM head and token embedding of different vocabulary sizes.
    HeadEmbeddingRows {
        head: String,
        head_rows: u64,
        embedding: String,
        embedding_rows: u64,
    },
    /// Embedding rows beyond the tokenizer's tokens (padding, which is normal).
    TokenizerPadding { tokens: u64, rows: u64 },
    /// A quantised checkpoint's declared dtype is its compute dtype, not compared.
    QuantizedComputeDtype {
        quantization_key: String,
        method: String,
        dtype_key: String,
        dtype: String,
    },
}

impl Note {
    /// The stable code of the finding.
    pub fn code(&self) -> &'static str {
        match self {
            Note::ConfigNotObject => "config_not_object",
            Note::ConfigValueIgnored { .. } => "config_value_ignored",
            Note::Contradiction { .. } => "contradicted",
            Note::MissingBlockIndices { .. } => "missing_block_indices",
            Note::MtpDeclaredNotFound { .. } => "mtp_declared_not_found",
            Note::MtpBlocks { .. } => "mtp_blocks",
            Note::MlaSolved { .. } => "mla_solved",
            Note::MlaUnsolved => "mla_unsolved",
            Note::RouterRows { .. } => "router_rows",
            Note::HeadEmbeddingRows { .. } => "head_embedding_rows",
            Note::TokenizerPadding { .. } => "tokenizer_padding",
            Note::QuantizedComputeDtype { .. } => "quantized_compute_dtype",
        }
    }

    /// Warnings for what disagrees or was ignored; information for what explains a number.
    pub fn severity(&self) -> Severity {
        match self {
            Note::MtpBlocks { .. }
            | Note::MlaSolved { .. }
            | Note::TokenizerPadding { .. }
            | Note::QuantizedComputeDtype { .. } => Severity::Info,
            _ => Severity::Warning,
        }
    }

    /// The sentence for people.
    pub fn message(&self) -> String {
        match self {
            Note::ConfigNotObject => "config.json is not a JSON object; ignored".to_owned(),
            Note::ConfigValueIgnored {
                key,
                found,
                expected,
            } => format!("config `{key}` is {found}, not {expected}; ignored"),
            Note::Contradiction {
                field,
                declared,
                declared_key,
                observed,
                basis,
                declared_by,
            } => {
                let show =
                    |v: &Option<Value>| v.as_ref().map(value_text).unwrap_or_else(|| "?".into());
                let says = match declared_by {
                    DeclaredBy::Config => "config says",
                    DeclaredBy::GgufMetadata => "the GGUF metadata says",
                };
                format!(
                    "{field}: {says} {} (`{}`), the weights show {} ({})",
                    show(declared),
                    declared_key.as_deref().unwrap_or(""),
                    show(observed),
                    basis.as_ref().map(Basis::to_string).unwrap_or_default()
                )
            }
            Note::MissingBlockIndices {
                stack,
                blocks,
                first,
                last,
            } => format!(
                "{stack} has {blocks} blocks numbered {first}..{last}: some indices are missing"
            ),
            Note::MtpDeclaredNotFound { key, declared } => format!(
                "config `{key}` declares {declared} multi-token-prediction layer(s); the weights hold none"
            ),
            Note::MtpBlocks {
                stack,
                ranges,
                count,
                declared,
            } => format!(
                "{stack} holds {count} multi-token-prediction block(s) ({ranges}), not counted as layers{}",
                declared
                    .as_ref()
                    .map(|(key, n)| format!("; config `{key}` = {n}"))
                    .unwrap_or_default()
            ),
            Note::MlaSolved {
                q_rows,
                kv_b_rows,
                o_columns,
                kv_a_rows,
                kv_lora,
                heads,
                nope,
                rope,
                v,
            } => format!(
                "MLA shapes solved for heads and head dims: q_b rows {q_rows} = H(nope + rope), kv_b rows {kv_b_rows} = H(nope + v), o_proj columns {o_columns} = H·v, rope = kv_a rows {kv_a_rows} − kv_lora {kv_lora}: H = {heads}, nope = {nope}, rope = {rope}, v = {v}"
            ),
            Note::MlaUnsolved => {
                "MLA attention tensors found, but their shapes do not solve for heads and head dims"
                    .to_owned()
            }
            Note::RouterRows {
                router,
                rows,
                experts,
            } => format!("router {router} has {rows} rows but the block has {experts} experts"),
            Note::HeadEmbeddingRows {
                head,
                head_rows,
                embedding,
                embedding_rows,
            } => format!("{head} has {head_rows} rows but {embedding} has {embedding_rows}"),
            Note::TokenizerPadding { tokens, rows } => format!(
                "the tokenizer defines {tokens} tokens; the embedding has {rows} rows ({} rows of padding, which is normal)",
                rows - tokens
            ),
            Note::QuantizedComputeDtype {
                quantization_key,
                method,
                dtype_key,
                dtype,
            } => format!(
                "config declares `{quantization_key}` ({method}): `{dtype_key}` = {dtype} is the compute dtype, not compared with the stored dtypes"
            ),
        }
    }

    /// What the note is about: a key, a tensor, or the model.
    fn subject(&self) -> Subject {
        match self {
            Note::ConfigValueIgnored { key, .. } | Note::MtpDeclaredNotFound { key, .. } => {
                Subject::Key(key.clone())
            }
            Note::QuantizedComputeDtype { dtype_key, .. } => Subject::Key(dtype_key.clone()),
            Note::Contradiction {
                declared_key: Some(key),
                ..
            } => Subject::Key(key.clone()),
            Note::RouterRows { router, .. } => Subject::Tensor(router.clone()),
            Note::HeadEmbeddingRows { head, .. } => Subject::Tensor(head.clone()),
            _ => Subject::Model,
        }
    }

    /// The shared finding: code, severity, subject, the message and the fields as evidence.
    pub fn into_finding(self) -> Finding {
        let finding = Finding::new(self.severity(), self.code(), self.subject(), self.message());
        let json = |v: &Option<Value>| serde_json::to_value(v).unwrap_or_default();
        match self {
            Note::ConfigNotObject | Note::MlaUnsolved => finding,
            Note::ConfigValueIgnored {
                found, expected, ..
            } => finding.with("found", found).with("expected", expected),
            Note::Contradiction {
                field,
                declared,
                observed,
                basis,
                ..
            } => finding
                .with("field", field)
                .with("declared", json(&declared))
                .with("observed", json(&observed))
                .with("basis", basis.map(|b| b.to_string())),
            Note::MissingBlockIndices {
                stack,
                blocks,
                first,
                last,
            } => finding
                .with("stack", stack)
                .with("blocks", blocks)
                .with("first", first)
                .with("last", last),
            Note::MtpDeclaredNotFound { declared, .. } => finding.with("declared", declared),
            Note::MtpBlocks {
                stack,
                ranges,
                count,
                declared,
            } => finding
                .with("stack", stack)
                .with("blocks", ranges)
                .with("count", count)
                .with("declared", declared.map(|(_, n)| n)),
            Note::MlaSolved {
                heads,
                nope,
                rope,
                v,
                kv_lora,
                ..
            } => finding
                .with("heads", heads)
                .with("qk_nope_head_dim", nope)
                .with("qk_rope_head_dim", rope)
                .with("v_head_dim", v)
                .with("kv_lora_rank", kv_lora),
            Note::RouterRows { rows, experts, .. } => {
                finding.with("rows", rows).with("experts", experts)
            }
            Note::HeadEmbeddingRows {
                head_rows,
                embedding,
                embedding_rows,
                ..
            } => finding
                .with("rows", head_rows)
                .with("embedding", embedding)
                .with("embedding_rows", embedding_rows),
            Note::TokenizerPadding { tokens, rows } => {
                finding.with("tokens", tokens).with("rows", rows)
            }
            Note::QuantizedComputeDtype {
                quantization_key,
                method,
                dtype,
                ..
            } => finding
                .with("quantization_key", quantization_key)
                .with("method", method)
                .with("dtype", dtype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contradiction_names_its_source_and_its_key_as_given() {
        let note = |declared_by| Note::Contradiction {
            field: "intermediate_size",
            declared: Some(Value::Count(48)),
            declared_key: Some("llama.feed_forward_length".into()),
            observed: Some(Value::Count(1024)),
            basis: Some(Basis::Dimension {
                tensor: "blk.*.ffn_up.weight".into(),
                dimension: crate::arch::basis::Dimension::Rows,
            }),
            declared_by,
        };
        assert_eq!(
            note(DeclaredBy::GgufMetadata).message(),
            "intermediate_size: the GGUF metadata says 48 (`llama.feed_forward_length`), the weights show 1,024 (blk.*.ffn_up.weight rows)"
        );
        assert!(
            note(DeclaredBy::Config)
                .message()
                .starts_with("intermediate_size: config says 48")
        );
        let f = note(DeclaredBy::Config).into_finding();
        assert_eq!((f.code, f.severity), ("contradicted", Severity::Warning));
        assert_eq!(f.subject, Subject::Key("llama.feed_forward_length".into()));
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["evidence"]["declared"], 48);
        assert_eq!(json["evidence"]["observed"], 1024);
        assert_eq!(json["key"], "llama.feed_forward_length");
    }

    #[test]
    fn notes_without_fields_and_with_a_tensor_subject() {
        let f = Note::MlaUnsolved.into_finding();
        assert!(f.evidence.is_empty());
        assert_eq!(f.subject, Subject::Model);
        let r = Note::RouterRows {
            router: "m.gate.weight".into(),
            rows: 4,
            experts: 8,
        }
        .into_finding();
        assert_eq!(r.tensor(), Some("m.gate.weight"));
        assert_eq!(
            r.message,
            "router m.gate.weight has 4 rows but the block has 8 experts"
        );
        let p = Note::TokenizerPadding {
            tokens: 10,
            rows: 16,
        };
        assert_eq!(p.severity(), Severity::Info);
        assert!(p.message().contains("(6 rows of padding"));
    }
}

//! GGUF tensor names and their Hugging Face names, and the rows llama.cpp's converter permuted:
//! what a model's architecture says about how its GGUF file was written, kept as data.
//!
//! llama.cpp's converter renames every tensor (`model.layers.3.self_attn.q_proj.weight` becomes
//! `blk.3.attn_q.weight`) and, for the llama family, permutes the rows of the attention Q and K
//! weights. The tables below undo the renaming per architecture (`general.architecture`);
//! [`qk_permutation`] says which tensors were permuted and [`unpermute_rows`] restores the Hugging
//! Face row order. Adding an architecture is adding a `Family` row to `FAMILIES`, not a code path.

/// GGUF tensor names of the llama family and their Hugging Face names, as data: `{N}` is the layer
/// number. From llama.cpp's `gguf-py/gguf/tensor_mapping.py` (the `LLAMA`-style entries).
const LLAMA_NAMES: &[(&str, &str)] = &[
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
    (
        "blk.{N}.attn_norm.weight",
        "model.layers.{N}.input_layernorm.weight",
    ),
    (
        "blk.{N}.attn_q.weight",
        "model.layers.{N}.self_attn.q_proj.weight",
    ),
    (
        "blk.{N}.attn_k.weight",
        "model.layers.{N}.self_attn.k_proj.weight",
    ),
    (
        "blk.{N}.attn_v.weight",
        "model.layers.{N}.self_attn.v_proj.weight",
    ),
    (
        "blk.{N}.attn_output.weight",
        "model.layers.{N}.self_attn.o_proj.weight",
    ),
    (
        "blk.{N}.attn_q.bias",
        "model.layers.{N}.self_attn.q_proj.bias",
    ),
    (
        "blk.{N}.attn_k.bias",
        "model.layers.{N}.self_attn.k_proj.bias",
    ),
    (
        "blk.{N}.attn_v.bias",
        "model.layers.{N}.self_attn.v_proj.bias",
    ),
    (
        "blk.{N}.attn_output.bias",
        "model.layers.{N}.self_attn.o_proj.bias",
    ),
    (
        "blk.{N}.ffn_norm.weight",
        "model.layers.{N}.post_attention_layernorm.weight",
    ),
    (
        "blk.{N}.ffn_gate.weight",
        "model.layers.{N}.mlp.gate_proj.weight",
    ),
    (
        "blk.{N}.ffn_up.weight",
        "model.layers.{N}.mlp.up_proj.weight",
    ),
    (
        "blk.{N}.ffn_down.weight",
        "model.layers.{N}.mlp.down_proj.weight",
    ),
    // Mixtral-style MoE converted as `llama`: the router. The experts are merged into one
    // `ffn_*_exps` tensor per layer, which has no single Hugging Face counterpart.
    (
        "blk.{N}.ffn_gate_inp.weight",
        "model.layers.{N}.block_sparse_moe.gate.weight",
    ),
];

/// Qwen3 adds per-head norms of Q and K to the llama names.
const QWEN3_EXTRA_NAMES: &[(&str, &str)] = &[
    (
        "blk.{N}.attn_q_norm.weight",
        "model.layers.{N}.self_attn.q_norm.weight",
    ),
    (
        "blk.{N}.attn_k_norm.weight",
        "model.layers.{N}.self_attn.k_norm.weight",
    ),
];

/// Gemma 2 and 3 norm around both sublayers: their `ffn_norm` is the pre-MLP norm (for llama it
/// is `post_attention_layernorm`), so this table comes before [`LLAMA_NAMES`] for them.
/// From llama.cpp's `tensor_mapping.py` (`ATTN_POST_NORM`, `FFN_NORM`, `FFN_POST_NORM`).
const GEMMA2_NAMES: &[(&str, &str)] = &[
    (
        "blk.{N}.post_attention_norm.weight",
        "model.layers.{N}.post_attention_layernorm.weight",
    ),
    (
        "blk.{N}.ffn_norm.weight",
        "model.layers.{N}.pre_feedforward_layernorm.weight",
    ),
    (
        "blk.{N}.post_ffw_norm.weight",
        "model.layers.{N}.post_feedforward_layernorm.weight",
    ),
];

/// BERT (`bert`: llama.cpp's `BertModel`, which drops a leading `bert.` and the pooler). From
/// llama.cpp's `tensor_mapping.py` (`TOKEN_EMBD`, `POS_EMBD`, `TOKEN_TYPES`, `TOKEN_EMBD_NORM`,
/// `ATTN_OUT_NORM`, `LAYER_OUT_NORM` …); checked on all-MiniLM-L6-v2 converted by the converter.
const BERT_NAMES: &[(&str, &str)] = &[
    ("token_embd.weight", "embeddings.word_embeddings.weight"),
    (
        "position_embd.weight",
        "embeddings.position_embeddings.weight",
    ),
    (
        "token_types.weight",
        "embeddings.token_type_embeddings.weight",
    ),
    ("token_embd_norm.weight", "embeddings.LayerNorm.weight"),
    ("token_embd_norm.bias", "embeddings.LayerNorm.bias"),
    (
        "blk.{N}.attn_q.weight",
        "encoder.layer.{N}.attention.self.query.weight",
    ),
    (
        "blk.{N}.attn_q.bias",
        "encoder.layer.{N}.attention.self.query.bias",
    ),
    (
        "blk.{N}.attn_k.weight",
        "encoder.layer.{N}.attention.self.key.weight",
    ),
    (
        "blk.{N}.attn_k.bias",
        "encoder.layer.{N}.attention.self.key.bias",
    ),
    (
        "blk.{N}.attn_v.weight",
        "encoder.layer.{N}.attention.self.value.weight",
    ),
    (
        "blk.{N}.attn_v.bias",
        "encoder.layer.{N}.attention.self.value.bias",
    ),
    (
        "blk.{N}.attn_output.weight",
        "encoder.layer.{N}.attention.output.dense.weight",
    ),
    (
        "blk.{N}.attn_output.bias",
        "encoder.layer.{N}.attention.output.dense.bias",
    ),
    (
        "blk.{N}.attn_output_norm.weight",
        "encoder.layer.{N}.attention.output.LayerNorm.weight",
    ),
    (
        "blk.{N}.attn_output_norm.bias",
        "encoder.layer.{N}.attention.output.LayerNorm.bias",
    ),
    (
        "blk.{N}.ffn_up.weight",
        "encoder.layer.{N}.intermediate.dense.weight",
    ),
    (
        "blk.{N}.ffn_up.bias",
        "encoder.layer.{N}.intermediate.dense.bias",
    ),
    (
        "blk.{N}.ffn_down.weight",
        "encoder.layer.{N}.output.dense.weight",
    ),
    (
        "blk.{N}.ffn_down.bias",
        "encoder.layer.{N}.output.dense.bias",
    ),
    (
        "blk.{N}.layer_output_norm.weight",
        "encoder.layer.{N}.output.LayerNorm.weight",
    ),
    (
        "blk.{N}.layer_output_norm.bias",
        "encoder.layer.{N}.output.LayerNorm.bias",
    ),
];

/// One architecture's naming rules.
struct Family {
    /// `general.architecture`.
    arch: &'static str,
    /// GGUF name patterns and their Hugging Face names.
    names: &'static [&'static [(&'static str, &'static str)]],
    /// Whether the converter permuted the Q and K rows (llama.cpp's `LlamaModel.modify_tensors`;
    /// Qwen's converters do not).
    permuted_qk: bool,
    /// Whether the converter stored every `*norm.weight` plus one (llama.cpp's `GemmaModel` and
    /// successors: Gemma's RMSNorm multiplies by `1 + weight`, llama.cpp's by `weight`).
    norm_plus_one: bool,
}

const FAMILIES: &[Family] = &[
    Family {
        arch: "llama",
        names: &[LLAMA_NAMES],
        permuted_qk: true,
        norm_plus_one: false,
    },
    Family {
        arch: "mistral",
        names: &[LLAMA_NAMES],
        permuted_qk: true,
        norm_plus_one: false,
    },
    Family {
        arch: "qwen2",
        names: &[LLAMA_NAMES],
        permuted_qk: false,
        norm_plus_one: false,
    },
    Family {
        arch: "qwen3",
        names: &[LLAMA_NAMES, QWEN3_EXTRA_NAMES],
        permuted_qk: false,
        norm_plus_one: false,
    },
    // Gemma's converter (llama.cpp's `GemmaModel` and successors) keeps the Q/K row order and
    // stores `norm.weight` plus one (`norm_plus_one`); `diff::pairing` undoes the offset.
    Family {
        arch: "gemma",
        names: &[LLAMA_NAMES],
        permuted_qk: false,
        norm_plus_one: true,
    },
    Family {
        arch: "gemma2",
        names: &[GEMMA2_NAMES, LLAMA_NAMES],
        permuted_qk: false,
        norm_plus_one: true,
    },
    // BERT's converter keeps the Q/K row order (no rotary embedding) and the LayerNorm weights.
    Family {
        arch: "bert",
        names: &[BERT_NAMES],
        permuted_qk: false,
        norm_plus_one: false,
    },
    Family {
        arch: "gemma3",
        names: &[GEMMA2_NAMES, LLAMA_NAMES, QWEN3_EXTRA_NAMES],
        permuted_qk: false,
        norm_plus_one: true,
    },
];

fn family(arch: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.arch == arch)
}

/// The Hugging Face name of GGUF tensor `name` in a model of architecture `arch`
/// (`general.architecture`), where the mapping is known: llama (and Mistral, converted as llama),
/// qwen2, qwen3, gemma, gemma2, gemma3, bert. `rope_freqs.weight` (computed, not stored by Hugging Face) and merged expert
/// tensors map to `None`.
pub fn gguf_to_hf_name(arch: &str, name: &str) -> Option<String> {
    family(arch)?
        .names
        .iter()
        .flat_map(|t| t.iter())
        .find_map(|(gguf, hf)| match_pattern(gguf, name).map(|n| fill_pattern(hf, n)))
}

/// Whether GGUF tensor `hf_name` (its Hugging Face name) of an `arch` model was stored plus one
/// by the converter: every `*norm.weight` of the Gemma family.
pub fn stored_plus_one(arch: &str, hf_name: &str) -> bool {
    family(arch).is_some_and(|f| f.norm_plus_one) && hf_name.ends_with("norm.weight")
}

/// Which heads count to pass to [`unpermute_rows`] to restore the Hugging Face row order of GGUF
/// tensor `name`, when llama.cpp's converter permuted it: the Q weight (and bias) by
/// `attention.head_count`, the K weight (and bias) by `attention.head_count_kv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkPermutation {
    /// Unpermute with `{arch}.attention.head_count`.
    Query,
    /// Unpermute with `{arch}.attention.head_count_kv` (or `head_count` when absent).
    Key,
}

/// Whether GGUF tensor `name` of an `arch` model has its rows permuted relative to Hugging Face.
pub fn qk_permutation(arch: &str, name: &str) -> Option<QkPermutation> {
    if !family(arch)?.permuted_qk {
        return None;
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, tail) = rest.split_once('.')?;
    if layer.is_empty() || !layer.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match tail {
        "attn_q.weight" | "attn_q.bias" => Some(QkPermutation::Query),
        "attn_k.weight" | "attn_k.bias" => Some(QkPermutation::Key),
        _ => None,
    }
}

/// The layer number when `name` matches `pattern` (`{N}` standing for decimal digits), or `Some("")`
/// for an exact match of a pattern without `{N}`.
fn match_pattern<'n>(pattern: &str, name: &'n str) -> Option<&'n str> {
    match pattern.split_once("{N}") {
        None => (pattern == name).then_some(""),
        Some((before, after)) => {
            let n = name.strip_prefix(before)?.strip_suffix(after)?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
        }
    }
}

fn fill_pattern(pattern: &str, n: &str) -> String {
    pattern.replace("{N}", n)
}

/// The row of the GGUF tensor that holds Hugging Face row `hf_row`, for a Q or K weight of `rows`
/// rows permuted by llama.cpp's converter with `n_head` heads.
///
/// The converter's `permute(w, n_head)` is
/// `w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)`: within each
/// head, Hugging Face rows `[half 0 | half 1]` (the two halves of the rotary dimensions) become
/// interleaved pairs. So Hugging Face row `h·d + s·(d/2) + i` (head `h`, half `s`, index `i`,
/// `d = rows / n_head`) is GGUF row `h·d + 2·i + s`.
pub fn permuted_row(hf_row: usize, rows: usize, n_head: usize) -> usize {
    let d = rows / n_head;
    let half = d / 2;
    let (h, r) = (hf_row / d, hf_row % d);
    let (s, i) = (r / half, r % half);
    h * d + 2 * i + s
}

/// Why rows cannot be unpermuted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpermuteError {
    #[error("{len} values do not form {rows} rows")]
    NotRows { len: usize, rows: usize },
    #[error("{rows} rows do not split into {n_head} heads of an even number of rows")]
    BadHeads { rows: usize, n_head: usize },
}

/// Restores the Hugging Face row order of a Q or K weight (or bias) that llama.cpp's converter
/// permuted with `n_head` heads (see [`permuted_row`]). `data` holds `rows` rows of equal length,
/// row-major: values, or the raw bytes of a quantised tensor (each GGUF row is whole blocks, so
/// rows can be moved as bytes).
pub fn unpermute_rows<T: Copy>(
    data: &[T],
    rows: usize,
    n_head: usize,
) -> Result<Vec<T>, UnpermuteError> {
    if rows == 0 || !data.len().is_multiple_of(rows) {
        return Err(UnpermuteError::NotRows {
            len: data.len(),
            rows,
        });
    }
    if n_head == 0 || !rows.is_multiple_of(n_head) || !(rows / n_head).is_multiple_of(2) {
        return Err(UnpermuteError::BadHeads { rows, n_head });
    }
    let cols = data.len() / rows;
    let mut out = Vec::with_capacity(data.len());
    for hf_row in 0..rows {
        let g = permuted_row(hf_row, rows, n_head);
        out.extend_from_slice(&data[g * cols..(g + 1) * cols]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gguf-py's `get_tensor_name_map(MODEL_ARCH.BERT, 6)` applied to all-MiniLM-L6-v2's names
    /// (run by hand); the pooler and `position_ids` have no GGUF tensor.
    #[test]
    fn bert_names_map_to_hugging_face() {
        let cases = [
            ("token_embd_norm.bias", "embeddings.LayerNorm.bias"),
            ("token_embd_norm.weight", "embeddings.LayerNorm.weight"),
            (
                "position_embd.weight",
                "embeddings.position_embeddings.weight",
            ),
            (
                "token_types.weight",
                "embeddings.token_type_embeddings.weight",
            ),
            ("token_embd.weight", "embeddings.word_embeddings.weight"),
            (
                "blk.0.attn_output_norm.bias",
                "encoder.layer.0.attention.output.LayerNorm.bias",
            ),
            (
                "blk.0.attn_output_norm.weight",
                "encoder.layer.0.attention.output.LayerNorm.weight",
            ),
            (
                "blk.0.attn_output.bias",
                "encoder.layer.0.attention.output.dense.bias",
            ),
            (
                "blk.0.attn_output.weight",
                "encoder.layer.0.attention.output.dense.weight",
            ),
            (
                "blk.0.attn_k.bias",
                "encoder.layer.0.attention.self.key.bias",
            ),
            (
                "blk.0.attn_k.weight",
                "encoder.layer.0.attention.self.key.weight",
            ),
            (
                "blk.0.attn_q.bias",
                "encoder.layer.0.attention.self.query.bias",
            ),
            (
                "blk.0.attn_q.weight",
                "encoder.layer.0.attention.self.query.weight",
            ),
            (
                "blk.0.attn_v.bias",
                "encoder.layer.0.attention.self.value.bias",
            ),
            (
                "blk.0.attn_v.weight",
                "encoder.layer.0.attention.self.value.weight",
            ),
            (
                "blk.0.ffn_up.bias",
                "encoder.layer.0.intermediate.dense.bias",
            ),
            (
                "blk.0.ffn_up.weight",
                "encoder.layer.0.intermediate.dense.weight",
            ),
            (
                "blk.5.layer_output_norm.bias",
                "encoder.layer.5.output.LayerNorm.bias",
            ),
            (
                "blk.5.layer_output_norm.weight",
                "encoder.layer.5.output.LayerNorm.weight",
            ),
            ("blk.5.ffn_down.bias", "encoder.layer.5.output.dense.bias"),
            (
                "blk.5.ffn_down.weight",
                "encoder.layer.5.output.dense.weight",
            ),
        ];
        for (g, hf) in cases {
            assert_eq!(gguf_to_hf_name("bert", g).as_deref(), Some(hf), "{g}");
        }
        // No rotary embedding: nothing permuted, nothing offset.
        assert_eq!(qk_permutation("bert", "blk.0.attn_q.weight"), None);
        assert!(!stored_plus_one("bert", "embeddings.LayerNorm.weight"));
    }

    #[test]
    fn llama_names_map_to_hugging_face() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            (
                "blk.0.attn_q.weight",
                "model.layers.0.self_attn.q_proj.weight",
            ),
            (
                "blk.17.attn_k.weight",
                "model.layers.17.self_attn.k_proj.weight",
            ),
            (
                "blk.3.attn_v.weight",
                "model.layers.3.self_attn.v_proj.weight",
            ),
            (
                "blk.3.attn_output.weight",
                "model.layers.3.self_attn.o_proj.weight",
            ),
            (
                "blk.3.attn_norm.weight",
                "model.layers.3.input_layernorm.weight",
            ),
            (
                "blk.3.ffn_norm.weight",
                "model.layers.3.post_attention_layernorm.weight",
            ),
            (
                "blk.3.ffn_gate.weight",
                "model.layers.3.mlp.gate_proj.weight",
            ),
            ("blk.3.ffn_up.weight", "model.layers.3.mlp.up_proj.weight"),
            (
                "blk.3.ffn_down.weight",
                "model.layers.3.mlp.down_proj.weight",
            ),
        ];
        for (g, hf) in cases {
            assert_eq!(gguf_to_hf_name("llama", g).as_deref(), Some(hf), "{g}");
        }
        for unknown in [
            "rope_freqs.weight",
            "blk.x.attn_q.weight",
            "blk..attn_q.weight",
            "blk.0.ffn_gate_exps.weight",
        ] {
            assert_eq!(gguf_to_hf_name("llama", unknown), None, "{unknown}");
        }
        assert_eq!(gguf_to_hf_name("gpt2", "token_embd.weight"), None);
        assert_eq!(
            gguf_to_hf_name("qwen3", "blk.2.attn_k_norm.weight").as_deref(),
            Some("model.layers.2.self_attn.k_norm.weight")
        );
        assert_eq!(gguf_to_hf_name("llama", "blk.2.attn_k_norm.weight"), None);
        assert_eq!(
            gguf_to_hf_name("qwen2", "blk.0.attn_q.bias").as_deref(),
            Some("model.layers.0.self_attn.q_proj.bias")
        );
    }

    #[test]
    fn gemma_names_map_to_hugging_face() {
        // Gemma 1 names its one post-attention norm like llama.
        assert_eq!(
            gguf_to_hf_name("gemma", "blk.1.ffn_norm.weight").as_deref(),
            Some("model.layers.1.post_attention_layernorm.weight")
        );
        // Gemma 2 and 3: four norms per layer, `ffn_norm` is the pre-MLP one.
        for arch in ["gemma2", "gemma3"] {
            let cases = [
                (
                    "blk.2.post_attention_norm.weight",
                    "model.layers.2.post_attention_layernorm.weight",
                ),
                (
                    "blk.2.ffn_norm.weight",
                    "model.layers.2.pre_feedforward_layernorm.weight",
                ),
                (
                    "blk.2.post_ffw_norm.weight",
                    "model.layers.2.post_feedforward_layernorm.weight",
                ),
                (
                    "blk.2.attn_norm.weight",
                    "model.layers.2.input_layernorm.weight",
                ),
                ("output_norm.weight", "model.norm.weight"),
            ];
            for (gguf, hf) in cases {
                assert_eq!(gguf_to_hf_name(arch, gguf).as_deref(), Some(hf), "{arch}");
            }
        }
        assert_eq!(
            gguf_to_hf_name("gemma3", "blk.0.attn_q_norm.weight").as_deref(),
            Some("model.layers.0.self_attn.q_norm.weight")
        );
        assert_eq!(gguf_to_hf_name("gemma2", "blk.0.attn_q_norm.weight"), None);
        assert_eq!(qk_permutation("gemma2", "blk.0.attn_q.weight"), None);
    }

    #[test]
    fn only_the_gemma_family_stores_norms_plus_one() {
        for arch in ["gemma", "gemma2", "gemma3"] {
            assert!(stored_plus_one(arch, "model.norm.weight"));
            assert!(stored_plus_one(
                arch,
                "model.layers.0.input_layernorm.weight"
            ));
            assert!(!stored_plus_one(arch, "model.layers.0.mlp.up_proj.weight"));
        }
        for arch in ["llama", "mistral", "qwen2", "qwen3", "gemma4-unknown"] {
            assert!(!stored_plus_one(arch, "model.norm.weight"), "{arch}");
        }
    }

    #[test]
    fn qk_permutation_applies_to_llama_q_and_k_only() {
        assert_eq!(
            qk_permutation("llama", "blk.0.attn_q.weight"),
            Some(QkPermutation::Query)
        );
        assert_eq!(
            qk_permutation("llama", "blk.12.attn_k.weight"),
            Some(QkPermutation::Key)
        );
        assert_eq!(qk_permutation("llama", "blk.0.attn_v.weight"), None);
        assert_eq!(qk_permutation("qwen2", "blk.0.attn_q.weight"), None);
        assert_eq!(qk_permutation("llama", "token_embd.weight"), None);
    }

    #[test]
    fn unpermute_rows_matches_numpy() {
        let hf: Vec<u32> = (0..24).collect();
        let gguf_rows = [0usize, 2, 1, 3, 4, 6, 5, 7];
        let gguf: Vec<u32> = gguf_rows
            .iter()
            .flat_map(|&r| hf[r * 3..r * 3 + 3].to_vec())
            .collect();
        assert_eq!(unpermute_rows(&gguf, 8, 2).unwrap(), hf);
        for (hf_row, &g) in [0usize, 2, 1, 3, 4, 6, 5, 7].iter().enumerate() {
            // permuted_row is the inverse view: HF row -> GGUF row.
            assert_eq!(gguf_rows[permuted_row(hf_row, 8, 2)], hf_row, "{g}");
        }
        assert_eq!(
            unpermute_rows(&gguf, 5, 2),
            Err(UnpermuteError::NotRows { len: 24, rows: 5 })
        );
        assert_eq!(
            unpermute_rows(&gguf, 8, 3),
            Err(UnpermuteError::BadHeads { rows: 8, n_head: 3 })
        );
        assert_eq!(
            unpermute_rows(&gguf, 8, 8),
            Err(UnpermuteError::BadHeads { rows: 8, n_head: 8 })
        );
    }
}

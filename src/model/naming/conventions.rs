//! Naming conventions, as data: tensor name → role for each family style (Llama, GPT-2,
//! GPT-NeoX, BERT, T5, CLIP) and for llama.cpp's GGUF scheme, and the block containers whose
//! numeric child is a layer index. Adding a convention is adding rows here, not code paths.
//!
//! Patterns are regex-free: dot-separated segments matched against the end of a tensor name, either
//! ending at its last segment (`cls.predictions.bias`) or at the one before, the module path with
//! any parameter leaf (`self_attn.q_proj` matches `….self_attn.q_proj.weight` and `.bias`).
//! A `*` segment matches any one segment; a segment starting with `~` matches any segment that
//! contains the rest (`~norm` matches `ln_norm`, `LayerNorm` does not: matching is case-sensitive,
//! so the table lists both spellings).

use super::Role;

/// Segments after which a numeric segment is the index of a repeated block (`model.layers.7`,
/// `h.7`, `encoder.block.7`, `blk.7`). The first such pair in a name wins, so an expert index
/// inside a block (`….experts.3.…`) is never taken for a block index.
pub const BLOCK_CONTAINERS: &[&str] = &[
    "layers",
    "layer",
    "h",
    "block",
    "blocks",
    "blk",
    "resblocks",
];

/// Name segments that mark a vision tower inside a multimodal model.
pub const VISION_SEGMENTS: &[&str] = &[
    "vision_tower",
    "vision_model",
    "visual",
    "vision_encoder",
    "image_encoder",
    "vision",
];

/// One naming rule: a pattern and the role of the tensors it matches.
#[derive(Debug, Clone, Copy)]
pub struct RoleRule {
    pub pattern: &'static str,
    pub role: Role,
}

const fn r(pattern: &'static str, role: Role) -> RoleRule {
    RoleRule { pattern, role }
}

/// A naming convention shared by several families. Rules are tried in order; the first match wins,
/// so specific patterns come before general ones.
#[derive(Debug)]
pub struct Convention {
    pub name: &'static str,
    pub rules: &'static [RoleRule],
    /// 2-D weights are stored `[in, out]` (GPT-2's Conv1D), the transpose of `nn.Linear`.
    pub transposed: bool,
    /// The convention tried for names these rules do not match (a variant lists only the rules
    /// it changes).
    pub base: Option<&'static Convention>,
}

use Role::*;

/// Llama and its descendants: Mistral, Qwen2/3, Gemma 1-3, Phi-3, Mixtral, Qwen-MoE, DeepSeek.
pub static LLAMA_STYLE: Convention = Convention {
    name: "llama-style",
    transposed: false,
    base: None,
    rules: &[
        r("embed_tokens", TokenEmbedding),
        r("lm_head", LmHead),
        r("self_attn.q_proj", AttnQ),
        r("self_attn.k_proj", AttnK),
        r("self_attn.v_proj", AttnV),
        r("self_attn.o_proj", AttnO),
        r("self_attn.qkv_proj", AttnQkv),
        r("self_attn.q_norm", AttnQNorm),
        r("self_attn.k_norm", AttnKNorm),
        r("self_attn.q_a_proj", AttnQA),
        r("self_attn.q_a_layernorm", AttnQANorm),
        r("self_attn.q_b_proj", AttnQB),
        r("self_attn.kv_a_proj_with_mqa", AttnKvA),
        r("self_attn.kv_a_layernorm", AttnKvANorm),
        r("self_attn.kv_b_proj", AttnKvB),
        r("self_attn.rotary_emb.inv_freq", Buffer),
        // Mixtral.
        r("block_sparse_moe.gate", Router),
        r("block_sparse_moe.experts.*.w1", ExpertGate),
        r("block_sparse_moe.experts.*.w3", ExpertUp),
        r("block_sparse_moe.experts.*.w2", ExpertDown),
        // Qwen-MoE, DeepSeek, and the fused 3-D layout of current transformers.
        r("mlp.gate.e_score_correction_bias", RouterBias),
        r("mlp.gate", Router),
        r("mlp.router", Router),
        r("experts.*.gate_proj", ExpertGate),
        r("experts.*.up_proj", ExpertUp),
        r("experts.*.down_proj", ExpertDown),
        r("experts.gate_up_proj", ExpertGateUp),
        r("experts.down_proj", ExpertDown),
        r("mlp.shared_expert_gate", SharedExpertRouter),
        r("shared_expert.gate_proj", SharedExpertGate),
        r("shared_expert.up_proj", SharedExpertUp),
        r("shared_expert.down_proj", SharedExpertDown),
        r("shared_experts.gate_proj", SharedExpertGate),
        r("shared_experts.up_proj", SharedExpertUp),
        r("shared_experts.down_proj", SharedExpertDown),
        // Dense MLP.
        r("mlp.gate_proj", MlpGate),
        r("mlp.up_proj", MlpUp),
        r("mlp.down_proj", MlpDown),
        r("mlp.gate_up_proj", MlpGateUp),
        // DeepSeek multi-token prediction module.
        r("eh_proj", Mtp),
        r("enorm", Mtp),
        r("hnorm", Mtp),
        r("shared_head.head", Mtp),
        r("shared_head.norm", Mtp),
        r("~layernorm", Norm),
        r("~norm", Norm),
        r("multi_modal_projector", Projector),
        r("mm_projector", Projector),
        // A bare `embedding` module (Mamba's `backbone.embedding`, WordLlama): the token table.
        r("embedding", TokenEmbedding),
    ],
};

/// GPT-2: no prefix (or `transformer.`), Conv1D weights stored `[in, out]`.
pub static GPT2_STYLE: Convention = Convention {
    name: "gpt2-style",
    transposed: true,
    base: None,
    rules: &[
        r("wte", TokenEmbedding),
        r("wpe", PositionEmbedding),
        r("attn.c_attn", AttnQkv),
        r("attn.c_proj", AttnO),
        r("attn.bias", Buffer),
        r("attn.masked_bias", Buffer),
        r("mlp.c_fc", MlpUp),
        r("mlp.c_proj", MlpDown),
        r("ln_1", Norm),
        r("ln_2", Norm),
        r("ln_f", Norm),
        r("lm_head", LmHead),
    ],
};

/// GPT-NeoX (Pythia) and Falcon: fused `query_key_value`, `dense_h_to_4h` / `dense_4h_to_h`.
pub static NEOX_STYLE: Convention = Convention {
    name: "gpt-neox-style",
    transposed: false,
    base: None,
    rules: &[
        r("embed_in", TokenEmbedding),
        r("embed_out", LmHead),
        r("word_embeddings", TokenEmbedding),
        r("lm_head", LmHead),
        r("query_key_value", AttnQkv),
        r("attention.dense", AttnO),
        r("self_attention.dense", AttnO),
        r("attention.rotary_emb.inv_freq", Buffer),
        r("attention.bias", Buffer),
        r("attention.masked_bias", Buffer),
        r("mlp.dense_h_to_4h", MlpUp),
        r("mlp.dense_4h_to_h", MlpDown),
        r("~layernorm", Norm),
        r("~layer_norm", Norm),
        r("ln_attn", Norm),
        r("ln_mlp", Norm),
        r("ln_f", Norm),
    ],
};

/// BERT, RoBERTa, MPNet, ViT: `attention.self.query`, `intermediate.dense`, `output.dense`.
pub static BERT_STYLE: Convention = Convention {
    name: "bert-style",
    transposed: false,
    base: None,
    rules: &[
        r("embeddings.word_embeddings", TokenEmbedding),
        r("embeddings.position_embeddings", PositionEmbedding),
        r("embeddings.token_type_embeddings", TokenTypeEmbedding),
        r("embeddings.position_ids", Buffer),
        r("embeddings.token_type_ids", Buffer),
        r("embeddings.cls_token", ClassEmbedding),
        r("embeddings.patch_embeddings.projection", PatchEmbedding),
        r("attention.self.query", AttnQ),
        r("attention.self.key", AttnK),
        r("attention.self.value", AttnV),
        r("attention.attention.query", AttnQ),
        r("attention.attention.key", AttnK),
        r("attention.attention.value", AttnV),
        r("attention.output.dense", AttnO),
        // MPNet: `attention.attn.{q,k,v,o}` and one relative position bias for the stack.
        r("attention.attn.q", AttnQ),
        r("attention.attn.k", AttnK),
        r("attention.attn.v", AttnV),
        r("attention.attn.o", AttnO),
        r("encoder.relative_attention_bias", RelativePositionBias),
        r("intermediate.dense", MlpUp),
        r("output.dense", MlpDown),
        r("pooler.dense", Pooler),
        r("cls.predictions.transform.dense", HeadTransform),
        r("cls.predictions.decoder", LmHead),
        r("cls.predictions.bias", HeadBias),
        r("cls.seq_relationship", NextSentence),
        r("lm_head.dense", HeadTransform),
        r("lm_head.decoder", LmHead),
        r("lm_head.bias", HeadBias),
        r("lm_head.layer_norm", Norm),
        r("classifier", Classifier),
        r("~LayerNorm", Norm),
        r("~layernorm", Norm),
    ],
};

/// T5 (and mT5, Flan-T5): `block.N.layer.M.SelfAttention.q`, `DenseReluDense.wi`.
pub static T5_STYLE: Convention = Convention {
    name: "t5-style",
    transposed: false,
    base: None,
    rules: &[
        r("shared", TokenEmbedding),
        r("embed_tokens", TokenEmbedding),
        r("lm_head", LmHead),
        r(
            "SelfAttention.relative_attention_bias",
            RelativePositionBias,
        ),
        r("SelfAttention.q", AttnQ),
        r("SelfAttention.k", AttnK),
        r("SelfAttention.v", AttnV),
        r("SelfAttention.o", AttnO),
        r("EncDecAttention.q", CrossAttnQ),
        r("EncDecAttention.k", CrossAttnK),
        r("EncDecAttention.v", CrossAttnV),
        r("EncDecAttention.o", CrossAttnO),
        r("DenseReluDense.wi_0", MlpGate),
        r("DenseReluDense.wi_1", MlpUp),
        r("DenseReluDense.wi", MlpUp),
        r("DenseReluDense.wo", MlpDown),
        r("~layer_norm", Norm),
    ],
};

/// CLIP and SigLIP towers: `self_attn.{q,k,v,out}_proj`, `mlp.fc1`/`fc2`, `layer_norm1`/`2`.
pub static CLIP_STYLE: Convention = Convention {
    name: "clip-style",
    transposed: false,
    base: None,
    rules: &[
        r("embeddings.class_embedding", ClassEmbedding),
        r("embeddings.patch_embedding", PatchEmbedding),
        r("embeddings.position_embedding", PositionEmbedding),
        r("embeddings.token_embedding", TokenEmbedding),
        r("embeddings.position_ids", Buffer),
        r("self_attn.q_proj", AttnQ),
        r("self_attn.k_proj", AttnK),
        r("self_attn.v_proj", AttnV),
        r("self_attn.out_proj", AttnO),
        r("mlp.fc1", MlpUp),
        r("mlp.fc2", MlpDown),
        r("visual_projection", Projector),
        r("text_projection", Projector),
        r("logit_scale", Other),
        r("pre_layrnorm", Norm),
        r("~layer_norm", Norm),
        r("~layernorm", Norm),
    ],
};

/// GGUF (llama.cpp): one naming scheme for every architecture (`token_embd`, `blk.N.attn_q`,
/// `blk.N.ffn_gate_exps`, `output`), as gguf-py's `tensor_mapping.py` writes it. Experts are
/// stored merged, one 3-D tensor per projection. Used alone for GGUF models (never as a fallback
/// for safetensors names, where `output` means something else).
pub static GGUF_STYLE: Convention = Convention {
    name: "gguf",
    transposed: false,
    base: None,
    rules: &[
        r("token_embd", TokenEmbedding),
        r("token_embd_norm", Norm),
        r("position_embd", PositionEmbedding),
        r("token_types", TokenTypeEmbedding),
        r("output", LmHead),
        r("output_norm", Norm),
        r("rope_freqs", Buffer),
        r("attn_q", AttnQ),
        r("attn_k", AttnK),
        r("attn_v", AttnV),
        r("attn_qkv", AttnQkv),
        r("attn_output", AttnO),
        r("attn_q_norm", AttnQNorm),
        r("attn_k_norm", AttnKNorm),
        r("attn_q_a", AttnQA),
        r("attn_q_a_norm", AttnQANorm),
        r("attn_q_b", AttnQB),
        r("attn_kv_a_mqa", AttnKvA),
        r("attn_kv_a_norm", AttnKvANorm),
        r("attn_kv_b", AttnKvB),
        r("attn_rot_embd", Buffer),
        r("ffn_gate_inp", Router),
        r("ffn_gate_inp_shexp", SharedExpertRouter),
        r("exp_probs_b", RouterBias),
        r("ffn_gate_exps", ExpertGate),
        r("ffn_up_exps", ExpertUp),
        r("ffn_down_exps", ExpertDown),
        r("ffn_gate_up_exps", ExpertGateUp),
        r("ffn_gate_shexp", SharedExpertGate),
        r("ffn_up_shexp", SharedExpertUp),
        r("ffn_down_shexp", SharedExpertDown),
        r("ffn_gate", MlpGate),
        r("ffn_up", MlpUp),
        r("ffn_down", MlpDown),
        r("~norm", Norm),
    ],
};

/// GGUF Phi-3: llama.cpp's converter keeps Phi-3's fused projections, so `attn_qkv` holds q, k and
/// v and `ffn_up` holds the gate and up projections stacked (`[2 × feed_forward_length, d]`).
pub static GGUF_PHI3_STYLE: Convention = Convention {
    name: "gguf",
    transposed: false,
    base: Some(&GGUF_STYLE),
    rules: &[r("ffn_up", MlpGateUp)],
};

/// GGUF architectures whose tensors mean something other than [`GGUF_STYLE`] says.
pub static GGUF_CONVENTIONS: &[(&str, &Convention)] = &[("phi3", &GGUF_PHI3_STYLE)];

/// The naming convention of a GGUF model with this `general.architecture`.
pub fn gguf_convention(arch: Option<&str>) -> &'static Convention {
    GGUF_CONVENTIONS
        .iter()
        .find(|(a, _)| Some(*a) == arch)
        .map_or(&GGUF_STYLE, |&(_, c)| c)
}

/// Every convention, in the order tried for names the family's own convention does not cover.
pub static CONVENTIONS: &[&Convention] = &[
    &LLAMA_STYLE,
    &GPT2_STYLE,
    &NEOX_STYLE,
    &BERT_STYLE,
    &T5_STYLE,
    &CLIP_STYLE,
];

/// Whether `pattern` matches the end of `name` (see the module docs).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let count = name.split('.').count();
    // Ending at the last segment, then at the one before (any leaf).
    (0..2).any(|skip| {
        if count < skip {
            return false;
        }
        let mut segments = name.rsplit('.').skip(skip);
        pattern.rsplit('.').all(|p| match segments.next() {
            Some(s) => segment_matches(p, s),
            None => false,
        })
    })
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(part) = pattern.strip_prefix('~') {
        segment.contains(part)
    } else {
        pattern == segment
    }
}

/// The role a convention gives a name, if one of its rules matches.
pub fn role_in(convention: &Convention, name: &str) -> Option<Role> {
    convention
        .rules
        .iter()
        .find(|rule| pattern_matches(rule.pattern, name))
        .map(|rule| rule.role)
        .or_else(|| convention.base.and_then(|b| role_in(b, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_embedding_module_is_the_token_table() {
        assert_eq!(
            role_in(&LLAMA_STYLE, "embedding.weight"),
            Some(Role::TokenEmbedding)
        );
        assert_eq!(
            role_in(&LLAMA_STYLE, "backbone.embedding.weight"),
            Some(Role::TokenEmbedding)
        );
        // Only a segment named `embedding` itself.
        assert_ne!(
            role_in(&LLAMA_STYLE, "vision.patch_embedding.weight"),
            Some(Role::TokenEmbedding)
        );
    }

    #[test]
    fn patterns_match_the_end_of_a_name_with_or_without_the_leaf() {
        assert!(pattern_matches(
            "self_attn.q_proj",
            "model.layers.0.self_attn.q_proj.weight"
        ));
        assert!(pattern_matches(
            "self_attn.q_proj",
            "model.layers.0.self_attn.q_proj.bias"
        ));
        assert!(!pattern_matches(
            "self_attn.q_proj",
            "model.layers.0.self_attn.q_proj_x.weight"
        ));
        assert!(pattern_matches(
            "cls.predictions.bias",
            "cls.predictions.bias"
        ));
        assert!(pattern_matches(
            "experts.*.w1",
            "model.layers.0.block_sparse_moe.experts.7.w1.weight"
        ));
        assert!(pattern_matches(
            "~norm",
            "model.layers.0.input_layernorm.weight"
        ));
        assert!(!pattern_matches(
            "norm",
            "model.layers.0.self_attn.q_norm.weight"
        ));
        assert!(pattern_matches("norm", "model.norm.weight"));
        assert!(!pattern_matches("a.b.c", "b.c"));
        assert!(pattern_matches("x", "x"));
        assert!(!pattern_matches("x", ""));
    }

    #[test]
    fn gguf_variants_change_only_their_own_rules() {
        let phi3 = gguf_convention(Some("phi3"));
        assert_eq!(role_in(phi3, "blk.0.ffn_up.weight"), Some(MlpGateUp));
        assert_eq!(role_in(phi3, "blk.0.attn_qkv.weight"), Some(AttnQkv));
        assert_eq!(role_in(phi3, "blk.0.ffn_down.weight"), Some(MlpDown));
        let llama = gguf_convention(Some("llama"));
        assert_eq!(role_in(llama, "blk.0.ffn_up.weight"), Some(MlpUp));
        assert_eq!(
            role_in(llama, "blk.3.ffn_gate_exps.weight"),
            Some(ExpertGate)
        );
        assert_eq!(role_in(llama, "blk.3.ffn_gate_inp.weight"), Some(Router));
        assert!(std::ptr::eq(gguf_convention(None), &GGUF_STYLE));
    }
}

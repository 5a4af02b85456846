//! What glassbox knows about model families, as data: block containers, naming conventions (tensor
//! name → role), family tables (config `model_type` / `architectures` → family) and name signatures
//! (tensor-name fragments → family). Adding a family is adding rows here, not code paths.
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

/// BERT, RoBERTa, ViT: `attention.self.query`, `intermediate.dense`, `output.dense`.
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

/// GGUF architectures that llama.cpp also uses for a mixture-of-experts family: with
/// `{arch}.expert_count` > 0 the model is that family (Mixtral converts to `llama`).
pub const GGUF_MOE_ARCHITECTURES: &[(&str, &str)] = &[("llama", "mixtral")];

/// GGUF `general.architecture` values whose Hugging Face `model_type` differs (the rest are the
/// same word: `llama`, `qwen2`, `qwen3`, `gemma`, `gemma2`, `gemma3`, `phi3`, `gpt2`, `bert`,
/// `falcon`, …). llama.cpp writes Mistral and Mixtral as `llama`.
pub const GGUF_ARCHITECTURES: &[(&str, &str)] = &[
    ("qwen2moe", "qwen2_moe"),
    ("qwen3moe", "qwen3_moe"),
    ("gptneox", "gpt_neox"),
    ("deepseek2", "deepseek_v3"),
    ("t5encoder", "t5"),
    ("nomic-bert", "nomic_bert"),
];

/// GGUF hyperparameter keys (after `{general.architecture}.`) and the `config.json` key with the
/// same meaning: the GGUF metadata is the "declared" side of a GGUF model's checks.
pub const GGUF_CONFIG_KEYS: &[(&str, &str)] = &[
    ("block_count", "num_hidden_layers"),
    ("embedding_length", "hidden_size"),
    ("feed_forward_length", "intermediate_size"),
    ("attention.head_count", "num_attention_heads"),
    ("attention.head_count_kv", "num_key_value_heads"),
    ("attention.key_length", "head_dim"),
    ("context_length", "max_position_embeddings"),
    ("expert_count", "num_local_experts"),
    ("expert_used_count", "num_experts_per_tok"),
    ("expert_feed_forward_length", "moe_intermediate_size"),
    ("expert_shared_count", "n_shared_experts"),
    ("attention.sliding_window", "sliding_window"),
    ("rope.freq_base", "rope_theta"),
    ("vocab_size", "vocab_size"),
];

/// Every convention, in the order tried for names the family's own convention does not cover.
pub static CONVENTIONS: &[&Convention] = &[
    &LLAMA_STYLE,
    &GPT2_STYLE,
    &NEOX_STYLE,
    &BERT_STYLE,
    &T5_STYLE,
    &CLIP_STYLE,
];

/// What a family's network is, which decides whether it has a KV cache and an LM head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Autoregressive decoder (causal LM): KV cache, LM head (maybe tied).
    Decoder,
    /// Bidirectional encoder (BERT): no KV cache.
    Encoder,
    /// Encoder and decoder stacks (T5): KV cache in the decoder.
    EncoderDecoder,
    /// Image encoder (ViT, CLIP vision): no vocabulary, no KV cache.
    Vision,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Decoder => "decoder",
            Kind::Encoder => "encoder",
            Kind::EncoderDecoder => "encoder-decoder",
            Kind::Vision => "vision encoder",
        }
    }
}

/// Which layers use sliding-window attention when the config declares a window and no
/// `layer_types` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sliding {
    /// No sliding window in this family.
    None,
    /// Every layer (Mistral, Mixtral, Phi-3).
    All,
    /// Even layers local, odd layers global (Gemma 2).
    EvenLayers,
    /// Every layer but each `sliding_window_pattern`-th (Gemma 3: five local, one global).
    Pattern,
    /// Only when `use_sliding_window` is true (Qwen2/3); configs usually declare a window they
    /// do not use.
    WhenEnabled,
}

/// One family: how configs name it, what its tensors look like, and the config keys whose
/// meaning differs between families.
#[derive(Debug)]
pub struct Family {
    /// Canonical name, as its usual `model_type`.
    pub name: &'static str,
    /// `model_type` values.
    pub model_types: &'static [&'static str],
    /// `architectures[]` class-name prefixes (`LlamaFor` matches `LlamaForCausalLM`).
    pub architectures: &'static [&'static str],
    pub convention: &'static Convention,
    pub kind: Kind,
    pub sliding: Sliding,
    /// The config key giving the width of one routed expert (Mixtral reuses `intermediate_size`).
    pub expert_ffn_key: Option<&'static str>,
    /// `intermediate_size` is the routed expert width, not a dense MLP width (Mixtral).
    pub intermediate_is_expert: bool,
    /// Without an FFN width in the config the implementation uses `4 × hidden` (GPT-2, Falcon).
    pub ffn_default_4x: bool,
}

const fn family(
    name: &'static str,
    model_types: &'static [&'static str],
    architectures: &'static [&'static str],
    convention: &'static Convention,
    kind: Kind,
    sliding: Sliding,
) -> Family {
    Family {
        name,
        model_types,
        architectures,
        convention,
        kind,
        sliding,
        expert_ffn_key: None,
        intermediate_is_expert: false,
        ffn_default_4x: false,
    }
}

const fn moe(mut f: Family, expert_ffn_key: &'static str) -> Family {
    f.expert_ffn_key = Some(expert_ffn_key);
    f
}

const fn ffn_4x(mut f: Family) -> Family {
    f.ffn_default_4x = true;
    f
}

/// The families glassbox recognises.
pub static FAMILIES: &[Family] = &[
    family(
        "llama",
        &["llama"],
        &["LlamaFor", "LlamaModel"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::None,
    ),
    family(
        "mistral",
        &["mistral"],
        &["MistralFor", "MistralModel"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::All,
    ),
    family(
        "qwen2",
        &["qwen2"],
        &["Qwen2For", "Qwen2Model"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::WhenEnabled,
    ),
    family(
        "qwen3",
        &["qwen3"],
        &["Qwen3For", "Qwen3Model"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::WhenEnabled,
    ),
    family(
        "gemma",
        &["gemma"],
        &["GemmaFor", "GemmaModel"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::None,
    ),
    family(
        "gemma2",
        &["gemma2"],
        &["Gemma2For", "Gemma2Model"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::EvenLayers,
    ),
    family(
        "gemma3",
        &["gemma3", "gemma3_text"],
        &["Gemma3For", "Gemma3Model", "Gemma3TextModel"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::Pattern,
    ),
    family(
        "phi3",
        &["phi3"],
        &["Phi3For", "Phi3Model"],
        &LLAMA_STYLE,
        Kind::Decoder,
        Sliding::All,
    ),
    Family {
        intermediate_is_expert: true,
        ..moe(
            family(
                "mixtral",
                &["mixtral"],
                &["MixtralFor", "MixtralModel"],
                &LLAMA_STYLE,
                Kind::Decoder,
                Sliding::All,
            ),
            "intermediate_size",
        )
    },
    moe(
        family(
            "qwen2_moe",
            &["qwen2_moe"],
            &["Qwen2MoeFor", "Qwen2MoeModel"],
            &LLAMA_STYLE,
            Kind::Decoder,
            Sliding::WhenEnabled,
        ),
        "moe_intermediate_size",
    ),
    moe(
        family(
            "qwen3_moe",
            &["qwen3_moe"],
            &["Qwen3MoeFor", "Qwen3MoeModel"],
            &LLAMA_STYLE,
            Kind::Decoder,
            Sliding::WhenEnabled,
        ),
        "moe_intermediate_size",
    ),
    moe(
        family(
            "deepseek_v2",
            &["deepseek_v2"],
            &["DeepseekV2For", "DeepseekV2Model"],
            &LLAMA_STYLE,
            Kind::Decoder,
            Sliding::None,
        ),
        "moe_intermediate_size",
    ),
    moe(
        family(
            "deepseek_v3",
            &["deepseek_v3"],
            &["DeepseekV3For", "DeepseekV3Model"],
            &LLAMA_STYLE,
            Kind::Decoder,
            Sliding::None,
        ),
        "moe_intermediate_size",
    ),
    ffn_4x(family(
        "gpt2",
        &["gpt2"],
        &["GPT2"],
        &GPT2_STYLE,
        Kind::Decoder,
        Sliding::None,
    )),
    family(
        "gpt_neox",
        &["gpt_neox"],
        &["GPTNeoXFor", "GPTNeoXModel"],
        &NEOX_STYLE,
        Kind::Decoder,
        Sliding::None,
    ),
    ffn_4x(family(
        "falcon",
        &["falcon", "RefinedWeb", "RefinedWebModel"],
        &["FalconFor", "FalconModel", "RWFor"],
        &NEOX_STYLE,
        Kind::Decoder,
        Sliding::None,
    )),
    family(
        "bert",
        &["bert"],
        &["BertFor", "BertModel", "BertLMHead"],
        &BERT_STYLE,
        Kind::Encoder,
        Sliding::None,
    ),
    family(
        "roberta",
        &["roberta", "xlm-roberta"],
        &[
            "RobertaFor",
            "RobertaModel",
            "XLMRobertaFor",
            "XLMRobertaModel",
        ],
        &BERT_STYLE,
        Kind::Encoder,
        Sliding::None,
    ),
    family(
        "t5",
        &["t5", "mt5", "umt5"],
        &[
            "T5For",
            "T5Model",
            "T5EncoderModel",
            "MT5For",
            "MT5Model",
            "UMT5For",
        ],
        &T5_STYLE,
        Kind::EncoderDecoder,
        Sliding::None,
    ),
    family(
        "vit",
        &["vit"],
        &["ViTFor", "ViTModel"],
        &BERT_STYLE,
        Kind::Vision,
        Sliding::None,
    ),
    family(
        "clip",
        &["clip", "clip_vision_model", "siglip", "siglip_vision_model"],
        &["CLIPVision", "CLIPModel", "SiglipVision", "SiglipModel"],
        &CLIP_STYLE,
        Kind::Vision,
        Sliding::None,
    ),
];

/// A family recognised from tensor names alone: every fragment occurs in some tensor name.
#[derive(Debug)]
pub struct Signature {
    pub family: &'static str,
    pub fragments: &'static [&'static str],
    /// Families whose checkpoints use exactly these names, so a config naming any of them agrees.
    pub compatible: &'static [&'static str],
}

const fn sig(
    family: &'static str,
    fragments: &'static [&'static str],
    compatible: &'static [&'static str],
) -> Signature {
    Signature {
        family,
        fragments,
        compatible,
    }
}

/// Tried in order; the most specific signatures come first.
pub static SIGNATURES: &[Signature] = &[
    sig(
        "deepseek_v3",
        &["kv_a_proj_with_mqa", "e_score_correction_bias"],
        &["deepseek_v3"],
    ),
    sig(
        "deepseek_v2",
        &["kv_a_proj_with_mqa"],
        &["deepseek_v2", "deepseek_v3"],
    ),
    sig("mixtral", &[".block_sparse_moe.experts."], &["mixtral"]),
    sig("qwen2_moe", &[".mlp.shared_expert_gate."], &["qwen2_moe"]),
    sig(
        "qwen3_moe",
        &[".self_attn.q_norm.", ".mlp.experts."],
        &["qwen3_moe"],
    ),
    sig(
        "gemma3",
        &[".self_attn.q_norm.", ".pre_feedforward_layernorm."],
        &["gemma3"],
    ),
    sig("gemma2", &[".pre_feedforward_layernorm."], &["gemma2"]),
    sig(
        "qwen3",
        &[".self_attn.q_norm.", ".mlp.gate_proj."],
        &["qwen3"],
    ),
    sig(
        "phi3",
        &[".self_attn.qkv_proj.", ".mlp.gate_up_proj."],
        &["phi3"],
    ),
    sig(
        "qwen2",
        &[".self_attn.q_proj.bias", ".mlp.gate_proj."],
        &["qwen2"],
    ),
    sig(
        "llama",
        &[".self_attn.q_proj.", ".mlp.gate_proj."],
        &["llama", "mistral", "gemma"],
    ),
    sig(
        "gpt_neox",
        &["embed_in.", ".attention.query_key_value."],
        &["gpt_neox"],
    ),
    sig("falcon", &[".self_attention.query_key_value."], &["falcon"]),
    sig("gpt2", &[".attn.c_attn."], &["gpt2"]),
    sig("t5", &[".SelfAttention.q.", ".DenseReluDense."], &["t5"]),
    sig(
        "vit",
        &[".attention.attention.query.", "patch_embeddings.projection"],
        &["vit"],
    ),
    sig("roberta", &["roberta.encoder.layer."], &["roberta"]),
    sig(
        "bert",
        &[".attention.self.query.", "embeddings.token_type_embeddings"],
        &["bert", "roberta"],
    ),
    sig(
        "clip",
        &["embeddings.patch_embedding", ".self_attn.out_proj."],
        &["clip"],
    ),
];

/// Families recognised from GGUF tensor names, to cross-check `general.architecture`. One naming
/// scheme serves every architecture, so these look for the layout features that set a family
/// apart (merged experts, q/k norms, post-norms, fused projections, biases, token types), most
/// specific first; `compatible` lists every family whose GGUF files have that layout.
pub static GGUF_SIGNATURES: &[Signature] = &[
    sig(
        "deepseek_v3",
        &[".attn_kv_a_mqa.", ".exp_probs_b."],
        &["deepseek_v3"],
    ),
    sig(
        "deepseek_v2",
        &[".attn_kv_a_mqa."],
        &["deepseek_v2", "deepseek_v3"],
    ),
    sig(
        "qwen3_moe",
        &[".attn_q_norm.", ".ffn_gate_exps."],
        &["qwen3_moe"],
    ),
    sig(
        "qwen2_moe",
        &[".ffn_gate_inp_shexp.", ".ffn_gate_exps."],
        &["qwen2_moe"],
    ),
    sig(
        "mixtral",
        &[".ffn_gate_inp.", ".ffn_gate_exps."],
        &[
            "mixtral",
            "qwen2_moe",
            "qwen3_moe",
            "deepseek_v2",
            "deepseek_v3",
        ],
    ),
    sig("gemma3", &[".attn_q_norm.", ".post_ffw_norm."], &["gemma3"]),
    sig("gemma2", &[".post_ffw_norm."], &["gemma2", "gemma3"]),
    sig("qwen3", &[".attn_q_norm.", ".ffn_gate."], &["qwen3"]),
    sig(
        "bert",
        &["token_types.", ".attn_output_norm."],
        &["bert", "roberta"],
    ),
    sig("gpt2", &["position_embd.", ".attn_qkv."], &["gpt2"]),
    sig(
        "phi3",
        &[".attn_qkv.", ".ffn_up."],
        &["phi3", "falcon", "gpt_neox"],
    ),
    sig("qwen2", &[".attn_q.bias", ".ffn_gate."], &["qwen2"]),
    sig(
        "llama",
        &[".attn_q.", ".ffn_gate."],
        &[
            "llama", "mistral", "mixtral", "gemma", "qwen2", "qwen3", "phi3",
        ],
    ),
];

/// The family of a name, if glassbox knows it.
pub fn family_named(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The family a config `model_type` names.
pub fn family_for_model_type(model_type: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| {
        f.model_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(model_type))
    })
}

/// The family an `architectures[]` class name belongs to (longest matching prefix wins, so
/// `Qwen2MoeForCausalLM` is not taken for Qwen2).
pub fn family_for_architecture(class: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .flat_map(|f| f.architectures.iter().map(move |p| (f, p)))
        .filter(|(_, p)| class.starts_with(**p))
        .max_by_key(|(_, p)| p.len())
        .map(|(f, _)| f)
}

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
    fn tables_are_consistent() {
        for s in SIGNATURES.iter().chain(GGUF_SIGNATURES) {
            assert!(family_named(s.family).is_some(), "{}", s.family);
            for c in s.compatible {
                assert!(family_named(c).is_some(), "{c}");
            }
            assert!(s.compatible.contains(&s.family), "{}", s.family);
        }
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
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
        for (arch, family) in GGUF_MOE_ARCHITECTURES {
            assert!(
                family_named(family).is_some_and(|f| f.expert_ffn_key.is_some()),
                "{arch}"
            );
        }
    }

    #[test]
    fn architectures_pick_the_longest_prefix() {
        assert_eq!(
            family_for_architecture("Qwen2MoeForCausalLM").unwrap().name,
            "qwen2_moe"
        );
        assert_eq!(
            family_for_architecture("Qwen2ForCausalLM").unwrap().name,
            "qwen2"
        );
        assert_eq!(
            family_for_architecture("GPT2LMHeadModel").unwrap().name,
            "gpt2"
        );
        assert!(family_for_architecture("MambaForCausalLM").is_none());
        assert_eq!(family_for_model_type("gemma3_text").unwrap().name, "gemma3");
    }
}

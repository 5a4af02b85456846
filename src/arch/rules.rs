//! What glassbox knows about model families, as data: family tables (config `model_type` /
//! `architectures` → family), name signatures (tensor-name fragments → family) and the GGUF
//! architecture and key tables. Adding a family is adding rows here, not code paths. The naming
//! conventions (tensor name → role) and block containers are the model layer's
//! ([`crate::model::naming::conventions`], re-exported here), shared with the statistics.

pub use crate::model::naming::conventions::*;

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
    // `false` for bidirectional encoders (nomic-bert, jina-bert): no KV cache.
    ("attention.causal", "is_causal"),
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
        "mpnet",
        &["mpnet"],
        &["MPNetFor", "MPNetModel"],
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
    sig(
        "mpnet",
        &[".attention.attn.q.", "encoder.relative_attention_bias."],
        &["mpnet"],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_moe_architectures_name_moe_families() {
        for (arch, family) in GGUF_MOE_ARCHITECTURES {
            assert!(
                family_named(family).is_some_and(|f| f.expert_ffn_key.is_some()),
                "{arch}"
            );
        }
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

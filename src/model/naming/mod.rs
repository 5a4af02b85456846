//! What a tensor's name says, for every layer above the model: which repeated block (layer) it
//! belongs to, and what it does (its [`Role`]).
//!
//! One definition each, used by the architecture inference (which refines roles per family), the
//! statistics aggregates and findings, the summary, and next the TUI's Layers tab and the diff's
//! per-layer map:
//!
//! - a **block index** is a numeric segment right after a container segment
//!   ([`conventions::BLOCK_CONTAINERS`]: `layers`, `layer`, `h`, `block`, `blk`, …); the name
//!   before it is the stack (`model.layers`), after it the in-block name ([`split_block`],
//!   [`layer_of`], [`block_of`]). The first such pair wins, so an expert index inside a block
//!   (`….experts.3.…`) is never taken for a layer;
//! - a **role** comes from the naming conventions ([`conventions`]): [`role_of`] tries the Hugging
//!   Face conventions, then llama.cpp's GGUF scheme.

pub mod conventions;

use serde::Serialize;

/// A tensor name split at its block index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockName<'a> {
    pub stack: &'a str,
    pub index: u64,
    pub rest: &'a str,
}

/// Splits `model.layers.7.mlp.up_proj.weight` into `model.layers`, 7, `mlp.up_proj.weight`.
pub fn split_block(name: &str) -> Option<BlockName<'_>> {
    let mut prev: Option<&str> = None;
    let mut start = 0;
    for seg in name.split('.') {
        let end = start + seg.len();
        if prev.is_some_and(|p| conventions::BLOCK_CONTAINERS.contains(&p)) && is_index(seg) {
            let index = seg.parse().ok()?;
            return Some(BlockName {
                stack: &name[..start - 1],
                index,
                rest: name.get(end + 1..).unwrap_or(""),
            });
        }
        prev = Some(seg);
        start = end + 1;
    }
    None
}

/// Whether a name segment is an index (at most 9 digits, so it fits any count).
pub(crate) fn is_index(seg: &str) -> bool {
    !seg.is_empty() && seg.len() <= 9 && seg.bytes().all(|b| b.is_ascii_digit())
}

/// The layer (block index) of a tensor name: `7` for `model.layers.7.mlp.up_proj.weight` or
/// `blk.7.ffn_up.weight`; `None` outside every repeated block.
pub fn layer_of(name: &str) -> Option<u64> {
    split_block(name).map(|b| b.index)
}

/// The block a tensor belongs to, as a name prefix: `model.layers.7` for
/// `model.layers.7.mlp.up_proj.weight`; `None` outside every repeated block.
pub fn block_of(name: &str) -> Option<&str> {
    let b = split_block(name)?;
    let end = name.len() - b.rest.len();
    // Without the dot before the in-block name (none when the block index ends the name).
    Some(name[..end].trim_end_matches('.'))
}

/// The role of a tensor by its name alone, in whichever convention names it: the Hugging Face
/// conventions in [`conventions::CONVENTIONS`] order, then llama.cpp's GGUF scheme;
/// [`Role::Other`] when none does. The architecture inference gives the roles of a whole model
/// (its family's convention first, GGUF's alone for GGUF files); this is for a name on its own.
pub fn role_of(name: &str) -> Role {
    conventions::CONVENTIONS
        .iter()
        .copied()
        .chain([&conventions::GGUF_STYLE])
        .find_map(|c| conventions::role_in(c, name))
        .unwrap_or(Role::Other)
}

/// Whether the convention naming `name` stores 2-D weights `[in, out]` (GPT-2's Conv1D), the
/// transpose of `nn.Linear`'s `[out, in]`; `false` for a name no convention knows.
pub fn stored_transposed(name: &str) -> bool {
    conventions::CONVENTIONS
        .iter()
        .copied()
        .find(|c| conventions::role_in(c, name).is_some())
        .is_some_and(|c| c.transposed)
}

/// What a tensor does.
///
/// Ordered as a block reads: embeddings, attention, MLP, experts, norms, heads. The order is used to
/// list a block's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    TokenEmbedding,
    PositionEmbedding,
    TokenTypeEmbedding,
    PatchEmbedding,
    ClassEmbedding,
    RelativePositionBias,
    AttnQ,
    AttnK,
    AttnV,
    AttnQkv,
    /// MLA (DeepSeek): low-rank query down-projection `q_a_proj`.
    AttnQA,
    AttnQANorm,
    AttnQB,
    /// MLA: joint KV down-projection plus the decoupled RoPE key, `kv_a_proj_with_mqa`.
    AttnKvA,
    AttnKvANorm,
    AttnKvB,
    AttnO,
    AttnQNorm,
    AttnKNorm,
    CrossAttnQ,
    CrossAttnK,
    CrossAttnV,
    CrossAttnO,
    MlpGate,
    MlpUp,
    MlpGateUp,
    MlpDown,
    Router,
    RouterBias,
    ExpertGate,
    ExpertUp,
    ExpertGateUp,
    ExpertDown,
    SharedExpertRouter,
    SharedExpertGate,
    SharedExpertUp,
    SharedExpertDown,
    Norm,
    LmHead,
    HeadTransform,
    HeadBias,
    NextSentence,
    Pooler,
    Classifier,
    Projector,
    /// DeepSeek's multi-token-prediction module (`eh_proj`, `enorm`, `hnorm`, `shared_head`).
    Mtp,
    /// A saved buffer, not a trained parameter (`position_ids`, a causal mask, `inv_freq`).
    Buffer,
    Other,
}

impl Role {
    /// The component a role's parameters are counted in.
    pub fn component(self) -> Component {
        use Role::*;
        match self {
            TokenEmbedding | PositionEmbedding | TokenTypeEmbedding | PatchEmbedding
            | ClassEmbedding | RelativePositionBias => Component::Embedding,
            AttnQ | AttnK | AttnV | AttnQkv | AttnO | AttnQA | AttnQB | AttnKvA | AttnKvB
            | CrossAttnQ | CrossAttnK | CrossAttnV | CrossAttnO => Component::Attention,
            MlpGate | MlpUp | MlpGateUp | MlpDown | SharedExpertRouter | SharedExpertGate
            | SharedExpertUp | SharedExpertDown => Component::Mlp,
            Router | RouterBias | ExpertGate | ExpertUp | ExpertGateUp | ExpertDown => {
                Component::Experts
            }
            Norm | AttnQNorm | AttnKNorm | AttnQANorm | AttnKvANorm => Component::Norms,
            LmHead | HeadTransform | HeadBias | NextSentence | Pooler | Classifier => {
                Component::Head
            }
            Projector => Component::Projector,
            Mtp => Component::Mtp,
            Buffer | Other => Component::Other,
        }
    }

    /// The snake_case name used in JSON.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        use Role::*;
        match self {
            TokenEmbedding => "token embedding",
            PositionEmbedding => "position embedding",
            TokenTypeEmbedding => "token type embedding",
            PatchEmbedding => "patch embedding",
            ClassEmbedding => "class token",
            RelativePositionBias => "relative position bias",
            AttnQ => "attention q",
            AttnK => "attention k",
            AttnV => "attention v",
            AttnQkv => "attention qkv (fused)",
            AttnO => "attention output",
            AttnQNorm => "q norm",
            AttnKNorm => "k norm",
            AttnQA => "MLA q down-projection",
            AttnQANorm => "MLA q norm",
            AttnQB => "MLA q up-projection",
            AttnKvA => "MLA kv down-projection",
            AttnKvANorm => "MLA kv norm",
            AttnKvB => "MLA kv up-projection",
            CrossAttnQ => "cross-attention q",
            CrossAttnK => "cross-attention k",
            CrossAttnV => "cross-attention v",
            CrossAttnO => "cross-attention output",
            MlpGate => "MLP gate",
            MlpUp => "MLP up",
            MlpGateUp => "MLP gate+up (fused)",
            MlpDown => "MLP down",
            Router => "MoE router",
            RouterBias => "MoE router bias",
            ExpertGate => "expert gate",
            ExpertUp => "expert up",
            ExpertGateUp => "expert gate+up (fused)",
            ExpertDown => "expert down",
            SharedExpertRouter => "shared expert gate",
            SharedExpertGate => "shared expert gate",
            SharedExpertUp => "shared expert up",
            SharedExpertDown => "shared expert down",
            Norm => "norm",
            LmHead => "LM head",
            HeadTransform => "head transform",
            HeadBias => "head bias",
            NextSentence => "next-sentence head",
            Pooler => "pooler",
            Classifier => "classifier",
            Projector => "projector",
            Mtp => "multi-token prediction",
            Buffer => "buffer (not trained)",
            Other => "other",
        }
    }

    /// A short label for narrow columns and per-layer maps: `q`, `k`, `v`, `o`, `qkv`, `gate`,
    /// `up`, `down`, `router`, `norm`, `embed`, `lm head`, …
    pub fn short(self) -> &'static str {
        use Role::*;
        match self {
            TokenEmbedding => "embed",
            PositionEmbedding => "pos embed",
            TokenTypeEmbedding => "type embed",
            PatchEmbedding => "patch embed",
            ClassEmbedding => "cls",
            RelativePositionBias => "rel bias",
            AttnQ => "q",
            AttnK => "k",
            AttnV => "v",
            AttnQkv => "qkv",
            AttnO => "o",
            AttnQNorm => "q norm",
            AttnKNorm => "k norm",
            AttnQA => "q_a",
            AttnQANorm => "q_a norm",
            AttnQB => "q_b",
            AttnKvA => "kv_a",
            AttnKvANorm => "kv_a norm",
            AttnKvB => "kv_b",
            CrossAttnQ => "x q",
            CrossAttnK => "x k",
            CrossAttnV => "x v",
            CrossAttnO => "x o",
            MlpGate => "gate",
            MlpUp => "up",
            MlpGateUp => "gate_up",
            MlpDown => "down",
            Router => "router",
            RouterBias => "router bias",
            ExpertGate => "exp gate",
            ExpertUp => "exp up",
            ExpertGateUp => "exp gate_up",
            ExpertDown => "exp down",
            SharedExpertRouter => "shared router",
            SharedExpertGate => "shared gate",
            SharedExpertUp => "shared up",
            SharedExpertDown => "shared down",
            Norm => "norm",
            LmHead => "lm head",
            HeadTransform => "head transform",
            HeadBias => "head bias",
            NextSentence => "nsp",
            Pooler => "pooler",
            Classifier => "classifier",
            Projector => "projector",
            Mtp => "mtp",
            Buffer => "buffer",
            Other => "other",
        }
    }

    pub fn is_expert(self) -> bool {
        matches!(
            self,
            Role::ExpertGate | Role::ExpertUp | Role::ExpertGateUp | Role::ExpertDown
        )
    }
}

/// Where parameters are counted in the breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// Token, position, token-type and patch embeddings, class tokens, relative position biases.
    Embedding,
    /// Attention projections (self and cross, MLA included).
    Attention,
    /// Dense MLP and shared experts (always active).
    Mlp,
    /// Routed experts and their routers.
    Experts,
    /// Every norm, q/k norms included.
    Norms,
    /// LM head (when untied), MLM/classification heads, pooler.
    Head,
    /// A vision tower inside a multimodal model.
    Vision,
    /// Multimodal projector.
    Projector,
    /// Multi-token-prediction module (DeepSeek-V3 layer 61).
    Mtp,
    /// Buffers and anything no rule names.
    Other,
}

impl Component {
    pub const ALL: [Component; 10] = [
        Component::Embedding,
        Component::Attention,
        Component::Mlp,
        Component::Experts,
        Component::Norms,
        Component::Head,
        Component::Vision,
        Component::Projector,
        Component::Mtp,
        Component::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Embedding => "embedding",
            Component::Attention => "attention",
            Component::Mlp => "mlp",
            Component::Experts => "experts",
            Component::Norms => "norms",
            Component::Head => "head",
            Component::Vision => "vision",
            Component::Projector => "projector",
            Component::Mtp => "mtp",
            Component::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_blocks_follow_the_block_containers() {
        assert_eq!(
            layer_of("model.layers.12.mlp.experts.3.w1.weight"),
            Some(12)
        );
        assert_eq!(layer_of("blk.0.attn_q.weight"), Some(0));
        assert_eq!(
            layer_of("encoder.block.4.layer.1.DenseReluDense.wi.weight"),
            Some(4)
        );
        assert_eq!(layer_of("model.norm.weight"), None);
        assert_eq!(layer_of("classifier.0.weight"), None);
        assert_eq!(
            block_of("model.layers.3.mlp.up_proj.weight"),
            Some("model.layers.3")
        );
        assert_eq!(block_of("h.11.attn.c_attn.bias"), Some("h.11"));
        assert_eq!(block_of("blk.0.attn_q.weight"), Some("blk.0"));
        assert_eq!(block_of("layers.5"), Some("layers.5"));
        assert_eq!(block_of("model.norm.weight"), None);
        assert_eq!(block_of("layer2.weight"), None);
    }

    #[test]
    fn roles_by_name_in_any_convention() {
        assert_eq!(
            role_of("model.layers.0.self_attn.q_proj.weight"),
            Role::AttnQ
        );
        assert_eq!(
            role_of("model.layers.0.mlp.down_proj.weight"),
            Role::MlpDown
        );
        assert_eq!(role_of("h.0.attn.c_attn.weight"), Role::AttnQkv);
        assert_eq!(role_of("blk.3.ffn_gate_exps.weight"), Role::ExpertGate);
        assert_eq!(role_of("blk.3.attn_k.weight"), Role::AttnK);
        assert_eq!(role_of("token_embd.weight"), Role::TokenEmbedding);
        assert_eq!(role_of("something.else"), Role::Other);
        assert_eq!(Role::AttnQ.short(), "q");
        assert_eq!(Role::MlpGate.short(), "gate");
        assert_eq!(Role::ExpertDown.short(), "exp down");
    }
}

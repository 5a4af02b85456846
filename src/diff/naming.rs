//! Which layer and which role a tensor plays, from its canonical (Hugging Face) name.
//!
//! Temporary and private: `model::naming` (branch `report`) will hold the one definition of
//! layer index and tensor role for the whole crate; this file goes away when it lands.

/// The block index in `model.layers.7.mlp.up_proj.weight` (also `h.7`, `layer.7`, `blocks.7`).
pub(crate) fn layer_of(name: &str) -> Option<usize> {
    let parts: Vec<&str> = name.split('.').collect();
    parts.windows(2).find_map(|w| {
        matches!(w[0], "layers" | "h" | "layer" | "blocks" | "blk")
            .then(|| w[1].parse().ok())
            .flatten()
    })
}

/// The short role of a tensor (`q`, `k`, `v`, `o`, `gate`, `up`, `down`, `attn_norm`, `mlp_norm`,
/// `norm`, `experts`, `embed`, `head`), or `other`.
pub(crate) fn role_of(name: &str) -> &'static str {
    const ROLES: &[(&str, &str)] = &[
        ("experts", "experts"),
        ("q_proj", "q"),
        ("k_proj", "k"),
        ("v_proj", "v"),
        ("o_proj", "o"),
        ("gate_proj", "gate"),
        ("up_proj", "up"),
        ("down_proj", "down"),
        ("input_layernorm", "attn_norm"),
        ("post_attention_layernorm", "mlp_norm"),
        ("embed_tokens", "embed"),
        ("wte", "embed"),
        ("lm_head", "head"),
    ];
    let parts: Vec<&str> = name.split('.').collect();
    for (part, role) in ROLES {
        if parts.contains(part) {
            return role;
        }
    }
    if parts.iter().any(|p| p.ends_with("norm")) {
        return "norm";
    }
    "other"
}

/// The roles in the order the map shows them.
pub const ROLE_ORDER: &[&str] = &[
    "embed",
    "attn_norm",
    "q",
    "k",
    "v",
    "o",
    "mlp_norm",
    "gate",
    "up",
    "down",
    "experts",
    "norm",
    "head",
    "other",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_roles_from_names() {
        assert_eq!(layer_of("model.layers.12.mlp.up_proj.weight"), Some(12));
        assert_eq!(layer_of("transformer.h.3.attn.c_attn.weight"), Some(3));
        assert_eq!(layer_of("model.embed_tokens.weight"), None);
        assert_eq!(role_of("model.layers.0.self_attn.q_proj.weight"), "q");
        assert_eq!(
            role_of("model.layers.0.post_attention_layernorm.weight"),
            "mlp_norm"
        );
        assert_eq!(role_of("model.norm.weight"), "norm");
        assert_eq!(role_of("lm_head.weight"), "head");
        assert_eq!(
            role_of("model.layers.0.mlp.experts.3.up_proj.weight"),
            "experts"
        );
        assert_eq!(role_of("something.else"), "other");
    }
}

//! How an observed hyperparameter was obtained ([`super::Check::basis`]), as data: which tensor
//! (or tensor pattern over the blocks) and which of its dimensions, or which derivation from other
//! observed values. `Display` writes the sentence of the summary's "how observed" column, which is
//! also the JSON `basis`.

use serde::Serialize;

/// A dimension of a tensor, as the basis names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Rows,
    Columns,
    /// The only dimension of a 1-D tensor.
    Length,
    /// The first dimension of a 3-D tensor (merged experts: one slice per expert).
    First,
    /// Dimension `n` (0-based) of merged experts `[E, F, d]`: the rows of one expert.
    RowsPerExpert(u8),
    /// The kernel side of a square convolution (a vision model's patch).
    Kernel,
    /// The rows of a learned position embedding.
    LearnedPositions,
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dimension::Rows => f.write_str("rows"),
            Dimension::Columns => f.write_str("columns"),
            Dimension::Length => f.write_str("length"),
            Dimension::First => f.write_str("first dimension"),
            Dimension::RowsPerExpert(n) => write!(f, "dimension {n} (rows per expert)"),
            Dimension::Kernel => f.write_str("kernel"),
            Dimension::LearnedPositions => f.write_str("rows (learned positions)"),
        }
    }
}

/// How an observed value was obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// A dimension of a tensor, or of a tensor pattern (`model.layers.*.mlp.up_proj.weight`).
    Dimension {
        tensor: String,
        dimension: Dimension,
    },
    /// Half of a fused tensor's dimension (gate and up stacked): `… rows / 2`, or half of the
    /// dimension of merged experts that is not the hidden size (`dimension: None`).
    Half {
        tensor: String,
        dimension: Option<Dimension>,
    },
    /// The number of distinct block indices in a stack.
    DistinctBlocks { stack: String },
    /// The number of distinct expert indices in the blocks of a stack.
    DistinctExperts { stack: String },
    /// Heads and head dims solved from the MLA projection shapes.
    MlaSolved,
    /// MLA's decoupled RoPE dim: the rows of `kv_a_proj_with_mqa` less `kv_lora_rank`.
    MlaRope { tensor: String },
    /// MLA: every head has its own decompressed key and value, so KV heads = heads.
    MlaKvHeads,
    /// The KV width of a fused qkv projection: (fused dimension − q width) / 2.
    FusedKv {
        tensor: String,
        dimension: Dimension,
        fused: u64,
        q_width: u64,
    },
    /// Head dim = q width / heads, the heads being T5's relative-bias columns.
    HeadDimFromRelativeBias { q_width: u64, heads: u64 },
    /// Heads = q width / head dim, the head dim being the q/k norm's length.
    HeadsFromNorm { q_width: u64, head_dim: u64 },
    /// KV heads = KV width / head dim (`divisible` false when it does not divide).
    KvHeads {
        width: Box<Basis>,
        width_value: u64,
        head_dim: u64,
        /// The head dim was observed (else declared).
        head_dim_observed: bool,
        divisible: bool,
    },
    /// One unnumbered shared expert module.
    SharedExpertModule,
    /// Shared experts = the shared width / one expert's width.
    SharedExperts {
        width: Box<Basis>,
        width_value: u64,
        expert_width: u64,
    },
    /// The blocks holding experts (as ranges, `None` when there are none).
    MoeLayers { blocks: Option<String> },
    /// The LM head is stored: not tied.
    HeadStored { tensor: String },
    /// No output projection stored: the token embedding serves as the LM head.
    HeadIsEmbedding { embedding: String },
    /// The tensor-name fragments of the family signature that matched.
    NameSignature { fragments: Vec<&'static str> },
    /// The dtype of most floating parameters, with its share.
    DtypeShare { share: f64 },
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Basis::Dimension { tensor, dimension } => write!(f, "{tensor} {dimension}"),
            Basis::Half {
                tensor,
                dimension: Some(d),
            } => write!(f, "{tensor} {d} / 2"),
            Basis::Half {
                tensor,
                dimension: None,
            } => write!(f, "{tensor} / 2"),
            Basis::DistinctBlocks { stack } => write!(f, "distinct block indices in {stack}"),
            Basis::DistinctExperts { stack } => write!(f, "distinct expert indices in {stack}.*"),
            Basis::MlaSolved => f.write_str("solved from the MLA projection shapes"),
            Basis::MlaRope { tensor } => write!(f, "{tensor} rows − kv_lora_rank"),
            Basis::MlaKvHeads => {
                f.write_str("MLA: every head has its own decompressed key and value")
            }
            Basis::FusedKv {
                tensor,
                dimension,
                fused,
                q_width,
            } => write!(
                f,
                "({tensor} {dimension} {fused} − q width {q_width}) / 2 ="
            ),
            Basis::HeadDimFromRelativeBias { q_width, heads } => write!(
                f,
                "q width {q_width} / {heads} heads (relative bias columns)"
            ),
            Basis::HeadsFromNorm { q_width, head_dim } => write!(
                f,
                "q width {q_width} / head_dim {head_dim} (q/k norm length)"
            ),
            Basis::KvHeads {
                width,
                width_value,
                head_dim,
                head_dim_observed,
                divisible,
            } => {
                let source = if *head_dim_observed {
                    "observed"
                } else {
                    "declared"
                };
                if *divisible {
                    write!(f, "{width} {width_value} / {source} head_dim {head_dim}")
                } else {
                    write!(
                        f,
                        "{width} {width_value} is not a multiple of {source} head_dim {head_dim}"
                    )
                }
            }
            Basis::SharedExpertModule => f.write_str("one `shared_expert` module"),
            Basis::SharedExperts {
                width,
                width_value,
                expert_width,
            } => write!(f, "{width} {width_value} / expert width {expert_width}"),
            Basis::MoeLayers { blocks } => write!(
                f,
                "blocks with experts: {}",
                blocks.as_deref().unwrap_or("none")
            ),
            Basis::HeadStored { tensor } => write!(f, "{tensor} is stored"),
            Basis::HeadIsEmbedding { embedding } => write!(
                f,
                "no output projection stored; {embedding} serves as the LM head"
            ),
            Basis::NameSignature { fragments } => {
                write!(f, "tensor names ({})", fragments.join(" + "))
            }
            Basis::DtypeShare { share } => write!(f, "{:.1}% of parameters", share * 100.0),
        }
    }
}

impl Serialize for Basis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_from_tensors_dimensions_and_derivations() {
        let rows = Basis::Dimension {
            tensor: "model.layers.*.self_attn.k_proj.weight".into(),
            dimension: Dimension::Rows,
        };
        assert_eq!(
            rows.to_string(),
            "model.layers.*.self_attn.k_proj.weight rows"
        );
        let kv = Basis::KvHeads {
            width: Box::new(rows),
            width_value: 16,
            head_dim: 8,
            head_dim_observed: false,
            divisible: true,
        };
        assert_eq!(
            kv.to_string(),
            "model.layers.*.self_attn.k_proj.weight rows 16 / declared head_dim 8"
        );
        assert_eq!(
            serde_json::to_value(&kv).unwrap(),
            serde_json::json!(kv.to_string())
        );
        let merged = Basis::Dimension {
            tensor: "blk.*.ffn_gate_exps.weight".into(),
            dimension: Dimension::RowsPerExpert(1),
        };
        assert_eq!(
            merged.to_string(),
            "blk.*.ffn_gate_exps.weight dimension 1 (rows per expert)"
        );
        assert_eq!(
            Basis::MoeLayers { blocks: None }.to_string(),
            "blocks with experts: none"
        );
        assert_eq!(
            Basis::DtypeShare { share: 0.9876 }.to_string(),
            "98.8% of parameters"
        );
    }
}

//! Architecture inference: what the tensor table says about the network, what `config.json`
//! declares, and whether the two agree.
//!
//! A safetensors file holds named tensors, not an architecture. [`infer_architecture`] recovers one:
//!
//! 1. the **family**, from the config's `model_type` / `architectures` when present, otherwise from
//!    a signature of tensor-name fragments ([`rules::SIGNATURES`]), saying which evidence it used;
//! 2. a **role** for every tensor (attention q/k/v/o, fused qkv, MLP gate/up/down, router, expert,
//!    norm, LM head, …) from per-family naming conventions kept as data (the model layer's
//!    [`crate::model::naming`], re-exported by [`rules`]);
//! 3. the **repeated blocks** (`model.layers.N`, `h.N`, `encoder.block.N`, …), collapsed into
//!    groups of identical blocks, with the blocks that deviate ([`blocks`]);
//! 4. **hyperparameters** observed from shapes and declared in the config, every field compared
//!    ([`Check`] with a [`Status`]); heads and head_dim are only separated where the weights show
//!    it (q/k norms, MLA, T5's relative bias), never guessed;
//! 5. **parameters** by component and, for mixtures of experts, active per token;
//! 6. a **memory** estimate: weights at several precisions, KV cache per token and at the declared
//!    context ([`memory`]).
//!
//! Everything here is a pure function of the tensor table, the parsed config and the tokenizer's
//! size ([`Model::tokenizer_size`], read by the model layer): no I/O, no printing. A config that
//! contradicts the weights is a finding in [`Architecture::checks`], never an error.
//!
//! Results are data, not sentences: remarks are [`Note`]s (held as [`Finding`]s), the family's
//! evidence is an [`evidence::FamilyEvidence`], how a value was observed a [`basis::Basis`], a
//! deviating block a [`Difference`], the active-parameter formula an [`ActiveBasis`], the KV cache
//! formula a [`memory::KvFormula`]. Each renders its sentence with `Display` (or
//! [`Note::message`]), at the edge; key names are the declaring side's (config.json or GGUF).

pub mod basis;
pub mod blocks;
pub mod config;
pub mod evidence;
pub mod gguf_names;
mod infer;
pub mod memory;
pub mod note;
pub mod rules;

use serde::Serialize;

use crate::finding::Finding;
use crate::format::gguf::Gguf;
use crate::model::Model;

pub use crate::model::naming::{Component, Role};
pub use blocks::{BlockGroup, BlockTensor, Difference, Stack};
pub use infer::{infer_from_parts, infer_with_naming, value_text};
pub use memory::{KvCache, Memory};
pub use note::Note;
pub use rules::Kind;

/// The role of one tensor, parallel to [`Model::tensors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TensorRole {
    pub role: Role,
    pub component: Component,
}

/// How a declared value compares with the observed one (spec §1, collapsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Consistent,
    Contradicted,
    DeclaredOnly,
    ObservedOnly,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Consistent => "consistent",
            Status::Contradicted => "contradicted",
            Status::DeclaredOnly => "declared_only",
            Status::ObservedOnly => "observed_only",
        }
    }
}

/// A checked value: a count, a flag, a real number or a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Count(u64),
    Flag(bool),
    Number(f64),
    Text(String),
}

impl Value {
    pub fn as_count(&self) -> Option<u64> {
        match self {
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }

    /// Equal, with a relative tolerance for real numbers.
    pub fn agrees(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
            (a, b) => a == b,
        }
    }
}

/// One field compared: what the config declares, what the weights show, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub field: &'static str,
    pub declared: Option<Value>,
    pub observed: Option<Value>,
    pub status: Status,
    /// The config key (or derivation) the declared value came from.
    pub declared_key: Option<String>,
    /// How the observed value was obtained (`model.layers.*.self_attn.k_proj rows 32 / head_dim 16`).
    pub basis: Option<basis::Basis>,
}

/// Where the family came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilySource {
    /// `config.json` `model_type` or `architectures`.
    Config,
    /// The tensor-name signature (no usable config).
    TensorNames,
    /// A GGUF file's `general.architecture`.
    GgufMetadata,
}

/// Where declared hyperparameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredBy {
    /// A `config.json` beside the weights.
    #[default]
    Config,
    /// A GGUF file's own metadata (`general.architecture`, `{arch}.*` keys).
    GgufMetadata,
}

/// The architecture fields of the summary (null where unknown). Each value is the observed one when
/// the weights show it, otherwise the declared one; [`Architecture::checks`] tells which.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hyperparameters {
    pub layers: Option<u64>,
    pub hidden_size: Option<u64>,
    pub attention_heads: Option<u64>,
    pub kv_heads: Option<u64>,
    pub head_dim: Option<u64>,
    pub intermediate_size: Option<u64>,
    pub vocab_size: Option<u64>,
    pub experts: Option<u64>,
    pub experts_per_token: Option<u64>,
    pub tied_embeddings: Option<bool>,
    pub context_length: Option<u64>,
    /// Decoder layers of an encoder-decoder (T5); `layers` is then the encoder's.
    pub decoder_layers: Option<u64>,
    pub expert_intermediate_size: Option<u64>,
    pub shared_experts: Option<u64>,
    /// `mha`, `gqa`, `mqa` or `mla`.
    pub attention: Option<&'static str>,
    pub sliding_window: Option<u64>,
    pub rope_theta: Option<f64>,
    /// The storage dtype of most parameters.
    pub dtype: Option<String>,
}

/// Parameter counts (every tensor counted, buffers included, as in the model's total).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Parameters {
    pub total: u64,
    /// Of `total`, the values of buffers (`position_ids`, rotary `inv_freq`, a causal mask): saved
    /// with the weights but not trained, and not counted by PyTorch's `num_parameters`.
    pub buffers: u64,
    /// Non-empty components, in [`Component::ALL`] order.
    pub by_component: Vec<(Component, u64)>,
    /// Parameters used per token by a mixture of experts (spec C3); `None` for dense models or
    /// when the config does not declare experts per token.
    pub active: Option<u64>,
    /// How `active` was computed, or why it is missing.
    pub active_basis: Option<ActiveBasis>,
}

/// How the active parameters were computed, or why they are missing. JSON: its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveBasis {
    /// The config does not declare experts per token; the weights cannot show it.
    PerTokenNotDeclared,
    /// The declared experts per token exceeds, or does not divide into, the expert tensors.
    PerTokenDoesNotFit { per_token: u64 },
    /// Every MoE layer alike: total − layers × (experts − per token) × parameters per expert.
    Uniform {
        moe_layers: u64,
        experts: u64,
        per_token: u64,
        parameters_per_expert: u64,
        /// The multi-token-prediction module is left out too.
        without_mtp: bool,
    },
    /// MoE layers of different sizes: the inactive experts summed layer by layer.
    Varied {
        moe_layers: u64,
        per_token: u64,
        without_mtp: bool,
    },
}

impl std::fmt::Display for ActiveBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mtp = |without: bool| if without { " − the MTP module" } else { "" };
        match self {
            ActiveBasis::PerTokenNotDeclared => f.write_str(
                "experts per token is not declared (`num_experts_per_tok`); the weights cannot show it",
            ),
            ActiveBasis::PerTokenDoesNotFit { per_token } => write!(
                f,
                "declared experts per token ({per_token}) does not fit the expert tensors"
            ),
            ActiveBasis::Uniform {
                moe_layers,
                experts,
                per_token,
                parameters_per_expert,
                without_mtp,
            } => write!(
                f,
                "total − {moe_layers} MoE layers × ({experts} experts − {per_token} per token) × {} parameters per expert{}",
                crate::text::thousands(*parameters_per_expert),
                mtp(*without_mtp)
            ),
            ActiveBasis::Varied {
                moe_layers,
                per_token,
                without_mtp,
            } => write!(
                f,
                "total − Σ over {moe_layers} MoE layers of (experts − {per_token}) × parameters per expert{}",
                mtp(*without_mtp)
            ),
        }
    }
}

impl Serialize for ActiveBasis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Everything glassbox infers about a model's architecture. Serialisable (sentences as their
/// words, roles parallel to the tensor table); the summary report, a layer above, reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Architecture {
    /// Canonical family name (`llama`, `qwen3_moe`, …), or the config's own `model_type` when
    /// glassbox does not know it, or `None`.
    pub family: Option<String>,
    /// Whether `family` is one glassbox has naming rules and config semantics for.
    pub family_known: bool,
    pub family_source: Option<FamilySource>,
    /// Which evidence gave the family and whether the tensor names agree (a sentence by
    /// `Display`).
    pub family_evidence: evidence::FamilyEvidence,
    /// The tensor-name signature that matched, if any.
    pub signature: Option<&'static str>,
    /// The naming convention used for roles (`llama-style`, …).
    pub convention: Option<&'static str>,
    pub kind: Option<Kind>,
    /// The config's `architectures[0]`.
    pub class: Option<String>,
    pub hyper: Hyperparameters,
    /// One per tensor, parallel to the model's tensor table.
    pub roles: Vec<TensorRole>,
    /// Repeated-block stacks, main stack first.
    pub stacks: Vec<Stack>,
    /// Indices of tensors outside every stack.
    pub others: Vec<usize>,
    pub parameters: Parameters,
    pub checks: Vec<Check>,
    pub memory: Memory,
    /// Where the declared side of the checks comes from.
    pub declared_by: DeclaredBy,
    /// Remarks ([`Note`]s as findings): contradictions, missing block indices, padding, config
    /// values ignored.
    pub notes: Vec<Finding>,
}

impl Architecture {
    /// The check of a field, if made.
    pub fn check(&self, field: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.field == field)
    }

    pub fn contradictions(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Contradicted)
    }
}

/// Infers the architecture of an opened model from its tensor table and `config.json`, and reads
/// the tokenizer's vocabulary size from `tokenizer.json` when one is beside the weights.
///
/// For a GGUF model the GGUF metadata takes the place of `config.json` (`general.architecture` and
/// the `{arch}.*` keys, through [`rules::GGUF_CONFIG_KEYS`]), the tokenizer size is the length of
/// `tokenizer.ggml.tokens`, and roles come from llama.cpp's naming scheme ([`rules::GGUF_STYLE`]).
/// Checks name the GGUF key each declared value came from.
pub fn infer_architecture(model: &Model) -> Architecture {
    if let Some(g) = &model.gguf {
        return infer_gguf(model, g);
    }
    infer_from_parts(
        &model.tensors,
        model.config.as_ref(),
        model.tokenizer_size(),
    )
}

/// The mixture-of-experts family a GGUF model is stored under a dense architecture name for
/// ([`rules::GGUF_MOE_ARCHITECTURES`]: `llama` with `llama.expert_count > 0` is Mixtral).
fn gguf_moe_architecture(g: &Gguf) -> Option<&'static str> {
    let arch = g.architecture()?;
    let experts = g.arch_value("expert_count").and_then(|v| v.as_u64());
    rules::GGUF_MOE_ARCHITECTURES
        .iter()
        .find(|(a, _)| *a == arch)
        .filter(|_| experts.is_some_and(|e| e > 0))
        .map(|&(_, family)| family)
}

/// The GGUF metadata as the `config.json` it stands for, and each config key's GGUF key.
pub fn gguf_declared(g: &Gguf) -> Option<(serde_json::Value, Vec<(&'static str, String)>)> {
    let arch = g.architecture()?;
    let (model_type, model_type_key) = match gguf_moe_architecture(g) {
        Some(t) => (
            t,
            format!("general.architecture = {arch} with {arch}.expert_count > 0"),
        ),
        None => (
            rules::GGUF_ARCHITECTURES
                .iter()
                .find(|(a, _)| *a == arch)
                .map_or(arch, |&(_, t)| t),
            "general.architecture".to_owned(),
        ),
    };
    let mut config = serde_json::Map::new();
    config.insert("model_type".into(), model_type.into());
    let mut keys = vec![("model_type", model_type_key)];
    for &(suffix, hf) in rules::GGUF_CONFIG_KEYS {
        let Some(v) = g.arch_value(suffix) else {
            continue;
        };
        // Scalars only: per-layer arrays (a few architectures vary heads by layer) are not a
        // single declared value.
        let json = match (v.as_u64(), v.as_f64(), v.as_bool()) {
            (Some(n), _, _) => serde_json::Value::from(n),
            (None, Some(x), _) => serde_json::Value::from(x),
            (None, None, Some(b)) => serde_json::Value::from(b),
            _ => continue,
        };
        config.insert(hf.into(), json);
        keys.push((hf, format!("{arch}.{suffix}")));
    }
    if !config.contains_key("vocab_size")
        && let Some(n) = g.tokenizer().tokens
    {
        config.insert("vocab_size".into(), n.into());
        keys.push(("vocab_size", "tokenizer.ggml.tokens (length)".to_owned()));
    }
    Some((serde_json::Value::Object(config), keys))
}

fn infer_gguf(model: &Model, g: &Gguf) -> Architecture {
    let declared = gguf_declared(g);
    // Every declared value is named by the GGUF key it came from, as the config reader reads it.
    let mut key_names = declared
        .as_ref()
        .map(|(_, k)| k.clone())
        .unwrap_or_default();
    key_names.push((
        "tokenizer_size",
        "tokenizer.ggml.tokens (length)".to_owned(),
    ));
    let mut arch = infer::infer(
        &model.tensors,
        infer::Declaration {
            config: declared.as_ref().map(|(c, _)| c),
            by: DeclaredBy::GgufMetadata,
            key_names: &key_names,
        },
        g.tokenizer().tokens,
        Some(rules::gguf_convention(g.architecture())),
    );
    if arch.family_source == Some(FamilySource::Config) {
        arch.family_source = Some(FamilySource::GgufMetadata);
    }
    use evidence::{DeclaredFamily, NameEvidence};
    let moe_family = gguf_moe_architecture(g).map(|_| arch.family.clone().unwrap_or_default());
    arch.family_evidence.declared = match g.architecture() {
        Some(a) => DeclaredFamily::Gguf {
            architecture: a.to_owned(),
            moe_family,
        },
        None => DeclaredFamily::GgufWithoutArchitecture,
    };
    // One naming scheme serves every GGUF architecture: the layout features decide.
    let signature = arch.signature.map(|family| evidence::Signature {
        family,
        shared_with: Vec::new(),
    });
    arch.family_evidence.names = match (signature, arch.check("family").map(|c| c.status)) {
        (Some(s), Some(Status::Consistent)) => NameEvidence::Agree(s),
        (Some(s), Some(Status::Contradicted)) => NameEvidence::Contradict(s),
        (Some(s), _) => NameEvidence::Resemble(s),
        (None, _) => NameEvidence::NoSignature,
    };
    arch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_architecture_serialises_with_its_findings_and_sentences() {
        use crate::model::{DType, TensorInfo};
        let t = |name: &str, shape: &[u64]| TensorInfo {
            name: name.into(),
            dtype: DType::BF16,
            shape: shape.to_vec(),
            file: 0,
            offset: 0,
            bytes: 2 * shape.iter().product::<u64>(),
        };
        let tensors = [
            t("model.embed_tokens.weight", &[64, 16]),
            t("model.layers.0.self_attn.q_proj.weight", &[16, 16]),
            t("model.layers.0.self_attn.k_proj.weight", &[8, 16]),
        ];
        let config = serde_json::json!({"model_type": "llama", "hidden_size": 32});
        let arch = infer_from_parts(&tensors, Some(&config), None);
        let json = serde_json::to_value(&arch).unwrap();
        assert_eq!(json["family"], "llama");
        assert_eq!(json["roles"][1]["role"], "attn_q");
        assert!(json["family_evidence"].as_str().unwrap().contains("llama"));
        let note = &json["notes"][0];
        assert_eq!(note["code"], "contradicted");
        assert_eq!(note["key"], "hidden_size");
        assert_eq!(note["evidence"]["declared"], 32);
        assert_eq!(note["evidence"]["observed"], 16);
    }

    #[test]
    fn attention_declared_not_causal_makes_an_unknown_family_an_encoder() {
        use crate::model::{DType, TensorInfo};
        let t = |name: &str| TensorInfo {
            name: name.into(),
            dtype: DType::F16,
            shape: vec![8, 8],
            file: 0,
            offset: 0,
            bytes: 128,
        };
        let tensors = [t("blk.0.attn_qkv.weight"), t("blk.1.attn_qkv.weight")];
        // nomic-bert's GGUF: `nomic-bert.attention.causal = false`, read as `is_causal`.
        let kind = |causal: Option<bool>| {
            let mut config = serde_json::json!({"model_type": "nomic_bert"});
            if let Some(c) = causal {
                config["is_causal"] = c.into();
            }
            infer_from_parts(&tensors, Some(&config), None).kind
        };
        assert_eq!(kind(Some(false)), Some(Kind::Encoder));
        assert_eq!(kind(Some(true)), None);
        assert_eq!(kind(None), None);
    }

    #[test]
    fn every_role_has_a_component_and_name() {
        assert_eq!(Role::AttnQkv.name(), "attn_qkv");
        assert_eq!(Role::AttnKvA.name(), "attn_kv_a");
        assert_eq!(Role::ExpertGate.component(), Component::Experts);
        assert_eq!(Role::SharedExpertGate.component(), Component::Mlp);
    }
}

//! Strict mirrors of the `tensors`, `stats` and `summary` JSON documents (docs/json.md), for the
//! tests that read more than one of them, and [`strict`], which reads a document into its mirror
//! in both directions.
//!
//! `deny_unknown_fields` makes a key the mirror does not know an error, but serde reads a missing
//! `Option` field as `None`, so a key missing from the output and from the expectation would still
//! compare equal (`null == null`). [`strict`] closes that gap: it serialises the mirror back and
//! requires every key it writes to be in the document. Fields the output leaves out on purpose are
//! marked `skip_serializing_if`, so the check skips them where the output does.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Reads `bytes` (a JSON document, `what` naming it in failures) into the mirror `T`, refusing
/// keys the mirror does not know and keys the mirror knows that the document lacks.
pub fn strict<T: DeserializeOwned + Serialize>(bytes: &[u8], what: &str) -> T {
    let doc: Value =
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    let mirror: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{what}: does not match its strict mirror: {e}"));
    let back = serde_json::to_value(&mirror).expect("mirrors serialise");
    let mut missing = Vec::new();
    missing_keys(&back, &doc, "", &mut missing);
    assert!(
        missing.is_empty(),
        "{what}: keys the mirror expects but the document lacks: {missing:?}"
    );
    mirror
}

/// The paths of the object keys in `mirror` that `doc` lacks, at every depth.
fn missing_keys(mirror: &Value, doc: &Value, path: &str, out: &mut Vec<String>) {
    match (mirror, doc) {
        (Value::Object(m), Value::Object(d)) => {
            for (k, v) in m {
                let here = format!("{path}.{k}");
                match d.get(k) {
                    Some(dv) => missing_keys(v, dv, &here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(m), Value::Array(d)) => {
            for (i, (mv, dv)) in m.iter().zip(d).enumerate() {
                missing_keys(mv, dv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

// ---- the model object (every document) -------------------------------------------------------

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelObj {
    pub path: String,
    pub format: String,
    pub files: Vec<FileObj>,
    pub tensor_count: usize,
    pub parameter_count: u64,
    pub bytes: u64,
    pub bits_per_weight: Option<f64>,
    pub parameters_by_dtype: BTreeMap<String, u64>,
    pub documents: Vec<DocumentObj>,
    pub notes: Vec<FindingObj>,
    /// Only for a remote model (`hf:…`, a URL): bytes received over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_bytes: Option<u64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileObj {
    pub path: String,
    pub name: String,
    pub bytes: u64,
    pub header_bytes: u64,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentObj {
    pub kind: String,
    pub path: String,
    pub bytes: u64,
}

// ---- `glassbox tensors` ------------------------------------------------------------------------

/// `glassbox tensors --format json`; `T` is [`TensorObj`] for safetensors, [`GgufTensorObj`] for
/// GGUF.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TensorsDoc<T = TensorObj> {
    pub schema_version: u32,
    pub model: ModelObj,
    pub tensors: Vec<T>,
}

/// A tensor of a safetensors model.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TensorObj {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
    pub bytes: u64,
    pub file: String,
    pub offset: u64,
    pub bits_per_weight: Option<f64>,
}

/// A tensor of a GGUF model: the same keys and three more.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GgufTensorObj {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
    pub bytes: u64,
    pub file: String,
    pub offset: u64,
    pub bits_per_weight: Option<f64>,
    /// Always present; null where the architecture's name mapping does not know the tensor.
    pub hf_name: Option<String>,
    pub gguf_shape: Vec<u64>,
    pub ggml_type: u32,
}

// ---- `glassbox stats` --------------------------------------------------------------------------

/// `glassbox stats --format json`; `T` is the tensor object with its `stats`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatsDoc<T> {
    pub schema_version: u32,
    pub model: ModelObj,
    pub tensors: Vec<T>,
    pub blocks: Vec<StatsGroupObj>,
    pub total: StatsGroupObj,
    pub buffers: StatsGroupObj,
    pub findings: Vec<FindingObj>,
}

/// A tensor of a GGUF model with its statistics.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GgufStatsTensorObj {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
    pub bytes: u64,
    pub file: String,
    pub offset: u64,
    pub bits_per_weight: Option<f64>,
    pub hf_name: Option<String>,
    pub gguf_shape: Vec<u64>,
    pub ggml_type: u32,
    pub stats: StatsObj,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatsObj {
    pub count: u64,
    pub finite: u64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub abs_max: Option<f64>,
    pub l2_norm: Option<f64>,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
    pub p1: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub histogram: Option<HistogramObj>,
    pub outliers: u64,
    pub outlier_sigmas: f64,
    pub exact_distribution: bool,
    pub distribution: String,
    pub dead_rows: Option<u64>,
    pub dead_columns: Option<u64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramObj {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

/// A block's or the model's aggregate (`total` has no `block` key).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatsGroupObj {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    pub tensors: usize,
    pub count: u64,
    pub finite: u64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub abs_max: Option<f64>,
    pub l2_norm: Option<f64>,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FindingObj {
    pub severity: String,
    pub code: String,
    pub tensor: Option<String>,
    /// Only when the finding is about one file or one key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub message: String,
    /// The fields the message was rendered from; left out when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<BTreeMap<String, Value>>,
}

// ---- `glassbox summary` ------------------------------------------------------------------------

/// `glassbox summary --format json`. `metadata` is there for GGUF models only.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryDoc {
    pub schema_version: u32,
    pub model: ModelObj,
    pub architecture: super::ArchitectureObj,
    pub parameters: ParametersObj,
    pub blocks: Vec<StackObj>,
    pub other_tensors: Vec<OtherTensorObj>,
    pub checks: Vec<CheckObj>,
    pub memory: MemoryObj,
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<GgufMetadataObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParametersObj {
    pub total: u64,
    pub buffers: u64,
    pub by_component: BTreeMap<String, u64>,
    pub active: Option<u64>,
    pub active_basis: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StackObj {
    pub prefix: String,
    pub count: u64,
    pub main: bool,
    pub groups: Vec<BlockGroupObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockGroupObj {
    pub pattern: String,
    pub indices: Vec<u64>,
    pub typical: bool,
    pub tensors: Vec<BlockTensorObj>,
    pub parameters_per_block: u64,
    pub outline: String,
    pub differences: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockTensorObj {
    pub name: String,
    pub role: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OtherTensorObj {
    pub name: String,
    pub role: String,
    pub component: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckObj {
    pub field: String,
    pub declared: Value,
    pub observed: Value,
    pub status: String,
    pub declared_key: Option<String>,
    pub basis: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryObj {
    pub weights_stored_bytes: u64,
    pub weights_16bit_bytes: u64,
    pub weights_8bit_bytes: u64,
    pub weights_4bit_bytes: u64,
    pub kv_cache: Option<KvObj>,
    pub kv_cache_note: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KvObj {
    pub bytes_per_token: u64,
    pub formula: String,
    pub layers: u64,
    pub elements_per_layer: u64,
    pub bytes_per_element: u64,
    pub context_length: Option<u64>,
    pub bytes_at_context: Option<u64>,
    pub sliding_window: Option<u64>,
    pub sliding_layers: u64,
    pub sliding_rule: Option<String>,
}

/// What a GGUF model's metadata says about it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GgufMetadataObj {
    pub gguf_version: u32,
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub license: Option<String>,
    pub file_type: Option<u64>,
    pub quantization_version: Option<u64>,
    pub base_models: Vec<SourceObj>,
    pub datasets: Vec<SourceObj>,
    pub tokenizer: TokenizerObj,
    pub bits_per_weight: Option<f64>,
    pub split_count: Option<u64>,
}

/// A base model or a dataset: only the fields the file names are written.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceObj {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerObj {
    pub model: Option<String>,
    pub pre: Option<String>,
    pub tokens: Option<u64>,
    pub merges: Option<u64>,
    pub bos_token_id: Option<u64>,
    pub eos_token_id: Option<u64>,
    pub eot_token_id: Option<u64>,
    pub eom_token_id: Option<u64>,
    pub unknown_token_id: Option<u64>,
    pub padding_token_id: Option<u64>,
    pub add_bos_token: Option<bool>,
    pub add_eos_token: Option<bool>,
    pub chat_template: Option<String>,
    pub named_chat_templates: Vec<String>,
    pub has_hf_json: bool,
}

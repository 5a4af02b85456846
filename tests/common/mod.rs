//! Strict mirrors of the JSON contract (docs/json.md) shared by the integration tests: every key
//! must be known (`deny_unknown_fields`), so an undocumented key fails the tests. Not every test
//! reads every field.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The committed fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs the binary from the package root (relative paths in snapshots stay stable), without
/// colour unless asked for.
pub fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run glassbox")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The `architecture` object of `glassbox summary --format json`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureObj {
    pub family: Option<String>,
    pub family_known: bool,
    pub family_source: Option<String>,
    pub family_evidence: String,
    pub signature: Option<String>,
    pub convention: Option<String>,
    pub kind: Option<String>,
    pub class: Option<String>,
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
    pub decoder_layers: Option<u64>,
    pub expert_intermediate_size: Option<u64>,
    pub shared_experts: Option<u64>,
    pub attention: Option<String>,
    pub sliding_window: Option<u64>,
    pub rope_theta: Option<f64>,
    pub dtype: Option<String>,
}

/// A finding (docs/json.md): the model's open notes and the statistics findings. `file` or `key`
/// only when the finding is about one; `evidence` only when it has fields.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingObj {
    pub severity: String,
    pub code: String,
    pub tensor: Option<String>,
    pub file: Option<String>,
    pub key: Option<String>,
    pub message: String,
    pub evidence: Option<serde_json::Map<String, serde_json::Value>>,
}

// ---- the summary document (`glassbox summary --format json`) ----

/// The whole summary document; `metadata` only for GGUF models.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryDoc {
    pub schema_version: u32,
    pub model: ModelObj,
    pub architecture: ArchitectureObj,
    pub parameters: ParametersObj,
    pub blocks: Vec<StackObj>,
    pub other_tensors: Vec<OtherTensorObj>,
    pub checks: Vec<CheckObj>,
    pub memory: MemoryObj,
    pub notes: Vec<String>,
    #[serde(default)]
    pub metadata: Option<MetadataObj>,
}

/// The `model` object every document carries.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelObj {
    pub path: String,
    pub format: String,
    pub files: Vec<FileObj>,
    pub tensor_count: usize,
    pub parameter_count: u64,
    pub bytes: u64,
    pub bits_per_weight: Option<f64>,
    pub parameters_by_dtype: std::collections::BTreeMap<String, u64>,
    pub documents: Vec<DocumentObj>,
    pub notes: Vec<FindingObj>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObj {
    pub path: String,
    pub name: String,
    pub bytes: u64,
    pub header_bytes: u64,
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentObj {
    pub kind: String,
    pub path: String,
    pub bytes: u64,
}

/// A GGUF model's `metadata` object.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataObj {
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

/// A base model or dataset: absent fields are left out.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceObj {
    pub name: Option<String>,
    pub author: Option<String>,
    pub version: Option<String>,
    pub organization: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub uuid: Option<String>,
    pub repo_url: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
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

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParametersObj {
    pub total: u64,
    pub by_component: std::collections::BTreeMap<String, u64>,
    pub active: Option<u64>,
    pub active_basis: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackObj {
    pub prefix: String,
    pub count: u64,
    pub main: bool,
    pub groups: Vec<GroupObj>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupObj {
    pub pattern: String,
    pub indices: Vec<u64>,
    pub typical: bool,
    pub tensors: Vec<BlockTensorObj>,
    pub parameters_per_block: u64,
    pub outline: String,
    pub differences: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockTensorObj {
    pub name: String,
    pub role: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherTensorObj {
    pub name: String,
    pub role: String,
    pub component: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckObj {
    pub field: String,
    pub declared: serde_json::Value,
    pub observed: serde_json::Value,
    pub status: String,
    pub declared_key: Option<String>,
    pub basis: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryObj {
    pub weights_stored_bytes: u64,
    pub weights_16bit_bytes: u64,
    pub weights_8bit_bytes: u64,
    pub weights_4bit_bytes: u64,
    pub kv_cache: Option<KvObj>,
    pub kv_cache_note: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
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

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

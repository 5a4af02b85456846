//! Strict mirrors of the JSON contract (docs/json.md) shared by the integration tests: every key
//! must be known (`deny_unknown_fields`), so an undocumented key fails the tests. Not every test
//! reads every field.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

mod mirrors;
// Each test binary uses some of the mirrors, none uses them all.
#[allow(unused_imports)]
pub use mirrors::*;

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
#[derive(Debug, serde::Deserialize, serde::Serialize)]
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

/// Writes a safetensors file of `tensors` F32 tensors `t0`, `t1`, … of `values` values each,
/// sparse (a hole: zeros); returns where the data starts (8 + JSON) and the file length.
pub fn sparse_f32(path: &std::path::Path, tensors: u64, values: u64) -> (u64, u64) {
    let names = (0..tensors).map(|i| format!("t{i}"));
    sparse_safetensors(path, "F32", &[values], names)
}

/// Writes a safetensors file of one tensor per name, each of `dtype` (2 or 4 bytes a value) and
/// `shape`, sparse (a hole: zeros, no disk); returns where the data starts and the file length.
pub fn sparse_safetensors(
    path: &std::path::Path,
    dtype: &str,
    shape: &[u64],
    names: impl Iterator<Item = String>,
) -> (u64, u64) {
    use std::io::Write;
    let width = if dtype == "F32" { 4 } else { 2 };
    let bytes = width * shape.iter().product::<u64>();
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let entries: Vec<String> = names
        .enumerate()
        .map(|(i, name)| {
            let i = i as u64;
            format!(
                "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                dims.join(","),
                i * bytes,
                (i + 1) * bytes
            )
        })
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let start = 8 + header.len() as u64;
    let len = start + entries.len() as u64 * bytes;
    f.set_len(len).unwrap();
    (start, len)
}

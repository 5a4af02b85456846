//! The JSON documents (`--format json`), schema version 1. docs/json.md describes every key.

use serde::Serialize;

use crate::arch::gguf_names::gguf_to_hf_name;
use crate::model::{DType, Document, Model, OpenNote, TensorInfo};

/// Bumped only when a key changes meaning or disappears; new keys may be added at any time.
pub const SCHEMA_VERSION: u32 = 1;

/// The `model` object every document carries.
#[derive(Debug, Serialize)]
pub struct ModelJson<'a> {
    pub path: String,
    pub format: &'static str,
    pub files: Vec<FileJson<'a>>,
    pub tensor_count: usize,
    pub parameter_count: u64,
    pub bytes: u64,
    /// Storage bits per weight over the tensors of known size.
    pub bits_per_weight: Option<f64>,
    pub parameters_by_dtype: std::collections::BTreeMap<&'static str, u64>,
    pub documents: &'a [Document],
    pub notes: &'a [OpenNote],
}

/// One weight file.
#[derive(Debug, Serialize)]
pub struct FileJson<'a> {
    pub path: String,
    pub name: &'a str,
    pub bytes: u64,
    pub header_bytes: u64,
    pub metadata: &'a std::collections::BTreeMap<String, String>,
}

impl<'a> ModelJson<'a> {
    pub fn new(model: &'a Model) -> Self {
        ModelJson {
            path: model.path.display().to_string(),
            format: model.format.name(),
            files: model
                .files
                .iter()
                .map(|f| FileJson {
                    path: f.path.display().to_string(),
                    name: &f.name,
                    bytes: f.len,
                    header_bytes: f.header_bytes,
                    metadata: &f.metadata,
                })
                .collect(),
            tensor_count: model.tensors.len(),
            parameter_count: model.parameter_count(),
            bytes: model.tensor_bytes_total(),
            bits_per_weight: model.bits_per_weight(),
            parameters_by_dtype: model
                .parameters_by_dtype()
                .into_iter()
                .map(|(d, n)| (d.name(), n))
                .collect(),
            documents: &model.documents,
            notes: &model.notes,
        }
    }
}

/// One tensor object.
#[derive(Debug, Serialize)]
pub struct TensorJson<'a> {
    pub name: &'a str,
    pub dtype: &'static str,
    pub shape: &'a [u64],
    pub parameters: u64,
    pub bytes: u64,
    pub file: &'a str,
    pub offset: u64,
    /// `bytes · 8 / parameters`; `null` for an empty tensor or a type of unknown size.
    pub bits_per_weight: Option<f64>,
    /// GGUF models only.
    #[serde(flatten)]
    pub gguf: Option<GgufTensorJson>,
}

/// The keys a GGUF tensor adds.
#[derive(Debug, Serialize)]
pub struct GgufTensorJson {
    /// The Hugging Face name of the tensor, where the mapping for the architecture knows it.
    pub hf_name: Option<String>,
    /// The shape as GGUF stores it, innermost dimension first.
    pub gguf_shape: Vec<u64>,
    /// The ggml type id (the only identification of a type glassbox does not know).
    pub ggml_type: u32,
}

impl GgufTensorJson {
    pub fn new(model: &Model, t: &TensorInfo) -> Option<Self> {
        let header = model.gguf.as_ref()?;
        Some(GgufTensorJson {
            hf_name: header
                .architecture()
                .and_then(|arch| gguf_to_hf_name(arch, &t.name)),
            gguf_shape: t.gguf_shape(),
            ggml_type: match t.dtype {
                DType::Unknown(id) => id,
                d => d.ggml_type().map_or(u32::MAX, |g| g.id()),
            },
        })
    }
}

impl<'a> TensorJson<'a> {
    pub fn new(model: &'a Model, t: &'a TensorInfo) -> Self {
        TensorJson {
            name: &t.name,
            dtype: t.dtype.name(),
            shape: &t.shape,
            parameters: t.parameters(),
            bytes: t.bytes,
            file: &model.files[t.file].name,
            offset: t.offset,
            bits_per_weight: t.bits_per_weight(),
            gguf: GgufTensorJson::new(model, t),
        }
    }
}

/// The `glassbox tensors --format json` document.
#[derive(Debug, Serialize)]
pub struct TensorsDocument<'a> {
    pub schema_version: u32,
    pub model: ModelJson<'a>,
    pub tensors: Vec<TensorJson<'a>>,
}

/// Serialises with a trailing newline. Non-finite floats must already be `None` (→ `null`).
pub fn to_string<T: Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("JSON documents serialise");
    s.push('\n');
    s
}

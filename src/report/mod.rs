//! The report model: what every face (text, markdown, JSON, and next the TUI, the diff and the
//! transparency report) shows, computed once by the library.
//!
//! Each command has one report type, built by a library function from the model and what the
//! library computed on it, and serialisable: its serde form *is* the command's JSON document
//! (docs/json.md). Renderers in [`crate::render`] only format these types; they never look at the
//! [`Model`], branch on the file format or compute content. Fields a text face needs but JSON does
//! not carry (a dtype mix in display order, a chat template's first line) are `#[serde(skip)]`.
//!
//! - [`summary::SummaryReport`] (`glassbox summary`): architecture, parameters, blocks, checks,
//!   memory and the metadata the files declare;
//! - [`tensors::TensorTable`] (`glassbox tensors`): one row per tensor, with totals;
//! - [`stats::StatsReport`] (`glassbox stats`): statistics per tensor, per block and for the
//!   model, and the findings;
//! - [`diff::DiffReport`] (`glassbox diff`): the comparison of two models;
//!
//! Every report carries the [`ModelObject`]: where the model is, its files and totals.

pub mod cache;
pub mod diff;
pub mod metadata;
pub mod stats;
pub mod summary;
pub mod tensors;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arch::gguf_names::gguf_to_hf_name;
use crate::finding::Finding;
use crate::model::{DType, Document, Model, TensorInfo};

/// Bumped only when a key changes meaning or disappears; new keys may be added at any time.
pub const SCHEMA_VERSION: u32 = 1;

/// The `model` object every report carries: the model's files and totals, all from
/// [`crate::model::open`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelObject {
    /// The path the user gave ([`Model::path`]).
    pub path: String,
    /// `safetensors` or `gguf` ([`Model::format`]).
    pub format: &'static str,
    /// The weight files, in tensor-table order ([`Model::files`]).
    pub files: Vec<FileObject>,
    pub tensor_count: usize,
    /// [`Model::parameter_count`].
    pub parameter_count: u64,
    /// Bytes of tensor data ([`Model::tensor_bytes_total`]).
    pub bytes: u64,
    /// Storage bits per weight over the tensors of known size ([`Model::bits_per_weight`]).
    pub bits_per_weight: Option<f64>,
    /// [`Model::parameters_by_dtype`], keyed by dtype name.
    pub parameters_by_dtype: BTreeMap<&'static str, u64>,
    /// Side documents found beside the weights ([`Model::documents`]).
    pub documents: Vec<Document>,
    /// What opening the files noticed ([`Model::notes`]).
    pub notes: Vec<Finding>,
    /// For a model read over HTTP (headers only): the bytes fetched ([`Model::remote`]); absent
    /// for a model on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_bytes: Option<u64>,
    /// The last component of the path, as a title names the model (not in JSON).
    #[serde(skip)]
    pub display_name: String,
    /// The model's own name: GGUF `general.name`, else the folder of a `model*` weight file or an
    /// index, else the last component of the path (not in JSON).
    #[serde(skip)]
    pub title: String,
    /// The format with its version where it has one: `safetensors`, `GGUF v3` (not in JSON,
    /// where `format` and the summary's `metadata.gguf_version` tell).
    #[serde(skip)]
    pub format_label: String,
}

/// One weight file of the [`ModelObject`] ([`crate::model::WeightFile`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileObject {
    pub path: String,
    /// The name shown in tables.
    pub name: String,
    pub bytes: u64,
    pub header_bytes: u64,
    /// safetensors `__metadata__`.
    pub metadata: BTreeMap<String, String>,
}

impl ModelObject {
    pub fn new(model: &Model) -> Self {
        ModelObject {
            path: model.path.display().to_string(),
            format: model.format.name(),
            files: model
                .files
                .iter()
                .map(|f| FileObject {
                    path: f.path.display().to_string(),
                    name: f.name.clone(),
                    bytes: f.len,
                    header_bytes: f.header_bytes,
                    metadata: f.metadata.clone(),
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
            documents: model.documents.clone(),
            notes: model.notes.clone(),
            fetched_bytes: model.remote.as_ref().map(|r| r.fetched_bytes),
            display_name: model
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| model.path.display().to_string()),
            title: model_title(model),
            format_label: match model.gguf.as_deref() {
                Some(header) => format!("GGUF v{}", header.version),
                None => model.format.name().to_owned(),
            },
        }
    }
}

/// [`ModelObject::title`]: the name a model gives itself, else the name of what the user pointed
/// at, where a generic weight file (`model.safetensors`, an index) stands for its folder.
fn model_title(model: &Model) -> String {
    if let Some(name) = model.gguf.as_deref().and_then(|g| g.name()) {
        return name.to_owned();
    }
    let generic_file = !model.path.is_dir()
        && model.path.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with("model") || n.ends_with(".index.json")
        });
    let path = if generic_file {
        model.folder()
    } else {
        model.path.as_path()
    };
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Parameters per dtype, largest first (ties in dtype order): the storage mix of a model or of a
/// selection of its tensors.
pub fn dtype_mix<'a>(tensors: impl IntoIterator<Item = &'a TensorInfo>) -> Vec<DTypeCount> {
    let mut by = BTreeMap::new();
    for t in tensors {
        *by.entry(t.dtype).or_insert(0u64) += t.parameters();
    }
    let mut list: Vec<DTypeCount> = by
        .into_iter()
        .map(|(dtype, parameters)| DTypeCount { dtype, parameters })
        .collect();
    // Stable: equal counts keep the dtype order.
    list.sort_by_key(|e| std::cmp::Reverse(e.parameters));
    list
}

/// The parameters stored in one dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DTypeCount {
    pub dtype: DType,
    pub parameters: u64,
}

/// One tensor of a table: where it is and what it holds, from [`TensorInfo`] (and, for GGUF, the
/// llama.cpp → Hugging Face name mapping of the architecture rules).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorRow {
    pub name: String,
    /// Named as its format names it (`BF16`, `Q4_K`; `type N` only in text for unknown types).
    pub dtype: DType,
    /// Row-major, outermost dimension first.
    pub shape: Vec<u64>,
    pub parameters: u64,
    pub bytes: u64,
    /// The file's name, as [`FileObject::name`].
    pub file: String,
    pub offset: u64,
    /// `bytes · 8 / parameters` ([`TensorInfo::bits_per_weight`]); `None` for an empty tensor or a
    /// type of unknown size.
    pub bits_per_weight: Option<f64>,
    /// GGUF models only.
    #[serde(flatten)]
    pub gguf: Option<GgufTensor>,
}

/// The keys a GGUF tensor adds to its row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgufTensor {
    /// The Hugging Face name of the tensor, where the mapping for the architecture knows it.
    pub hf_name: Option<String>,
    /// The shape as GGUF stores it, innermost dimension first.
    pub gguf_shape: Vec<u64>,
    /// The ggml type id (the only identification of a type glassbox does not know).
    pub ggml_type: u32,
}

impl TensorRow {
    pub fn new(model: &Model, t: &TensorInfo) -> Self {
        TensorRow {
            name: t.name.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
            parameters: t.parameters(),
            bytes: t.bytes,
            file: model.files[t.file].name.clone(),
            offset: t.offset,
            bits_per_weight: t.bits_per_weight(),
            gguf: model.gguf.as_ref().map(|header| GgufTensor {
                hf_name: header
                    .architecture()
                    .and_then(|arch| gguf_to_hf_name(arch, &t.name)),
                gguf_shape: t.gguf_shape(),
                ggml_type: match t.dtype {
                    DType::Unknown(id) => id,
                    d => d.ggml_type().map_or(u32::MAX, |g| g.id()),
                },
            }),
        }
    }

    /// Whether glassbox knows the dtype (and so the size and decoding) of the tensor.
    pub fn known_dtype(&self) -> bool {
        !matches!(self.dtype, DType::Unknown(_))
    }
}

//! The model: its weight files (memory-mapped read-only), its tensor table, and the documents found
//! beside the weights.
//!
//! [`open`] accepts a `.safetensors` file, a `*.safetensors.index.json` (or the folder holding it),
//! or a folder of `.safetensors` files. Opening reads headers only; tensor data is read later, by the
//! `compute_*` functions, through [`Model::tensor_bytes`].

pub mod dtype;
mod measure;
mod open;
pub mod sort;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use dtype::DType;
pub use open::open;

/// The on-disk format of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Safetensors,
    Gguf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
        }
    }
}

/// One tensor: where its bytes are and what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    /// Row-major, outermost dimension first.
    pub shape: Vec<u64>,
    /// Index into [`Model::files`].
    pub file: usize,
    /// Absolute byte offset of the first byte in its file.
    pub offset: u64,
    /// Length of the data in bytes.
    pub bytes: u64,
}

impl TensorInfo {
    /// Number of values (the product of the shape; 1 for a scalar).
    pub fn parameters(&self) -> u64 {
        // Validated at open: the product fits in u64.
        self.shape.iter().product()
    }
}

/// One weight file, mapped read-only.
#[derive(Debug)]
pub struct WeightFile {
    /// The path as opened (joined from what the user gave).
    pub path: PathBuf,
    /// The name shown in tables (the file name).
    pub name: String,
    pub len: u64,
    /// Length of the format header (bytes before the data section).
    pub header_bytes: u64,
    /// Format-level metadata (safetensors `__metadata__`).
    pub metadata: BTreeMap<String, String>,
    /// Unused byte ranges inside the data section (absolute offsets): readable, but suspicious.
    pub gaps: Vec<(u64, u64)>,
    /// Bytes after the last tensor.
    pub trailing_bytes: u64,
    map: memmap2::Mmap,
}

impl WeightFile {
    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Tells the kernel the pages in `range` (absolute offsets) will not be needed again, so
    /// resident memory stays bounded when a model larger than memory is read once. The data stays
    /// in the page cache; the range is widened to whole pages (see below).
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        {
            const PAGE: usize = 4096;
            // The kernel maps file pages in folios of up to 2 MiB: a fault just after `range`
            // can map the folio's pages back into the range released before it, where no later
            // release would reach them. Reaching back to the folio boundary releases those too
            // (pages still being read elsewhere simply fault in again).
            const FOLIO: usize = 2 << 20;
            let start = (range.start / FOLIO) * FOLIO;
            let end = (range.end.min(self.map.len()) / PAGE) * PAGE;
            if end > start {
                // SAFETY: the map is read-only and file-backed; MADV_DONTNEED on such a mapping only
                // drops this process's page-table entries, and a later access faults the same file
                // contents back in, so no slice handed out earlier can observe a change.
                let _ = unsafe {
                    self.map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// A side document found next to the weights.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Document {
    /// What it is: `config`, `generation_config`, `tokenizer`, `tokenizer_config`,
    /// `special_tokens_map`, `model_card`, `license`.
    pub kind: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
}

/// Something readable but suspicious about the files, found while opening.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenNote {
    /// A stable code: `gap`, `trailing_bytes`, `config_invalid`, `index_total_size`,
    /// `index_extra_tensor`, `metadata`.
    pub code: &'static str,
    pub message: String,
}

/// A model on disk, opened.
#[derive(Debug)]
pub struct Model {
    /// The path the user gave.
    pub path: PathBuf,
    pub format: Format,
    pub files: Vec<WeightFile>,
    /// Every tensor, in file order then header order.
    pub tensors: Vec<TensorInfo>,
    /// Side documents found next to the weights.
    pub documents: Vec<Document>,
    /// `config.json`, parsed, when present and valid.
    pub config: Option<serde_json::Value>,
    /// Readable-but-suspicious observations made while opening.
    pub notes: Vec<OpenNote>,
}

impl Model {
    /// The bytes of one tensor (validated at open to lie inside its file).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        &self.files[t.file].bytes()[t.offset as usize..(t.offset + t.bytes) as usize]
    }

    /// Total number of parameters.
    pub fn parameter_count(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::parameters).sum()
    }

    /// Total bytes of tensor data.
    pub fn tensor_bytes_total(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }

    /// Parameters per dtype, in dtype order.
    pub fn parameters_by_dtype(&self) -> BTreeMap<DType, u64> {
        let mut out = BTreeMap::new();
        for t in &self.tensors {
            *out.entry(t.dtype).or_insert(0) += t.parameters();
        }
        out
    }

    /// The document of a kind, if found.
    pub fn document(&self, kind: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.kind == kind)
    }

    /// The folder the model lives in.
    pub fn folder(&self) -> &Path {
        self.files
            .first()
            .and_then(|f| f.path.parent())
            .unwrap_or(Path::new("."))
    }
}

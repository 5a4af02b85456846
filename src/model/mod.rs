//! The model: its weight files (memory-mapped read-only), its tensor table, and the documents found
//! beside the weights.
//!
//! [`open`] accepts a `.safetensors` file, a `*.safetensors.index.json` (or the folder holding it),
//! a folder of `.safetensors` files, or a `.gguf` file (any part of a split GGUF model, or the folder
//! holding it), or a PyTorch checkpoint (`*.bin`, `*.pt`, `*.pth`, `*.ckpt`, zip or legacy, or a
//! `pytorch_model.bin.index.json`; read without running its pickle, see `open_torch`). GGUF shapes
//! are reversed to row-major at open; the GGUF header (metadata, version) is kept on
//! [`Model::gguf`]. Opening reads headers only; tensor data is read later, by the
//! `compute_*` functions, through [`Model::tensor_bytes`].
//!
//! Weight files are mapped ([`Reading::Mapped`], guarded against a file that shrinks by [`guard`]),
//! or, with `--no-mmap` ([`Reading::Pread`]), read with `pread` by [`pager`] behind the same byte
//! slices, so no reader knows the difference.

pub mod guard;
pub mod naming;
mod open;
mod open_torch;
pub mod pager;
mod reference;
pub mod sort;
pub mod tokenizer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The element types live in the leaf [`crate::dtype`]; re-exported here, where they always were.
pub use crate::dtype::{self, DType};
pub use open::{open, open_with};
pub use reference::{Remote, open_blob, open_reference, open_reference_with};

/// The on-disk format of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Safetensors,
    Gguf,
    /// A PyTorch checkpoint (zip or legacy pickle), read without running it.
    Pytorch,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Pytorch => "pytorch",
        }
    }
}

/// How weight files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reading {
    /// Memory-mapped (the default: the fastest, and the page cache is shared).
    #[default]
    Mapped,
    /// Read with `pread` as they are touched, never mapped (`--no-mmap`: network filesystems,
    /// files still being written). See [`pager`].
    Pread,
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

    /// Storage bits per value (`bytes · 8 / parameters`); `None` for an empty tensor or a type of
    /// unknown size.
    pub fn bits_per_weight(&self) -> Option<f64> {
        let n = self.parameters();
        (n > 0 && !matches!(self.dtype, DType::Unknown(_)))
            .then(|| self.bytes as f64 * 8.0 / n as f64)
    }

    /// The shape in GGUF order (innermost dimension first): the row-major shape reversed.
    pub fn gguf_shape(&self) -> Vec<u64> {
        self.shape.iter().rev().copied().collect()
    }
}

/// One weight file, mapped read-only or read through the pager.
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
    /// The file's modification time at open, to tell a file rewritten in place.
    modified: Option<std::time::SystemTime>,
    backing: Backing,
}

/// Where a weight file's bytes come from.
#[derive(Debug)]
enum Backing {
    /// A read-only map. `guard`, the map's entry in the SIGBUS guard, is declared before `map` so
    /// it is dropped (unregistered) before the map is unmapped.
    Map {
        guard: guard::Registration,
        map: memmap2::Mmap,
    },
    /// The `--no-mmap` pager.
    Paged(pager::Paged),
    /// The file's first bytes only (at least its header): a remote file read with range
    /// requests ([`WeightFile::without_data`]).
    Header(Vec<u8>),
}

impl WeightFile {
    /// Wraps a map of the file at `path` (its length and modification time as opened), registering
    /// it with the SIGBUS guard.
    pub(crate) fn mapped(
        path: PathBuf,
        len: u64,
        modified: Option<std::time::SystemTime>,
        map: memmap2::Mmap,
    ) -> WeightFile {
        let guard = guard::Registration::new(map.as_ptr(), map.len());
        WeightFile::backed(path, len, modified, Backing::Map { guard, map })
    }

    /// A weight file read with `pread` through the pager (`--no-mmap`).
    pub(crate) fn paged(
        path: PathBuf,
        len: u64,
        modified: Option<std::time::SystemTime>,
        file: std::fs::File,
    ) -> std::io::Result<WeightFile> {
        let paged = pager::Paged::open(file, len)?;
        Ok(WeightFile::backed(
            path,
            len,
            modified,
            Backing::Paged(paged),
        ))
    }

    /// A file known only by its first bytes (`head`, at least its header) and its length: a
    /// remote file read with range requests. [`WeightFile::bytes`] is `head`, so every tensor
    /// past it reads as empty ([`Model::tensor_bytes`]); it never changes ([`WeightFile::changed`]).
    pub fn without_data(path: PathBuf, len: u64, head: Vec<u8>) -> WeightFile {
        WeightFile::backed(path, len, None, Backing::Header(head))
    }

    fn backed(
        path: PathBuf,
        len: u64,
        modified: Option<std::time::SystemTime>,
        backing: Backing,
    ) -> WeightFile {
        WeightFile {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path,
            len,
            header_bytes: 0,
            metadata: BTreeMap::new(),
            gaps: Vec::new(),
            trailing_bytes: 0,
            modified,
            backing,
        }
    }

    /// Whether the file's data is here (mapped or paged), rather than only its header.
    pub fn has_data(&self) -> bool {
        !matches!(self.backing, Backing::Header(_))
    }

    /// Whether the file is still what was opened: no read of it faulted (it shrank) and its
    /// length and modification time are unchanged (it was not extended or rewritten). Returns the
    /// offset of the faulting read, if one did, inside the error's cause.
    pub fn changed(&self) -> Option<Option<u64>> {
        let fault = match &self.backing {
            Backing::Map { guard, .. } => guard.fault_offset(),
            Backing::Paged(paged) => paged.fault_offset(),
            // Headers fetched over HTTP: nothing on disk to change.
            Backing::Header(_) => return None,
        };
        if let Some(offset) = fault {
            return Some(Some(offset as u64));
        }
        let now = std::fs::metadata(&self.path).ok();
        let same = now.is_some_and(|m| m.len() == self.len && m.modified().ok() == self.modified);
        (!same).then_some(None)
    }

    /// The whole file (for a file without data, its header bytes).
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Map { map, .. } => map,
            Backing::Paged(paged) => paged.bytes(),
            Backing::Header(head) => head,
        }
    }

    /// Whether the file is read through the pager (`--no-mmap`) rather than mapped.
    pub fn is_paged(&self) -> bool {
        matches!(self.backing, Backing::Paged(_))
    }

    /// Tells the kernel the pages in `range` (absolute offsets) will not be needed again, so
    /// resident memory stays bounded when a model larger than memory is read once. The data stays
    /// in the page cache; the range is widened to whole pages (see below). Through the pager, the
    /// windows wholly inside `range` are freed.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let map = match &self.backing {
            Backing::Map { map, .. } => map,
            Backing::Paged(paged) => return paged.release(range),
            Backing::Header(_) => return,
        };
        #[cfg(unix)]
        {
            const PAGE: usize = 4096;
            // The kernel maps file pages in folios of up to 2 MiB: a fault just after `range`
            // can map the folio's pages back into the range released before it, where no later
            // release would reach them. Reaching back to the folio boundary releases those too
            // (pages still being read elsewhere simply fault in again).
            const FOLIO: usize = 2 << 20;
            let start = (range.start / FOLIO) * FOLIO;
            let end = (range.end.min(map.len()) / PAGE) * PAGE;
            if end > start {
                // SAFETY: the map is read-only and file-backed; MADV_DONTNEED on such a mapping only
                // drops this process's page-table entries, and a later access faults the same file
                // contents back in, so no slice handed out earlier can observe a change.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        #[cfg(not(unix))]
        let _ = (range, map);
    }
}

/// Batches [`WeightFile::release`] calls: the statistics engine releases every piece it has read
/// (4 MiB by default), and each `madvise` costs a TLB shootdown on every core, about a tenth of
/// the whole run on a 2 GiB file in the page cache. Adjacent ranges of one file are gathered and
/// released once they span [`Releaser::BATCH`] bytes, when another file or a distant range comes,
/// and when the releaser is dropped, so resident memory stays bounded (by one batch more).
pub(crate) struct Releaser<'a> {
    files: &'a [WeightFile],
    pending: std::sync::Mutex<Option<(usize, std::ops::Range<usize>)>>,
}

impl<'a> Releaser<'a> {
    /// Bytes gathered before they are released.
    pub const BATCH: usize = 64 << 20;

    pub fn new(files: &'a [WeightFile]) -> Releaser<'a> {
        Releaser {
            files,
            pending: std::sync::Mutex::new(None),
        }
    }

    /// Releases `range` (absolute offsets) of file `file`, now or with the next batch.
    pub fn release(&self, file: usize, range: std::ops::Range<usize>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let extend = match &mut *pending {
            Some((f, r))
                if *f == file
                    && range.start >= r.start
                    && range.start <= r.end.saturating_add(Self::BATCH) =>
            {
                r.end = r.end.max(range.end);
                true
            }
            _ => false,
        };
        if !extend {
            if let Some((f, r)) = pending.take() {
                self.files[f].release(r);
            }
            *pending = Some((file, range));
        }
        if let Some((f, r)) = pending.take_if(|(_, r)| r.len() >= Self::BATCH) {
            self.files[f].release(r);
        }
    }
    /// Releases `range` of tensor `t`'s bytes (offsets within the tensor, as the statistics
    /// engine's release hook gives them), now or with the next batch.
    pub fn release_tensor(&self, t: &TensorInfo, range: std::ops::Range<usize>) {
        let base = t.offset as usize;
        self.release(t.file, base + range.start..base + range.end);
    }
}

impl Drop for Releaser<'_> {
    fn drop(&mut self) {
        let pending = self.pending.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some((f, r)) = pending.take() {
            self.files[f].release(r);
        }
    }
}

/// A side document found next to the weights.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Document {
    /// What it is: `config`, `generation_config`, `tokenizer`, `tokenizer_config`,
    /// `special_tokens_map`, `model_card`, `license`; for a model from the Ollama store also
    /// `ollama_manifest`, `template`, `system_prompt`, `parameters`, `adapter`, `projector`,
    /// `messages` (its layers, see [`crate::source::ollama`]).
    pub kind: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
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
    /// Readable-but-suspicious observations made while opening, as findings with the codes
    /// `gap`, `trailing_bytes`, `config_invalid`, `index_total_size`, `index_extra_tensor`,
    /// `index_duplicate_tensor`, `unindexed_file`, `unknown_type` (GGUF), `split_tensor_count`
    /// (GGUF), `torch_*` (views, shared storages, the state dict's place) and the pickle safety
    /// report of the folder's pickles (`pickle_*`).
    pub notes: Vec<crate::finding::Finding>,
    /// For a GGUF model: the header of its (first) file, with its metadata (`general.*`,
    /// `{arch}.*`, `tokenizer.*`); its tensor list is emptied (the table is [`Model::tensors`]).
    pub gguf: Option<Box<crate::format::gguf::Gguf>>,
    /// For a model read over HTTP (headers only): where from, and the bytes fetched; `None` for
    /// a model on disk.
    pub remote: Option<Remote>,
}

impl Model {
    /// The bytes of one tensor (validated at open to lie inside its file; empty for a GGUF tensor
    /// of unknown type, whose size is unknown).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        let start = t.offset as usize;
        self.files[t.file]
            .bytes()
            .get(start..start + t.bytes as usize)
            .unwrap_or(&[])
    }

    /// Storage bits per weight over every tensor of known size; `None` when there is none.
    pub fn bits_per_weight(&self) -> Option<f64> {
        let (bytes, n) = self
            .tensors
            .iter()
            .filter(|t| !matches!(t.dtype, DType::Unknown(_)))
            .fold((0u64, 0u64), |(b, n), t| (b + t.bytes, n + t.parameters()));
        (n > 0).then(|| bytes as f64 * 8.0 / n as f64)
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

    /// The number of token ids the `tokenizer.json` beside the weights defines (see
    /// [`tokenizer::size_of_file`]); `None` without a readable one. Reads the file.
    pub fn tokenizer_size(&self) -> Option<u64> {
        self.document("tokenizer")
            .and_then(|d| tokenizer::size_of_file(&d.path))
    }

    /// The document of a kind, if found.
    pub fn document(&self, kind: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.kind == kind)
    }

    /// `Ok` when every weight file is still what was opened; otherwise
    /// [`Error::FileChanged`](crate::error::Error::FileChanged) naming the first file that changed
    /// and, when a read of it faulted (the file shrank), the tensor being read. Callers check this
    /// after reading tensor data (the statistics engine stops at the first fault, see
    /// [`guard`]): results computed from a file that changed are not reported.
    pub fn check_unchanged(&self) -> crate::error::Result<()> {
        for (i, file) in self.files.iter().enumerate() {
            let Some(offset) = file.changed() else {
                continue;
            };
            let tensor = offset.and_then(|o| {
                self.tensors
                    .iter()
                    .find(|t| t.file == i && t.offset <= o && o < t.offset + t.bytes)
                    .map(|t| t.name.clone())
            });
            return Err(crate::error::Error::FileChanged {
                path: file.path.clone(),
                tensor,
            });
        }
        Ok(())
    }

    /// The folder the model lives in (for a remote model, the folder its side documents were
    /// fetched into).
    pub fn folder(&self) -> &Path {
        if let Some(remote) = &self.remote {
            return remote.documents_folder();
        }
        self.files
            .first()
            .and_then(|f| f.path.parent())
            .unwrap_or(Path::new("."))
    }
}

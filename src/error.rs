//! The library's error type: what makes an input unreadable.
//!
//! Readable-but-suspicious inputs (gaps between tensors, trailing bytes, a config that is not JSON)
//! are not errors: they are recorded on the [`Model`](crate::Model) and reported as findings.
//!
//! Each format reader raises its own error, defined beside it in [`crate::format`] (bytes in, no
//! paths); [`Error`] wraps them with the path of the file, once, where the file is opened. So this
//! module sits just above `format` in the layering (it imports the readers' errors, the readers do
//! not import it) and below `model`, which returns it.

use std::path::PathBuf;

pub use crate::format::gguf::GgufError;
pub use crate::format::index::IndexError;
pub use crate::format::safetensors::FormatError;
pub use crate::format::torch::TorchError;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a model could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist; a near name in its folder is suggested (a typo).
    #[error("{}: no such file or folder{}", path.display(), near.as_ref().map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default())]
    NotFound { path: PathBuf, near: Option<String> },
    /// The folder holds no weight file glassbox can read.
    #[error("{}: no weights found (expected `*.safetensors`, `model.safetensors.index.json`, `*.gguf` or a PyTorch checkpoint){}", folder.display(), pickle.as_ref().map(|p| format!("; `{p}` is a PyTorch pickle of the Trainer's state, not weights")).unwrap_or_default())]
    NoWeights {
        folder: PathBuf,
        /// A pickle of the Trainer's state found instead (`training_args.bin`, `optimizer.pt`),
        /// named in the message.
        pickle: Option<String>,
    },
    /// An operating-system error while opening or mapping a file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes of a weight file are not a valid file of its format.
    #[error("{}: {source}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: Box<FormatError>,
    },
    /// The bytes of a PyTorch checkpoint are not a checkpoint glassbox can read.
    #[error("{}: {source}", path.display())]
    Torch {
        path: PathBuf,
        #[source]
        source: Box<TorchError>,
    },
    /// The shard index is invalid or disagrees with the shards.
    #[error("{}: {source}", path.display())]
    Index {
        path: PathBuf,
        #[source]
        source: Box<IndexError>,
    },
    /// Two weight files in a folder without an index hold a tensor of the same name.
    #[error("{}: tensor `{tensor}` is in both `{first}` and `{second}` and there is no index to say which model they belong to", folder.display())]
    NameCollision {
        folder: PathBuf,
        tensor: String,
        first: String,
        second: String,
    },
    /// A file that is no weights file at all (a model card, a config, a tokenizer): not GGUF, not
    /// PyTorch, and its first eight bytes are no safetensors header length. Names the folder to
    /// open instead when it holds weights.
    #[error("{}: not a weights file (neither safetensors, GGUF nor a PyTorch checkpoint){}", path.display(), folder.as_ref().map(|f| format!("; to inspect the model, open its folder: {}", f.display())).unwrap_or_default())]
    NotWeights {
        path: PathBuf,
        folder: Option<PathBuf>,
    },
    /// The path is neither a regular file nor a folder (a device, a pipe, ...).
    #[error("{}: not a regular file or folder", .0.display())]
    NotRegular(PathBuf),
    /// The bytes of a GGUF file are not a valid GGUF file.
    #[error("{}: {source}", path.display())]
    Gguf {
        path: PathBuf,
        #[source]
        source: Box<GgufError>,
    },
    /// A part of a split GGUF model (`split.count` > 1) is not in the folder.
    #[error("{}: part {} of {count} of this split GGUF model is missing (expected `{expected}`)", path.display(), no + 1)]
    SplitPartMissing {
        path: PathBuf,
        /// 0-based, as `split.no` counts.
        no: u64,
        count: u64,
        expected: String,
    },
    /// A part of a split GGUF model declares a different place in the split than its name.
    #[error("{}: expected part {} of {expected_count} of a split GGUF model (split.no {expected_no}), but the file declares {found}", path.display(), expected_no + 1)]
    SplitMismatch {
        path: PathBuf,
        expected_no: u64,
        expected_count: u64,
        /// What the part's `split.*` keys say (`split.no 1 of split.count 3`, `no split keys`).
        found: String,
    },
    /// A folder holds several GGUF models and no other weights: glassbox does not guess which.
    #[error("{}: the folder holds several GGUF models ({}); name the file to open", folder.display(), files.join(", "))]
    SeveralGguf { folder: PathBuf, files: Vec<String> },
    /// The folder's only weights cannot be read: links to missing files (a Hugging Face cache
    /// snapshot whose blobs are gone), unfinished downloads, FIFOs or devices.
    #[error("{}: no readable weights: {why}", folder.display())]
    Unreadable { folder: PathBuf, why: String },
    /// A weight file shrank, grew or was rewritten after it was opened (a download or conversion
    /// still writing it): what was read of it cannot be trusted.
    #[error("{}: the file changed while it was being read{}", path.display(), tensor.as_ref().map(|t| format!(" (reading tensor `{t}`)")).unwrap_or_default())]
    FileChanged {
        path: PathBuf,
        /// The tensor being read when a read faulted, when known.
        tensor: Option<String>,
    },
    /// A model reference (`ORG/NAME`, `ollama:…`, `lmstudio:…`, `hf:…`, a URL) that could not be
    /// resolved or fetched.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
}

//! The library's error type: what makes an input unreadable.
//!
//! Readable-but-suspicious inputs (gaps between tensors, trailing bytes, a config that is not JSON)
//! are not errors: they are recorded on the [`Model`](crate::Model) and reported as findings.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a model could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist.
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    /// The folder holds no weight file glassbox can read.
    #[error("{}: no weights found (expected `*.safetensors`, `model.safetensors.index.json` or `*.gguf`){}", folder.display(), pickle.as_ref().map(|p| format!("; `{p}` is a PyTorch pickle, which glassbox does not load because loading one can run code")).unwrap_or_default())]
    NoWeights {
        folder: PathBuf,
        /// A pickled checkpoint found instead (`pytorch_model.bin`, `*.pt`, ...), named in the
        /// message.
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
    /// The path is neither a regular file nor a folder (a device, a pipe, ...).
    #[error("{}: not a regular file or folder", .0.display())]
    NotRegular(PathBuf),
    /// The bytes of a GGUF file are not a valid GGUF file.
    #[error("{}: {source}", path.display())]
    Gguf {
        path: PathBuf,
        #[source]
        source: Box<crate::format::gguf::GgufError>,
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
}

/// What is wrong inside one weight file (the path is attached by [`Error::Format`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("file is {len} bytes, too short for the 8-byte header length")]
    TooShort { len: u64 },
    #[error("header length {size} exceeds the limit of {max} bytes")]
    HeaderTooLarge { size: u64, max: u64 },
    #[error("header length {size} runs past the end of the file ({len} bytes)")]
    HeaderPastEnd { size: u64, len: u64 },
    #[error("header is not valid UTF-8 (at byte {valid_up_to})")]
    HeaderUtf8 { valid_up_to: usize },
    #[error("header is not valid JSON: {message}")]
    HeaderJson { message: String },
    #[error("header is not a JSON object")]
    HeaderNotObject,
    #[error("tensor `{tensor}` appears more than once in the header")]
    DuplicateTensor { tensor: String },
    #[error("tensor `{tensor}`: {message}")]
    InvalidEntry { tensor: String, message: String },
    #[error("tensor `{tensor}` has unknown dtype `{dtype}`")]
    UnknownDType { tensor: String, dtype: String },
    #[error("tensor `{tensor}` shape {shape:?} overflows the element count")]
    ShapeOverflow { tensor: String, shape: Vec<u64> },
    #[error("tensor `{tensor}` shape {shape:?} does not fill whole `{dtype}` blocks")]
    PartialBlock {
        tensor: String,
        dtype: String,
        shape: Vec<u64>,
    },
    #[error("tensor `{tensor}` data offsets [{start}, {end}) are reversed")]
    OffsetsReversed {
        tensor: String,
        start: u64,
        end: u64,
    },
    #[error(
        "tensor `{tensor}` is {dtype} {shape:?}, which needs {expected} bytes, but its data range [{start}, {end}) holds {actual}"
    )]
    ShapeMismatch {
        tensor: String,
        dtype: String,
        shape: Vec<u64>,
        expected: u64,
        start: u64,
        end: u64,
        actual: u64,
    },
    #[error("tensor `{tensor}` data [{start}, {end}) ends past the file ({len} bytes of data)")]
    DataPastEnd {
        tensor: String,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error(
        "tensor `{tensor}` data [{start}, {end}) overlaps tensor `{other}` [{other_start}, {other_end})"
    )]
    Overlap {
        tensor: String,
        start: u64,
        end: u64,
        other: String,
        other_start: u64,
        other_end: u64,
    },
}

/// What is wrong with a `*.safetensors.index.json` shard index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("index is not valid JSON: {message}")]
    Json { message: String },
    #[error("index has no `weight_map` object")]
    NoWeightMap,
    #[error("index maps tensor `{tensor}` to a value that is not a file name")]
    BadShardName { tensor: String },
    #[error("index names shard `{shard}`, which is not a plain file name in the model folder")]
    ShardOutsideFolder { shard: String },
    #[error("index names shard `{shard}`, which does not exist")]
    MissingShard { shard: String },
    #[error("index puts tensor `{tensor}` in `{shard}`, but that shard does not hold it{}", found_in.as_ref().map(|f| format!(" (it is in `{f}`)")).unwrap_or_default())]
    WrongShard {
        tensor: String,
        shard: String,
        found_in: Option<String>,
    },
}

//! The GGUF format (llama.cpp, Ollama, LM Studio): a fixed header, typed metadata, tensor infos,
//! then the tensor data, aligned.
//!
//! ```text
//! "GGUF" | version u32 | tensor_count u64 | kv_count u64
//! kv_count × (key: string, value_type u32, value)
//! tensor_count × (name: string, n_dims u32, ne[n_dims] u64, ggml_type u32, offset u64)
//! padding to `general.alignment` (default 32)
//! data section: each tensor at `data_start + offset`
//! ```
//!
//! Strings are a `u64` length and that many bytes; arrays are an item type (`u32`), a `u64` count
//! and the items, which may themselves be arrays. Everything is little-endian; GGUF v3 allows
//! big-endian files, which are recognised and refused (no converter in use writes them).
//!
//! [`parse_gguf`] reads the whole file's bytes (a memory map) and does no I/O. Like the safetensors
//! reader it validates step by step before allocating: every declared count (tensors, keys, array
//! items, string bytes) is checked against the bytes that remain and against a cap, nesting depth is
//! capped, dimensions are at most [`MAX_DIMS`], element and byte counts use checked arithmetic, the
//! innermost dimension fills whole blocks of the tensor's type, and every tensor lies inside the
//! file without overlapping another. Each failure is its own [`GgufError`] variant.
//!
//! What is readable but odd is not an error: a tensor type glassbox does not know is listed with its
//! id (`ty` is `None`, its size unknown), unused bytes between or after tensors are returned in
//! [`Layout`], and long arrays (the token list, the merges) are kept as a byte range and a length
//! ([`Array`]) instead of being materialised.
//!
//! Shapes: GGUF stores dimensions innermost first (`ne[0]` is the row length). [`GgufTensor::shape`]
//! is row-major, outermost first, as numpy and PyTorch print it; [`GgufTensor::dims`] keeps the GGUF
//! order.
//!
//! Names across formats (GGUF tensor names to Hugging Face names, the Q/K row permutation of
//! llama.cpp's converter) are architecture knowledge and live in [`crate::arch::gguf_names`].
//!
//! The files of this module, one concern each:
//!
//! - `reader.rs`: [`parse_gguf`], the header and tensor-info walk and the layout checks;
//! - `cursor.rs`: the bounds-checked read position the reader and the values share;
//! - `value.rs`: metadata values ([`Value`], [`Array`], [`Metadata`]) and their parsing caps;
//! - `meaning.rs`: what the keys mean (`general.*`, [`TokenizerInfo`], [`Source`], [`SplitInfo`]);
//! - `file.rs`: the parsed file ([`Gguf`], [`GgufTensor`], [`Layout`]);
//! - `error.rs`: [`GgufError`], one variant per failure.
//!
//! ggml's tensor types ([`GgmlType`]) are in the leaf [`crate::dtype`], shared with the model and
//! the decoders; they are re-exported here.

mod cursor;
mod error;
mod file;
mod meaning;
mod reader;
#[cfg(test)]
mod test_bytes;
mod value;

pub use crate::dtype::GgmlType;
pub use error::GgufError;
pub use file::{Gguf, GgufTensor, Layout};
pub use meaning::{Source, SplitInfo, TokenizerInfo};
pub use reader::{DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS, parse_gguf, parse_gguf_prefix};
pub use value::{
    Array, EAGER_ARRAY_LEN, MAX_ARRAY_LEN, MAX_DEPTH, MAX_NAME_LEN, MAX_STRING_LEN, Metadata,
    Value, ValueType,
};

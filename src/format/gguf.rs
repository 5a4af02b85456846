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
//! Names across formats: [`gguf_to_hf_name`] maps GGUF tensor names to Hugging Face names for the
//! llama family, and [`unpermute_rows`] undoes the row permutation llama.cpp's converter applies to
//! the attention Q and K weights of those models.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

/// ggml's type table lives in the leaf [`crate::dtype`]; re-exported here, where GGUF users look.
pub use crate::dtype::GgmlType;

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// The alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// Cap on the length of a key or a tensor name (ggml itself refuses names of 64 bytes or more;
/// this cap only keeps a corrupt length from being believed).
pub const MAX_NAME_LEN: u64 = 1 << 16;
/// Cap on the length of a string value (chat templates are kilobytes, an embedded
/// `tokenizer.huggingface.json` a few megabytes).
pub const MAX_STRING_LEN: u64 = 1 << 28;
/// Cap on the number of items in one array (vocabularies and merge lists hold a few hundred
/// thousand).
pub const MAX_ARRAY_LEN: u64 = 1 << 28;
/// Cap on array nesting: a top-level array is depth 1.
pub const MAX_DEPTH: u32 = 8;
/// Arrays with at most this many items are decoded while parsing; longer ones are kept as a byte
/// range (see [`Array::read_items`]).
pub const EAGER_ARRAY_LEN: u64 = 1024;

/// Fixed header: magic, version, tensor count, kv count.
const HEADER_LEN: u64 = 4 + 4 + 8 + 8;
/// The smallest tensor info: empty name (8), `n_dims` (4), no dimensions, type (4), offset (8).
const MIN_TENSOR_INFO_LEN: u64 = 8 + 4 + 4 + 8;
/// The smallest key-value pair: empty key (8), value type (4), a one-byte value.
const MIN_KV_LEN: u64 = 8 + 4 + 1;

/// Why the bytes are not a GGUF file glassbox can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    #[error("file is {len} bytes, too short for the {HEADER_LEN}-byte GGUF header")]
    TooShort { len: u64 },
    #[error("not a GGUF file: starts with `{}`, expected `GGUF`", .found.escape_ascii())]
    BadMagic { found: [u8; 4] },
    #[error(
        "version 1 GGUF files (before August 2023) are not supported: convert the model again with a current llama.cpp"
    )]
    Version1,
    #[error("unsupported GGUF version {version} (expected 2 or 3)")]
    UnsupportedVersion { version: u32 },
    #[error("big-endian GGUF (version {version} byte-swapped) is not supported")]
    BigEndian { version: u32 },
    #[error(
        "unexpected end of file reading {what} at byte {offset}: needs {needed} bytes, {remaining} remain"
    )]
    UnexpectedEof {
        what: String,
        offset: u64,
        needed: u64,
        remaining: u64,
    },
    #[error(
        "header declares {count} tensors but only {remaining} bytes remain (each tensor info takes at least {MIN_TENSOR_INFO_LEN})"
    )]
    TooManyTensors { count: u64, remaining: u64 },
    #[error(
        "header declares {count} metadata entries but only {remaining} bytes remain (each takes at least {MIN_KV_LEN})"
    )]
    TooManyKvs { count: u64, remaining: u64 },
    #[error("{what} at byte {offset} declares {len} bytes, more than the limit of {max}")]
    StringTooLong {
        what: String,
        offset: u64,
        len: u64,
        max: u64,
    },
    #[error("{what} at byte {offset} declares {len} bytes but only {remaining} remain")]
    StringPastEnd {
        what: String,
        offset: u64,
        len: u64,
        remaining: u64,
    },
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { what: String, offset: u64 },
    #[error("metadata `{key}` has unknown value type {type_id}")]
    UnknownValueType { key: String, type_id: u32 },
    #[error("metadata `{key}` declares an array of {len} items, more than the limit of {max}")]
    ArrayTooLong { key: String, len: u64, max: u64 },
    #[error(
        "metadata `{key}` declares an array of {len} items of at least {item_len} bytes each but only {remaining} bytes remain"
    )]
    ArrayPastEnd {
        key: String,
        len: u64,
        item_len: u64,
        remaining: u64,
    },
    #[error("metadata `{key}` nests arrays deeper than {max} levels")]
    NestingTooDeep { key: String, max: u32 },
    #[error("metadata key `{key}` appears more than once")]
    DuplicateKey { key: String },
    #[error("`general.alignment` is {found}, expected a non-zero power of two")]
    InvalidAlignment { found: String },
    #[error("tensor `{tensor}` has {n_dims} dimensions, more than the {max} ggml allows")]
    TooManyDims {
        tensor: String,
        n_dims: u32,
        max: u32,
    },
    #[error(
        "tensor `{tensor}` dimensions {dims:?} (GGUF order) overflow the element or byte count"
    )]
    ShapeOverflow { tensor: String, dims: Vec<u64> },
    #[error(
        "tensor `{tensor}` row length {ne0} is not a multiple of the `{ty}` block of {block} values"
    )]
    PartialBlock {
        tensor: String,
        ty: GgmlType,
        ne0: u64,
        block: u64,
    },
    #[error("tensor `{tensor}` appears more than once")]
    DuplicateTensor { tensor: String },
    #[error("tensor `{tensor}` offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        tensor: String,
        offset: u64,
        alignment: u64,
    },
    #[error("tensor `{tensor}` data [{start}, {end}) ends past the file ({len} bytes)")]
    TensorPastEnd {
        tensor: String,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error(
        "tensor `{tensor}` data [{start}, {end}) overlaps tensor `{other}` [{other_start}, {other_end})"
    )]
    OverlappingTensors {
        tensor: String,
        start: u64,
        end: u64,
        other: String,
        other_start: u64,
        other_end: u64,
    },
}

// ---------------------------------------------------------------------------------------------
// Metadata values

/// The type tag of a metadata value (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The value type with GGUF id `id`.
    pub fn from_id(id: u32) -> Option<ValueType> {
        Some(match id {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// The GGUF id.
    pub const fn id(self) -> u32 {
        match self {
            ValueType::U8 => 0,
            ValueType::I8 => 1,
            ValueType::U16 => 2,
            ValueType::I16 => 3,
            ValueType::U32 => 4,
            ValueType::I32 => 5,
            ValueType::F32 => 6,
            ValueType::Bool => 7,
            ValueType::String => 8,
            ValueType::Array => 9,
            ValueType::U64 => 10,
            ValueType::I64 => 11,
            ValueType::F64 => 12,
        }
    }

    /// The type name as gguf-py spells it, lowercased (`u32`, `string`, `array`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "u8",
            ValueType::I8 => "i8",
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::F32 => "f32",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        }
    }

    /// Bytes of a value of this type, for the fixed-size types.
    fn fixed_len(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }

    /// The fewest bytes a value of this type can take: an empty string is its 8-byte length, an
    /// empty array its 4-byte item type and 8-byte count.
    fn min_len(self) -> u64 {
        match self {
            ValueType::String => 8,
            ValueType::Array => 12,
            fixed => fixed.fixed_len().unwrap_or(1),
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    /// Any non-zero byte reads as true.
    Bool(bool),
    /// Invalid UTF-8 in a string value is replaced with U+FFFD (keys and tensor names must be
    /// valid UTF-8).
    String(String),
    Array(Array),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// The value of any integer type, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(u64::from(v)),
            Value::U16(v) => Some(u64::from(v)),
            Value::U32(v) => Some(u64::from(v)),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value of any integer type that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::U8(v) => Some(i64::from(v)),
            Value::U16(v) => Some(i64::from(v)),
            Value::U32(v) => Some(i64::from(v)),
            Value::U64(v) => i64::try_from(v).ok(),
            Value::I8(v) => Some(i64::from(v)),
            Value::I16(v) => Some(i64::from(v)),
            Value::I32(v) => Some(i64::from(v)),
            Value::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The value of any numeric type as an f64 (64-bit integers beyond 2^53 round).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(f64::from(v)),
            Value::F64(v) => Some(v),
            Value::U64(v) => Some(v as f64),
            Value::I64(v) => Some(v as f64),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// A short rendering: scalars as themselves, strings quoted and cut at 80 characters, arrays as
    /// their item type and length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::U8(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(s) => {
                let cut: String = s.chars().take(80).collect();
                if cut.len() < s.len() {
                    write!(f, "{cut:?}…")
                } else {
                    write!(f, "{s:?}")
                }
            }
            Value::Array(a) => write!(f, "[{}; {}]", a.item_type.name(), a.len),
        }
    }
}

/// A metadata array. Short arrays are decoded while parsing (`items` is `Some`); longer ones keep
/// only their item type, length and byte range, and are decoded on demand with
/// [`Array::read_items`].
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub item_type: ValueType,
    pub len: u64,
    /// Absolute byte range of the items in the file.
    pub range: Range<u64>,
    /// The items, when `len <= EAGER_ARRAY_LEN`.
    pub items: Option<Vec<Value>>,
}

impl Array {
    /// The items, decoded from the file's bytes (the same bytes given to [`parse_gguf`]) when they
    /// were not decoded while parsing. `key` names the array in errors.
    pub fn read_items(&self, bytes: &[u8], key: &str) -> Result<Vec<Value>, GgufError> {
        if let Some(items) = &self.items {
            return Ok(items.clone());
        }
        let mut cursor = Cursor::at(bytes, self.range.start);
        let mut items = Vec::with_capacity(self.len.min(MAX_ARRAY_LEN) as usize);
        for _ in 0..self.len {
            items.push(cursor.value(key, self.item_type, 2, true)?);
        }
        Ok(items)
    }

    /// The items as strings, when they were decoded and are all strings.
    pub fn strings(&self) -> Option<Vec<&str>> {
        self.items.as_ref()?.iter().map(Value::as_str).collect()
    }
}

/// The metadata key-value pairs, in file order, with lookup by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// The pairs in file order.
    pub fn entries(&self) -> &[(String, Value)] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Any integer type, when non-negative.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    /// Any integer type that fits an `i64`.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_i64()
    }

    /// Any numeric type.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    pub fn get_array(&self, key: &str) -> Option<&Array> {
        self.get(key)?.as_array()
    }

    /// Length of an array value, however long (the token list is never decoded for this).
    pub fn array_len(&self, key: &str) -> Option<u64> {
        Some(self.get_array(key)?.len)
    }

    /// An array of strings, when it was short enough to be decoded while parsing.
    pub fn get_str_array(&self, key: &str) -> Option<Vec<&str>> {
        self.get_array(key)?.strings()
    }

    fn insert(&mut self, key: String, value: Value) -> Result<(), GgufError> {
        if self.index.contains_key(&key) {
            return Err(GgufError::DuplicateKey { key });
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed file

/// One tensor as the file declares it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensor {
    pub name: String,
    /// The raw ggml type id.
    pub type_id: u32,
    /// The type, when glassbox knows the id.
    pub ty: Option<GgmlType>,
    /// Dimensions in GGUF order: innermost (the row length, `ne[0]`) first.
    pub dims: Vec<u64>,
    /// Dimensions row-major, outermost first: `dims` reversed.
    pub shape: Vec<u64>,
    /// Number of values.
    pub elements: u64,
    /// Offset relative to the data section, as declared.
    pub offset: u64,
    /// Absolute offset of the first byte in the file.
    pub start: u64,
    /// Size of the data in bytes, when the type is known.
    pub bytes: Option<u64>,
}

impl GgufTensor {
    /// The absolute byte range of the data, when the type (and so the size) is known.
    pub fn range(&self) -> Option<Range<u64>> {
        Some(self.start..self.start + self.bytes?)
    }

    /// The type's name, or `type <id>` for an unknown id.
    pub fn type_name(&self) -> String {
        match self.ty {
            Some(t) => t.name().to_owned(),
            None => format!("type {}", self.type_id),
        }
    }
}

/// Bytes of the data section that no tensor uses beyond alignment padding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Absolute ranges between tensors that are longer than the padding to the next aligned
    /// offset.
    pub gaps: Vec<(u64, u64)>,
    /// Bytes after the last tensor's data and its padding.
    pub trailing_bytes: u64,
}

/// A parsed GGUF file: header, metadata, tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    pub version: u32,
    /// `general.alignment`, or [`DEFAULT_ALIGNMENT`].
    pub alignment: u64,
    pub metadata: Metadata,
    /// Tensors in file order (of their infos).
    pub tensors: Vec<GgufTensor>,
    /// End of the tensor infos: everything before it is header.
    pub header_len: u64,
    /// Absolute offset of the data section (`header_len` rounded up to the alignment).
    pub data_start: u64,
    pub file_len: u64,
    pub layout: Layout,
}

/// A base model or a dataset named in `general.base_model.*` / `general.dataset.*` (or
/// `general.datasets`). Serialises with absent fields left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
}

/// What the `tokenizer.*` keys say, without the vocabulary itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenizerInfo {
    /// `tokenizer.ggml.model` (`llama`, `gpt2`, `bert`, ...).
    pub model: Option<String>,
    /// `tokenizer.ggml.pre`.
    pub pre: Option<String>,
    /// Length of `tokenizer.ggml.tokens`.
    pub tokens: Option<u64>,
    /// Length of `tokenizer.ggml.merges`.
    pub merges: Option<u64>,
    pub bos_token_id: Option<u64>,
    pub eos_token_id: Option<u64>,
    pub eot_token_id: Option<u64>,
    pub eom_token_id: Option<u64>,
    pub unknown_token_id: Option<u64>,
    pub padding_token_id: Option<u64>,
    pub add_bos_token: Option<bool>,
    pub add_eos_token: Option<bool>,
    /// `tokenizer.chat_template`.
    pub chat_template: Option<String>,
    /// Names of the extra `tokenizer.chat_template.{name}` templates.
    pub named_chat_templates: Vec<String>,
    /// Whether a whole `tokenizer.huggingface.json` is embedded.
    pub has_hf_json: bool,
}

/// `split.*`: this file is part `no` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitInfo {
    pub no: u64,
    pub count: u64,
    /// `split.tensors.count`: tensors across all parts.
    pub tensors: Option<u64>,
}

const SOURCE_FIELDS: [&str; 9] = [
    "name",
    "author",
    "version",
    "organization",
    "description",
    "url",
    "doi",
    "uuid",
    "repo_url",
];

impl Gguf {
    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.metadata.get_str("general.architecture")
    }

    /// `general.name`.
    pub fn name(&self) -> Option<&str> {
        self.metadata.get_str("general.name")
    }

    /// `general.license`, as written (often not SPDX).
    pub fn license(&self) -> Option<&str> {
        self.metadata.get_str("general.license")
    }

    /// A key of the architecture's namespace: `arch_value("block_count")` reads
    /// `{general.architecture}.block_count`.
    pub fn arch_value(&self, suffix: &str) -> Option<&Value> {
        let arch = self.architecture()?;
        self.metadata.get(&format!("{arch}.{suffix}"))
    }

    /// An integer key of the architecture's namespace (any integer type).
    pub fn arch_u64(&self, suffix: &str) -> Option<u64> {
        self.arch_value(suffix)?.as_u64()
    }

    /// A numeric key of the architecture's namespace.
    pub fn arch_f64(&self, suffix: &str) -> Option<f64> {
        self.arch_value(suffix)?.as_f64()
    }

    /// `general.base_model.{i}.*` for `i` below `general.base_model.count` (or while any field is
    /// present, when the count is missing).
    pub fn base_models(&self) -> Vec<Source> {
        self.sources("general.base_model")
    }

    /// Datasets from both conventions: `general.datasets` (a string array, as the GGUF spec has it)
    /// then `general.dataset.{i}.*` (as gguf-py's writer has it).
    pub fn datasets(&self) -> Vec<Source> {
        let mut out: Vec<Source> = match self.metadata.get_array("general.datasets") {
            Some(a) => a
                .items
                .iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|s| Source {
                    name: Some(s.to_owned()),
                    ..Source::default()
                })
                .collect(),
            None => self
                .metadata
                .get_str("general.datasets")
                .map(|s| {
                    vec![Source {
                        name: Some(s.to_owned()),
                        ..Source::default()
                    }]
                })
                .unwrap_or_default(),
        };
        out.extend(self.sources("general.dataset"));
        out
    }

    fn sources(&self, prefix: &str) -> Vec<Source> {
        let declared = self.metadata.get_u64(&format!("{prefix}.count"));
        let mut out = Vec::new();
        // Without a count, stop at the first index with no field at all; never loop more than
        // the number of keys.
        let limit = declared.unwrap_or(u64::MAX).min(self.metadata.len() as u64);
        for i in 0..limit {
            let field = |f: &str| {
                self.metadata
                    .get(&format!("{prefix}.{i}.{f}"))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            };
            let [
                name,
                author,
                version,
                organization,
                description,
                url,
                doi,
                uuid,
                repo_url,
            ] = SOURCE_FIELDS.map(field);
            let source = Source {
                name,
                author,
                version,
                organization,
                description,
                url,
                doi,
                uuid,
                repo_url,
            };
            if declared.is_none() && source == Source::default() {
                break;
            }
            out.push(source);
        }
        out
    }

    /// The tokenizer keys, with array lengths instead of arrays.
    pub fn tokenizer(&self) -> TokenizerInfo {
        let m = &self.metadata;
        let s = |k: &str| m.get_str(k).map(str::to_owned);
        TokenizerInfo {
            model: s("tokenizer.ggml.model"),
            pre: s("tokenizer.ggml.pre"),
            tokens: m.array_len("tokenizer.ggml.tokens"),
            merges: m.array_len("tokenizer.ggml.merges"),
            bos_token_id: m.get_u64("tokenizer.ggml.bos_token_id"),
            eos_token_id: m.get_u64("tokenizer.ggml.eos_token_id"),
            eot_token_id: m.get_u64("tokenizer.ggml.eot_token_id"),
            eom_token_id: m.get_u64("tokenizer.ggml.eom_token_id"),
            unknown_token_id: m.get_u64("tokenizer.ggml.unknown_token_id"),
            padding_token_id: m.get_u64("tokenizer.ggml.padding_token_id"),
            add_bos_token: m.get_bool("tokenizer.ggml.add_bos_token"),
            add_eos_token: m.get_bool("tokenizer.ggml.add_eos_token"),
            chat_template: s("tokenizer.chat_template"),
            named_chat_templates: m
                .entries()
                .iter()
                .filter_map(|(k, _)| k.strip_prefix("tokenizer.chat_template."))
                .map(str::to_owned)
                .collect(),
            has_hf_json: m.get("tokenizer.huggingface.json").is_some(),
        }
    }

    /// `split.no` / `split.count`, when the file is one part of a split model.
    pub fn split(&self) -> Option<SplitInfo> {
        Some(SplitInfo {
            no: self.metadata.get_u64("split.no")?,
            count: self.metadata.get_u64("split.count")?,
            tensors: self.metadata.get_u64("split.tensors.count"),
        })
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The data of `tensor`, from the file's bytes (the same bytes given to [`parse_gguf`]);
    /// `None` when its type (and so its size) is unknown.
    pub fn tensor_data<'a>(&self, bytes: &'a [u8], tensor: &GgufTensor) -> Option<&'a [u8]> {
        let r = tensor.range()?;
        bytes.get(usize::try_from(r.start).ok()?..usize::try_from(r.end).ok()?)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A read position over the file's bytes; every read checks the bytes that remain.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: u64,
}

impl<'a> Cursor<'a> {
    fn at(bytes: &'a [u8], pos: u64) -> Self {
        Cursor { bytes, pos }
    }

    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn remaining(&self) -> u64 {
        self.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: u64, what: impl FnOnce() -> String) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::UnexpectedEof {
                what: what(),
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        // Both fit in usize: n <= remaining <= bytes.len().
        let start = self.pos as usize;
        self.pos += n;
        Ok(&self.bytes[start..start + n as usize])
    }

    fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], GgufError> {
        let b = self.take(N as u64, what)?;
        Ok(b.try_into().expect("take returns N bytes"))
    }

    fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A string's bytes: its `u64` length checked against `max` and against what remains.
    fn string_bytes(&mut self, what: &dyn Fn() -> String, max: u64) -> Result<&'a [u8], GgufError> {
        let offset = self.pos;
        let len = self.u64(|| format!("the length of {}", what()))?;
        if len > max {
            return Err(GgufError::StringTooLong {
                what: what(),
                offset,
                len,
                max,
            });
        }
        if len > self.remaining() {
            return Err(GgufError::StringPastEnd {
                what: what(),
                offset,
                len,
                remaining: self.remaining(),
            });
        }
        self.take(len, what)
    }

    /// A key or a tensor name: capped at [`MAX_NAME_LEN`], valid UTF-8.
    fn name(&mut self, what: &dyn Fn() -> String) -> Result<String, GgufError> {
        let offset = self.pos;
        let b = self.string_bytes(what, MAX_NAME_LEN)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| GgufError::InvalidUtf8 {
                what: what(),
                offset,
            })
    }

    /// One value of type `ty` belonging to `key`, at nesting `depth` (arrays inside it are at
    /// `depth + 1`). `eager` decodes arrays of any length (used by [`Array::read_items`]).
    fn value(
        &mut self,
        key: &str,
        ty: ValueType,
        depth: u32,
        eager: bool,
    ) -> Result<Value, GgufError> {
        let what = || format!("the value of `{key}`");
        Ok(match ty {
            ValueType::U8 => Value::U8(self.array::<1>(what)?[0]),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::Bool => Value::Bool(self.array::<1>(what)?[0] != 0),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            ValueType::String => {
                let b = self.string_bytes(&what, MAX_STRING_LEN)?;
                Value::String(String::from_utf8_lossy(b).into_owned())
            }
            ValueType::Array => Value::Array(self.array_value(key, depth, eager)?),
        })
    }

    fn array_value(&mut self, key: &str, depth: u32, eager: bool) -> Result<Array, GgufError> {
        if depth > MAX_DEPTH {
            return Err(GgufError::NestingTooDeep {
                key: key.to_owned(),
                max: MAX_DEPTH,
            });
        }
        let type_id = self.u32(|| format!("the item type of `{key}`"))?;
        let item_type = ValueType::from_id(type_id).ok_or_else(|| GgufError::UnknownValueType {
            key: key.to_owned(),
            type_id,
        })?;
        let len = self.u64(|| format!("the length of `{key}`"))?;
        if len > MAX_ARRAY_LEN {
            return Err(GgufError::ArrayTooLong {
                key: key.to_owned(),
                len,
                max: MAX_ARRAY_LEN,
            });
        }
        let item_len = item_type.min_len();
        if len.saturating_mul(item_len) > self.remaining() {
            return Err(GgufError::ArrayPastEnd {
                key: key.to_owned(),
                len,
                item_len,
                remaining: self.remaining(),
            });
        }
        let start = self.pos;
        let items = if eager || len <= EAGER_ARRAY_LEN {
            let mut items = Vec::with_capacity(len as usize);
            for _ in 0..len {
                items.push(self.value(key, item_type, depth + 1, eager)?);
            }
            Some(items)
        } else {
            match item_type.fixed_len() {
                // Checked against the remaining bytes above.
                Some(n) => self.pos += len * n,
                None => {
                    for _ in 0..len {
                        self.skip_value(key, item_type, depth + 1)?;
                    }
                }
            }
            None
        };
        Ok(Array {
            item_type,
            len,
            range: start..self.pos,
            items,
        })
    }

    /// Moves past one value without keeping it (the items of long arrays).
    fn skip_value(&mut self, key: &str, ty: ValueType, depth: u32) -> Result<(), GgufError> {
        match ty {
            ValueType::String => {
                let what = || format!("an item of `{key}`");
                self.string_bytes(&what, MAX_STRING_LEN)?;
            }
            ValueType::Array => {
                self.array_value(key, depth, false)?;
            }
            fixed => {
                let n = fixed.fixed_len().expect("fixed-size type");
                self.take(n, || format!("an item of `{key}`"))?;
            }
        }
        Ok(())
    }
}

/// Parses and validates a whole GGUF file held in `bytes`.
pub fn parse_gguf(bytes: &[u8]) -> Result<Gguf, GgufError> {
    let file_len = bytes.len() as u64;
    if file_len < HEADER_LEN {
        // A file that does not even start with the magic is "not GGUF", whatever its length.
        if let Some(found) = bytes.get(..4).filter(|m| *m != MAGIC) {
            return Err(GgufError::BadMagic {
                found: found.try_into().expect("4 bytes"),
            });
        }
        return Err(GgufError::TooShort { len: file_len });
    }
    let mut c = Cursor::at(bytes, 0);
    let magic: [u8; 4] = c.array(|| "the magic".into())?;
    if magic != MAGIC {
        return Err(GgufError::BadMagic { found: magic });
    }
    let version = c.u32(|| "the version".into())?;
    match version {
        2 | 3 => {}
        1 => return Err(GgufError::Version1),
        v if (1..=3).contains(&v.swap_bytes()) => {
            return Err(GgufError::BigEndian {
                version: v.swap_bytes(),
            });
        }
        v => return Err(GgufError::UnsupportedVersion { version: v }),
    }
    let tensor_count = c.u64(|| "the tensor count".into())?;
    let kv_count = c.u64(|| "the metadata count".into())?;
    if kv_count > c.remaining() / MIN_KV_LEN {
        return Err(GgufError::TooManyKvs {
            count: kv_count,
            remaining: c.remaining(),
        });
    }
    if tensor_count > c.remaining() / MIN_TENSOR_INFO_LEN {
        return Err(GgufError::TooManyTensors {
            count: tensor_count,
            remaining: c.remaining(),
        });
    }

    let mut metadata = Metadata::default();
    for i in 0..kv_count {
        let key = c.name(&|| format!("metadata key #{i}"))?;
        let type_id = c.u32(|| format!("the value type of `{key}`"))?;
        let ty = ValueType::from_id(type_id).ok_or_else(|| GgufError::UnknownValueType {
            key: key.clone(),
            type_id,
        })?;
        let value = c.value(&key, ty, 1, false)?;
        metadata.insert(key, value)?;
    }
    let alignment = alignment(&metadata)?;

    // The KV section may have used most of the bytes the first check counted.
    if tensor_count > c.remaining() / MIN_TENSOR_INFO_LEN {
        return Err(GgufError::TooManyTensors {
            count: tensor_count,
            remaining: c.remaining(),
        });
    }
    let mut infos = Vec::with_capacity(tensor_count as usize);
    for i in 0..tensor_count {
        infos.push(tensor_info(&mut c, i)?);
    }
    let header_len = c.pos;
    let data_start = header_len
        .checked_next_multiple_of(alignment)
        .unwrap_or(u64::MAX);

    let mut tensors = Vec::with_capacity(infos.len());
    let mut seen = std::collections::HashSet::with_capacity(infos.len());
    for info in infos {
        if !seen.insert(info.name.clone()) {
            return Err(GgufError::DuplicateTensor { tensor: info.name });
        }
        tensors.push(place_tensor(info, alignment, data_start, file_len)?);
    }
    let layout = check_layout(&tensors, alignment, data_start, file_len)?;
    Ok(Gguf {
        version,
        alignment,
        metadata,
        tensors,
        header_len,
        data_start,
        file_len,
        layout,
    })
}

fn alignment(metadata: &Metadata) -> Result<u64, GgufError> {
    let Some(value) = metadata.get("general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match value.as_u64() {
        Some(a) if a.is_power_of_two() => Ok(a),
        _ => Err(GgufError::InvalidAlignment {
            found: match value {
                Value::String(_)
                | Value::Array(_)
                | Value::Bool(_)
                | Value::F32(_)
                | Value::F64(_) => {
                    format!("{value} ({})", value.value_type().name())
                }
                _ => value.to_string(),
            },
        }),
    }
}

/// A tensor info as read, before its place in the file is checked.
struct RawInfo {
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    offset: u64,
}

fn tensor_info(c: &mut Cursor<'_>, i: u64) -> Result<RawInfo, GgufError> {
    let name = c.name(&|| format!("the name of tensor #{i}"))?;
    let n_dims = c.u32(|| format!("the dimension count of `{name}`"))?;
    if n_dims > MAX_DIMS {
        return Err(GgufError::TooManyDims {
            tensor: name,
            n_dims,
            max: MAX_DIMS,
        });
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(c.u64(|| format!("the dimensions of `{name}`"))?);
    }
    let type_id = c.u32(|| format!("the type of `{name}`"))?;
    let offset = c.u64(|| format!("the offset of `{name}`"))?;
    Ok(RawInfo {
        name,
        dims,
        type_id,
        offset,
    })
}

fn place_tensor(
    info: RawInfo,
    alignment: u64,
    data_start: u64,
    file_len: u64,
) -> Result<GgufTensor, GgufError> {
    let RawInfo {
        name,
        dims,
        type_id,
        offset,
    } = info;
    let overflow = || GgufError::ShapeOverflow {
        tensor: name.clone(),
        dims: dims.clone(),
    };
    // ggml keeps dimensions and element counts in int64_t.
    let elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| i64::try_from(n).is_ok() && dims.iter().all(|&d| i64::try_from(d).is_ok()))
        .ok_or_else(overflow)?;
    let ty = GgmlType::from_id(type_id);
    let bytes = match ty {
        Some(t) => {
            let ne0 = dims.first().copied().unwrap_or(1);
            if ne0 % t.block_elements() != 0 {
                return Err(GgufError::PartialBlock {
                    tensor: name,
                    ty: t,
                    ne0,
                    block: t.block_elements(),
                });
            }
            Some(t.bytes_for(elements).ok_or_else(overflow)?)
        }
        None => None,
    };
    if offset % alignment != 0 {
        return Err(GgufError::MisalignedTensor {
            tensor: name,
            offset,
            alignment,
        });
    }
    let start = data_start.saturating_add(offset);
    let end = start.saturating_add(bytes.unwrap_or(0));
    if end > file_len {
        return Err(GgufError::TensorPastEnd {
            tensor: name,
            start,
            end,
            len: file_len,
        });
    }
    let shape = dims.iter().rev().copied().collect();
    Ok(GgufTensor {
        name,
        type_id,
        ty,
        dims,
        shape,
        elements,
        offset,
        start,
        bytes,
    })
}

/// Rejects overlapping tensors and records the bytes no tensor uses. A tensor of unknown type has
/// an unknown extent: the bytes from its start to the next tensor count as its own (neither a gap
/// nor trailing bytes), and it is not checked for overlap. Empty tensors take no bytes.
fn check_layout(
    tensors: &[GgufTensor],
    alignment: u64,
    data_start: u64,
    file_len: u64,
) -> Result<Layout, GgufError> {
    let mut order: Vec<(&GgufTensor, Option<Range<u64>>)> = tensors
        .iter()
        .map(|t| (t, t.range()))
        .filter(|(_, r)| r.as_ref().is_none_or(|r| !r.is_empty()))
        .collect();
    order.sort_by_key(|(t, r)| (t.start, r.as_ref().map_or(t.start, |r| r.end)));
    let mut layout = Layout::default();
    // End of the data seen so far; `None` right after a tensor of unknown extent.
    let mut cursor = Some(data_start.min(file_len));
    let mut previous: Option<(&GgufTensor, Range<u64>)> = None;
    for (t, r) in order {
        let Some(r) = r else {
            cursor = None;
            continue;
        };
        if let Some((p, pr)) = previous.as_ref().filter(|(_, pr)| r.start < pr.end) {
            return Err(GgufError::OverlappingTensors {
                tensor: t.name.clone(),
                start: r.start,
                end: r.end,
                other: p.name.clone(),
                other_start: pr.start,
                other_end: pr.end,
            });
        }
        if let Some(c) = cursor.filter(|&c| r.start > align_up(c, alignment, data_start)) {
            layout.gaps.push((c, r.start));
        }
        cursor = Some(r.end);
        previous = Some((t, r));
    }
    layout.trailing_bytes = cursor.map_or(0, |c| {
        file_len.saturating_sub(align_up(c, alignment, data_start).min(file_len))
    });
    Ok(layout)
}

/// `pos` rounded up to the next multiple of `alignment` counted from `base` (tensor offsets are
/// relative to the data section).
fn align_up(pos: u64, alignment: u64, base: u64) -> u64 {
    let rel = pos.saturating_sub(base);
    base.saturating_add(
        rel.checked_next_multiple_of(alignment)
            .unwrap_or(u64::MAX - base),
    )
}

// ---------------------------------------------------------------------------------------------
// Names across formats

/// GGUF tensor names of the llama family and their Hugging Face names, as data: `{N}` is the layer
/// number. From llama.cpp's `gguf-py/gguf/tensor_mapping.py` (the `LLAMA`-style entries).
const LLAMA_NAMES: &[(&str, &str)] = &[
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
    (
        "blk.{N}.attn_norm.weight",
        "model.layers.{N}.input_layernorm.weight",
    ),
    (
        "blk.{N}.attn_q.weight",
        "model.layers.{N}.self_attn.q_proj.weight",
    ),
    (
        "blk.{N}.attn_k.weight",
        "model.layers.{N}.self_attn.k_proj.weight",
    ),
    (
        "blk.{N}.attn_v.weight",
        "model.layers.{N}.self_attn.v_proj.weight",
    ),
    (
        "blk.{N}.attn_output.weight",
        "model.layers.{N}.self_attn.o_proj.weight",
    ),
    (
        "blk.{N}.attn_q.bias",
        "model.layers.{N}.self_attn.q_proj.bias",
    ),
    (
        "blk.{N}.attn_k.bias",
        "model.layers.{N}.self_attn.k_proj.bias",
    ),
    (
        "blk.{N}.attn_v.bias",
        "model.layers.{N}.self_attn.v_proj.bias",
    ),
    (
        "blk.{N}.attn_output.bias",
        "model.layers.{N}.self_attn.o_proj.bias",
    ),
    (
        "blk.{N}.ffn_norm.weight",
        "model.layers.{N}.post_attention_layernorm.weight",
    ),
    (
        "blk.{N}.ffn_gate.weight",
        "model.layers.{N}.mlp.gate_proj.weight",
    ),
    (
        "blk.{N}.ffn_up.weight",
        "model.layers.{N}.mlp.up_proj.weight",
    ),
    (
        "blk.{N}.ffn_down.weight",
        "model.layers.{N}.mlp.down_proj.weight",
    ),
    // Mixtral-style MoE converted as `llama`: the router. The experts are merged into one
    // `ffn_*_exps` tensor per layer, which has no single Hugging Face counterpart.
    (
        "blk.{N}.ffn_gate_inp.weight",
        "model.layers.{N}.block_sparse_moe.gate.weight",
    ),
];

/// Qwen3 adds per-head norms of Q and K to the llama names.
const QWEN3_EXTRA_NAMES: &[(&str, &str)] = &[
    (
        "blk.{N}.attn_q_norm.weight",
        "model.layers.{N}.self_attn.q_norm.weight",
    ),
    (
        "blk.{N}.attn_k_norm.weight",
        "model.layers.{N}.self_attn.k_norm.weight",
    ),
];

/// One architecture's naming rules.
struct Family {
    /// `general.architecture`.
    arch: &'static str,
    /// GGUF name patterns and their Hugging Face names.
    names: &'static [&'static [(&'static str, &'static str)]],
    /// Whether the converter permuted the Q and K rows (llama.cpp's `LlamaModel.modify_tensors`;
    /// Qwen's converters do not).
    permuted_qk: bool,
}

const FAMILIES: &[Family] = &[
    Family {
        arch: "llama",
        names: &[LLAMA_NAMES],
        permuted_qk: true,
    },
    Family {
        arch: "mistral",
        names: &[LLAMA_NAMES],
        permuted_qk: true,
    },
    Family {
        arch: "qwen2",
        names: &[LLAMA_NAMES],
        permuted_qk: false,
    },
    Family {
        arch: "qwen3",
        names: &[LLAMA_NAMES, QWEN3_EXTRA_NAMES],
        permuted_qk: false,
    },
];

fn family(arch: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.arch == arch)
}

/// The Hugging Face name of GGUF tensor `name` in a model of architecture `arch`
/// (`general.architecture`), where the mapping is known: llama (and Mistral, converted as llama),
/// qwen2, qwen3. `rope_freqs.weight` (computed, not stored by Hugging Face) and merged expert
/// tensors map to `None`.
pub fn gguf_to_hf_name(arch: &str, name: &str) -> Option<String> {
    family(arch)?
        .names
        .iter()
        .flat_map(|t| t.iter())
        .find_map(|(gguf, hf)| match_pattern(gguf, name).map(|n| fill_pattern(hf, n)))
}

/// Which heads count to pass to [`unpermute_rows`] to restore the Hugging Face row order of GGUF
/// tensor `name`, when llama.cpp's converter permuted it: the Q weight (and bias) by
/// `attention.head_count`, the K weight (and bias) by `attention.head_count_kv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkPermutation {
    /// Unpermute with `{arch}.attention.head_count`.
    Query,
    /// Unpermute with `{arch}.attention.head_count_kv` (or `head_count` when absent).
    Key,
}

/// Whether GGUF tensor `name` of an `arch` model has its rows permuted relative to Hugging Face.
pub fn qk_permutation(arch: &str, name: &str) -> Option<QkPermutation> {
    if !family(arch)?.permuted_qk {
        return None;
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, tail) = rest.split_once('.')?;
    if layer.is_empty() || !layer.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match tail {
        "attn_q.weight" | "attn_q.bias" => Some(QkPermutation::Query),
        "attn_k.weight" | "attn_k.bias" => Some(QkPermutation::Key),
        _ => None,
    }
}

/// The layer number when `name` matches `pattern` (`{N}` standing for decimal digits), or `Some("")`
/// for an exact match of a pattern without `{N}`.
fn match_pattern<'n>(pattern: &str, name: &'n str) -> Option<&'n str> {
    match pattern.split_once("{N}") {
        None => (pattern == name).then_some(""),
        Some((before, after)) => {
            let n = name.strip_prefix(before)?.strip_suffix(after)?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
        }
    }
}

fn fill_pattern(pattern: &str, n: &str) -> String {
    pattern.replace("{N}", n)
}

/// The row of the GGUF tensor that holds Hugging Face row `hf_row`, for a Q or K weight of `rows`
/// rows permuted by llama.cpp's converter with `n_head` heads.
///
/// The converter's `permute(w, n_head)` is
/// `w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)`: within each
/// head, Hugging Face rows `[half 0 | half 1]` (the two halves of the rotary dimensions) become
/// interleaved pairs. So Hugging Face row `h·d + s·(d/2) + i` (head `h`, half `s`, index `i`,
/// `d = rows / n_head`) is GGUF row `h·d + 2·i + s`.
pub fn permuted_row(hf_row: usize, rows: usize, n_head: usize) -> usize {
    let d = rows / n_head;
    let half = d / 2;
    let (h, r) = (hf_row / d, hf_row % d);
    let (s, i) = (r / half, r % half);
    h * d + 2 * i + s
}

/// Why rows cannot be unpermuted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpermuteError {
    #[error("{len} values do not form {rows} rows")]
    NotRows { len: usize, rows: usize },
    #[error("{rows} rows do not split into {n_head} heads of an even number of rows")]
    BadHeads { rows: usize, n_head: usize },
}

/// Restores the Hugging Face row order of a Q or K weight (or bias) that llama.cpp's converter
/// permuted with `n_head` heads (see [`permuted_row`]). `data` holds `rows` rows of equal length,
/// row-major: values, or the raw bytes of a quantised tensor (each GGUF row is whole blocks, so
/// rows can be moved as bytes).
pub fn unpermute_rows<T: Copy>(
    data: &[T],
    rows: usize,
    n_head: usize,
) -> Result<Vec<T>, UnpermuteError> {
    if rows == 0 || !data.len().is_multiple_of(rows) {
        return Err(UnpermuteError::NotRows {
            len: data.len(),
            rows,
        });
    }
    if n_head == 0 || !rows.is_multiple_of(n_head) || !(rows / n_head).is_multiple_of(2) {
        return Err(UnpermuteError::BadHeads { rows, n_head });
    }
    let cols = data.len() / rows;
    let mut out = Vec::with_capacity(data.len());
    for hf_row in 0..rows {
        let g = permuted_row(hf_row, rows, n_head);
        out.extend_from_slice(&data[g * cols..(g + 1) * cols]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds GGUF bytes field by field.
    #[derive(Default)]
    struct B(Vec<u8>);

    impl B {
        fn header(version: u32, tensors: u64, kvs: u64) -> B {
            let mut b = B::default();
            b.raw(b"GGUF").u32(version).u64(tensors).u64(kvs);
            b
        }
        fn raw(&mut self, bytes: &[u8]) -> &mut Self {
            self.0.extend_from_slice(bytes);
            self
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.raw(&v.to_le_bytes())
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.raw(&v.to_le_bytes())
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u64(s.len() as u64).raw(s.as_bytes())
        }
        fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
            self.str(key).u32(4).u32(v)
        }
        fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
            self.str(key).u32(8).str(v)
        }
        fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
            self.str(name).u32(dims.len() as u32);
            for &d in dims {
                self.u64(d);
            }
            self.u32(ty).u64(offset)
        }
        /// Pads to `align` then appends `n` data bytes.
        fn data(&mut self, align: usize, n: usize) -> &mut Self {
            while !self.0.len().is_multiple_of(align) {
                self.0.push(0);
            }
            self.0.extend((0..n).map(|i| i as u8));
            self
        }
        fn parse(&self) -> Result<Gguf, GgufError> {
            parse_gguf(&self.0)
        }
    }

    fn one_f32_tensor(name: &str, dims: &[u64], n_data: usize) -> B {
        let mut b = B::header(3, 1, 1);
        b.kv_str("general.architecture", "llama")
            .tensor(name, dims, 0, 0)
            .data(32, n_data);
        b
    }

    #[test]
    fn parses_a_minimal_file() {
        let mut b = B::header(3, 2, 2);
        b.kv_str("general.architecture", "llama")
            .kv_u32("llama.block_count", 1)
            .tensor("a", &[4, 2], 0, 0)
            .tensor("b", &[32], 8, 32)
            .data(32, 32 + 34);
        let g = b.parse().unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.alignment, 32);
        assert_eq!(g.architecture(), Some("llama"));
        assert_eq!(g.arch_u64("block_count"), Some(1));
        assert_eq!(g.data_start % 32, 0);
        let a = &g.tensors[0];
        assert_eq!(
            (a.dims.as_slice(), a.shape.as_slice()),
            (&[4, 2][..], &[2, 4][..])
        );
        assert_eq!(
            (a.ty, a.elements, a.bytes, a.start),
            (Some(GgmlType::F32), 8, Some(32), g.data_start)
        );
        let q = &g.tensors[1];
        assert_eq!(
            (q.ty, q.bytes, q.start),
            (Some(GgmlType::Q8_0), Some(34), g.data_start + 32)
        );
        assert_eq!(g.layout, Layout::default());
    }

    #[test]
    fn every_value_type_and_nested_arrays() {
        let mut b = B::header(2, 0, 14);
        b.str("u8").u32(0).raw(&[200]);
        b.str("i8").u32(1).raw(&[0xFF]);
        b.str("u16").u32(2).raw(&500u16.to_le_bytes());
        b.str("i16").u32(3).raw(&(-500i16).to_le_bytes());
        b.str("u32").u32(4).u32(70000);
        b.str("i32").u32(5).raw(&(-70000i32).to_le_bytes());
        b.str("f32").u32(6).raw(&1.5f32.to_le_bytes());
        b.str("bool").u32(7).raw(&[1]);
        b.str("string").u32(8).str("héllo");
        b.str("u64").u32(10).u64(1 << 40);
        b.str("i64").u32(11).raw(&(-1i64).to_le_bytes());
        b.str("f64").u32(12).raw(&0.25f64.to_le_bytes());
        // [[1, 2], [3]] of u32
        b.str("nested").u32(9).u32(9).u64(2);
        b.u32(4).u64(2).u32(1).u32(2);
        b.u32(4).u64(1).u32(3);
        b.str("strings").u32(9).u32(8).u64(2).str("a").str("bc");
        let g = b.parse().unwrap();
        let m = &g.metadata;
        assert_eq!(g.version, 2);
        assert_eq!(m.get("u8"), Some(&Value::U8(200)));
        assert_eq!(m.get("i8"), Some(&Value::I8(-1)));
        assert_eq!(m.get_u64("u16"), Some(500));
        assert_eq!(m.get_i64("i16"), Some(-500));
        assert_eq!(m.get_u64("i16"), None);
        assert_eq!(m.get_u64("u32"), Some(70000));
        assert_eq!(m.get_i64("i32"), Some(-70000));
        assert_eq!(m.get_f64("f32"), Some(1.5));
        assert_eq!(m.get_bool("bool"), Some(true));
        assert_eq!(m.get_str("string"), Some("héllo"));
        assert_eq!(m.get_u64("u64"), Some(1 << 40));
        assert_eq!(m.get_i64("i64"), Some(-1));
        assert_eq!(m.get_f64("f64"), Some(0.25));
        assert_eq!(m.get_f64("u32"), Some(70000.0));
        let nested = m.get_array("nested").unwrap();
        assert_eq!((nested.item_type, nested.len), (ValueType::Array, 2));
        let inner: Vec<Vec<u64>> = nested
            .items
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_array()
                    .unwrap()
                    .items
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(inner, vec![vec![1, 2], vec![3]]);
        assert_eq!(m.get_str_array("strings"), Some(vec!["a", "bc"]));
        assert_eq!(m.entries().len(), 14);
        assert_eq!(m.entries()[0].0, "u8");
    }

    #[test]
    fn long_arrays_are_kept_lazily() {
        let n = EAGER_ARRAY_LEN + 5;
        let mut b = B::header(3, 0, 2);
        b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(n);
        for i in 0..n {
            b.str(&format!("t{i}"));
        }
        b.str("tokenizer.ggml.scores").u32(9).u32(6).u64(n);
        for i in 0..n {
            b.raw(&(i as f32).to_le_bytes());
        }
        let g = b.parse().unwrap();
        let tokens = g.metadata.get_array("tokenizer.ggml.tokens").unwrap();
        assert_eq!((tokens.len, tokens.items.is_none()), (n, true));
        assert_eq!(g.tokenizer().tokens, Some(n));
        let items = tokens.read_items(&b.0, "tokenizer.ggml.tokens").unwrap();
        assert_eq!(items.len() as u64, n);
        assert_eq!(items[1000].as_str(), Some("t1000"));
        let scores = g.metadata.get_array("tokenizer.ggml.scores").unwrap();
        assert_eq!(scores.read_items(&b.0, "s").unwrap()[7], Value::F32(7.0));
    }

    #[test]
    fn alignment_is_honoured() {
        let mut b = B::header(3, 2, 1);
        b.kv_u32("general.alignment", 64)
            .tensor("a", &[3], 0, 0)
            .tensor("b", &[3], 0, 64)
            .data(64, 64 + 12);
        let g = b.parse().unwrap();
        assert_eq!((g.alignment, g.data_start % 64), (64, 0));
        assert_eq!(g.tensors[1].start, g.data_start + 64);
    }

    #[test]
    fn gaps_and_trailing_bytes_are_reported_not_refused() {
        let mut b = B::header(3, 2, 0);
        b.tensor("a", &[8], 0, 0)
            .tensor("b", &[8], 0, 128)
            .data(32, 128 + 32 + 100);
        let g = b.parse().unwrap();
        let s = g.data_start;
        assert_eq!(g.layout.gaps, vec![(s + 32, s + 128)]);
        assert_eq!(g.layout.trailing_bytes, 100);
    }

    #[test]
    fn unknown_types_are_listed_not_refused() {
        let mut b = B::header(3, 1, 0);
        b.tensor("mystery", &[7, 3], 99, 0).data(32, 10);
        let g = b.parse().unwrap();
        let t = &g.tensors[0];
        assert_eq!((t.type_id, t.ty, t.bytes, t.elements), (99, None, None, 21));
        assert_eq!(t.type_name(), "type 99");
        // Its bytes are its own, not a gap or trailing bytes.
        assert_eq!(g.layout, Layout::default());
        let mut b = B::header(3, 2, 0);
        b.tensor("known", &[8], 0, 64)
            .tensor("mystery", &[7, 3], 99, 0)
            .data(32, 64 + 32 + 40);
        let g = b.parse().unwrap();
        assert_eq!(g.layout.gaps, []);
        assert_eq!(g.layout.trailing_bytes, 40);
    }

    #[test]
    fn metadata_helpers() {
        let mut b = B::header(3, 0, 12);
        b.kv_str("general.architecture", "llama")
            .kv_u32("general.base_model.count", 1)
            .kv_str("general.base_model.0.name", "Base")
            .kv_str("general.base_model.0.repo_url", "https://example.org/base")
            .kv_u32("general.dataset.count", 1)
            .kv_str("general.dataset.0.name", "Set")
            .str("general.datasets")
            .u32(9)
            .u32(8)
            .u64(1)
            .str("spec-set")
            .kv_str("tokenizer.chat_template", "{{ x }}")
            .kv_str("tokenizer.chat_template.tool_use", "{{ y }}")
            .kv_u32("split.no", 1)
            .kv_u32("split.count", 3)
            .str("tokenizer.ggml.eos_token_id")
            .u32(5)
            .u32(2);
        let g = b.parse().unwrap();
        let base = g.base_models();
        assert_eq!(base.len(), 1);
        assert_eq!(base[0].name.as_deref(), Some("Base"));
        assert_eq!(
            base[0].repo_url.as_deref(),
            Some("https://example.org/base")
        );
        let names: Vec<_> = g.datasets().into_iter().map(|d| d.name.unwrap()).collect();
        assert_eq!(names, ["spec-set", "Set"]);
        let tok = g.tokenizer();
        assert_eq!(tok.chat_template.as_deref(), Some("{{ x }}"));
        assert_eq!(tok.named_chat_templates, ["tool_use"]);
        assert_eq!(tok.eos_token_id, Some(2));
        assert_eq!(
            g.split(),
            Some(SplitInfo {
                no: 1,
                count: 3,
                tensors: None
            })
        );
    }

    // -- one test per error variant, with the bad bytes built inline ----------------------------

    #[test]
    fn err_too_short() {
        assert_eq!(
            parse_gguf(b"GGUF\x03\0\0\0"),
            Err(GgufError::TooShort { len: 8 })
        );
        assert_eq!(parse_gguf(b""), Err(GgufError::TooShort { len: 0 }));
    }

    #[test]
    fn err_bad_magic() {
        let mut b = B::header(3, 0, 0);
        b.0[..4].copy_from_slice(b"GGML");
        assert_eq!(b.parse(), Err(GgufError::BadMagic { found: *b"GGML" }));
        // Short files that are not GGUF at all are "not GGUF", not "too short".
        assert_eq!(
            parse_gguf(b"PK\x03\x04"),
            Err(GgufError::BadMagic {
                found: *b"PK\x03\x04"
            })
        );
        assert_eq!(
            GgufError::BadMagic {
                found: *b"PK\x03\x04"
            }
            .to_string(),
            "not a GGUF file: starts with `PK\\x03\\x04`, expected `GGUF`"
        );
    }

    #[test]
    fn err_version_1() {
        assert_eq!(B::header(1, 0, 0).parse(), Err(GgufError::Version1));
    }

    #[test]
    fn err_unsupported_version() {
        assert_eq!(
            B::header(4, 0, 0).parse(),
            Err(GgufError::UnsupportedVersion { version: 4 })
        );
        assert_eq!(
            B::header(0, 0, 0).parse(),
            Err(GgufError::UnsupportedVersion { version: 0 })
        );
    }

    #[test]
    fn err_big_endian() {
        let mut b = B::default();
        b.raw(b"GGUF")
            .raw(&3u32.to_be_bytes())
            .raw(&0u64.to_be_bytes())
            .raw(&0u64.to_be_bytes());
        assert_eq!(b.parse(), Err(GgufError::BigEndian { version: 3 }));
    }

    #[test]
    fn err_unexpected_eof() {
        let mut b = B::header(3, 1, 1);
        b.kv_u32("general.alignment", 32);
        b.str("t").u32(1).u64(32).u32(0).u64(0);
        let full = b.0.clone();
        // Cut inside the tensor info's offset field.
        let cut = &full[..full.len() - 4];
        assert!(matches!(
            parse_gguf(cut),
            Err(GgufError::UnexpectedEof { ref what, .. }) if what == "the offset of `t`"
        ));
        // Cut inside a u32 value.
        let mut b = B::header(3, 0, 1);
        b.str("k").u32(4).raw(&[1, 2]);
        assert!(matches!(
            b.parse(),
            Err(GgufError::UnexpectedEof {
                needed: 4,
                remaining: 2,
                ..
            })
        ));
    }

    #[test]
    fn err_too_many_tensors() {
        let b = B::header(3, u64::MAX, 0);
        assert_eq!(
            b.parse(),
            Err(GgufError::TooManyTensors {
                count: u64::MAX,
                remaining: 0
            })
        );
        // Counted again after the metadata: 40 bytes of KV leave too little for 2 infos.
        let mut b = B::header(3, 2, 1);
        b.kv_str("k", "0123456789abcdefghij").raw(&[0; 30]);
        assert!(matches!(
            b.parse(),
            Err(GgufError::TooManyTensors {
                count: 2,
                remaining: 30
            })
        ));
    }

    #[test]
    fn err_too_many_kvs() {
        let mut b = B::header(3, 0, 1000);
        b.raw(&[0; 100]);
        assert_eq!(
            b.parse(),
            Err(GgufError::TooManyKvs {
                count: 1000,
                remaining: 100
            })
        );
    }

    #[test]
    fn err_string_too_long() {
        let mut b = B::header(3, 0, 1);
        b.u64(MAX_NAME_LEN + 1).raw(&[b'a'; 64]);
        assert!(matches!(
            b.parse(),
            Err(GgufError::StringTooLong { len, max: MAX_NAME_LEN, .. }) if len == MAX_NAME_LEN + 1
        ));
    }

    #[test]
    fn err_string_past_end() {
        let mut b = B::header(3, 0, 1);
        b.str("general.name").u32(8).u64(1000).raw(b"short");
        assert_eq!(
            b.parse(),
            Err(GgufError::StringPastEnd {
                what: "the value of `general.name`".into(),
                offset: 24 + 8 + 12 + 4,
                len: 1000,
                remaining: 5
            })
        );
    }

    #[test]
    fn err_invalid_utf8() {
        let mut b = B::header(3, 0, 1);
        b.u64(2).raw(&[0xC3, 0x28]).u32(4).u32(0);
        assert!(matches!(
            b.parse(),
            Err(GgufError::InvalidUtf8 { offset: 24, .. })
        ));
        // Values are lossy instead.
        let mut b = B::header(3, 0, 1);
        b.str("k").u32(8).u64(2).raw(&[0xC3, 0x28]);
        assert_eq!(b.parse().unwrap().metadata.get_str("k"), Some("\u{FFFD}("));
    }

    #[test]
    fn err_unknown_value_type() {
        let mut b = B::header(3, 0, 1);
        b.str("k").u32(13).u32(0);
        assert_eq!(
            b.parse(),
            Err(GgufError::UnknownValueType {
                key: "k".into(),
                type_id: 13
            })
        );
        let mut b = B::header(3, 0, 1);
        b.str("arr").u32(9).u32(77).u64(0);
        assert!(matches!(
            b.parse(),
            Err(GgufError::UnknownValueType { type_id: 77, .. })
        ));
    }

    #[test]
    fn err_array_too_long() {
        let mut b = B::header(3, 0, 1);
        b.str("a").u32(9).u32(0).u64(MAX_ARRAY_LEN + 1);
        assert!(matches!(b.parse(), Err(GgufError::ArrayTooLong { .. })));
    }

    #[test]
    fn err_array_past_end() {
        let mut b = B::header(3, 0, 1);
        b.str("tokens").u32(9).u32(8).u64(1_000_000).raw(&[0; 64]);
        assert_eq!(
            b.parse(),
            Err(GgufError::ArrayPastEnd {
                key: "tokens".into(),
                len: 1_000_000,
                item_len: 8,
                remaining: 64
            })
        );
    }

    #[test]
    fn err_nesting_too_deep() {
        let mut b = B::header(3, 0, 1);
        b.str("deep").u32(9);
        for _ in 0..MAX_DEPTH {
            b.u32(9).u64(1);
        }
        b.u32(0).u64(0);
        assert_eq!(
            b.parse(),
            Err(GgufError::NestingTooDeep {
                key: "deep".into(),
                max: MAX_DEPTH
            })
        );
        // One level less is fine.
        let mut b = B::header(3, 0, 1);
        b.str("deep").u32(9);
        for _ in 0..MAX_DEPTH - 1 {
            b.u32(9).u64(1);
        }
        b.u32(0).u64(0);
        assert!(b.parse().is_ok());
    }

    #[test]
    fn err_duplicate_key() {
        let mut b = B::header(3, 0, 2);
        b.kv_u32("k", 1).kv_u32("k", 2);
        assert_eq!(b.parse(), Err(GgufError::DuplicateKey { key: "k".into() }));
    }

    #[test]
    fn err_invalid_alignment() {
        for (v, shown) in [(0u32, "0"), (48, "48")] {
            let mut b = B::header(3, 0, 1);
            b.kv_u32("general.alignment", v);
            assert_eq!(
                b.parse(),
                Err(GgufError::InvalidAlignment {
                    found: shown.into()
                })
            );
        }
        let mut b = B::header(3, 0, 1);
        b.kv_str("general.alignment", "32");
        assert_eq!(
            b.parse(),
            Err(GgufError::InvalidAlignment {
                found: "\"32\" (string)".into()
            })
        );
    }

    #[test]
    fn err_too_many_dims() {
        let b = one_f32_tensor("t", &[1, 1, 1, 1, 1], 4);
        assert_eq!(
            b.parse(),
            Err(GgufError::TooManyDims {
                tensor: "t".into(),
                n_dims: 5,
                max: 4
            })
        );
    }

    #[test]
    fn err_shape_overflow() {
        let b = one_f32_tensor("t", &[1 << 32, 1 << 32], 4);
        assert!(matches!(b.parse(), Err(GgufError::ShapeOverflow { .. })));
        // Fits u64 but not ggml's int64_t.
        let b = one_f32_tensor("t", &[1 << 63], 4);
        assert!(matches!(b.parse(), Err(GgufError::ShapeOverflow { .. })));
        // Elements fit, bytes do not.
        let b = one_f32_tensor("t", &[1 << 62], 4);
        assert!(matches!(b.parse(), Err(GgufError::ShapeOverflow { .. })));
    }

    #[test]
    fn err_partial_block() {
        let mut b = B::header(3, 1, 0);
        b.tensor("blk.0.attn_q.weight", &[100, 2], 12, 0)
            .data(32, 1000);
        assert_eq!(
            b.parse(),
            Err(GgufError::PartialBlock {
                tensor: "blk.0.attn_q.weight".into(),
                ty: GgmlType::Q4_K,
                ne0: 100,
                block: 256
            })
        );
    }

    #[test]
    fn err_duplicate_tensor() {
        let mut b = B::header(3, 2, 0);
        b.tensor("t", &[8], 0, 0)
            .tensor("t", &[8], 0, 32)
            .data(32, 64);
        assert_eq!(
            b.parse(),
            Err(GgufError::DuplicateTensor { tensor: "t".into() })
        );
    }

    #[test]
    fn err_misaligned_tensor() {
        let mut b = B::header(3, 1, 0);
        b.tensor("t", &[8], 0, 4).data(32, 64);
        assert_eq!(
            b.parse(),
            Err(GgufError::MisalignedTensor {
                tensor: "t".into(),
                offset: 4,
                alignment: 32
            })
        );
    }

    #[test]
    fn err_tensor_past_end() {
        let b = one_f32_tensor("blk.0.attn_q.weight", &[50], 150);
        let g = b.0.len() as u64;
        let err = b.parse().unwrap_err();
        let GgufError::TensorPastEnd {
            start, end, len, ..
        } = err.clone()
        else {
            panic!("{err:?}")
        };
        assert_eq!((end - start, len), (200, g));
        assert_eq!(
            err.to_string(),
            format!(
                "tensor `blk.0.attn_q.weight` data [{start}, {end}) ends past the file ({g} bytes)"
            )
        );
        // An offset so large the start itself is outside, for a type of unknown size too.
        let mut b = B::header(3, 1, 0);
        b.tensor("u", &[8], 99, 1 << 40).data(32, 8);
        assert!(matches!(b.parse(), Err(GgufError::TensorPastEnd { .. })));
    }

    #[test]
    fn err_overlapping_tensors() {
        let mut b = B::header(3, 2, 0);
        b.tensor("a", &[16], 0, 0)
            .tensor("b", &[16], 0, 32)
            .data(32, 128);
        let err = b.parse().unwrap_err();
        assert!(
            matches!(err, GgufError::OverlappingTensors { ref tensor, ref other, .. } if tensor == "b" && other == "a"),
            "{err:?}"
        );
        // Empty tensors at the same offset do not overlap anything.
        let mut b = B::header(3, 2, 0);
        b.tensor("e", &[0, 4], 0, 0)
            .tensor("a", &[8], 0, 0)
            .data(32, 32);
        assert!(b.parse().is_ok());
    }

    #[test]
    fn error_messages_are_lowercase_with_names_in_backticks() {
        let e = GgufError::DuplicateTensor { tensor: "x".into() };
        assert_eq!(e.to_string(), "tensor `x` appears more than once");
        let e = GgufError::PartialBlock {
            tensor: "x".into(),
            ty: GgmlType::Q4_K,
            ne0: 100,
            block: 256,
        };
        assert_eq!(
            e.to_string(),
            "tensor `x` row length 100 is not a multiple of the `Q4_K` block of 256 values"
        );
    }

    // -- names across formats --------------------------------------------------------------------

    #[test]
    fn llama_names_map_to_hugging_face() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            (
                "blk.0.attn_q.weight",
                "model.layers.0.self_attn.q_proj.weight",
            ),
            (
                "blk.17.attn_k.weight",
                "model.layers.17.self_attn.k_proj.weight",
            ),
            (
                "blk.3.attn_v.weight",
                "model.layers.3.self_attn.v_proj.weight",
            ),
            (
                "blk.3.attn_output.weight",
                "model.layers.3.self_attn.o_proj.weight",
            ),
            (
                "blk.3.attn_norm.weight",
                "model.layers.3.input_layernorm.weight",
            ),
            (
                "blk.3.ffn_norm.weight",
                "model.layers.3.post_attention_layernorm.weight",
            ),
            (
                "blk.3.ffn_gate.weight",
                "model.layers.3.mlp.gate_proj.weight",
            ),
            ("blk.3.ffn_up.weight", "model.layers.3.mlp.up_proj.weight"),
            (
                "blk.3.ffn_down.weight",
                "model.layers.3.mlp.down_proj.weight",
            ),
        ];
        for (g, hf) in cases {
            assert_eq!(gguf_to_hf_name("llama", g).as_deref(), Some(hf), "{g}");
        }
        for unknown in [
            "rope_freqs.weight",
            "blk.x.attn_q.weight",
            "blk..attn_q.weight",
            "blk.0.ffn_gate_exps.weight",
        ] {
            assert_eq!(gguf_to_hf_name("llama", unknown), None, "{unknown}");
        }
        assert_eq!(gguf_to_hf_name("gpt2", "token_embd.weight"), None);
        assert_eq!(
            gguf_to_hf_name("qwen3", "blk.2.attn_k_norm.weight").as_deref(),
            Some("model.layers.2.self_attn.k_norm.weight")
        );
        assert_eq!(gguf_to_hf_name("llama", "blk.2.attn_k_norm.weight"), None);
        assert_eq!(
            gguf_to_hf_name("qwen2", "blk.0.attn_q.bias").as_deref(),
            Some("model.layers.0.self_attn.q_proj.bias")
        );
    }

    #[test]
    fn qk_permutation_applies_to_llama_q_and_k_only() {
        assert_eq!(
            qk_permutation("llama", "blk.0.attn_q.weight"),
            Some(QkPermutation::Query)
        );
        assert_eq!(
            qk_permutation("llama", "blk.12.attn_k.weight"),
            Some(QkPermutation::Key)
        );
        assert_eq!(qk_permutation("llama", "blk.0.attn_v.weight"), None);
        assert_eq!(qk_permutation("qwen2", "blk.0.attn_q.weight"), None);
        assert_eq!(qk_permutation("llama", "token_embd.weight"), None);
    }

    /// numpy, with llama.cpp's `permute` from convert_hf_to_gguf.py:
    ///
    /// ```python
    /// w = np.arange(8 * 3).reshape(8, 3)       # 8 rows (2 heads of 4), 3 columns
    /// p = w.reshape(2, 2, 8 // 2 // 2, 3).swapaxes(1, 2).reshape(8, 3)
    /// p[:, 0] // 3  ->  [0, 2, 1, 3, 4, 6, 5, 7]
    /// ```
    #[test]
    fn unpermute_rows_matches_numpy() {
        let hf: Vec<u32> = (0..24).collect();
        let gguf_rows = [0usize, 2, 1, 3, 4, 6, 5, 7];
        let gguf: Vec<u32> = gguf_rows
            .iter()
            .flat_map(|&r| hf[r * 3..r * 3 + 3].to_vec())
            .collect();
        assert_eq!(unpermute_rows(&gguf, 8, 2).unwrap(), hf);
        for (hf_row, &g) in [0usize, 2, 1, 3, 4, 6, 5, 7].iter().enumerate() {
            // permuted_row is the inverse view: HF row -> GGUF row.
            assert_eq!(gguf_rows[permuted_row(hf_row, 8, 2)], hf_row, "{g}");
        }
        assert_eq!(
            unpermute_rows(&gguf, 5, 2),
            Err(UnpermuteError::NotRows { len: 24, rows: 5 })
        );
        assert_eq!(
            unpermute_rows(&gguf, 8, 3),
            Err(UnpermuteError::BadHeads { rows: 8, n_head: 3 })
        );
        assert_eq!(
            unpermute_rows(&gguf, 8, 8),
            Err(UnpermuteError::BadHeads { rows: 8, n_head: 8 })
        );
    }
}

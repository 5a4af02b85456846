//! The parsed file: the header, the metadata and the tensor table, validated, with each tensor's
//! place in the file.

use std::ops::Range;

use super::{GgmlType, Metadata};

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
    /// `general.alignment`, or [`DEFAULT_ALIGNMENT`](super::DEFAULT_ALIGNMENT).
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

impl Gguf {
    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The data of `tensor`, from the file's bytes (the same bytes given to
    /// [`parse_gguf`](super::parse_gguf)); `None` when its type (and so its size) is unknown.
    pub fn tensor_data<'a>(&self, bytes: &'a [u8], tensor: &GgufTensor) -> Option<&'a [u8]> {
        let r = tensor.range()?;
        bytes.get(usize::try_from(r.start).ok()?..usize::try_from(r.end).ok()?)
    }
}

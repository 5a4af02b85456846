//! The safetensors format: an 8-byte little-endian header length, a JSON header, then the data.
//!
//! Validation follows the `safetensors` crate's reader and goes further: the header is checked step
//! by step (length, size cap, UTF-8, JSON, one entry per tensor) before any table is built; every
//! dtype the crate defines is accepted; shape × dtype size is computed with checked arithmetic and
//! must equal the byte range; ranges must lie inside the file and must not overlap. Unlike the crate,
//! gaps between tensors and trailing bytes are not errors: they are returned in [`Layout`] so the
//! report can call the file suspicious.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

use crate::dtype::DType;

/// The header cap, as in the `safetensors` crate.
pub const MAX_HEADER_SIZE: u64 = 100_000_000;

/// What is wrong inside one safetensors file (the path is attached by
/// [`Error::Format`](crate::error::Error::Format)).
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

/// One tensor as the header declares it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    /// Byte range relative to the start of the data section.
    pub start: u64,
    pub end: u64,
}

/// Bytes of the data section that no tensor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Unused ranges between (or before) tensors, relative to the data section.
    pub gaps: Vec<(u64, u64)>,
    /// Bytes after the last tensor.
    pub trailing_bytes: u64,
}

/// A parsed safetensors header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Length of the JSON header in bytes (the data section starts at `8 + header_len`).
    pub header_len: u64,
    /// Tensors in header order.
    pub tensors: Vec<HeaderTensor>,
    /// The `__metadata__` map (string values; other JSON values are kept as their JSON text).
    pub metadata: BTreeMap<String, String>,
    pub layout: Layout,
}

impl Header {
    /// Absolute file offset where the data section starts.
    pub fn data_start(&self) -> u64 {
        8 + self.header_len
    }
}

/// Reads the header length from the first 8 bytes and checks it against the cap and the file size.
/// Returns the header length.
pub fn parse_header_len(prefix: &[u8], file_len: u64) -> Result<u64, FormatError> {
    let Some(first) = prefix.get(..8) else {
        return Err(FormatError::TooShort { len: file_len });
    };
    let size = u64::from_le_bytes(first.try_into().expect("8 bytes"));
    if size > MAX_HEADER_SIZE {
        return Err(FormatError::HeaderTooLarge {
            size,
            max: MAX_HEADER_SIZE,
        });
    }
    if size > file_len.saturating_sub(8) {
        return Err(FormatError::HeaderPastEnd {
            size,
            len: file_len,
        });
    }
    Ok(size)
}

/// Parses and validates the header of a safetensors file. `bytes` must hold at least the 8-byte
/// length and the JSON header; `file_len` is the size of the whole file.
pub fn parse_header(bytes: &[u8], file_len: u64) -> Result<Header, FormatError> {
    let header_len = parse_header_len(bytes, file_len)?;
    let json = bytes
        .get(8..8 + header_len as usize)
        .ok_or(FormatError::HeaderPastEnd {
            size: header_len,
            len: file_len,
        })?;
    let text = std::str::from_utf8(json).map_err(|e| FormatError::HeaderUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let entries = parse_entries(text)?;
    let data_len = file_len - 8 - header_len;

    let mut tensors = Vec::with_capacity(entries.len());
    let mut metadata = BTreeMap::new();
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for (name, raw) in entries {
        // Valid JSON already (the entries parse checked it): this cannot fail.
        let value: serde_json::Value =
            serde_json::from_str(raw.get()).map_err(|e| FormatError::HeaderJson {
                message: e.to_string(),
            })?;
        if !seen.insert(name.clone()) {
            return Err(FormatError::DuplicateTensor { tensor: name });
        }
        if name == "__metadata__" {
            metadata = parse_metadata(value);
            continue;
        }
        tensors.push(parse_tensor(name, value, data_len)?);
    }
    let layout = check_layout(&tensors, data_len)?;
    Ok(Header {
        header_len,
        tensors,
        metadata,
        layout,
    })
}

fn parse_metadata(value: serde_json::Value) -> BTreeMap<String, String> {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        other => BTreeMap::from([(String::new(), other.to_string())]),
    }
}

fn parse_tensor(
    name: String,
    value: serde_json::Value,
    data_len: u64,
) -> Result<HeaderTensor, FormatError> {
    let invalid = |message: &str| FormatError::InvalidEntry {
        tensor: name.clone(),
        message: message.to_owned(),
    };
    let serde_json::Value::Object(entry) = value else {
        return Err(invalid("entry is not a JSON object"));
    };
    let dtype_name = entry
        .get("dtype")
        .ok_or_else(|| invalid("missing `dtype`"))?
        .as_str()
        .ok_or_else(|| invalid("`dtype` is not a string"))?;
    let dtype: DType = dtype_name.parse().map_err(|_| FormatError::UnknownDType {
        tensor: name.clone(),
        dtype: dtype_name.to_owned(),
    })?;
    let shape = entry
        .get("shape")
        .ok_or_else(|| invalid("missing `shape`"))?
        .as_array()
        .ok_or_else(|| invalid("`shape` is not an array"))?
        .iter()
        .map(serde_json::Value::as_u64)
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| invalid("`shape` holds something other than non-negative integers"))?;
    let offsets = entry
        .get("data_offsets")
        .ok_or_else(|| invalid("missing `data_offsets`"))?
        .as_array()
        .ok_or_else(|| invalid("`data_offsets` is not an array"))?;
    let [start, end] = offsets.as_slice() else {
        return Err(invalid("`data_offsets` must hold exactly two integers"));
    };
    let (Some(start), Some(end)) = (start.as_u64(), end.as_u64()) else {
        return Err(invalid("`data_offsets` must hold non-negative integers"));
    };

    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| FormatError::ShapeOverflow {
            tensor: name.clone(),
            shape: shape.clone(),
        })?;
    if elements % dtype.block_elements() != 0 {
        return Err(FormatError::PartialBlock {
            tensor: name,
            dtype: dtype.to_string(),
            shape,
        });
    }
    let expected = dtype
        .bytes_for(elements)
        .ok_or_else(|| FormatError::ShapeOverflow {
            tensor: name.clone(),
            shape: shape.clone(),
        })?;
    if end < start {
        return Err(FormatError::OffsetsReversed {
            tensor: name,
            start,
            end,
        });
    }
    if end - start != expected {
        return Err(FormatError::ShapeMismatch {
            tensor: name,
            dtype: dtype.to_string(),
            shape,
            expected,
            start,
            end,
            actual: end - start,
        });
    }
    if end > data_len {
        return Err(FormatError::DataPastEnd {
            tensor: name,
            start,
            end,
            len: data_len,
        });
    }
    Ok(HeaderTensor {
        name,
        dtype,
        shape,
        start,
        end,
    })
}

/// Checks that ranges do not overlap and collects the bytes no tensor uses.
fn check_layout(tensors: &[HeaderTensor], data_len: u64) -> Result<Layout, FormatError> {
    let mut order: Vec<&HeaderTensor> = tensors.iter().filter(|t| t.end > t.start).collect();
    order.sort_by_key(|t| (t.start, t.end));
    let mut layout = Layout::default();
    let mut cursor = 0u64;
    let mut previous: Option<&HeaderTensor> = None;
    for t in order {
        if let Some(p) = previous.filter(|p| t.start < p.end) {
            return Err(FormatError::Overlap {
                tensor: t.name.clone(),
                start: t.start,
                end: t.end,
                other: p.name.clone(),
                other_start: p.start,
                other_end: p.end,
            });
        }
        if t.start > cursor {
            layout.gaps.push((cursor, t.start));
        }
        cursor = t.end;
        previous = Some(t);
    }
    layout.trailing_bytes = data_len - cursor;
    Ok(layout)
}

/// The header's top-level entries in file order, keeping duplicates so they can be rejected
/// (`serde_json::Map` would silently keep the last one).
/// The header's entries, each value kept as its raw JSON text (validated, not yet parsed): a
/// header of a million tensors would otherwise hold a million `serde_json::Value` trees at once
/// (about 1 KiB each); [`parse_header`] parses them one at a time.
fn parse_entries(text: &str) -> Result<Vec<(String, &serde_json::value::RawValue)>, FormatError> {
    struct Entries<'a>(Vec<(String, &'a serde_json::value::RawValue)>);
    struct EntriesVisitor;
    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Entries<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, &'de serde_json::value::RawValue>()? {
                out.push(entry);
            }
            Ok(Entries(out))
        }
    }
    impl<'de> serde::Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(EntriesVisitor)
        }
    }

    let json_error = |e: serde_json::Error| FormatError::HeaderJson {
        message: e.to_string(),
    };
    if !text.trim_start().starts_with('{') {
        // Tell "JSON but not an object" from "not JSON" so each gets its own error.
        serde_json::from_str::<serde_json::Value>(text).map_err(json_error)?;
        return Err(FormatError::HeaderNotObject);
    }
    serde_json::from_str::<Entries>(text)
        .map(|e| e.0)
        .map_err(|e| FormatError::HeaderJson {
            message: e.to_string(),
        })
}

/// Builds the bytes of a safetensors file from a header JSON text and a data section (tests and
/// benches use it to make inputs inline).
pub fn build_file(header_json: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + header_json.len() + data.len());
    out.extend_from_slice(&(header_json.len() as u64).to_le_bytes());
    out.extend_from_slice(header_json.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(header: &str, data_len: usize) -> Result<Header, FormatError> {
        let bytes = build_file(header, &vec![0u8; data_len]);
        parse_header(&bytes, bytes.len() as u64)
    }

    #[test]
    fn valid_header_parses_with_metadata() {
        let h = parse(
            r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[8,20]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            20,
        )
        .unwrap();
        assert_eq!(h.tensors.len(), 2);
        assert_eq!(h.tensors[0].name, "b");
        assert_eq!(h.tensors[0].dtype, DType::BF16);
        assert_eq!(h.tensors[0].shape, vec![2, 3]);
        assert_eq!(h.metadata["format"], "pt");
        assert_eq!(h.layout, Layout::default());
    }

    #[test]
    fn short_file_is_rejected() {
        assert_eq!(
            parse_header(&[1, 2, 3], 3),
            Err(FormatError::TooShort { len: 3 })
        );
    }

    #[test]
    fn header_cap_and_end() {
        let mut bytes = (MAX_HEADER_SIZE + 1).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        assert!(matches!(
            parse_header(&bytes, 10),
            Err(FormatError::HeaderTooLarge { .. })
        ));
        let mut bytes = 100u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        assert_eq!(
            parse_header(&bytes, 10),
            Err(FormatError::HeaderPastEnd { size: 100, len: 10 })
        );
    }

    #[test]
    fn utf8_json_and_object_errors() {
        let bytes = build_file("{\"\u{e9}\":1}", &[]);
        let mut bad = bytes.clone();
        bad[10] = 0xFF;
        assert!(matches!(
            parse_header(&bad, bad.len() as u64),
            Err(FormatError::HeaderUtf8 { .. })
        ));
        assert!(matches!(
            parse("{not json", 0),
            Err(FormatError::HeaderJson { .. })
        ));
        assert_eq!(parse("[1,2]", 0), Err(FormatError::HeaderNotObject));
    }

    #[test]
    fn duplicate_and_invalid_entries() {
        let e = parse(
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
            2,
        );
        assert_eq!(e, Err(FormatError::DuplicateTensor { tensor: "a".into() }));
        for (entry, needle) in [
            (r#"3"#, "not a JSON object"),
            (r#"{"shape":[1],"data_offsets":[0,1]}"#, "missing `dtype`"),
            (
                r#"{"dtype":1,"shape":[1],"data_offsets":[0,1]}"#,
                "`dtype` is not",
            ),
            (r#"{"dtype":"U8","data_offsets":[0,1]}"#, "missing `shape`"),
            (
                r#"{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}"#,
                "non-negative",
            ),
            (r#"{"dtype":"U8","shape":[1]}"#, "missing `data_offsets`"),
            (
                r#"{"dtype":"U8","shape":[1],"data_offsets":[0]}"#,
                "exactly two",
            ),
            (
                r#"{"dtype":"U8","shape":[1],"data_offsets":[0,"1"]}"#,
                "non-negative integers",
            ),
        ] {
            let err = parse(&format!(r#"{{"t":{entry}}}"#), 1).unwrap_err();
            assert!(
                matches!(&err, FormatError::InvalidEntry { message, .. } if message.contains(needle)),
                "{entry}: {err}"
            );
        }
    }

    #[test]
    fn dtype_shape_and_offset_errors() {
        assert_eq!(
            parse(
                r#"{"t":{"dtype":"F17","shape":[1],"data_offsets":[0,1]}}"#,
                1
            ),
            Err(FormatError::UnknownDType {
                tensor: "t".into(),
                dtype: "F17".into()
            })
        );
        assert!(matches!(
            parse(
                r#"{"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}"#,
                1
            ),
            Err(FormatError::ShapeOverflow { .. })
        ));
        assert!(matches!(
            parse(
                r#"{"t":{"dtype":"F64","shape":[4294967296,536870912],"data_offsets":[0,1]}}"#,
                1
            ),
            Err(FormatError::ShapeOverflow { .. })
        ));
        assert!(matches!(
            parse(
                r#"{"t":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#,
                1
            ),
            Err(FormatError::PartialBlock { .. })
        ));
        assert!(matches!(
            parse(
                r#"{"t":{"dtype":"U8","shape":[1],"data_offsets":[2,1]}}"#,
                2
            ),
            Err(FormatError::OffsetsReversed { .. })
        ));
        assert!(matches!(
            parse(
                r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                8
            ),
            Err(FormatError::ShapeMismatch {
                expected: 8,
                actual: 4,
                ..
            })
        ));
        assert_eq!(
            parse(
                r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                8
            ),
            Err(FormatError::DataPastEnd {
                tensor: "t".into(),
                start: 4,
                end: 12,
                len: 8
            })
        );
    }

    #[test]
    fn overlap_is_an_error_but_gaps_and_trailing_bytes_are_recorded() {
        assert!(matches!(
            parse(
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                6
            ),
            Err(FormatError::Overlap { .. })
        ));
        let h = parse(
            r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[2,6]},"b":{"dtype":"U8","shape":[4],"data_offsets":[10,14]},"e":{"dtype":"U8","shape":[0],"data_offsets":[3,3]}}"#,
            20,
        )
        .unwrap();
        assert_eq!(h.layout.gaps, vec![(0, 2), (6, 10)]);
        assert_eq!(h.layout.trailing_bytes, 6);
    }

    #[test]
    fn every_safetensors_dtype_is_accepted() {
        for &d in crate::dtype::SAFETENSORS_DTYPES {
            let n = d.block_elements() * 2;
            let bytes = d.bytes_for(n).unwrap();
            let h = parse(
                &format!(r#"{{"t":{{"dtype":"{d}","shape":[{n}],"data_offsets":[0,{bytes}]}}}}"#),
                bytes as usize,
            )
            .unwrap();
            assert_eq!(h.tensors[0].dtype, d);
        }
    }
}

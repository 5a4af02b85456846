//! The reader: [`parse_gguf`] walks the header, the metadata and the tensor infos, then checks
//! every tensor's place in the file (aligned, inside the file, not overlapping another) and
//! records the bytes no tensor uses.

use std::ops::Range;

use super::cursor::Cursor;
use super::{GgmlType, Gguf, GgufError, GgufTensor, Layout, Metadata, Value, ValueType};

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// The alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// Fixed header: magic, version, tensor count, kv count.
pub(super) const HEADER_LEN: u64 = 4 + 4 + 8 + 8;
/// The smallest tensor info: empty name (8), `n_dims` (4), no dimensions, type (4), offset (8).
pub(super) const MIN_TENSOR_INFO_LEN: u64 = 8 + 4 + 4 + 8;
/// The smallest key-value pair: empty key (8), value type (4), a one-byte value.
pub(super) const MIN_KV_LEN: u64 = 8 + 4 + 1;

/// Parses and validates a whole GGUF file held in `bytes`.
pub fn parse_gguf(bytes: &[u8]) -> Result<Gguf, GgufError> {
    parse_gguf_prefix(bytes, bytes.len() as u64)
}

/// Parses the header of a GGUF file of `file_len` bytes from its first bytes (`bytes`, a prefix
/// holding at least the header, metadata and tensor infos): tensors are placed and checked
/// against `file_len`. A prefix too short for the header fails like a truncated file; a remote
/// reader fetches more and tries again.
pub fn parse_gguf_prefix(bytes: &[u8], file_len: u64) -> Result<Gguf, GgufError> {
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

#[cfg(test)]
mod tests {
    use super::super::test_bytes::B;
    use super::super::*;

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
}

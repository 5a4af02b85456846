//! Why bytes are not a GGUF file glassbox can read: one variant per failure, each tested below
//! with the bad bytes built inline.

use super::GgmlType;
use super::reader::{HEADER_LEN, MIN_KV_LEN, MIN_TENSOR_INFO_LEN};

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

#[cfg(test)]
mod tests {
    use super::super::test_bytes::{B, one_f32_tensor};
    use super::super::*;

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
}

//! Raw tensor bytes to numbers, for every dtype glassbox reads.
//!
//! Tensor data arrives as little-endian bytes at any alignment (a memory map of a file whose
//! header has any length). Everything here takes `&[u8]` and reads it with `chunks_exact` and
//! `from_le_bytes`: no casts of pointers, no alignment assumptions.
//!
//! # One interface
//!
//! [`decode_f64`] appends the values held by whole storage blocks to a `Vec<f64>`. A block is
//! `DType::block_elements()` values in `DType::block_bytes()` bytes: one value for the whole-byte
//! types, two for `F4`, four for `F6_*`, and later 32 or 256 for the ggml quantisations, which plug
//! into the same function. f64 is wide enough for every value of every type here except 64-bit
//! integers beyond 2^53, which round to the nearest f64 exactly as numpy's `astype(float64)` does.
//!
//! # Codes
//!
//! Most types hold at most 16 bits per value, so every value is one of at most 65,536 *codes*
//! ([`code_bits`], [`code_value`]). The statistics engine counts codes instead of decoding values,
//! which is exact and needs no floating point in the hot loop.
//!
//! # Conventions worth stating
//!
//! - Sub-byte packing (`F4`, `F6_E2M3`, `F6_E3M2`) is little-endian in bit order: the bytes of a
//!   block form a little-endian integer and value *i* occupies bits `[w·i, w·(i+1))` of it. For
//!   `F4` that puts the first value in the low nibble, as PyTorch's `float4_e2m1fn_x2` and NVIDIA's
//!   `__nv_fp4x2_e2m1` do; for `F6` the four values of a 3-byte block are bits 0–5, 6–11, 12–17 and
//!   18–23 of `b0 | b1 << 8 | b2 << 16`.
//! - `C64` (two f32: real, imaginary) decodes to two values per element, real then imaginary, so
//!   statistics describe the parts as one population ([`values_per_element`] is 2).
//! - `BOOL` is 0 or 1; any non-zero byte counts as true, as numpy reads it.
//! - The small float formats are documented in [`minifloat`] and tested against `ml_dtypes`.

pub mod ggml;
pub mod minifloat;
#[cfg(test)]
mod oracle;

use crate::dtype::DType;

/// The bytes given to a decoder do not hold whole blocks of the dtype.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{len} bytes of `{dtype}` do not fill whole blocks of {block_bytes} bytes")]
    PartialBlock {
        dtype: DType,
        len: usize,
        block_bytes: u64,
    },
    /// No decoder for the type: a ggml type without a kernel ([`ggml::can_decode`]) or a GGUF
    /// type id glassbox does not know.
    #[error("`{dtype}` values are not decoded")]
    NotDecoded { dtype: DType },
}

/// Whether [`decode_f64`] decodes `dtype` (every type but the ggml types without a kernel and
/// unknown GGUF types).
pub fn can_decode(dtype: DType) -> bool {
    match dtype {
        DType::Ggml(t) => ggml::can_decode(t),
        DType::Unknown(_) => false,
        _ => true,
    }
}

/// Values [`decode_f64`] produces per tensor element: 2 for `C64` (real and imaginary parts), 1
/// otherwise.
pub fn values_per_element(dtype: DType) -> u64 {
    if dtype == DType::C64 { 2 } else { 1 }
}

/// Width in bits of the code that holds one whole value, for the types whose values are codes of
/// at most 16 bits; `None` for the wider types (`F32`, `F64`, 32/64-bit integers, `C64`).
pub fn code_bits(dtype: DType) -> Option<u32> {
    match dtype {
        DType::BOOL
        | DType::U8
        | DType::I8
        | DType::F8_E4M3
        | DType::F8_E5M2
        | DType::F8_E4M3FNUZ
        | DType::F8_E5M2FNUZ
        | DType::F8_E8M0 => Some(8),
        DType::U16 | DType::I16 | DType::F16 | DType::BF16 => Some(16),
        DType::F4 => Some(4),
        DType::F6_E2M3 | DType::F6_E3M2 => Some(6),
        DType::U32
        | DType::I32
        | DType::U64
        | DType::I64
        | DType::F32
        | DType::F64
        | DType::C64
        | DType::Ggml(_)
        | DType::Unknown(_) => None,
    }
}

/// The value of one code of a type with [`code_bits`]. For 8- and 16-bit types the code is the
/// little-endian integer of the element's bytes; for `F4`/`F6_*` it is the unpacked field.
///
/// # Panics
///
/// If `dtype` has no codes or `code` does not fit [`code_bits`].
pub fn code_value(dtype: DType, code: u32) -> f64 {
    let c = code as usize;
    match dtype {
        DType::BOOL => f64::from(u8::from(code != 0)),
        DType::U8 => f64::from(code as u8),
        DType::I8 => f64::from(code as u8 as i8),
        DType::F8_E4M3 => minifloat::F8_E4M3[c],
        DType::F8_E5M2 => minifloat::F8_E5M2[c],
        DType::F8_E4M3FNUZ => minifloat::F8_E4M3FNUZ[c],
        DType::F8_E5M2FNUZ => minifloat::F8_E5M2FNUZ[c],
        DType::F8_E8M0 => minifloat::F8_E8M0[c],
        DType::U16 => f64::from(code as u16),
        DType::I16 => f64::from(code as u16 as i16),
        DType::F16 => half::f16::from_bits(code as u16).to_f64(),
        DType::BF16 => f64::from(f32::from_bits(code << 16)),
        DType::F4 => minifloat::F4_E2M1[c],
        DType::F6_E2M3 => minifloat::F6_E2M3[c],
        DType::F6_E3M2 => minifloat::F6_E3M2[c],
        _ => panic!("`{dtype}` values are not codes"),
    }
}

/// How codes of a type are ordered by value, so that a table of code counts can be walked from the
/// smallest value to the largest without sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrder {
    /// Larger code, larger value (unsigned integers, BOOL, E8M0).
    Unsigned,
    /// Two's complement integers.
    TwosComplement,
    /// Sign bit and magnitude (every float format): negative codes run backwards.
    SignMagnitude,
}

impl CodeOrder {
    pub fn of(dtype: DType) -> CodeOrder {
        match dtype {
            DType::I8 | DType::I16 => CodeOrder::TwosComplement,
            DType::BOOL | DType::U8 | DType::U16 | DType::F8_E8M0 => CodeOrder::Unsigned,
            _ => CodeOrder::SignMagnitude,
        }
    }

    /// The rank of `code` among the `2^bits` codes in value order (NaN codes sit where their bits
    /// put them; callers skip them).
    pub fn rank(self, code: u32, bits: u32) -> u32 {
        let sign = 1 << (bits - 1);
        match self {
            CodeOrder::Unsigned => code,
            CodeOrder::TwosComplement => code ^ sign,
            CodeOrder::SignMagnitude if code & sign != 0 => (sign - 1) - (code & (sign - 1)),
            CodeOrder::SignMagnitude => code + sign,
        }
    }

    /// The code of a rank; the inverse of [`CodeOrder::rank`].
    pub fn code(self, rank: u32, bits: u32) -> u32 {
        let sign = 1 << (bits - 1);
        match self {
            CodeOrder::Unsigned => rank,
            CodeOrder::TwosComplement => rank ^ sign,
            CodeOrder::SignMagnitude if rank < sign => sign | ((sign - 1) - rank),
            CodeOrder::SignMagnitude => rank - sign,
        }
    }
}

/// Appends the codes of the sub-byte types (`F4`, `F6_E2M3`, `F6_E3M2`) held in `bytes` (whole
/// blocks) to `out`, one code per byte.
pub fn unpack_codes(dtype: DType, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    check_blocks(dtype, bytes)?;
    match dtype {
        DType::F4 => {
            for &b in bytes {
                out.extend_from_slice(&[b & 0x0F, b >> 4]);
            }
        }
        DType::F6_E2M3 | DType::F6_E3M2 => {
            for block in bytes.chunks_exact(3) {
                let w = u32::from(block[0]) | u32::from(block[1]) << 8 | u32::from(block[2]) << 16;
                out.extend_from_slice(&[
                    (w & 0x3F) as u8,
                    (w >> 6 & 0x3F) as u8,
                    (w >> 12 & 0x3F) as u8,
                    (w >> 18 & 0x3F) as u8,
                ]);
            }
        }
        _ => panic!("`{dtype}` is not a sub-byte type"),
    }
    Ok(())
}

/// The `N`-byte groups of `bytes` as arrays, ignoring a trailing partial group (what `as_chunks`
/// does from Rust 1.88; the crate supports 1.85).
#[inline(always)]
pub(crate) fn groups<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

fn check_blocks(dtype: DType, bytes: &[u8]) -> Result<(), DecodeError> {
    let block_bytes = dtype.block_bytes();
    if !(bytes.len() as u64).is_multiple_of(block_bytes) {
        return Err(DecodeError::PartialBlock {
            dtype,
            len: bytes.len(),
            block_bytes,
        });
    }
    Ok(())
}

/// Appends the values held in `bytes` (whole blocks of `dtype`) to `out`, as f64.
///
/// `bytes` may start at any address. Callers decode in pieces of a few thousand values into a
/// reused buffer; nothing here allocates beyond growing `out`.
pub fn decode_f64(dtype: DType, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), DecodeError> {
    check_blocks(dtype, bytes)?;
    out.reserve(bytes.len() / dtype.block_bytes() as usize * dtype.block_elements() as usize);
    match dtype {
        DType::F64 => out.extend(groups::<8>(bytes).map(f64::from_le_bytes)),
        DType::F32 | DType::C64 => {
            out.extend(groups::<4>(bytes).map(|b| f64::from(f32::from_le_bytes(b))))
        }
        DType::I64 => out.extend(groups::<8>(bytes).map(|b| i64::from_le_bytes(b) as f64)),
        DType::U64 => out.extend(groups::<8>(bytes).map(|b| u64::from_le_bytes(b) as f64)),
        DType::I32 => out.extend(groups::<4>(bytes).map(|b| f64::from(i32::from_le_bytes(b)))),
        DType::U32 => out.extend(groups::<4>(bytes).map(|b| f64::from(u32::from_le_bytes(b)))),
        DType::F16 => out.extend(groups::<2>(bytes).map(|b| half::f16::from_le_bytes(b).to_f64())),
        // bf16 is the top half of an f32: widening is a shift (NaN payloads kept).
        DType::BF16 => out.extend(
            groups::<2>(bytes)
                .map(|b| f64::from(f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16))),
        ),
        DType::I16 => out.extend(groups::<2>(bytes).map(|b| f64::from(i16::from_le_bytes(b)))),
        DType::U16 => out.extend(groups::<2>(bytes).map(|b| f64::from(u16::from_le_bytes(b)))),
        DType::BOOL => out.extend(bytes.iter().map(|&b| f64::from(u8::from(b != 0)))),
        DType::U8 => out.extend(bytes.iter().map(|&b| f64::from(b))),
        DType::I8 => out.extend(bytes.iter().map(|&b| f64::from(b as i8))),
        DType::F8_E4M3
        | DType::F8_E5M2
        | DType::F8_E4M3FNUZ
        | DType::F8_E5M2FNUZ
        | DType::F8_E8M0 => {
            let table = match dtype {
                DType::F8_E4M3 => &minifloat::F8_E4M3,
                DType::F8_E5M2 => &minifloat::F8_E5M2,
                DType::F8_E4M3FNUZ => &minifloat::F8_E4M3FNUZ,
                DType::F8_E5M2FNUZ => &minifloat::F8_E5M2FNUZ,
                _ => &minifloat::F8_E8M0,
            };
            out.extend(bytes.iter().map(|&b| table[usize::from(b)]));
        }
        DType::F4 | DType::F6_E2M3 | DType::F6_E3M2 => {
            let table: &[f64] = match dtype {
                DType::F4 => &minifloat::F4_E2M1,
                DType::F6_E2M3 => &minifloat::F6_E2M3,
                _ => &minifloat::F6_E3M2,
            };
            let mut codes = Vec::with_capacity(bytes.len() * 2);
            unpack_codes(dtype, bytes, &mut codes)?;
            out.extend(codes.iter().map(|&c| table[usize::from(c)]));
        }
        DType::Ggml(t) => {
            // Through a fixed f32 buffer of whole blocks: no allocation per call.
            const STAGE: usize = 4096;
            let block_bytes = t.block_bytes() as usize;
            let block_elements = t.block_elements() as usize;
            let blocks = (STAGE / block_elements).max(1);
            let mut staged = [0f32; STAGE];
            for run in bytes.chunks(blocks * block_bytes) {
                let n = run.len() / block_bytes * block_elements;
                let y = &mut staged[..n];
                ggml::dequantize(t, run, y).map_err(|_| DecodeError::NotDecoded { dtype })?;
                out.extend(y.iter().map(|&v| f64::from(v)));
            }
        }
        DType::Unknown(_) => return Err(DecodeError::NotDecoded { dtype }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::SAFETENSORS_DTYPES;

    fn decode(dtype: DType, bytes: &[u8]) -> Vec<f64> {
        let mut out = Vec::new();
        decode_f64(dtype, bytes, &mut out).unwrap();
        out
    }

    #[test]
    fn wide_types_keep_every_bit() {
        let x = [1.0f64 + f64::EPSILON, -3.25e-300, f64::MAX];
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode(DType::F64, &bytes), x);
        let bytes: Vec<u8> = [i64::MIN, -1, (1 << 53) + 2]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode(DType::I64, &bytes),
            [-9223372036854775808.0, -1.0, 9007199254740994.0]
        );
        let bytes: Vec<u8> = [u64::MAX, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode(DType::U64, &bytes), [18446744073709551616.0, 7.0]);
        let bytes: Vec<u8> = [i32::MIN, 123456789]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(DType::I32, &bytes), [-2147483648.0, 123456789.0]);
        let bytes: Vec<u8> = [u32::MAX].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode(DType::U32, &bytes), [4294967295.0]);
    }

    #[test]
    fn floats_by_hand() {
        // 1.5 = 0x3FC00000 (f32), 0x3FC0 (bf16), 0x3E00 (f16); -2.0 = 0xC0000000, 0xC000, 0xC000.
        assert_eq!(
            decode(DType::F32, &[0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0]),
            [1.5, -2.0]
        );
        assert_eq!(
            decode(DType::BF16, &[0xC0, 0x3F, 0x00, 0xC0, 0x80, 0x7F]),
            [1.5, -2.0, f64::INFINITY]
        );
        assert_eq!(
            decode(
                DType::F16,
                &[0x00, 0x3E, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00]
            ),
            [1.5, -2.0, 65504.0, 5.960464477539063e-8]
        );
        assert!(decode(DType::F16, &[0x01, 0x7C])[0].is_nan());
        // C64: real then imaginary.
        assert_eq!(
            decode(DType::C64, &[0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0]),
            [1.5, -2.0]
        );
    }

    #[test]
    fn small_integers_and_bool() {
        assert_eq!(
            decode(DType::I8, &[0xFF, 0x80, 0x7F]),
            [-1.0, -128.0, 127.0]
        );
        assert_eq!(decode(DType::U8, &[0xFF, 0x80]), [255.0, 128.0]);
        assert_eq!(
            decode(DType::I16, &[0xFF, 0xFF, 0x00, 0x80]),
            [-1.0, -32768.0]
        );
        assert_eq!(decode(DType::U16, &[0xFF, 0xFF]), [65535.0]);
        assert_eq!(decode(DType::BOOL, &[0, 1, 2]), [0.0, 1.0, 1.0]);
    }

    #[test]
    fn sub_byte_packing_is_little_endian() {
        // F4: low nibble first. 0x72 = codes 2 (1.0) then 7 (6.0); 0xD0 = 0 (0.0) then 13 (-3.0).
        assert_eq!(decode(DType::F4, &[0x72, 0xD0]), [1.0, 6.0, 0.0, -3.0]);
        // F6_E2M3: codes 8 (1.0), 31 (7.5), 1 (0.125), 63 (-7.5) packed as
        // 8 | 31 << 6 | 1 << 12 | 63 << 18 = 0xFC17C8 -> bytes C8 17 FC.
        assert_eq!(
            decode(DType::F6_E2M3, &[0xC8, 0x17, 0xFC]),
            [1.0, 7.5, 0.125, -7.5]
        );
        // F6_E3M2: codes 12 (1.0), 0, 31 (28.0), 1 (0.0625) = 12 | 31 << 12 | 1 << 18 = 0x05F00C.
        assert_eq!(
            decode(DType::F6_E3M2, &[0x0C, 0xF0, 0x05]),
            [1.0, 0.0, 28.0, 0.0625]
        );
    }

    #[test]
    fn partial_blocks_are_refused() {
        let mut out = Vec::new();
        assert_eq!(
            decode_f64(DType::F32, &[0; 6], &mut out),
            Err(DecodeError::PartialBlock {
                dtype: DType::F32,
                len: 6,
                block_bytes: 4
            })
        );
        assert!(decode_f64(DType::F6_E2M3, &[0; 4], &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn unaligned_input_decodes_the_same() {
        let values = [0.1f32, -7.0, 3.0e-39, 1.0e30];
        let mut buf = vec![0u8; 1];
        buf.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let got = decode(DType::F32, &buf[1..]);
        assert_eq!(got, values.map(f64::from));
    }

    /// `code_value` of a code and `decode_f64` of its bytes agree, for every code of every code type.
    #[test]
    fn codes_and_decoding_agree() {
        for &dtype in SAFETENSORS_DTYPES {
            let Some(bits) = code_bits(dtype) else {
                continue;
            };
            if bits < 8 {
                continue; // packed: covered by sub_byte_packing_is_little_endian
            }
            let bytes: Vec<u8> = if bits == 8 {
                (0..=255u8).collect()
            } else {
                (0..=u16::MAX).flat_map(|c| c.to_le_bytes()).collect()
            };
            let decoded = decode(dtype, &bytes);
            for (code, v) in decoded.iter().enumerate() {
                let c = code_value(dtype, code as u32);
                assert!(
                    c.to_bits() == v.to_bits() || (c.is_nan() && v.is_nan()),
                    "{dtype} {code}"
                );
            }
        }
    }

    #[test]
    fn code_order_walks_values_in_ascending_order() {
        for &dtype in SAFETENSORS_DTYPES {
            let Some(bits) = code_bits(dtype) else {
                continue;
            };
            let order = CodeOrder::of(dtype);
            let mut last = f64::NEG_INFINITY;
            for rank in 0..1u32 << bits {
                let code = order.code(rank, bits);
                assert_eq!(order.rank(code, bits), rank);
                let v = code_value(dtype, code);
                if v.is_nan() {
                    continue;
                }
                assert!(
                    v >= last,
                    "{dtype}: rank {rank} code {code:#x} value {v} after {last}"
                );
                last = v;
            }
        }
    }
}

//! ggml block quantisations (GGUF tensor data) to f32, block by block.
//!
//! [`dequantize`] turns whole blocks of a [`GgmlType`] into their values. Each kernel reproduces
//! one of ggml's reference `dequantize_row_*` functions (`ggml/src/ggml-quants.c`), named in its
//! doc comment, operation for operation: the same f32 products and sums in the same order, so the
//! output equals ggml's scalar reference and gguf-py's `gguf.quants.dequantize` value for value.
//! (ggml built with FMA contraction may differ in the last bit; Rust never contracts.)
//!
//! Every block type is a fixed-layout view mirroring ggml's `block_*` struct in `ggml-common.h`:
//! one fixed-size byte-array field per member, in ggml's order, their total pinned to
//! [`GgmlType::block_bytes`] by a compile-time assert. Blocks are split from `&[u8]` with
//! `chunks_exact` and read with `from_le_bytes`: no `unsafe`, no copies, no alignment assumptions
//! (a memory-mapped tensor may start anywhere).
//!
//! Q8_0, Q4_K and F16 (the most common types in real files) have loops the compiler vectorises
//! (on this 2-core AVX2 machine, baseline x86-64 codegen: about 10 GiB/s of Q8_0, 3.5–4 GiB/s of
//! Q4_K, 9–12 GiB/s of F16 input, one core); the rest are straightforward transcriptions of the
//! reference. `benches/gguf.rs` measures every type.
//!
//! Output values (and so statistics) are bit-identical to gguf-py's for every type, which the
//! fixture tests check through a hash of the f32 output.
//!
//! Types without a kernel ([`can_decode`] is false) return [`NotDecoded`]: the interleaved
//! `Q4_0_4_4`-style types ggml removed in 2024, and `Q1_0`.

mod grids;

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::dtype::GgmlType;

/// The type has no dequantisation kernel yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`{ty}` tensors are not decoded yet")]
pub struct NotDecoded {
    pub ty: GgmlType,
}

/// Whether [`dequantize`] decodes `ty`.
pub fn can_decode(ty: GgmlType) -> bool {
    !matches!(
        ty,
        GgmlType::Q4_0_4_4
            | GgmlType::Q4_0_4_8
            | GgmlType::Q4_0_8_8
            | GgmlType::IQ4_NL_4_4
            | GgmlType::IQ4_NL_4_8
            | GgmlType::IQ4_NL_8_8
            | GgmlType::Q1_0
    )
}

/// Decodes `bytes` (whole blocks of `ty`) into `out` (exactly `block_elements()` values per
/// block).
///
/// The plain types decode too (`F16`, `BF16`, `F32` exactly; `F64`, `I32`, `I64` rounded to the
/// nearest f32), so that any decodable tensor goes through one function; statistics that must keep
/// every bit of a 64-bit type should use the crate's f64 decoders instead.
///
/// # Panics
///
/// When `bytes` is not whole blocks or `out` has the wrong length: the caller slices tensors at
/// block boundaries.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), NotDecoded> {
    if !can_decode(ty) {
        return Err(NotDecoded { ty });
    }
    let block_bytes = ty.block_bytes() as usize;
    let block_elements = ty.block_elements() as usize;
    assert!(
        bytes.len().is_multiple_of(block_bytes),
        "{} bytes are not whole `{ty}` blocks of {block_bytes}",
        bytes.len()
    );
    assert_eq!(
        out.len(),
        bytes.len() / block_bytes * block_elements,
        "output length for {} `{ty}` blocks",
        bytes.len() / block_bytes
    );
    match ty {
        GgmlType::F32 => elements(bytes, out, |b: [u8; 4]| f32::from_le_bytes(b)),
        GgmlType::F16 => f16_values(bytes, out),
        GgmlType::BF16 => elements(bytes, out, |b: [u8; 2]| bf16::from_le_bytes(b).to_f32()),
        GgmlType::F64 => elements(bytes, out, |b: [u8; 8]| f64::from_le_bytes(b) as f32),
        GgmlType::I8 => elements(bytes, out, |b: [u8; 1]| f32::from(b[0] as i8)),
        GgmlType::I16 => elements(bytes, out, |b: [u8; 2]| f32::from(i16::from_le_bytes(b))),
        GgmlType::I32 => elements(bytes, out, |b: [u8; 4]| i32::from_le_bytes(b) as f32),
        GgmlType::I64 => elements(bytes, out, |b: [u8; 8]| i64::from_le_bytes(b) as f32),
        GgmlType::Q4_0 => blocks(bytes, out, |b, y| q4_0(&BlockQ4_0::read(b), y)),
        GgmlType::Q4_1 => blocks(bytes, out, |b, y| q4_1(&BlockQ4_1::read(b), y)),
        GgmlType::Q5_0 => blocks(bytes, out, |b, y| q5_0(&BlockQ5_0::read(b), y)),
        GgmlType::Q5_1 => blocks(bytes, out, |b, y| q5_1(&BlockQ5_1::read(b), y)),
        GgmlType::Q8_0 => blocks(bytes, out, |b, y| q8_0(&BlockQ8_0::read(b), y)),
        GgmlType::Q8_1 => blocks(bytes, out, |b, y| q8_1(&BlockQ8_1::read(b), y)),
        GgmlType::Q2_K => blocks(bytes, out, |b, y| q2_k(&BlockQ2K::read(b), y)),
        GgmlType::Q3_K => blocks(bytes, out, |b, y| q3_k(&BlockQ3K::read(b), y)),
        GgmlType::Q4_K => blocks(bytes, out, |b, y| q4_k(&BlockQ4K::read(b), y)),
        GgmlType::Q5_K => blocks(bytes, out, |b, y| q5_k(&BlockQ5K::read(b), y)),
        GgmlType::Q6_K => blocks(bytes, out, |b, y| q6_k(&BlockQ6K::read(b), y)),
        GgmlType::Q8_K => blocks(bytes, out, |b, y| q8_k(&BlockQ8K::read(b), y)),
        GgmlType::IQ2_XXS => blocks(bytes, out, |b, y| iq2_xxs(&BlockIq2Xxs::read(b), y)),
        GgmlType::IQ2_XS => blocks(bytes, out, |b, y| iq2_xs(&BlockIq2Xs::read(b), y)),
        GgmlType::IQ2_S => blocks(bytes, out, |b, y| iq2_s(&BlockIq2S::read(b), y)),
        GgmlType::IQ3_XXS => blocks(bytes, out, |b, y| iq3_xxs(&BlockIq3Xxs::read(b), y)),
        GgmlType::IQ3_S => blocks(bytes, out, |b, y| iq3_s(&BlockIq3S::read(b), y)),
        GgmlType::IQ1_S => blocks(bytes, out, |b, y| iq1_s(&BlockIq1S::read(b), y)),
        GgmlType::IQ1_M => blocks(bytes, out, |b, y| iq1_m(&BlockIq1M::read(b), y)),
        GgmlType::IQ4_NL => blocks(bytes, out, |b, y| iq4_nl(&BlockIq4Nl::read(b), y)),
        GgmlType::IQ4_XS => blocks(bytes, out, |b, y| iq4_xs(&BlockIq4Xs::read(b), y)),
        GgmlType::TQ1_0 => blocks(bytes, out, |b, y| tq1_0(&BlockTq1_0::read(b), y)),
        GgmlType::TQ2_0 => blocks(bytes, out, |b, y| tq2_0(&BlockTq2_0::read(b), y)),
        GgmlType::MXFP4 => blocks(bytes, out, |b, y| mxfp4(&BlockMxfp4::read(b), y)),
        GgmlType::NVFP4 => blocks(bytes, out, |b, y| nvfp4(&BlockNvfp4::read(b), y)),
        GgmlType::Q4_0_4_4
        | GgmlType::Q4_0_4_8
        | GgmlType::Q4_0_8_8
        | GgmlType::IQ4_NL_4_4
        | GgmlType::IQ4_NL_4_8
        | GgmlType::IQ4_NL_8_8
        | GgmlType::Q1_0 => unreachable!("refused above"),
    }
    Ok(())
}

/// Decodes into a new vector; `bytes` must be whole blocks.
pub fn dequantize_to_vec(ty: GgmlType, bytes: &[u8]) -> Result<Vec<f32>, NotDecoded> {
    let n = bytes.len() / ty.block_bytes() as usize * ty.block_elements() as usize;
    let mut out = vec![0.0; n];
    dequantize(ty, bytes, &mut out)?;
    Ok(out)
}

/// F16 values through `half`'s slice conversion, which uses F16C when the CPU has it (converting
/// one value at a time checks for it on every call). Exact either way.
fn f16_values(bytes: &[u8], out: &mut [f32]) {
    const N: usize = 256;
    let mut staged = [f16::ZERO; N];
    for (b, y) in bytes.chunks(2 * N).zip(out.chunks_mut(N)) {
        let staged = &mut staged[..y.len()];
        for (h, c) in staged.iter_mut().zip(arrays::<_, 2>(b)) {
            *h = f16::from_le_bytes(*c);
        }
        staged.convert_to_f32_slice(y);
    }
}

/// The whole `N`-element arrays of a slice (`as_chunks` before Rust 1.88).
#[inline(always)]
fn arrays<T, const N: usize>(s: &[T]) -> impl Iterator<Item = &[T; N]> {
    s.chunks_exact(N)
        .map(|c| c.try_into().expect("chunks_exact yields N"))
}

/// The whole `N`-element arrays of a mutable slice (`as_chunks_mut` before Rust 1.88).
#[inline(always)]
fn arrays_mut<T, const N: usize>(s: &mut [T]) -> impl Iterator<Item = &mut [T; N]> {
    s.chunks_exact_mut(N)
        .map(|c| c.try_into().expect("chunks_exact_mut yields N"))
}

/// One value per `N` bytes.
#[inline(always)]
fn elements<const N: usize>(bytes: &[u8], out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    for (y, b) in out.iter_mut().zip(arrays::<_, N>(bytes)) {
        *y = f(*b);
    }
}

/// One block of `B` bytes into `E` values, for every block.
#[inline(always)]
fn blocks<const B: usize, const E: usize>(
    bytes: &[u8],
    out: &mut [f32],
    kernel: impl Fn(&[u8; B], &mut [f32; E]),
) {
    for (b, y) in arrays::<_, B>(bytes).zip(arrays_mut::<_, E>(out)) {
        kernel(b, y);
    }
}

/// Declares a block type: a view of one block's bytes with one fixed-size field per member of
/// ggml's struct, in ggml's order; the sum of the field sizes is asserted at compile time against
/// the type table, and `read` splits exactly that many bytes (no copy).
macro_rules! block {
    ($(#[$meta:meta])* $name:ident = $ty:ident { $($field:ident: $n:expr),* $(,)? }) => {
        $(#[$meta])*
        struct $name<'a> {
            $($field: &'a [u8; $n],)*
        }

        impl<'a> $name<'a> {
            const SIZE: usize = 0 $(+ $n)*;

            #[inline(always)]
            fn read(b: &'a [u8; $name::SIZE]) -> $name<'a> {
                let rest: &[u8] = b;
                $(let ($field, rest) = rest.split_first_chunk::<{ $n }>().expect("sizes add up");)*
                debug_assert!(rest.is_empty());
                $name { $($field,)* }
            }
        }

        const _: () = assert!($name::SIZE as u64 == GgmlType::$ty.block_bytes());
    };
}

const QK_K: usize = 256;

block!(
    /// `block_q4_0`: `ggml_half d; uint8_t qs[QK4_0 / 2]`.
    BlockQ4_0 = Q4_0 { d: 2, qs: 16 }
);
block!(
    /// `block_q4_1`: `ggml_half d, m; uint8_t qs[QK4_1 / 2]`.
    BlockQ4_1 = Q4_1 { d: 2, m: 2, qs: 16 }
);
block!(
    /// `block_q5_0`: `ggml_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]`.
    BlockQ5_0 = Q5_0 { d: 2, qh: 4, qs: 16 }
);
block!(
    /// `block_q5_1`: `ggml_half d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]`.
    BlockQ5_1 = Q5_1 { d: 2, m: 2, qh: 4, qs: 16 }
);
block!(
    /// `block_q8_0`: `ggml_half d; int8_t qs[QK8_0]`.
    BlockQ8_0 = Q8_0 { d: 2, qs: 32 }
);
block!(
    /// `block_q8_1`: `ggml_half d, s; int8_t qs[QK8_1]` (`s = d * sum(qs)`, unused here).
    BlockQ8_1 = Q8_1 { d: 2, _s: 2, qs: 32 }
);
block!(
    /// `block_q2_K`: `uint8_t scales[QK_K/16]; uint8_t qs[QK_K/4]; ggml_half d, dmin`.
    BlockQ2K = Q2_K { scales: 16, qs: 64, d: 2, dmin: 2 }
);
block!(
    /// `block_q3_K`: `uint8_t hmask[QK_K/8]; uint8_t qs[QK_K/4]; uint8_t scales[12]; ggml_half d`.
    BlockQ3K = Q3_K { hmask: 32, qs: 64, scales: 12, d: 2 }
);
block!(
    /// `block_q4_K`: `ggml_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K/2]`.
    BlockQ4K = Q4_K { d: 2, dmin: 2, scales: 12, qs: 128 }
);
block!(
    /// `block_q5_K`: `ggml_half d, dmin; uint8_t scales[12]; uint8_t qh[QK_K/8]; uint8_t qs[QK_K/2]`.
    BlockQ5K = Q5_K { d: 2, dmin: 2, scales: 12, qh: 32, qs: 128 }
);
block!(
    /// `block_q6_K`: `uint8_t ql[QK_K/2]; uint8_t qh[QK_K/4]; int8_t scales[QK_K/16]; ggml_half d`.
    BlockQ6K = Q6_K { ql: 128, qh: 64, scales: 16, d: 2 }
);
block!(
    /// `block_q8_K`: `float d; int8_t qs[QK_K]; int16_t bsums[QK_K/16]` (bsums unused here).
    BlockQ8K = Q8_K { d: 4, qs: 256, _bsums: 32 }
);
block!(
    /// `block_iq2_xxs`: `ggml_half d; uint16_t qs[QK_K/8]`.
    BlockIq2Xxs = IQ2_XXS { d: 2, qs: 64 }
);
block!(
    /// `block_iq2_xs`: `ggml_half d; uint16_t qs[QK_K/8]; uint8_t scales[QK_K/32]`.
    BlockIq2Xs = IQ2_XS { d: 2, qs: 64, scales: 8 }
);
block!(
    /// `block_iq2_s`: `ggml_half d; uint8_t qs[QK_K/4]` (grid indices, then signs);
    /// `uint8_t qh[QK_K/32]; uint8_t scales[QK_K/32]`.
    BlockIq2S = IQ2_S { d: 2, qs: 32, signs: 32, qh: 8, scales: 8 }
);
block!(
    /// `block_iq3_xxs`: `ggml_half d; uint8_t qs[3*QK_K/8]` (grid indices, then 8 u32 of scale and
    /// signs).
    BlockIq3Xxs = IQ3_XXS { d: 2, qs: 64, scales_signs: 32 }
);
block!(
    /// `block_iq3_s`: `ggml_half d; uint8_t qs[QK_K/4]; uint8_t qh[QK_K/32];
    /// uint8_t signs[QK_K/8]; uint8_t scales[IQ3S_N_SCALE]`.
    BlockIq3S = IQ3_S { d: 2, qs: 64, qh: 8, signs: 32, scales: 4 }
);
block!(
    /// `block_iq1_s`: `ggml_half d; uint8_t qs[QK_K/8]; uint16_t qh[QK_K/32]`.
    BlockIq1S = IQ1_S { d: 2, qs: 32, qh: 16 }
);
block!(
    /// `block_iq1_m`: `uint8_t qs[QK_K/8]; uint8_t qh[QK_K/16]; uint8_t scales[QK_K/32]` (the f16
    /// super-block scale is spread over the top nibbles of the four u16 scales).
    BlockIq1M = IQ1_M { qs: 32, qh: 16, scales: 8 }
);
block!(
    /// `block_iq4_nl`: `ggml_half d; uint8_t qs[QK4_NL/2]`.
    BlockIq4Nl = IQ4_NL { d: 2, qs: 16 }
);
block!(
    /// `block_iq4_xs`: `ggml_half d; uint16_t scales_h; uint8_t scales_l[QK_K/64]; uint8_t qs[QK_K/2]`.
    BlockIq4Xs = IQ4_XS { d: 2, scales_h: 2, scales_l: 4, qs: 128 }
);
block!(
    /// `block_tq1_0`: `uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K/64]; ggml_half d`.
    BlockTq1_0 = TQ1_0 { qs: 48, qh: 4, d: 2 }
);
block!(
    /// `block_tq2_0`: `uint8_t qs[QK_K/4]; ggml_half d`.
    BlockTq2_0 = TQ2_0 { qs: 64, d: 2 }
);
block!(
    /// `block_mxfp4`: `uint8_t e` (E8M0 shared exponent); `uint8_t qs[QK_MXFP4/2]`.
    BlockMxfp4 = MXFP4 { e: 1, qs: 16 }
);
block!(
    /// NVFP4 as gguf-py 0.19 lays it out: four UE4M3 scales (one per 16 values), then 32 bytes of
    /// E2M1 nibbles.
    BlockNvfp4 = NVFP4 { d: 4, qs: 32 }
);

#[inline(always)]
fn fp16(b: [u8; 2]) -> f32 {
    f16::from_le_bytes(b).to_f32()
}

/// `kvalues_iq4nl`.
const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];
/// `kvalues_mxfp4`: E2M1 values doubled (the half is folded into the scale).
const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];
/// `IQ1S_DELTA` (and `IQ1M_DELTA`).
const IQ1S_DELTA: f32 = 0.125;

/// `ksigns_iq2xs`: the 7 stored sign bits of a group of 8, with the 8th bit making the number of
/// negative signs even.
const KSIGNS_IQ2XS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = i as u8 | (((i as u8).count_ones() as u8 & 1) << 7);
        i += 1;
    }
    t
};

#[inline(always)]
fn sign(signs: u8, j: usize) -> f32 {
    // `signs & kmask_iq2xs[j] ? -1.f : 1.f`
    if signs & (1 << j) != 0 { -1.0 } else { 1.0 }
}

/// Byte `j` of a packed grid entry (element `j` of ggml's `(const uint8_t *)(grid + index)`).
#[inline(always)]
fn grid_byte(entry: u64, j: usize) -> u8 {
    (entry >> (8 * j)) as u8
}

/// `dequantize_row_q4_0`.
fn q4_0(b: &BlockQ4_0, y: &mut [f32; 32]) {
    let d = fp16(*b.d);
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, y0), y1) in b.qs.iter().zip(lo).zip(hi) {
        // `(x - 8) * d` with x - 8 exact in f32, as ggml's int arithmetic then conversion.
        *y0 = (f32::from(q & 0x0F) - 8.0) * d;
        *y1 = (f32::from(q >> 4) - 8.0) * d;
    }
}

/// `dequantize_row_q4_1`.
fn q4_1(b: &BlockQ4_1, y: &mut [f32; 32]) {
    let (d, m) = (fp16(*b.d), fp16(*b.m));
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, y0), y1) in b.qs.iter().zip(lo).zip(hi) {
        *y0 = f32::from(q & 0x0F) * d + m;
        *y1 = f32::from(q >> 4) * d + m;
    }
}

/// `dequantize_row_q5_0`.
fn q5_0(b: &BlockQ5_0, y: &mut [f32; 32]) {
    let d = fp16(*b.d);
    let qh = u32::from_le_bytes(*b.qh);
    for j in 0..16 {
        let xh_0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh_1 = ((qh >> (j + 12)) & 0x10) as u8;
        y[j] = (i32::from((b.qs[j] & 0x0F) | xh_0) - 16) as f32 * d;
        y[j + 16] = (i32::from((b.qs[j] >> 4) | xh_1) - 16) as f32 * d;
    }
}

/// `dequantize_row_q5_1`.
fn q5_1(b: &BlockQ5_1, y: &mut [f32; 32]) {
    let (d, m) = (fp16(*b.d), fp16(*b.m));
    let qh = u32::from_le_bytes(*b.qh);
    for j in 0..16 {
        let xh_0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh_1 = ((qh >> (j + 12)) & 0x10) as u8;
        y[j] = f32::from((b.qs[j] & 0x0F) | xh_0) * d + m;
        y[j + 16] = f32::from((b.qs[j] >> 4) | xh_1) * d + m;
    }
}

/// `dequantize_row_q8_0`.
#[inline(always)]
fn q8_0(b: &BlockQ8_0, y: &mut [f32; 32]) {
    let d = fp16(*b.d);
    for (y, &q) in y.iter_mut().zip(b.qs) {
        *y = f32::from(q as i8) * d;
    }
}

/// ggml has no `dequantize_row_q8_1` (Q8_1 only holds activations for dot products); its values
/// are `d * qs[j]` as in Q8_0, which is what this returns.
fn q8_1(b: &BlockQ8_1, y: &mut [f32; 32]) {
    let d = fp16(*b.d);
    for (y, &q) in y.iter_mut().zip(b.qs) {
        *y = f32::from(q as i8) * d;
    }
}

/// `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K block.
#[inline(always)]
fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// `dequantize_row_q2_K`.
fn q2_k(b: &BlockQ2K, y: &mut [f32; QK_K]) {
    let (d, min) = (fp16(*b.d), fp16(*b.dmin));
    let mut is = 0;
    for (n, y) in arrays_mut::<_, 128>(y).enumerate() {
        let q = &b.qs[32 * n..32 * n + 32];
        for (j, y) in arrays_mut::<_, 32>(y).enumerate() {
            let shift = 2 * j;
            for (part, y) in arrays_mut::<_, 16>(y).enumerate() {
                let sc = b.scales[is];
                is += 1;
                let dl = d * f32::from(sc & 0xF);
                let ml = min * f32::from(sc >> 4);
                for (l, y) in y.iter_mut().enumerate() {
                    *y = dl * f32::from((q[16 * part + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/// The sixteen 6-bit scales of a Q3_K block, minus 32 (the `kmask1`/`kmask2` shuffle of
/// `dequantize_row_q3_K`, spelled per scale).
fn q3_k_scales(s: &[u8; 12]) -> [i32; 16] {
    let mut out = [0; 16];
    for (j, o) in out.iter_mut().enumerate() {
        let low = if j < 8 { s[j] & 0xF } else { s[j - 8] >> 4 };
        let high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        *o = i32::from(low | (high << 4)) - 32;
    }
    out
}

/// `dequantize_row_q3_K`.
fn q3_k(b: &BlockQ3K, y: &mut [f32; QK_K]) {
    let d_all = fp16(*b.d);
    let scales = q3_k_scales(b.scales);
    let mut is = 0;
    let mut m = 0u32;
    for (n, y) in arrays_mut::<_, 128>(y).enumerate() {
        let q = &b.qs[32 * n..32 * n + 32];
        for (j, y) in arrays_mut::<_, 32>(y).enumerate() {
            let shift = 2 * j;
            for (part, y) in arrays_mut::<_, 16>(y).enumerate() {
                let dl = d_all * scales[is] as f32;
                is += 1;
                for (l, y) in y.iter_mut().enumerate() {
                    let k = 16 * part + l;
                    let low = i32::from((q[k] >> shift) & 3);
                    let high = if b.hmask[k] & (1 << m) != 0 { 0 } else { 4 };
                    *y = dl * (low - high) as f32;
                }
            }
            m += 1;
        }
    }
}

/// `dequantize_row_q4_K`.
#[inline(always)]
fn q4_k(b: &BlockQ4K, y: &mut [f32; QK_K]) {
    let (d, min) = (fp16(*b.d), fp16(*b.dmin));
    let qs = arrays::<_, 32>(b.qs);
    for (j, (y, q)) in arrays_mut::<_, 64>(y).zip(qs).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * j, b.scales);
        let (sc2, m2) = scale_min_k4(2 * j + 1, b.scales);
        let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
        let (lo, hi) = y.split_at_mut(32);
        for ((y0, y1), &q) in lo.iter_mut().zip(hi.iter_mut()).zip(q) {
            *y0 = d1 * f32::from(q & 0xF) - m1;
            *y1 = d2 * f32::from(q >> 4) - m2;
        }
    }
}

/// `dequantize_row_q5_K`.
fn q5_k(b: &BlockQ5K, y: &mut [f32; QK_K]) {
    let (d, min) = (fp16(*b.d), fp16(*b.dmin));
    let qs = arrays::<_, 32>(b.qs);
    for (j, (y, ql)) in arrays_mut::<_, 64>(y).zip(qs).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * j, b.scales);
        let (sc2, m2) = scale_min_k4(2 * j + 1, b.scales);
        let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
        let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
        let (lo, hi) = y.split_at_mut(32);
        for (l, (y0, y1)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
            let h0 = if b.qh[l] & u1 != 0 { 16 } else { 0 };
            let h1 = if b.qh[l] & u2 != 0 { 16 } else { 0 };
            *y0 = d1 * f32::from((ql[l] & 0xF) + h0) - m1;
            *y1 = d2 * f32::from((ql[l] >> 4) + h1) - m2;
        }
    }
}

/// `dequantize_row_q6_K`.
fn q6_k(b: &BlockQ6K, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (n, y) in arrays_mut::<_, 128>(y).enumerate() {
        let ql = &b.ql[64 * n..64 * n + 64];
        let qh = &b.qh[32 * n..32 * n + 32];
        let sc = &b.scales[8 * n..8 * n + 8];
        for l in 0..32 {
            let is = l / 16;
            let q1 = i32::from((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
            let q2 = i32::from((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            let q3 = i32::from((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            let q4 = i32::from((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * f32::from(sc[is] as i8) * q1 as f32;
            y[l + 32] = d * f32::from(sc[is + 2] as i8) * q2 as f32;
            y[l + 64] = d * f32::from(sc[is + 4] as i8) * q3 as f32;
            y[l + 96] = d * f32::from(sc[is + 6] as i8) * q4 as f32;
        }
    }
}

/// `dequantize_row_q8_K`.
fn q8_k(b: &BlockQ8K, y: &mut [f32; QK_K]) {
    let d = f32::from_le_bytes(*b.d);
    for (y, &q) in y.iter_mut().zip(b.qs) {
        *y = d * f32::from(q as i8);
    }
}

/// `dequantize_row_iq2_xxs`.
fn iq2_xxs(b: &BlockIq2Xxs, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (aux, y) in arrays::<_, 8>(b.qs).zip(arrays_mut::<_, 32>(y)) {
        let idx = [aux[0], aux[1], aux[2], aux[3]];
        let aux1 = u32::from_le_bytes([aux[4], aux[5], aux[6], aux[7]]);
        let db = d * (0.5 + (aux1 >> 28) as f32) * 0.25;
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let grid = grids::IQ2XXS_GRID[usize::from(idx[l])];
            let signs = KSIGNS_IQ2XS[((aux1 >> (7 * l)) & 127) as usize];
            for (j, y) in y.iter_mut().enumerate() {
                *y = db * f32::from(grid_byte(grid, j)) * sign(signs, j);
            }
        }
    }
}

/// `dequantize_row_iq2_xs`.
fn iq2_xs(b: &BlockIq2Xs, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (ib32, y) in arrays_mut::<_, 32>(y).enumerate() {
        let sc = b.scales[ib32];
        let db = [
            d * (0.5 + f32::from(sc & 0xf)) * 0.25,
            d * (0.5 + f32::from(sc >> 4)) * 0.25,
        ];
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let k = 4 * ib32 + l;
            let q = u16::from_le_bytes([b.qs[2 * k], b.qs[2 * k + 1]]);
            let grid = grids::IQ2XS_GRID[usize::from(q & 511)];
            let signs = KSIGNS_IQ2XS[usize::from(q >> 9)];
            for (j, y) in y.iter_mut().enumerate() {
                *y = db[l / 2] * f32::from(grid_byte(grid, j)) * sign(signs, j);
            }
        }
    }
}

/// `dequantize_row_iq2_s`.
fn iq2_s(b: &BlockIq2S, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (ib32, y) in arrays_mut::<_, 32>(y).enumerate() {
        let sc = b.scales[ib32];
        let db = [
            d * (0.5 + f32::from(sc & 0xf)) * 0.25,
            d * (0.5 + f32::from(sc >> 4)) * 0.25,
        ];
        let qh = usize::from(b.qh[ib32]);
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let dl = db[l / 2];
            let index = usize::from(b.qs[4 * ib32 + l]) | ((qh << (8 - 2 * l)) & 0x300);
            let grid = grids::IQ2S_GRID[index];
            let signs = b.signs[4 * ib32 + l];
            for (j, y) in y.iter_mut().enumerate() {
                *y = dl * f32::from(grid_byte(grid, j)) * sign(signs, j);
            }
        }
    }
}

/// `dequantize_row_iq3_xxs`.
fn iq3_xxs(b: &BlockIq3Xxs, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (ib32, (y, aux)) in arrays_mut::<_, 32>(y)
        .zip(arrays::<_, 4>(b.scales_signs))
        .enumerate()
    {
        let aux = u32::from_le_bytes(*aux);
        let db = d * (0.5 + (aux >> 28) as f32) * 0.5;
        let qs = &b.qs[8 * ib32..8 * ib32 + 8];
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let signs = KSIGNS_IQ2XS[((aux >> (7 * l)) & 127) as usize];
            let grid1 = u64::from(grids::IQ3XXS_GRID[usize::from(qs[2 * l])]);
            let grid2 = u64::from(grids::IQ3XXS_GRID[usize::from(qs[2 * l + 1])]);
            for j in 0..4 {
                y[j] = db * f32::from(grid_byte(grid1, j)) * sign(signs, j);
                y[j + 4] = db * f32::from(grid_byte(grid2, j)) * sign(signs, j + 4);
            }
        }
    }
}

/// `dequantize_row_iq3_s`.
fn iq3_s(b: &BlockIq3S, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (ib32, y) in arrays_mut::<_, 32>(y).enumerate() {
        let sc = b.scales[ib32 / 2];
        let db = d * (1 + 2 * i32::from(if ib32 % 2 == 0 { sc & 0xf } else { sc >> 4 })) as f32;
        let qs = &b.qs[8 * ib32..8 * ib32 + 8];
        let qh = usize::from(b.qh[ib32]);
        let signs = &b.signs[4 * ib32..4 * ib32 + 4];
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let i1 = usize::from(qs[2 * l]) | ((qh << (8 - 2 * l)) & 256);
            let i2 = usize::from(qs[2 * l + 1]) | ((qh << (7 - 2 * l)) & 256);
            let (grid1, grid2) = (
                u64::from(grids::IQ3S_GRID[i1]),
                u64::from(grids::IQ3S_GRID[i2]),
            );
            for j in 0..4 {
                y[j] = db * f32::from(grid_byte(grid1, j)) * sign(signs[l], j);
                y[j + 4] = db * f32::from(grid_byte(grid2, j)) * sign(signs[l], j + 4);
            }
        }
    }
}

/// `dequantize_row_iq1_s`.
fn iq1_s(b: &BlockIq1S, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (ib, (y, h)) in arrays_mut::<_, 32>(y).zip(arrays::<_, 2>(b.qh)).enumerate() {
        let h = u16::from_le_bytes(*h);
        let dl = d * (2 * ((h >> 12) & 7) + 1) as f32;
        let delta = if h & 0x8000 != 0 {
            -IQ1S_DELTA
        } else {
            IQ1S_DELTA
        };
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let index = usize::from(b.qs[4 * ib + l]) | (usize::from((h >> (3 * l)) & 7) << 8);
            let grid = grids::IQ1S_GRID[index];
            for (j, y) in y.iter_mut().enumerate() {
                *y = dl * (f32::from(grid_byte(grid, j) as i8) + delta);
            }
        }
    }
}

/// `dequantize_row_iq1_m`.
fn iq1_m(b: &BlockIq1M, y: &mut [f32; QK_K]) {
    let sc: [u16; 4] =
        std::array::from_fn(|k| u16::from_le_bytes([b.scales[2 * k], b.scales[2 * k + 1]]));
    let scale =
        (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
    let d = f16::from_bits(scale).to_f32();
    for (ib, y) in arrays_mut::<_, 32>(y).enumerate() {
        let s = sc[ib / 2];
        let dl1 = d * (2 * ((s >> (6 * (ib % 2))) & 0x7) + 1) as f32;
        let dl2 = d * (2 * ((s >> (6 * (ib % 2) + 3)) & 0x7) + 1) as f32;
        let qs = &b.qs[4 * ib..4 * ib + 4];
        let qh = [u16::from(b.qh[2 * ib]), u16::from(b.qh[2 * ib + 1])];
        let idx = [
            u16::from(qs[0]) | ((qh[0] << 8) & 0x700),
            u16::from(qs[1]) | ((qh[0] << 4) & 0x700),
            u16::from(qs[2]) | ((qh[1] << 8) & 0x700),
            u16::from(qs[3]) | ((qh[1] << 4) & 0x700),
        ];
        let delta = |h: u16, bit: u16| {
            if h & bit != 0 {
                -IQ1S_DELTA
            } else {
                IQ1S_DELTA
            }
        };
        let deltas = [
            delta(qh[0], 0x08),
            delta(qh[0], 0x80),
            delta(qh[1], 0x08),
            delta(qh[1], 0x80),
        ];
        for (l, y) in arrays_mut::<_, 8>(y).enumerate() {
            let dl = if l < 2 { dl1 } else { dl2 };
            let grid = grids::IQ1S_GRID[usize::from(idx[l])];
            for (j, y) in y.iter_mut().enumerate() {
                *y = dl * (f32::from(grid_byte(grid, j) as i8) + deltas[l]);
            }
        }
    }
}

/// `dequantize_row_iq4_nl`.
fn iq4_nl(b: &BlockIq4Nl, y: &mut [f32; 32]) {
    let d = fp16(*b.d);
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, y0), y1) in b.qs.iter().zip(lo).zip(hi) {
        *y0 = d * f32::from(KVALUES_IQ4NL[usize::from(q & 0xf)]);
        *y1 = d * f32::from(KVALUES_IQ4NL[usize::from(q >> 4)]);
    }
}

/// `dequantize_row_iq4_xs`.
fn iq4_xs(b: &BlockIq4Xs, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    let scales_h = u16::from_le_bytes(*b.scales_h);
    let qs = arrays::<_, 16>(b.qs);
    for (ib, (y, qs)) in arrays_mut::<_, 32>(y).zip(qs).enumerate() {
        let ls = i32::from((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf)
            | (i32::from((scales_h >> (2 * ib)) & 3) << 4);
        let dl = d * (ls - 32) as f32;
        let (lo, hi) = y.split_at_mut(16);
        for ((&q, y0), y1) in qs.iter().zip(lo).zip(hi) {
            *y0 = dl * f32::from(KVALUES_IQ4NL[usize::from(q & 0xf)]);
            *y1 = dl * f32::from(KVALUES_IQ4NL[usize::from(q >> 4)]);
        }
    }
}

/// `dequantize_row_tq1_0`: base-3 digits, five per byte (four per byte in `qh`), each read by
/// multiplying the byte by a power of 3 (mod 256) and taking the top of `q * 3`.
fn tq1_0(b: &BlockTq1_0, y: &mut [f32; QK_K]) {
    const POW3: [u8; 5] = [1, 3, 9, 27, 81];
    let d = fp16(*b.d);
    let trit = |q: u8, n: usize| -> f32 {
        let q = q.wrapping_mul(POW3[n]);
        let xi = ((u16::from(q) * 3) >> 8) as i16;
        f32::from(xi - 1) * d
    };
    let mut k = 0;
    for span in [0..32, 32..48] {
        for n in 0..5 {
            for &q in &b.qs[span.clone()] {
                y[k] = trit(q, n);
                k += 1;
            }
        }
    }
    for n in 0..4 {
        for &q in b.qh {
            y[k] = trit(q, n);
            k += 1;
        }
    }
}

/// `dequantize_row_tq2_0`.
fn tq2_0(b: &BlockTq2_0, y: &mut [f32; QK_K]) {
    let d = fp16(*b.d);
    for (qs, y) in arrays::<_, 32>(b.qs).zip(arrays_mut::<_, 128>(y)) {
        for (l, y) in arrays_mut::<_, 32>(y).enumerate() {
            for (y, &q) in y.iter_mut().zip(qs) {
                *y = f32::from(((q >> (2 * l)) & 3) as i8 - 1) * d;
            }
        }
    }
}

/// `GGML_E8M0_TO_FP32_HALF`: 2^(e - 128), i.e. half the E8M0 value, exact for every code.
fn e8m0_to_f32_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000u32 << e
    } else {
        u32::from(e - 1) << 23
    };
    f32::from_bits(bits)
}

/// `dequantize_row_mxfp4`.
fn mxfp4(b: &BlockMxfp4, y: &mut [f32; 32]) {
    let d = e8m0_to_f32_half(b.e[0]);
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, y0), y1) in b.qs.iter().zip(lo).zip(hi) {
        *y0 = f32::from(KVALUES_MXFP4[usize::from(q & 0x0F)]) * d;
        *y1 = f32::from(KVALUES_MXFP4[usize::from(q >> 4)]) * d;
    }
}

/// An unsigned E4M3 scale, halved to match the doubled `kvalues_mxfp4` (gguf-py's
/// `NVFP4.ue4m3_to_fp32`: bit 7 ignored, `0x7F` read as 0).
fn ue4m3_to_f32_half(x: u8) -> f32 {
    if x == 0 || x == 0x7F {
        return 0.0;
    }
    let exp = i32::from((x >> 3) & 0xF);
    let man = f32::from(x & 0x7);
    let raw = if exp == 0 {
        man * (2.0f32).powi(-9)
    } else {
        (1.0 + man / 8.0) * (2.0f32).powi(exp - 7)
    };
    raw * 0.5
}

/// NVFP4 as gguf-py 0.19's `NVFP4.dequantize_blocks` decodes it (ggml's CPU reference was not at
/// hand): four groups of 16 values, each with its own UE4M3 scale; in group `k`, bytes
/// `qs[8k..8k+8]` hold values 0–7 in their low nibbles and 8–15 in their high nibbles.
fn nvfp4(b: &BlockNvfp4, y: &mut [f32; 64]) {
    for (k, y) in arrays_mut::<_, 16>(y).enumerate() {
        let d = ue4m3_to_f32_half(b.d[k]);
        let qs = &b.qs[8 * k..8 * k + 8];
        for (j, &q) in qs.iter().enumerate() {
            y[j] = d * f32::from(KVALUES_MXFP4[usize::from(q & 0x0F)]);
            y[j + 8] = d * f32::from(KVALUES_MXFP4[usize::from(q >> 4)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic byte stream (xorshift), for random blocks.
    fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    /// Random blocks with every f16 scale field set to a finite value, so no NaN hides a mistake.
    fn random_blocks(ty: GgmlType, blocks: usize, seed: u64) -> Vec<u8> {
        let mut bytes = random_bytes(blocks * ty.block_bytes() as usize, seed);
        let scale_fields: &[usize] = match ty {
            GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::IQ4_NL | GgmlType::Q5_0 => &[0],
            GgmlType::Q4_K | GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q5_K => &[0, 2],
            _ => &[],
        };
        for block in bytes.chunks_exact_mut(ty.block_bytes() as usize) {
            for &at in scale_fields {
                let scale = f16::from_f32(0.01 + f32::from(block[at]) / 1000.0);
                block[at..at + 2].copy_from_slice(&scale.to_le_bytes());
            }
        }
        bytes
    }

    #[test]
    fn grids_match_ggml() {
        // First, second and last entries as ggml-common.h lists them.
        assert_eq!(grids::IQ2XXS_GRID[0], 0x0808080808080808);
        assert_eq!(grids::IQ2XXS_GRID[255], 0x2b2b2b1908081908);
        assert_eq!(grids::IQ2XS_GRID[1], 0x080808080808082b);
        assert_eq!(grids::IQ2XS_GRID[510], 0x2b2b2b2b2b190819);
        assert_eq!(grids::IQ2XS_GRID[511], 0x2b2b2b2b2b2b2b2b);
        assert_eq!(grids::IQ2S_GRID[1], 0x080808080808082b);
        assert_eq!(grids::IQ2S_GRID[1023], 0x2b2b2b2b2b2b2b2b);
        assert_eq!(grids::IQ3XXS_GRID[0], 0x04040404);
        assert_eq!(grids::IQ3XXS_GRID[1], 0x04040414);
        assert_eq!(grids::IQ3XXS_GRID[255], 0x3e341c04);
        assert_eq!(grids::IQ3S_GRID[0], 0x01010101);
        assert_eq!(grids::IQ3S_GRID[1], 0x01010103);
        assert_eq!(grids::IQ3S_GRID[510], 0x0f0d0703);
        assert_eq!(grids::IQ3S_GRID[511], 0x0f0f0101);
        assert_eq!(grids::IQ1S_GRID[0], 0xffffffffffffffff);
        assert_eq!(grids::IQ1S_GRID[1], 0xffffffffffffff01);
        assert_eq!(grids::IQ1S_GRID[2], 0xffffffffffff0000);
        // Every IQ1S byte is -1, 0 or 1; every IQ2 byte one of 0x08, 0x19, 0x2b.
        assert!(
            grids::IQ1S_GRID
                .iter()
                .all(|&e| (0..8).all(|j| matches!(grid_byte(e, j), 0xff | 0 | 1)))
        );
        for table in [
            &grids::IQ2XXS_GRID[..],
            &grids::IQ2XS_GRID[..],
            &grids::IQ2S_GRID[..],
        ] {
            assert!(
                table
                    .iter()
                    .all(|&e| (0..8).all(|j| matches!(grid_byte(e, j), 0x08 | 0x19 | 0x2b)))
            );
        }
    }

    #[test]
    fn ksigns_match_ggml() {
        assert_eq!(
            KSIGNS_IQ2XS[..16],
            [
                0, 129, 130, 3, 132, 5, 6, 135, 136, 9, 10, 139, 12, 141, 142, 15
            ]
        );
        assert_eq!(KSIGNS_IQ2XS[127], 255);
        assert_eq!(KSIGNS_IQ2XS[112], 240);
    }

    #[test]
    fn q8_0_by_hand() {
        // d = 0.5 (0x3800), qs = 0, 1, -1, 127, -128, ...
        let mut block = vec![0x00, 0x38];
        let qs: Vec<i8> = (0..32).map(|i| [0, 1, -1, 127, -128][i % 5]).collect();
        block.extend(qs.iter().map(|&q| q as u8));
        let out = dequantize_to_vec(GgmlType::Q8_0, &block).unwrap();
        assert_eq!(out[..5], [0.0, 0.5, -0.5, 63.5, -64.0]);
    }

    #[test]
    fn q4_0_by_hand() {
        // d = 2.0 (0x4000); byte 0x9F: low nibble 15 -> (15-8)*2 = 14 at j, high 9 -> 2 at j+16.
        let mut block = vec![0x00, 0x40];
        block.extend([0x9F; 16]);
        let out = dequantize_to_vec(GgmlType::Q4_0, &block).unwrap();
        assert_eq!((out[0], out[15], out[16], out[31]), (14.0, 14.0, 2.0, 2.0));
    }

    #[test]
    fn mxfp4_scales() {
        assert_eq!(e8m0_to_f32_half(127), 0.5);
        assert_eq!(e8m0_to_f32_half(128), 1.0);
        // 2^-128 and 2^-127 are subnormal: 2^-149 shifted left by 21 and 22.
        assert_eq!(e8m0_to_f32_half(0), f32::from_bits(1 << 21));
        assert_eq!(e8m0_to_f32_half(1), f32::from_bits(1 << 22));
        assert_eq!(e8m0_to_f32_half(254), 2f32.powi(126));
    }

    /// Q4_K's fast loop against a plain transcription of `dequantize_row_q4_K`.
    #[test]
    fn q4_k_matches_the_reference_loop() {
        let bytes = random_blocks(GgmlType::Q4_K, 64, 7);
        let fast = dequantize_to_vec(GgmlType::Q4_K, &bytes).unwrap();
        let mut naive = Vec::new();
        for x in bytes.chunks_exact(144) {
            let d = f16::from_le_bytes([x[0], x[1]]).to_f32();
            let min = f16::from_le_bytes([x[2], x[3]]).to_f32();
            let scales: &[u8; 12] = x[4..16].try_into().unwrap();
            let mut q = &x[16..];
            let mut is = 0;
            for _ in (0..256).step_by(64) {
                let (sc, m) = scale_min_k4(is, scales);
                let (d1, m1) = (d * sc as f32, min * m as f32);
                let (sc, m) = scale_min_k4(is + 1, scales);
                let (d2, m2) = (d * sc as f32, min * m as f32);
                naive.extend((0..32).map(|l| d1 * (q[l] & 0xF) as f32 - m1));
                naive.extend((0..32).map(|l| d2 * (q[l] >> 4) as f32 - m2));
                q = &q[32..];
                is += 2;
            }
        }
        assert_eq!(fast.len(), naive.len());
        assert!(
            fast.iter()
                .zip(&naive)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    /// Q8_0's fast loop against a plain transcription of `dequantize_row_q8_0`.
    #[test]
    fn q8_0_matches_the_reference_loop() {
        let bytes = random_blocks(GgmlType::Q8_0, 100, 11);
        let fast = dequantize_to_vec(GgmlType::Q8_0, &bytes).unwrap();
        let naive: Vec<f32> = bytes
            .chunks_exact(34)
            .flat_map(|x| {
                let d = f16::from_le_bytes([x[0], x[1]]).to_f32();
                x[2..].iter().map(move |&q| (q as i8) as f32 * d)
            })
            .collect();
        assert!(
            fast.iter()
                .zip(&naive)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn unaligned_input_decodes_the_same() {
        for &ty in GgmlType::ALL.iter().filter(|&&t| can_decode(t)) {
            let bytes = random_blocks(ty, 3, u64::from(ty.id()) + 1);
            let mut shifted = vec![0u8];
            shifted.extend(&bytes);
            let a = dequantize_to_vec(ty, &bytes).unwrap();
            let b = dequantize_to_vec(ty, &shifted[1..]).unwrap();
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{ty}"
            );
        }
    }

    #[test]
    fn undecoded_types_say_so() {
        let ty = GgmlType::Q4_0_4_4;
        assert_eq!(dequantize_to_vec(ty, &[0; 18]), Err(NotDecoded { ty }));
        assert_eq!(
            NotDecoded { ty }.to_string(),
            "`Q4_0_4_4` tensors are not decoded yet"
        );
    }

    #[test]
    #[should_panic(expected = "whole `Q8_0` blocks")]
    fn partial_blocks_panic() {
        let _ = dequantize_to_vec(GgmlType::Q8_0, &[0; 35]);
    }
}

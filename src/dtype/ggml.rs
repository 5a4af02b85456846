//! ggml's tensor types: the id a GGUF file stores, the name ggml prints, and the block layout
//! (values per block, bytes per block) that sizes every tensor and that the dequantisers in
//! [`crate::decode`] read.
//!
//! The table is data from ggml itself (`ggml.h`'s `enum ggml_type`, `ggml-common.h`'s block
//! structs and their static size asserts); [`super::DType`] wraps the quantised types, and the GGUF
//! reader in [`crate::format::gguf`] turns a stored id into one of these.

use std::fmt;

/// A ggml tensor type, with ggml's numeric id ([`GgmlType::id`]) and name ([`GgmlType::name`]).
///
/// Every type is stored in blocks of `block_elements()` values taking `block_bytes()` bytes, as
/// [`DType`](super::DType) describes its types. Ids that are not listed here (removed or future
/// types) are kept as raw ids on the tensor (`GgufTensor::type_id` in [`crate::format::gguf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    /// Removed from ggml in late 2024 (rows interleaved for ARM); still found in older files.
    Q4_0_4_4,
    Q4_0_4_8,
    Q4_0_8_8,
    TQ1_0,
    TQ2_0,
    /// Removed from ggml like `Q4_0_4_4`.
    IQ4_NL_4_4,
    IQ4_NL_4_8,
    IQ4_NL_8_8,
    MXFP4,
    NVFP4,
    Q1_0,
}

/// `QK_K`: the super-block of the K-quants and most IQ types.
const QK_K: u64 = 256;

impl GgmlType {
    /// Every type, in id order.
    pub const ALL: &'static [GgmlType] = &[
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
        GgmlType::IQ2_XXS,
        GgmlType::IQ2_XS,
        GgmlType::IQ3_XXS,
        GgmlType::IQ1_S,
        GgmlType::IQ4_NL,
        GgmlType::IQ3_S,
        GgmlType::IQ2_S,
        GgmlType::IQ4_XS,
        GgmlType::I8,
        GgmlType::I16,
        GgmlType::I32,
        GgmlType::I64,
        GgmlType::F64,
        GgmlType::IQ1_M,
        GgmlType::BF16,
        GgmlType::Q4_0_4_4,
        GgmlType::Q4_0_4_8,
        GgmlType::Q4_0_8_8,
        GgmlType::TQ1_0,
        GgmlType::TQ2_0,
        GgmlType::IQ4_NL_4_4,
        GgmlType::IQ4_NL_4_8,
        GgmlType::IQ4_NL_8_8,
        GgmlType::MXFP4,
        GgmlType::NVFP4,
        GgmlType::Q1_0,
    ];

    /// ggml's `enum ggml_type` value.
    pub const fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q8_1 => 9,
            GgmlType::Q2_K => 10,
            GgmlType::Q3_K => 11,
            GgmlType::Q4_K => 12,
            GgmlType::Q5_K => 13,
            GgmlType::Q6_K => 14,
            GgmlType::Q8_K => 15,
            GgmlType::IQ2_XXS => 16,
            GgmlType::IQ2_XS => 17,
            GgmlType::IQ3_XXS => 18,
            GgmlType::IQ1_S => 19,
            GgmlType::IQ4_NL => 20,
            GgmlType::IQ3_S => 21,
            GgmlType::IQ2_S => 22,
            GgmlType::IQ4_XS => 23,
            GgmlType::I8 => 24,
            GgmlType::I16 => 25,
            GgmlType::I32 => 26,
            GgmlType::I64 => 27,
            GgmlType::F64 => 28,
            GgmlType::IQ1_M => 29,
            GgmlType::BF16 => 30,
            GgmlType::Q4_0_4_4 => 31,
            GgmlType::Q4_0_4_8 => 32,
            GgmlType::Q4_0_8_8 => 33,
            GgmlType::TQ1_0 => 34,
            GgmlType::TQ2_0 => 35,
            GgmlType::IQ4_NL_4_4 => 36,
            GgmlType::IQ4_NL_4_8 => 37,
            GgmlType::IQ4_NL_8_8 => 38,
            GgmlType::MXFP4 => 39,
            GgmlType::NVFP4 => 40,
            GgmlType::Q1_0 => 41,
        }
    }

    /// The type with ggml id `id`, if glassbox knows it.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GgmlType::ALL.iter().copied().find(|t| t.id() == id)
    }

    /// The name as ggml writes it (`Q4_K`, `IQ4_XS`, `BF16`).
    pub const fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q5_1 => "Q5_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q8_1 => "Q8_1",
            GgmlType::Q2_K => "Q2_K",
            GgmlType::Q3_K => "Q3_K",
            GgmlType::Q4_K => "Q4_K",
            GgmlType::Q5_K => "Q5_K",
            GgmlType::Q6_K => "Q6_K",
            GgmlType::Q8_K => "Q8_K",
            GgmlType::IQ2_XXS => "IQ2_XXS",
            GgmlType::IQ2_XS => "IQ2_XS",
            GgmlType::IQ3_XXS => "IQ3_XXS",
            GgmlType::IQ1_S => "IQ1_S",
            GgmlType::IQ4_NL => "IQ4_NL",
            GgmlType::IQ3_S => "IQ3_S",
            GgmlType::IQ2_S => "IQ2_S",
            GgmlType::IQ4_XS => "IQ4_XS",
            GgmlType::I8 => "I8",
            GgmlType::I16 => "I16",
            GgmlType::I32 => "I32",
            GgmlType::I64 => "I64",
            GgmlType::F64 => "F64",
            GgmlType::IQ1_M => "IQ1_M",
            GgmlType::BF16 => "BF16",
            GgmlType::Q4_0_4_4 => "Q4_0_4_4",
            GgmlType::Q4_0_4_8 => "Q4_0_4_8",
            GgmlType::Q4_0_8_8 => "Q4_0_8_8",
            GgmlType::TQ1_0 => "TQ1_0",
            GgmlType::TQ2_0 => "TQ2_0",
            GgmlType::IQ4_NL_4_4 => "IQ4_NL_4_4",
            GgmlType::IQ4_NL_4_8 => "IQ4_NL_4_8",
            GgmlType::IQ4_NL_8_8 => "IQ4_NL_8_8",
            GgmlType::MXFP4 => "MXFP4",
            GgmlType::NVFP4 => "NVFP4",
            GgmlType::Q1_0 => "Q1_0",
        }
    }

    /// Values per storage block (ggml's `blck_size`).
    pub const fn block_elements(self) -> u64 {
        match self {
            GgmlType::F32
            | GgmlType::F16
            | GgmlType::BF16
            | GgmlType::F64
            | GgmlType::I8
            | GgmlType::I16
            | GgmlType::I32
            | GgmlType::I64 => 1,
            GgmlType::Q4_0
            | GgmlType::Q4_1
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q8_0
            | GgmlType::Q8_1
            | GgmlType::IQ4_NL
            | GgmlType::MXFP4
            | GgmlType::Q4_0_4_4
            | GgmlType::Q4_0_4_8
            | GgmlType::Q4_0_8_8
            | GgmlType::IQ4_NL_4_4
            | GgmlType::IQ4_NL_4_8
            | GgmlType::IQ4_NL_8_8 => 32,
            GgmlType::NVFP4 => 64,
            GgmlType::Q1_0 => 128,
            GgmlType::Q2_K
            | GgmlType::Q3_K
            | GgmlType::Q4_K
            | GgmlType::Q5_K
            | GgmlType::Q6_K
            | GgmlType::Q8_K
            | GgmlType::IQ2_XXS
            | GgmlType::IQ2_XS
            | GgmlType::IQ2_S
            | GgmlType::IQ3_XXS
            | GgmlType::IQ3_S
            | GgmlType::IQ1_S
            | GgmlType::IQ1_M
            | GgmlType::IQ4_XS
            | GgmlType::TQ1_0
            | GgmlType::TQ2_0 => QK_K,
        }
    }

    /// Bytes per storage block (ggml's `type_size`, the `sizeof` of its `block_*` struct).
    pub const fn block_bytes(self) -> u64 {
        match self {
            GgmlType::I8 => 1,
            GgmlType::F16 | GgmlType::BF16 | GgmlType::I16 => 2,
            GgmlType::F32 | GgmlType::I32 => 4,
            GgmlType::F64 | GgmlType::I64 => 8,
            // ggml_half d; uint8_t qs[16]
            GgmlType::Q4_0 | GgmlType::IQ4_NL => 2 + 16,
            GgmlType::Q4_0_4_4
            | GgmlType::Q4_0_4_8
            | GgmlType::Q4_0_8_8
            | GgmlType::IQ4_NL_4_4
            | GgmlType::IQ4_NL_4_8
            | GgmlType::IQ4_NL_8_8 => 2 + 16,
            GgmlType::Q4_1 => 2 + 2 + 16,
            GgmlType::Q5_0 => 2 + 4 + 16,
            GgmlType::Q5_1 => 2 + 2 + 4 + 16,
            GgmlType::Q8_0 => 2 + 32,
            // ggml_half d, s (since 2024; gguf-py's table still says 4 + 4 + 32 from when they were
            // floats)
            GgmlType::Q8_1 => 2 + 2 + 32,
            GgmlType::Q2_K => QK_K / 16 + QK_K / 4 + 2 + 2,
            GgmlType::Q3_K => QK_K / 8 + QK_K / 4 + 12 + 2,
            GgmlType::Q4_K => 2 + 2 + 12 + QK_K / 2,
            GgmlType::Q5_K => 2 + 2 + 12 + QK_K / 8 + QK_K / 2,
            GgmlType::Q6_K => QK_K / 2 + QK_K / 4 + QK_K / 16 + 2,
            GgmlType::Q8_K => 4 + QK_K + QK_K / 16 * 2,
            GgmlType::IQ2_XXS => 2 + QK_K / 4,
            GgmlType::IQ2_XS => 2 + QK_K / 4 + QK_K / 32,
            GgmlType::IQ2_S => 2 + QK_K / 4 + QK_K / 16,
            GgmlType::IQ3_XXS => 2 + 3 * QK_K / 8,
            GgmlType::IQ3_S => 2 + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64,
            GgmlType::IQ1_S => 2 + QK_K / 8 + QK_K / 16,
            GgmlType::IQ1_M => QK_K / 8 + QK_K / 16 + QK_K / 32,
            GgmlType::IQ4_XS => 2 + 2 + QK_K / 64 + QK_K / 2,
            GgmlType::TQ1_0 => (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + 2,
            GgmlType::TQ2_0 => QK_K / 4 + 2,
            GgmlType::MXFP4 => 1 + 16,
            GgmlType::NVFP4 => 4 + 32,
            GgmlType::Q1_0 => 2 + 16,
        }
    }

    /// Storage bits per value.
    pub fn bits_per_weight(self) -> f64 {
        (self.block_bytes() * 8) as f64 / self.block_elements() as f64
    }

    /// Bytes taken by `elements` values, or `None` when they do not fill whole blocks or the size
    /// overflows.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        let block = self.block_elements();
        if !elements.is_multiple_of(block) {
            return None;
        }
        (elements / block).checked_mul(self.block_bytes())
    }

    /// Whether the type is a block quantisation (as opposed to a plain float or integer type).
    pub fn is_quantized(self) -> bool {
        self.block_elements() > 1
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<u32> for GgmlType {
    type Error = u32;
    /// Fails with the id itself when glassbox does not know it.
    fn try_from(id: u32) -> Result<Self, u32> {
        GgmlType::from_id(id).ok_or(id)
    }
}

impl std::str::FromStr for GgmlType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GgmlType::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown ggml type `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ggml_type_table() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
            assert_eq!(t.name().parse::<GgmlType>(), Ok(t));
        }
        assert_eq!(GgmlType::from_id(4), None);
        assert_eq!(GgmlType::try_from(99), Err(99));
        // Sizes from ggml-common.h's static asserts.
        let sizes = [
            (GgmlType::Q4_0, 32, 18),
            (GgmlType::Q4_1, 32, 20),
            (GgmlType::Q5_0, 32, 22),
            (GgmlType::Q5_1, 32, 24),
            (GgmlType::Q8_0, 32, 34),
            (GgmlType::Q8_1, 32, 36),
            (GgmlType::Q2_K, 256, 84),
            (GgmlType::Q3_K, 256, 110),
            (GgmlType::Q4_K, 256, 144),
            (GgmlType::Q5_K, 256, 176),
            (GgmlType::Q6_K, 256, 210),
            (GgmlType::Q8_K, 256, 292),
            (GgmlType::IQ2_XXS, 256, 66),
            (GgmlType::IQ2_XS, 256, 74),
            (GgmlType::IQ2_S, 256, 82),
            (GgmlType::IQ3_XXS, 256, 98),
            (GgmlType::IQ3_S, 256, 110),
            (GgmlType::IQ1_S, 256, 50),
            (GgmlType::IQ1_M, 256, 56),
            (GgmlType::IQ4_NL, 32, 18),
            (GgmlType::IQ4_XS, 256, 136),
            (GgmlType::TQ1_0, 256, 54),
            (GgmlType::TQ2_0, 256, 66),
            (GgmlType::MXFP4, 32, 17),
            (GgmlType::NVFP4, 64, 36),
            (GgmlType::BF16, 1, 2),
            (GgmlType::F64, 1, 8),
        ];
        for (t, e, b) in sizes {
            assert_eq!((t.block_elements(), t.block_bytes()), (e, b), "{t}");
        }
        assert_eq!(GgmlType::Q4_K.bits_per_weight(), 4.5);
        assert_eq!(GgmlType::Q4_K.bytes_for(512), Some(288));
        assert_eq!(GgmlType::Q4_K.bytes_for(100), None);
    }
}

//! The element types glassbox understands: one [`DType`] for every format, and ggml's own
//! [`GgmlType`] table that GGUF files use.
//!
//! This is a leaf module: it imports nothing from the crate, so the format readers (which produce
//! these types), the decoders (which consume them) and the model (which lists them) can all depend
//! on it without depending on each other.

mod ggml;

use std::fmt;
use std::str::FromStr;

pub use ggml::GgmlType;

/// An element type, named as its format names it (`BF16`, `F8_E4M3`, `Q4_K`).
///
/// Every type is stored in blocks of `block_elements()` values taking `block_bytes()` bytes, which
/// covers whole-byte types (1 value in N bytes), sub-byte types (`F4`: 2 values per byte) and the
/// ggml block quantisations (`Q4_K`: 256 values in 144 bytes) with one rule.
///
/// GGUF's plain types (`F32`, `F16`, `BF16`, `F64`, `I8`…`I64`) convert to the variants safetensors
/// uses ([`TryFrom<GgmlType>`]); only the block quantisations are [`DType::Ggml`]. A GGUF type id
/// glassbox does not know is [`DType::Unknown`]: listed, never decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum DType {
    BOOL,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F4,
    F6_E2M3,
    F6_E3M2,
    F8_E4M3,
    F8_E5M2,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    F8_E8M0,
    F16,
    BF16,
    F32,
    F64,
    C64,
    /// A ggml block quantisation (never one of ggml's plain types, which map to the variants
    /// above).
    Ggml(GgmlType),
    /// A GGUF tensor type id glassbox does not know: its size is unknown and it is never decoded.
    Unknown(u32),
}

/// Every safetensors dtype, in the order tables list them.
pub const SAFETENSORS_DTYPES: &[DType] = &[
    DType::F64,
    DType::F32,
    DType::F16,
    DType::BF16,
    DType::F8_E4M3,
    DType::F8_E5M2,
    DType::F8_E4M3FNUZ,
    DType::F8_E5M2FNUZ,
    DType::F8_E8M0,
    DType::F6_E2M3,
    DType::F6_E3M2,
    DType::F4,
    DType::C64,
    DType::I64,
    DType::I32,
    DType::I16,
    DType::I8,
    DType::U64,
    DType::U32,
    DType::U16,
    DType::U8,
    DType::BOOL,
];

impl DType {
    /// The name as the format writes it.
    pub fn name(self) -> &'static str {
        match self {
            DType::BOOL => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::U16 => "U16",
            DType::I16 => "I16",
            DType::U32 => "U32",
            DType::I32 => "I32",
            DType::U64 => "U64",
            DType::I64 => "I64",
            DType::F4 => "F4",
            DType::F6_E2M3 => "F6_E2M3",
            DType::F6_E3M2 => "F6_E3M2",
            DType::F8_E4M3 => "F8_E4M3",
            DType::F8_E5M2 => "F8_E5M2",
            DType::F8_E4M3FNUZ => "F8_E4M3FNUZ",
            DType::F8_E5M2FNUZ => "F8_E5M2FNUZ",
            DType::F8_E8M0 => "F8_E8M0",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::C64 => "C64",
            DType::Ggml(t) => t.name(),
            DType::Unknown(_) => "UNKNOWN",
        }
    }

    /// Values per storage block.
    pub fn block_elements(self) -> u64 {
        match self {
            DType::F4 => 2,
            DType::F6_E2M3 | DType::F6_E3M2 => 4,
            DType::Ggml(t) => t.block_elements(),
            _ => 1,
        }
    }

    /// Bytes per storage block.
    pub fn block_bytes(self) -> u64 {
        match self {
            DType::BOOL
            | DType::U8
            | DType::I8
            | DType::F8_E4M3
            | DType::F8_E5M2
            | DType::F8_E4M3FNUZ
            | DType::F8_E5M2FNUZ
            | DType::F8_E8M0
            | DType::F4 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 | DType::C64 => 8,
            DType::F6_E2M3 | DType::F6_E3M2 => 3,
            DType::Ggml(t) => t.block_bytes(),
            // Unknown size: such tensors hold no bytes glassbox reads (see `bytes_for`).
            DType::Unknown(_) => 1,
        }
    }

    /// Storage bits per value (fractional for block types).
    pub fn bits_per_element(self) -> f64 {
        (self.block_bytes() * 8) as f64 / self.block_elements() as f64
    }

    /// Bytes taken by `elements` values, or `None` when the count does not fill whole blocks or
    /// the size overflows.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        if let DType::Unknown(_) = self {
            return None;
        }
        let block = self.block_elements();
        if !elements.is_multiple_of(block) {
            return None;
        }
        (elements / block).checked_mul(self.block_bytes())
    }

    /// Whether values are floating point (so NaN and Inf can occur).
    pub fn is_float(self) -> bool {
        !matches!(
            self,
            DType::BOOL
                | DType::U8
                | DType::I8
                | DType::U16
                | DType::I16
                | DType::U32
                | DType::I32
                | DType::U64
                | DType::I64
                | DType::Unknown(_)
        )
    }

    /// Whether the type is a ggml block quantisation or an unknown GGUF type (a type only GGUF
    /// files hold).
    pub fn is_ggml_only(self) -> bool {
        matches!(self, DType::Ggml(_) | DType::Unknown(_))
    }

    /// A ggml type name (`Q4_K`, `F16`, `IQ4_XS`), for GGUF contexts; [`FromStr`] accepts only
    /// safetensors names.
    pub fn from_ggml_name(name: &str) -> Option<DType> {
        name.parse::<GgmlType>()
            .ok()
            .and_then(|t| DType::try_from(t).ok())
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Unknown(id) => f.pad(&format!("type {id}")),
            _ => f.pad(self.name()),
        }
    }
}

/// The ggml type has no glassbox equivalent (ggml's `I8`…`F64` all have one; this is unreachable
/// today and kept so the conversion stays total if ggml adds a plain type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoDType(pub GgmlType);

impl TryFrom<GgmlType> for DType {
    type Error = NoDType;

    fn try_from(t: GgmlType) -> Result<Self, Self::Error> {
        Ok(match t {
            GgmlType::F32 => DType::F32,
            GgmlType::F16 => DType::F16,
            GgmlType::BF16 => DType::BF16,
            GgmlType::F64 => DType::F64,
            GgmlType::I8 => DType::I8,
            GgmlType::I16 => DType::I16,
            GgmlType::I32 => DType::I32,
            GgmlType::I64 => DType::I64,
            t if t.is_quantized() => DType::Ggml(t),
            t => return Err(NoDType(t)),
        })
    }
}

impl DType {
    /// The dtype of a GGUF tensor type id: known ggml types convert, anything else is
    /// [`DType::Unknown`].
    pub fn from_ggml_id(id: u32) -> DType {
        GgmlType::from_id(id)
            .and_then(|t| DType::try_from(t).ok())
            .unwrap_or(DType::Unknown(id))
    }

    /// The ggml type, for the types GGUF can hold.
    pub fn ggml_type(self) -> Option<GgmlType> {
        Some(match self {
            DType::Ggml(t) => t,
            DType::F32 => GgmlType::F32,
            DType::F16 => GgmlType::F16,
            DType::BF16 => GgmlType::BF16,
            DType::F64 => GgmlType::F64,
            DType::I8 => GgmlType::I8,
            DType::I16 => GgmlType::I16,
            DType::I32 => GgmlType::I32,
            DType::I64 => GgmlType::I64,
            _ => return None,
        })
    }
}

/// The name is not a dtype glassbox knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDType(pub String);

impl FromStr for DType {
    type Err = UnknownDType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SAFETENSORS_DTYPES
            .iter()
            .copied()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDType(s.to_owned()))
    }
}

impl TryFrom<safetensors::Dtype> for DType {
    type Error = UnknownDType;

    fn try_from(d: safetensors::Dtype) -> Result<Self, Self::Error> {
        // The crate's Display writes the same names the format uses.
        d.to_string().parse()
    }
}

impl serde::Serialize for DType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_safetensors_dtype_round_trips_through_its_name() {
        for &d in SAFETENSORS_DTYPES {
            assert_eq!(d.name().parse::<DType>(), Ok(d));
        }
        assert_eq!("F17".parse::<DType>(), Err(UnknownDType("F17".into())));
    }

    #[test]
    fn every_crate_dtype_converts_with_the_same_bit_width() {
        use safetensors::Dtype as S;
        let all = [
            S::BOOL,
            S::F4,
            S::F6_E2M3,
            S::F6_E3M2,
            S::U8,
            S::I8,
            S::F8_E5M2,
            S::F8_E4M3,
            S::F8_E8M0,
            S::F8_E4M3FNUZ,
            S::F8_E5M2FNUZ,
            S::I16,
            S::U16,
            S::F16,
            S::BF16,
            S::I32,
            S::U32,
            S::F32,
            S::C64,
            S::F64,
            S::I64,
            S::U64,
        ];
        assert_eq!(all.len(), SAFETENSORS_DTYPES.len());
        for s in all {
            let d = DType::try_from(s).unwrap();
            assert_eq!(d.bits_per_element(), s.bitsize() as f64, "{d}");
        }
    }

    #[test]
    fn every_ggml_type_converts_with_its_block_size() {
        for &t in GgmlType::ALL {
            let d = DType::try_from(t).unwrap();
            assert_eq!(d.block_elements(), t.block_elements(), "{t}");
            assert_eq!(d.block_bytes(), t.block_bytes(), "{t}");
            assert_eq!(d.name(), t.name());
            assert_eq!(d.ggml_type(), Some(t));
            assert_eq!(DType::from_ggml_name(t.name()), Some(d));
            assert_eq!(matches!(d, DType::Ggml(_)), t.is_quantized(), "{t}");
        }
        assert_eq!(DType::try_from(GgmlType::BF16), Ok(DType::BF16));
        assert_eq!(DType::from_ggml_id(99), DType::Unknown(99));
        assert_eq!(DType::Unknown(99).bytes_for(8), None);
        assert_eq!(DType::Unknown(99).to_string(), "type 99");
        // Safetensors names only: a ggml name is not a safetensors dtype.
        assert!("Q4_K".parse::<DType>().is_err());
    }

    #[test]
    fn sub_byte_sizes_need_whole_blocks() {
        assert_eq!(DType::F4.bytes_for(6), Some(3));
        assert_eq!(DType::F4.bytes_for(5), None);
        assert_eq!(DType::F6_E2M3.bytes_for(8), Some(6));
        assert_eq!(DType::F6_E2M3.bytes_for(6), None);
        assert_eq!(DType::F64.bytes_for(u64::MAX), None);
        assert_eq!(DType::BF16.bytes_for(0), Some(0));
    }
}

//! Synthetic weights shared by the benches.

use glassbox::DType;

/// Normal-ish values with std 0.02 (like trained weights), as f32: a sum of four uniform draws
/// from a xorshift generator seeded with `seed`.
pub fn weights(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            let mut s = 0.0;
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s += (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            }
            s * 0.02 * 1.732
        })
        .collect()
}

/// `values` stored as `dtype`. The one-byte types (F8, F4, ...) get the top byte of the f16 of
/// the value scaled up: close to F8_E4M3 and a valid code for every byte type, enough for a bench.
pub fn encode(dtype: DType, values: &[f32]) -> Vec<u8> {
    match dtype {
        DType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        DType::F64 => values
            .iter()
            .flat_map(|&v| f64::from(v).to_le_bytes())
            .collect(),
        DType::BF16 => values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
        DType::F16 => values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        DType::I32 => values
            .iter()
            .flat_map(|&v| ((v * 1e6) as i32).to_le_bytes())
            .collect(),
        _ => values
            .iter()
            .map(|&v| (half::f16::from_f32(v * 64.0).to_bits() >> 8) as u8)
            .collect(),
    }
}

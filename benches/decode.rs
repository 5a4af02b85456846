//! Decoding throughput: raw bytes to f64, per dtype (`decode::decode_f64`, the path of the wide
//! types and of every type the statistics engine does not count by code).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassbox::DType;
use glassbox::decode::decode_f64;

/// Normal-ish values with std 0.02 (like trained weights), as f32.
fn weights(n: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
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

fn encode(dtype: DType, values: &[f32]) -> Vec<u8> {
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
        // Byte codes: any byte is a valid code.
        _ => values.iter().map(|v| v.to_bits() as u8).collect(),
    }
}

fn decode(c: &mut Criterion) {
    let values = weights(4 << 20);
    let mut group = c.benchmark_group("decode_f64");
    let mut out = Vec::with_capacity(values.len());
    for dtype in [
        DType::F64,
        DType::F32,
        DType::BF16,
        DType::F16,
        DType::I32,
        DType::F8_E4M3,
        DType::F4,
    ] {
        let bytes = encode(dtype, &values);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(dtype.name(), |b| {
            b.iter(|| {
                out.clear();
                decode_f64(dtype, black_box(&bytes), &mut out).unwrap();
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decode
}
criterion_main!(benches);

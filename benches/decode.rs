//! Decoding throughput: raw bytes to f64, per dtype (`decode::decode_f64`, the path of the wide
//! types and of every type the statistics engine does not count by code).

use std::hint::black_box;

mod common;

use common::{encode, weights};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassbox::DType;
use glassbox::decode::decode_f64;

fn decode(c: &mut Criterion) {
    let values = weights(4 << 20, 0x9E37_79B9_7F4A_7C15);
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

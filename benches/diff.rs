//! `compute_diff` throughput over two models of 16 F32 tensors (64 MiB each), written to a
//! temporary folder: byte-identical models (one comparison of bytes per pair), and models where
//! every value changed (the numbers pass and the low-rank range finder on every matrix).

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassbox::diff::{DiffOptions, compute_diff};

const TENSORS: usize = 16;
const ROWS: usize = 1024;
const COLS: usize = 1024;

/// A safetensors file of `TENSORS` F32 tensors, values from `value(tensor, index)`.
fn write_model(path: &Path, value: impl Fn(usize, usize) -> f32) {
    let mut header = String::from("{");
    let per = ROWS * COLS * 4;
    for t in 0..TENSORS {
        if t > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"model.layers.{t}.mlp.up_proj.weight\":{{\"dtype\":\"F32\",\"shape\":[{ROWS},{COLS}],\"data_offsets\":[{},{}]}}",
            t * per,
            (t + 1) * per
        ));
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + TENSORS * per);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for t in 0..TENSORS {
        for i in 0..ROWS * COLS {
            bytes.extend_from_slice(&value(t, i).to_le_bytes());
        }
    }
    std::fs::write(path, bytes).expect("write bench model");
}

/// A cheap deterministic pseudo-random value in [-0.05, 0.05).
fn noise(t: usize, i: usize, salt: u64) -> f32 {
    let mut x = (t as u64) << 32 ^ i as u64 ^ salt;
    x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 29;
    ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, same, changed) = (
        dir.path().join("a.safetensors"),
        dir.path().join("same.safetensors"),
        dir.path().join("changed.safetensors"),
    );
    write_model(&a, |t, i| noise(t, i, 1));
    write_model(&same, |t, i| noise(t, i, 1));
    write_model(&changed, |t, i| noise(t, i, 1) + noise(t, i, 2) * 0.01);
    let model_a = glassbox::model::open(&a).unwrap();
    let pool = glassbox::stats::thread_pool(None).unwrap();
    let options = DiffOptions::default();
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    for (name, path) in [("identical", &same), ("changed", &changed)] {
        let model_b = glassbox::model::open(path).unwrap();
        group.throughput(Throughput::Bytes(
            model_a.tensor_bytes_total() + model_b.tensor_bytes_total(),
        ));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let d = compute_diff(
                    &model_a,
                    &model_b,
                    &options,
                    &pool,
                    &|_| {},
                    &AtomicBool::new(false),
                );
                black_box(d.map(|d| d.tensors.len()).unwrap_or(0))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

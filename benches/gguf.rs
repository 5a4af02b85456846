//! Dequantisation throughput per ggml type, on synthetic blocks made here (criterion,
//! `Throughput::Bytes` of quantised input), plus dequantise-and-measure for Q8_0 and Q4_K.
//!
//! `cargo bench --bench gguf` runs the criterion groups. With `GLASSBOX_GGUF_FILE=path.gguf` set, it
//! instead times one pass of parse + dequantise + statistics over every tensor of that file (the
//! comparison with `benches/peer_gguf_stats.py`, gguf-py's `dequantize` followed by numpy), on one
//! thread and on all cores, and prints seconds.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use glassbox::decode::ggml::{can_decode, dequantize};
use glassbox::format::gguf::{GgmlType, parse_gguf};
use half::f16;
use rayon::prelude::*;

/// Input bytes per type in the criterion runs.
const INPUT_BYTES: usize = 4 << 20;
/// Values decoded per call: small enough to stay in L1/L2, as a chunked statistics pass would.
const CHUNK_VALUES: usize = 4096;

/// Random blocks with the f16 super-block scales set to small finite values (NaN or subnormal
/// scales would measure something else).
fn synthetic(ty: GgmlType, bytes: usize) -> Vec<u8> {
    let bb = ty.block_bytes() as usize;
    let n = bytes / bb * bb;
    let mut s = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(ty.id());
    let mut out: Vec<u8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect();
    let scales: &[usize] = match ty {
        GgmlType::F16 | GgmlType::BF16 | GgmlType::F32 | GgmlType::F64 => &[],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q4_1 | GgmlType::Q5_1 => &[0, 2],
        GgmlType::TQ1_0 => &[52],
        GgmlType::TQ2_0 => &[64],
        t if t.is_quantized()
            && !matches!(
                t,
                GgmlType::IQ1_M | GgmlType::MXFP4 | GgmlType::NVFP4 | GgmlType::Q8_K
            ) =>
        {
            &[0]
        }
        _ => &[],
    };
    for block in out.chunks_exact_mut(bb) {
        for &at in scales {
            block[at..at + 2].copy_from_slice(&f16::from_f32(1e-3).to_le_bytes());
        }
    }
    out
}

/// The statistics of one chunk: f32 lanes per chunk folded into f64, as the engine is meant to.
#[derive(Default, Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    sq: f64,
    min: f32,
    max: f32,
    zeros: u64,
    nonfinite: u64,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            ..Acc::default()
        }
    }

    #[inline(never)]
    fn add(&mut self, values: &[f32]) {
        // Branch-free lanes the compiler vectorises: selects instead of `f32::min` (whose NaN
        // rule blocks vectorisation), non-finite tested on the exponent bits, and min/max taken
        // over all values, redone over the finite ones only in the rare chunk that has others.
        const L: usize = 8;
        let chunks = values.chunks_exact(L);
        let rest = chunks.remainder();
        let (mut s, mut q) = ([0f32; L], [0f32; L]);
        let (mut lo, mut hi) = ([f32::INFINITY; L], [f32::NEG_INFINITY; L]);
        let (mut z, mut bad) = ([0u32; L], [0u32; L]);
        for c in chunks {
            for i in 0..L {
                let v = c[i];
                let finite = v.to_bits() & 0x7f80_0000 != 0x7f80_0000;
                let x = if finite { v } else { 0.0 };
                s[i] += x;
                q[i] += x * x;
                lo[i] = if v < lo[i] { v } else { lo[i] };
                hi[i] = if v > hi[i] { v } else { hi[i] };
                z[i] += u32::from(v == 0.0);
                bad[i] += u32::from(!finite);
            }
        }
        let mut nonfinite = 0;
        for i in 0..L {
            self.sum += f64::from(s[i]);
            self.sq += f64::from(q[i]);
            self.zeros += u64::from(z[i]);
            nonfinite += u64::from(bad[i]);
        }
        let (mut min, mut max) = (
            lo.iter().copied().fold(f32::INFINITY, f32::min),
            hi.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        );
        if nonfinite > 0 {
            (min, max) = (f32::INFINITY, f32::NEG_INFINITY);
            for &v in values[..values.len() - rest.len()]
                .iter()
                .filter(|v| v.is_finite())
            {
                (min, max) = (min.min(v), max.max(v));
            }
        }
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.nonfinite += nonfinite;
        for &v in rest {
            if v.is_finite() {
                self.sum += f64::from(v);
                self.sq += f64::from(v) * f64::from(v);
                self.min = self.min.min(v);
                self.max = self.max.max(v);
            } else {
                self.nonfinite += 1;
            }
            self.zeros += u64::from(v == 0.0);
        }
        self.n += values.len() as u64;
    }

    fn merge(mut self, o: Acc) -> Acc {
        self.n += o.n;
        self.sum += o.sum;
        self.sq += o.sq;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.zeros += o.zeros;
        self.nonfinite += o.nonfinite;
        self
    }
}

/// Dequantises `bytes` chunk by chunk into a reused buffer and folds each chunk.
fn measure(ty: GgmlType, bytes: &[u8], buf: &mut Vec<f32>) -> Acc {
    let be = ty.block_elements() as usize;
    let bb = ty.block_bytes() as usize;
    let blocks_per_chunk = (CHUNK_VALUES / be).max(1);
    let mut acc = Acc::new();
    for chunk in bytes.chunks(blocks_per_chunk * bb) {
        let n = chunk.len() / bb * be;
        buf.resize(n, 0.0);
        dequantize(ty, chunk, &mut buf[..n]).unwrap();
        acc.add(&buf[..n]);
    }
    acc
}

fn per_type(c: &mut Criterion) {
    let mut group = c.benchmark_group("dequantize");
    for &ty in GgmlType::ALL.iter().filter(|&&t| can_decode(t)) {
        let input = synthetic(ty, INPUT_BYTES);
        let be = ty.block_elements() as usize;
        let bb = ty.block_bytes() as usize;
        let step = (CHUNK_VALUES / be).max(1) * bb;
        let mut out = vec![0f32; CHUNK_VALUES.max(be)];
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(ty.name(), |b| {
            b.iter(|| {
                for chunk in input.chunks(step) {
                    let n = chunk.len() / bb * be;
                    dequantize(ty, chunk, &mut out[..n]).unwrap();
                    black_box(&out);
                }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dequantize_and_measure");
    for ty in [GgmlType::Q8_0, GgmlType::Q4_K] {
        let input = synthetic(ty, 16 << 20);
        let mut buf = Vec::new();
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(ty.name(), |b| {
            b.iter(|| black_box(measure(ty, &input, &mut buf)))
        });
    }
    group.finish();
}

criterion_group!(benches, per_type);

/// One timed pass over a GGUF file: every decodable tensor, chunked, folded into statistics.
fn file_pass(path: &str) {
    let t0 = Instant::now();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let read = t0.elapsed().as_secs_f64();
    let g = parse_gguf(&bytes).unwrap();
    let tensors: Vec<_> = g
        .tensors
        .iter()
        .filter(|t| t.ty.is_some_and(can_decode))
        .map(|t| (t.ty.unwrap(), g.tensor_data(&bytes, t).unwrap()))
        .collect();
    let total: usize = tensors.iter().map(|(_, d)| d.len()).sum();

    let t1 = Instant::now();
    let mut buf = Vec::new();
    let mut values = 0;
    for (ty, data) in &tensors {
        values += measure(*ty, data, &mut buf).n;
    }
    let single = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    // Fixed chunks of whole blocks across all cores, merged in order.
    let parallel_values: u64 = tensors
        .iter()
        .map(|(ty, data)| {
            let bb = ty.block_bytes() as usize;
            data.par_chunks(((1 << 20) / bb).max(1) * bb)
                .map_init(Vec::new, |buf, chunk| measure(*ty, chunk, buf))
                .reduce(Acc::new, Acc::merge)
                .n
        })
        .sum();
    let parallel = t2.elapsed().as_secs_f64();
    assert_eq!(values, parallel_values);

    let gb = total as f64 / 1e9;
    println!(
        "file: {path} ({:.1} MB of tensor data, {} tensors, {values} values)",
        gb * 1e3,
        tensors.len()
    );
    println!("read into memory:            {read:.3} s");
    println!(
        "dequantise + stats, 1 thread: {single:.3} s ({:.2} GB/s)",
        gb / single
    );
    println!(
        "dequantise + stats, {} threads: {parallel:.3} s ({:.2} GB/s)",
        rayon::current_num_threads(),
        gb / parallel
    );
    println!("1 thread including the read:  {:.3} s", single + read);
}

fn main() {
    if let Ok(path) = std::env::var("GLASSBOX_GGUF_FILE") {
        file_pass(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Statistics throughput (`compute_stats`): per dtype on one thread (the kernels: the sampled
//! method for large F32/BF16/F16 tensors, and with `--exact` (`sample_above: None`) AVX-512 or
//! AVX2 moments and bucket counts for F32 and code counting for BF16/F16/F8), and the whole engine
//! on all cores over 256 MiB of weights in 16 tensors. The default options let the engine choose
//! the method and kernel by measuring (`GLASSBOX_KERNEL`, `GLASSBOX_METHOD` force them); the CPU
//! model is printed first.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

mod common;

use common::{encode, weights};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassbox::DType;
use glassbox::stats::{StatsOptions, TensorSlice, compute_stats};

fn run(tensors: &[TensorSlice<'_>], opts: &StatsOptions) -> usize {
    let stats = compute_stats(
        tensors,
        opts,
        &|_, _| {},
        &|_, _| {},
        &AtomicBool::new(false),
    );
    stats.map(|s| s.len()).unwrap_or(0)
}

/// The CPU's model name (`/proc/cpuinfo` on Linux), printed beside the figures: a speed means
/// nothing without the CPU it was measured on, and the kernels do not rank the same on every CPU.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// One thread, one 64 MiB tensor per dtype.
fn kernels(c: &mut Criterion) {
    eprintln!(
        "CPU: {} ({} threads); GLASSBOX_KERNEL={:?} GLASSBOX_METHOD={:?}",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::var("GLASSBOX_KERNEL").ok(),
        std::env::var("GLASSBOX_METHOD").ok(),
    );
    let mut group = c.benchmark_group("stats_one_thread");
    // The engine runs on the pool it is called in: one thread here.
    let one_thread = glassbox::stats::thread_pool(Some(1)).unwrap();
    let opts = StatsOptions::default();
    for (dtype, width) in [
        (DType::F32, 4),
        (DType::BF16, 2),
        (DType::F16, 2),
        (DType::F8_E4M3, 1),
        (DType::F64, 8),
    ] {
        let (bytes, shape) = matrix(dtype, width, 64 << 20, 7);
        let tensors = [TensorSlice {
            dtype,
            shape: &shape,
            bytes: &bytes,
        }];
        one_thread_bench(&mut group, &one_thread, dtype.name(), &tensors, &opts);
        if matches!(dtype, DType::F32 | DType::BF16 | DType::F16) {
            let exact = StatsOptions {
                sample_above: None,
                ..opts.clone()
            };
            let name = format!("{} exact", dtype.name());
            one_thread_bench(&mut group, &one_thread, &name, &tensors, &exact);
        }
    }
    group.finish();
}

/// A matrix of 4096 columns holding `bytes` bytes of trained-like `dtype` weights (`width` bytes
/// each), and its shape.
fn matrix(dtype: DType, width: usize, bytes: usize, seed: u64) -> (Vec<u8>, [u64; 2]) {
    let values = weights(bytes / width, seed);
    (encode(dtype, &values), [values.len() as u64 / 4096, 4096])
}

/// Benchmarks `tensors` with `opts` on the one-thread pool, in bytes per second.
fn one_thread_bench(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    one_thread: &rayon::ThreadPool,
    name: &str,
    tensors: &[TensorSlice<'_>],
    opts: &StatsOptions,
) {
    let bytes: usize = tensors.iter().map(|t| t.bytes.len()).sum();
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(name, |b| {
        b.iter(|| one_thread.install(|| black_box(run(black_box(tensors), opts))))
    });
}

/// One thread, the sampled kernels on a 16 MiB tensor that stays in the L3 cache between runs: the
/// kernels' own cost, without the memory bandwidth and its noise on a shared machine.
fn cached(c: &mut Criterion) {
    let mut group = c.benchmark_group("stats_cached");
    let one_thread = glassbox::stats::thread_pool(Some(1)).unwrap();
    // Sampled from 2^20 values: the 16 MiB F32 tensor holds 2^22, which the default threshold
    // (more than 2^22) would count exactly.
    let opts = StatsOptions {
        sampling: glassbox::stats::Sampling::Always,
        sample_above: Some(1 << 20),
        ..StatsOptions::default()
    };
    for (dtype, width) in [(DType::F32, 4), (DType::BF16, 2)] {
        let (bytes, shape) = matrix(dtype, width, 16 << 20, 11);
        let tensors = [TensorSlice {
            dtype,
            shape: &shape,
            bytes: &bytes,
        }];
        one_thread_bench(&mut group, &one_thread, dtype.name(), &tensors, &opts);
    }
    group.finish();
}

/// All cores (one pool, built once), 256 MiB in 16 matrices.
fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("stats_engine");
    let pool = glassbox::stats::thread_pool(None).unwrap();
    group.sample_size(10);
    for (dtype, width) in [(DType::F32, 4), (DType::BF16, 2)] {
        let per_tensor = (16 << 20) / width;
        let data: Vec<Vec<u8>> = (0..16)
            .map(|i| encode(dtype, &weights(per_tensor, i + 1)))
            .collect();
        let shape = [per_tensor as u64 / 4096, 4096];
        let tensors: Vec<TensorSlice<'_>> = data
            .iter()
            .map(|bytes| TensorSlice {
                dtype,
                shape: &shape,
                bytes,
            })
            .collect();
        group.throughput(Throughput::Bytes(256 << 20));
        group.bench_function(dtype.name(), |b| {
            b.iter(|| {
                pool.install(|| black_box(run(black_box(&tensors), &StatsOptions::default())))
            })
        });
        let exact = StatsOptions {
            sample_above: None,
            ..StatsOptions::default()
        };
        group.bench_function(format!("{} exact", dtype.name()), |b| {
            b.iter(|| pool.install(|| black_box(run(black_box(&tensors), &exact))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = kernels, cached, engine
}
criterion_main!(benches);

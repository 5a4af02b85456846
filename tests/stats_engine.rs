//! The statistics engine against a naive single-threaded f64 reference, against the fixtures'
//! numpy-computed expected values, and against itself across thread counts and chunk sizes.

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use glassbox::DType;
use glassbox::decode::decode_f64;
use glassbox::model::dtype::SAFETENSORS_DTYPES;
use glassbox::stats::{
    Distribution, Sampling, StatsOptions, TensorSlice, TensorStats, compute_stats, find_anomalies,
};
use proptest::prelude::*;

mod common;
use common::fixtures;

/// The engine's options and the threads of the pool it runs on.
struct Setup {
    threads: usize,
    options: StatsOptions,
}

/// Runs `f` on a rayon pool of `threads` threads (the engine runs on the pool it is called in).
fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn run(tensors: &[TensorSlice<'_>], setup: &Setup) -> Vec<TensorStats> {
    in_pool(setup.threads, || {
        compute_stats(
            tensors,
            &setup.options,
            &|_, _| {},
            &|_, _| {},
            &AtomicBool::new(false),
        )
    })
    .unwrap()
}

fn opts(threads: usize, chunk_bytes: usize, exact_limit: u64) -> Setup {
    Setup {
        threads,
        options: StatsOptions {
            chunk_bytes,
            exact_limit,
            ..StatsOptions::default()
        },
    }
}

fn sampled_opts(threads: usize, chunk_bytes: usize, sample_above: Option<u64>) -> Setup {
    let mut setup = opts(threads, chunk_bytes, 1 << 16);
    setup.options.sample_above = sample_above;
    // Sampled whatever measured faster on this CPU: these tests check the sampled method.
    setup.options.sampling = Sampling::Always;
    setup
}

// ------------------------------------------------------------------------------------------------
// The naive reference: decode everything, then textbook formulas in f64.
// ------------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Reference {
    count: u64,
    finite: Vec<f64>, // sorted
    mean: f64,
    std: f64,
    l2: f64,
    zeros: u64,
    nan: u64,
    inf: u64,
    dead_rows: Option<u64>,
    dead_columns: Option<u64>,
}

fn reference(dtype: DType, shape: &[u64], bytes: &[u8]) -> Reference {
    let mut values = Vec::new();
    decode_f64(dtype, bytes, &mut values).unwrap();
    let mut finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = finite.len() as f64;
    let mean = accurate_sum(finite.iter().copied()) / n;
    let std = (accurate_sum(finite.iter().map(|x| (x - mean) * (x - mean))) / n).sqrt();
    let l2 = accurate_sum(finite.iter().map(|x| x * x)).sqrt();
    finite.sort_by(f64::total_cmp);
    // An element is zero when all its values are (C64: both parts).
    let per = if dtype == DType::C64 { 2 } else { 1 };
    let zero: Vec<bool> = values
        .chunks(per)
        .map(|e| e.iter().all(|&v| v == 0.0))
        .collect();
    let (dead_rows, dead_columns) = match *shape {
        [r, c] if r >= 2 && c >= 2 && (r * c) as usize == zero.len() => {
            let (r, c) = (r as usize, c as usize);
            let rows = (0..r)
                .filter(|&i| zero[i * c..(i + 1) * c].iter().all(|&z| z))
                .count();
            let cols = (0..c).filter(|&j| (0..r).all(|i| zero[i * c + j])).count();
            (Some(rows as u64), Some(cols as u64))
        }
        _ => (None, None),
    };
    Reference {
        count: values.len() as u64,
        zeros: values.iter().filter(|&&v| v == 0.0).count() as u64,
        nan: values.iter().filter(|v| v.is_nan()).count() as u64,
        inf: values.iter().filter(|v| v.is_infinite()).count() as u64,
        finite,
        mean,
        std,
        l2,
        dead_rows,
        dead_columns,
    }
}

/// Σ in value order with Neumaier's compensation: a plain running sum after a large first term
/// rounds every small addend the same way and drifts by 1e-10 over millions of values.
fn accurate_sum(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for x in xs {
        let t = sum + x;
        carry += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    }
    sum + carry
}

/// numpy.percentile(x, p) (method "linear") over sorted values.
fn np_percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let v = (n - 1) as f64 * (p / 100.0);
    let lo = v.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let g = v - v.floor();
    let (a, b) = (sorted[lo], sorted[hi]);
    if g >= 0.5 {
        b - (b - a) * (1.0 - g)
    } else {
        a + (b - a) * g
    }
}

/// numpy.histogram(x, bins): bin i holds edges[i] <= x < edges[i+1] (the last bin includes hi),
/// found by search over numpy.linspace edges.
fn np_histogram(sorted: &[f64], bins: usize) -> Vec<u64> {
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let mut counts = vec![0u64; bins];
    if lo == hi {
        counts[0] = sorted.len() as u64;
        return counts;
    }
    let step = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins)
        .map(|i| if i == bins { hi } else { i as f64 * step + lo })
        .collect();
    for &x in sorted {
        let i = edges
            .partition_point(|&e| e <= x)
            .saturating_sub(1)
            .min(bins - 1);
        counts[i] += 1;
    }
    counts
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    got == want || (got - want).abs() <= tol || (got.is_nan() && want.is_nan())
}

/// The bucket-width bound of an estimated order statistic near `x`.
fn bucket_bound(x: f64) -> f64 {
    x.abs() / 64.0 + 1e-37
}

fn check(r: &Reference, s: &TensorStats, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.count, r.count, "{} count", what);
    prop_assert_eq!(s.finite, r.finite.len() as u64, "{} finite", what);
    prop_assert_eq!(
        (s.zeros, s.nan, s.inf),
        (r.zeros, r.nan, r.inf),
        "{} zeros/nan/inf",
        what
    );
    prop_assert_eq!(
        (s.dead_rows, s.dead_columns),
        (r.dead_rows, r.dead_columns),
        "{} dead",
        what
    );
    if r.finite.is_empty() {
        prop_assert!(
            s.mean.is_none() && s.std.is_none() && s.p50.is_none() && s.histogram.is_none()
        );
        return Ok(());
    }
    let (min, max) = (r.finite[0], r.finite[r.finite.len() - 1]);
    prop_assert_eq!(s.min, Some(min), "{} min", what);
    prop_assert_eq!(s.max, Some(max), "{} max", what);
    prop_assert_eq!(
        s.abs_max,
        Some(min.abs().max(max.abs())),
        "{} abs_max",
        what
    );
    let mean = s.mean.unwrap();
    prop_assert!(
        close(mean, r.mean, 1e-9 * r.std + 1e-12 * r.mean.abs()),
        "{} mean {} vs {}",
        what,
        mean,
        r.mean
    );
    prop_assert!(
        close(s.std.unwrap(), r.std, 1e-9 * r.std),
        "{} std {:?} vs {}",
        what,
        s.std,
        r.std
    );
    prop_assert!(
        close(s.l2_norm.unwrap(), r.l2, 1e-9 * r.l2),
        "{} l2 {:?} vs {}",
        what,
        s.l2_norm,
        r.l2
    );
    let h = s.histogram.as_ref().unwrap();
    prop_assert_eq!((h.lo, h.hi), (min, max));
    prop_assert_eq!(h.counts.iter().sum::<u64>(), r.finite.len() as u64);
    if s.distribution == Distribution::Sampled {
        // Estimates from a sample: only their consistency is certain on small random tensors
        // (their accuracy is measured on large ones below).
        let (p1, p50, p99) = (s.p1.unwrap(), s.p50.unwrap(), s.p99.unwrap());
        prop_assert!(
            min <= p1 && p1 <= p50 && p50 <= p99 && p99 <= max,
            "{} percentiles {} {} {} outside {}..{}",
            what,
            p1,
            p50,
            p99,
            min,
            max
        );
        prop_assert!(s.outliers <= s.finite, "{} outliers", what);
        prop_assert!(!s.exact_distribution);
        return Ok(());
    }
    for (p, got) in [(1.0, s.p1), (50.0, s.p50), (99.0, s.p99)] {
        let want = np_percentile(&r.finite, p);
        let got = got.unwrap();
        let tol = if s.exact_distribution {
            1e-12 * want.abs()
        } else {
            // Around the two order statistics the interpolation uses.
            let v = (r.finite.len() - 1) as f64 * (p / 100.0);
            let a = r.finite[v.floor() as usize];
            let b = r.finite[(v.floor() as usize + 1).min(r.finite.len() - 1)];
            bucket_bound(a).max(bucket_bound(b))
        };
        prop_assert!(close(got, want, tol), "{} p{} {} vs {}", what, p, got, want);
    }
    let t = s.outlier_sigmas * s.std.unwrap();
    if s.exact_distribution {
        prop_assert_eq!(
            h.counts.clone(),
            np_histogram(&r.finite, h.counts.len()),
            "{} histogram",
            what
        );
        let outliers = r.finite.iter().filter(|&&x| (x - mean).abs() > t).count() as u64;
        prop_assert_eq!(s.outliers, outliers, "{} outliers", what);
    } else {
        let surely = r
            .finite
            .iter()
            .filter(|&&x| (x - mean).abs() > t + bucket_bound(x))
            .count() as u64;
        let maybe = r
            .finite
            .iter()
            .filter(|&&x| (x - mean).abs() > t - bucket_bound(x))
            .count() as u64;
        prop_assert!(
            surely <= s.outliers && s.outliers <= maybe,
            "{} outliers {} not in {}..={}",
            what,
            s.outliers,
            surely,
            maybe
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Random tensors of every dtype.
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Tensor {
    dtype: DType,
    shape: Vec<u64>,
    bytes: Vec<u8>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// Values in one of several styles: raw random bits (every code, NaN and Inf included), weights
/// around a mean, mostly zeros, with special values sprinkled in.
fn make_bytes(dtype: DType, elements: usize, style: u8, rng: &mut Rng) -> Vec<u8> {
    let per_value = match dtype {
        DType::C64 => 2 * elements,
        _ => elements,
    };
    let mean = [0.0, 1.0, -3.0e3, 0.5][(rng.next() % 4) as usize];
    let scale = [0.02, 1e-3, 10.0, 1.0][(rng.next() % 4) as usize];
    let value = |rng: &mut Rng| -> f64 {
        match style {
            1 => mean + scale * rng.normal(),
            2 if !rng.next().is_multiple_of(4) => 0.0,
            2 => scale * rng.normal(),
            _ => match rng.next() % 50 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                3 => -0.0,
                _ => mean + scale * rng.normal(),
            },
        }
    };
    let random_bits = style == 0;
    let mut out = Vec::new();
    match dtype {
        DType::F64 => {
            for _ in 0..per_value {
                let x = if random_bits {
                    // Any f32 magnitude with random low f64 bits (Σx² stays finite).
                    let f = f64::from(f32::from_bits(rng.next() as u32));
                    if f.is_finite() {
                        f64::from_bits(f.to_bits() ^ (rng.next() & 0xFFF_FFFF))
                    } else {
                        f
                    }
                } else {
                    value(rng)
                };
                out.extend(x.to_le_bytes());
            }
        }
        DType::F32 | DType::C64 => {
            for _ in 0..per_value {
                let bits = if random_bits {
                    rng.next() as u32
                } else {
                    (value(rng) as f32).to_bits()
                };
                out.extend(bits.to_le_bytes());
            }
        }
        DType::F16 | DType::BF16 => {
            for _ in 0..per_value {
                let bits = if random_bits {
                    rng.next() as u16
                } else if dtype == DType::F16 {
                    half::f16::from_f64(value(rng)).to_bits()
                } else {
                    half::bf16::from_f64(value(rng)).to_bits()
                };
                out.extend(bits.to_le_bytes());
            }
        }
        DType::I64 | DType::U64 => {
            for _ in 0..per_value {
                // Not near 2^64 unless random: there f64 steps of 2048 exceed the spread, and a
                // two-pass reference (numpy's method) loses the variance to its rounded mean.
                let v = value(rng).clamp(-1e6, 1e6) as i64;
                let v = match (random_bits, dtype) {
                    (true, _) => rng.next(),
                    (false, DType::U64) => v.unsigned_abs(),
                    (false, _) => v as u64,
                };
                out.extend(v.to_le_bytes());
            }
        }
        DType::I32 | DType::U32 => {
            for _ in 0..per_value {
                let v = if random_bits {
                    rng.next() as u32
                } else {
                    value(rng).clamp(-1e6, 1e6) as i32 as u32
                };
                out.extend(v.to_le_bytes());
            }
        }
        DType::I16 | DType::U16 => {
            for _ in 0..per_value {
                let v = if random_bits {
                    rng.next() as u16
                } else {
                    value(rng).clamp(-3e4, 3e4) as i16 as u16
                };
                out.extend(v.to_le_bytes());
            }
        }
        _ => {
            // Byte and sub-byte codes: random bytes, or mostly zero bytes.
            let bytes = dtype.bytes_for(elements as u64).unwrap() as usize;
            for _ in 0..bytes {
                let b = rng.next() as u8;
                out.push(if style == 2 && !rng.next().is_multiple_of(4) {
                    0
                } else {
                    b
                });
            }
        }
    }
    out
}

fn tensor_strategy() -> impl Strategy<Value = Tensor> {
    (
        0..SAFETENSORS_DTYPES.len(),
        0usize..=6,
        0usize..=24,
        any::<bool>(),
        0u8..3,
        any::<u64>(),
        0u8..8,
    )
        .prop_map(|(d, rows, cols, one_d, style, seed, big)| {
            let dtype = SAFETENSORS_DTYPES[d];
            let block = dtype.block_elements() as usize;
            // Now and then a tensor big enough for the count tables and the bucket method.
            let (rows, cols) = if big == 0 { (50, 96) } else { (rows, cols) };
            let cols = cols.div_ceil(block) * block;
            let elements = rows * cols;
            let shape = if one_d {
                vec![elements as u64]
            } else {
                vec![rows as u64, cols as u64]
            };
            let mut rng = Rng(seed | 1);
            let mut bytes = make_bytes(dtype, elements, style, &mut rng);
            // Zero out a row and a column now and then (the element bytes, whatever the type).
            if !one_d && rows > 1 && cols > 1 && block == 1 && rng.next().is_multiple_of(2) {
                let w = bytes.len() / elements;
                let r = (rng.next() as usize) % rows;
                bytes[r * cols * w..(r + 1) * cols * w].fill(0);
                let c = (rng.next() as usize) % cols;
                for i in 0..rows {
                    bytes[(i * cols + c) * w..(i * cols + c + 1) * w].fill(0);
                }
            }
            Tensor {
                dtype,
                shape,
                bytes,
            }
        })
}

/// 48 cases by default; `PROPTEST_CASES=1000` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    // No failure files: tests never write into the source tree.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Every statistic of every dtype matches the naive reference, for any thread count and chunk
    /// size; and the output is identical across thread counts.
    #[test]
    fn engine_matches_the_naive_reference(
        tensors in proptest::collection::vec(tensor_strategy(), 1..6),
        exact_limit in prop_oneof![Just(0u64), Just(16), Just(1 << 16)],
        sample_above in prop_oneof![Just(None), Just(Some(0u64)), Just(Some(40))],
    ) {
        let slices: Vec<TensorSlice<'_>> = tensors
            .iter()
            .map(|t| TensorSlice { dtype: t.dtype, shape: &t.shape, bytes: &t.bytes })
            .collect();
        let refs: Vec<Reference> = tensors.iter().map(|t| reference(t.dtype, &t.shape, &t.bytes)).collect();
        for chunk in [1usize, 7, 100, 4096, 4 << 20] {
            let o = |threads| {
                let mut setup = opts(threads, chunk, exact_limit);
                setup.options.sample_above = sample_above;
                setup.options.sampling = Sampling::Always;
                setup
            };
            let one = run(&slices, &o(1));
            let two = run(&slices, &o(2));
            prop_assert_eq!(
                serde_json::to_string(&one).unwrap(),
                serde_json::to_string(&two).unwrap(),
                "threads change the output (chunk {})", chunk
            );
            for (i, (r, s)) in refs.iter().zip(&one).enumerate() {
                check(r, s, &format!("tensor {i} {} {:?} chunk {chunk}", tensors[i].dtype, tensors[i].shape))?;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Precision where naive accumulation fails: |mean| ≫ std.
// ------------------------------------------------------------------------------------------------

/// Relative errors of mean (in units of std), std and L2 against a two-pass f64 reference.
fn errors(dtype: DType, bytes: &[u8], o: &Setup) -> (f64, f64, f64) {
    let slice = [TensorSlice {
        dtype,
        shape: &[],
        bytes,
    }];
    let s = &run(&slice, o)[0];
    let r = reference(dtype, &[], bytes);
    (
        (s.mean.unwrap() - r.mean).abs() / r.std,
        (s.std.unwrap() / r.std - 1.0).abs(),
        (s.l2_norm.unwrap() / r.l2 - 1.0).abs(),
    )
}

#[test]
fn norm_like_weights_keep_full_precision() {
    let mut rng = Rng(42);
    // 3M values of 1.0 ± 0.001 with a leading outlier: a naive Σx² − n·mean² loses everything.
    let mut f32s: Vec<f32> = (0..3_000_000)
        .map(|_| (1.0 + 1e-3 * rng.normal()) as f32)
        .collect();
    f32s[0] = 1.0e4;
    let bytes: Vec<u8> = f32s.iter().flat_map(|x| x.to_le_bytes()).collect();
    let bf16: Vec<u8> = f32s
        .iter()
        .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
        .collect();
    let f64s: Vec<u8> = f32s
        .iter()
        .flat_map(|&x| (f64::from(x) + 1e-12).to_le_bytes())
        .collect();
    // Without the outlier too: then std is 1e-3 and the mean 1000 std from zero.
    let plain: Vec<u8> = bytes[4..].to_vec();
    for (name, dtype, data, bound) in [
        ("F32 with outlier", DType::F32, &bytes, 1e-9),
        ("F32", DType::F32, &plain, 1e-9),
        ("BF16", DType::BF16, &bf16, 1e-12),
        ("F64", DType::F64, &f64s, 1e-9),
    ] {
        for threads in [1, 2] {
            for chunk in [4096, 1 << 20, 4 << 20] {
                let (m, s, l) = errors(dtype, data, &opts(threads, chunk, 1 << 16));
                println!(
                    "{name} threads {threads} chunk {chunk}: |Δmean|/std {m:.1e}, std {s:.1e}, l2 {l:.1e}"
                );
                assert!(
                    m < bound && s < bound && l < bound,
                    "{name} chunk {chunk}: mean {m:e} std {s:e} l2 {l:e}"
                );
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Engine behaviour: progress, release, cancel.
// ------------------------------------------------------------------------------------------------

#[test]
fn progress_and_release_cover_every_byte_once() {
    let data: Vec<u8> = (0..100_000u32)
        .flat_map(|i| ((i % 977) as f32 * 1e-3).to_le_bytes())
        .collect();
    let shapes = [
        vec![100u64, 100],
        vec![50_000u64],
        vec![10_000u64],
        vec![0u64],
    ];
    let slices = [
        TensorSlice {
            dtype: DType::F32,
            shape: &shapes[0],
            bytes: &data[..40_000],
        },
        TensorSlice {
            dtype: DType::BF16,
            shape: &shapes[1],
            bytes: &data[..100_000],
        },
        TensorSlice {
            dtype: DType::U8,
            shape: &shapes[2],
            bytes: &data[..10_000],
        },
        TensorSlice {
            dtype: DType::F64,
            shape: &shapes[3],
            bytes: &[],
        },
    ];
    let calls = Mutex::new(Vec::new());
    let released: Mutex<Vec<(usize, Range<usize>)>> = Mutex::new(Vec::new());
    let o = opts(2, 3000, 1 << 16);
    let stats = in_pool(o.threads, || {
        compute_stats(
            &slices,
            &o.options,
            &|done, total| calls.lock().unwrap().push((done, total)),
            &|t, r| released.lock().unwrap().push((t, r)),
            &AtomicBool::new(false),
        )
    })
    .unwrap();
    assert_eq!(stats.len(), 4);
    let calls = calls.into_inner().unwrap();
    assert!(
        calls.windows(2).all(|w| w[0].0 < w[1].0),
        "progress increases"
    );
    assert_eq!(*calls.last().unwrap(), (150_000, 150_000));
    let mut released = released.into_inner().unwrap();
    released.sort_by_key(|(t, r)| (*t, r.start));
    for (t, len) in [(0usize, 40_000usize), (1, 100_000), (2, 10_000)] {
        let mut at = 0;
        for (_, r) in released.iter().filter(|x| x.0 == t) {
            assert_eq!(r.start, at, "tensor {t}: contiguous, no overlap");
            at = r.end;
        }
        assert_eq!(at, len);
    }
}

#[test]
fn a_set_cancel_flag_stops_the_work() {
    let data = vec![0u8; 1 << 20];
    let slices = [TensorSlice {
        dtype: DType::F32,
        shape: &[],
        bytes: &data,
    }];
    let cancel = AtomicBool::new(true);
    let r = in_pool(2, || {
        compute_stats(
            &slices,
            &opts(2, 4096, 1 << 16).options,
            &|_, _| {},
            &|_, _| {},
            &cancel,
        )
    });
    assert_eq!(r, Err(glassbox::stats::Cancelled));

    // Cancelled from the progress callback, part way.
    let cancel = AtomicBool::new(false);
    let r = in_pool(1, || {
        compute_stats(
            &slices,
            &opts(1, 4096, 1 << 16).options,
            &|done, _| {
                if done >= 8192 {
                    cancel.store(true, Ordering::Relaxed)
                }
            },
            &|_, _| {},
            &cancel,
        )
    });
    assert!(r.is_err());
}

// ------------------------------------------------------------------------------------------------
// The fixtures: expected values from numpy (fixtures/generate.py), not from this crate.
// ------------------------------------------------------------------------------------------------

fn fixture_check(file: &Path, expected: &serde_json::Value) -> Vec<(String, String)> {
    let data = std::fs::read(file).unwrap();
    let tensors = expected["tensors"].as_array().unwrap();
    let shapes: Vec<Vec<u64>> = tensors
        .iter()
        .map(|t| {
            t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect()
        })
        .collect();
    let slices: Vec<TensorSlice<'_>> = tensors
        .iter()
        .zip(&shapes)
        .map(|(t, shape)| {
            let offset = t["offset"].as_u64().unwrap() as usize;
            let len = t["bytes"].as_u64().unwrap() as usize;
            TensorSlice {
                dtype: t["dtype"].as_str().unwrap().parse().unwrap(),
                shape,
                bytes: &data[offset..offset + len],
            }
        })
        .collect();
    let names: Vec<&str> = tensors
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut last: Option<String> = None;
    let mut findings = Vec::new();
    for (threads, chunk) in [(1, 4 << 20), (2, 4 << 20), (2, 64), (1, 3)] {
        let stats = run(&slices, &opts(threads, chunk, 1 << 16));
        let json = serde_json::to_string(&stats).unwrap();
        if chunk == 4 << 20 {
            assert!(
                last.as_ref().is_none_or(|l| *l == json),
                "{}: threads change the output",
                file.display()
            );
            last = Some(json);
        }
        for (name, s) in names.iter().zip(&stats) {
            let e = &expected["stats"][*name];
            let what = format!(
                "{} `{name}` (threads {threads}, chunk {chunk})",
                file.display()
            );
            for (key, got) in [
                ("count", s.count),
                ("zeros", s.zeros),
                ("nan", s.nan),
                ("inf", s.inf),
            ] {
                assert_eq!(Some(got), e[key].as_u64(), "{what} {key}");
            }
            let std = e["std"].as_f64();
            for (key, got) in [
                ("mean", s.mean),
                ("std", s.std),
                ("min", s.min),
                ("max", s.max),
                ("abs_max", s.abs_max),
                ("l2_norm", s.l2_norm),
                ("p1", s.p1),
                ("p50", s.p50),
                ("p99", s.p99),
            ] {
                let want = e[key].as_f64();
                match (got, want) {
                    (None, None) => {}
                    (Some(g), Some(w)) => {
                        // The mean within 1e-7 of the std (or of itself when the std is 0).
                        let tol = if key == "mean" {
                            1e-7 * std.unwrap().max(w.abs() * 1e-9)
                        } else {
                            1e-7 * w.abs()
                        };
                        assert!(
                            g == w || (g - w).abs() <= tol,
                            "{what} {key}: {g:e} vs numpy {w:e}"
                        );
                    }
                    _ => panic!("{what} {key}: {got:?} vs numpy {want:?}"),
                }
            }
        }
        findings = find_anomalies(&names, &slices, &stats)
            .into_iter()
            .map(|f| (f.code.to_owned(), f.tensor().unwrap_or_default().to_owned()))
            .collect();
    }
    findings
}

#[test]
fn every_dtype_fixture_matches_numpy() {
    let dir = fixtures().join("dtypes");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected.as_object().unwrap();
    assert!(files.len() >= 18);
    for (file, e) in files {
        fixture_check(&dir.join(file), e);
    }
}

#[test]
fn stats_edge_fixture_has_exactly_the_expected_findings() {
    let dir = fixtures().join("stats-edge");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut got = fixture_check(&dir.join("model.safetensors"), &expected);
    let mut want: Vec<(String, String)> = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["code"].as_str().unwrap() {
            // The per-tensor outlier count numpy expects is reported once for the model, as
            // `heavy_tails` (the fixture has one such tensor).
            "outliers" => ("heavy_tails".to_owned(), String::new()),
            code => (code.to_owned(), f["tensor"].as_str().unwrap().to_owned()),
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

// ------------------------------------------------------------------------------------------------
// The sampled method on large tensors: exact where it claims to be, close where it estimates.
// ------------------------------------------------------------------------------------------------

/// A 4097×1030 matrix (over 2^22 values) of weights: normal values of std 0.02 (bounded at 6σ),
/// every 64th column dead, 200 outliers at ±15σ, and a few NaN and Inf.
fn large_weights() -> (Vec<f32>, [u64; 2]) {
    let (rows, cols) = (4097usize, 1030usize);
    let mut rng = Rng(7);
    let mut v: Vec<f32> = (0..rows * cols)
        .map(|i| {
            if (i % cols) % 64 == 5 {
                0.0
            } else {
                (0.02 * rng.normal()) as f32
            }
        })
        .collect();
    for (k, i) in (0..200).map(|k| (k, 1000 + k * 20_011)) {
        v[i] = if k % 2 == 0 { 0.3 } else { -0.3 };
    }
    v[123_457] = f32::NAN;
    v[2_000_001] = f32::INFINITY;
    v[3_999_999] = f32::NEG_INFINITY;
    (v, [rows as u64, cols as u64])
}

#[test]
fn sampled_distribution_is_exact_in_the_tails_and_close_in_the_centre() {
    let (values, shape) = large_weights();
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        let bytes: Vec<u8> = match dtype {
            DType::F32 => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DType::BF16 => values
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect(),
            _ => values
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
        };
        let slice = [TensorSlice {
            dtype,
            shape: &shape,
            bytes: &bytes,
        }];
        let r = reference(dtype, &shape, &bytes);
        let sampled = run(&slice, &sampled_opts(2, 4 << 20, Some(1 << 22)));
        let one = run(&slice, &sampled_opts(1, 4 << 20, Some(1 << 22)));
        assert_eq!(
            serde_json::to_string(&sampled).unwrap(),
            serde_json::to_string(&one).unwrap(),
            "{dtype}: threads change the output"
        );
        let s = &sampled[0];
        assert_eq!(s.distribution, Distribution::Sampled, "{dtype}");
        // Everything but the distribution is exact, as in the other methods.
        assert_eq!((s.count, s.finite), (r.count, r.finite.len() as u64));
        assert_eq!((s.zeros, s.nan, s.inf), (r.zeros, 1, 2), "{dtype}");
        assert_eq!((s.dead_rows, s.dead_columns), (r.dead_rows, r.dead_columns));
        assert!(
            r.dead_columns.unwrap() >= 10,
            "the fixture keeps most dead columns"
        );
        assert_eq!(
            (s.min, s.max),
            (r.finite.first().copied(), r.finite.last().copied())
        );
        assert!(
            (s.mean.unwrap() - r.mean).abs() < 1e-12 * r.std,
            "{dtype} mean"
        );
        assert!((s.std.unwrap() / r.std - 1.0).abs() < 1e-12, "{dtype} std");
        assert!(
            (s.l2_norm.unwrap() / r.l2 - 1.0).abs() < 1e-12,
            "{dtype} l2"
        );
        // The outliers lie beyond the central window, where every value is counted.
        assert_eq!(s.outliers, 200, "{dtype} outliers");
        // Percentiles: within 0.01σ (a few standard errors of the sample) plus one bucket.
        for (p, got) in [(1.0, s.p1), (50.0, s.p50), (99.0, s.p99)] {
            let want = np_percentile(&r.finite, p);
            let err = (got.unwrap() - want).abs();
            println!("{dtype} p{p}: error {:.4}σ", err / r.std);
            assert!(
                err <= 0.01 * r.std + want.abs() / 128.0,
                "{dtype} p{p}: {got:?} vs {want} ({:.4}σ)",
                err / r.std
            );
        }
        // Histogram: each bin within six standard errors of the 1-in-16 sample (√(15c)) of the
        // exact count, plus the bucket width around the bin edges for the 16-bit keys.
        let h = s.histogram.as_ref().unwrap();
        let want = np_histogram(&r.finite, h.counts.len());
        assert_eq!(h.counts.iter().sum::<u64>(), r.finite.len() as u64);
        let worst = h
            .counts
            .iter()
            .zip(&want)
            .map(|(&g, &c)| (g as f64 - c as f64).abs() / (15.0 * c as f64 + 64.0).sqrt())
            .fold(0.0, f64::max);
        println!("{dtype} histogram: worst bin {worst:.2} standard errors");
        for (i, (&got, &c)) in h.counts.iter().zip(&want).enumerate() {
            let tol = 6.0 * (15.0 * c as f64 + 64.0).sqrt() + 0.05 * c as f64;
            assert!(
                (got as f64 - c as f64).abs() <= tol,
                "{dtype} bin {i}: {got} vs {c} (tolerance {tol:.0})"
            );
        }
    }
}

/// A bug that panics in one worker must not leave the other waiting for ever for that worker's
/// chunk: the computation ends and the panic reaches the caller.
#[test]
fn a_panicking_worker_stops_the_others_and_the_panic_reaches_the_caller() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let data = vec![0u8; 1 << 20];
        let slices = [TensorSlice {
            dtype: DType::F32,
            shape: &[],
            bytes: &data,
        }];
        let run = std::panic::AssertUnwindSafe(|| {
            in_pool(2, || {
                compute_stats(
                    &slices,
                    &opts(2, 4096, 1 << 16).options,
                    &|_, _| {},
                    // Chunk 2's release, from the worker that merges it.
                    &|_, r| assert_ne!(r.start, 8192, "a bug in a worker"),
                    &AtomicBool::new(false),
                )
            })
        });
        let _ = tx.send(std::panic::catch_unwind(run).is_err());
    });
    let panicked = rx.recv_timeout(std::time::Duration::from_secs(60));
    assert_eq!(panicked, Ok(true), "the computation hung or did not panic");
}

/// Normal weights whose extremes lie inside the central window on one side (values clipped at
/// 3.3σ above, outliers below): the sampled kernels leave extremes to the tails, and the side
/// without tails is found by reading the tensor again. Exact either way.
#[test]
fn a_sampled_16_bit_tensor_without_tails_on_one_side_has_exact_extremes() {
    let (values, shape) = large_weights();
    let values: Vec<f32> = values
        .iter()
        .map(|&x| if x.is_finite() { x.min(0.066) } else { x })
        .collect();
    for dtype in [DType::BF16, DType::F16] {
        let bytes: Vec<u8> = if dtype == DType::BF16 {
            values
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect()
        } else {
            values
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect()
        };
        let slice = [TensorSlice {
            dtype,
            shape: &shape,
            bytes: &bytes,
        }];
        let r = reference(dtype, &shape, &bytes);
        for threads in [1, 2] {
            let s = &run(&slice, &sampled_opts(threads, 4 << 20, Some(1 << 22)))[0];
            assert_eq!(s.distribution, Distribution::Sampled, "{dtype}");
            assert_eq!(
                (s.min, s.max),
                (r.finite.first().copied(), r.finite.last().copied()),
                "{dtype}, {threads} threads"
            );
            assert_eq!(s.outliers, 100, "{dtype}: the outliers below");
        }
    }
}

/// Most values zero (as in quantised weights whose median block value is 0): the median is 0,
/// not a subnormal interpolated across the bucket of ±0, bucketed or sampled, F32 or dequantised.
#[test]
fn the_median_of_a_tensor_of_mostly_zeros_is_zero() {
    let mut rng = Rng(11);
    let values: Vec<f32> = (0..1 << 20)
        .map(|i| {
            if i % 5 < 3 {
                0.0
            } else {
                (0.02 * rng.normal()) as f32
            }
        })
        .collect();
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let shape = [1u64 << 20];
    let slice = [TensorSlice {
        dtype: DType::F32,
        shape: &shape,
        bytes: &bytes,
    }];
    for setup in [
        opts(2, 1 << 20, 1 << 16),
        sampled_opts(2, 1 << 20, Some(1 << 16)),
    ] {
        let s = &run(&slice, &setup)[0];
        assert_eq!(s.p50, Some(0.0), "{:?}", s.distribution);
        assert_eq!(s.zeros, values.iter().filter(|&&x| x == 0.0).count() as u64);
    }
}

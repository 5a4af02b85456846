//! Parameter statistics: mergeable accumulators, the parallel engine and health findings.
//!
//! [`StatsRun`] measures a model's tensors in the background on the caller's rayon pool and
//! delivers each tensor's [`TensorStats`] and findings as it finishes (the TUI's way in);
//! [`compute_model_stats`] is the same run waited for (the `stats` command's). Underneath,
//! [`compute_stats`] reads tensors' bytes once, in fixed-size chunks spread over the pool's
//! threads; [`tensor_findings`] and [`cross_tensor_findings`] turn statistics into
//! [`Finding`](crate::finding::Finding)s: warnings and errors only for what is likely wrong
//! (non-finite values, zero or constant matrices, untrained norms, copies that are not tied
//! weights, a matrix unlike the same tensor in the other layers: `siblings`), what trained
//! networks normally show (heavy tails) as one piece of information for the model.
//!
//! # How each statistic is computed
//!
//! The engine picks one of four methods per tensor, from its dtype and size:
//!
//! - **Sampled** (F32, BF16 and F16 tensors of more than [`StatsOptions::sample_above`] values,
//!   2^22 by default, of a type whose sampled kernel measured faster on this CPU than counting
//!   every value: see [`Sampling`] and `choice`). An AVX-512, AVX2 or portable kernel sums every value into f64
//!   lanes with min, max and zeros, as the bucketed kernel does, but counts only the values outside
//!   a central window (exactly, under their 16-bit keys) and a deterministic one-in-sixteen sample of
//!   those inside it: about two table increments per sixteen values instead of sixteen, which
//!   lets the loop run near memory speed. Mean, std, L2, extremes and counts stay exact;
//!   percentiles and histogram bins of central values are estimates. See `sample` for the
//!   window, the sample and the error bounds.
//!
//! - **Codes** (every type of at most 16 bits: BF16, F16, the F8/F6/F4 formats, 8/16-bit integers,
//!   BOOL). Each value is one of at most 65,536 bit patterns, so the engine only counts patterns
//!   (a table lookup and an increment per value, no floating point). Every statistic then follows
//!   *exactly* from the counts: mean, std and L2 from Σ count·value in f64 with compensated
//!   summation; the percentiles are numpy's order statistics; the histogram and the outlier count
//!   are exact.
//! - **Values** (F32, F64, 32/64-bit integers and C64 tensors of at most
//!   [`StatsOptions::exact_limit`] values). The finite values are kept and sorted: everything is
//!   exact, as numpy computes it.
//! - **Buckets** (larger F32 and wide tensors). An AVX-512 or AVX2 kernel (scalar elsewhere) folds
//!   `x - shift` and its square into f64 lanes per block of 4096 values, the shift being one value
//!   per tensor near its centre (the median of its first block); blocks and chunks merge with
//!   Chan's formula. Count, mean, std, min, max, L2, zeros, NaN and Inf are exact up to f64
//!   rounding (about 1e-15 relative, measured in `tests/stats_engine.rs`, even for |mean| ≫ std).
//!   Each value is also counted under its top 16 bits as f32 (its bf16 truncation): buckets 2^-7
//!   wide relative to the value. Percentiles interpolate inside a bucket (error below one bucket
//!   width, 0.8% of the value; the extreme order statistics are exact), the histogram puts a
//!   bucket in the bin of its midpoint, and outliers count buckets beyond the threshold, splitting
//!   a straddling bucket in proportion. `TensorStats::exact_distribution` is false for these
//!   tensors.
//!
//! ggml block quantisations (GGUF `Q4_K`, `Q8_0`, `IQ4_XS`, …) are dequantised a few thousand values
//! at a time to f32 by `decode::ggml` (bit-identical to gguf-py). Up to `exact_limit` values they
//! take the **Values** path (exact); above it the dequantised f32 runs go through the F32 kernel of
//! the **Buckets** path, and above `sample_above` through the **Sampled** one. Their zeros are not
//! visible in the stored bytes, so dead rows and columns are not checked on them. A type without a
//! decoder is not read: [`TensorStats::not_decoded`] and a `not_decoded` finding.
//!
//! numpy computes std in two passes around its rounded mean; where f64 cannot hold the spread
//! (64-bit integers near 2^64, whose f64 steps are 2048) the one-pass shifted sums here are the
//! more accurate of the two and can differ from numpy by more than 1e-7.
//!
//! # Reproducibility and memory
//!
//! A tensor is cut into pieces at offsets that depend only on the tensor and `chunk_bytes`;
//! partial results merge in piece order, so the output is bit-identical whatever the number of
//! threads, and whatever other tensors are measured with it (a [`StatsRun`] measures small batches
//! in any order, the `stats` command gets the same bits). Code counts are integers and merge in any
//! order. Memory stays bounded: per worker a 256 KiB count table (1 MiB more when one code
//! crowds it), a buffer of 4096 decoded values, and at most a few chunks' partial results waiting
//! to be merged; a tensor's bytes are never copied. `release` is called for each finished piece
//! so the caller can drop the pages it has read.
//!
//! # Streaming
//!
//! [`StatsRun::start`] returns at once; a coordinator thread feeds the queue of requested tensors
//! to the engine in batches of about [`StatsOptions::batch_bytes`], on the caller's pool (one per
//! process, [`thread_pool`]). Each tensor arrives as a [`StatsEvent::Tensor`] with its own findings
//! the moment its last piece is merged; [`StatsEvent::Finished`] brings the findings across
//! tensors (duplicates). [`StatsRun::prioritize`] moves tensors to the front of the queue,
//! [`StatsRun::cancel`] stops at the next chunk and keeps what was delivered,
//! [`StatsRun::progress`] reads counters the workers add to.
//!
//! # Speed
//!
//! Which kernel (scalar reference, portable, AVX2, AVX-512) and, for large tensors, which method
//! (sampled or every value counted) run is measured once per process on the machine itself, on
//! bytes of the run not yet in cache (`choice`): kernels do not rank the same on every CPU.
//! `GLASSBOX_KERNEL` and `GLASSBOX_METHOD` force them for benchmarking. Every loop that streams a
//! tensor's bytes prefetches 4 KiB ahead (`prefetch`): x86 hardware prefetchers stop at page
//! boundaries, and on an Intel Xeon that alone took the sampled BF16 run from 0.49 s to 0.16 s.
//!
//! Counting every value costs one table increment per value (16-bit codes) or one increment plus
//! the AVX-512 (or AVX2) moment lanes (F32): about 7-8 GB/s of BF16 and 11-12 GB/s of F32 per core
//! on the 2-core Zen 4 machines here, bound by the increments' memory operations (see `kernel` and
//! `benches/stats.rs`). The sampled method makes an eighth of the increments and runs at 15-20
//! GB/s of BF16 and 20-30 GB/s of F32 per core, close to the memory bandwidth; `--exact` (no
//! sampling) trades that for exact distributions. Whole-process figures against the read limit on
//! the Intel Xeon are in the README (Performance).

mod accum;
pub mod aggregate;
mod choice;
mod engine;
mod findings;
mod finish;
mod isa;
mod kernel;
mod lanes;
pub(crate) mod opaque;
mod plan;
mod prefetch;
mod run;
mod sample;
pub(crate) mod siblings;

pub(crate) use choice::parse_kernel;
pub use engine::compute_stats;
pub use findings::{cross_tensor_findings, find_anomalies, tensor_findings};
pub(crate) use isa::Isa;
pub use run::{BATCH_BYTES, Progress, StatsEvent, StatsRun, compute_model_stats, thread_pool};

use crate::dtype::DType;

/// The bytes of one tensor, as the model layer hands them to the engine.
#[derive(Debug, Clone, Copy)]
pub struct TensorSlice<'a> {
    pub dtype: DType,
    /// Row-major, outermost first. Used for the row/column checks of 2-D tensors.
    pub shape: &'a [u64],
    /// Exactly the tensor's data. The element count is taken from the bytes (whole blocks; a
    /// trailing partial block is ignored), not from the shape.
    pub bytes: &'a [u8],
}

/// What the engine computes and how it cuts the work. The threads are the caller's: the rayon pool
/// it runs on ([`thread_pool`], one per process).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsOptions {
    /// Bytes per unit of work (default 4 MiB). Results depend on it (in the last bits of mean and
    /// std for bucketed tensors); they never depend on the thread count.
    pub chunk_bytes: usize,
    /// Bins of [`TensorStats::histogram`] (default 64).
    pub histogram_bins: usize,
    /// A finite value is an outlier when `|x - mean| > outlier_sigmas · std` (default 6: a normal
    /// distribution puts 2 in a billion values there, so any count is notable).
    pub outlier_sigmas: f64,
    /// F32 and wide tensors of at most this many values keep their values for exact percentiles
    /// (default 65,536: 512 KiB per tensor in flight).
    pub exact_limit: u64,
    /// F32, BF16 and F16 tensors of more than this many values take the sampled method (exact
    /// moments and tails, a one-in-sixteen sample of the central values for the distribution; default
    /// 2^22 values). `None` counts every value (`glassbox stats --exact`).
    pub sample_above: Option<u64>,
    /// Bytes of tensor data a [`StatsRun`] measures between two looks at its queue (default
    /// [`BATCH_BYTES`], 256 MiB; a larger tensor is a batch of its own). Smaller batches let
    /// [`StatsRun::prioritize`] act sooner; results never depend on it.
    pub batch_bytes: u64,
    /// Whether a tensor above `sample_above` is sampled always, or only for the types whose
    /// sampled kernel measured faster on this CPU than counting every value (the default).
    pub sampling: Sampling,
}

/// How the engine decides to sample a tensor larger than [`StatsOptions::sample_above`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// Sample only the types whose sampled kernel measured clearly faster on this CPU than
    /// counting every value, so that a tensor is never measured slower than `--exact` would
    /// measure it; `GLASSBOX_METHOD` (`sampled`, `exact`) forces the method for benchmarking.
    /// Which method a tensor got is in [`TensorStats::distribution`].
    #[default]
    Measured,
    /// Always sample (results independent of the CPU and the environment: for tests).
    Always,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            chunk_bytes: 4 << 20,
            histogram_bins: 64,
            outlier_sigmas: 6.0,
            exact_limit: 1 << 16,
            sample_above: Some(1 << 22),
            batch_bytes: BATCH_BYTES,
            sampling: Sampling::Measured,
        }
    }
}

/// The computation was cancelled through its flag before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("statistics computation cancelled")]
pub struct Cancelled;

/// Statistics of one tensor. Floating-point fields are `None` (JSON `null`) when the tensor has no
/// finite value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TensorStats {
    /// Values in the tensor (its elements; twice the elements for `C64`, whose real and imaginary
    /// parts are counted as separate values).
    pub count: u64,
    /// Finite values (`count - nan - inf`): the population of every statistic below.
    pub finite: u64,
    /// Arithmetic mean of the finite values.
    pub mean: Option<f64>,
    /// Population standard deviation (numpy's default, `ddof = 0`) of the finite values.
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Largest absolute finite value.
    pub abs_max: Option<f64>,
    /// `sqrt(Σ x²)` over the finite values.
    pub l2_norm: Option<f64>,
    /// Values equal to zero (negative zero included).
    pub zeros: u64,
    pub nan: u64,
    /// Values that are +inf or -inf.
    pub inf: u64,
    /// Percentiles of the finite values with numpy's default (linear) interpolation.
    pub p1: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// Finite values over `[min, max]` in equal bins.
    pub histogram: Option<Histogram>,
    /// Finite values with `|x - mean| > outlier_sigmas · std`.
    pub outliers: u64,
    /// The threshold used for `outliers`, in standard deviations.
    pub outlier_sigmas: f64,
    /// Whether `p1`/`p50`/`p99`, `histogram` and `outliers` are exact (`distribution` says how
    /// they were derived otherwise; see the module documentation for the bounds).
    pub exact_distribution: bool,
    /// How `p1`/`p50`/`p99`, `histogram` and `outliers` were derived.
    pub distribution: Distribution,
    /// For a matrix (2-D, at least 2×2): rows whose values are all zero.
    pub dead_rows: Option<u64>,
    /// For a matrix (2-D, at least 2×2): columns whose values are all zero.
    pub dead_columns: Option<u64>,
}

impl TensorStats {
    /// The statistics of a tensor whose values are not decoded (a ggml type without a kernel, an
    /// unknown GGUF type): `count` values, nothing measured. [`find_anomalies`] reports such
    /// tensors as `not_decoded`.
    pub fn not_decoded(count: u64, outlier_sigmas: f64) -> TensorStats {
        TensorStats {
            count,
            finite: 0,
            mean: None,
            std: None,
            min: None,
            max: None,
            abs_max: None,
            l2_norm: None,
            zeros: 0,
            nan: 0,
            inf: 0,
            p1: None,
            p50: None,
            p99: None,
            histogram: None,
            outliers: 0,
            outlier_sigmas,
            exact_distribution: false,
            distribution: Distribution::None,
            dead_rows: None,
            dead_columns: None,
        }
    }
}

/// How a tensor's distribution (percentiles, histogram, outliers) was derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// From every value: as numpy computes it.
    Exact,
    /// From every value's 16-bit bucket (its f32's top 16 bits: 2^-7 relative wide).
    Buckets,
    /// Exact buckets beyond a central window, a deterministic one-in-sixteen sample inside it.
    Sampled,
    /// Not measured (the values are not decoded).
    None,
}

/// Counts of values in equal-width bins over `[lo, hi]`.
///
/// Bin `i` holds values in `[lo + i·w, lo + (i+1)·w)`, the last bin also `hi`, as
/// `numpy.histogram` bins them. When all finite values are equal, `lo == hi` and bin 0 holds them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

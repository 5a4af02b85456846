//! Which kernel and which method the engine uses on this CPU: measured once per process, not
//! assumed from the instruction sets it reports.
//!
//! A kernel tuned on one CPU can be slow on another: the sampled BF16 kernel, fastest on Zen 4, was
//! 1.7× slower than plain code counting (`--exact`) on an Intel Xeon with AVX-512 (2 vCPU) until
//! it prefetched across pages (`prefetch`); there its AVX-512 version is now the faster method and
//! its AVX2 version still the slower one (2 GiB BF16 in the page cache, whole process, loaded
//! machine: AVX-512 sampled 0.56 s of CPU, codes 0.62 s, AVX2 sampled 0.75 s; the calibration
//! picked accordingly in every run). So the engine times its candidates:
//!
//! - **Method and kernel of large F32, BF16 and F16 tensors** ([`sampling`]): the first time the
//!   process meets a large tensor of a type, the start of that tensor is read by every candidate
//!   — the sampled method with each kernel the CPU runs, and counting every value (exact codes for
//!   BF16/F16, buckets for F32) — on all the pool's workers at once, best of three, each timing on
//!   a region of its own (at most [`CALIBRATION_BYTES`], 2 MiB) that no timing has read before:
//!   the run streams every byte from memory once, and timed on data in cache the sampled BF16
//!   kernel measured *faster* than counting on the Xeon and ran twice as slow in the run.
//!   Sampling is kept only where it took less than [`SAMPLED_MARGIN`] of the time of counting
//!   every value: counting gives an exact distribution, so a tie goes to it, and a large tensor is
//!   never measured slower than `--exact` would measure it (up to the noise of the calibration).
//!   `TensorStats::distribution` says which method a tensor got; on a machine where the two are
//!   close, two runs may choose differently (both are correct; the sampled one states its
//!   bounds).
//! - **Kernel of the bucketed F32 method** ([`buckets_kernel`]): timed on a synthetic block in
//!   cache. Every x86 kernel agrees bit for bit with the scalar reference, so this changes speed
//!   only.
//!
//! Between kernels (which agree bit for bit), the most capable one is kept unless another took
//! under [`KERNEL_MARGIN`] of its time: timings of a few milliseconds on a busy machine do not
//! separate kernels closer than that, and a coin toss between them cost 14% on Zen 4.
//!
//! The portable kernel (`Isa::Portable`, vectorised by the compiler) competes only on CPUs without
//! an explicit SIMD kernel (ARM, old x86), since its sums of squares differ in the last bits.
//!
//! Two environment variables force a choice, for benchmarking and comparing kernels:
//! `GLASSBOX_KERNEL` = `scalar` | `portable` | `avx2` | `avx512` (an instruction set the CPU lacks
//! falls back to the measured choice), and `GLASSBOX_METHOD` = `sampled` | `exact` | `auto`.
//! Other values are ignored (the measured choice applies): a benchmark setting never makes a run
//! fail.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::accum;
use super::isa::Isa;
use super::kernel::KeyTable;
use super::sample::{self, Source};

/// Sampling is chosen for a type only when it took less than this fraction of the time of counting
/// every value: below that, timing noise could pick the method with the worse output.
pub(crate) const SAMPLED_MARGIN: f64 = 0.9;

/// Values of the synthetic block the bucketed kernel is timed on: large enough that per-block
/// overheads are a small part, small enough (512 KiB of F32) to take well under a millisecond.
const CALIBRATION_VALUES: usize = 1 << 17;

/// Timings per candidate (the best is kept: the others were disturbed).
const REPEATS: usize = 3;

/// Whether large tensors of one type are sampled, and with which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceChoice {
    /// Whether large tensors of this type are sampled (otherwise every value is counted).
    pub sampled: bool,
    /// The kernel of the sampled method for this type.
    pub isa: Isa,
}

/// The engine's choices for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The kernel of the bucketed F32 method (moments and every value's key).
    pub buckets: Isa,
    /// Per [`Source`]: F32, BF16, F16.
    pub sources: [SourceChoice; 3],
}

impl Choice {
    /// The most capable kernels, sampling every type: what the parts of a run that no tensor needs
    /// hold (nothing is measured for them).
    pub fn unmeasured() -> Choice {
        let isa = *Isa::available().last().unwrap_or(&Isa::Portable);
        Choice {
            buckets: isa,
            sources: [SourceChoice { sampled: true, isa }; 3],
        }
    }

    pub fn of(&self, source: Source) -> SourceChoice {
        self.sources[source_index(source)]
    }

    pub fn set(&mut self, source: Source, choice: SourceChoice) {
        self.sources[source_index(source)] = choice;
    }
}

fn source_index(source: Source) -> usize {
    match source {
        Source::F32 => 0,
        Source::BF16 => 1,
        Source::F16 => 2,
    }
}

/// A method forced by `GLASSBOX_METHOD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForcedMethod {
    Sampled,
    Exact,
}

/// The kernel `GLASSBOX_KERNEL` names, if it names one (whether the CPU runs it is checked later).
pub(crate) fn parse_kernel(name: &str) -> Option<Isa> {
    match name.trim().to_ascii_lowercase().as_str() {
        "scalar" => Some(Isa::Scalar),
        "portable" => Some(Isa::Portable),
        #[cfg(target_arch = "x86_64")]
        "avx2" => Some(Isa::Avx2),
        #[cfg(target_arch = "x86_64")]
        "avx512" => Some(Isa::Avx512),
        _ => None,
    }
}

/// The method `GLASSBOX_METHOD` names (`auto` and anything else: none).
pub(crate) fn parse_method(name: &str) -> Option<ForcedMethod> {
    match name.trim().to_ascii_lowercase().as_str() {
        "sampled" => Some(ForcedMethod::Sampled),
        "exact" => Some(ForcedMethod::Exact),
        _ => None,
    }
}

/// The settings of the environment, read once.
fn forced() -> (Option<Isa>, Option<ForcedMethod>) {
    static FORCED: OnceLock<(Option<Isa>, Option<ForcedMethod>)> = OnceLock::new();
    *FORCED.get_or_init(|| {
        let kernel = std::env::var("GLASSBOX_KERNEL")
            .ok()
            .and_then(|k| parse_kernel(&k))
            .filter(|k| Isa::available().contains(k));
        let method = std::env::var("GLASSBOX_METHOD")
            .ok()
            .and_then(|m| parse_method(&m));
        (kernel, method)
    })
}

/// The kernel of the bucketed F32 method for this process: forced, or the one [`fastest`] picks
/// on a synthetic block in cache (the candidates agree bit for bit, so only speed is at stake).
pub(crate) fn buckets_kernel() -> Isa {
    static KERNEL: OnceLock<Isa> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        let (kernel, _) = forced();
        let bytes = encode(Source::F32, &calibration_values());
        let mut table = KeyTable::new();
        fastest(&candidates(kernel, &Isa::available()), &mut |isa| {
            best_of(|| {
                std::hint::black_box(accum::summarise_f32(isa, &bytes, 0.0, &mut table));
            })
        })
    })
}

/// Whether large tensors of `source` are sampled, and with which kernel, for this process: forced,
/// or measured on `bytes` (the first large tensor of that type the process meets) with every
/// worker of the current pool at once, each timing on bytes no candidate has read, as the run
/// will read them (see [`timings`]).
pub(crate) fn sampling(source: Source, bytes: &[u8]) -> SourceChoice {
    static CHOICES: [OnceLock<SourceChoice>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    // Measured outside the cell: the measurement runs on the pool, whose workers may meanwhile
    // start another run that asks for the same choice (the first to finish sets it).
    let cell = &CHOICES[source_index(source)];
    if let Some(choice) = cell.get() {
        return *choice;
    }
    let measured = {
        let (kernel, method) = forced();
        let available = Isa::available();
        let wanted = to_time(kernel, method, &available);
        let times = timings(source, bytes, &wanted);
        decide(kernel, method, &available, &mut |c| {
            wanted
                .iter()
                .position(|&w| w == c)
                .map_or(Duration::MAX, |i| times[i])
        })
    };
    *cell.get_or_init(|| measured)
}

/// The candidates [`decide`] times for these settings, in the order it asks for them.
pub(crate) fn to_time(
    kernel: Option<Isa>,
    method: Option<ForcedMethod>,
    available: &[Isa],
) -> Vec<Candidate> {
    let kernels = candidates(kernel, available);
    let sampled = kernels.iter().map(|&k| Candidate::Sampled(k));
    match method {
        Some(ForcedMethod::Exact) => Vec::new(),
        Some(ForcedMethod::Sampled) if kernels.len() == 1 => Vec::new(),
        Some(ForcedMethod::Sampled) => sampled.collect(),
        None => sampled.chain([Candidate::Exact]).collect(),
    }
}

/// The best of [`REPEATS`] timings of each of `wanted` over `source` values of `bytes`.
///
/// Timed on data in cache, the sampled BF16 kernel once measured faster than counting every value
/// on an Intel Xeon and ran twice as slow in the real run, which streams every byte from memory
/// once: what a kernel costs there is how well it keeps memory busy (its prefetch, its loads), not
/// its arithmetic. So each timing reads bytes of its own that no timing before it has read: the
/// start of `bytes` is cut into one region per timing (at most [`CALIBRATION_BYTES`] each, fewer
/// for a small tensor), taken in turn by the candidates, round after round, so that a candidate
/// never meets data another one brought into the cache, and a disturbance (another process) costs
/// one timing, not one candidate. The pages are mapped first (as the engine maps a piece before
/// reading it), so that page faults, the same for every candidate, are not timed.
fn timings(source: Source, bytes: &[u8], wanted: &[Candidate]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; wanted.len()];
    if wanted.is_empty() {
        return best;
    }
    let width = source.width();
    let regions = wanted.len() * REPEATS;
    let region = (bytes.len() / regions).min(CALIBRATION_BYTES) / 64 * 64;
    let span = &bytes[..region * regions];
    let touched = span
        .par_chunks(4096)
        .map(|c| c[0])
        .reduce(|| 0, |a, b| a ^ b);
    std::hint::black_box(touched);
    let probed = sample::window(source, bytes);
    let workers: Vec<Mutex<(KeyTable, Vec<u8>)>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new((KeyTable::new(), Vec::new())))
        .collect();
    for (r, part) in span.chunks_exact(region.max(1)).enumerate() {
        let i = r % wanted.len();
        let first = (r * region / width) as u64;
        let time = time_in_parallel(
            part,
            first,
            width,
            &workers,
            |part, first, table, scratch| match wanted[i] {
                Candidate::Sampled(isa) => {
                    std::hint::black_box(sample::summarise(
                        isa,
                        source,
                        part,
                        first,
                        probed.shift,
                        &probed.window,
                        table,
                        scratch,
                    ));
                }
                Candidate::Exact => match source {
                    Source::F32 => {
                        std::hint::black_box(accum::summarise_f32(
                            buckets_kernel(),
                            part,
                            0.0,
                            table,
                        ));
                    }
                    Source::BF16 | Source::F16 => table.count_codes16(part),
                },
            },
        );
        best[i] = best[i].min(time);
    }
    for w in workers {
        let (mut table, _) = w.into_inner().unwrap_or_else(|e| e.into_inner());
        std::hint::black_box(table.drain());
    }
    best
}

/// Bytes of a tensor each timing of the sampled method's calibration reads: enough for every
/// worker to stream for a tenth of a millisecond, little enough that the calibration (three
/// candidates, three rounds: at most 18 MiB of the tensor, read cold once, then read again by the
/// run) costs about 1% of a gigabyte-sized run and nothing noticeable on a small one. Three rounds
/// of 4 MiB cost 5% of a 2 GiB BF16 run on an Intel Xeon (Granite Rapids class, 2 vCPU); two
/// rounds of 2 MiB chose counting over the AVX-512 sampled kernel in 1 of 15 runs there (25%
/// slower), three rounds of 2 MiB chose the sampled kernel in 20 of 20 for BF16 (0.57-0.83 of the
/// time of counting) and in 12 of 12 for F32 (0.52-0.63).
const CALIBRATION_BYTES: usize = 2 << 20;

/// A candidate for one type's large tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// The sampled method with this kernel.
    Sampled(Isa),
    /// Counting every value (codes for BF16/F16, buckets for F32 with their own kernel).
    Exact,
}

/// The kernels that compete when none is forced. The plain scalar reference only runs when
/// forced: the portable kernel computes the same statistics (within the bounds its tests state)
/// and lets the compiler vectorise. Where an explicit SIMD kernel exists, only those compete: they
/// agree bit for bit with each other, so the measured kernel never changes a result.
fn candidates(kernel: Option<Isa>, available: &[Isa]) -> Vec<Isa> {
    let simd: Vec<Isa> = available
        .iter()
        .copied()
        .filter(|&k| !matches!(k, Isa::Scalar | Isa::Portable))
        .collect();
    match kernel {
        Some(k) => vec![k],
        None if simd.is_empty() => vec![Isa::Portable],
        None => simd,
    }
}

/// The kernel chosen among `candidates`, each timed: the most capable (the last:
/// `Isa::available` lists them slowest first) unless another took under [`KERNEL_MARGIN`] of its
/// time; with its time.
fn fastest_timed(candidates: &[Isa], time: &mut dyn FnMut(Isa) -> Duration) -> (Isa, Duration) {
    let timed: Vec<(Isa, Duration)> = candidates.iter().map(|&k| (k, time(k))).collect();
    let Some(&top) = timed.last() else {
        return (Isa::Portable, Duration::MAX);
    };
    let best = timed.iter().copied().min_by_key(|&(_, t)| t).unwrap_or(top);
    if best.1.as_secs_f64() < KERNEL_MARGIN * top.1.as_secs_f64() {
        best
    } else {
        top
    }
}

/// The kernel chosen among `candidates` (see [`fastest_timed`]; a single one is not timed).
fn fastest(candidates: &[Isa], time: &mut dyn FnMut(Isa) -> Duration) -> Isa {
    if let [only] = candidates {
        return *only;
    }
    fastest_timed(candidates, time).0
}

/// A kernel other than the most capable one is chosen only when it took less than this fraction
/// of the most capable one's time. The kernels agree bit for bit, so only speed is at stake, and
/// the timings are a few milliseconds each: on the AMD EPYC (Zen 4) here, on a busy machine, the
/// calibration picked AVX2 for F32 in about half the runs although the whole run with AVX-512 was
/// 14% faster (0.66 s against 0.76 s, load 7). A kernel that is really slower on some CPU (a
/// clock that drops under AVX-512) still loses by more than this margin.
pub(crate) const KERNEL_MARGIN: f64 = 0.9;

/// One type's choice from the forced settings and the `time` of each candidate (measured in a
/// run, a table in the tests). Only what the settings leave open is timed.
pub(crate) fn decide(
    kernel: Option<Isa>,
    method: Option<ForcedMethod>,
    available: &[Isa],
    time: &mut dyn FnMut(Candidate) -> Duration,
) -> SourceChoice {
    let kernels = candidates(kernel, available);
    match method {
        Some(ForcedMethod::Exact) => SourceChoice {
            sampled: false,
            isa: kernels[0],
        },
        Some(ForcedMethod::Sampled) => SourceChoice {
            sampled: true,
            isa: fastest(&kernels, &mut |k| time(Candidate::Sampled(k))),
        },
        None => {
            let (isa, sampled) = fastest_timed(&kernels, &mut |k| time(Candidate::Sampled(k)));
            let exact = time(Candidate::Exact);
            SourceChoice {
                sampled: sampled.as_secs_f64() < SAMPLED_MARGIN * exact.as_secs_f64(),
                isa,
            }
        }
    }
}

/// The best of [`REPEATS`] timings of `f`.
fn best_of(mut f: impl FnMut()) -> Duration {
    (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or(Duration::MAX)
}

/// The time of `f` over `bytes` (whose first value is value `first` of the tensor) cut into 512
/// KiB parts spread over the current pool (`f` gets a part, its first value's index, and the
/// count table and scratch buffer of its worker, one of `workers`).
fn time_in_parallel(
    bytes: &[u8],
    first: u64,
    width: usize,
    workers: &[Mutex<(KeyTable, Vec<u8>)>],
    f: impl Fn(&[u8], u64, &mut KeyTable, &mut Vec<u8>) + Sync,
) -> Duration {
    const PART: usize = 512 << 10;
    let start = Instant::now();
    bytes.par_chunks(PART).enumerate().for_each(|(i, part)| {
        let worker = rayon::current_thread_index().unwrap_or(0) % workers.len();
        let mut guard = workers[worker].lock().unwrap_or_else(|e| e.into_inner());
        let (table, scratch) = &mut *guard;
        f(part, first + (i * PART / width) as u64, table, scratch);
    });
    start.elapsed()
}

/// Synthetic trained-like weights: a smooth bell (sum of four uniforms) of std 0.02, with one
/// value in 4096 ten times larger, as heavy tails put there.
fn calibration_values() -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..CALIBRATION_VALUES)
        .map(|i| {
            let bell = (uniform() + uniform() + uniform() + uniform()) * 0.02 * 1.732;
            (if i % 4096 == 17 { bell * 10.0 } else { bell }) as f32
        })
        .collect()
}

fn encode(source: Source, values: &[f32]) -> Vec<u8> {
    match source {
        Source::F32 => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Source::BF16 => values
            .iter()
            .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
            .collect(),
        Source::F16 => values
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    /// Timings as on the Xeon of issue 13 for BF16: the sampled kernels are slower than counting.
    fn xeon_bf16(c: Candidate) -> Duration {
        match c {
            Candidate::Sampled(Isa::Portable) => ms(40),
            Candidate::Sampled(_) => ms(9),
            Candidate::Exact => ms(6),
        }
    }

    #[test]
    fn sampling_is_kept_only_where_it_measured_faster() {
        let portable_only = [Isa::Scalar, Isa::Portable];
        let c = decide(None, None, &portable_only, &mut xeon_bf16);
        assert_eq!(
            c,
            SourceChoice {
                sampled: false,
                isa: Isa::Portable
            }
        );
        let mut f32_pays = |c: Candidate| match c {
            Candidate::Sampled(_) => ms(30),
            Candidate::Exact => ms(40),
        };
        assert!(decide(None, None, &portable_only, &mut f32_pays).sampled);
    }

    #[test]
    fn a_tie_goes_to_counting_every_value() {
        let mut tie = |c: Candidate| match c {
            Candidate::Sampled(..) => ms(95),
            Candidate::Exact => ms(100),
        };
        assert!(!decide(None, None, &[Isa::Scalar, Isa::Portable], &mut tie).sampled);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_kernels_compete_without_the_portable_one() {
        let available = [Isa::Scalar, Isa::Portable, Isa::Avx2, Isa::Avx512];
        assert_eq!(candidates(None, &available), vec![Isa::Avx2, Isa::Avx512]);
        let mut timed = Vec::new();
        let c = decide(None, None, &available, &mut |c| {
            timed.push(c);
            match c {
                Candidate::Sampled(Isa::Avx2) => ms(5),
                _ => ms(20),
            }
        });
        assert_eq!(
            c,
            SourceChoice {
                sampled: true,
                isa: Isa::Avx2
            }
        );
        assert_eq!(
            timed,
            [
                Candidate::Sampled(Isa::Avx2),
                Candidate::Sampled(Isa::Avx512),
                Candidate::Exact
            ]
        );
    }

    /// Bit-identical kernels timed close together: the most capable one is kept unless another
    /// took under `KERNEL_MARGIN` of its time.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_close_call_between_kernels_goes_to_the_most_capable() {
        let available = [Isa::Scalar, Isa::Portable, Isa::Avx2, Isa::Avx512];
        for (avx2, avx512, want) in [
            (19, 20, Isa::Avx512),
            (17, 20, Isa::Avx2),
            (25, 20, Isa::Avx512),
        ] {
            let mut time = |c: Candidate| match c {
                Candidate::Sampled(Isa::Avx2) => ms(avx2),
                Candidate::Sampled(_) => ms(avx512),
                Candidate::Exact => ms(100),
            };
            let c = decide(None, None, &available, &mut time);
            assert_eq!(
                c,
                SourceChoice {
                    sampled: true,
                    isa: want
                },
                "{avx2} {avx512}"
            );
            let forced = decide(None, Some(ForcedMethod::Sampled), &available, &mut time);
            assert_eq!(forced.isa, want, "{avx2} {avx512}");
        }
        // Sampling is weighed with the chosen kernel's time.
        let mut time = |c: Candidate| match c {
            Candidate::Sampled(Isa::Avx2) => ms(85),
            Candidate::Sampled(_) => ms(92),
            Candidate::Exact => ms(100),
        };
        assert_eq!(
            decide(None, None, &available, &mut time),
            SourceChoice {
                sampled: false,
                isa: Isa::Avx512
            }
        );
    }

    #[test]
    fn the_environment_forces_kernel_and_method_without_timing() {
        let mut never = |c: Candidate| -> Duration { panic!("timed {c:?}") };
        let available = [Isa::Scalar, Isa::Portable];
        let c = decide(
            Some(Isa::Scalar),
            Some(ForcedMethod::Exact),
            &available,
            &mut never,
        );
        assert_eq!(
            c,
            SourceChoice {
                sampled: false,
                isa: Isa::Scalar
            }
        );
        let c = decide(
            Some(Isa::Portable),
            Some(ForcedMethod::Sampled),
            &available,
            &mut never,
        );
        assert_eq!(
            c,
            SourceChoice {
                sampled: true,
                isa: Isa::Portable
            }
        );
    }

    #[test]
    fn the_calibration_times_exactly_what_decide_asks_for() {
        let lists: &[&[Isa]] = &[
            &[Isa::Scalar, Isa::Portable],
            #[cfg(target_arch = "x86_64")]
            &[Isa::Scalar, Isa::Portable, Isa::Avx2, Isa::Avx512],
        ];
        for available in lists {
            for kernel in [None, Some(Isa::Portable)] {
                for method in [None, Some(ForcedMethod::Sampled), Some(ForcedMethod::Exact)] {
                    let mut asked = Vec::new();
                    decide(kernel, method, available, &mut |c| {
                        asked.push(c);
                        ms(1)
                    });
                    let planned = to_time(kernel, method, available);
                    assert_eq!(asked, planned, "{available:?} {kernel:?} {method:?}");
                }
            }
        }
    }

    #[test]
    fn every_candidate_is_timed_on_regions_of_the_tensor() {
        let bytes = encode(Source::BF16, &calibration_values());
        let wanted = [Candidate::Sampled(Isa::Portable), Candidate::Exact];
        let times = timings(Source::BF16, &bytes, &wanted);
        assert_eq!(times.len(), 2);
        assert!(times.iter().all(|&t| t < Duration::MAX), "{times:?}");
        // Too few bytes for a region each: nothing is timed, and nothing is sampled.
        let times = timings(Source::BF16, &bytes[..4], &wanted);
        assert!(times.iter().all(|&t| t == Duration::MAX), "{times:?}");
        assert!(timings(Source::BF16, &bytes, &[]).is_empty());
    }

    #[test]
    fn names_parse_and_unknown_ones_are_ignored() {
        assert_eq!(parse_kernel(" Scalar "), Some(Isa::Scalar));
        assert_eq!(parse_kernel("portable"), Some(Isa::Portable));
        assert_eq!(parse_kernel("neon"), None);
        assert_eq!(parse_method("EXACT"), Some(ForcedMethod::Exact));
        assert_eq!(parse_method("sampled"), Some(ForcedMethod::Sampled));
        assert_eq!(parse_method("auto"), None);
        assert_eq!(parse_method(""), None);
    }

    #[test]
    fn measured_choices_are_kernels_this_cpu_runs() {
        let available = Isa::available();
        assert!(available.contains(&buckets_kernel()));
        let bytes = encode(Source::BF16, &calibration_values());
        let c = sampling(Source::BF16, &bytes);
        assert!(available.contains(&c.isa), "{c:?}");
    }
}

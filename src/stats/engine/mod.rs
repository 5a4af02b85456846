//! The parallel driver: workers claim chunks in order, summarise their pieces, and merge the partial
//! results in chunk order.
//!
//! Each worker is a rayon task looping over an atomic chunk counter. A finished chunk's parts go
//! into a reorder buffer; whoever completes the next chunk in order merges every ready chunk into
//! the per-tensor accumulators, and a tensor whose parts are all in is finished (percentiles,
//! histogram) outside the lock by that worker, which hands it to the caller at once
//! ([`Hooks::finished`]: the streaming run delivers it as an event). A worker does not start a chunk
//! more than a window of chunks ahead of the merge, which bounds the memory held in waiting parts.
//!
//! Code counts of large 16-bit tensors (and the bucket counts of large F32/wide tensors) skip the
//! ordered merge: a worker keeps one count table (`kernel::KeyTable`) for the tensor it is on and
//! hands the counts over when it moves to another tensor or reaches the tensor's last byte. Integer
//! counts merge in any order, and the table is drained once per tensor instead of once per chunk.
//!
//! Here: the plan of a run, the workers' loop and the ordered merge. What one piece's bytes become
//! is in `piece`; the held count tables in `held`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rayon::prelude::*;

use super::accum::{self, ColMask, Columns, KeyCounts, RowSpan, Summary};
use super::choice::{self, Choice};
use super::finish::{Gathered, Keys, finish};
use super::kernel::{BLOCK, KeyTable, Table8};
use super::plan::{self, Chunk};
use super::sample::{self, Source, Window};
use super::{Cancelled, Sampling, StatsOptions, TensorSlice, TensorStats};
use crate::decode::code_bits;
use crate::dtype::DType;
use crate::model::guard;

mod held;
mod piece;

/// 16-bit-code tensors below this many values sort their codes instead of using a count table
/// (draining a 256 KiB table costs about as much as sorting 2048 codes).
const SMALL_SORT: u64 = 2048;

/// How a tensor's values are gathered (see the module documentation of `stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Codes {
        bits: u32,
    },
    Values,
    Buckets,
    Sampled(Source),
    /// Sampled over ggml blocks dequantised to f32.
    SampledGgml,
}

/// What the engine knows about a tensor before reading it.
struct TensorPlan {
    dtype: DType,
    method: Method,
    /// Values in the tensor (elements × values per element).
    values: u64,
    /// Pieces the plan cut it into.
    pieces: usize,
    /// Bytes holding whole blocks.
    bytes: usize,
    /// Rows and columns when the row/column checks apply.
    matrix: Option<(u64, u64)>,
    /// Whether its counts go through a worker-held table rather than the ordered merge.
    held: bool,
    /// The moment shift of a bucketed or sampled tensor (`accum::tensor_shift`,
    /// `sample::window`), read before any piece of it is released.
    shift: f64,
    /// The central window of a sampled tensor.
    window: Window,
}

/// A worker's result for one piece.
struct Part {
    tensor: usize,
    data: PartData,
    zeros: Option<(RowSpan, ColMask)>,
}

enum PartData {
    Counts(Vec<(u32, u64)>),
    /// Counts are in a worker-held table.
    Held,
    Summary(Summary),
    Values {
        values: Vec<f64>,
        nan: u64,
        inf: u64,
    },
}

/// A tensor's merged parts so far.
struct Acc {
    parts: usize,
    /// Values counted through held tables.
    counted: u64,
    counts: KeyCounts,
    summary: Summary,
    values: Vec<f64>,
    nan: u64,
    inf: u64,
    rows: Option<RowSpan>,
    columns: Option<Columns>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            parts: 0,
            counted: 0,
            counts: KeyCounts::new(),
            summary: Summary::default(),
            values: Vec::new(),
            nan: 0,
            inf: 0,
            rows: None,
            columns: None,
        }
    }

    fn complete(&self, plan: &TensorPlan) -> bool {
        self.parts == plan.pieces && (!plan.held || self.counted == plan.values)
    }
}

struct MergeState {
    /// The next chunk to merge.
    next: usize,
    pending: BTreeMap<usize, Vec<Part>>,
    accs: HashMap<usize, Acc>,
}

struct Job<'a> {
    tensors: &'a [TensorSlice<'a>],
    opts: &'a StatsOptions,
    plans: Vec<TensorPlan>,
    chunks: Vec<Chunk>,
    /// The instruction set of every kernel of this computation.
    /// The kernels and, per type, whether large tensors are sampled (see `choice`).
    choice: Choice,
    next_chunk: AtomicUsize,
    window: usize,
    merge: Mutex<MergeState>,
    merged: Condvar,
    /// Tensors finished before any chunk is read (no bytes), delivered when the run starts.
    ready: Vec<(usize, TensorStats)>,
    hooks: &'a Hooks<'a>,
    /// `model::guard::fault_count()` when the job started: a change means a mapped file shrank
    /// under a read (which then read zeros), and the workers stop as if cancelled.
    faults: u64,
}

/// Where the engine reports to while it runs. Every hook is called from worker threads.
pub(super) struct Hooks<'a> {
    /// Bytes just merged (a delta), called outside the merge lock, possibly by two workers at once.
    pub progress: &'a (dyn Fn(u64) + Sync),
    /// `release(tensor, bytes)`: the engine will not read that byte range of tensor `tensor` again
    /// (see [`compute_stats`]). Called one at a time, in chunk order.
    pub release: &'a (dyn Fn(usize, Range<usize>) + Sync),
    /// `finished(tensor, stats)`: one tensor is done. Called outside every lock of the engine, as
    /// soon as the tensor's last part is merged (so in no fixed order), once per tensor.
    pub finished: &'a (dyn Fn(usize, TensorStats) + Sync),
    /// Checked between chunks: once set, the workers stop.
    pub cancel: &'a AtomicBool,
}

/// A worker's reusable buffers.
struct Scratch {
    table: KeyTable,
    /// The tensor whose counts are in `table`, and how many values it has counted.
    held: Option<(usize, u64)>,
    small: Box<Table8>,
    values: Vec<f64>,
    codes: Vec<u8>,
    /// Dequantised ggml values, as little-endian f32 bytes for the F32 kernel.
    dequantised: (Vec<f32>, Vec<u8>),
    /// A sampled block with NaN or Inf, as f32 bytes for the masked F32 kernel.
    widened: Vec<u8>,
}

/// Sets the cancel flag when dropped during a panic.
struct StopAllOnPanic<'a>(&'a AtomicBool);

impl Drop for StopAllOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking worker propagates through the rayon scope; the data is not used after that.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Computes the statistics of every tensor, in parallel on the current rayon pool (run it inside
/// the caller's `ThreadPool::install` to choose the threads; `crate::stats::StatsRun` does).
///
/// - `progress(done, total)` reports bytes merged so far; it is called from worker threads, one
///   call at a time, with `done` increasing.
/// - `release(tensor, bytes)` is called, from worker threads, once the engine will not read that
///   byte range of tensor `tensor` again (per piece, at most `chunk_bytes` long), one call at a
///   time and in file order of the chunks. Before that, from the calling thread, it is called for
///   the few small ranges read to plan sampled tensors (a few KiB at eight places of each; read
///   again later with their pieces), so that their pages do not stay mapped meanwhile.
/// - `cancel` is checked between chunks; once it is set the workers stop and the result is
///   `Err(Cancelled)` (unless every chunk had already been read).
///
/// The result has one entry per tensor, in order, bit-identical for any number of threads. A
/// tensor's statistics depend only on its bytes and the options, not on the other tensors given.
pub fn compute_stats(
    tensors: &[TensorSlice<'_>],
    opts: &StatsOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    release: &(dyn Fn(usize, Range<usize>) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<TensorStats>, Cancelled> {
    let total: u64 = tensors.iter().map(|t| plan::usable_bytes(t) as u64).sum();
    let merged = AtomicU64::new(0);
    // The last `done` reported: deltas arrive from two workers at once, the caller sees a total
    // that only grows.
    let reported = Mutex::new(0u64);
    let results = Mutex::new(vec![None; tensors.len()]);
    let hooks = Hooks {
        progress: &|delta| {
            let done = merged.fetch_add(delta, Ordering::Relaxed) + delta;
            let mut last = lock(&reported);
            if done > *last {
                *last = done;
                progress(done, total);
            }
        },
        release,
        finished: &|t, stats| lock(&results)[t] = Some(stats),
        cancel,
    };
    measure(tensors, opts, &hooks)?;
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| unreachable!("every tensor is finished once all chunks are merged"))
        })
        .collect())
}

/// Measures every tensor on the current rayon pool, delivering each result through `hooks` as it
/// is finished. `Err(Cancelled)` when the cancel flag stopped the workers before the last chunk
/// (the tensors delivered until then are complete and valid).
pub(super) fn measure(
    tensors: &[TensorSlice<'_>],
    opts: &StatsOptions,
    hooks: &Hooks<'_>,
) -> Result<(), Cancelled> {
    Job::new(tensors, opts, hooks).run()
}

impl<'a> Job<'a> {
    fn new(
        tensors: &'a [TensorSlice<'a>],
        opts: &'a StatsOptions,
        hooks: &'a Hooks<'a>,
    ) -> Job<'a> {
        // Taken before the probes below read anything.
        let faults = guard::fault_count();
        let chunk_bytes = opts.chunk_bytes.clamp(1, 1 << 30);
        let (chunks, pieces) = plan::plan(tensors, chunk_bytes);
        let choice = Self::choice(tensors, opts);
        let plans: Vec<TensorPlan> = tensors
            .iter()
            .zip(pieces)
            .map(|(t, pieces)| {
                let bytes = plan::usable_bytes(t);
                let values = plan::value_count(t);
                let large = opts.sample_above.is_some_and(|limit| values > limit);
                let sampled = Source::of(t.dtype).filter(|&source| {
                    large
                        && match opts.sampling {
                            Sampling::Always => true,
                            Sampling::Measured => choice.of(source).sampled,
                        }
                });
                let method = match (sampled, code_bits(t.dtype)) {
                    (Some(source), _) => Method::Sampled(source),
                    (None, _) if large && matches!(t.dtype, DType::Ggml(_)) => Method::SampledGgml,
                    (None, Some(bits)) => Method::Codes { bits },
                    (None, None) if values <= opts.exact_limit => Method::Values,
                    (None, None) => Method::Buckets,
                };
                let held = match method {
                    Method::Codes { bits } => bits == 16 && values >= SMALL_SORT,
                    Method::Buckets | Method::Sampled(_) | Method::SampledGgml => true,
                    Method::Values => false,
                };
                TensorPlan {
                    dtype: t.dtype,
                    method,
                    values,
                    pieces,
                    bytes,
                    matrix: plan::matrix(t),
                    held,
                    shift: 0.0,
                    window: Window::covering(0.0, 0.0),
                }
            })
            .collect();
        let mut plans = plans;
        let probed: Vec<Vec<Range<usize>>> = plans
            .par_iter_mut()
            .zip(tensors)
            .map(|(p, t)| {
                let probed = match (p.method, p.dtype) {
                    (Method::Buckets, _) => {
                        p.shift = accum::tensor_shift(p.dtype, t.bytes);
                        return Vec::new();
                    }
                    (Method::Sampled(source), _) => sample::window(source, t.bytes),
                    (Method::SampledGgml, DType::Ggml(ty)) => {
                        sample::window_ggml(ty, &t.bytes[..p.bytes])
                    }
                    _ => return Vec::new(),
                };
                (p.shift, p.window) = (probed.shift, probed.window);
                probed.ranges
            })
            .collect();
        // The probes are spread over each tensor: their pages would stay mapped until the engine
        // reaches them (half a megabyte per tensor), so they are released now.
        for (t, ranges) in probed.into_iter().enumerate() {
            for r in ranges.into_iter().filter(|r| !r.is_empty()) {
                (hooks.release)(t, r);
            }
        }
        let ready = plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pieces == 0)
            .map(|(i, p)| (i, finalise(p, Acc::new(), opts, &[])))
            .collect();
        Job {
            tensors,
            opts,
            plans,
            chunks,
            choice,
            next_chunk: AtomicUsize::new(0),
            window: 0,
            merge: Mutex::new(MergeState {
                next: 0,
                pending: BTreeMap::new(),
                accs: HashMap::new(),
            }),
            merged: Condvar::new(),
            ready,
            hooks,
            faults,
        }
    }

    /// The kernels and methods for these tensors: measured once per process for what some tensor
    /// needs (see `choice`), the most capable kernels (unused) for the rest.
    fn choice(tensors: &[TensorSlice<'_>], opts: &StatsOptions) -> Choice {
        let mut out = Choice::unmeasured();
        if tensors
            .iter()
            .any(|t| plan::value_count(t) > opts.exact_limit && code_bits(t.dtype).is_none())
        {
            out.buckets = choice::buckets_kernel();
        }
        for t in tensors {
            let large = opts
                .sample_above
                .is_some_and(|limit| plan::value_count(t) > limit);
            if let Some(source) = Source::of(t.dtype).filter(|_| large) {
                out.set(
                    source,
                    choice::sampling(source, &t.bytes[..plan::usable_bytes(t)]),
                );
            }
        }
        out
    }

    /// Whether the workers must stop: cancelled, or a mapped file changed under a read (one atomic
    /// load each, per chunk).
    fn stopped(&self) -> bool {
        self.hooks.cancel.load(Ordering::Relaxed) || guard::fault_count() != self.faults
    }

    fn run(mut self) -> Result<(), Cancelled> {
        for (t, stats) in std::mem::take(&mut self.ready) {
            (self.hooks.finished)(t, stats);
        }
        let workers = rayon::current_num_threads().clamp(1, self.chunks.len().max(1));
        self.window = 2 * workers + 2;
        let job = &self;
        if workers == 1 {
            job.work();
        } else {
            rayon::scope(|s| {
                for _ in 0..workers {
                    s.spawn(move |_| job.work());
                }
            });
        }
        let merged = lock(&self.merge).next;
        if merged < self.chunks.len() {
            return Err(Cancelled);
        }
        Ok(())
    }

    /// One worker: claim chunks in order until none is left or the computation is cancelled.
    fn work(&self) {
        // A panic here (a bug) stops the other workers too: one waiting for the panicking
        // worker's chunk to be merged would otherwise wait for ever, and the panic, which the
        // rayon scope raises again once every worker has returned, would never reach the caller.
        let _stop_all = StopAllOnPanic(self.hooks.cancel);
        let mut scratch = Scratch {
            table: KeyTable::new(),
            held: None,
            small: Box::new([0; 1024]),
            values: Vec::with_capacity(BLOCK),
            codes: Vec::new(),
            dequantised: (Vec::new(), Vec::new()),
            widened: Vec::new(),
        };
        loop {
            if self.stopped() {
                break;
            }
            let c = self.next_chunk.fetch_add(1, Ordering::Relaxed);
            if c >= self.chunks.len() || !self.wait_for_window(c) {
                break;
            }
            let parts = self.chunks[c]
                .pieces
                .iter()
                .map(|p| self.piece(p, &mut scratch))
                .collect();
            // A fault during this chunk means some of it read zeros: its parts are dropped, the
            // merge never completes, and the run ends as cancelled (the caller names the file).
            if guard::fault_count() != self.faults {
                break;
            }
            self.deposit(c, parts);
        }
        self.hand_over(&mut scratch);
    }

    /// Waits until chunk `c` is within the window of the merge; false if cancelled meanwhile.
    fn wait_for_window(&self, c: usize) -> bool {
        let mut state = lock(&self.merge);
        while c >= state.next + self.window {
            if self.stopped() {
                return false;
            }
            state = self
                .merged
                .wait_timeout(state, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Adds chunk `c`'s parts to the reorder buffer and merges every chunk now in order.
    fn deposit(&self, c: usize, parts: Vec<Part>) {
        let mut finished = Vec::new();
        let mut merged_bytes = 0;
        {
            let mut state = lock(&self.merge);
            state.pending.insert(c, parts);
            let mut advanced = false;
            loop {
                let next = state.next;
                let Some(parts) = state.pending.remove(&next) else {
                    break;
                };
                for part in parts {
                    let t = part.tensor;
                    let acc = state.accs.entry(t).or_insert_with(Acc::new);
                    self.merge_part(acc, part);
                    if acc.complete(&self.plans[t]) {
                        finished.extend(state.accs.remove(&t).map(|acc| (t, acc)));
                    }
                }
                // Released in chunk order, under the lock: the kernel may map pages just past a
                // piece while reading it (fault-around of large folios), and those are released
                // with the next chunk only if chunks are released in order.
                for p in &self.chunks[next].pieces {
                    (self.hooks.release)(p.tensor, p.bytes.clone());
                }
                merged_bytes += self.chunks[next].bytes;
                state.next += 1;
                advanced = true;
            }
            if advanced {
                self.merged.notify_all();
            }
        }
        if merged_bytes > 0 {
            (self.hooks.progress)(merged_bytes);
        }
        self.finish_all(finished);
    }

    fn merge_part(&self, acc: &mut Acc, part: Part) {
        let plan = &self.plans[part.tensor];
        acc.parts += 1;
        match part.data {
            PartData::Counts(c) => {
                let bits = match plan.method {
                    Method::Codes { bits } => bits,
                    _ => 16,
                };
                acc.counts.add(bits, &c);
            }
            PartData::Held => {}
            PartData::Summary(s) => acc.summary.merge(&s),
            PartData::Values { values, nan, inf } => {
                acc.values.extend(values);
                acc.nan += nan;
                acc.inf += inf;
            }
        }
        if let (Some((span, mask)), Some((_, cols))) = (part.zeros, plan.matrix) {
            acc.rows = Some(acc.rows.map_or(span, |r| r.then(span)));
            acc.columns
                .get_or_insert_with(|| Columns::new(cols))
                .add(&mask);
        }
    }

    fn finish_all(&self, finished: Vec<(usize, Acc)>) {
        for (t, acc) in finished {
            let stats = finalise(&self.plans[t], acc, self.opts, self.tensors[t].bytes);
            (self.hooks.finished)(t, stats);
        }
    }
}

/// The statistics of a tensor from everything merged for it (`bytes`: the whole tensor, read
/// again only for extremes a sampled kernel left out and its tails cannot give).
fn finalise(plan: &TensorPlan, acc: Acc, opts: &StatsOptions, bytes: &[u8]) -> TensorStats {
    let gathered = match plan.method {
        Method::Codes { bits } => Gathered::Codes {
            dtype: plan.dtype,
            bits,
            counts: acc.counts.entries(),
        },
        Method::Values => Gathered::Values {
            values: acc.values,
            nan: acc.nan,
            inf: acc.inf,
        },
        Method::Buckets => Gathered::Buckets {
            summary: acc.summary,
            shift: plan.shift,
            counts: acc.counts.entries(),
        },
        Method::Sampled(source) => {
            let counts = acc.counts.entries();
            let mut summary = acc.summary;
            if plan.window.extremes_in_tails && summary.moments.n > 0 {
                let partial = (summary.min, summary.max);
                (summary.min, summary.max) =
                    sample::extremes(source, &counts, &plan.window, bytes, partial);
            }
            Gathered::Sampled {
                summary,
                shift: plan.shift,
                counts,
                window: plan.window,
                keys: match source {
                    Source::F32 => Keys::F32,
                    Source::BF16 => Keys::Bf16,
                    Source::F16 => Keys::F16,
                },
            }
        }
        Method::SampledGgml => Gathered::Sampled {
            summary: acc.summary,
            shift: plan.shift,
            counts: acc.counts.entries(),
            window: plan.window,
            keys: Keys::F32,
        },
    };
    finish(
        gathered,
        plan.values,
        opts,
        acc.rows.map(|r| r.dead()),
        acc.columns.map(|c| c.dead()),
    )
}

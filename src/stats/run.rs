//! The streaming statistics run: results delivered tensor by tensor while the engine works in the
//! background, for the TUI, and the blocking [`compute_model_stats`] the `stats` command calls, built
//! on the same run.
//!
//! [`StatsRun::start`] spawns one coordinator thread and returns at once. The coordinator takes the
//! requested tensors from a queue in small batches (about [`BATCH_BYTES`] each; a larger tensor is a
//! batch of its own) and runs the engine over each batch on the caller's rayon pool, re-reading the
//! queue between batches: [`StatsRun::prioritize`] moves tensors to the front of the queue, so a
//! tensor the user is looking at is computed within a batch or so. A tensor's statistics do not
//! depend on the batch it falls in (the engine cuts each tensor on its own), so the order of the
//! queue never changes a result.
//!
//! Every event goes to the caller's `on_event` outside any lock: [`StatsEvent::Tensor`] from a
//! worker thread as soon as the tensor is finished (with its own findings), then exactly one
//! [`StatsEvent::Finished`] (with the findings across tensors: duplicates) or
//! [`StatsEvent::Cancelled`], from the coordinator. [`StatsRun::progress`] reads atomic counters the
//! workers add to; nothing a caller does waits for a worker.
//!
//! Pages of the mapped files are released as the engine finishes with them (`model::Releaser`), so a
//! model larger than memory is measured with bounded resident memory.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rayon::ThreadPool;

use super::engine::{self, Hooks};
use super::findings::{cross_tensor_findings, tensor_findings};
use super::{Cancelled, StatsOptions, TensorSlice, TensorStats, plan};
use crate::decode;
use crate::finding::Finding;
use crate::model::{Model, Releaser};

// A run shares its `Arc<Model>` with its threads: the model must stay `Send + Sync` (memory maps
// and plain data), which this fails to compile without.
const _: () = {
    const fn shared_across_threads<T: Send + Sync>() {}
    shared_across_threads::<Model>();
};

/// Bytes of tensor data a batch gathers before the engine runs it, by default
/// ([`StatsOptions::batch_bytes`]). Between batches the engine's workers wait for the last chunk
/// of the batch (at most one chunk each, under a millisecond); at 256 MiB that is well under 1% of
/// the run, and a prioritised tensor waits for at most a few tens of milliseconds of work already
/// started.
pub const BATCH_BYTES: u64 = 256 << 20;

/// What a [`StatsRun`] delivers.
// Nearly every event is a `Tensor`, moved once to its consumer: boxing its statistics would cost an
// allocation per tensor to shrink the two rare variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StatsEvent {
    /// One tensor finished; `tensor` indexes `model.tensors`. Per-tensor findings with it.
    Tensor {
        tensor: usize,
        stats: TensorStats,
        findings: Vec<Finding>,
    },
    /// Every requested tensor finished: the cross-tensor findings (duplicates, …).
    Finished { findings: Vec<Finding> },
    /// Cancelled: everything delivered before stays valid.
    Cancelled,
}

/// How far a run has gone. `bytes_*` count the tensor data read (whole storage blocks of the
/// tensors glassbox can decode); `tensors_*` every requested tensor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub tensors_done: usize,
    pub tensors_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// A statistics computation running in the background. Dropping it cancels it and waits for its
/// threads, so no thread is left reading a model that is gone: do not drop it (nor `wait` for it)
/// inside its own `on_event`, which runs on those threads.
pub struct StatsRun {
    shared: Arc<Shared>,
    coordinator: Option<JoinHandle<()>>,
}

/// What the caller's handle and the coordinator share.
struct Shared {
    /// Model indices of the tensors not started yet, next first.
    queue: Mutex<VecDeque<usize>>,
    cancel: AtomicBool,
    tensors_done: AtomicUsize,
    tensors_total: usize,
    bytes_done: AtomicU64,
    bytes_total: u64,
    /// Set once `Finished` or `Cancelled` was delivered.
    finished: AtomicBool,
}

type OnEvent = Arc<dyn Fn(StatsEvent) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in `on_event` propagates through the pool to the coordinator; the queue stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bytes the engine reads of tensor `i`: none for a type glassbox cannot decode.
fn slice_of(model: &Model, i: usize) -> TensorSlice<'_> {
    let t = &model.tensors[i];
    TensorSlice {
        dtype: t.dtype,
        shape: &t.shape,
        bytes: if decode::can_decode(t.dtype) {
            model.tensor_bytes(t)
        } else {
            &[]
        },
    }
}

/// A rayon pool of `threads` workers (one per core when `None`), to build once per process and
/// hand to every run.
pub fn thread_pool(threads: Option<usize>) -> Result<Arc<ThreadPool>, rayon::ThreadPoolBuildError> {
    let mut builder =
        rayon::ThreadPoolBuilder::new().thread_name(|i| format!("glassbox-stats-{i}"));
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    builder.build().map(Arc::new)
}

impl StatsRun {
    /// Starts at once on the caller's pool (one pool per process); returns immediately.
    ///
    /// `tensors` are indices into `model.tensors`, measured in this order unless reprioritised; an
    /// index given twice is measured once, an index out of range is ignored. `on_event` is called
    /// from the pool's threads and from the run's coordinator thread, possibly from two threads at
    /// once, never under a lock of the run.
    pub fn start(
        model: Arc<Model>,
        tensors: Vec<usize>,
        options: StatsOptions,
        pool: Arc<ThreadPool>,
        on_event: Box<dyn Fn(StatsEvent) + Send + Sync>,
    ) -> StatsRun {
        let mut seen = HashSet::new();
        let requested: Vec<usize> = tensors
            .into_iter()
            .filter(|&i| i < model.tensors.len() && seen.insert(i))
            .collect();
        let bytes_total = requested
            .iter()
            .map(|&i| plan::usable_bytes(&slice_of(&model, i)) as u64)
            .sum();
        let shared = Arc::new(Shared {
            queue: Mutex::new(requested.iter().copied().collect()),
            cancel: AtomicBool::new(false),
            tensors_done: AtomicUsize::new(0),
            tensors_total: requested.len(),
            bytes_done: AtomicU64::new(0),
            bytes_total,
            finished: AtomicBool::new(false),
        });
        let on_event: OnEvent = Arc::from(on_event);
        let coordinator = Coordinator {
            model,
            requested,
            options,
            pool,
            on_event: on_event.clone(),
            shared: shared.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("glassbox-stats-run".into())
            .spawn(move || coordinator.run());
        let coordinator = match spawned {
            Ok(handle) => Some(handle),
            Err(_) => {
                // No thread to run on (the system is out of threads): nothing was measured.
                on_event(StatsEvent::Cancelled);
                shared.finished.store(true, Ordering::Release);
                None
            }
        };
        StatsRun {
            shared,
            coordinator,
        }
    }

    /// How far the run has gone: atomics, never blocks workers.
    pub fn progress(&self) -> Progress {
        let s = &self.shared;
        Progress {
            tensors_done: s.tensors_done.load(Ordering::Relaxed),
            tensors_total: s.tensors_total,
            bytes_done: s.bytes_done.load(Ordering::Relaxed),
            bytes_total: s.bytes_total,
        }
    }

    /// Moves `tensors` (model indices, in this order) to the front of the queue: they are measured
    /// with the next batch. Tensors already started, finished or not requested are ignored.
    pub fn prioritize(&self, tensors: &[usize]) {
        let mut queue = lock(&self.shared.queue);
        let queued: HashSet<usize> = queue.iter().copied().collect();
        let mut seen = HashSet::new();
        let first: Vec<usize> = tensors
            .iter()
            .copied()
            .filter(|i| queued.contains(i) && seen.insert(*i))
            .collect();
        queue.retain(|i| !seen.contains(i));
        for &i in first.iter().rev() {
            queue.push_front(i);
        }
    }

    /// Stops soon (the engine checks between chunks of a few MiB); keeps what finished.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether `Finished` or `Cancelled` was delivered.
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire)
    }

    /// Blocks until `Finished` or `Cancelled` was delivered. Not to be called from a thread of the
    /// run's pool (the run needs the pool's threads to finish). A panic in `on_event` resurfaces
    /// here.
    pub fn wait(mut self) {
        if let Some(handle) = self.coordinator.take()
            && let Err(panic) = handle.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for StatsRun {
    fn drop(&mut self) {
        if let Some(handle) = self.coordinator.take() {
            self.cancel();
            // A panic was already reported by the thread; dropping must not panic again.
            let _ = handle.join();
        }
    }
}

/// The background side of a run: batches from the queue through the engine, then the findings
/// across tensors.
struct Coordinator {
    model: Arc<Model>,
    requested: Vec<usize>,
    options: StatsOptions,
    pool: Arc<ThreadPool>,
    on_event: OnEvent,
    shared: Arc<Shared>,
}

impl Coordinator {
    fn run(self) {
        // Every result, by model index, for the comparisons across tensors at the end.
        let results: Mutex<Vec<Option<TensorStats>>> =
            Mutex::new(vec![None; self.model.tensors.len()]);
        let measured = loop {
            if self.shared.cancel.load(Ordering::Relaxed) {
                break Err(Cancelled);
            }
            let batch = self.next_batch();
            if batch.is_empty() {
                break Ok(());
            }
            if let Err(cancelled) = self.measure_batch(&batch, &results) {
                break Err(cancelled);
            }
        };
        let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        let event = match measured {
            Ok(()) => self.finished(results),
            Err(Cancelled) => StatsEvent::Cancelled,
        };
        (self.on_event)(event);
        self.shared.finished.store(true, Ordering::Release);
    }

    /// The next tensors from the front of the queue, up to `batch_bytes` of data (at least one
    /// tensor); empty when the queue is.
    fn next_batch(&self) -> Vec<usize> {
        let mut queue = lock(&self.shared.queue);
        let mut batch = Vec::new();
        let mut bytes = 0;
        while bytes < self.options.batch_bytes.max(1)
            && let Some(i) = queue.pop_front()
        {
            bytes += plan::usable_bytes(&slice_of(&self.model, i)) as u64;
            batch.push(i);
        }
        batch
    }

    /// Runs the engine over `batch` (model indices) on the pool, delivering each tensor as it is
    /// finished. Tensors glassbox cannot decode are delivered first, with their count alone.
    fn measure_batch(
        &self,
        batch: &[usize],
        results: &Mutex<Vec<Option<TensorStats>>>,
    ) -> Result<(), Cancelled> {
        let model = &*self.model;
        let slices: Vec<TensorSlice<'_>> = batch.iter().map(|&i| slice_of(model, i)).collect();
        let deliver = |position: usize, stats: TensorStats| {
            let i = batch[position];
            let findings = tensor_findings(&model.tensors[i].name, &slices[position], &stats);
            lock(results)[i] = Some(stats.clone());
            self.shared.tensors_done.fetch_add(1, Ordering::Relaxed);
            (self.on_event)(StatsEvent::Tensor {
                tensor: i,
                stats,
                findings,
            });
        };
        let (decodable, opaque): (Vec<usize>, Vec<usize>) =
            (0..batch.len()).partition(|&p| decode::can_decode(slices[p].dtype));
        for p in opaque {
            let count = model.tensors[batch[p]].parameters();
            deliver(
                p,
                TensorStats::not_decoded(count, self.options.outlier_sigmas),
            );
        }
        if decodable.is_empty() {
            return Ok(());
        }
        let engine_slices: Vec<TensorSlice<'_>> = decodable.iter().map(|&p| slices[p]).collect();
        let releaser = Releaser::new(&model.files);
        let hooks = Hooks {
            progress: &|bytes: u64| {
                self.shared.bytes_done.fetch_add(bytes, Ordering::Relaxed);
            },
            release: &|j: usize, range: std::ops::Range<usize>| {
                releaser.release_tensor(&model.tensors[batch[decodable[j]]], range);
            },
            finished: &|j: usize, stats: TensorStats| deliver(decodable[j], stats),
            cancel: &self.shared.cancel,
        };
        self.pool
            .install(|| engine::measure(&engine_slices, &self.options, &hooks))
    }

    /// The `Finished` event: the findings across every requested tensor, in the order requested.
    fn finished(&self, mut results: Vec<Option<TensorStats>>) -> StatsEvent {
        let mut names = Vec::with_capacity(self.requested.len());
        let mut slices = Vec::with_capacity(self.requested.len());
        let mut stats = Vec::with_capacity(self.requested.len());
        for &i in &self.requested {
            let Some(s) = results[i].take() else {
                // Only a cancelled run leaves a tensor unmeasured, and it does not get here.
                return StatsEvent::Cancelled;
            };
            names.push(self.model.tensors[i].name.as_str());
            slices.push(slice_of(&self.model, i));
            stats.push(s);
        }
        // Confirming a duplicate reads both tensors again: released as they are compared.
        let releaser = Releaser::new(&self.model.files);
        let release = |position: usize, range: std::ops::Range<usize>| {
            releaser.release_tensor(&self.model.tensors[self.requested[position]], range);
        };
        StatsEvent::Finished {
            findings: cross_tensor_findings(&names, &slices, &stats, &release),
        }
    }
}

/// Statistics of `tensors` (indices into `model.tensors`), in the same order, plus the findings in
/// report order (each tensor's own findings, then those comparing it with an earlier tensor), as
/// one blocking call: a [`StatsRun`] on `pool`, waited for.
///
/// `progress` is called on the calling thread, every 50 ms or so while the run lasts and once at the
/// end (with `bytes_done == bytes_total`), its counters never decreasing. Setting `cancel` stops
/// the run: `Err(Cancelled)`. Call it from outside `pool` (the run needs every thread of it).
///
/// # Panics
///
/// When an index is not one of `model.tensors` (a caller's mistake, not bad input).
pub fn compute_model_stats(
    model: &Arc<Model>,
    tensors: &[usize],
    options: &StatsOptions,
    pool: &Arc<ThreadPool>,
    progress: &dyn Fn(Progress),
    cancel: &AtomicBool,
) -> Result<(Vec<TensorStats>, Vec<Finding>), Cancelled> {
    assert!(
        tensors.iter().all(|&i| i < model.tensors.len()),
        "tensor index out of range"
    );
    if cancel.load(Ordering::Relaxed) {
        return Err(Cancelled);
    }
    let (send, receive) = mpsc::channel();
    let run = StatsRun::start(
        model.clone(),
        tensors.to_vec(),
        options.clone(),
        pool.clone(),
        Box::new(move |event| {
            // The receiver outlives the run unless this call is unwinding: nothing to tell then.
            let _ = send.send(event);
        }),
    );
    let mut measured: Vec<Option<(TensorStats, Vec<Finding>)>> = vec![None; model.tensors.len()];
    let mut reported = None;
    let mut report = |now: Progress| {
        if reported != Some(now) {
            progress(now);
            reported = Some(now);
        }
    };
    let outcome = loop {
        if cancel.load(Ordering::Relaxed) {
            run.cancel();
        }
        report(run.progress());
        match receive.recv_timeout(Duration::from_millis(50)) {
            Ok(StatsEvent::Tensor {
                tensor,
                stats,
                findings,
            }) => measured[tensor] = Some((stats, findings)),
            Ok(StatsEvent::Finished { findings }) => break Ok(findings),
            Ok(StatsEvent::Cancelled) => break Err(Cancelled),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The coordinator is gone without a last event: it panicked (`wait` resumes the panic).
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err(Cancelled),
        }
    };
    let last = run.progress();
    run.wait();
    let cross = outcome?;
    report(last);
    Ok(in_report_order(model, tensors, measured, cross))
}

/// Each requested tensor's statistics, and the findings: a tensor's own, then the findings across
/// tensors about it; findings about no requested tensor last.
fn in_report_order(
    model: &Model,
    tensors: &[usize],
    mut measured: Vec<Option<(TensorStats, Vec<Finding>)>>,
    cross: Vec<Finding>,
) -> (Vec<TensorStats>, Vec<Finding>) {
    let mut cross: Vec<Option<Finding>> = cross.into_iter().map(Some).collect();
    let mut stats = Vec::with_capacity(tensors.len());
    let mut findings = Vec::new();
    for &i in tensors {
        let Some((s, own)) = &mut measured[i] else {
            unreachable!("a finished run delivered every requested tensor")
        };
        stats.push(s.clone());
        // A tensor requested twice has its findings listed once.
        findings.append(own);
        let name = model.tensors[i].name.as_str();
        findings.extend(
            cross
                .iter_mut()
                .filter_map(|slot| slot.take_if(|f| f.tensor() == Some(name))),
        );
    }
    findings.extend(cross.into_iter().flatten());
    (stats, findings)
}

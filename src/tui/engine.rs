//! A stand-in for the library's streaming statistics engine (`stats::StatsRun`), with exactly its
//! signatures, so the TUI is written against the real shape and the coordinator can swap this file
//! for `glassbox::stats::{StatsRun, StatsEvent, Progress}` by deleting it.
//!
//! How it works: a worker thread takes small batches from the front of a priority queue (a few
//! tensors, at most [`BATCH_BYTES`]), measures each batch with today's blocking
//! [`Model::compute_stats`] inside the caller's dedicated rayon pool, reports each tensor as an
//! event, and re-reads the queue before the next batch — so [`StatsRun::prioritize`] takes effect
//! within one batch. Cancellation is the engine's own per-chunk flag. Byte-identical tensors in
//! different batches are not compared (the real engine sees the whole model).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::finding::{Finding, Severity, Subject};
use crate::model::Model;
use crate::stats::{StatsOptions, TensorStats};

/// Bytes measured per batch: small enough that a new priority is served within ~10 ms of reading.
const BATCH_BYTES: u64 = 16 << 20;
/// Tensors per batch at most (many tiny tensors: one engine call each would waste its setup).
const BATCH_TENSORS: usize = 16;

/// Work done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub tensors_done: usize,
    pub tensors_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What the engine reports, from its worker thread.
// The shape is the library's API; each event is moved once, so the large variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StatsEvent {
    /// One tensor measured: `tensor` indexes `model.tensors`.
    Tensor {
        tensor: usize,
        stats: TensorStats,
        findings: Vec<Finding>,
    },
    /// Every requested tensor measured; `findings` are those about the model as a whole.
    Finished {
        findings: Vec<Finding>,
    },
    Cancelled,
}

struct Shared {
    queue: Mutex<VecDeque<usize>>,
    cancel: AtomicBool,
    finished: AtomicBool,
    tensors_done: AtomicUsize,
    bytes_done: AtomicU64,
    tensors_total: usize,
    bytes_total: u64,
}

/// A statistics computation running in the background.
pub struct StatsRun {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl StatsRun {
    /// Starts measuring `tensors` (indices into `model.tensors`, in this order unless reprioritised)
    /// on `pool`; `on_event` is called from the worker thread.
    pub fn start(
        model: Arc<Model>,
        tensors: Vec<usize>,
        options: StatsOptions,
        pool: Arc<rayon::ThreadPool>,
        on_event: Box<dyn Fn(StatsEvent) + Send + Sync>,
    ) -> StatsRun {
        let shared = Arc::new(Shared {
            tensors_total: tensors.len(),
            bytes_total: tensors.iter().map(|&i| model.tensors[i].bytes).sum(),
            queue: Mutex::new(tensors.into_iter().collect()),
            cancel: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            tensors_done: AtomicUsize::new(0),
            bytes_done: AtomicU64::new(0),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("glassbox-stats".into())
            .spawn(move || work(&model, &options, &pool, &worker_shared, &*on_event))
            .ok();
        StatsRun { shared, worker }
    }

    pub fn progress(&self) -> Progress {
        let s = &self.shared;
        Progress {
            tensors_done: s.tensors_done.load(Ordering::Relaxed),
            tensors_total: s.tensors_total,
            bytes_done: s.bytes_done.load(Ordering::Relaxed),
            bytes_total: s.bytes_total,
        }
    }

    /// Moves `tensors` (those still waiting) to the front of the queue, in this order.
    pub fn prioritize(&self, tensors: &[usize]) {
        let mut queue = lock(&self.shared.queue);
        let waiting: Vec<usize> = tensors
            .iter()
            .copied()
            .filter(|t| queue.contains(t))
            .collect();
        if waiting.is_empty() {
            return;
        }
        queue.retain(|t| !waiting.contains(t));
        for &t in waiting.iter().rev() {
            queue.push_front(t);
        }
    }

    /// Stops at the next chunk boundary.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Relaxed)
    }
}

impl Drop for StatsRun {
    fn drop(&mut self) {
        self.cancel();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn work(
    model: &Model,
    options: &StatsOptions,
    pool: &rayon::ThreadPool,
    shared: &Shared,
    on_event: &(dyn Fn(StatsEvent) + Send + Sync),
) {
    // The pool is the caller's: never the global one the UI thread might use.
    let options = StatsOptions {
        threads: None,
        ..options.clone()
    };
    loop {
        if shared.cancel.load(Ordering::Relaxed) {
            on_event(StatsEvent::Cancelled);
            break;
        }
        let batch = next_batch(model, shared);
        if batch.is_empty() {
            shared.finished.store(true, Ordering::Relaxed);
            on_event(StatsEvent::Finished {
                findings: Vec::new(),
            });
            break;
        }
        let infos: Vec<&crate::TensorInfo> = batch.iter().map(|&i| &model.tensors[i]).collect();
        let base = shared.bytes_done.load(Ordering::Relaxed);
        let progress = |done: u64, _total: u64| {
            shared.bytes_done.store(base + done, Ordering::Relaxed);
        };
        let result =
            pool.install(|| model.compute_stats(&infos, &options, &progress, &shared.cancel));
        let Ok((stats, findings)) = result else {
            on_event(StatsEvent::Cancelled);
            break;
        };
        let batch_bytes: u64 = infos.iter().map(|t| t.bytes).sum();
        shared
            .bytes_done
            .store(base + batch_bytes, Ordering::Relaxed);
        let mut per_tensor: Vec<Vec<Finding>> = vec![Vec::new(); batch.len()];
        for f in findings {
            let at = f
                .tensor
                .as_deref()
                .and_then(|name| infos.iter().position(|t| t.name == name))
                .unwrap_or(0);
            per_tensor[at].push(convert(f));
        }
        for ((&tensor, stats), findings) in batch.iter().zip(stats).zip(per_tensor) {
            shared.tensors_done.fetch_add(1, Ordering::Relaxed);
            on_event(StatsEvent::Tensor {
                tensor,
                stats,
                findings,
            });
        }
    }
}

fn next_batch(model: &Model, shared: &Shared) -> Vec<usize> {
    let mut queue = lock(&shared.queue);
    let mut batch = Vec::new();
    let mut bytes = 0u64;
    while let Some(&t) = queue.front() {
        if !batch.is_empty()
            && (batch.len() >= BATCH_TENSORS || bytes + model.tensors[t].bytes > BATCH_BYTES)
        {
            break;
        }
        queue.pop_front();
        bytes += model.tensors[t].bytes;
        batch.push(t);
    }
    batch
}

/// Today's engine returns the old finding type; the streaming API returns the shared one.
fn convert(f: crate::stats::Finding) -> Finding {
    let severity = match f.severity {
        crate::stats::Severity::Info => Severity::Info,
        crate::stats::Severity::Warning => Severity::Warning,
        crate::stats::Severity::Error => Severity::Error,
    };
    let subject = f.tensor.map_or(Subject::Model, Subject::Tensor);
    Finding::new(severity, f.code, subject, f.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn fixture(rel: &str) -> Arc<Model> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        Arc::new(crate::model::open(&path).expect("fixture opens"))
    }

    fn pool() -> Arc<rayon::ThreadPool> {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn every_tensor_is_reported_once_then_finished_with_the_blocking_results() {
        let model = fixture("fixtures/llama-tiny");
        let all: Vec<usize> = (0..model.tensors.len()).collect();
        let (tx, rx) = mpsc::channel();
        let run = StatsRun::start(
            Arc::clone(&model),
            all.clone(),
            StatsOptions::default(),
            pool(),
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        );
        let mut seen = vec![0; all.len()];
        let mut got = vec![None; all.len()];
        loop {
            match rx.recv().unwrap() {
                StatsEvent::Tensor { tensor, stats, .. } => {
                    seen[tensor] += 1;
                    got[tensor] = Some(stats);
                }
                StatsEvent::Finished { .. } => break,
                StatsEvent::Cancelled => panic!("not cancelled"),
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        assert!(run.is_finished());
        let p = run.progress();
        assert_eq!((p.tensors_done, p.tensors_total), (all.len(), all.len()));
        assert_eq!(p.bytes_done, p.bytes_total);
        // The oracle: the blocking engine on all tensors at once.
        let infos: Vec<&crate::TensorInfo> = model.tensors.iter().collect();
        let cancel = AtomicBool::new(false);
        let (expected, _) = model
            .compute_stats(&infos, &StatsOptions::default(), &|_, _| {}, &cancel)
            .unwrap();
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(got[i].as_ref(), Some(e), "{}", model.tensors[i].name);
        }
    }

    #[test]
    fn prioritised_tensors_come_first_and_cancel_stops_the_run() {
        let model = fixture("fixtures/llama-tiny");
        let last = model.tensors.len() - 1;
        let (tx, rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Mutex::new(go_rx);
        // The first event blocks the worker until the test has reprioritised.
        let run = StatsRun::start(
            Arc::clone(&model),
            (0..=last).collect(),
            StatsOptions::default(),
            pool(),
            Box::new(move |e| {
                let _ = tx.send(e);
                let _ = lock(&go_rx).recv();
            }),
        );
        let first = rx.recv().unwrap();
        assert!(matches!(first, StatsEvent::Tensor { tensor: 0, .. }));
        run.prioritize(&[last]);
        // The rest of the first batch comes first; then the prioritised tensor.
        let mut order = Vec::new();
        for _ in 0..last {
            go_tx.send(()).unwrap();
            if let StatsEvent::Tensor { tensor, .. } = rx.recv().unwrap() {
                order.push(tensor);
            }
        }
        let batch = BATCH_TENSORS.min(last + 1);
        let after_batch = order.get(batch - 1).copied();
        assert!(batch > last || after_batch == Some(last), "{order:?}");
        run.cancel();
        go_tx.send(()).unwrap();
        drop(go_tx);
        drop(run); // joins
    }
}

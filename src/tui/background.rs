//! The TUI's background work besides the statistics engine, each on a thread of its own so the
//! first frame and every key are answered at once:
//!
//! - the transparency report (model card, licence, tokenizer, template: small reads under size
//!   caps, then pure work), built without hashing — the SHA-256 of every weight would read the
//!   whole model a second time beside the statistics; `glassbox transparency` has them;
//! - the comparison of `glassbox A B`, on its own rayon pool, reporting the bytes read through an
//!   atomic the event loop reads at draw time and stopping at its next chunk when cancelled.
//!
//! Both send their outcome through the UI's channel. A panic there reaches the UI through the
//! panic hook as a message from a thread named [`TRANSPARENCY_THREAD`] or [`DIFF_THREAD`]…, and
//! the tab concerned shows it (see `App::update`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;

use super::app::Msg;
use super::diff_view::DiffView;
use crate::diff::{DiffError, DiffOptions};
use crate::model::Model;
use crate::report::diff::DiffReport;

/// The transparency report's thread.
pub const TRANSPARENCY_THREAD: &str = "glassbox-transparency";
/// The comparison's thread; its pool's workers are `glassbox-diff-N`.
pub const DIFF_THREAD: &str = "glassbox-diff";

/// Builds the transparency report of `model` (no hashes, no base) and sends it.
pub fn spawn_transparency(model: Arc<Model>, tx: Sender<Msg>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(TRANSPARENCY_THREAD.into())
        .spawn(move || {
            use crate::transparency as t;
            let arch = crate::arch::infer_architecture(&model);
            let sources = t::open_sources(&model);
            let report = t::build_report(&model, &arch, &sources, None, None);
            let _ = tx.send(Msg::Transparency(Ok(Box::new(report))));
        })
        .map(drop)
}

/// A comparison running in the background: its progress and its cancel flag.
pub struct DiffJob {
    done: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
}

impl DiffJob {
    /// Compares `a` with `b` on a pool of `threads` and sends the outcome as [`Msg::DiffDone`]
    /// (nothing when cancelled).
    pub fn start(
        a: Arc<Model>,
        b: Arc<Model>,
        threads: usize,
        tx: Sender<Msg>,
    ) -> std::io::Result<DiffJob> {
        let done = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (progress, stop) = (Arc::clone(&done), Arc::clone(&cancel));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("{DIFF_THREAD}-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        std::thread::Builder::new()
            .name(DIFF_THREAD.into())
            .spawn(move || {
                let report = |done: u64| progress.store(done, Ordering::Relaxed);
                let outcome = crate::diff::compute_diff(
                    &a,
                    &b,
                    &DiffOptions::default(),
                    &pool,
                    &report,
                    &stop,
                );
                let msg = match outcome {
                    Err(DiffError::Cancelled) => return,
                    Err(e) => Err(
                        crate::text::printable(&e.to_string().replace('\n', " "), false)
                            .into_owned(),
                    ),
                    Ok(diff) => Ok(Box::new(DiffView::new(&DiffReport::new(&a, &b, diff)))),
                };
                let _ = tx.send(Msg::DiffDone(msg));
            })?;
        Ok(DiffJob { done, cancel })
    }

    /// Bytes of both models read so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Stops the comparison at its next chunk. The thread is not waited for: quitting must not
    /// wait for a large matrix's rank analysis, and the process ends with the TUI.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

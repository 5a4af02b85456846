//! The SIGBUS guard: a weight file that shrinks while it is mapped must not kill glassbox.
//!
//! Reading a page of a mapped file past its current end raises SIGBUS, whose default action ends
//! the process with no message. Files glassbox reads are often still being written by a download
//! or a conversion, so this module turns that signal into an error:
//!
//! - Every weight-file mapping registers its address range here ([`Registration`], held by the
//!   `WeightFile`; dropping it unregisters the range before the map is unmapped). The table is a
//!   fixed array of atomics, so the signal handler reads it without locks or allocation.
//! - A SIGBUS handler (`sigaction`, `SA_SIGINFO`) looks up the faulting address. Inside a
//!   registered range, it records the fault (the slot's first faulting offset and a global fault
//!   count, both atomics), then maps an anonymous zero page over the faulting page with
//!   `MAP_FIXED`, so the faulting load completes (it reads zeros) and the thread carries on. No
//!   unwinding, no `longjmp`: the code that was reading never notices, which is what makes this
//!   sound in Rust.
//! - The readers check afterwards: the statistics engine loads [`fault_count`] after each chunk (one
//!   atomic load per chunk of 4 MiB) and stops, dropping the results of the chunk, when it changed;
//!   the caller then asks the model ([`crate::model::Model::check_unchanged`]), which names the
//!   file and the tensor holding the faulting offset ("the file changed while it was being read").
//! - A fault outside every registered range is not ours: the previous handler (Rust's own, which
//!   reports stack overflows) runs, or the default action is restored and the load faults again.
//!
//! `mmap` is not on POSIX's list of async-signal-safe functions, but on Linux and the BSDs it is a
//! plain system call that touches no user-space state, which is all that list guards against.
//! Cost: nothing on the read path (no per-access check); one atomic load per chunk in the engine;
//! registration is a short scan of the table when a file is opened.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Mappings glassbox can guard at once (a sharded model has a few hundred shards at most). A file
/// opened when the table is full is read unguarded, as before this module existed.
const SLOTS: usize = 4096;

/// One registered mapping. `start == 0` means free; `len` is set before `start` is published.
struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    /// The first faulting offset in the mapping, plus one (0: no fault).
    fault: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array below
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    fault: AtomicUsize::new(0),
};

static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// Faults caught since the process started.
static FAULTS: AtomicU64 = AtomicU64::new(0);

/// Faults caught in registered mappings since the process started. Compare two loads: a change
/// means some mapped file changed underneath; [`Registration::fault_offset`] says which.
pub fn fault_count() -> u64 {
    FAULTS.load(Ordering::Acquire)
}

/// Records a fault caught outside this module (the `--no-mmap` pager's failed reads), so the
/// readers that watch [`fault_count`] stop the same way. Async-signal-safe (one atomic add).
pub(super) fn count_fault() {
    FAULTS.fetch_add(1, Ordering::AcqRel);
}

#[cfg(unix)]
pub(super) use unix::chain;

/// A registered mapping; unregisters on drop (drop it before unmapping).
#[derive(Debug)]
pub struct Registration {
    slot: Option<usize>,
}

impl Registration {
    /// Registers `len` bytes at `start` (a mapping of a file) and installs the handler if needed.
    pub fn new(start: *const u8, len: usize) -> Registration {
        if len == 0 || start.is_null() || !install() {
            return Registration { slot: None };
        }
        let start = start as usize;
        for (i, slot) in TABLE.iter().enumerate() {
            // Claim a free slot by publishing a placeholder start that no address matches (1 with
            // length 0), then fill it in: the handler never sees a half-written slot.
            if slot
                .start
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.len.store(0, Ordering::Release);
                slot.fault.store(0, Ordering::Release);
                slot.start.store(start, Ordering::Release);
                slot.len.store(len, Ordering::Release);
                return Registration { slot: Some(i) };
            }
        }
        Registration { slot: None }
    }

    /// The offset (from the start of the mapping) of the first read that faulted, if one did.
    pub fn fault_offset(&self) -> Option<usize> {
        let slot = &TABLE[self.slot?];
        slot.fault.load(Ordering::Acquire).checked_sub(1)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let slot = &TABLE[i];
            slot.len.store(0, Ordering::Release);
            slot.start.store(0, Ordering::Release);
        }
    }
}

#[cfg(unix)]
fn install() -> bool {
    use std::sync::OnceLock;
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(unix::install)
}

#[cfg(not(unix))]
fn install() -> bool {
    false
}

#[cfg(unix)]
mod unix {
    use super::{FAULTS, Ordering, TABLE};
    use std::sync::atomic::AtomicUsize;

    /// The page size, read once at install (the handler does not call `sysconf`).
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    /// The action in place before ours, called for faults that are not ours.
    static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::zeroed();

    pub(super) fn install() -> bool {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; `sigemptyset` and
        // `sigaction` get valid pointers. PREVIOUS is written here once, before the handler that
        // reads it is installed (the `OnceLock` in the caller runs this once).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS;
            libc::sigaction(libc::SIGBUS, &action, (*previous).as_mut_ptr()) == 0
        }
    }

    extern "C" fn on_sigbus(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let address = unsafe { (*info).si_addr() } as usize;
        for slot in &TABLE {
            let start = slot.start.load(Ordering::Acquire);
            let len = slot.len.load(Ordering::Acquire);
            if start <= 1 || address < start || address - start >= len {
                continue;
            }
            let _ = slot.fault.compare_exchange(
                0,
                address - start + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            // Counted before the zero page is mapped: a thread that reads the zero page later (it
            // has no fault of its own) sees the count changed when it checks.
            FAULTS.fetch_add(1, Ordering::AcqRel);
            let page = PAGE.load(Ordering::Relaxed);
            let base = address & !(page - 1);
            // SAFETY: the page lies inside a registered read-only file mapping, which glassbox
            // owns and which stays mapped while registered; replacing that one page with zeros
            // only changes what reads of it return (the file's bytes there are gone anyway).
            let mapped = unsafe {
                libc::mmap(
                    base as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if mapped != libc::MAP_FAILED {
                return;
            }
            break;
        }
        not_ours(signal, info, context);
    }

    /// Hands a fault that is not ours to the previous handler, or restores the default action so
    /// that the faulting load, run again on return, ends the process as it would have.
    fn not_ours(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // SAFETY: PREVIOUS was written by `install` before the handler was installed and is never
        // written again.
        unsafe {
            chain(
                (&raw const PREVIOUS).cast::<libc::sigaction>(),
                signal,
                info,
                context,
            )
        };
    }

    /// Hands a signal to `previous` (the action a handler of ours replaced), or restores the
    /// default action when there was none, so that the faulting load, run again on return, ends
    /// the process as it would have.
    ///
    /// # Safety
    ///
    /// `previous` must point at an action written by `sigaction` before the handler calling this
    /// was installed, and never written again.
    pub(in crate::model) unsafe fn chain(
        previous: *const libc::sigaction,
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: `previous` is valid and stable (the caller's contract); the previous handler, if it takes siginfo, is
        // called as the kernel would call it.
        unsafe {
            let previous = previous.read();
            let handler = previous.sa_sigaction;
            if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
                if previous.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(handler);
                    f(signal, info, context);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                    f(signal);
                }
                return;
            }
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut default.sa_mask);
            libc::sigaction(signal, &default, std::ptr::null_mut());
        }
    }
}

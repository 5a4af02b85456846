//! The pager behind `--no-mmap`: weight files read with `pread`, never mapped, behind the same
//! `&[u8]` every reader already takes.
//!
//! Mapping a file is unsafe where the file can change underneath or where the filesystem cannot
//! be trusted to page (network filesystems, a download still writing). `--no-mmap` reads with plain
//! I/O instead, but the statistics engine, the diff and the reports all take whole-tensor byte
//! slices; rewriting them around a `read_range` accessor would touch every reader and the hot loops
//! another helper tunes. So the readers are left alone and the pages come from `pread`:
//!
//! - [`Paged::open`] reserves the file's length of address space with no access (`PROT_NONE`,
//!   nothing committed) and registers it here. [`Paged::bytes`] is a slice over that reservation.
//! - The first read of a window of [`WINDOW`] bytes faults (SIGSEGV). The handler finds the
//!   registered range, `pread`s the window into a fresh anonymous buffer, makes it read-only and
//!   moves it into place with `mremap(MREMAP_FIXED)` (one atomic page-table swap: another thread
//!   either faults and waits, or sees the whole window). The load then runs again and succeeds.
//! - A per-window state (`EMPTY` → `FILLING` → `READY` → `RELEASING` → `EMPTY`) lets one thread fill
//!   a window while others that fault on it wait. [`Paged::release`] (called by the engine's
//!   `Releaser`, as for the map) swaps finished windows back to `PROT_NONE`, freeing their memory:
//!   resident memory is what is being read, as with the map. A later read of a released window
//!   faults and reads it again.
//! - A short read (the file shrank) or a failed one (an I/O error) leaves the rest of the window
//!   zero and is recorded as the SIGBUS guard records a fault ([`super::guard`]): the engine stops at
//!   its next chunk and `Model::check_unchanged` reports the file and tensor.
//! - A SIGSEGV outside every registered range goes to the previous handler (Rust's stack-overflow
//!   report) or, failing that, to the default action, as in the guard.
//!
//! Cost (measured, see the README): the bytes are copied once from the page cache and the windows'
//! pages are zeroed and freed as they come and go, four system calls per 2 MiB window. The mapped
//! path is untouched: this module runs only with `--no-mmap`. Linux only (it needs `mremap`);
//! elsewhere `--no-mmap` is refused with a clear error.

use std::fs::File;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// Bytes read per fault: large enough that the four system calls per window cost little against
/// the copy, small enough that a sampled read does not pull in much it does not use.
pub const WINDOW: usize = 2 << 20;

/// Paged files registered at once (a sharded model has a few hundred shards at most).
const SLOTS: usize = 1024;

const EMPTY: u8 = 0;
const FILLING: u8 = 1;
const READY: u8 = 2;
const RELEASING: u8 = 3;

/// One registered reservation. `start == 0` means free, `1` claimed but not yet published.
struct Slot {
    start: AtomicUsize,
    /// Bytes reserved (whole windows).
    reserved: AtomicUsize,
    /// The file's length at open: reads stop there.
    file_len: AtomicUsize,
    fd: AtomicI32,
    /// One state per window (`reserved / WINDOW` of them), owned by the [`Paged`].
    states: AtomicPtr<AtomicU8>,
    /// The first offset that could not be read, plus one (0: none).
    fault: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array below
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    reserved: AtomicUsize::new(0),
    file_len: AtomicUsize::new(0),
    fd: AtomicI32::new(-1),
    states: AtomicPtr::new(std::ptr::null_mut()),
    fault: AtomicUsize::new(0),
};

static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// A weight file read through the pager: an address range that fills itself from the file.
#[derive(Debug)]
pub struct Paged {
    base: *mut u8,
    len: usize,
    reserved: usize,
    slot: Option<usize>,
    states: Box<[AtomicU8]>,
    /// Kept open: the handler reads through its descriptor.
    file: File,
}

// SAFETY: the reservation is only ever read through shared slices; its pages are filled and
// released by the handler and `release` under the per-window states, never written by a reader.
unsafe impl Send for Paged {}
// SAFETY: as above; every shared field is atomic or immutable after `open`.
unsafe impl Sync for Paged {}

impl Paged {
    /// Reserves `len` bytes of address space for `file` and registers them with the pager.
    pub fn open(file: File, len: u64) -> std::io::Result<Paged> {
        let len = usize::try_from(len).map_err(|_| std::io::Error::other("file too large"))?;
        let mut paged = Paged {
            base: std::ptr::NonNull::dangling().as_ptr(),
            len,
            reserved: 0,
            slot: None,
            states: Box::new([]),
            file,
        };
        if len == 0 {
            return Ok(paged);
        }
        imp::reserve(&mut paged)?;
        Ok(paged)
    }

    /// The whole file, filled on first read.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `base` is either dangling with `len == 0`, or the start of a reservation of
        // `reserved >= len` bytes that lives as long as `self`. Its pages hold the file's bytes
        // whenever a read reaches them (the handler fills a window before the faulting load runs
        // again) and are never written while readable.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// The offset of the first byte that could not be read (the file shrank or an I/O error).
    pub fn fault_offset(&self) -> Option<usize> {
        TABLE[self.slot?]
            .fault
            .load(Ordering::Acquire)
            .checked_sub(1)
    }

    /// Frees the windows `range` (offsets in the file) covers, and the window it starts
    /// in; a later read of them reads them again. Readers release in file order, piece after piece:
    /// the window a range starts in was finished by the range before it (releasing only whole
    /// windows would leave one window at every boundary resident for the rest of the run, 1.3 GB
    /// on a 40 GB file), while the window it ends in is still being read by the next piece.
    pub fn release(&self, range: std::ops::Range<usize>) {
        if self.slot.is_none() {
            return;
        }
        let first = range.start / WINDOW;
        let end = if range.end >= self.len {
            self.states.len()
        } else {
            range.end / WINDOW
        };
        for w in first..end.min(self.states.len()) {
            let state = &self.states[w];
            if state
                .compare_exchange(READY, RELEASING, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                imp::forget_window(self.base as usize + w * WINDOW);
                state.store(EMPTY, Ordering::Release);
            }
        }
    }
}

impl Drop for Paged {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let slot = &TABLE[i];
            slot.reserved.store(0, Ordering::Release);
            slot.start.store(0, Ordering::Release);
            slot.states.store(std::ptr::null_mut(), Ordering::Release);
        }
        if self.reserved > 0 {
            imp::unreserve(self.base, self.reserved);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn reserve(_: &mut super::Paged) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "`--no-mmap` is only available on Linux",
        ))
    }
    pub(super) fn forget_window(_: usize) {}
    pub(super) fn unreserve(_: *mut u8, _: usize) {}
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{EMPTY, FILLING, Ordering, Paged, READY, RELEASING, SLOTS, Slot, TABLE, WINDOW};
    use std::os::fd::AsRawFd;
    use std::sync::atomic::AtomicU8;

    pub(super) fn reserve(paged: &mut Paged) -> std::io::Result<()> {
        if !install() {
            return Err(std::io::Error::other(
                "could not install the `--no-mmap` pager's signal handler",
            ));
        }
        let windows = paged.len.div_ceil(WINDOW);
        let reserved = windows * WINDOW;
        // SAFETY: a fresh anonymous reservation with no access; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        paged.base = base.cast();
        paged.reserved = reserved;
        paged.states = (0..windows).map(|_| AtomicU8::new(EMPTY)).collect();
        for (i, slot) in TABLE.iter().enumerate() {
            // Claim with a placeholder no address matches, fill in, then publish the start: the
            // handler never sees a half-written slot.
            if slot
                .start
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.reserved.store(0, Ordering::Release);
                slot.fault.store(0, Ordering::Release);
                slot.file_len.store(paged.len, Ordering::Release);
                slot.fd.store(paged.file.as_raw_fd(), Ordering::Release);
                slot.states
                    .store(paged.states.as_ptr().cast_mut(), Ordering::Release);
                slot.reserved.store(reserved, Ordering::Release);
                slot.start.store(base as usize, Ordering::Release);
                paged.slot = Some(i);
                return Ok(());
            }
        }
        Err(std::io::Error::other(format!(
            "more than {SLOTS} weight files open with `--no-mmap`"
        )))
    }

    /// Puts one window back to no access, freeing its pages.
    pub(super) fn forget_window(address: usize) {
        // SAFETY: the window lies inside a reservation this process owns; replacing it with a
        // fresh no-access reservation only makes later reads fault (and refill it).
        unsafe {
            libc::mmap(
                address as *mut libc::c_void,
                WINDOW,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            );
        }
    }

    pub(super) fn unreserve(base: *mut u8, reserved: usize) {
        // SAFETY: the reservation was made by `reserve` with this length and is no longer
        // registered; no slice of it outlives the `Paged` (they borrow it).
        unsafe {
            libc::munmap(base.cast(), reserved);
        }
    }

    /// The action in place before ours, for faults that are not ours.
    static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::zeroed();

    fn install() -> bool {
        use std::sync::OnceLock;
        static INSTALLED: OnceLock<bool> = OnceLock::new();
        *INSTALLED.get_or_init(|| {
            // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; `sigemptyset`
            // and `sigaction` get valid pointers. PREVIOUS is written here once, before the
            // handler that reads it is installed (the `OnceLock` runs this once).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigsegv as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = &raw mut PREVIOUS;
                libc::sigaction(libc::SIGSEGV, &action, (*previous).as_mut_ptr()) == 0
            }
        })
    }

    extern "C" fn on_sigsegv(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let address = unsafe { (*info).si_addr() } as usize;
        for slot in &TABLE {
            let start = slot.start.load(Ordering::Acquire);
            let reserved = slot.reserved.load(Ordering::Acquire);
            if start <= 1 || address < start || address - start >= reserved {
                continue;
            }
            // errno belongs to the interrupted code: put it back.
            // SAFETY: `__errno_location` returns this thread's errno, valid for the thread.
            let errno = unsafe { *libc::__errno_location() };
            fill(slot, start, (address - start) / WINDOW);
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
            return;
        }
        // SAFETY: PREVIOUS was written by `install` before this handler was installed and is
        // never written again.
        unsafe {
            super::super::guard::chain(
                (&raw const PREVIOUS).cast::<libc::sigaction>(),
                signal,
                info,
                context,
            )
        };
    }

    /// Makes window `w` of the slot's reservation readable with the file's bytes (or waits for the
    /// thread doing it). Runs in the signal handler: atomics and system calls only.
    fn fill(slot: &Slot, start: usize, w: usize) {
        let states = slot.states.load(Ordering::Acquire);
        // SAFETY: `states` points at `reserved / WINDOW` states owned by the registered `Paged`,
        // which outlives every read of its reservation (readers borrow it); `w` is below that
        // count because the address lies inside the reservation.
        let state = unsafe { &*states.add(w) };
        loop {
            match state.compare_exchange(EMPTY, FILLING, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                // Filled meanwhile: return and let the load run again.
                Err(READY) => return,
                // Another thread is filling or releasing it: wait for it to finish.
                Err(FILLING | RELEASING) => {
                    // SAFETY: no preconditions.
                    unsafe { libc::sched_yield() };
                }
                Err(_) => return,
            }
        }
        let offset = w * WINDOW;
        let file_len = slot.file_len.load(Ordering::Acquire);
        let want = file_len.saturating_sub(offset).min(WINDOW);
        let target = (start + offset) as *mut libc::c_void;
        // SAFETY: a fresh private anonymous buffer, populated up front (one call instead of a
        // fault per page), owned by this handler until it is moved into the reservation.
        let buffer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                WINDOW,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        let mut got = 0usize;
        let mut placed = false;
        if buffer != libc::MAP_FAILED {
            let fd = slot.fd.load(Ordering::Acquire);
            while got < want {
                // SAFETY: the destination is inside the buffer (`got < want <= WINDOW`).
                let n = unsafe {
                    libc::pread(
                        fd,
                        buffer.cast::<u8>().add(got).cast(),
                        want - got,
                        (offset + got) as libc::off_t,
                    )
                };
                if n > 0 {
                    got += n as usize;
                } else if n < 0
                    // SAFETY: this thread's errno, just set by pread.
                    && unsafe { *libc::__errno_location() } == libc::EINTR
                {
                    continue;
                } else {
                    break; // end of file (it shrank) or an I/O error
                }
            }
            // SAFETY: the buffer is ours; the target window is inside a registered reservation,
            // in state FILLING, so no other thread maps over it; MREMAP_FIXED replaces the
            // no-access pages there with the filled ones in one step.
            placed = unsafe {
                libc::mprotect(buffer, WINDOW, libc::PROT_READ);
                libc::mremap(
                    buffer,
                    WINDOW,
                    WINDOW,
                    libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                    target,
                ) != libc::MAP_FAILED
            };
            if !placed {
                // SAFETY: the buffer is still ours (the move failed).
                unsafe { libc::munmap(buffer, WINDOW) };
            }
        }
        if got < want || !placed {
            let _ = slot.fault.compare_exchange(
                0,
                offset + got + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            super::super::guard::count_fault();
        }
        if !placed {
            // Could not place the bytes: zeros, readable, so the load completes; the fault is
            // recorded and the readers stop.
            // SAFETY: the window is inside a registered reservation in state FILLING.
            unsafe {
                libc::mmap(
                    target,
                    WINDOW,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                );
            }
        }
        state.store(READY, Ordering::Release);
    }
}

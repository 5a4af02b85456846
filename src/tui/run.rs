//! The event loop and the terminal: everything with side effects lives here, so the state and the
//! drawing stay pure.
//!
//! Threads: this one (state and drawing, no locks, never touching tensor bytes), an input thread
//! (reads terminal events, keeps key presses, clicks and the wheel at most every 20 ms), and the
//! statistics engine on a dedicated rayon pool. All three feed one channel of [`Msg`].

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Once};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind, MouseEventKind};
use ratatui::crossterm::{event::DisableMouseCapture, event::EnableMouseCapture, execute};

use super::app::{App, Command, Msg};
use super::background::{self, DiffJob};
use super::data::ModelView;
use crate::model::Model;
use crate::stats::StatsOptions;
use crate::stats::{StatsEvent, StatsRun};

/// Frames at most this often while only engine results arrive (input draws at once).
const FRAME: Duration = Duration::from_millis(33);
/// Wheel events closer than this are dropped: a fast wheel must not flood the loop.
const WHEEL: Duration = Duration::from_millis(20);

/// How the TUI starts.
#[derive(Debug, Clone, Default)]
pub struct BrowseOptions {
    /// Size of the statistics pool (default: all cores but one, at least one, so the UI thread
    /// keeps a core).
    pub threads: Option<usize>,
    /// A tensor-name filter to start with (`--filter`), as if typed after `/`.
    pub filter: Option<String>,
}

/// The name of the input thread: a panic there leaves the UI deaf, so the TUI quits.
const INPUT_THREAD: &str = "glassbox-input";

/// Opens the TUI on `model` until the user quits. A panic of the statistics engine is shown in the
/// UI, which stays usable, and returned as an error once the user quits; a panic of the input
/// thread quits at once with that error; a panic of the UI thread restores the terminal first.
pub fn browse(model: Model, options: BrowseOptions) -> std::io::Result<()> {
    browse_models(None, model, options)
}

/// Opens the TUI on model `b` with a Diff tab comparing `a` with it (`glassbox A B`), opened
/// first; the comparison runs in the background while every tab works.
pub fn browse_diff(a: Model, b: Model, options: BrowseOptions) -> std::io::Result<()> {
    browse_models(Some(a), b, options)
}

fn browse_models(a: Option<Model>, model: Model, options: BrowseOptions) -> std::io::Result<()> {
    let model = Arc::new(model);
    let view = ModelView::build(&model);
    let mut terminal = ratatui::init();
    // After `init`: our hook decides per thread whether ratatui's (which restores the terminal)
    // runs at all.
    install_panic_hook();
    let guard = Restore;
    let result = run(&mut terminal, a.map(Arc::new), model, view, options);
    drop(guard);
    result
}

/// Where a panic of a thread other than the UI's goes while the TUI runs: the UI thread's id and
/// a sender of its channel.
static PANIC_ROUTE: Mutex<Option<(ThreadId, Sender<Msg>)>> = Mutex::new(None);

/// Routes panics of other threads to the running TUI until dropped (on return or unwinding).
struct PanicRoute;

impl PanicRoute {
    fn open(tx: Sender<Msg>) -> PanicRoute {
        let ui = std::thread::current().id();
        *PANIC_ROUTE.lock().unwrap_or_else(|e| e.into_inner()) = Some((ui, tx));
        PanicRoute
    }
}

impl Drop for PanicRoute {
    fn drop(&mut self) {
        *PANIC_ROUTE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A panic's payload as text (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Restores the terminal when dropped: on return and on unwinding alike.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// The panic hook, wrapping ratatui's (installed by `init`, which restores the terminal and then
/// prints the panic):
///
/// - on another thread while the TUI runs (the statistics engine, its pool, the input thread):
///   the message goes to the UI as [`Msg::EngineFailed`] and nothing touches the terminal — a
///   restore there would leave the UI running on a half-restored terminal, and a message printed
///   there would land in the middle of the screen;
/// - otherwise (the UI thread itself, or after the TUI ended): mouse capture off (ratatui's hook
///   does not do it), then ratatui's hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_lock`: a panic while the route is being set must not deadlock here.
            let route = PANIC_ROUTE.try_lock().ok().and_then(|r| r.clone());
            let current = std::thread::current();
            if let Some((ui, tx)) = route
                && current.id() != ui
            {
                let thread = current.name().unwrap_or("a worker thread");
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = format!(
                    "{thread} panicked{location}: {}",
                    panic_message(info.payload())
                );
                if tx.send(Msg::EngineFailed(message)).is_ok() {
                    return;
                }
            }
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
            previous(info);
        }));
    });
}

fn run(
    terminal: &mut DefaultTerminal,
    a: Option<Arc<Model>>,
    model: Arc<Model>,
    view: ModelView,
    options: BrowseOptions,
) -> std::io::Result<()> {
    let size = terminal.size()?;
    let mut app = App::new(view, (size.width, size.height));
    if let Some(a) = &a {
        let total = a.tensor_bytes_total() + model.tensor_bytes_total();
        app = app.with_diff(a.path.display().to_string(), total);
    }
    if let Some(filter) = options.filter {
        app.set_filter(filter);
        app.settle();
    }
    // The first frame, before any tensor byte is read.
    terminal.draw(|f| super::ui::render(&app, f))?;

    let (tx, rx) = mpsc::channel::<Msg>();
    let _route = PanicRoute::open(tx.clone());
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = spawn_input(tx.clone(), Arc::clone(&stop_input))?;
    background::spawn_transparency(Arc::clone(&model), tx.clone())?;
    let threads = options.threads.unwrap_or_else(default_threads);
    let diff = match a {
        Some(a) => Some(DiffJob::start(a, Arc::clone(&model), threads, tx.clone())?),
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("glassbox-stats-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let engine_tx = tx;
    let started = Instant::now();
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let read = model.clone();
    let run = StatsRun::start(
        model,
        all,
        StatsOptions::default(),
        Arc::new(pool),
        Box::new(move |event| {
            // A file that shrank stops the engine (a SIGBUS caught by `model::guard`); one that
            // grew or was rewritten makes the results suspect: either way the user is told.
            if matches!(event, StatsEvent::Cancelled | StatsEvent::Finished { .. })
                && let Err(e) = read.check_unchanged()
            {
                let message =
                    crate::text::printable(&e.to_string().replace('\n', " "), false).into_owned();
                let _ = engine_tx.send(Msg::ReadError(message));
            }
            let _ = engine_tx.send(Msg::Stats(event));
        }),
    );
    for c in app.settle() {
        carry_out(&c, &run)?;
    }
    let result = event_loop(terminal, &mut app, &rx, &run, diff.as_ref(), started);
    // Quit at once: cancel the work (the workers stop at their next chunk), then stop input.
    run.cancel();
    if let Some(diff) = &diff {
        diff.cancel();
    }
    stop_input.store(true, Ordering::Relaxed);
    drop(run);
    let _ = input.join();
    result?;
    // The user has seen the failure in the UI; the shell gets it too, after the terminal is back
    // (exit 2, as `stats` does for a file that changed while read).
    if let Some(message) = app.read_error {
        return Err(std::io::Error::other(message));
    }
    match app.engine_failure {
        Some(failure) => Err(std::io::Error::other(format!(
            "the statistics stopped early: {failure}"
        ))),
        None => Ok(()),
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    run: &StatsRun,
    diff: Option<&DiffJob>,
    started: Instant,
) -> std::io::Result<()> {
    let mut last_draw = Instant::now();
    let mut pending_draw = false;
    loop {
        let first = match rx.recv_timeout(FRAME) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let mut input = false;
        let mut commands = Vec::new();
        for msg in first.into_iter().chain(rx.try_iter()) {
            // Without the input thread no key arrives, not even `q`: leave now.
            if let Msg::EngineFailed(failure) = &msg
                && failure.starts_with(INPUT_THREAD)
            {
                return Err(std::io::Error::other(failure.clone()));
            }
            input |= !matches!(msg, Msg::Stats(_));
            pending_draw |= matches!(msg, Msg::Stats(_));
            commands.extend(app.update(msg));
        }
        if !run.is_finished() || pending_draw {
            app.update(Msg::Progress {
                progress: run.progress(),
                elapsed: started.elapsed(),
            });
            pending_draw = true;
        }
        if let Some(job) = diff
            && app.diff_running()
        {
            app.update(Msg::DiffProgress(job.done()));
            pending_draw = true;
        }
        commands.extend(app.settle());
        for c in &commands {
            if *c == Command::Quit {
                return Ok(());
            }
            carry_out(c, run)?;
        }
        if input || (pending_draw && last_draw.elapsed() >= FRAME) {
            draw(terminal, app)?;
            last_draw = Instant::now();
            pending_draw = false;
        }
    }
}

fn draw(terminal: &mut DefaultTerminal, app: &App) -> std::io::Result<()> {
    use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    // Synchronized update: the terminal shows the whole frame at once, never half of one.
    execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| super::ui::render(app, f))?;
    execute!(std::io::stdout(), EndSynchronizedUpdate)
}

fn carry_out(c: &Command, run: &StatsRun) -> std::io::Result<()> {
    match c {
        Command::Quit => Ok(()),
        Command::Prioritize(tensors) => {
            run.prioritize(tensors);
            Ok(())
        }
        Command::Copy(text) => {
            let mut out = std::io::stdout();
            write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()))?;
            out.flush()
        }
        Command::MouseCapture(true) => execute!(std::io::stdout(), EnableMouseCapture),
        Command::MouseCapture(false) => execute!(std::io::stdout(), DisableMouseCapture),
    }
}

/// Reads terminal events until `stop`: key presses (not releases or repeats of kitty-protocol
/// terminals), resizes, clicks and a throttled wheel; mouse moves are dropped.
fn spawn_input(
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(INPUT_THREAD.into())
        .spawn(move || {
            let mut last_wheel = Instant::now() - WHEEL;
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(50)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => break,
                }
                let msg = match event::read() {
                    Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => Msg::Key(k),
                    Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(Event::Mouse(m)) => match m.kind {
                        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                            if last_wheel.elapsed() < WHEEL {
                                continue;
                            }
                            last_wheel = Instant::now();
                            Msg::Mouse(m)
                        }
                        MouseEventKind::Down(_) => Msg::Mouse(m),
                        _ => continue,
                    },
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        })
}

/// Standard base64 with padding, for OSC 52.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_off_the_ui_thread_goes_to_the_ui_and_leaves_the_terminal_alone() {
        install_panic_hook();
        let (tx, rx) = mpsc::channel::<Msg>();
        let route = PanicRoute::open(tx);
        let worker = std::thread::Builder::new()
            .name("glassbox-test-worker".into())
            .spawn(|| panic!("decoder overflow in tensor {}", 7))
            .unwrap();
        assert!(worker.join().is_err());
        // Other tests of this process may panic meanwhile: find this one's message.
        let message = rx
            .iter()
            .find_map(|m| match m {
                Msg::EngineFailed(text) if text.starts_with("glassbox-test-worker") => Some(text),
                _ => None,
            })
            .expect("the panic reached the channel");
        assert!(message.contains("panicked at src/tui/run.rs:"), "{message}");
        assert!(
            message.ends_with(": decoder overflow in tensor 7"),
            "{message}"
        );
        drop(route);
        assert!(PANIC_ROUTE.lock().unwrap().is_none());
    }

    #[test]
    fn a_panic_payload_reads_as_its_message() {
        assert_eq!(panic_message(&"literal"), "literal");
        assert_eq!(panic_message(&String::from("formatted 3")), "formatted 3");
        assert_eq!(panic_message(&42_u32), "a panic without a message");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}

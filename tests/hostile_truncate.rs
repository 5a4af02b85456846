//! A weight file that shrinks, grows or is rewritten while glassbox reads it: an error naming the
//! file (and the tensor being read), exit 2, never a death by SIGBUS.
//!
//! The in-process tests are deterministic (the file is truncated after open, before the engine
//! reads); the binary test truncates a large sparse file while `glassbox stats` is reading it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

mod common;

use common::sparse_f32;
use glassbox::Error;
use glassbox::stats::{Cancelled, StatsOptions, compute_model_stats, thread_pool};

fn run_stats(model: &Arc<glassbox::Model>) -> Result<(), Cancelled> {
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let pool = thread_pool(Some(2)).unwrap();
    let options = StatsOptions {
        sample_above: None,
        ..StatsOptions::default()
    };
    compute_model_stats(
        model,
        &all,
        &options,
        &pool,
        &|_| {},
        &AtomicBool::new(false),
    )
    .map(|_| ())
}

#[test]
fn truncated_after_open_is_an_error_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    // Two tensors of 8 MiB: the file is cut inside the second.
    let (start, _) = sparse_f32(&path, 2, 2 << 20);
    let model = Arc::new(glassbox::model::open(&path).unwrap());
    model.check_unchanged().unwrap();
    let cut = start + (8 << 20) + (1 << 20);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    // The run stops at the fault: no results from the zero-filled pages.
    assert_eq!(run_stats(&model), Err(Cancelled));
    match model.check_unchanged() {
        Err(Error::FileChanged { path: p, tensor }) => {
            assert_eq!(p, path);
            assert_eq!(tensor.as_deref(), Some("t1"));
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
    let message = model.check_unchanged().unwrap_err().to_string();
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(
        message.contains("the file changed while it was being read"),
        "{message}"
    );
    assert!(message.contains("`t1`"), "{message}");
}

#[test]
fn extended_or_rewritten_after_open_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grown.safetensors");
    let (_, len) = sparse_f32(&path, 1, 1024);
    let model = glassbox::model::open(&path).unwrap();
    assert!(model.check_unchanged().is_ok());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len + 4096)
        .unwrap();
    match model.check_unchanged() {
        // No read faulted: the tensor is not known, the file is.
        Err(Error::FileChanged { path: p, tensor }) => {
            assert_eq!(p, path);
            assert_eq!(tensor, None);
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
}

#[test]
fn a_fault_outside_glassbox_maps_still_kills() {
    // The guard handles only its own ranges: a SIGBUS elsewhere keeps its default action. Checked
    // in a child process (this test binary, re-run with an argument).
    if std::env::var_os("GLASSBOX_FOREIGN_SIGBUS").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guarded.safetensors");
        sparse_f32(&path, 1, 1024);
        // Installs the handler.
        let _model = glassbox::model::open(&path).unwrap();
        let other = dir.path().join("other.bin");
        std::fs::write(&other, vec![1u8; 8192]).unwrap();
        let file = std::fs::File::open(&other).unwrap();
        // SAFETY: test only; the file is truncated below to provoke SIGBUS on purpose.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&other)
            .unwrap()
            .set_len(0)
            .unwrap();
        // SAFETY: the offset is inside the 8 KiB map; the read faults on purpose (test only).
        let byte = unsafe { std::ptr::read_volatile(map.as_ptr().add(4096)) };
        println!("read {byte} without a signal");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "a_fault_outside_glassbox_maps_still_kills",
            "--nocapture",
        ])
        .env("GLASSBOX_FOREIGN_SIGBUS", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc_sigbus()), "{out:?}");
}

fn libc_sigbus() -> i32 {
    // SIGBUS is 7 on Linux (x86, arm), 10 on macOS and the BSDs.
    if cfg!(target_os = "linux") { 7 } else { 10 }
}

#[test]
fn binary_stats_on_a_file_truncated_while_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    // 8 GiB of sparse zeros, in 32 tensors: several seconds of reading on two cores.
    let (start, _) = sparse_f32(&path, 32, 64 << 20);
    let child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["stats", "--exact", "--threads", "2", "-q"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it open the header and start reading, then cut the file inside the first tensor.
    std::thread::sleep(Duration::from_millis(400));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(start + 4096)
        .unwrap();
    let began = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(began.elapsed() < Duration::from_secs(60));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "killed by a signal: {out:?}");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("big.safetensors"), "{stderr}");
    assert!(
        stderr.contains("the file changed while it was being read"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_tui_shows_a_read_error_and_stays_up() {
    use glassbox::tui::app::{App, Msg};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    sparse_f32(&path, 3, 1024);
    let model = glassbox::model::open(&path).unwrap();
    let mut app = App::new(glassbox::tui::data::ModelView::build(&model), (100, 30));
    let message = "big.safetensors: the file changed while it was being read (reading tensor `t1`)";
    app.update(Msg::ReadError(message.into()));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal
        .draw(|f| glassbox::tui::ui::render(&app, f))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("error: big.safetensors: the file changed"),
        "{screen}"
    );
    // Still answering: `?` opens the help, and the app does not quit.
    assert!(!app.help);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('?'),
        KeyModifiers::NONE,
    )));
    assert!(app.help);
    assert!(!app.quit);
}

/// Runs the binary with `args`, cuts `victim` to `cut` bytes after 400 ms, and checks the run
/// ends with the one-line "changed" error naming the file, exit 2, no signal, nothing on stdout.
fn cut_while_running(args: &[&std::ffi::OsStr], victim: &Path, cut: u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    std::fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let began = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(began.elapsed() < Duration::from_secs(120));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "killed by a signal: {out:?}");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(stderr.contains(name), "{stderr}");
    assert!(
        stderr.contains("the file changed while it was being read"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_transparency_on_a_file_truncated_while_hashed_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashed.safetensors");
    // 8 GiB: seconds of SHA-256; the file is cut well before the hash reaches the end.
    let (start, _) = sparse_f32(&path, 32, 64 << 20);
    let args = ["transparency".as_ref(), "-q".as_ref(), path.as_os_str()];
    cut_while_running(&args, &path, start + 4096);
}

#[test]
fn binary_diff_on_a_file_truncated_while_compared_exits_2() {
    for no_mmap in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.safetensors");
        let b = dir.path().join("b.safetensors");
        let (start, _) = sparse_f32(&a, 32, 64 << 20);
        sparse_f32(&b, 32, 64 << 20);
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "diff".as_ref(),
            "-q".as_ref(),
            "--no-rank".as_ref(),
            a.as_os_str(),
            b.as_os_str(),
        ];
        if no_mmap {
            args.push("--no-mmap".as_ref());
        }
        cut_while_running(&args, &b, start + 4096);
    }
}

#[test]
fn binary_tui_on_a_file_truncated_while_read_shows_it_answers_and_exits_2() {
    // The real binary in tmux (skipped with a notice when tmux is missing, as in tests/tui_e2e.rs).
    if !Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("tmux not found: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("browsed.safetensors");
    let (start, _) = sparse_f32(&path, 32, 64 << 20);
    let status = dir.path().join("status");
    let socket = format!("glassbox-truncate-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    };
    let command = format!(
        "{} browse {}; echo $? > {}; sleep 60",
        env!("CARGO_BIN_EXE_glassbox"),
        path.display(),
        status.display()
    );
    let started = tmux(&["new-session", "-d", "-x", "120", "-y", "40", &command]);
    assert!(started.status.success(), "{started:?}");
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
    let wait_for = |what: &str| {
        let began = Instant::now();
        while !screen().contains(what) {
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "no {what:?}:\n{}",
                screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("glassbox");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(start + 4096)
        .unwrap();
    wait_for("the file changed while it was being read");
    // Still answering: the help opens and closes.
    tmux(&["send-keys", "?"]);
    wait_for("keys (Esc closes)");
    tmux(&["send-keys", "Escape"]);
    // `q` only once the help has closed: sent at once, the two reach the program as one
    // "Esc q" sequence (Alt+q) on a loaded machine, and nothing quits.
    let began = Instant::now();
    while screen().contains("keys (Esc closes)") {
        assert!(began.elapsed() < Duration::from_secs(30), "{}", screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["send-keys", "q"]);
    let began = Instant::now();
    while std::fs::read_to_string(&status).map_or(true, |s| s.trim().is_empty()) {
        assert!(began.elapsed() < Duration::from_secs(30), "{}", screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    let code = std::fs::read_to_string(&status).unwrap();
    let after = screen();
    tmux(&["kill-server"]);
    assert_eq!(code.trim(), "2", "{after}");
    assert!(
        after.contains("error: ") && after.contains("browsed.safetensors"),
        "{after}"
    );
}

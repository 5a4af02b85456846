//! The real binary in a real terminal (tmux): the first screen, `2`, `/query`, `?`, `q` with exit
//! status 0 and the terminal given back; `glassbox A B` opening on the Diff tab; and, piped,
//! `glassbox PATH` prints the summary and `glassbox A B` the diff.
//!
//! Skipped with a printed notice when tmux is missing (`.ci/run` installs it). Each test uses its
//! own tmux server socket, so tests never see each other's sessions or the user's.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux server of its own, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("glassbox-e2e-{name}-{}", std::process::id());
        let t = Tmux { socket };
        let out = t.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-c",
            env!("CARGO_MANIFEST_DIR"),
            command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// Sends tmux key names (`Enter`, `Escape`) or literal text.
    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
        // An Escape followed at once by a key reads as Alt-key: leave the terminal a moment.
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Polls the screen until `text` has left it, for up to 20 s (a key sent after an Escape
    /// must not reach the program with it: "Esc q" reads as Alt+q).
    fn wait_gone(&self, text: &str) {
        let start = Instant::now();
        while self.screen().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{text:?} still shown:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls the screen until it holds `text`, for up to 20 s.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_glassbox"))
}

#[test]
fn first_screen_tensors_filter_help_and_quit_with_status_0() {
    if !tmux_available() {
        eprintln!("notice: tmux not found; skipping the end-to-end TUI test (.ci/run installs it)");
        return;
    }
    let command = format!(
        "{} fixtures/llama-tiny; echo \"glassbox exited $?\"; sleep 30",
        binary().display()
    );
    let tmux = Tmux::start("browse", &command);
    let first = tmux.wait_for("1 Overview");
    assert!(first.contains("llama-tiny"), "{first}");
    assert!(
        first.contains("llama decoder"),
        "the family at once:\n{first}"
    );

    tmux.send(&["2"]);
    let tree = tmux.wait_for("tensors (20)");
    assert!(tree.contains("layers.{0..1} ×2"), "{tree}");

    tmux.send(&["/", "up_proj"]);
    let filtered = tmux.wait_for("filter: up_proj");
    assert!(filtered.contains("up_proj.weight"), "{filtered}");
    assert!(!filtered.contains("embed_tokens"), "{filtered}");
    tmux.send(&["Enter"]);

    tmux.send(&["?"]);
    let help = tmux.wait_for("keys (Esc closes)");
    assert!(help.contains("copy the selected name"), "{help}");
    tmux.send(&["Escape"]);
    tmux.wait_gone("keys (Esc closes)");

    tmux.send(&["q"]);
    let after = tmux.wait_for("glassbox exited");
    assert!(after.contains("glassbox exited 0"), "{after}");
    // The alternate screen is gone: the UI's frame is no longer on the terminal.
    assert!(
        !after.contains("1 Overview"),
        "terminal not restored:\n{after}"
    );
}

#[test]
fn filter_option_starts_the_tree_filtered_and_another_format_prints_on_a_terminal() {
    if !tmux_available() {
        eprintln!("notice: tmux not found; skipping the end-to-end TUI test (.ci/run installs it)");
        return;
    }
    let command = format!(
        "{bin} fixtures/llama-tiny --filter up_proj; echo \"glassbox exited $?\"; read _; {bin} fixtures/llama-tiny --format markdown; echo \"markdown exited $?\"; sleep 30",
        bin = binary().display()
    );
    let tmux = Tmux::start("filter", &command);
    tmux.wait_for("1 Overview");
    tmux.send(&["2"]);
    let tree = tmux.wait_for("filter: up_proj");
    assert!(!tree.contains("embed_tokens"), "{tree}");
    tmux.send(&["q"]);
    tmux.wait_for("glassbox exited 0");
    tmux.send(&["Enter"]);
    // `--format markdown` on a terminal prints, it does not open the TUI.
    let after = tmux.wait_for("markdown exited");
    assert!(after.contains("markdown exited 0"), "{after}");
    assert!(after.contains("| "), "markdown table expected:\n{after}");
}

#[test]
fn ctrl_c_quits_at_once_with_status_0() {
    if !tmux_available() {
        eprintln!("notice: tmux not found; skipping the end-to-end TUI test (.ci/run installs it)");
        return;
    }
    let command = format!(
        "{} browse fixtures/gguf/llama-tiny.gguf; echo \"glassbox exited $?\"; sleep 30",
        binary().display()
    );
    let tmux = Tmux::start("ctrlc", &command);
    tmux.wait_for("1 Overview");
    tmux.send(&["C-c"]);
    let after = tmux.wait_for("glassbox exited");
    assert!(after.contains("glassbox exited 0"), "{after}");
}

#[test]
fn two_models_open_the_diff_tab_with_the_verdict_and_quit_with_status_0() {
    if !tmux_available() {
        eprintln!("notice: tmux not found; skipping the end-to-end TUI test (.ci/run installs it)");
        return;
    }
    let command = format!(
        "{} fixtures/diff/base fixtures/diff/finetune; echo \"glassbox exited $?\"; sleep 30",
        binary().display()
    );
    let tmux = Tmux::start("diff", &command);
    let first = tmux.wait_for("5 Diff");
    assert!(first.contains("1 Overview"), "{first}");
    // The comparison runs in the background; its verdict lands in the header.
    let done = tmux.wait_for("fine-tuned: 16 tensors changed");
    assert!(done.contains("base → finetune"), "{done}");
    assert!(done.contains("changed (16 of 39)"), "{done}");
    assert!(
        done.contains("model.layers.3.self_attn.q_proj.weight (1 of 16)"),
        "{done}"
    );
    tmux.send(&["j"]);
    tmux.wait_for("(2 of 16)");
    tmux.send(&["4"]);
    tmux.wait_for("what the files prove");
    tmux.send(&["5"]);
    tmux.wait_for("|Δ| by octave");
    tmux.send(&["q"]);
    let after = tmux.wait_for("glassbox exited");
    assert!(after.contains("glassbox exited 0"), "{after}");
}

#[test]
fn q_during_a_running_comparison_quits_at_once() {
    if !tmux_available() {
        eprintln!("notice: tmux not found; skipping the end-to-end TUI test (.ci/run installs it)");
        return;
    }
    // The permuted copy: its lineage test matches every MLP unit, the slowest comparison here.
    let command = format!(
        "{} browse fixtures/diff/base fixtures/diff/permuted; echo \"glassbox exited $?\"; sleep 30",
        binary().display()
    );
    let tmux = Tmux::start("diffquit", &command);
    tmux.wait_for("5 Diff");
    tmux.send(&["q"]);
    let after = tmux.wait_for("glassbox exited");
    assert!(after.contains("glassbox exited 0"), "{after}");
}

#[test]
fn piped_two_models_print_the_diff_with_its_exit_status() {
    let run = |args: &[&str]| {
        Command::new(binary())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run glassbox")
    };
    let (a, b) = ("fixtures/diff/base", "fixtures/diff/finetune");
    let default = run(&[a, b]);
    let diff = run(&["diff", a, b]);
    assert_eq!(default.status.code(), Some(1), "the weights differ");
    assert_eq!(default.stdout, diff.stdout);
    assert!(String::from_utf8_lossy(&default.stdout).contains("verdict: fine-tuned"));
    let same = run(&[a, "fixtures/diff/reupload"]);
    assert_eq!(same.status.code(), Some(0));
    let bad = run(&[a, "fixtures/no-such-model"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&bad.stderr).lines().count(), 1);
    let browse = run(&["browse", a, b]);
    assert_eq!(browse.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&browse.stderr),
        "error: `browse` needs a terminal and stdout is not one; try `glassbox diff`\n"
    );
}

#[test]
fn piped_it_prints_the_summary() {
    let path = "fixtures/llama-tiny";
    let run = |args: &[&str]| {
        Command::new(binary())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run glassbox")
    };
    let default = run(&[path]);
    let summary = run(&["summary", path]);
    assert!(default.status.success());
    assert!(!default.stdout.is_empty());
    assert_eq!(default.stdout, summary.stdout);
}

#[test]
fn browse_of_a_bad_path_is_a_one_line_error_with_status_2() {
    let out = Command::new(binary())
        .args(["browse", "fixtures/no-such-model"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run glassbox");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn browse_without_a_terminal_says_so_with_status_2() {
    let out = Command::new(binary())
        .args(["browse", "fixtures/llama-tiny"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run glassbox");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "error: `browse` needs a terminal and stdout is not one; try `glassbox summary`\n"
    );
}

//! `--no-mmap`: weight files read with `pread` through the pager (`model::pager`) give exactly what
//! the map gives, on every fixture and every command that reads tensor bytes, keep resident memory
//! bounded by releasing what was read, and turn a file that shrinks during the read into the same
//! clear error as the map's SIGBUS guard (exit 2), never a signal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::{fixtures, glassbox, sparse_f32};
use glassbox::Error;
use glassbox::model::{Reading, open_with};
use glassbox::stats::{Cancelled, StatsOptions, compute_model_stats, thread_pool};

/// Every fixture model: each weight file or index on its own, and each folder holding weights.
fn models() -> Vec<PathBuf> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        let mut holds_weights = false;
        for path in entries {
            if path.is_dir() {
                collect(&path, out);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".safetensors") || name.ends_with(".gguf") {
                holds_weights = true;
                out.push(path);
            } else if name.ends_with(".index.json") {
                out.push(path);
            }
        }
        if holds_weights {
            out.push(dir.to_path_buf());
        }
    }
    let mut out = Vec::new();
    collect(&fixtures(), &mut out);
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fixture_reads_the_same_bytes_through_the_pager() {
    let models = models();
    assert!(models.len() > 100, "fixtures found: {}", models.len());
    let mut opened = 0;
    for path in &models {
        let mapped = glassbox::model::open(path);
        let paged = open_with(path, Reading::Pread);
        match (&mapped, &paged) {
            (Ok(m), Ok(p)) => {
                opened += 1;
                assert!(p.files.iter().all(|f| f.is_paged()));
                assert!(m.files.iter().all(|f| !f.is_paged()));
                assert_eq!(m.tensors, p.tensors, "{}", path.display());
                for (fm, fp) in m.files.iter().zip(&p.files) {
                    // The whole file, independently of glassbox: what `std::fs::read` returns.
                    let disk = std::fs::read(&fp.path).unwrap();
                    assert_eq!(fp.bytes(), &disk[..], "{}", fp.path.display());
                    assert_eq!(fm.bytes(), &disk[..]);
                    // Released, then read again: the same bytes.
                    fp.release(0..disk.len());
                    assert_eq!(fp.bytes(), &disk[..], "{}", fp.path.display());
                }
                assert!(p.check_unchanged().is_ok());
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!(
                "{}: mapped {:?}, paged {:?}",
                path.display(),
                mapped.as_ref().err(),
                paged.as_ref().err()
            ),
        }
    }
    assert!(opened > 80, "opened {opened}");
}

/// stdout, stderr and exit code of `glassbox ARGS` and `glassbox ARGS --no-mmap` are identical.
fn same_with_and_without_mmap(args: &[&str]) {
    let mapped = glassbox(args);
    let mut with = args.to_vec();
    with.push("--no-mmap");
    let paged = glassbox(&with);
    assert_eq!(mapped.status.code(), paged.status.code(), "{args:?}");
    assert!(mapped.status.code().is_some(), "{args:?}: {mapped:?}");
    assert_eq!(
        String::from_utf8_lossy(&mapped.stderr),
        String::from_utf8_lossy(&paged.stderr),
        "{args:?}"
    );
    assert!(
        mapped.stdout == paged.stdout,
        "{args:?}: stdout differs with --no-mmap"
    );
}

#[test]
fn stats_on_every_fixture_is_identical_without_mmap() {
    let models = models();
    // Two workers, as the snapshot test: the binary runs dominate.
    std::thread::scope(|scope| {
        for half in models.chunks(models.len().div_ceil(2)) {
            scope.spawn(move || {
                for path in half {
                    let path = relative(path);
                    same_with_and_without_mmap(&["stats", &path, "--format", "json"]);
                    same_with_and_without_mmap(&["stats", &path, "--exact", "--format", "json"]);
                }
            });
        }
    });
}

#[test]
fn diff_is_identical_without_mmap() {
    for b in [
        "reupload",
        "resharded",
        "finetune",
        "lora",
        "bf16",
        "renamed",
        "added_tokens",
        "permuted",
        "independent",
    ] {
        let b = format!("fixtures/diff/{b}");
        same_with_and_without_mmap(&["diff", "fixtures/diff/base", &b, "--format", "json"]);
    }
    for q in ["q8_0.gguf", "q4_k.gguf"] {
        let q = format!("fixtures/diff/q/{q}");
        same_with_and_without_mmap(&[
            "diff",
            "fixtures/diff/q/model.safetensors",
            &q,
            "--format",
            "json",
        ]);
    }
}

#[test]
fn transparency_is_identical_without_mmap() {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(fixtures().join("transparency"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    assert!(folders.len() >= 8);
    for folder in folders {
        let folder = relative(&folder);
        same_with_and_without_mmap(&["transparency", &folder, "--format", "json"]);
    }
    same_with_and_without_mmap(&[
        "transparency",
        "fixtures/diff/lora",
        "--base",
        "fixtures/diff/base",
        "--format",
        "json",
    ]);
    same_with_and_without_mmap(&["summary", "fixtures/llama-tiny", "--format", "json"]);
    same_with_and_without_mmap(&["tensors", "fixtures/gguf", "--format", "json"]);
}

#[test]
fn truncated_after_open_without_mmap_is_an_error_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    // Two tensors of 8 MiB: the file is cut inside the second.
    let (start, _) = sparse_f32(&path, 2, 2 << 20);
    let model = Arc::new(open_with(&path, Reading::Pread).unwrap());
    model.check_unchanged().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(start + (8 << 20) + (1 << 20))
        .unwrap();
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let options = StatsOptions {
        sample_above: None,
        ..StatsOptions::default()
    };
    let pool = thread_pool(Some(2)).unwrap();
    let run = compute_model_stats(
        &model,
        &all,
        &options,
        &pool,
        &|_| {},
        &AtomicBool::new(false),
    );
    // The run stops at the short read: no results from the zeros that stand in for it.
    assert_eq!(run.map(|_| ()), Err(Cancelled));
    match model.check_unchanged() {
        Err(Error::FileChanged { path: p, tensor }) => {
            assert_eq!(p, path);
            assert_eq!(tensor.as_deref(), Some("t1"));
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
}

#[test]
fn many_threads_reading_and_releasing_the_same_windows_see_the_file() {
    // Bytes that differ window to window and within one: a mixed-up window would show.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pattern.bin");
    let len = 9 * glassbox::model::pager::WINDOW + 12345;
    let data: Vec<u8> = (0..len as u64)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let paged = glassbox::model::pager::Paged::open(file, len as u64).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8usize {
            let (paged, data) = (&paged, &data);
            scope.spawn(move || {
                let bytes = paged.bytes();
                let mut seed = t as u64 + 1;
                for _ in 0..400 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let a = (seed >> 33) as usize % len;
                    let b = (a + (seed as usize % (3 << 20))).min(len);
                    assert_eq!(&bytes[a..b], &data[a..b], "thread {t} at {a}..{b}");
                    if seed.is_multiple_of(3) {
                        paged.release(a..b);
                    }
                }
            });
        }
    });
    assert_eq!(paged.fault_offset(), None);
    assert_eq!(paged.bytes(), &data[..]);
}

#[test]
fn an_empty_file_and_a_partial_last_window() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let paged =
        glassbox::model::pager::Paged::open(std::fs::File::open(&empty).unwrap(), 0).unwrap();
    assert!(paged.bytes().is_empty());
    let odd = dir.path().join("odd");
    std::fs::write(&odd, b"abc").unwrap();
    let paged = glassbox::model::pager::Paged::open(std::fs::File::open(&odd).unwrap(), 3).unwrap();
    assert_eq!(paged.bytes(), b"abc");
    assert_eq!(paged.fault_offset(), None);
}

#[test]
fn a_segfault_outside_the_pager_still_kills() {
    // The pager handles only its own reservations: any other SIGSEGV keeps its default action.
    if std::env::var_os("GLASSBOX_FOREIGN_SIGSEGV").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paged.bin");
        std::fs::write(&path, [7u8; 100]).unwrap();
        // Installs the handler, and reads through it once.
        let paged =
            glassbox::model::pager::Paged::open(std::fs::File::open(&path).unwrap(), 100).unwrap();
        assert_eq!(paged.bytes()[99], 7);
        // SAFETY: test only: a no-access page of our own, read on purpose to fault.
        let byte = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            std::ptr::read_volatile(p.cast::<u8>())
        };
        println!("read {byte} without a signal");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_segfault_outside_the_pager_still_kills",
            "--nocapture",
        ])
        .env("GLASSBOX_FOREIGN_SIGSEGV", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(11), "{out:?}");
}

#[test]
fn binary_stats_without_mmap_on_a_file_truncated_while_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    // 8 GiB of sparse zeros, in 32 tensors: several seconds of reading on two cores.
    let (start, _) = sparse_f32(&path, 32, 64 << 20);
    let child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["stats", "--exact", "--threads", "2", "-q", "--no-mmap"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
    assert!(stderr.contains("big.safetensors"), "{stderr}");
    assert!(
        stderr.contains("the file changed while it was being read"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

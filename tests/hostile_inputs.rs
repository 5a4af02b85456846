//! Hostile inputs: allocation bombs fail fast with bounded memory, and inputs that are not what
//! they seem (mixed folders, link loops, dangling Hugging Face cache links, FIFOs, devices,
//! non-UTF-8 names, partial downloads, unreadable files) give a clear error or a note, never a
//! hang, a panic or a signal.
//!
//! Every hostile file is built here, byte by byte (sparse where large), in a temporary folder.

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use glassbox::Error;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs the binary with a deadline (a hang fails the test instead of stalling it).
fn run(args: &[&std::ffi::OsStr], deadline: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let began = Instant::now();
    // Drain stdout on a thread so a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).ok();
        v
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = Vec::new();
            std::io::Read::read_to_end(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return Output {
                status,
                stdout: reader.join().unwrap(),
                stderr,
            };
        }
        if began.elapsed() > deadline {
            child.kill().ok();
            panic!("glassbox {args:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn glassbox(args: &[&str], path: &Path) -> Output {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.push(path.as_os_str());
    run(&all, Duration::from_secs(120))
}

/// Exit 2, one stderr line starting `error: `, no signal; returns the line.
fn clean_error(out: &Output) -> String {
    assert_eq!(out.status.signal(), None, "{out:?}");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// The largest resident set of any child waited for so far, in bytes (Linux reports KiB).
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    usage.ru_maxrss as u64 * 1024
}

/// A GGUF file builder (little-endian, version 3).
#[derive(Default)]
struct Gguf(Vec<u8>);

impl Gguf {
    fn header(tensors: u64, kvs: u64) -> Gguf {
        let mut g = Gguf::default();
        g.0.extend_from_slice(b"GGUF");
        g.u32(3).u64(tensors).u64(kvs);
        g
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_owned()
}

/// A valid one-tensor safetensors file (4 F32 values).
fn tiny_safetensors(path: &Path) {
    let header = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(&[0; 16]);
    write(path, &b);
}

/// A sparse file of `len` bytes whose first bytes are `head`.
fn sparse(path: &Path, head: &[u8], len: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.seek(SeekFrom::Start(len - 1)).unwrap();
    f.write_all(b" ").unwrap();
}

fn open_err(path: &Path) -> String {
    let began = Instant::now();
    let e = glassbox::model::open(path).expect_err("hostile input must not open");
    assert!(began.elapsed() < Duration::from_secs(5), "slow refusal");
    let message = e.to_string();
    assert!(!message.contains('\n'), "{message}");
    message
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------------------------------
// Allocation bombs
// ---------------------------------------------------------------------------------------------

#[test]
fn gguf_tensor_count_of_2_pow_60_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("m.gguf"), &Gguf::header(1 << 60, 0).0);
    let message = open_err(&p);
    assert!(message.contains("m.gguf"), "{message}");
    clean_error(&glassbox(&["summary"], &p));
}

#[test]
fn gguf_metadata_count_of_2_pow_60_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("m.gguf"), &Gguf::header(0, 1 << 60).0);
    open_err(&p);
    clean_error(&glassbox(&["tensors"], &p));
}

#[test]
fn gguf_string_of_2_pow_40_bytes_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Gguf::header(0, 1);
    g.str("general.name").u32(8).u64(1 << 40);
    g.0.extend_from_slice(b"tiny");
    let p = write(&dir.path().join("m.gguf"), &g.0);
    open_err(&p);
    // A key of 2^40 bytes too.
    let mut g = Gguf::header(0, 1);
    g.u64(1 << 40);
    let p = write(&dir.path().join("k.gguf"), &g.0);
    open_err(&p);
}

#[test]
fn gguf_array_of_2_pow_60_items_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for elem in [0u32, 8, 9] {
        let mut g = Gguf::header(0, 1);
        g.str("tokenizer.ggml.tokens").u32(9).u32(elem).u64(1 << 60);
        let p = write(&dir.path().join(format!("a{elem}.gguf")), &g.0);
        open_err(&p);
    }
}

#[test]
fn gguf_deep_nesting_is_refused_without_recursing_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Gguf::header(0, 1);
    g.str("deep").u32(9);
    // 100 000 nested arrays of one array each: a recursive reader without a cap overflows its
    // stack (a signal); the cap refuses it.
    for _ in 0..100_000 {
        g.u32(9).u64(1);
    }
    g.u32(0).u64(0);
    let p = write(&dir.path().join("deep.gguf"), &g.0);
    let message = open_err(&p);
    assert!(message.contains("deep.gguf"), "{message}");
    clean_error(&glassbox(&["summary"], &p));
}

#[test]
fn gguf_tensor_dimensions_whose_product_overflows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Gguf::header(1, 0);
    g.str("w").u32(4);
    for _ in 0..4 {
        g.u64(1 << 32);
    }
    g.u32(0).u64(0);
    let p = write(&dir.path().join("big.gguf"), &g.0);
    open_err(&p);
}

#[test]
fn safetensors_shape_whose_product_overflows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [
        "[4294967296,4294967296,4294967296]",
        "[18446744073709551615,2]",
        "[9223372036854775807,9223372036854775807]",
    ] {
        let header = format!(r#"{{"w":{{"dtype":"F32","shape":{shape},"data_offsets":[0,16]}}}}"#);
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&[0; 16]);
        let p = write(&dir.path().join("w.safetensors"), &b);
        open_err(&p);
        clean_error(&glassbox(&["stats", "-q"], &p));
    }
}

#[test]
fn safetensors_header_length_past_the_end_is_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    for claimed in [64u64, 99_999_999, 1 << 40, u64::MAX] {
        let mut b = claimed.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        let p = write(&dir.path().join("h.safetensors"), &b);
        let message = open_err(&p);
        assert!(message.contains("h.safetensors"), "{message}");
    }
}

#[test]
fn a_100_mb_header_of_tiny_tensors_opens_in_bounded_time_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.safetensors");
    // About 1.4 million one-byte tensors: a header just under the 100 MB limit.
    let mut header = String::with_capacity(100_000_000);
    header.push('{');
    let mut i = 0u64;
    loop {
        let entry = format!(
            r#""t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{}]}},"#,
            i + 1
        );
        if header.len() + entry.len() + 1 > 99_999_000 {
            break;
        }
        header.push_str(&entry);
        i += 1;
    }
    header.pop();
    header.push('}');
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    f.write_all(&vec![1u8; i as usize]).unwrap();
    drop(f);
    drop(header);
    let began = Instant::now();
    let out = glassbox(&["summary", "--format", "json"], &p);
    let took = began.elapsed();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Time is reported, not asserted (shared machines): `run`'s deadline catches a hang.
    let peak = children_peak_rss();
    eprintln!("1.4M-tensor header: summary in {took:?}, peak resident {peak} bytes");
    assert!(peak < 1 << 30, "peak resident memory {peak} bytes");
}

#[test]
fn gigabyte_side_documents_are_never_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    tiny_safetensors(&dir.path().join("model.safetensors"));
    // 1 GB each, sparse: a valid-looking start, then spaces and a hole.
    sparse(
        &dir.path().join("config.json"),
        b"{\"model_type\": \"llama\"",
        1 << 30,
    );
    sparse(
        &dir.path().join("tokenizer.json"),
        b"{\"model\": {\"vocab\": {",
        1 << 30,
    );
    sparse(
        &dir.path().join("README.md"),
        b"---\nlicense: mit\n",
        1 << 30,
    );
    let began = Instant::now();
    let model = glassbox::model::open(dir.path()).unwrap();
    assert!(model.config.is_none());
    assert!(
        model.notes.iter().any(|n| n.code == "config_invalid"),
        "{:?}",
        model.notes
    );
    assert_eq!(model.tokenizer_size(), None);
    assert!(began.elapsed() < Duration::from_secs(5));
    for args in [
        &["summary"][..],
        &["summary", "--format", "json"],
        &["stats", "-q"],
    ] {
        let out = glassbox(args, dir.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    }
    let peak = children_peak_rss();
    assert!(peak < 1 << 30, "peak resident memory {peak} bytes");
}

// ---------------------------------------------------------------------------------------------
// Inputs that are not what they seem
// ---------------------------------------------------------------------------------------------

#[test]
fn a_folder_mixing_safetensors_and_gguf_says_what_was_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    tiny_safetensors(&dir.path().join("model.safetensors"));
    std::fs::copy(
        common::fixtures().join("gguf/llama-tiny.gguf"),
        dir.path().join("other-model.Q4_0.gguf"),
    )
    .unwrap();
    let model = glassbox::model::open(dir.path()).unwrap();
    assert_eq!(model.format, glassbox::model::Format::Safetensors);
    let note = model
        .notes
        .iter()
        .find(|n| n.code == "unopened_gguf")
        .expect("the GGUF file is noted");
    assert!(
        note.message.contains("other-model.Q4_0.gguf"),
        "{}",
        note.message
    );
    assert!(note.message.contains("not read"), "{}", note.message);
    let out = glassbox(&["summary", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unopened_gguf"));
    // Every text and markdown face says so too, not only JSON.
    for args in [
        &["summary"][..],
        &["summary", "--format", "markdown"],
        &["tensors"],
        &["stats"],
        &["stats", "--format", "markdown"],
        &["transparency", "--no-hash"],
        &["transparency", "--no-hash", "--format", "markdown"],
    ] {
        let out = glassbox(args, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("`other-model.Q4_0.gguf` is a GGUF file")
                && stdout.contains("not read"),
            "{args:?}: {stdout}"
        );
    }
    let other = tempfile::tempdir().unwrap();
    tiny_safetensors(&other.path().join("model.safetensors"));
    let out = glassbox(&["diff", &other.path().to_string_lossy()], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("notes on B:\n- unopened_gguf: `other-model.Q4_0.gguf`"),
        "{stdout}"
    );
    assert!(!stdout.contains("notes on A"), "{stdout}");
}

/// Two models' safetensors files in one folder, without an index: read as one model (nothing
/// tells them apart from shards whose index was lost), with a warning naming both; shards named
/// as shards are read without one.
#[test]
fn safetensors_files_without_an_index_are_said_to_be_read_as_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = common::fixtures();
    std::fs::copy(
        fixtures.join("llama-tiny/model.safetensors"),
        dir.path().join("llama.safetensors"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("bert-tiny/model.safetensors"),
        dir.path().join("bert.safetensors"),
    )
    .unwrap();
    let model = glassbox::model::open(dir.path()).unwrap();
    let note = model
        .notes
        .iter()
        .find(|n| n.code == "unindexed_files")
        .expect("the two files are noted");
    assert_eq!(note.severity, glassbox::finding::Severity::Warning);
    assert!(
        note.message
            .starts_with("2 safetensors files without an index (`bert.safetensors`, `llama.safetensors`) were read as one model"),
        "{}",
        note.message
    );
    let out = glassbox(&["summary"], dir.path());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("were read as one model"),
        "{out:?}"
    );
    // Shards without their index.
    let shards = tempfile::tempdir().unwrap();
    for k in 1..=3 {
        let name = format!("model-0000{k}-of-00003.safetensors");
        std::fs::copy(
            fixtures.join("llama-tiny-sharded").join(&name),
            shards.path().join(&name),
        )
        .unwrap();
    }
    let model = glassbox::model::open(shards.path()).unwrap();
    assert!(
        model.notes.iter().all(|n| n.code != "unindexed_files"),
        "{:?}",
        model.notes
    );
}

#[test]
fn symlink_loops_are_an_error_or_a_note_never_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.safetensors");
    let b = dir.path().join("b.safetensors");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    // Given directly: an OS error naming the file.
    let message = open_err(&a);
    assert!(message.contains("a.safetensors"), "{message}");
    clean_error(&glassbox(&["summary"], &a));
    // In a folder with nothing else: the error says why nothing was read.
    let message = open_err(dir.path());
    assert!(message.contains("no readable weights"), "{message}");
    clean_error(&glassbox(&["tensors"], dir.path()));
    // Beside real weights: a note.
    tiny_safetensors(&dir.path().join("model.safetensors"));
    let model = glassbox::model::open(dir.path()).unwrap();
    assert_eq!(
        model
            .notes
            .iter()
            .filter(|n| n.code == "unreadable_weights")
            .count(),
        2
    );
    assert_eq!(model.tensors.len(), 1);
}

#[test]
fn a_hugging_face_snapshot_with_missing_blobs_names_the_missing_link() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs");
    let snapshot = dir.path().join("snapshots/0123abcd");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(blobs.join("cafe"), br#"{"model_type":"llama"}"#).unwrap();
    std::os::unix::fs::symlink("../../blobs/cafe", snapshot.join("config.json")).unwrap();
    std::os::unix::fs::symlink("../../blobs/dead", snapshot.join("model.safetensors")).unwrap();
    let message = open_err(&snapshot);
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("../../blobs/dead"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    clean_error(&glassbox(&["summary"], &snapshot));
    // With the blob present, the links are followed, documents included.
    tiny_safetensors(&blobs.join("dead"));
    let model = glassbox::model::open(&snapshot).unwrap();
    assert_eq!(model.tensors.len(), 1);
    assert!(
        model.document("config").is_some(),
        "config.json through a link"
    );
    assert_eq!(model.config.as_ref().unwrap()["model_type"], "llama");
}

#[test]
fn fifos_and_devices_are_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.safetensors");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let config = dir.path().join("config.json");
    let c = std::ffi::CString::new(config.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A FIFO given directly, and a folder whose weights are a FIFO: errors, no blocking open.
    let message = open_err(&fifo);
    assert!(message.contains("not a regular file"), "{message}");
    clean_error(&glassbox(&["summary"], &fifo));
    let message = open_err(dir.path());
    assert!(message.contains("not a regular file"), "{message}");
    // Beside real weights, the FIFO config.json is not opened (which would block forever).
    std::fs::remove_file(&fifo).unwrap();
    tiny_safetensors(&dir.path().join("real.safetensors"));
    let out = glassbox(&["summary"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Devices.
    for device in ["/dev/null", "/dev/zero"] {
        if Path::new(device).exists() {
            clean_error(&glassbox(&["summary"], Path::new(device)));
            let link = dir.path().join("dev.safetensors");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(device, &link).unwrap();
            clean_error(&glassbox(&["stats", "-q"], &link));
        }
    }
}

#[test]
fn non_utf8_file_names_open_and_print() {
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"mod\xffel.safetensors");
    let path = dir.path().join(name);
    tiny_safetensors(&path);
    let model = glassbox::model::open(dir.path()).unwrap();
    assert_eq!(model.tensors.len(), 1);
    for args in [
        &["summary"][..],
        &["tensors", "--format", "json"],
        &["stats", "-q"],
    ] {
        let out = glassbox(args, &path);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(String::from_utf8(out.stdout).is_ok());
    }
    // An error about it is one printable line.
    std::fs::write(&path, b"short").unwrap();
    let line = clean_error(&glassbox(&["summary"], &path));
    assert!(line.contains("mod"), "{line}");
}

#[test]
fn partial_downloads_are_noted_and_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.safetensors.part"), b"partial").unwrap();
    // Alone: the error says so.
    let message = open_err(dir.path());
    assert!(message.contains("unfinished download"), "{message}");
    clean_error(&glassbox(&["summary"], dir.path()));
    // Beside real weights: a note, and the real weights are read.
    tiny_safetensors(&dir.path().join("model.safetensors"));
    std::fs::write(dir.path().join("3f2a9c.incomplete"), b"").unwrap();
    let model = glassbox::model::open(dir.path()).unwrap();
    let noted: Vec<&str> = model
        .notes
        .iter()
        .filter(|n| n.code == "partial_download")
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(noted.len(), 2, "{noted:?}");
    assert!(noted.iter().any(|m| m.contains("3f2a9c.incomplete")));
    assert!(noted.iter().any(|m| m.contains("model.safetensors.part")));
}

#[test]
fn permission_denied_is_a_clean_error() {
    if is_root() {
        eprintln!("skipped: running as root, permissions are not enforced");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.safetensors");
    tiny_safetensors(&p);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    match glassbox::model::open(&p) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, p);
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected permission denied, got {other:?}"),
    }
    clean_error(&glassbox(&["summary"], &p));
    // A folder that cannot be listed.
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    clean_error(&glassbox(&["summary"], &locked));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_side_document_or_text_file_is_not_weights_and_the_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let card = write(
        &dir.path().join("README.md"),
        b"---\nlicense: mit\n---\n# A model\n",
    );
    let config = write(
        &dir.path().join("config.json"),
        br#"{"model_type": "llama"}"#,
    );
    let short = write(&dir.path().join("notes.txt"), b"hi");
    // No weights beside them: the error says what the file is not, and names no folder.
    for p in [&card, &config, &short] {
        let line = clean_error(&glassbox(&["summary"], p));
        assert!(line.contains("not a weights file"), "{line}");
        assert!(!line.contains("open its folder"), "{line}");
        assert!(matches!(
            glassbox::model::open(p),
            Err(Error::NotWeights { folder: None, .. })
        ));
    }
    // Beside weights: the folder to open instead.
    tiny_safetensors(&dir.path().join("model.safetensors"));
    let line = clean_error(&glassbox(&["stats"], &card));
    let folder = dir.path().display().to_string();
    assert!(
        line.trim_end()
            .ends_with(&format!("to inspect the model, open its folder: {folder}")),
        "{line}"
    );
    // A file named as safetensors keeps the safetensors reader's own account.
    let named = write(&dir.path().join("bad.safetensors"), b"# not a header\n");
    let line = clean_error(&glassbox(&["summary"], &named));
    assert!(line.contains("header length"), "{line}");
    // So does a truncated safetensors file under a name that says nothing (a Hugging Face cache
    // blob): its header length does not fit, but its header's `{` is there.
    let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let mut truncated = (header.len() as u64).to_le_bytes().to_vec();
    truncated.extend_from_slice(&header[..20]);
    let blob = write(&dir.path().join("3f2a9c0b"), &truncated);
    let line = clean_error(&glassbox(&["summary"], &blob));
    assert!(!line.contains("not a weights file"), "{line}");
}

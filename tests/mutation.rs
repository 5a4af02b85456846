//! Deterministic mutation testing: thousands of random byte flips, truncations, extensions and
//! splices of every fixture kind (safetensors, shard index, GGUF, config.json, tokenizer.json, model
//! card, chat template) go through the library's open, summary, tensor table, statistics, diff
//! (against the unmutated fixture) and transparency report (with the SHA-256 fingerprints)
//! in-process, and a few hundred through the binary (every command: `summary`, `tensors`, `stats`,
//! `diff`, `transparency`). Nothing may panic, hang or die by a signal; the binary exits 0, 1 or 2,
//! and an error is one line.
//!
//! The generator is seeded: a failure prints the kind and case number, and re-running reproduces it.
//! A watchdog aborts the process (failing the test) when one case takes more than 20 seconds; a
//! binary run is killed (and the test fails) after 20 seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use glassbox::model::sort::{TensorOrder, select_tensor_indices, select_tensors};
use glassbox::render::json;
use glassbox::report::stats::{StatisticOrder, StatsReport};
use glassbox::report::summary::SummaryReport;
use glassbox::report::tensors::TensorTable;
use glassbox::stats::{StatsOptions, compute_model_stats, thread_pool};

/// splitmix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break length and count fields.
const HOSTILE_U64: &[u64] = &[
    0,
    1,
    u64::MAX,
    u64::MAX / 2,
    1 << 60,
    1 << 40,
    1 << 32,
    u32::MAX as u64,
    (1 << 31) - 1,
    7,
];

/// Text that breaks JSON and YAML readers.
const HOSTILE_TEXT: &[&str] = &[
    "-1",
    "1e400",
    "18446744073709551616",
    "[[[[[[[[",
    "{{{{{{{{",
    "null",
    "\"\\ud800\"",
    "\u{0}",
    "---\n",
    "\"F8_E4M3\"",
    "\"dtype\"",
    "[18446744073709551615,18446744073709551615]",
    "9999999999",
    "\"__metadata__\"",
];

/// One random change to `bytes`; `header` is how many leading bytes are the interesting part
/// (most flips land there: the data section is read as numbers whatever it holds).
fn mutate(bytes: &[u8], header: usize, text: bool, rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let len = out.len().max(1);
    let pos = |rng: &mut Rng| {
        if rng.below(10) < 8 {
            rng.below(header.min(len))
        } else {
            rng.below(len)
        }
    };
    match rng.below(if text { 6 } else { 5 }) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let p = pos(rng);
                if let Some(b) = out.get_mut(p) {
                    *b = if rng.below(2) == 0 {
                        *b ^ (1 << rng.below(8))
                    } else {
                        rng.next() as u8
                    };
                }
            }
        }
        1 => {
            let cut = pos(rng);
            out.truncate(cut);
        }
        2 => {
            let n = 1 + rng.below(4096);
            let random = rng.below(2) == 0;
            out.extend((0..n).map(|_| if random { rng.next() as u8 } else { 0 }));
        }
        3 => {
            let p = pos(rng);
            let v = HOSTILE_U64[rng.below(HOSTILE_U64.len())].to_le_bytes();
            for (i, b) in v.iter().enumerate() {
                if let Some(slot) = out.get_mut(p + i) {
                    *slot = *b;
                }
            }
        }
        4 => {
            // Delete or duplicate a span.
            let a = pos(rng).min(out.len());
            let b = (a + rng.below(64)).min(out.len());
            if rng.below(2) == 0 {
                out.drain(a..b);
            } else {
                let span = out[a..b].to_vec();
                out.splice(a..a, span);
            }
        }
        _ => {
            let p = pos(rng).min(out.len());
            let s = HOSTILE_TEXT[rng.below(HOSTILE_TEXT.len())].as_bytes();
            let end = (p + rng.below(8)).min(out.len());
            out.splice(p..end, s.iter().copied());
        }
    }
    out
}

/// Opens the model at `path` and runs what every command runs on it; returns the error message.
/// `reference` is the unmutated fixture, which the diff compares the model with.
fn exercise(
    path: &Path,
    reference: &glassbox::Model,
    pool: &Arc<rayon::ThreadPool>,
    measure: bool,
) -> Result<(), String> {
    let model = Arc::new(glassbox::model::open(path).map_err(|e| e.to_string())?);
    let arch = glassbox::arch::infer_architecture(&model);
    let summary = SummaryReport::new(&model, &arch);
    let _ = json::to_string(&summary);
    let _ = glassbox::render::summary::render_summary_markdown(&summary);
    let _ = glassbox::render::summary::render_summary_text(&summary);
    let selected = select_tensors(&model, None, TensorOrder::Name);
    let table = TensorTable::new(&model, &selected);
    let _ = json::to_string(&table);
    let _ = glassbox::render::tensors::render_tensors_table(&table, false);
    transparency(&model, &arch, measure)?;
    if !measure {
        return Ok(());
    }
    let options = glassbox::diff::DiffOptions::default();
    let cancel = AtomicBool::new(false);
    let diff = glassbox::diff::compute_diff(reference, &model, &options, pool, &|_| {}, &cancel)
        .map_err(|e| e.to_string())?;
    let report = glassbox::report::diff::DiffReport::new(reference, &model, diff);
    let _ = glassbox::render::diff::render_diff_json(&report);
    let _ = glassbox::render::diff::render_diff_text(&report);
    let indices = select_tensor_indices(&model, None, TensorOrder::Offset);
    let (stats, findings) = compute_model_stats(
        &model,
        &indices,
        &StatsOptions::default(),
        pool,
        &|_| {},
        &AtomicBool::new(false),
    )
    .map_err(|e| e.to_string())?;
    let chosen: Vec<&glassbox::TensorInfo> = indices.iter().map(|&i| &model.tensors[i]).collect();
    let report = StatsReport::new(&model, &chosen, stats, findings, StatisticOrder::Selection);
    let _ = json::to_string(&report);
    let _ = glassbox::render::stats::render_stats_table(&report, false);
    Ok(())
}

/// The transparency report of `model` in every format; with `hash`, the fingerprints too.
fn transparency(
    model: &glassbox::Model,
    arch: &glassbox::arch::Architecture,
    hash: bool,
) -> Result<(), String> {
    use glassbox::render::transparency as render;
    let sources = glassbox::transparency::open_sources(model);
    let hashes = hash.then(|| {
        let files = glassbox::transparency::hashable_files(model, &sources.files);
        glassbox::transparency::compute_hashes(&files, &|_| {})
    });
    model.check_unchanged().map_err(|e| e.to_string())?;
    let report = glassbox::transparency::build_report(model, arch, &sources, hashes, None);
    let _ = render::render_transparency_text(&report, &model.notes);
    let _ = render::render_transparency_markdown(&report, &model.notes);
    let _ = render::render_transparency_json(model, &report);
    let _ = render::render_transparency_cyclonedx(&report);
    Ok(())
}

/// A fixture file to mutate, inside a copy of its folder.
struct Target {
    kind: &'static str,
    /// The fixture folder copied.
    folder: &'static str,
    /// The file mutated, inside it.
    file: &'static str,
    /// What is opened (the folder, or a file in it).
    open: &'static str,
    text: bool,
}

const TARGETS: &[Target] = &[
    Target {
        kind: "safetensors",
        folder: "llama-tiny",
        file: "model.safetensors",
        open: "model.safetensors",
        text: false,
    },
    Target {
        kind: "index",
        folder: "llama-tiny-sharded",
        file: "model.safetensors.index.json",
        open: ".",
        text: true,
    },
    Target {
        kind: "gguf",
        folder: "gguf",
        file: "llama-tiny.gguf",
        open: "llama-tiny.gguf",
        text: false,
    },
    Target {
        kind: "config",
        folder: "llama-tiny",
        file: "config.json",
        open: ".",
        text: true,
    },
    Target {
        kind: "tokenizer",
        folder: "llama-tiny",
        file: "tokenizer.json",
        open: ".",
        text: true,
    },
    Target {
        kind: "card",
        folder: "transparency/well-documented",
        file: "README.md",
        open: ".",
        text: true,
    },
    Target {
        kind: "template",
        folder: "transparency/trigger-template",
        file: "tokenizer_config.json",
        open: ".",
        text: true,
    },
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copies the regular files of a fixture folder (not its subfolders) into `to`.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// How long the interesting head of a file is: a safetensors header, or 4 KiB (GGUF metadata and
/// the start of its tensor infos), or all of a text file.
fn header_len(bytes: &[u8], kind: &str) -> usize {
    match kind {
        "safetensors" => {
            let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            8 + n
        }
        "gguf" => 4096.min(bytes.len()),
        _ => bytes.len(),
    }
}

/// Makes a scratch copy of each target's folder: (target, folder, original bytes, header length).
fn scratch(dir: &Path) -> Vec<(&'static Target, PathBuf, Vec<u8>, usize)> {
    TARGETS
        .iter()
        .map(|t| {
            let folder = dir.join(t.kind);
            copy_folder(&fixtures().join(t.folder), &folder);
            let original = std::fs::read(folder.join(t.file)).unwrap();
            let header = header_len(&original, t.kind);
            (t, folder, original, header)
        })
        .collect()
}

/// Aborts the process when the current case makes no progress for 20 seconds (a hang).
fn watchdog(progress: Arc<AtomicU64>, label: Arc<std::sync::Mutex<String>>) {
    std::thread::spawn(move || {
        let mut last = u64::MAX;
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = progress.load(Ordering::Relaxed);
            if now == u64::MAX {
                return;
            }
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() > Duration::from_secs(20) {
                eprintln!("hang: {}", label.lock().unwrap());
                std::process::abort();
            }
        }
    });
}

/// Runs `CASES` mutations of one target in-process. GGUF statistics cost ~30 ms a case (quantised
/// tables), so only every `stats_every`-th case measures; open, summary and tensors run on all.
fn in_process(kind: &str, cases: usize, stats_every: usize) {
    let dir = tempfile::tempdir().unwrap();
    let target = TARGETS.iter().find(|t| t.kind == kind).unwrap();
    let folder = dir.path().join(kind);
    copy_folder(&fixtures().join(target.folder), &folder);
    let original = std::fs::read(folder.join(target.file)).unwrap();
    let header = header_len(&original, kind);
    let reference =
        glassbox::model::open(fixtures().join(target.folder).join(target.open)).unwrap();
    let pool = thread_pool(Some(1)).unwrap();
    let progress = Arc::new(AtomicU64::new(0));
    let label = Arc::new(std::sync::Mutex::new(String::new()));
    watchdog(progress.clone(), label.clone());
    let mut errors = 0;
    let mut failures = Vec::new();
    let mut rng =
        Rng(0x0067_6c61_7373 ^ (kind.len() as u64).wrapping_mul(7919) ^ kind.as_bytes()[0] as u64);
    let path = folder.join(target.open);
    for case in 0..cases {
        let mutated = mutate(&original, header, target.text, &mut rng);
        std::fs::write(folder.join(target.file), &mutated).unwrap();
        *label.lock().unwrap() = format!("{kind} case {case}");
        let measure = case % stats_every == 0;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exercise(&path, &reference, &pool, measure)
        }));
        progress.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                errors += 1;
                if message.trim().is_empty() {
                    failures.push(format!("{kind} case {case}: empty error"));
                }
            }
            Err(_) => failures.push(format!("{kind} case {case}: panic")),
        }
    }
    progress.store(u64::MAX, Ordering::Relaxed);
    assert!(failures.is_empty(), "{failures:#?}");
    // The side documents never make opening fail (they are notes); the weights and the index do,
    // often but not always.
    if matches!(kind, "config" | "tokenizer" | "card" | "template") {
        assert_eq!(errors, 0, "{kind}: a side document made opening fail");
    } else {
        assert!(
            errors > cases / 20 && errors < cases,
            "{kind}: {errors} errors of {cases}"
        );
    }
}

const CASES: usize = 1000;

#[test]
fn mutated_safetensors() {
    in_process("safetensors", CASES, 1);
}

#[test]
fn mutated_index() {
    in_process("index", CASES, 1);
}

#[test]
fn mutated_gguf() {
    in_process("gguf", CASES, 8);
}

#[test]
fn mutated_config() {
    in_process("config", CASES, 1);
}

#[test]
fn mutated_tokenizer() {
    in_process("tokenizer", CASES, 1);
}

#[test]
fn mutated_card() {
    in_process("card", CASES, 1);
}

#[test]
fn mutated_template() {
    in_process("template", CASES, 1);
}

/// Runs the binary with `args`, killed after 20 seconds (a hang fails the test).
fn run_bounded(args: &[std::ffi::OsString]) -> (std::process::ExitStatus, String, bool) {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stderr is one line or a few: it fits the pipe, so waiting first cannot block the child.
    let began = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if began.elapsed() > Duration::from_secs(20) {
            hung = true;
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr, hung)
}

#[test]
fn mutated_fixtures_through_the_binary_exit_cleanly() {
    use std::os::unix::process::ExitStatusExt;
    const CASES: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let targets = scratch(dir.path());
    // `diff` compares the unmutated fixture with the mutated copy (MODEL stands for it).
    let commands: &[&[&str]] = &[
        &["summary", "--format", "json", "MODEL"],
        &["tensors", "MODEL"],
        &["stats", "-q", "--threads", "1", "MODEL"],
        &["diff", "-q", "--threads", "1", "REFERENCE", "MODEL"],
        &["transparency", "-q", "--threads", "1", "MODEL"],
        &[
            "transparency",
            "--no-hash",
            "--format",
            "cyclonedx",
            "MODEL",
        ],
    ];
    let mut failures = Vec::new();
    for (target, folder, original, header) in &targets {
        let mut rng = Rng(0x6269_6e61_7279 ^ target.kind.len() as u64);
        for case in 0..CASES {
            let mutated = mutate(original, *header, target.text, &mut rng);
            std::fs::write(folder.join(target.file), &mutated).unwrap();
            let args = commands[case % commands.len()];
            let argv: Vec<std::ffi::OsString> = args
                .iter()
                .map(|a| match *a {
                    "MODEL" => folder.join(target.open).into_os_string(),
                    "REFERENCE" => fixtures()
                        .join(target.folder)
                        .join(target.open)
                        .into_os_string(),
                    a => a.into(),
                })
                .collect();
            let (status, stderr, hung) = run_bounded(&argv);
            let what = format!("{} case {case} {args:?}", target.kind);
            if hung {
                failures.push(format!("{what}: no exit within 20 s"));
                continue;
            }
            match (status.code(), status.signal()) {
                (Some(0 | 1), _) => {}
                (Some(2), _) => {
                    if stderr.lines().count() != 1 || !stderr.starts_with("error: ") {
                        failures.push(format!("{what}: stderr {stderr:?}"));
                    }
                }
                (code, signal) => {
                    failures.push(format!("{what}: exit {code:?} signal {signal:?}: {stderr}"))
                }
            }
        }
        std::fs::write(folder.join(target.file), original).unwrap();
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

//! A model larger than the memory glassbox may use: statistics of a sparse multi-GiB file finish
//! with resident memory far below the file size, because pages are released once read — by the
//! engine, and by the duplicate check, which reads candidate tensors again.
//!
//! This file holds one test so that the process's peak resident memory (`VmHWM`) is its own.

use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::AtomicBool;

use glassbox::stats::StatsOptions;

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Writes a safetensors header for `tensors` BF16 tensors of `rows`×4096 and extends the file to
/// its full size without writing the data (a sparse file: it reads as zeros and takes no disk),
/// but for `values`: (tensor, column of its last row, BF16 code).
fn sparse_model(
    path: &std::path::Path,
    tensors: u64,
    rows: u64,
    values: &[(u64, u64, u16)],
) -> u64 {
    let bytes = rows * 4096 * 2;
    let mut header = String::from("{");
    for i in 0..tensors {
        header.push_str(&format!(
            "\"layers.{i}.weight\":{{\"dtype\":\"BF16\",\"shape\":[{rows},4096],\"data_offsets\":[{},{}]}},",
            i * bytes,
            (i + 1) * bytes
        ));
    }
    header.pop();
    header.push('}');
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let len = 8 + header.len() as u64 + tensors * bytes;
    f.seek(SeekFrom::Start(len - 1)).unwrap();
    f.write_all(&[0]).unwrap();
    let data = 8 + header.len() as u64;
    for &(t, col, code) in values {
        let at = data + t * bytes + ((rows - 1) * 4096 + col) * 2;
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&code.to_le_bytes()).unwrap();
    }
    len
}

#[test]
fn resident_memory_stays_bounded_on_a_file_larger_than_the_budget() {
    // The budget is 1 GiB; the test holds glassbox to a quarter of it. 6 GiB: big enough that keeping
    // the pages mapped would exceed the budget six times over,
    // small enough to read in seconds. `GLASSBOX_BIG_GIB=40` reproduces the 40 GB check.
    let gib: u64 = std::env::var("GLASSBOX_BIG_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    let tensors = gib * 4; // 256 MiB each
    // Tensors 0 and 1 share their statistics and differ in their last row: the duplicate check
    // compares them whole. Tensors 2, 3 and 4 share theirs, and 2 and 4 are identical: it hashes
    // the three. The rest are all zero (not candidates).
    let (one, two) = (0x3F80, 0x4000);
    let values = [
        (0, 5, one),
        (1, 6, one),
        (2, 9, two),
        (3, 10, two),
        (4, 9, two),
    ];
    let len = sparse_model(&path, tensors, 32 * 1024, &values);
    assert!(len > gib << 30);

    let model = std::sync::Arc::new(glassbox::model::open(&path).unwrap());
    let selected: Vec<usize> = (0..model.tensors.len()).collect();
    let cancel = AtomicBool::new(false);
    let pool = glassbox::stats::thread_pool(None).unwrap();
    let (stats, findings) = glassbox::stats::compute_model_stats(
        &model,
        &selected,
        &StatsOptions::default(),
        &pool,
        &|_| {},
        &cancel,
    )
    .unwrap();
    assert_eq!(stats.len() as u64, tensors);
    for (t, s) in stats.iter().enumerate() {
        let nonzero = u64::from(t < values.len());
        assert_eq!((s.count, s.zeros), (32 * 1024 * 4096, s.count - nonzero));
    }
    assert!(findings.iter().any(|f| f.code == "all_zero"));
    let duplicates: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "duplicate")
        .map(|f| (f.subject.clone(), f.message.clone()))
        .collect();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert!(
        format!("{duplicates:?}").contains("layers.4.weight")
            && duplicates[0].1.contains("`layers.2.weight`"),
        "{duplicates:?}"
    );

    let peak = peak_rss_bytes().expect("Linux /proc");
    eprintln!(
        "peak resident memory: {} MiB for a {} MiB file",
        peak >> 20,
        len >> 20
    );
    assert!(
        peak < 256 << 20,
        "peak resident memory {} MiB for a {} MiB file",
        peak >> 20,
        len >> 20
    );
}

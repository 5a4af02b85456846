//! Throughput of the statistics engine on one `.safetensors` file, whole process: map the file,
//! parse the header, run `compute_stats`, print seconds and GB/s. Compare with
//! `shared/bench/readlimit` on the same file (in the page cache: run both twice).
//!
//! ```text
//! cargo run --release --example stats_file -- FILE [--threads N] [--chunk BYTES] [--release] [--populate] [--repeat N]
//! ```
//!
//! `--release` drops each finished piece's pages (`madvise(MADV_DONTNEED)`, in batches of 64 MiB),
//! as the model layer does for models larger than memory. `--populate` maps with `MAP_POPULATE`
//! and starts the clock after it, which separates the cost of page faults from the engine's own.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use glassbox::DType;
use glassbox::stats::{StatsOptions, TensorSlice, compute_stats, find_anomalies};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: stats_file FILE [--threads N] [--chunk BYTES] [--release] [--populate] [--repeat N]")?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<usize>())
    };
    let mut opts = StatsOptions::default();
    // One pool for every repeat, as the command line builds one per process.
    let pool = glassbox::stats::thread_pool(flag("--threads").transpose()?)?;
    if let Some(c) = flag("--chunk") {
        opts.chunk_bytes = c?;
    }
    let repeat = flag("--repeat").transpose()?.unwrap_or(1);
    let release = args.iter().any(|a| a == "--release");
    let populate = args.iter().any(|a| a == "--populate");

    for _ in 0..repeat {
        let start = Instant::now();
        let file = std::fs::File::open(path)?;
        let mut options = memmap2::MmapOptions::new();
        if populate {
            options.populate();
        }
        // SAFETY: the file is mapped read-only and not modified while this short-lived process runs.
        let map = unsafe { options.map(&file)? };
        let start = if populate { Instant::now() } else { start };
        let n = u64::from_le_bytes(map[..8].try_into()?) as usize;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&map[8..8 + n])?;
        let base = 8 + n;
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        let mut spans = Vec::new();
        for (name, t) in &header {
            if name == "__metadata__" {
                continue;
            }
            let dtype: DType = t["dtype"]
                .as_str()
                .ok_or("dtype")?
                .parse()
                .map_err(|_| "unknown dtype")?;
            let shape: Vec<u64> = t["shape"]
                .as_array()
                .ok_or("shape")?
                .iter()
                .filter_map(|d| d.as_u64())
                .collect();
            let off = t["data_offsets"].as_array().ok_or("offsets")?;
            let (a, b) = (
                off[0].as_u64().ok_or("offset")? as usize,
                off[1].as_u64().ok_or("offset")? as usize,
            );
            names.push(name.as_str());
            shapes.push(shape);
            spans.push((dtype, base + a, base + b));
        }
        let slices: Vec<TensorSlice<'_>> = spans
            .iter()
            .zip(&shapes)
            .map(|(&(dtype, a, b), shape)| TensorSlice {
                dtype,
                shape,
                bytes: &map[a..b],
            })
            .collect();
        let bytes: usize = slices.iter().map(|s| s.bytes.len()).sum();
        // Pieces are released in file order; like the model layer (`Releaser`), adjacent ones are
        // gathered into batches of 64 MiB, one `madvise` (and TLB shootdown) per batch.
        let batch = std::sync::Mutex::new(0..0usize);
        let advise = |r: std::ops::Range<usize>| {
            let page = 4096;
            let (start, end) = (r.start.div_ceil(page) * page, r.end / page * page);
            if end > start {
                // SAFETY: the mapping is private and read-only, so dropping pages loses nothing:
                // a later read faults them in again from the file.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        };
        let drop_pages = |t: usize, r: std::ops::Range<usize>| {
            if release {
                let (a, b) = (spans[t].1 + r.start, spans[t].1 + r.end);
                let mut pending = batch.lock().unwrap_or_else(|e| e.into_inner());
                if pending.is_empty() || a != pending.end {
                    advise(pending.clone());
                    *pending = a..b;
                } else {
                    pending.end = b;
                }
                if pending.len() >= 64 << 20 {
                    advise(std::mem::replace(&mut *pending, 0..0));
                }
            }
        };
        let stats = pool
            .install(|| {
                compute_stats(
                    &slices,
                    &opts,
                    &|_, _| {},
                    &drop_pages,
                    &AtomicBool::new(false),
                )
            })
            .map_err(|e| e.to_string())?;
        advise(std::mem::replace(
            &mut *batch.lock().unwrap_or_else(|e| e.into_inner()),
            0..0,
        ));
        let compute = start.elapsed().as_secs_f64();
        let findings = find_anomalies(&names, &slices, &stats);
        let total = start.elapsed().as_secs_f64();
        println!(
            "stats_file tensors={} bytes={bytes} seconds={compute:.4} GB/s={:.2} (with findings: {total:.4} s, {} findings) mean[0]={:?} p50[0]={:?}",
            slices.len(),
            bytes as f64 / compute / 1e9,
            findings.len(),
            stats[0].mean,
            stats[0].p50,
        );
    }
    Ok(())
}

//! The row-sample gate on matrices wider than its sketch (512 columns): a full-rank change is
//! read as such without the range finder, and a low-rank change is never gated out, even one that
//! lies in a few columns under a little full-rank noise (where a column sample would miss it).
//! The truth is known by construction.

use std::path::Path;

mod common;

const ROWS: usize = 640;
const COLS: usize = 1024;

/// A deterministic normal-ish stream (sum of uniforms from an LCG), mean 0, std about 1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        let mut sum = 0.0;
        for _ in 0..4 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            sum += (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        sum * 3f32.sqrt()
    }
}

/// Writes F32 tensors of ROWS × COLS.
fn write_f32(path: &Path, tensors: &[(&str, Vec<f32>)]) {
    let bytes = ROWS * COLS * 4;
    let entries: Vec<String> = tensors
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{ROWS},{COLS}],\"data_offsets\":[{},{}]}}",
                i * bytes,
                (i + 1) * bytes
            )
        })
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    for (_, values) in tensors {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn the_gate_reads_full_rank_changes_and_never_hides_a_low_rank_one() {
    let mut noise = Noise(1);
    let base: Vec<f32> = (0..ROWS * COLS).map(|_| 0.02 * noise.next()).collect();
    // Full rank: independent noise on every value.
    let full: Vec<f32> = base.iter().map(|&x| x + 0.002 * noise.next()).collect();
    // Rank 4 on 8 of the 1024 columns (u_k · v_k with v_k non-zero on the odd columns 101..115
    // only: a sample of every other column would see none of them), plus full-rank noise holding
    // about 0.1% of ‖Δ‖²: the rank-4 part holds over 99%.
    let u: Vec<[f32; 4]> = (0..ROWS)
        .map(|_| std::array::from_fn(|_| noise.next()))
        .collect();
    let v: Vec<[f32; 4]> = (0..8)
        .map(|_| std::array::from_fn(|_| noise.next()))
        .collect();
    let mut coherent = base.clone();
    let (mut low_sq, mut noise_sq) = (0f64, 0f64);
    for (r, ur) in u.iter().enumerate() {
        for c in 0..COLS {
            let mut d = 0.0;
            if (101..116).contains(&c) && c % 2 == 1 {
                d = 0.05 * (0..4).map(|k| ur[k] * v[(c - 101) / 2][k]).sum::<f32>();
            }
            let n = 0.0002 * noise.next();
            let i = r * COLS + c;
            coherent[i] = base[i] + d + n;
            low_sq += f64::from(d) * f64::from(d);
            noise_sq += f64::from(n) * f64::from(n);
        }
    }
    assert!(low_sq / (low_sq + noise_sq) > 0.99, "construction");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    write_f32(
        &a,
        &[("full.weight", base.clone()), ("coherent.weight", base)],
    );
    write_f32(&b, &[("full.weight", full), ("coherent.weight", coherent)]);
    let out = common::glassbox(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let rank = |name: &str| {
        json["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["rank"]
            .clone()
    };
    let full = rank("full.weight");
    assert_eq!(full["method"], "row_sample", "{full}");
    assert_eq!(full["low_rank"], false);
    let coherent = rank("coherent.weight");
    assert_eq!(coherent["method"], "range_finder", "{coherent}");
    assert_eq!(coherent["low_rank"], true, "{coherent}");
    let r99 = coherent["r99"].as_u64().unwrap();
    assert!((1..=4).contains(&r99), "{coherent}");
}

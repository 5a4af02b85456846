//! p99 |Δ| of pairs above 2^22 values, where `glassbox diff` counts a sample of the values into
//! its histogram (and `--exact` every value): against p99 known by construction.

use std::path::Path;

mod common;

const ROWS: usize = 2048;
const COLS: usize = 4096; // 8,388,608 values: above the 2^22 where the sample starts

/// Writes a one-tensor BF16 safetensors file of ROWS × COLS values.
fn write_bf16(path: &Path, values: impl Iterator<Item = u16>) {
    let header = format!(
        "{{\"w\":{{\"dtype\":\"BF16\",\"shape\":[{ROWS},{COLS}],\"data_offsets\":[0,{}]}}}}",
        ROWS * COLS * 2
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(values.flat_map(u16::to_le_bytes));
    std::fs::write(path, bytes).unwrap();
}

/// A = 1 everywhere; B = 1 + 2^-7 (one BF16 ulp) except every `every`-th value, which is 1.5.
/// Returns the p99 of |Δ| by construction: 0.5 when more than 1% of the values moved by 0.5,
/// else 2^-7; and rel_l2 by hand.
fn pair(dir: &Path, every: usize) -> (f64, f64) {
    const ONE: u16 = 0x3f80; // 1.0
    const ONE_ULP: u16 = 0x3f81; // 1.0078125
    const ONE_HALF: u16 = 0x3fc0; // 1.5
    let n = ROWS * COLS;
    write_bf16(&dir.join("a.safetensors"), std::iter::repeat_n(ONE, n));
    write_bf16(
        &dir.join("b.safetensors"),
        (0..n).map(|i| if i % every == 0 { ONE_HALF } else { ONE_ULP }),
    );
    let big = n.div_ceil(every);
    let p99 = if big * 100 > n { 0.5 } else { 2f64.powi(-7) };
    let delta_sq = big as f64 * 0.25 + (n - big) as f64 * 2f64.powi(-14);
    (p99, (delta_sq / n as f64).sqrt())
}

fn numbers(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let (a, b) = (dir.join("a.safetensors"), dir.join("b.safetensors"));
    let mut args = vec![
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
        "--no-rank",
    ];
    args.extend_from_slice(extra);
    let out = common::glassbox(&args);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    json["tensors"][0]["numbers"].clone()
}

#[test]
fn sampled_and_exact_p99_land_in_the_bin_of_the_true_p99() {
    let dir = tempfile::tempdir().unwrap();
    // 1/67 ≈ 1.5% of the values moved by 0.5 (p99 is 0.5), then 1/200 = 0.5% (p99 is one ulp).
    for every in [67, 200] {
        let (p99, rel_l2) = pair(dir.path(), every);
        // The reported p99 is the upper edge of its bin: at most 1/8 above the true value.
        let upper = p99 * 1.125;
        for extra in [&[][..], &["--exact"][..]] {
            let n = numbers(dir.path(), extra);
            assert_eq!(
                n["p99_abs"].as_f64(),
                Some(upper),
                "every {every} {extra:?}"
            );
            // The sums are exact either way.
            let r = n["rel_l2"].as_f64().unwrap();
            assert!((r - rel_l2).abs() <= 1e-12 * rel_l2, "{r} vs {rel_l2}");
            assert_eq!(n["max_abs"].as_f64(), Some(0.5));
            assert_eq!(n["bit_identical"].as_f64(), Some(0.0));
        }
    }
}

//! `glassbox stats` on the committed fixtures: the JSON deserialised into strict structs and every
//! statistic compared with float64 numpy (the generator's expected.json), thread-count
//! independence, the findings, and the text table.

// The mirror structs exist to hold the output to the documented schema (`deny_unknown_fields`);
// not every field is read by an assertion.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

mod common;
use common::{fixtures, glassbox};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsDoc {
    schema_version: u32,
    model: serde_json::Value,
    tensors: Vec<TensorObj>,
    blocks: Vec<GroupObj>,
    total: GroupObj,
    buffers: GroupObj,
    findings: Vec<FindingObj>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorObj {
    name: String,
    dtype: String,
    shape: Vec<u64>,
    parameters: u64,
    bytes: u64,
    file: String,
    offset: u64,
    bits_per_weight: Option<f64>,
    stats: StatsObj,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsObj {
    count: u64,
    finite: u64,
    mean: Option<f64>,
    std: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    abs_max: Option<f64>,
    l2_norm: Option<f64>,
    zeros: u64,
    nan: u64,
    inf: u64,
    p1: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    histogram: Option<HistogramObj>,
    outliers: u64,
    outlier_sigmas: f64,
    exact_distribution: bool,
    distribution: String,
    dead_rows: Option<u64>,
    dead_columns: Option<u64>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistogramObj {
    lo: f64,
    hi: f64,
    counts: Vec<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupObj {
    #[serde(default)]
    block: Option<String>,
    tensors: usize,
    count: u64,
    finite: u64,
    mean: Option<f64>,
    std: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    abs_max: Option<f64>,
    l2_norm: Option<f64>,
    zeros: u64,
    nan: u64,
    inf: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingObj {
    severity: String,
    code: String,
    tensor: Option<String>,
    message: String,
    evidence: BTreeMap<String, serde_json::Value>,
}

/// numpy's statistics of one tensor, from the generator.
#[derive(Debug, Deserialize)]
struct ExpectedStats {
    count: u64,
    mean: Option<f64>,
    std: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    abs_max: Option<f64>,
    l2_norm: Option<f64>,
    zeros: u64,
    nan: u64,
    inf: u64,
    p1: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Expected {
    stats: BTreeMap<String, ExpectedStats>,
    #[serde(default)]
    findings: Vec<ExpectedFinding>,
}

#[derive(Debug, Deserialize)]
struct ExpectedFinding {
    code: String,
    tensor: String,
}

fn stats_json(path: &Path, extra: &[&str]) -> (StatsDoc, String) {
    stats_json_with(path, extra, &[])
}

/// `stats --format json` with environment variables set (`GLASSBOX_METHOD`, `GLASSBOX_KERNEL`).
fn stats_json_with(path: &Path, extra: &[&str], env: &[(&str, &str)]) -> (StatsDoc, String) {
    let mut args = vec!["stats", path.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = if env.is_empty() {
        glassbox(&args)
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(&args)
            .envs(env.iter().copied())
            .output()
            .expect("run glassbox")
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    (
        serde_json::from_str(&text).expect("strict stats JSON"),
        text,
    )
}

fn close(what: &str, got: Option<f64>, want: Option<f64>, tolerance: f64) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= tolerance,
            "{what}: glassbox {g} numpy {w} (tolerance {tolerance})"
        ),
        _ => panic!("{what}: glassbox {got:?} numpy {want:?}"),
    }
}

fn relative(x: Option<f64>) -> f64 {
    1e-7 * x.map_or(0.0, f64::abs)
}

fn check(path: &Path, expected: &Expected) {
    let (doc, _) = stats_json(path, &[]);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.model["tensor_count"], expected.stats.len());
    assert_eq!(doc.tensors.len(), expected.stats.len());
    for t in &doc.tensors {
        let what = format!("{} {}", path.display(), t.name);
        let s = &t.stats;
        let e = &expected.stats[&t.name];
        assert_eq!(
            (s.count, s.zeros, s.nan, s.inf),
            (e.count, e.zeros, e.nan, e.inf),
            "{what}: counts"
        );
        assert_eq!(s.finite, s.count - s.nan - s.inf);
        assert_eq!(t.parameters, t.shape.iter().product::<u64>());
        // The mean within 1e-7 of the std; everything else 1e-7 relative.
        let std_scale = e.std.unwrap_or(0.0).max(f64::MIN_POSITIVE);
        close(&format!("{what} mean"), s.mean, e.mean, 1e-7 * std_scale);
        close(&format!("{what} std"), s.std, e.std, relative(e.std));
        for (name, g, w) in [
            ("min", s.min, e.min),
            ("max", s.max, e.max),
            ("abs_max", s.abs_max, e.abs_max),
            ("l2_norm", s.l2_norm, e.l2_norm),
        ] {
            close(&format!("{what} {name}"), g, w, relative(w));
        }
        // Percentiles: exact order statistics where the distribution is exact (1e-7 of the
        // range), otherwise within the documented bucket width (2^-7 of the value).
        for (name, g, w) in [
            ("p1", s.p1, e.p1),
            ("p50", s.p50, e.p50),
            ("p99", s.p99, e.p99),
        ] {
            let tolerance = if s.exact_distribution {
                1e-7 * e.abs_max.unwrap_or(0.0)
            } else {
                w.map_or(0.0, |w| w.abs() / 128.0)
            };
            close(&format!("{what} {name}"), g, w, tolerance);
        }
        if let Some(h) = &s.histogram {
            assert_eq!(h.counts.iter().sum::<u64>(), s.finite, "{what}: histogram");
            assert_eq!((Some(h.lo), Some(h.hi)), (s.min, s.max));
            assert_eq!(h.counts.len(), 64);
        } else {
            assert_eq!(s.finite, 0, "{what}: a histogram whenever there are values");
        }
        assert_eq!(s.outlier_sigmas, 6.0);
        assert_eq!(
            s.dead_rows.is_some(),
            t.shape.len() == 2 && t.shape.iter().all(|&d| d >= 2),
            "{what}"
        );
        assert!(s.outliers <= s.finite);
    }
}

#[test]
fn every_model_fixture_matches_numpy() {
    for name in [
        "llama-tiny",
        "llama-tiny-sharded",
        "gpt2-tiny",
        "bert-tiny",
        "mixtral-tiny",
        "stats-edge",
    ] {
        let dir = fixtures().join(name);
        let expected: Expected =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        check(&dir, &expected);
    }
}

#[test]
fn every_dtype_matches_numpy() {
    let dir = fixtures().join("dtypes");
    let all: BTreeMap<String, Expected> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    for (file, expected) in &all {
        check(&dir.join(file), expected);
    }
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    for name in [
        "llama-tiny",
        "stats-edge",
        "dtypes/F32.safetensors",
        "gpt2-tiny",
    ] {
        let path = fixtures().join(name);
        let (_, one) = stats_json(&path, &["--threads", "1"]);
        let (_, two) = stats_json(&path, &["--threads", "2"]);
        let (_, default) = stats_json(&path, &[]);
        assert_eq!(one, two, "{name}");
        assert_eq!(one, default, "{name}");
    }
}

#[test]
fn stats_edge_findings_are_the_expected_ones() {
    let dir = fixtures().join("stats-edge");
    let expected: Expected =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let (doc, _) = stats_json(&dir, &[]);
    for e in &expected.findings {
        if e.code == "outliers" {
            // numpy's expectation of outliers per tensor: reported once for the model now, as
            // `heavy_tails`, counting this tensor.
            let t = doc.tensors.iter().find(|t| t.name == e.tensor).unwrap();
            assert!(t.stats.outliers > 0, "{}", e.tensor);
            assert!(doc.findings.iter().any(|f| f.code == "heavy_tails"));
            continue;
        }
        assert!(
            doc.findings
                .iter()
                .any(|f| f.code == e.code && f.tensor.as_deref() == Some(e.tensor.as_str())),
            "missing {} on {}",
            e.code,
            e.tensor
        );
    }
    for f in &doc.findings {
        assert!(["error", "warning", "info"].contains(&f.severity.as_str()));
        assert!(!f.message.is_empty());
    }
    let healthy: Vec<_> = doc
        .findings
        .iter()
        .filter(|f| f.tensor.as_deref() == Some("layers.0.healthy.weight"))
        .collect();
    assert!(healthy.is_empty(), "{healthy:?}");
    let nan = doc.findings.iter().find(|f| f.code == "nan").unwrap();
    assert_eq!(nan.severity, "error");

    // The evidence holds the numbers the message states, taken from the tensor's statistics.
    let tensor = |name: &str| doc.tensors.iter().find(|t| t.name == name).unwrap();
    let int = |f: &FindingObj, key: &str| f.evidence[key].as_u64().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for f in &doc.findings {
        seen.insert(f.code.as_str());
        if f.code == "heavy_tails" {
            // About the model: its evidence names the most extreme tensor.
            let t = tensor(f.evidence["most"].as_str().unwrap());
            assert_eq!(f.tensor, None);
            assert_eq!(int(f, "outliers"), t.stats.outliers);
            assert_eq!(int(f, "finite"), t.stats.finite);
            assert_eq!(f.evidence["sigmas"].as_f64(), Some(6.0));
            assert_eq!(f.evidence["distribution"], t.stats.distribution.as_str());
            assert!(int(f, "tensors") >= 1 && int(f, "tensors") <= int(f, "of"));
            continue;
        }
        let t = tensor(f.tensor.as_deref().unwrap());
        match f.code.as_str() {
            "nan" => {
                assert_eq!(int(f, "nan"), t.stats.nan);
                assert_eq!(int(f, "values"), t.stats.count);
                assert!(f.message.starts_with(&format!("{} NaN", t.stats.nan)));
            }
            "inf" => assert_eq!(int(f, "inf"), t.stats.inf),
            "all_zero" => assert_eq!(int(f, "values"), t.stats.zeros),
            "constant" => assert_eq!(f.evidence["value"].as_f64(), t.stats.min),
            "dead_rows" => {
                assert_eq!(Some(int(f, "dead_rows")), t.stats.dead_rows);
                assert_eq!(int(f, "rows"), t.shape[0]);
            }
            "dead_columns" => {
                assert_eq!(Some(int(f, "dead_columns")), t.stats.dead_columns);
                assert_eq!(int(f, "columns"), t.shape[1]);
            }
            "duplicate" => {
                let earlier = f.evidence["duplicate_of"].as_str().unwrap();
                let e = tensor(earlier);
                assert_eq!((&e.dtype, &e.shape), (&t.dtype, &t.shape));
                assert!(f.message.contains(earlier));
            }
            "norm_uninitialised" => {
                assert_eq!(f.evidence["value"].as_f64(), t.stats.min);
            }
            other => panic!("no evidence check for `{other}`"),
        }
    }
    assert!(seen.len() >= 6, "{seen:?}");
}

#[test]
fn totals_are_over_weights_and_integer_buffers_are_apart() {
    // bert-tiny holds an I64 `position_ids` buffer (0..=511 in a real BERT) beside F32 weights.
    let (doc, _) = stats_json(&fixtures().join("bert-tiny"), &[]);
    let is_float = |t: &&TensorObj| {
        !t.dtype.starts_with('I') && !t.dtype.starts_with('U') && t.dtype != "BOOL"
    };
    let (weights, buffers): (Vec<&TensorObj>, Vec<&TensorObj>) =
        doc.tensors.iter().partition(is_float);
    assert!(
        buffers.iter().any(|t| t.name.ends_with("position_ids")),
        "{:?}",
        buffers.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    assert_eq!(doc.total.tensors, weights.len());
    assert_eq!(doc.buffers.tensors, buffers.len());
    assert_eq!(
        doc.total.count,
        weights.iter().map(|t| t.stats.count).sum::<u64>()
    );
    assert_eq!(
        doc.buffers.count,
        buffers.iter().map(|t| t.stats.count).sum::<u64>()
    );
    let max = |ts: &[&TensorObj]| {
        ts.iter()
            .filter_map(|t| t.stats.max)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    assert_eq!(doc.total.max, Some(max(&weights)));
    assert_eq!(doc.buffers.max, Some(max(&buffers)));
    // Blocks aggregate weights too.
    let block_tensors: usize = doc.blocks.iter().map(|b| b.tensors).sum();
    assert!(block_tensors <= weights.len());
}

#[test]
fn blocks_and_total_aggregate_the_tensors() {
    let (doc, _) = stats_json(&fixtures().join("llama-tiny"), &[]);
    let names: Vec<&str> = doc
        .blocks
        .iter()
        .map(|b| b.block.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["model.layers.0", "model.layers.1"]);
    assert_eq!(doc.blocks[0].tensors, 9);
    assert_eq!(doc.total.tensors, doc.tensors.len());
    assert_eq!(
        doc.total.count,
        doc.tensors.iter().map(|t| t.stats.count).sum::<u64>()
    );
    assert!(doc.total.block.is_none());
    // The total's mean is the count-weighted mean of the tensors' means.
    let weighted: f64 = doc
        .tensors
        .iter()
        .map(|t| t.stats.mean.unwrap() * t.stats.finite as f64)
        .sum::<f64>()
        / doc.total.finite as f64;
    assert!((doc.total.mean.unwrap() - weighted).abs() < 1e-12);
    let l2: f64 = doc
        .tensors
        .iter()
        .map(|t| t.stats.l2_norm.unwrap().powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((doc.total.l2_norm.unwrap() - l2).abs() < 1e-9 * l2);
    let b = &doc.blocks[1];
    assert!(b.min <= b.max && b.abs_max >= b.max && b.std.unwrap() > 0.0);
    assert_eq!((b.nan, b.inf, b.zeros), (0, 0, 0));
}

#[test]
fn text_table_filter_and_sort() {
    let dir = fixtures().join("stats-edge");
    let out = glassbox(&["stats", dir.to_str().unwrap(), "--sort", "non-finite"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().nth(1).unwrap();
    assert!(first.starts_with("layers.0.nan.weight"), "{text}");
    assert!(first.contains("3 NaN"), "{first}");
    assert!(text.contains("\nfindings:\n"));
    assert!(text.contains("- error [nan] layers.0.nan.weight: "));

    let out = glassbox(&[
        "stats",
        dir.to_str().unwrap(),
        "--filter",
        "*healthy*",
        "--format",
        "json",
    ]);
    let doc: StatsDoc = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.tensors.len(), 1);
    assert!(doc.findings.is_empty());

    let out = glassbox(&["stats", dir.to_str().unwrap(), "--format", "markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("| name | dtype | shape | mean | std | min | max | zeros | non-finite |\n")
    );
    assert!(md.contains("**Findings**"));
}

#[test]
fn stats_errors_exit_2() {
    let bad = fixtures().join("malformed/truncated.safetensors");
    let out = glassbox(&["stats", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1);
    assert!(
        err.contains("truncated.safetensors: tensor `weight`"),
        "{err}"
    );
    let out = glassbox(&["stats", "fixtures/llama-tiny", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Writes a one-tensor BF16 safetensors file of `rows`×`cols` values from `value(i)`.
fn write_bf16(path: &Path, rows: usize, cols: usize, value: impl Fn(usize) -> f32) {
    let data: Vec<u8> = (0..rows * cols)
        .flat_map(|i| ((value(i).to_bits() >> 16) as u16).to_le_bytes())
        .collect();
    let header = format!(
        "{{\"w\":{{\"dtype\":\"BF16\",\"shape\":[{rows},{cols}],\"data_offsets\":[0,{}]}}}}",
        data.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn large_tensors_are_sampled_unless_exact_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    // 4.3M values (over the 2^22 of the sampled method): a triangular spread around 0 with two
    // outliers.
    write_bf16(&path, 2048, 2100, |i| match i {
        17 => 5.0,
        4_000_000 => -5.0,
        _ => ((i * 7919 % 1000) as f32 + (i * 104_729 % 1000) as f32 - 999.0) / 10_000.0,
    });
    // Whether the default samples BF16 depends on what measured faster on this CPU: forced here.
    let (sampled, sampled_text) = stats_json_with(&path, &[], &[("GLASSBOX_METHOD", "sampled")]);
    let (exact, exact_text) = stats_json(&path, &["--exact"]);
    let (_, forced_exact) = stats_json_with(&path, &[], &[("GLASSBOX_METHOD", "exact")]);
    assert_eq!(forced_exact, exact_text, "GLASSBOX_METHOD=exact is --exact");
    // Every kernel, forced, gives the same statistics (the portable one within its rounding of
    // squares: std compared to 1e-12 below); the measured default is one of the two methods.
    let (_, auto) = stats_json(&path, &[]);
    assert!(
        auto == sampled_text || auto == exact_text,
        "the default is sampled or exact"
    );
    for kernel in ["scalar", "portable", "avx2", "avx512"] {
        let env = [("GLASSBOX_METHOD", "sampled"), ("GLASSBOX_KERNEL", kernel)];
        let (k, _) = stats_json_with(&path, &[], &env);
        let (a, b) = (&k.tensors[0].stats, &sampled.tensors[0].stats);
        assert_eq!(
            (a.count, a.zeros, a.min, a.max, a.p50),
            (b.count, b.zeros, b.min, b.max, b.p50),
            "{kernel}"
        );
        close(kernel, a.std, b.std, 1e-12);
    }
    let (s, e) = (&sampled.tensors[0].stats, &exact.tensors[0].stats);
    assert_eq!(
        (s.distribution.as_str(), s.exact_distribution),
        ("sampled", false)
    );
    assert_eq!(
        (e.distribution.as_str(), e.exact_distribution),
        ("exact", true)
    );
    assert_eq!(
        (s.count, s.finite, s.zeros, s.nan, s.inf, s.min, s.max),
        (e.count, e.finite, e.zeros, e.nan, e.inf, e.min, e.max)
    );
    assert_eq!((e.min, e.max), (Some(-5.0), Some(5.0)));
    close("mean", s.mean, e.mean, 1e-12 * e.std.unwrap());
    close("std", s.std, e.std, 1e-12 * e.std.unwrap());
    close("l2", s.l2_norm, e.l2_norm, 1e-12 * e.l2_norm.unwrap());
    assert_eq!((s.outliers, e.outliers), (2, 2));
    // Sampling error (about 0.005σ here) plus two BF16 steps: this pattern has only 224 distinct
    // values, 0.1% of the values each.
    for (a, b) in [(s.p1, e.p1), (s.p50, e.p50), (s.p99, e.p99)] {
        close(
            "percentile",
            a,
            b,
            0.01 * e.std.unwrap() + b.unwrap().abs() / 64.0,
        );
    }
    let (hs, he) = (s.histogram.as_ref().unwrap(), e.histogram.as_ref().unwrap());
    assert_eq!(hs.counts.iter().sum::<u64>(), he.counts.iter().sum::<u64>());
}

/// Every kernel forced by `GLASSBOX_KERNEL` (the portable one is what an ARM machine runs)
/// measures a large F32 tensor as a naive f64 loop here does, tails, a NaN and an infinity
/// included, and as the others do for the distribution.
#[test]
fn every_forced_kernel_measures_a_large_f32_tensor_like_a_naive_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    let (rows, cols) = (2048, 2100);
    let value = |i: usize| match i {
        17 => 5.0f32,
        100_000 => f32::NAN,
        3_000_000 => f32::INFINITY,
        4_000_000 => -5.0,
        _ if i % 50_000 == 7 => 0.0,
        _ => ((i * 7919 % 1000) as f32 + (i * 104_729 % 1000) as f32 - 999.0) / 10_000.0,
    };
    let values: Vec<f32> = (0..rows * cols).map(value).collect();
    let data: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let header = format!(
        "{{\"w\":{{\"dtype\":\"F32\",\"shape\":[{rows},{cols}],\"data_offsets\":[0,{}]}}}}",
        data.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(&path, bytes).unwrap();
    let finite: Vec<f64> = values
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| f64::from(x))
        .collect();
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let zeros = values.iter().filter(|&&x| x == 0.0).count() as u64;
    let (reference, _) = stats_json_with(
        &path,
        &[],
        &[
            ("GLASSBOX_METHOD", "sampled"),
            ("GLASSBOX_KERNEL", "scalar"),
        ],
    );
    for kernel in ["scalar", "portable", "avx2", "avx512"] {
        for method in ["sampled", "exact"] {
            let env = [("GLASSBOX_METHOD", method), ("GLASSBOX_KERNEL", kernel)];
            let (k, _) = stats_json_with(&path, &[], &env);
            let s = &k.tensors[0].stats;
            let what = format!("{kernel} {method}");
            let distribution = if method == "sampled" {
                "sampled"
            } else {
                "buckets"
            };
            assert_eq!(s.distribution, distribution, "{what}");
            assert_eq!(
                (s.count, s.finite, s.nan, s.inf, s.zeros),
                ((rows * cols) as u64, n as u64, 1, 1, zeros),
                "{what}"
            );
            assert_eq!((s.min, s.max), (Some(-5.0), Some(5.0)), "{what}");
            close(&what, s.mean, Some(mean), 1e-12 * std);
            close(&what, s.std, Some(std), 1e-12 * std);
            assert_eq!(s.outliers, 2, "{what}");
            if method == "sampled" {
                let r = &reference.tensors[0].stats;
                assert_eq!((s.p1, s.p50, s.p99), (r.p1, r.p50, r.p99), "{what}");
                assert_eq!(s.histogram, r.histogram, "{what}");
            }
        }
    }
}

/// The sibling fixtures (`fixtures/siblings/generate.py`): the healthy models get no warning, each
/// broken copy exactly its fault, named with its siblings' typical value (std, or tails for the
/// copy re-initialised with the std it had).
#[test]
fn each_broken_layer_is_named_and_the_healthy_model_gets_no_warning() {
    let dir = fixtures().join("siblings");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected.as_object().unwrap();
    assert_eq!(files.len(), 7);
    for (file, e) in files {
        let (doc, _) = stats_json(&dir.join(file), &[]);
        let mut got: Vec<(String, String)> = doc
            .findings
            .iter()
            .filter(|f| f.severity != "info")
            .map(|f| (f.code.clone(), f.tensor.clone().unwrap()))
            .collect();
        let mut want: Vec<(String, String)> = e["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["tensor"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}");
        for f in doc.findings.iter().filter(|f| f.code == "unlike_siblings") {
            let t = doc
                .tensors
                .iter()
                .find(|t| Some(&t.name) == f.tensor.as_ref())
                .unwrap();
            assert_eq!(f.evidence["layers"], 8);
            let pattern = f.evidence["siblings"].as_str().unwrap();
            assert!(pattern.starts_with("model.layers.*.") && f.message.contains(pattern));
            if let Some(tail) = f.evidence.get("tail_sigmas") {
                // A re-initialisation with the same std: named by its tails, as numpy measured
                // them, within a freshly drawn Gaussian's bound.
                let want = e["findings"][0]["tail_sigmas"].as_f64().unwrap();
                let tail = tail.as_f64().unwrap();
                assert!(
                    (tail - want).abs() < 1e-6 * want,
                    "{file}: {tail} vs {want}"
                );
                assert!(tail < f.evidence["fresh_bound_sigmas"].as_f64().unwrap());
                assert!(f.evidence["siblings_tail_sigmas"].as_f64().unwrap() > 3.0 * tail);
                continue;
            }
            let std = f.evidence["std"].as_f64().unwrap();
            let typical = f.evidence["expected_std"].as_f64().unwrap();
            assert_eq!(Some(std), t.stats.std, "{file}");
            assert!((f.evidence["ratio"].as_f64().unwrap() - std / typical).abs() < 1e-9);
            // Every injected fault is a factor of 2.5 or more from the depth trend.
            assert!(
                !(0.4..=2.5).contains(&(std / typical)),
                "{file}: {}",
                std / typical
            );
        }
    }
    // The scaled copy: ×4 against siblings measured independently (the same tensor in the healthy
    // model at the same depth).
    let (healthy, _) = stats_json(&dir.join("healthy/model.safetensors"), &[]);
    let (scaled, _) = stats_json(&dir.join("scaled/model.safetensors"), &[]);
    let std_of = |doc: &StatsDoc| {
        doc.tensors
            .iter()
            .find(|t| t.name == "model.layers.3.mlp.down_proj.weight")
            .unwrap()
            .stats
            .std
            .unwrap()
    };
    assert!((std_of(&scaled) / std_of(&healthy) - 4.0).abs() < 1e-6);
}

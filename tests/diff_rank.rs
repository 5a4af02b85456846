//! The rank of Δ on the committed low-rank fixtures (fixtures/generate_diff_rank.py), against the
//! generator's numpy SVD: planted LoRA ranks 1/4/8/16 under BF16 rounding, a rank-24 and a
//! full-rank fine-tune, a change on three rows, a change concentrated on a few heavy rows over
//! one-ulp flips everywhere, and flips within the rounding noise. Each of glassbox's ways to the
//! rank (range finder, exact rows, row-sample gate, noise floor) is checked against the oracle,
//! not against itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod common;
use common::{glassbox, stderr, strict};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    singular_values: Vec<f64>,
    r90: usize,
    r99: usize,
    stable: f64,
    rel_l2: f64,
    floor: f64,
    nonzero_rows: usize,
}

/// The part of the diff document these tests read (the full contract is checked in `diff.rs`).
#[derive(Debug, Deserialize, Serialize)]
struct Doc {
    tensors: Vec<Tensor>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Tensor {
    name: String,
    status: String,
    rel_l2: Option<f64>,
    rank: Option<Rank>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Rank {
    r90: Option<usize>,
    r99: Option<usize>,
    stable: Option<f64>,
    singular_values: Vec<f64>,
    floor: f64,
    sketch: usize,
    low_rank: bool,
    method: String,
    sample: Option<Sample>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    rows: usize,
    top_share: f64,
}

const LOW_RANK_MAX: usize = 16;
const COLS: usize = 96;

fn expected() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string("fixtures/diff_rank/expected.json").expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

fn ranks(extra: &[&str]) -> BTreeMap<String, Tensor> {
    let mut args = vec![
        "diff",
        "fixtures/diff_rank/a",
        "fixtures/diff_rank/b",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = glassbox(&args);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1));
    let doc: Doc = serde_json::from_slice(&out.stdout).expect("diff JSON");
    doc.tensors
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect()
}

fn rank_of<'a>(got: &'a BTreeMap<String, Tensor>, name: &str) -> &'a Rank {
    let t = &got[name];
    assert_eq!(t.status, "changed", "{name}");
    t.rank.as_ref().unwrap_or_else(|| panic!("{name}: no rank"))
}

/// The oracle's reading of low rank: r99 at most 16 and a quarter of the smaller dimension.
fn oracle_low_rank(e: &Expected) -> bool {
    e.r99 <= LOW_RANK_MAX && e.r99 * 4 <= COLS
}

#[test]
fn planted_lora_ranks_read_as_their_rank_through_the_range_finder() {
    let (want, got) = (expected(), ranks(&[]));
    for r in [1, 4, 8, 16] {
        let name = format!("lora_r{r}.weight");
        let (e, g) = (&want[&name], rank_of(&got, &name));
        // The oracle confirms the plant survived BF16 rounding.
        assert_eq!(e.r99, r, "{name}: oracle");
        assert_eq!(g.method, "range_finder", "{name}: {g:?}");
        assert_eq!((g.r90, g.r99), (Some(e.r90), Some(e.r99)), "{name}: {g:?}");
        assert!(g.low_rank && oracle_low_rank(e), "{name}");
        // The r planted singular values, to 1e-6 of the largest (power iterations converge on
        // a gap this wide).
        for (i, (s, w)) in g
            .singular_values
            .iter()
            .zip(&e.singular_values)
            .take(r)
            .enumerate()
        {
            assert!(
                (s - w).abs() <= 1e-6 * e.singular_values[0],
                "{name}: σ{i} {s} vs numpy {w}"
            );
        }
        assert!((g.floor - e.floor).abs() <= 1e-9 * e.floor, "{name}: floor");
        let rel = got[&name].rel_l2.unwrap();
        assert!((rel - e.rel_l2).abs() <= 1e-9 * e.rel_l2, "{name}: rel_l2");
    }
}

#[test]
fn full_rank_changes_are_read_as_such_by_the_row_sample_gate() {
    let (want, got) = (expected(), ranks(&[]));
    for name in ["full.weight", "rank24.weight"] {
        let (e, g) = (&want[name], rank_of(&got, name));
        assert!(!oracle_low_rank(e), "{name}: the oracle's r99 is {}", e.r99);
        assert_eq!(g.method, "row_sample", "{name}: {g:?}");
        assert!(!g.low_rank, "{name}");
        assert_eq!((g.r90, g.r99), (None, None), "{name}");
        assert!(g.singular_values.is_empty(), "{name}");
        let sample = g.sample.as_ref().expect("sample");
        assert_eq!(sample.rows, 128);
        assert!(sample.top_share < 0.9, "{name}: {sample:?}");
        // The sample's stable rank estimates numpy's (a sample of 128 rows: within a factor 2).
        let stable = g.stable.expect("stable");
        assert!(
            stable > e.stable / 2.0 && stable < e.stable * 2.0,
            "{name}: stable {stable} vs numpy {}",
            e.stable
        );
    }
}

#[test]
fn a_change_on_three_rows_gets_its_exact_singular_values() {
    let (want, got) = (expected(), ranks(&[]));
    let (e, g) = (&want["rows3.weight"], rank_of(&got, "rows3.weight"));
    assert_eq!(e.nonzero_rows, 3);
    assert_eq!(g.method, "exact_rows", "{g:?}");
    assert_eq!((g.r90, g.r99), (Some(e.r90), Some(e.r99)));
    assert_eq!(g.sketch, 3);
    assert_eq!(g.singular_values.len(), 3);
    for (s, w) in g.singular_values.iter().zip(&e.singular_values) {
        assert!((s - w).abs() <= 1e-9 * w, "σ {s} vs numpy {w}");
    }
    assert!((g.stable.unwrap() - e.stable).abs() <= 1e-9 * e.stable);
    assert!(g.low_rank && oracle_low_rank(e));
}

#[test]
fn a_change_concentrated_on_a_few_rows_is_sampled_by_energy_and_measured() {
    // Every row holds a one-ulp flip, so there are too many rows for the exact path; the heavy
    // rows hold almost all of ‖Δ‖², so the gate draws them and passes Δ to the range finder.
    let (want, got) = (expected(), ranks(&[]));
    let (e, g) = (
        &want["heavy_rows.weight"],
        rank_of(&got, "heavy_rows.weight"),
    );
    assert!(e.nonzero_rows > 128, "{}", e.nonzero_rows);
    assert_eq!(e.r99, 2);
    assert_eq!(g.method, "range_finder", "{g:?}");
    assert_eq!((g.r90, g.r99), (Some(e.r90), Some(e.r99)));
    assert!(g.low_rank);
}

#[test]
fn flips_within_the_rounding_noise_skip_the_rank_pass() {
    let (want, got) = (expected(), ranks(&[]));
    let (e, g) = (&want["noise.weight"], rank_of(&got, "noise.weight"));
    // The oracle: no singular value above the floor, so nothing to measure.
    assert!(
        e.singular_values[0] <= e.floor,
        "{} vs {}",
        e.singular_values[0],
        e.floor
    );
    assert_eq!(g.method, "noise_floor", "{g:?}");
    assert_eq!((g.r90, g.r99, g.stable), (None, None, None));
    assert!(g.singular_values.is_empty() && !g.low_rank);
}

#[test]
fn the_text_report_shows_each_way_to_the_rank() {
    let out = glassbox(&[
        "diff",
        "fixtures/diff_rank/a",
        "fixtures/diff_rank/b",
        "--color",
        "never",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
            .to_owned()
    };
    assert!(
        line("full.weight").contains("-/>16"),
        "{}",
        line("full.weight")
    );
    assert!(
        line("noise.weight").contains("-/-"),
        "{}",
        line("noise.weight")
    );
    assert!(
        line("lora_r4.weight").contains("4/4"),
        "{}",
        line("lora_r4.weight")
    );
    assert!(
        line("rows3.weight").contains("3/3"),
        "{}",
        line("rows3.weight")
    );
}

#[test]
fn the_strict_mirror_reads_every_rank_object() {
    let out = glassbox(&[
        "diff",
        "fixtures/diff_rank/a",
        "fixtures/diff_rank/b",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in doc["tensors"].as_array().unwrap() {
        let rank = serde_json::to_vec(&t["rank"]).unwrap();
        let _: Rank = strict(&rank, t["name"].as_str().unwrap());
    }
}

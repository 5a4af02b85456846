//! `glassbox diff` on the committed fixtures (fixtures/generate_diff.py): statuses, numbers against
//! the generator's numpy values, ranks, lineage, verdicts, exit codes, the strict JSON contract and
//! the error paths.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod common;
use common::{ModelObj, fixtures, glassbox, sparse_safetensors, stderr, stdout, strict};

// ---- the generator's oracle ---------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedPair {
    tensors: BTreeMap<String, ExpectedTensor>,
    verdict: String,
    exit: i32,
    #[serde(default)]
    rank4: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedTensor {
    status: String,
    rel_l2: Option<f64>,
    sqnr_db: Option<f64>,
    cosine: Option<f64>,
    max_abs: Option<f64>,
    bit_identical: Option<f64>,
}

fn expected() -> BTreeMap<String, ExpectedPair> {
    let path = fixtures().join("diff/expected.json");
    serde_json::from_slice(&std::fs::read(path).expect("expected.json")).expect("oracle parses")
}

// ---- strict mirror of the document --------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DiffDoc {
    schema_version: u32,
    a: ModelObj,
    b: ModelObj,
    summary: BTreeMap<String, usize>,
    tensors: Vec<TensorDiffObj>,
    layers: Vec<LayerObj>,
    transforms: Vec<TransformObj>,
    lineage: Option<LineageObj>,
    verdict: VerdictObj,
    within_tolerance: bool,
    tolerance: f64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TensorDiffObj {
    name: String,
    name_a: Option<String>,
    name_b: Option<String>,
    status: String,
    bytes_identical: Option<bool>,
    dtype_a: Option<String>,
    dtype_b: Option<String>,
    shape_a: Option<Vec<u64>>,
    shape_b: Option<Vec<u64>>,
    layer: Option<usize>,
    role: String,
    numbers: Option<NumbersObj>,
    rel_l2: Option<f64>,
    sqnr_db: Option<f64>,
    cosine: Option<f64>,
    max_abs: Option<f64>,
    rank: Option<RankObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NumbersObj {
    count: u64,
    rel_l2: Option<f64>,
    sqnr_db: Option<f64>,
    cosine: Option<f64>,
    pearson: Option<f64>,
    max_abs: Option<f64>,
    p99_abs: Option<f64>,
    bit_identical: f64,
    within_rounding: Option<f64>,
    rounding_floor: Option<f64>,
    nan_introduced: u64,
    inf_introduced: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RankObj {
    r90: Option<usize>,
    r99: Option<usize>,
    stable: Option<f64>,
    singular_values: Vec<f64>,
    floor: f64,
    sketch: usize,
    low_rank: bool,
    method: String,
    sample: Option<SampleObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SampleObj {
    rows: usize,
    top_share: f64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LayerObj {
    layer: Option<usize>,
    changed: usize,
    mean_rel_l2: Option<f64>,
    roles: Vec<RoleObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RoleObj {
    role: String,
    status: String,
    rel_l2: Option<f64>,
    r99: Option<usize>,
    low_rank: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TransformObj {
    code: String,
    side: String,
    tensors: usize,
    detail: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LineageObj {
    test: String,
    layers: usize,
    rows: usize,
    agreements: usize,
    identity: usize,
    statistic: f64,
    p_value: f64,
    conclusion: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct VerdictObj {
    kind: String,
    evidence: EvidenceObj,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct EvidenceObj {
    paired: usize,
    paired_share: f64,
    differing: usize,
    converted: usize,
    added: usize,
    removed: usize,
    layers: Vec<usize>,
    roles: Vec<String>,
    dtypes_b: BTreeMap<String, u64>,
    min_sqnr_db: Option<f64>,
    mean_sqnr_db: Option<f64>,
    ranks: Vec<usize>,
    other_differences: Vec<String>,
    lineage: Option<String>,
    replaced: Vec<ReplacedObj>,
    scaled: Vec<ScaledObj>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ReplacedObj {
    tensor: String,
    cosine: f64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ScaledObj {
    tensor: String,
    factor: f64,
}

/// Runs `glassbox diff A B --format json` (paths under fixtures/diff) and reads the document.
fn diff_json(a: &str, b: &str, extra: &[&str]) -> (DiffDoc, i32) {
    diff_paths(
        &format!("fixtures/diff/{a}"),
        &format!("fixtures/diff/{b}"),
        extra,
    )
}

/// Runs `glassbox diff A B --format json` and reads the document.
fn diff_paths(a: &str, b: &str, extra: &[&str]) -> (DiffDoc, i32) {
    let mut args = vec!["diff", a, b, "--format", "json"];
    args.extend_from_slice(extra);
    let out = glassbox(&args);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let doc: DiffDoc = strict(&out.stdout, &format!("diff {a} {b}"));
    (doc, out.status.code().expect("exit code"))
}

fn close(got: Option<f64>, want: Option<f64>, rel: f64, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= rel * w.abs().max(1e-300),
            "{what}: got {g}, numpy {w}"
        ),
        (None, None) => {}
        // A byte-identical pair is not decoded: numpy's rel_l2 of 0 has no number on our side.
        (None, Some(0.0)) => {}
        _ => panic!("{what}: got {got:?}, numpy {want:?}"),
    }
}

/// Every comparison the generator describes: statuses, numbers to 1e-9 relative (both sides sum
/// in f64), verdict and exit code.
#[test]
fn every_fixture_pair_matches_the_numpy_oracle() {
    for (key, pair) in expected() {
        let (a, b) = key.split_once('|').expect("A|B");
        let (doc, code) = diff_json(a, b, &[]);
        assert_eq!(doc.verdict.kind, pair.verdict, "{key}: verdict");
        assert_eq!(code, pair.exit, "{key}: exit code");
        assert_eq!(doc.within_tolerance, pair.exit == 0, "{key}");
        let by_name: BTreeMap<&str, &TensorDiffObj> =
            doc.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        // renamed: the oracle names tensors as A does; B's names were all rewritten.
        let renamed = key == "base|renamed";
        assert_eq!(by_name.len(), pair.tensors.len(), "{key}: tensor count");
        for (name, want) in &pair.tensors {
            let got = if renamed {
                let b_name = format!(
                    "base_model.model.{}",
                    name.strip_prefix("model.").unwrap_or(name)
                );
                by_name.get(b_name.as_str())
            } else {
                by_name.get(name.as_str())
            };
            let got = got.unwrap_or_else(|| panic!("{key}: `{name}` missing"));
            let want_status = if renamed {
                "renamed"
            } else {
                want.status.as_str()
            };
            assert_eq!(got.status, want_status, "{key}: `{name}` status");
            let what = format!("{key}: `{name}`");
            close(got.rel_l2, want.rel_l2, 1e-9, &format!("{what} rel_l2"));
            close(got.sqnr_db, want.sqnr_db, 1e-9, &format!("{what} sqnr"));
            close(
                got.cosine,
                want.cosine.filter(|_| got.numbers.is_some()),
                1e-9,
                &format!("{what} cosine"),
            );
            close(
                got.max_abs,
                want.max_abs.filter(|_| got.numbers.is_some()),
                1e-9,
                &format!("{what} max"),
            );
            if let (Some(n), Some(w)) = (&got.numbers, want.bit_identical) {
                assert!(
                    (n.bit_identical - w).abs() < 1e-12,
                    "{what}: bit-identical share"
                );
            }
        }
    }
}

#[test]
fn a_rank_4_delta_reads_as_rank_4_and_only_its_layer_is_marked() {
    let pairs = expected();
    for key in ["base|lora", "base|finetune"] {
        let (doc, _) = diff_json("base", key.split_once('|').unwrap().1, &[]);
        for name in &pairs[key].rank4 {
            let t = doc.tensors.iter().find(|t| &t.name == name).unwrap();
            let rank = t
                .rank
                .as_ref()
                .unwrap_or_else(|| panic!("{key}: {name} has no rank"));
            assert_eq!(rank.r99, Some(4), "{key}: {name}: {rank:?}");
            assert_eq!(rank.singular_values.len(), 4, "{key}: {name}: {rank:?}");
            assert!(rank.low_rank, "{key}: {name}");
        }
    }
    let (doc, _) = diff_json("base", "lora", &[]);
    let marked: Vec<Option<usize>> = doc
        .layers
        .iter()
        .filter(|l| l.changed > 0)
        .map(|l| l.layer)
        .collect();
    assert_eq!(marked, [Some(2)]);
    assert_eq!(doc.verdict.evidence.ranks, [4, 4]);
    assert_eq!(doc.verdict.evidence.roles, ["q", "v"]);
    // A full-rank update of a 32 × 32 matrix is not a low-rank merge.
    let (doc, _) = diff_json("base", "finetune", &[]);
    let full = doc
        .tensors
        .iter()
        .find(|t| t.name == "model.layers.1.self_attn.q_proj.weight")
        .unwrap();
    assert!(!full.rank.as_ref().unwrap().low_rank);
}

#[test]
fn lineage_tells_a_permuted_copy_from_an_independent_model() {
    let (permuted, _) = diff_json("base", "permuted", &[]);
    let l = permuted.lineage.expect("lineage ran");
    assert_eq!(l.conclusion, "permuted");
    assert!(l.p_value < 1e-20, "{l:?}");
    assert!(l.identity * 4 < l.agreements, "{l:?}");
    let (indep, _) = diff_json("base", "independent", &[]);
    let l = indep.lineage.expect("lineage ran");
    assert_eq!(l.conclusion, "unrelated");
    assert!(l.p_value > 1e-3, "{l:?}");
    let (ft, _) = diff_json("base", "finetune", &[]);
    assert_eq!(ft.lineage.unwrap().conclusion, "same_order");
}

#[test]
fn gguf_pairs_every_tensor_and_undoes_the_converter() {
    for file in ["q8_0", "q4_k"] {
        let (doc, code) = diff_json("q", &format!("q/{file}.gguf"), &[]);
        assert_eq!(code, 1);
        assert_eq!(doc.summary["added"] + doc.summary["removed"], 0, "{file}");
        let codes: Vec<&str> = doc.transforms.iter().map(|t| t.code.as_str()).collect();
        assert!(
            codes.contains(&"gguf_names") && codes.contains(&"qk_unpermute"),
            "{codes:?}"
        );
        let qk: usize = doc
            .transforms
            .iter()
            .filter(|t| t.code == "qk_unpermute")
            .map(|t| t.tensors)
            .sum();
        assert_eq!(qk, 2, "the Q and K weights of the one layer");
        // Norms went F16 → F32 in the GGUF: the same values in other bytes.
        let norm = doc
            .tensors
            .iter()
            .find(|t| t.name == "model.norm.weight")
            .unwrap();
        assert_eq!(
            (norm.status.as_str(), norm.bytes_identical),
            ("identical", Some(false))
        );
    }
}

#[test]
fn bf16_copy_is_re_rounding_within_half_an_ulp() {
    let (doc, code) = diff_json("base", "bf16", &[]);
    assert_eq!(code, 1);
    for t in &doc.tensors {
        let n = t.numbers.as_ref().unwrap();
        assert_eq!(n.within_rounding, Some(1.0), "{}", t.name);
        assert_eq!(n.rounding_floor, Some(2f64.powi(-8)), "{}", t.name);
        assert!(t.rel_l2.unwrap() <= 2f64.powi(-8), "{}", t.name);
    }
}

#[test]
fn tolerance_sets_the_exit_code() {
    let (doc, code) = diff_json("base", "bf16", &["--tolerance", "0.01"]);
    assert!(doc.within_tolerance);
    assert_eq!(code, 0);
    let (_, code) = diff_json("base", "bf16", &["--tolerance", "1e-4"]);
    assert_eq!(code, 1);
    // Added or reshaped tensors differ whatever the tolerance.
    let (_, code) = diff_json("base", "added_tokens", &["--tolerance", "10"]);
    assert_eq!(code, 1);
}

#[test]
fn map_rewrites_prefixes_and_content_pairs_the_rest() {
    let (doc, code) = diff_json("base", "renamed", &["--map", "model.=base_model.model."]);
    assert_eq!(code, 0);
    assert_eq!(doc.summary["identical"], 38);
    assert_eq!(doc.summary["renamed"], 1, "lm_head has no `model.` prefix");
    let map = doc.transforms.iter().find(|t| t.code == "map").unwrap();
    assert_eq!((map.side.as_str(), map.tensors), ("a", 38));
}

/// A tensor re-initialised, scaled ×4, zeroed or swapped with another layer's (the generator's
/// `fixtures/siblings` copies) is an edit, named with what was done, not a fine-tune; a real
/// fine-tune and a LoRA merge name no such tensor.
#[test]
fn replaced_scaled_and_zeroed_tensors_are_edits() {
    let pair = |b: &str| {
        diff_paths(
            "fixtures/siblings/healthy",
            &format!("fixtures/siblings/{b}"),
            &[],
        )
    };
    let (doc, code) = pair("reinit");
    assert_eq!((code, doc.verdict.kind.as_str()), (1, "edited"));
    let e = &doc.verdict.evidence;
    assert_eq!(e.replaced.len(), 1);
    assert_eq!(
        e.replaced[0].tensor,
        "model.layers.5.self_attn.q_proj.weight"
    );
    assert!(e.replaced[0].cosine.abs() < 0.2);
    assert!(e.scaled.is_empty());
    let (doc, _) = pair("scaled");
    assert_eq!(doc.verdict.kind, "edited");
    let s = &doc.verdict.evidence.scaled;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].tensor, "model.layers.3.mlp.down_proj.weight");
    assert!((s[0].factor - 4.0).abs() < 1e-6, "{}", s[0].factor);
    let (doc, _) = pair("zeroed");
    assert_eq!(doc.verdict.kind, "edited");
    assert_eq!(doc.verdict.evidence.scaled[0].factor, 0.0);
    let (doc, _) = pair("swapped");
    assert_eq!(doc.verdict.kind, "edited");
    assert_eq!(doc.verdict.evidence.replaced.len(), 2);
    let text = stdout(&glassbox(&[
        "diff",
        "fixtures/siblings/healthy",
        "fixtures/siblings/scaled",
    ]));
    assert!(
        text.contains("verdict: edited in layer 3 (roles down), not a training change; model.layers.3.mlp.down_proj.weight scaled ×4.000"),
        "{text}"
    );
    for (b, kind) in [("finetune", "fine_tuned"), ("lora", "low_rank_merge")] {
        let (doc, _) = diff_json("base", b, &[]);
        assert_eq!(doc.verdict.kind, kind);
        assert!(doc.verdict.evidence.replaced.is_empty(), "{b}");
        assert!(doc.verdict.evidence.scaled.is_empty(), "{b}");
    }
}

/// Two models with no tensor in common are unrelated, not "identical: all 0 tensors have the same
/// values" (found on a sentence-transformers MPNet against a nomic-bert GGUF).
/// A tensor scaled ×4 inside a conversion to BF16 (every other tensor only rounded): an edit in
/// its layer, not a quantisation of every layer.
#[test]
fn a_tensor_scaled_inside_a_type_conversion_is_an_edit() {
    let bytes = std::fs::read("fixtures/siblings/scaled/model.safetensors").unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let converted: Vec<(String, Vec<u8>, Vec<usize>)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let data = view
                .data()
                .chunks_exact(4)
                .flat_map(|b| {
                    let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    half::bf16::from_f32(x).to_le_bytes()
                })
                .collect();
            (name, data, view.shape().to_vec())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = converted
        .iter()
        .map(|(name, data, shape)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::BF16, shape.clone(), data)
                    .unwrap();
            (name.clone(), view)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    safetensors::serialize_to_file(views, None, &path).unwrap();
    let (doc, code) = diff_paths("fixtures/siblings/healthy", path.to_str().unwrap(), &[]);
    assert_eq!((code, doc.verdict.kind.as_str()), (1, "edited"));
    let e = &doc.verdict.evidence;
    assert_eq!(e.scaled.len(), 1);
    assert_eq!(e.scaled[0].tensor, "model.layers.3.mlp.down_proj.weight");
    assert!(
        (e.scaled[0].factor - 4.0).abs() < 0.01,
        "{}",
        e.scaled[0].factor
    );
    assert_eq!(e.layers, [3], "only the edited tensor's layer");
    for t in &doc.tensors {
        let want = if t.name == "model.layers.3.mlp.down_proj.weight" {
            "changed"
        } else {
            "re-rounded"
        };
        assert!(
            t.status == want || (want == "re-rounded" && t.status == "identical"),
            "{}: {}",
            t.name,
            t.status
        );
    }
}

#[test]
fn models_without_a_tensor_in_common_are_unrelated() {
    let (doc, code) = diff_paths("fixtures/bert-tiny", "fixtures/llama-tiny", &[]);
    assert_eq!(code, 1);
    assert_eq!(doc.verdict.kind, "unrelated");
    assert_eq!(doc.verdict.evidence.paired, 0);
    assert_eq!(doc.verdict.evidence.paired_share, 0.0);
    assert!(doc.verdict.evidence.added > 0 && doc.verdict.evidence.removed > 0);
    let out = glassbox(&["diff", "fixtures/bert-tiny", "fixtures/llama-tiny"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("verdict: unrelated: no tensor of A pairs with one of B"),
        "{}",
        stdout(&out)
    );
    // Tensors that pair by name but not by shape (another width) are not compared: MiniLM
    // against MPNet, SmolLM2 against Qwen2.5.
    let (doc, code) = diff_paths("fixtures/llama-tiny", "fixtures/families/llama", &[]);
    assert_eq!((code, doc.verdict.kind.as_str()), (1, "unrelated"));
    assert!(doc.verdict.evidence.paired > 0);
    assert!(doc.verdict.evidence.paired_share < 0.5);
    // A model against itself: everything pairs.
    let (doc, code) = diff_json("base", "resharded", &[]);
    assert_eq!((code, doc.verdict.evidence.paired_share), (0, 1.0));
}

#[test]
fn identical_weights_name_what_else_differs() {
    let (doc, code) = diff_json("base", "reupload", &[]);
    assert_eq!(code, 0);
    assert_eq!(doc.verdict.evidence.other_differences, ["file_metadata"]);
    let (doc, _) = diff_json("base", "resharded", &[]);
    assert!(doc.verdict.evidence.other_differences.is_empty());
    assert!(doc.tensors.iter().all(|t| t.bytes_identical == Some(true)));
}

#[test]
fn text_and_markdown_show_the_verdict_and_the_map() {
    let out = glassbox(&["diff", "fixtures/diff/base", "fixtures/diff/lora"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("verdict: low-rank merge: 2 matrices changed by rank 4 in layer 2"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap();
    assert_eq!(row.matches('L').count(), 2, "{row}");
    let out = glassbox(&[
        "diff",
        "fixtures/diff/base",
        "fixtures/diff/lora",
        "--format",
        "markdown",
    ]);
    let md = stdout(&out);
    assert!(md.contains("**Verdict: low_rank_merge**"), "{md}");
    assert!(
        md.contains("| model.layers.2.self_attn.q_proj.weight | changed |"),
        "{md}"
    );
}

#[test]
fn errors_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["diff", "fixtures/diff/base", "fixtures/diff/nope"],
            "no such file or folder",
        ),
        (
            &[
                "diff",
                "fixtures/diff/base",
                "fixtures/diff/base",
                "--map",
                "=x",
            ],
            "FROM=TO",
        ),
        (
            &[
                "diff",
                "fixtures/diff/base",
                "fixtures/diff/base",
                "--map",
                "nothing",
            ],
            "FROM=TO",
        ),
        (
            &[
                "diff",
                "fixtures/diff/base",
                "fixtures/diff/base",
                "--tolerance=-1",
            ],
            "--tolerance",
        ),
        (
            &[
                "diff",
                "fixtures/diff/base",
                "fixtures/diff/base",
                "--tolerance",
                "nan",
            ],
            "--tolerance",
        ),
        (&["diff", "fixtures/diff/base"], "required"),
        (
            &[
                "diff",
                "fixtures/malformed/truncated-header.safetensors",
                "fixtures/diff/base",
            ],
            "error",
        ),
    ];
    for (args, needle) in cases {
        let out = glassbox(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

/// The document's `null`s are real: serde_json would fail on NaN, and a pair of identical files
/// has no SQNR (infinite).
#[test]
fn identical_pair_has_null_sqnr() {
    let (doc, _) = diff_json("base", "base", &[]);
    assert!(doc.tensors.iter().all(|t| t.sqnr_db.is_none()));
    let v: Value = serde_json::to_value(&doc).unwrap();
    assert_eq!(v["verdict"]["kind"], "identical");
}

/// The library call: progress reaches the bytes of both models, and a set cancel flag stops it.
#[test]
fn progress_reports_every_byte_and_cancel_stops() {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;

    use glassbox::diff::{DiffError, DiffOptions, compute_diff};

    let a = glassbox::model::open(fixtures().join("diff/base")).unwrap();
    let b = glassbox::model::open(fixtures().join("diff/finetune")).unwrap();
    let pool = glassbox::stats::thread_pool(Some(2)).unwrap();
    let seen = Mutex::new(0u64);
    let progress = |done: u64| {
        let mut s = seen.lock().unwrap();
        *s = (*s).max(done);
    };
    let options = DiffOptions::default();
    let diff = compute_diff(&a, &b, &options, &pool, &progress, &AtomicBool::new(false)).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        a.tensor_bytes_total() + b.tensor_bytes_total()
    );
    assert_eq!(diff.summary.changed, 16);
    // The same report on one thread: chunk sums merge in row order.
    let one = glassbox::stats::thread_pool(Some(1)).unwrap();
    let again = compute_diff(&a, &b, &options, &one, &|_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(diff, again);
    let cancelled = compute_diff(&a, &b, &options, &pool, &|_| {}, &AtomicBool::new(true));
    assert!(matches!(cancelled, Err(DiffError::Cancelled)));
}

#[test]
fn no_rank_skips_the_low_rank_analysis_only() {
    let (with, _) = diff_json("base", "lora", &[]);
    let (without, code) = diff_json("base", "lora", &["--no-rank"]);
    assert_eq!(code, 1);
    assert!(without.tensors.iter().all(|t| t.rank.is_none()));
    assert!(with.tensors.iter().any(|t| t.rank.is_some()));
    // Without ranks there is no evidence of a low-rank merge: an ordinary fine-tune.
    assert_eq!(without.verdict.kind, "fine_tuned");
    assert_eq!(without.summary, with.summary);
}

/// A tensor the converter dropped (llama.cpp drops BERT's pooler) is counted as removed and does
/// not decide the kind: the BF16 copy without one tensor is still a re-cast, and still exit 1.
#[test]
fn a_dropped_tensor_does_not_make_a_recast_a_fine_tune() {
    let bytes = std::fs::read("fixtures/diff/bf16/model.safetensors").unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let dropped = names.pop().unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView<'_>)> = names
        .iter()
        .map(|n| (n.clone(), st.tensor(n).unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("model.safetensors");
    safetensors::serialize_to_file(kept, None, &b).unwrap();
    let out = glassbox(&[
        "diff",
        "fixtures/diff/base/model.safetensors",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: DiffDoc = strict(stdout(&out).as_bytes(), "diff");
    assert_eq!(doc.verdict.kind, "recast");
    assert_eq!(doc.verdict.evidence.removed, 1);
    assert_eq!(doc.verdict.evidence.added, 0);
    assert_eq!(doc.verdict.evidence.paired, names.len());
    assert_eq!(doc.verdict.evidence.differing, names.len());
    let text = glassbox(&[
        "diff",
        "fixtures/diff/base/model.safetensors",
        b.to_str().unwrap(),
    ]);
    assert!(
        stdout(&text).contains("1 tensor only in A"),
        "{dropped}: {}",
        stdout(&text)
    );
    // A cast to a narrower type rounds: the text does not call it lossless; with a tensor
    // dropped, it does not say "nothing else changed" either.
    let verdict = format!(
        "verdict: re-cast: {} tensors differ only by rounding to BF16; also differs in file_metadata; 1 tensor only in A",
        names.len()
    );
    assert!(stdout(&text).contains(&verdict), "{}", stdout(&text));
}

/// Tensors are listed in natural order (`t2` before `t10`), pairs by name and pairs by content
/// alike, as every other listing of tensors; plain string order put `t10` before `t2`.
#[test]
fn tensors_are_listed_in_natural_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        tmp.path().join("a.safetensors"),
        tmp.path().join("b.safetensors"),
    );
    let names = |list: &[&str]| {
        list.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    };
    common::sparse_safetensors(&a, "F32", &[4], names(&["t2", "t10", "t1", "r11", "r9"]));
    common::sparse_safetensors(&b, "F32", &[4], names(&["t2", "t10", "t1", "a20", "a3"]));
    let (doc, code) = diff_paths(a.to_str().unwrap(), b.to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    let listed: Vec<&str> = doc.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(listed, ["a3", "a20", "t1", "t2", "t10"]);
}

/// The same values stored in another type (a BF16 tensor of zeros against the same in F32, as a
/// GGUF against its exact dequantisation): identical weights, exit 0, and `dtypes` among what
/// else differs.
#[test]
fn the_same_values_in_another_type_are_identical_weights_differing_in_dtypes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        tmp.path().join("a.safetensors"),
        tmp.path().join("b.safetensors"),
    );
    sparse_safetensors(&a, "BF16", &[8, 8], ["w".to_owned()].into_iter());
    sparse_safetensors(&b, "F32", &[8, 8], ["w".to_owned()].into_iter());
    let (doc, code) = diff_paths(a.to_str().unwrap(), b.to_str().unwrap(), &[]);
    assert_eq!((code, doc.verdict.kind.as_str()), (0, "identical"));
    assert_eq!(doc.verdict.evidence.other_differences, ["dtypes"]);
    let out = glassbox(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("differs only in dtypes"),
        "{}",
        stdout(&out)
    );
}

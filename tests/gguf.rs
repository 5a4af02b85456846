//! The GGUF reader and the ggml dequantisers against the fixtures written by
//! `fixtures/generate_gguf.py` with llama.cpp's gguf-py, and their `expected.json` (tensor tables
//! from gguf-py's `GGUFReader`, values from `gguf.quants.dequantize`, statistics from numpy in
//! float64).
//!
//! Statistics are computed here with a plain f64 loop over `dequantize`'s output and must match to
//! 1e-6 relative (the mean to 1e-6 of the standard deviation, since it may be near zero). Each
//! tensor's values are also checked bit for bit through an FNV-1a hash of their f32 bytes.
//!
//! The `cli_*` tests run the `glassbox` binary on the same fixtures: the tensor table and
//! `glassbox stats --format json` against gguf-py, the summary of `llama-tiny.gguf`, split models,
//! folders, malformed files (exit 2, one line naming the file) and an unknown tensor type.
//!
//! Both sides are read through strict mirrors: `expected.json` through the structs below, the
//! binary's JSON through tests/common's; a key missing from either is an error, never `null`.

mod common;
use common::{
    GgufStatsTensorObj, GgufTensorObj, SourceObj, StatsDoc, SummaryDoc, TensorsDoc, glassbox,
    strict,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glassbox::arch::gguf_names::{QkPermutation, gguf_to_hf_name, qk_permutation, unpermute_rows};
use glassbox::decode::ggml::{can_decode, dequantize_to_vec};
use glassbox::format::gguf::{GgmlType, Gguf, GgufError, parse_gguf};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gguf")
}

// ---- strict mirror of `expected.json` (written by fixtures/generate_gguf.py) ----

/// One fixture's entry: a valid file, a malformed file, or the readable file of an unknown type.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum Expected {
    File(Box<ExpectedFile>),
    Unreadable(ExpectedUnreadable),
    UnknownType(ExpectedUnknownType),
}

impl Expected {
    fn file(&self) -> &ExpectedFile {
        match self {
            Expected::File(f) => f,
            other => panic!("not a valid fixture: {other:?}"),
        }
    }
}

/// A valid file as gguf-py's `GGUFReader` reads it, with numpy's statistics of its values.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    format: String,
    version: u32,
    alignment: u64,
    data_start: u64,
    file_len: u64,
    kv_count: u64,
    /// Metadata keys in file order.
    keys: Vec<String>,
    /// The metadata values, as gguf-py decodes them.
    metadata: BTreeMap<String, Json>,
    tensor_count: u64,
    parameter_count: u64,
    bytes: u64,
    /// In file order.
    tensors: Vec<ExpectedTensor>,
    stats: BTreeMap<String, ExpectedStats>,
    /// FNV-1a of each tensor's dequantised values.
    fnv1a64: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<ExpectedSummary>,
    /// `llama-tiny.gguf`: gguf-py's tensor map, inverted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hf_names: Option<BTreeMap<String, String>>,
    /// `llama-tiny.gguf`: the Q and K weights in Hugging Face row order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unpermuted: Option<BTreeMap<String, ExpectedUnpermuted>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedTensor {
    name: String,
    dtype: String,
    type_id: u32,
    shape: Vec<u64>,
    gguf_shape: Vec<u64>,
    parameters: u64,
    bytes: u64,
    offset: u64,
}

/// numpy's statistics of one tensor's values, in float64 (`null` where no value is finite).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedUnpermuted {
    n_head: u64,
    hf_name: String,
    fnv1a64: String,
}

/// The summary the generator wrote: the metadata of `llama-tiny.gguf`, or the architecture of an
/// `arch/*.gguf` fixture.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum ExpectedSummary {
    Metadata(ExpectedMetadata),
    Arch(ExpectedArch),
}

/// What `llama-tiny.gguf`'s metadata declares.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedMetadata {
    architecture: String,
    name: String,
    license: String,
    base_models: Vec<SourceObj>,
    datasets: Vec<String>,
    tokenizer: ExpectedTokenizer,
    /// GGUF key without the architecture prefix → value.
    hyperparameters: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedTokenizer {
    model: String,
    pre: String,
    tokens: u64,
    bos_token_id: u64,
    eos_token_id: u64,
    unknown_token_id: u64,
    add_bos_token: bool,
    add_eos_token: bool,
    chat_template: String,
}

/// A malformed file: the error glassbox must give (a slug of its [`GgufError`] variant).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedUnreadable {
    readable: bool,
    error: String,
    gguf_py_rejects: bool,
}

/// A file with a tensor type glassbox does not know: readable, with a finding.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedUnknownType {
    readable: bool,
    finding: String,
    tensors: Vec<ExpectedUnknownTensor>,
    gguf_py_rejects: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedUnknownTensor {
    name: String,
    type_id: u32,
    shape: Vec<u64>,
    bytes: Option<u64>,
}

fn expected() -> BTreeMap<String, Expected> {
    let bytes = std::fs::read(root().join("expected.json")).expect("run fixtures/generate_gguf.py");
    strict(&bytes, "fixtures/gguf/expected.json")
}

/// The mirrors are only as strict as [`strict`]: a key the mirror does not know fails, and so does
/// a key it knows that the document lacks, at any depth (serde alone reads it as `None`).
#[test]
fn strict_mirrors_refuse_unknown_and_missing_keys() {
    use common::{FindingObj, SourceObj};
    use std::panic::catch_unwind;
    let complete = br#"[{"severity": "info", "code": "x", "tensor": null, "message": "m"}]"#;
    let f: Vec<FindingObj> = strict(complete, "complete");
    assert_eq!(f[0].tensor, None);

    let missing = br#"[{"severity": "info", "code": "x", "tensor": "t", "message": "m"},
                       {"severity": "info", "code": "x", "message": "m"}]"#;
    assert!(serde_json::from_slice::<Vec<FindingObj>>(missing).is_ok());
    assert!(catch_unwind(|| strict::<Vec<FindingObj>>(missing, "missing")).is_err());

    let unknown = br#"[{"severity": "info", "code": "x", "tensor": null, "message": "m", "y": 1}]"#;
    assert!(catch_unwind(|| strict::<Vec<FindingObj>>(unknown, "unknown")).is_err());

    // Keys the output leaves out on purpose (a source's absent fields) are not required.
    let source: SourceObj = strict(br#"{"name": "Base"}"#, "source");
    assert_eq!(source.name.as_deref(), Some("Base"));
}

/// The metadata summary of `llama-tiny.gguf`.
fn llama_tiny_metadata(want: &ExpectedFile) -> &ExpectedMetadata {
    match &want.summary {
        Some(ExpectedSummary::Metadata(m)) => m,
        other => panic!("llama-tiny.gguf: expected its metadata summary, found {other:?}"),
    }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// FNV-1a over the values as little-endian f32, NaN canonicalised (as the generator does).
fn fnv1a64(values: &[f32]) -> String {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for v in values {
        let bits = if v.is_nan() { 0x7FC0_0000 } else { v.to_bits() };
        for b in bits.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    format!("{h:016x}")
}

/// The statistics `expected.json` holds, computed naively in f64.
#[derive(Debug)]
struct Stats {
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
}

fn stats(values: &[f32]) -> Stats {
    let (mut n, mut sum, mut sq) = (0u64, 0.0f64, 0.0f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut zeros, mut nan, mut inf) = (0, 0, 0);
    for &v in values {
        let v = f64::from(v);
        if v == 0.0 {
            zeros += 1;
        }
        if v.is_nan() {
            nan += 1;
            continue;
        }
        if v.is_infinite() {
            inf += 1;
            continue;
        }
        n += 1;
        sum += v;
        sq += v * v;
        min = min.min(v);
        max = max.max(v);
    }
    let finite = n > 0;
    let mean = sum / n as f64;
    // Two-pass variance, as numpy computes it.
    let var = values
        .iter()
        .map(|&v| f64::from(v))
        .filter(|v| v.is_finite())
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n as f64;
    let some = |x: f64| finite.then_some(x);
    Stats {
        count: values.len() as u64,
        mean: some(mean),
        std: some(var.sqrt()),
        min: some(min),
        max: some(max),
        abs_max: some(min.abs().max(max.abs())),
        l2_norm: some(sq.sqrt()),
        zeros,
        nan,
        inf,
    }
}

fn close(got: Option<f64>, want: Option<f64>, tol: f64, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= tol,
            "{what}: got {g}, expected {w} (difference {}, tolerance {tol})",
            (g - w).abs()
        ),
        (g, w) => panic!("{what}: got {g:?}, expected {w:?}"),
    }
}

fn check_stats(values: &[f32], want: &ExpectedStats, what: &str) {
    let s = stats(values);
    assert_eq!(s.count, want.count, "{what} count");
    assert_eq!(s.zeros, want.zeros, "{what} zeros");
    assert_eq!(s.nan, want.nan, "{what} nan");
    assert_eq!(s.inf, want.inf, "{what} inf");
    let rel = |w: Option<f64>| 1e-6 * w.map_or(0.0, f64::abs);
    let std = want.std.unwrap_or(0.0);
    close(
        s.mean,
        want.mean,
        1e-6 * std.max(f64::MIN_POSITIVE),
        &format!("{what} mean"),
    );
    for (got, w, key) in [
        (s.std, want.std, "std"),
        (s.min, want.min, "min"),
        (s.max, want.max, "max"),
        (s.abs_max, want.abs_max, "abs_max"),
        (s.l2_norm, want.l2_norm, "l2_norm"),
    ] {
        close(got, w, rel(w), &format!("{what} {key}"));
    }
}

/// Tensor table, metadata keys and the values of every tensor of one valid fixture.
fn check_file(rel: &str, want: &ExpectedFile) -> (Gguf, Vec<u8>) {
    let bytes = read(rel);
    let g = parse_gguf(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(want.format, "gguf", "{rel}");
    assert_eq!(g.version, want.version, "{rel} version");
    assert_eq!(g.alignment, want.alignment, "{rel} alignment");
    assert_eq!(g.data_start, want.data_start, "{rel} data start");
    assert_eq!(g.file_len, want.file_len, "{rel} length");
    let keys: Vec<&str> = g
        .metadata
        .entries()
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, want.keys, "{rel} keys");
    assert_eq!(g.metadata.len() as u64, want.kv_count, "{rel} key count");

    let mut by_offset: Vec<_> = g.tensors.iter().collect();
    by_offset.sort_by_key(|t| t.start);
    assert_eq!(by_offset.len(), want.tensors.len(), "{rel} tensor count");
    assert_eq!(
        g.tensors.len() as u64,
        want.tensor_count,
        "{rel} tensor count"
    );
    let (mut parameters, mut data_bytes) = (0, 0);
    for (t, w) in by_offset.iter().zip(&want.tensors) {
        let what = format!("{rel} `{}`", t.name);
        assert_eq!(t.name, w.name);
        let ty =
            t.ty.unwrap_or_else(|| panic!("{what}: unknown type {}", t.type_id));
        assert_eq!(ty.name(), w.dtype, "{what} type");
        assert_eq!(t.type_id, w.type_id, "{what} type id");
        assert_eq!(t.shape, w.shape, "{what} shape");
        assert_eq!(t.dims, w.gguf_shape, "{what} GGUF shape");
        assert_eq!(t.elements, w.parameters, "{what} parameters");
        assert_eq!(t.bytes, Some(w.bytes), "{what} bytes");
        assert_eq!(t.start, w.offset, "{what} offset");
        parameters += t.elements;
        data_bytes += w.bytes;

        assert!(can_decode(ty), "{what}");
        let data = g.tensor_data(&bytes, t).unwrap();
        let values = dequantize_to_vec(ty, data).unwrap();
        check_stats(&values, &want.stats[&t.name], &what);
        assert_eq!(
            fnv1a64(&values),
            want.fnv1a64[&t.name],
            "{what} values (FNV-1a)"
        );
    }
    assert_eq!(parameters, want.parameter_count, "{rel} parameter count");
    assert_eq!(data_bytes, want.bytes, "{rel} tensor bytes");
    (g, bytes)
}

#[test]
fn every_type_file_matches_gguf_py() {
    let expected = expected();
    let types: Vec<_> = expected
        .iter()
        .filter(|(k, _)| k.starts_with("types/"))
        .collect();
    assert!(types.len() >= 33, "{} type files", types.len());
    let mut seen = Vec::new();
    for (rel, want) in types {
        let (g, _) = check_file(rel, want.file());
        seen.extend(g.tensors.iter().filter_map(|t| t.ty));
    }
    // Every type glassbox decodes has a fixture.
    for &ty in GgmlType::ALL.iter().filter(|&&t| can_decode(t)) {
        assert!(seen.contains(&ty), "no fixture for `{ty}`");
    }
}

#[test]
fn llama_tiny_tensors_and_metadata() {
    let expected = expected();
    let want = expected["llama-tiny.gguf"].file();
    let (g, bytes) = check_file("llama-tiny.gguf", want);
    let s = llama_tiny_metadata(want);
    assert_eq!(g.architecture(), Some(s.architecture.as_str()));
    assert_eq!(g.name(), Some(s.name.as_str()));
    assert_eq!(g.license(), Some(s.license.as_str()));
    assert!(!s.hyperparameters.is_empty());
    for (key, value) in &s.hyperparameters {
        assert_eq!(g.arch_f64(key), Some(*value), "llama.{key}");
    }
    assert_eq!(g.arch_u64("block_count"), Some(2));
    assert_eq!(g.metadata.get_u64("general.file_type"), Some(15));

    let base: Vec<SourceObj> = g.base_models().into_iter().map(source_obj).collect();
    assert_eq!(base, s.base_models);
    assert!(base[0].name.is_some() && base[0].repo_url.is_some());
    let datasets: Vec<String> = g.datasets().into_iter().filter_map(|d| d.name).collect();
    assert_eq!(datasets, s.datasets);

    let tok = g.tokenizer();
    let t = &s.tokenizer;
    assert_eq!(tok.model.as_deref(), Some(t.model.as_str()));
    assert_eq!(tok.pre.as_deref(), Some(t.pre.as_str()));
    assert_eq!(tok.tokens, Some(t.tokens));
    assert_eq!(tok.bos_token_id, Some(t.bos_token_id));
    assert_eq!(tok.eos_token_id, Some(t.eos_token_id));
    assert_eq!(tok.unknown_token_id, Some(t.unknown_token_id));
    assert_eq!(tok.add_bos_token, Some(t.add_bos_token));
    assert_eq!(tok.add_eos_token, Some(t.add_eos_token));
    assert_eq!(tok.chat_template.as_deref(), Some(t.chat_template.as_str()));
    let tokens = g.metadata.get_array("tokenizer.ggml.tokens").unwrap();
    let items = tokens.read_items(&bytes, "tokenizer.ggml.tokens").unwrap();
    assert_eq!(items[1].as_str(), Some("<s>"));
    assert_eq!(g.split(), None);
}

/// The reader's [`glassbox::format::gguf::Source`] in the JSON mirror's shape, every field kept.
fn source_obj(s: glassbox::format::gguf::Source) -> SourceObj {
    SourceObj {
        name: s.name,
        author: s.author,
        version: s.version,
        organization: s.organization,
        description: s.description,
        url: s.url,
        doi: s.doi,
        uuid: s.uuid,
        repo_url: s.repo_url,
    }
}

#[test]
fn llama_tiny_maps_to_hugging_face_names_and_row_order() {
    let expected = expected();
    let want = expected["llama-tiny.gguf"].file();
    let bytes = read("llama-tiny.gguf");
    let g = parse_gguf(&bytes).unwrap();
    let arch = g.architecture().unwrap();
    // gguf-py's own tensor map, inverted by the generator.
    let hf_names = want
        .hf_names
        .as_ref()
        .expect("llama-tiny.gguf has hf_names");
    assert_eq!(hf_names.len(), g.tensors.len());
    for (gguf_name, hf) in hf_names {
        assert_eq!(
            gguf_to_hf_name(arch, gguf_name).as_deref(),
            Some(hf.as_str()),
            "{gguf_name}"
        );
    }
    assert!(
        g.tensors
            .iter()
            .all(|t| gguf_to_hf_name(arch, &t.name).is_some())
    );

    // Undo the converter's Q/K permutation; the values must come back in the HF weight's order.
    let unpermuted = want
        .unpermuted
        .as_ref()
        .expect("llama-tiny.gguf has unpermuted");
    assert_eq!(unpermuted.len(), 4);
    for t in &g.tensors {
        let Some(which) = qk_permutation(arch, &t.name) else {
            assert!(!unpermuted.contains_key(&t.name), "{}", t.name);
            continue;
        };
        let w = &unpermuted[&t.name];
        assert_eq!(
            gguf_to_hf_name(arch, &t.name).as_deref(),
            Some(w.hf_name.as_str())
        );
        let n_head = match which {
            QkPermutation::Query => g.arch_u64("attention.head_count"),
            QkPermutation::Key => g.arch_u64("attention.head_count_kv"),
        }
        .unwrap();
        assert_eq!(n_head, w.n_head, "{}", t.name);
        let values = dequantize_to_vec(t.ty.unwrap(), g.tensor_data(&bytes, t).unwrap()).unwrap();
        let rows = t.shape[0] as usize;
        let hf = unpermute_rows(&values, rows, n_head as usize).unwrap();
        assert_eq!(fnv1a64(&hf), w.fnv1a64, "{}", t.name);
        assert_ne!(fnv1a64(&values), w.fnv1a64, "{} was not permuted", t.name);

        // Unpermuting the quantised rows as bytes, then decoding, gives the same values.
        let data = g.tensor_data(&bytes, t).unwrap();
        let raw = unpermute_rows(data, rows, n_head as usize).unwrap();
        let hf2 = dequantize_to_vec(t.ty.unwrap(), &raw).unwrap();
        assert_eq!(fnv1a64(&hf2), w.fnv1a64, "{} (bytes)", t.name);
    }
}

#[test]
fn version_2_file() {
    let expected = expected();
    let (g, _) = check_file("v2.gguf", expected["v2.gguf"].file());
    assert_eq!(g.version, 2);
}

#[test]
fn split_model_parts() {
    let expected = expected();
    let mut names = Vec::new();
    for i in 1..=2u64 {
        let rel = format!("llama-split-0000{i}-of-00002.gguf");
        let want = expected[&rel].file();
        let (g, _) = check_file(&rel, want);
        let split = g.split().unwrap();
        assert_eq!((split.no, split.count), (i - 1, 2));
        let declared = want
            .metadata
            .get("split.tensors.count")
            .and_then(Json::as_u64)
            .expect("the generator writes split.tensors.count");
        assert_eq!(split.tensors, Some(declared));
        names.extend(g.tensors.iter().map(|t| t.name.clone()));
    }
    assert_eq!(names.len(), 4);
}

/// The variant each malformed fixture's slug stands for.
fn slug_matches(slug: &str, e: &GgufError) -> bool {
    matches!(
        (slug, e),
        ("bad_magic", GgufError::BadMagic { .. })
            | ("version_1", GgufError::Version1)
            | ("big_endian", GgufError::BigEndian { .. })
            | ("unexpected_eof", GgufError::UnexpectedEof { .. })
            | ("string_past_end", GgufError::StringPastEnd { .. })
            | ("array_too_long", GgufError::ArrayTooLong { .. })
            | ("array_past_end", GgufError::ArrayPastEnd { .. })
            | ("too_many_tensors", GgufError::TooManyTensors { .. })
            | ("tensor_past_end", GgufError::TensorPastEnd { .. })
            | ("invalid_alignment", GgufError::InvalidAlignment { .. })
            | ("too_many_dims", GgufError::TooManyDims { .. })
            | ("partial_block", GgufError::PartialBlock { .. })
            | ("misaligned_tensor", GgufError::MisalignedTensor { .. })
            | ("overlapping_tensors", GgufError::OverlappingTensors { .. })
            | ("duplicate_tensor", GgufError::DuplicateTensor { .. })
            | ("duplicate_key", GgufError::DuplicateKey { .. })
            | ("nesting_too_deep", GgufError::NestingTooDeep { .. })
            | ("unknown_value_type", GgufError::UnknownValueType { .. })
            | ("too_short", GgufError::TooShort { .. })
    )
}

#[test]
fn malformed_files_fail_for_their_reason() {
    let expected = expected();
    let malformed: Vec<_> = expected
        .iter()
        .filter(|(k, _)| k.starts_with("malformed/"))
        .collect();
    assert!(malformed.len() >= 19);
    for (rel, want) in malformed {
        let bytes = read(rel);
        let result = parse_gguf(&bytes);
        let slug = match want {
            Expected::UnknownType(want) => {
                assert!(want.readable, "{rel}");
                let g = result.unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert_eq!(want.finding, "unknown_type");
                assert_eq!(g.tensors.len(), want.tensors.len(), "{rel}");
                for (t, w) in g.tensors.iter().zip(&want.tensors) {
                    assert_eq!(t.name, w.name);
                    assert_eq!(t.type_id, w.type_id);
                    assert_eq!(t.shape, w.shape);
                    assert_eq!(t.bytes, w.bytes, "{rel} `{}`", t.name);
                    assert_eq!(t.ty.is_none(), t.type_id == 99);
                }
                continue;
            }
            Expected::Unreadable(want) => {
                assert!(!want.readable, "{rel}");
                &want.error
            }
            Expected::File(_) => panic!("{rel}: a malformed fixture must say why"),
        };
        match result {
            Ok(_) => panic!("{rel}: parsed, expected `{slug}`"),
            Err(e) => assert!(
                slug_matches(slug, &e),
                "{rel}: expected `{slug}`, got {e:?} ({e})"
            ),
        }
    }
}

// ---- the `glassbox` binary on the GGUF fixtures ----

/// Runs `glassbox <command> <path> --format json`, expecting success, and reads the document into
/// its strict mirror `T`.
fn json_of<T: serde::de::DeserializeOwned + Serialize>(command: &str, path: &Path) -> T {
    let out = glassbox(&[command, path.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{command} {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    strict(&out.stdout, &format!("{command} {}", path.display()))
}

fn tensors_of(path: &Path) -> TensorsDoc<GgufTensorObj> {
    json_of("tensors", path)
}

fn stats_of(path: &Path) -> StatsDoc<GgufStatsTensorObj> {
    json_of("stats", path)
}

/// The summary of a GGUF model, which always has its `metadata`.
fn summary_of(path: &Path) -> SummaryDoc {
    let doc: SummaryDoc = json_of("summary", path);
    assert!(
        doc.metadata.is_some(),
        "{}: no GGUF metadata",
        path.display()
    );
    doc
}

/// The valid single-file fixtures (a split part opens the whole split model).
fn valid_files(expected: &BTreeMap<String, Expected>) -> Vec<(&String, &ExpectedFile)> {
    expected
        .iter()
        .filter_map(|(k, v)| match v {
            Expected::File(f) if !k.contains("-split-") => Some((k, &**f)),
            _ => None,
        })
        .collect()
}

#[test]
fn cli_tensor_table_matches_gguf_py() {
    let expected = expected();
    let files = valid_files(&expected);
    assert!(files.len() >= 35);
    for (rel, want) in files {
        let doc = tensors_of(&root().join(rel));
        assert_eq!(doc.schema_version, 1);
        assert_eq!(doc.model.format, "gguf", "{rel}");
        assert_eq!(doc.model.parameter_count, want.parameter_count, "{rel}");
        let mut got: Vec<&GgufTensorObj> = doc.tensors.iter().collect();
        got.sort_by_key(|t| t.offset);
        assert_eq!(got.len(), want.tensors.len(), "{rel}");
        for (g, w) in got.iter().zip(&want.tensors) {
            let what = format!("{rel} `{}`", w.name);
            assert_eq!(g.name, w.name, "{what} name");
            assert_eq!(g.dtype, w.dtype, "{what} dtype");
            assert_eq!(g.ggml_type, w.type_id, "{what} ggml_type");
            assert_eq!(g.shape, w.shape, "{what} shape");
            assert_eq!(g.gguf_shape, w.gguf_shape, "{what} gguf_shape");
            assert_eq!(g.parameters, w.parameters, "{what} parameters");
            assert_eq!(g.bytes, w.bytes, "{what} bytes");
            assert_eq!(g.offset, w.offset, "{what} offset");
            let bpw = w.bytes as f64 * 8.0 / w.parameters as f64;
            assert_eq!(g.bits_per_weight, Some(bpw), "{what}");
        }
    }
}

#[test]
fn cli_stats_match_gguf_py() {
    let expected = expected();
    let mut worst: f64 = 0.0;
    let mut measured = 0;
    for (rel, want) in valid_files(&expected) {
        let doc = stats_of(&root().join(rel));
        assert_eq!(doc.tensors.len(), want.tensors.len(), "{rel}");
        for t in &doc.tensors {
            let what = format!("{rel} `{}`", t.name);
            let (s, w) = (&t.stats, &want.stats[&t.name]);
            assert_eq!(
                (s.count, s.zeros, s.nan, s.inf),
                (w.count, w.zeros, w.nan, w.inf),
                "{what} count, zeros, nan, inf"
            );
            let std = w.std.unwrap_or(0.0);
            for (key, got, x) in [
                ("mean", s.mean, w.mean),
                ("std", s.std, w.std),
                ("min", s.min, w.min),
                ("max", s.max, w.max),
                ("abs_max", s.abs_max, w.abs_max),
                ("l2_norm", s.l2_norm, w.l2_norm),
            ] {
                match (got, x) {
                    (None, None) => {}
                    (Some(g), Some(x)) => {
                        let scale = if key == "mean" { std } else { x.abs() };
                        let err = (g - x).abs() / scale.max(f64::MIN_POSITIVE);
                        assert!(err <= 1e-6 || g == x, "{what} {key}: {g} vs {x}");
                        if g != x {
                            worst = worst.max(err);
                        }
                    }
                    (g, x) => panic!("{what} {key}: got {g:?}, expected {x:?}"),
                }
            }
            measured += 1;
        }
        assert!(
            doc.findings.iter().all(|f| f.code != "not_decoded"),
            "{rel}: every fixture type decodes"
        );
    }
    assert!(measured >= 70, "{measured} tensors");
    eprintln!("{measured} tensors; largest relative error vs gguf-py: {worst:e}");
}

#[test]
fn cli_tensors_show_hugging_face_names() {
    let expected = expected();
    let want = expected["llama-tiny.gguf"]
        .file()
        .hf_names
        .as_ref()
        .expect("llama-tiny.gguf has hf_names");
    let doc = tensors_of(&root().join("llama-tiny.gguf"));
    assert_eq!(doc.tensors.len(), want.len());
    for t in &doc.tensors {
        assert_eq!(t.hf_name.as_ref(), Some(&want[&t.name]), "{}", t.name);
    }
    // A name the mapping does not know: the key is there (the mirror requires it), null.
    let doc = tensors_of(&root().join("types/Q4_K.gguf"));
    let plain = doc.tensors.iter().find(|t| t.name == "weight");
    assert_eq!(plain.expect("a tensor named `weight`").hf_name, None);
    let out = glassbox(&["tensors", root().join("llama-tiny.gguf").to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().next().unwrap().contains("hf name"), "{text}");
    assert!(
        text.contains("model.layers.0.self_attn.q_proj.weight"),
        "{text}"
    );
}

#[test]
fn cli_split_model_opens_as_one_from_any_part_or_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=2 {
        let name = format!("llama-split-0000{i}-of-00002.gguf");
        std::fs::copy(root().join(&name), dir.path().join(&name)).unwrap();
    }
    for path in [
        dir.path().to_owned(),
        dir.path().join("llama-split-00001-of-00002.gguf"),
        dir.path().join("llama-split-00002-of-00002.gguf"),
    ] {
        let doc = tensors_of(&path);
        assert_eq!(doc.model.tensor_count, 4, "{}", path.display());
        assert_eq!(doc.model.files.len(), 2);
        let stats = stats_of(&path);
        assert_eq!(stats.tensors.len(), 4);
    }
    std::fs::remove_file(dir.path().join("llama-split-00002-of-00002.gguf")).unwrap();
    let out = glassbox(&["tensors", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("llama-split-00002-of-00002.gguf") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn cli_malformed_files_exit_2_with_one_line_naming_the_file() {
    let expected = expected();
    let mut unreadable = 0;
    for (rel, want) in expected.iter().filter(|(k, _)| k.starts_with("malformed/")) {
        let Expected::Unreadable(want) = want else {
            continue;
        };
        assert!(!want.readable, "{rel}");
        unreadable += 1;
        let path = root().join(rel);
        for command in ["tensors", "stats", "summary"] {
            let out = glassbox(&[command, path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(2), "{command} {rel}");
            assert!(out.stdout.is_empty(), "{command} {rel}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{command} {rel}: {err}");
            assert!(
                err.starts_with("error: ") && err.contains(rel.as_str()),
                "{err}"
            );
        }
    }
    assert!(unreadable >= 18, "{unreadable} unreadable fixtures");
}

#[test]
fn cli_unknown_type_is_listed_and_not_decoded() {
    let path = root().join("malformed/unknown-type.gguf");
    let doc = tensors_of(&path);
    let mystery = doc
        .tensors
        .iter()
        .find(|t| t.name == "mystery")
        .expect("the tensor of unknown type is listed");
    assert_eq!(mystery.dtype, "UNKNOWN");
    assert_eq!(mystery.ggml_type, 99);
    assert_eq!(mystery.shape, [3, 7]);
    assert_eq!(mystery.gguf_shape, [7, 3]);
    assert_eq!(mystery.bits_per_weight, None);
    let notes = &doc.model.notes;
    assert!(notes.iter().any(|n| n.code == "unknown_type"), "{notes:?}");

    let stats = stats_of(&path);
    let t = stats
        .tensors
        .iter()
        .find(|t| t.name == "mystery")
        .expect("the tensor of unknown type has statistics");
    assert_eq!(t.stats.count, 21);
    assert_eq!(t.stats.mean, None);
    let finding = stats
        .findings
        .iter()
        .find(|f| f.code == "not_decoded")
        .expect("a not_decoded finding");
    assert_eq!(finding.severity, "info");
    assert_eq!(finding.tensor.as_deref(), Some("mystery"));
    let text = glassbox(&["tensors", path.to_str().unwrap()]);
    assert!(
        String::from_utf8(text.stdout)
            .unwrap()
            .contains("not decoded")
    );
}

#[test]
fn cli_summary_family_hyperparameters_and_metadata_from_gguf() {
    let expected = expected();
    let want = llama_tiny_metadata(expected["llama-tiny.gguf"].file());
    let doc = summary_of(&root().join("llama-tiny.gguf"));
    let a = &doc.architecture;
    assert_eq!(a.family.as_deref(), Some(want.architecture.as_str()));
    assert_eq!(a.family_source.as_deref(), Some("gguf_metadata"));
    assert_eq!(a.convention.as_deref(), Some("gguf"));
    let h = &want.hyperparameters;
    let whole = |v: Option<u64>| v.map(|v| v as f64);
    for (key, got, gguf) in [
        ("layers", whole(a.layers), "block_count"),
        ("hidden_size", whole(a.hidden_size), "embedding_length"),
        (
            "intermediate_size",
            whole(a.intermediate_size),
            "feed_forward_length",
        ),
        (
            "attention_heads",
            whole(a.attention_heads),
            "attention.head_count",
        ),
        ("kv_heads", whole(a.kv_heads), "attention.head_count_kv"),
        ("context_length", whole(a.context_length), "context_length"),
        ("vocab_size", whole(a.vocab_size), "vocab_size"),
        ("rope_theta", a.rope_theta, "rope.freq_base"),
    ] {
        assert_eq!(got, Some(h[gguf]), "{key}");
    }
    assert_eq!(a.head_dim, Some(64));
    assert_eq!(a.tied_embeddings, Some(false));
    // The metadata agrees with the shapes, and each declared value names its GGUF key.
    let checks = &doc.checks;
    assert!(
        checks.iter().all(|c| c.status != "contradicted"),
        "{checks:#?}"
    );
    for (field, key) in [
        ("layers", "llama.block_count"),
        ("hidden_size", "llama.embedding_length"),
        ("intermediate_size", "llama.feed_forward_length"),
        ("kv_heads", "llama.attention.head_count_kv"),
    ] {
        let c = checks.iter().find(|c| c.field == field).unwrap();
        assert_eq!(c.status, "consistent", "{field}");
        assert_eq!(c.declared_key.as_deref(), Some(key), "{field}");
    }
    let m = doc.metadata.as_ref().expect("checked by summary_of");
    assert_eq!(m.name.as_deref(), Some(want.name.as_str()));
    assert_eq!(m.license.as_deref(), Some(want.license.as_str()));
    assert_eq!(m.base_models, want.base_models);
    let datasets: Vec<Option<&str>> = m.datasets.iter().map(|d| d.name.as_deref()).collect();
    let want_datasets: Vec<Option<&str>> = want.datasets.iter().map(|d| Some(d.as_str())).collect();
    assert_eq!(datasets, want_datasets);
    let (t, w) = (&m.tokenizer, &want.tokenizer);
    assert_eq!(
        t.model.as_deref(),
        Some(w.model.as_str()),
        "tokenizer model"
    );
    assert_eq!(t.pre.as_deref(), Some(w.pre.as_str()), "tokenizer pre");
    assert_eq!(t.tokens, Some(w.tokens), "tokenizer tokens");
    assert_eq!(
        t.bos_token_id,
        Some(w.bos_token_id),
        "tokenizer bos_token_id"
    );
    assert_eq!(
        t.eos_token_id,
        Some(w.eos_token_id),
        "tokenizer eos_token_id"
    );
    assert_eq!(
        t.unknown_token_id,
        Some(w.unknown_token_id),
        "tokenizer unknown_token_id"
    );
    assert_eq!(
        t.add_bos_token,
        Some(w.add_bos_token),
        "tokenizer add_bos_token"
    );
    assert_eq!(
        t.add_eos_token,
        Some(w.add_eos_token),
        "tokenizer add_eos_token"
    );
    assert_eq!(
        t.chat_template.as_deref(),
        Some(w.chat_template.as_str()),
        "tokenizer chat_template"
    );
    assert!(m.bits_per_weight.unwrap() > 4.0);
    assert_eq!(doc.model.format, "gguf");

    let out = glassbox(&["summary", root().join("llama-tiny.gguf").to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "llama",
        "Llama Tiny",
        "llama3.1",
        "Llama 3.1 8B",
        "TinyStories",
        "chat template",
        "64 tokens",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

/// Quantised tensors larger than the exact limit go through the engine's bucketed path, and with a
/// low `sample_above` through the sampled one, cut by small chunks on block boundaries. The exact
/// statistics are gguf-py's either way.
#[test]
fn large_quantised_tensors_match_gguf_py_through_small_chunks() {
    for sample_above in [None, Some(1000)] {
        large_quantised_tensors_match_gguf_py(sample_above);
    }
}

fn large_quantised_tensors_match_gguf_py(sample_above: Option<u64>) {
    use glassbox::stats::{Distribution, StatsOptions};
    let expected = expected();
    let want = &expected["llama-tiny.gguf"].file().stats;
    let model = std::sync::Arc::new(glassbox::model::open(root().join("llama-tiny.gguf")).unwrap());
    let tensors: Vec<_> = model.tensors.iter().collect();
    let options = StatsOptions {
        exact_limit: 1000,
        chunk_bytes: 4096,
        sample_above,
        ..StatsOptions::default()
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let progress =
        |p: glassbox::stats::Progress| seen.lock().unwrap().push((p.bytes_done, p.bytes_total));
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let pool = glassbox::stats::thread_pool(None).unwrap();
    let indices: Vec<usize> = (0..model.tensors.len()).collect();
    let (stats, findings) =
        glassbox::stats::compute_model_stats(&model, &indices, &options, &pool, &progress, &cancel)
            .unwrap();
    let mut sampled = 0;
    for (t, s) in tensors.iter().zip(&stats) {
        let w = &want[&t.name];
        if s.distribution == Distribution::Sampled {
            sampled += 1;
            let (p1, p50, p99) = (s.p1.unwrap(), s.p50.unwrap(), s.p99.unwrap());
            assert!(s.min.unwrap() <= p1 && p1 <= p50 && p50 <= p99 && p99 <= s.max.unwrap());
        }
        assert_eq!(s.count, w.count, "{}", t.name);
        assert_eq!(s.zeros, w.zeros, "{}", t.name);
        let std = w.std.unwrap();
        close(s.mean, w.mean, 1e-6 * std, &format!("{} mean", t.name));
        for (got, x, key) in [
            (s.std, w.std, "std"),
            (s.min, w.min, "min"),
            (s.max, w.max, "max"),
            (s.l2_norm, w.l2_norm, "l2_norm"),
        ] {
            let tol = 1e-6 * x.unwrap().abs();
            close(got, x, tol, &format!("{} {key}", t.name));
        }
    }
    assert!(findings.iter().all(|f| f.code != "not_decoded"));
    let quantised = tensors.iter().filter(|t| t.dtype.is_ggml_only()).count();
    assert!(quantised > 0);
    if sample_above.is_some() {
        assert!(
            sampled >= quantised,
            "{sampled} sampled of {quantised} quantised"
        );
    } else {
        assert_eq!(sampled, 0);
    }
    // Progress runs to one total, never backwards.
    let seen = seen.into_inner().unwrap();
    let total = seen.last().unwrap().1;
    assert_eq!(seen.last().unwrap().0, total);
    assert!(
        seen.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 == w[1].1)
    );
}

#[test]
fn cli_folder_of_unrelated_gguf_files_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["types/Q4_K.gguf", "types/Q8_0.gguf"] {
        let file = Path::new(name).file_name().unwrap();
        std::fs::copy(root().join(name), dir.path().join(file)).unwrap();
    }
    let out = glassbox(&["tensors", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("Q4_K.gguf") && err.contains("Q8_0.gguf"),
        "{err}"
    );
    // One of them alone opens.
    std::fs::remove_file(dir.path().join("Q8_0.gguf")).unwrap();
    let doc = tensors_of(dir.path());
    assert_eq!(doc.model.tensor_count, 2);
}

#[test]
fn cli_split_part_whose_keys_disagree_with_its_name_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Part 1 saved under the name of part 2 of 2.
    std::fs::copy(
        root().join("llama-split-00001-of-00002.gguf"),
        dir.path().join("llama-split-00002-of-00002.gguf"),
    )
    .unwrap();
    let out = glassbox(&[
        "tensors",
        dir.path()
            .join("llama-split-00002-of-00002.gguf")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("split.no 0 of split.count 2"), "{err}");
}

// ---- architecture fixtures: one tiny model per family in llama.cpp's layout ----

/// The summary `fixtures/generate_gguf.py` computed for an `arch/*.gguf` fixture from the sizes it
/// used (never from glassbox's output).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedArch {
    architecture: String,
    family: String,
    signature: String,
    layers: u64,
    hidden_size: u64,
    attention_heads: u64,
    kv_heads: u64,
    head_dim: u64,
    intermediate_size: u64,
    vocab_size: u64,
    experts: Option<u64>,
    experts_per_token: Option<u64>,
    tied_embeddings: Option<bool>,
    context_length: u64,
    /// Field → status; `null` where no check is made.
    checks: BTreeMap<String, Option<String>>,
    expert_intermediate_size: Option<u64>,
    parameters_active: Option<u64>,
    /// Field → the (wrong) declared value of the contradicting fixture.
    declared: BTreeMap<String, u64>,
    parameters_total: u64,
}

fn arch_fixtures() -> Vec<(String, ExpectedArch)> {
    expected()
        .into_iter()
        .filter(|(k, _)| k.starts_with("arch/"))
        .map(|(k, v)| match v {
            Expected::File(f) => match f.summary {
                Some(ExpectedSummary::Arch(want)) => (k, want),
                other => panic!("{k}: expected an architecture summary, found {other:?}"),
            },
            other => panic!("{k}: not a valid fixture: {other:?}"),
        })
        .collect()
}

fn gguf_summary(rel: &str) -> SummaryDoc {
    summary_of(&root().join(rel))
}

#[test]
fn cli_summary_of_every_gguf_architecture_matches_the_generator() {
    let fixtures = arch_fixtures();
    let names: Vec<&str> = fixtures.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "arch/bert.gguf",
            "arch/contradicting.gguf",
            "arch/gemma2.gguf",
            "arch/gemma3.gguf",
            "arch/gpt2.gguf",
            "arch/mixtral.gguf",
            "arch/phi3.gguf",
            "arch/qwen2.gguf",
            "arch/qwen3.gguf",
            "arch/qwen3moe.gguf",
        ]
    );
    for (rel, want) in &fixtures {
        let doc = gguf_summary(rel);
        assert_eq!(doc.schema_version, 1);
        assert_eq!(doc.model.format, "gguf", "{rel}");
        assert_eq!(
            doc.metadata.as_ref().unwrap().architecture.as_deref(),
            Some(want.architecture.as_str()),
            "{rel}"
        );
        let a = &doc.architecture;
        assert_eq!(a.family.as_deref(), Some(want.family.as_str()), "{rel}");
        assert!(a.family_known, "{rel}");
        assert_eq!(a.family_source.as_deref(), Some("gguf_metadata"), "{rel}");
        assert_eq!(a.convention.as_deref(), Some("gguf"), "{rel}");
        assert_eq!(
            a.signature.as_deref(),
            Some(want.signature.as_str()),
            "{rel}"
        );
        let got = [
            ("layers", a.layers),
            ("hidden_size", a.hidden_size),
            ("attention_heads", a.attention_heads),
            ("kv_heads", a.kv_heads),
            ("head_dim", a.head_dim),
            ("intermediate_size", a.intermediate_size),
            ("vocab_size", a.vocab_size),
            ("experts", a.experts),
            ("experts_per_token", a.experts_per_token),
            ("context_length", a.context_length),
            ("expert_intermediate_size", a.expert_intermediate_size),
        ];
        let wanted = [
            Some(want.layers),
            Some(want.hidden_size),
            Some(want.attention_heads),
            Some(want.kv_heads),
            Some(want.head_dim),
            Some(want.intermediate_size),
            Some(want.vocab_size),
            want.experts,
            want.experts_per_token,
            Some(want.context_length),
            want.expert_intermediate_size,
        ];
        for ((field, g), w) in got.iter().zip(wanted) {
            assert_eq!(*g, w, "{rel}: {field}");
        }
        assert_eq!(a.tied_embeddings, want.tied_embeddings, "{rel}");
        assert_eq!(doc.parameters.total, want.parameters_total, "{rel}");
        assert_eq!(
            doc.parameters.by_component.values().sum::<u64>(),
            want.parameters_total,
            "{rel}"
        );
        assert_eq!(doc.parameters.active, want.parameters_active, "{rel}");
        // Every check the generator predicts, and no contradiction it does not.
        for (field, status) in &want.checks {
            let got = doc.checks.iter().find(|c| &c.field == field);
            assert_eq!(
                got.map(|c| c.status.as_str()),
                status.as_deref(),
                "{rel}: check {field}: {got:?}"
            );
        }
        for c in doc.checks.iter().filter(|c| c.status == "contradicted") {
            assert_eq!(
                want.checks.get(&c.field).cloned().flatten().as_deref(),
                Some("contradicted"),
                "{rel}: unexpected contradiction {c:?}"
            );
        }
        // Declared values name their GGUF key, under the file's own architecture.
        let layers = doc.checks.iter().find(|c| c.field == "layers").unwrap();
        assert_eq!(
            layers.declared_key.as_deref(),
            Some(format!("{}.block_count", want.architecture).as_str()),
            "{rel}"
        );
        let tokenizer = doc.checks.iter().find(|c| c.field == "tokenizer_size");
        assert_eq!(
            tokenizer.and_then(|c| c.declared_key.as_deref()),
            Some("tokenizer.ggml.tokens (length)"),
            "{rel}"
        );
    }
}

#[test]
fn cli_gguf_contradicting_metadata_is_a_finding_with_the_observed_values() {
    let fixtures = arch_fixtures();
    let (rel, want) = fixtures
        .iter()
        .find(|(k, _)| k == "arch/contradicting.gguf")
        .unwrap();
    let doc = gguf_summary(rel);
    assert_eq!(want.declared.len(), 2);
    for (field, declared) in &want.declared {
        let c = doc.checks.iter().find(|c| &c.field == field).unwrap();
        assert_eq!(c.status, "contradicted", "{field}");
        assert_eq!(c.declared.as_u64(), Some(*declared), "{field}");
        assert!(c.basis.is_some(), "{field}");
        assert!(
            doc.notes
                .iter()
                .any(|n| n.starts_with(&format!("{field}:"))),
            "{field}: {:?}",
            doc.notes
        );
    }
    let key = |field: &str| {
        doc.checks
            .iter()
            .find(|c| c.field == field)
            .and_then(|c| c.declared_key.clone())
    };
    assert_eq!(
        key("kv_heads").as_deref(),
        Some("llama.attention.head_count_kv")
    );
    assert_eq!(
        key("intermediate_size").as_deref(),
        Some("llama.feed_forward_length")
    );
    // The summary shows what the weights hold.
    assert_eq!(doc.architecture.kv_heads, Some(want.kv_heads));
    assert_eq!(
        doc.architecture.intermediate_size,
        Some(want.intermediate_size)
    );

    let out = glassbox(&["summary", root().join(rel).to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "the GGUF metadata says 8 (`llama.attention.head_count_kv`), the weights show 2",
        "the GGUF metadata says 48 (`llama.feed_forward_length`), the weights show 64",
        "CONTRADICTED",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

#[test]
fn cli_gguf_fused_and_merged_layouts_get_their_roles() {
    let roles = |rel: &str| -> BTreeMap<String, (String, Vec<u64>)> {
        let doc = gguf_summary(rel);
        let mut out = BTreeMap::new();
        for stack in &doc.blocks {
            for group in &stack.groups {
                for t in &group.tensors {
                    out.insert(t.name.clone(), (t.role.clone(), t.shape.clone()));
                }
            }
        }
        out
    };
    let phi3 = roles("arch/phi3.gguf");
    assert_eq!(phi3["attn_qkv.weight"].0, "attn_qkv");
    assert_eq!(phi3["ffn_up.weight"].0, "mlp_gate_up");
    assert_eq!(phi3["ffn_up.weight"].1, [128, 32]);
    let mixtral = roles("arch/mixtral.gguf");
    assert_eq!(
        mixtral["ffn_gate_inp.weight"],
        ("router".to_owned(), vec![4, 32])
    );
    assert_eq!(
        mixtral["ffn_gate_exps.weight"],
        ("expert_gate".to_owned(), vec![4, 64, 32])
    );
    assert_eq!(mixtral["ffn_up_exps.weight"].0, "expert_up");
    assert_eq!(
        mixtral["ffn_down_exps.weight"],
        ("expert_down".to_owned(), vec![4, 32, 64])
    );
    let qwen3moe = roles("arch/qwen3moe.gguf");
    assert_eq!(
        qwen3moe["ffn_gate_exps.weight"],
        ("expert_gate".to_owned(), vec![4, 32, 32])
    );
    assert_eq!(qwen3moe["attn_k_norm.weight"].0, "attn_k_norm");
    let gemma3 = roles("arch/gemma3.gguf");
    assert_eq!(
        gemma3["attn_q_norm.weight"],
        ("attn_q_norm".to_owned(), vec![16])
    );
    assert_eq!(gemma3["post_ffw_norm.weight"].0, "norm");
    let bert = gguf_summary("arch/bert.gguf");
    let others: Vec<(&str, &str)> = bert
        .other_tensors
        .iter()
        .map(|t| (t.name.as_str(), t.role.as_str()))
        .collect();
    assert!(
        others.contains(&("token_types.weight", "token_type_embedding")),
        "{others:?}"
    );
    assert!(
        others.contains(&("position_embd.weight", "position_embedding")),
        "{others:?}"
    );
}

/// The GGUF tensor layout cross-checks `general.architecture`: a gemma2 declaration over a plain
/// llama layout (no post-norms) is a contradiction, the layouts of the fixtures agree.
#[test]
fn gguf_family_is_cross_checked_against_the_tensor_layout() {
    use glassbox::arch::{Status, infer_with_naming, rules};
    use glassbox::{DType, TensorInfo};
    let tensor = |name: &str, shape: &[u64]| TensorInfo {
        name: name.into(),
        dtype: DType::F32,
        shape: shape.to_vec(),
        file: 0,
        offset: 0,
        bytes: shape.iter().product::<u64>() * 4,
    };
    let mut llama = vec![tensor("token_embd.weight", &[32, 16])];
    for n in 0..2 {
        for (name, shape) in [
            ("attn_norm", &[16][..]),
            ("attn_q", &[16, 16]),
            ("attn_k", &[8, 16]),
            ("attn_v", &[8, 16]),
            ("attn_output", &[16, 16]),
            ("ffn_norm", &[16]),
            ("ffn_gate", &[32, 16]),
            ("ffn_up", &[32, 16]),
            ("ffn_down", &[16, 32]),
        ] {
            llama.push(tensor(&format!("blk.{n}.{name}.weight"), shape));
        }
    }
    let family = |model_type: &str, tensors: &[TensorInfo]| {
        let config = serde_json::json!({ "model_type": model_type });
        let a = infer_with_naming(tensors, Some(&config), None, Some(&rules::GGUF_STYLE));
        (a.signature, a.check("family").map(|c| c.status))
    };
    assert_eq!(
        family("llama", &llama),
        (Some("llama"), Some(Status::Consistent))
    );
    assert_eq!(
        family("mistral", &llama),
        (Some("llama"), Some(Status::Consistent))
    );
    assert_eq!(
        family("gemma2", &llama),
        (Some("llama"), Some(Status::Contradicted))
    );
    // An architecture glassbox has no rules for is declared only, never contradicted.
    assert_eq!(family("command-r", &llama).1, Some(Status::DeclaredOnly));
    let mut gemma2 = llama.clone();
    gemma2.push(tensor("blk.0.post_ffw_norm.weight", &[16]));
    gemma2.push(tensor("blk.1.post_ffw_norm.weight", &[16]));
    assert_eq!(
        family("gemma2", &gemma2),
        (Some("gemma2"), Some(Status::Consistent))
    );
}

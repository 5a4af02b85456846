//! The `glassbox` binary on the committed fixtures: exit codes, stdout and stderr together, and
//! the JSON output deserialised into strict structs and compared with the generator's numpy values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod common;
use common::{TensorObj, TensorsDoc, fixtures, glassbox, stderr, stdout, strict};

// ---- strict mirrors: the output's in tests/common, the generator's `expected.json` here ----

/// The generator's `expected.json` (numpy + safetensors, independent of the Rust code).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    format: String,
    files: Vec<String>,
    tensor_count: usize,
    parameter_count: u64,
    bytes: u64,
    parameters_by_dtype: BTreeMap<String, u64>,
    tensors: Vec<ExpectedTensor>,
    /// numpy's statistics of each tensor, checked by tests/stats_cli.rs.
    stats: BTreeMap<String, serde_json::Value>,
    /// `stats-edge` only: the findings its tensors must raise, checked by tests/stats_cli.rs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    findings: Option<serde_json::Value>,
}

/// A tensor as the generator wrote it (`expected.json` predates `bits_per_weight`).
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ExpectedTensor {
    name: String,
    dtype: String,
    shape: Vec<u64>,
    parameters: u64,
    bytes: u64,
    file: String,
    offset: u64,
}

impl From<&TensorObj> for ExpectedTensor {
    fn from(t: &TensorObj) -> Self {
        ExpectedTensor {
            name: t.name.clone(),
            dtype: t.dtype.clone(),
            shape: t.shape.clone(),
            parameters: t.parameters,
            bytes: t.bytes,
            file: t.file.clone(),
            offset: t.offset,
        }
    }
}

/// `fixtures/malformed/expected.json`: why each input is unreadable, or what a readable but odd one
/// holds.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum MalformedExpected {
    Unreadable(UnreadableExpected),
    Readable(ReadableExpected),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UnreadableExpected {
    readable: bool,
    error: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ReadableExpected {
    readable: bool,
    finding: String,
    expected: Expected,
}

fn tensors_json(path: &Path) -> TensorsDoc {
    let out = glassbox(&["tensors", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    strict(&out.stdout, &format!("tensors {}", path.display()))
}

fn check_against_expected(path: &Path, expected: &Expected) {
    let doc = tensors_json(path);
    assert_eq!(doc.schema_version, 1);
    let m = &doc.model;
    assert_eq!(m.path, path.to_str().unwrap());
    assert_eq!(m.format, expected.format);
    let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, expected.files, "{}", path.display());
    for f in &m.files {
        assert_eq!(f.bytes, std::fs::metadata(&f.path).unwrap().len());
        assert!(f.header_bytes >= 8 && f.header_bytes <= f.bytes);
    }
    assert_eq!(m.tensor_count, expected.tensor_count);
    assert_eq!(m.parameter_count, expected.parameter_count);
    assert_eq!(m.bytes, expected.bytes);
    assert_eq!(m.parameters_by_dtype, expected.parameters_by_dtype);
    let bpw = (m.parameter_count > 0).then(|| m.bytes as f64 * 8.0 / m.parameter_count as f64);
    assert_eq!(m.bits_per_weight, bpw, "{}", path.display());
    for t in &doc.tensors {
        let bpw = (t.parameters > 0).then(|| t.bytes as f64 * 8.0 / t.parameters as f64);
        assert_eq!(t.bits_per_weight, bpw, "{} bits per weight", t.name);
    }
    // `expected.json` predates `bits_per_weight` (checked above).
    let mut got: Vec<ExpectedTensor> = doc.tensors.iter().map(ExpectedTensor::from).collect();
    let mut want: Vec<&ExpectedTensor> = expected.tensors.iter().collect();
    got.sort_by(|a, b| a.name.cmp(&b.name));
    want.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<&ExpectedTensor> = got.iter().collect();
    assert_eq!(got, want, "{}", path.display());
}

fn load_expected(path: &Path) -> Expected {
    strict(&std::fs::read(path).unwrap(), &path.display().to_string())
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
        check_against_expected(&dir, &load_expected(&dir.join("expected.json")));
    }
}

#[test]
fn sharded_model_opens_from_folder_or_index_and_equals_the_single_file() {
    let dir = fixtures().join("llama-tiny-sharded");
    let expected = load_expected(&dir.join("expected.json"));
    assert_eq!(expected.files.len(), 3);
    check_against_expected(&dir.join("model.safetensors.index.json"), &expected);
    let single = tensors_json(&fixtures().join("llama-tiny"));
    let sharded = tensors_json(&dir);
    assert_eq!(single.model.parameter_count, sharded.model.parameter_count);
    let shape = |d: &TensorsDoc| -> Vec<(String, Vec<u64>, String)> {
        d.tensors
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone(), t.dtype.clone()))
            .collect()
    };
    assert_eq!(shape(&single), shape(&sharded));
}

#[test]
fn every_dtype_file_matches_numpy() {
    let dir = fixtures().join("dtypes");
    let path = dir.join("expected.json");
    let all: BTreeMap<String, Expected> =
        strict(&std::fs::read(&path).unwrap(), &path.display().to_string());
    assert!(all.len() >= 15);
    for (file, expected) in &all {
        check_against_expected(&dir.join(file), expected);
    }
}

#[test]
fn side_documents_are_recorded() {
    let doc = tensors_json(&fixtures().join("llama-tiny"));
    let kinds: Vec<&str> = doc
        .model
        .documents
        .iter()
        .map(|d| d.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "config",
            "generation_config",
            "tokenizer",
            "tokenizer_config",
            "special_tokens_map",
            "model_card",
            "license"
        ]
    );
    for d in &doc.model.documents {
        assert_eq!(
            d.bytes,
            std::fs::metadata(&d.path).unwrap().len(),
            "{}",
            d.kind
        );
    }
    assert!(doc.model.notes.is_empty());
    assert_eq!(doc.model.files[0].metadata["format"], "pt");
    // A single file inside a model folder sees the same documents.
    let file = tensors_json(&fixtures().join("llama-tiny/model.safetensors"));
    assert_eq!(file.model.documents.len(), doc.model.documents.len());
}

/// `(fixture, what stderr must contain besides the file name)` for every unreadable input.
const UNREADABLE: &[(&str, &str)] = &[
    (
        "empty.safetensors",
        "too short for the 8-byte header length",
    ),
    ("short-header-length.safetensors", "too short"),
    (
        "header-length-past-end.safetensors",
        "runs past the end of the file",
    ),
    (
        "header-too-large.safetensors",
        "exceeds the limit of 100000000 bytes",
    ),
    ("invalid-utf8.safetensors", "not valid UTF-8"),
    ("invalid-json.safetensors", "not valid JSON"),
    ("header-not-object.safetensors", "not a JSON object"),
    ("unknown-dtype.safetensors", "unknown dtype `F17`"),
    ("missing-field.safetensors", "missing `data_offsets`"),
    ("offsets-reversed.safetensors", "are reversed"),
    ("overlapping-offsets.safetensors", "overlaps tensor `a`"),
    ("data-past-end.safetensors", "ends past the file"),
    ("shape-mismatch.safetensors", "which needs 36 bytes"),
    ("shape-overflow.safetensors", "overflows the element count"),
    ("truncated.safetensors", "ends past the file"),
    ("duplicate-name.safetensors", "appears more than once"),
    ("index-missing-shard", "which does not exist"),
    (
        "index-wrong-shard",
        "(it is in `model-00002-of-00002.safetensors`)",
    ),
    ("index-invalid-json", "index is not valid JSON"),
    (
        "colliding-names",
        "is in both `model-a.safetensors` and `model-b.safetensors`",
    ),
    ("no-weights", "no weights found"),
];

fn tree_snapshot(path: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
            out.push((p.clone(), std::fs::read(&p).unwrap(), modified));
        }
    }
    out.sort();
    out
}

#[test]
fn every_malformed_input_exits_2_with_one_clear_line_and_is_left_untouched() {
    let dir = fixtures().join("malformed");
    let before = tree_snapshot(&dir);
    let path = dir.join("expected.json");
    let expected: BTreeMap<String, MalformedExpected> =
        strict(&std::fs::read(&path).unwrap(), &path.display().to_string());
    let unreadable = expected
        .values()
        .filter(|v| match v {
            MalformedExpected::Unreadable(u) => !u.readable,
            MalformedExpected::Readable(r) => {
                assert!(r.readable && !r.finding.is_empty(), "{r:?}");
                false
            }
        })
        .count();
    assert_eq!(unreadable, UNREADABLE.len(), "every fixture is covered");
    for &(name, needle) in UNREADABLE {
        let path = dir.join(name);
        assert!(path.exists(), "{name}");
        for cmd in [
            vec![path.to_str().unwrap()],
            vec!["tensors", path.to_str().unwrap()],
        ] {
            let out = glassbox(&cmd);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name}: {err}");
            assert_eq!(stdout(&out), "", "{name}");
            assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
            assert!(err.starts_with("error: "), "{name}: {err}");
            assert!(err.contains(needle), "{name}: {err}");
            assert!(!err.contains("panicked"), "{name}: {err}");
            // The message names the file at fault (the shard, the index or the folder).
            let stem = name.trim_end_matches(".safetensors");
            assert!(err.contains(stem), "{name} is named: {err}");
        }
    }
    assert_eq!(before, tree_snapshot(&dir), "inputs are never modified");
}

#[test]
fn suspicious_but_readable_inputs_open_with_a_note() {
    let dir = fixtures().join("malformed");
    for (name, code) in [
        ("gap-between-tensors.safetensors", "gap"),
        ("trailing-bytes.safetensors", "trailing_bytes"),
        ("config-invalid-json", "config_invalid"),
    ] {
        let doc = tensors_json(&dir.join(name));
        let codes: Vec<&str> = doc.model.notes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(codes, [code], "{name}");
        assert!(!doc.model.notes[0].message.is_empty());
        let text = glassbox(&["tensors", dir.join(name).to_str().unwrap()]);
        assert_eq!(text.status.code(), Some(0));
        assert!(stdout(&text).contains(&format!("- {code}: ")), "{name}");
    }
    let gap = tensors_json(&dir.join("gap-between-tensors.safetensors"));
    let note = &gap.model.notes[0];
    assert!(note.message.contains("[168, 184)"));
    assert_eq!(note.severity, "warning");
    assert_eq!(
        note.file.as_deref(),
        Some("gap-between-tensors.safetensors")
    );
    assert_eq!(note.tensor, None);
    let evidence = note.evidence.as_ref().expect("evidence");
    assert_eq!(
        (&evidence["start"], &evidence["end"]),
        (&168.into(), &184.into())
    );
}

#[test]
fn missing_path_and_bad_arguments_exit_2() {
    let out = glassbox(&["tensors", "/definitely/not/here"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: /definitely/not/here: no such file or folder\n"
    );
    let out = glassbox(&["tensors"]);
    assert_eq!(out.status.code(), Some(2));
    let out = glassbox(&["tensors", ".", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid value 'yaml'"));
    let out = glassbox(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no model given"));
    let out = glassbox(&["--threads", "0", "fixtures"]);
    assert_eq!(out.status.code(), Some(2));
    // Usage errors are one line too, as every other error (clap's usage block left out).
    for args in [
        &["--threads", "0", "fixtures"][..],
        &["--threads", "257", "fixtures"],
        &["stats"],
        &["tensors", ".", "--format", "yaml"],
    ] {
        let out = glassbox(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.ends_with("(see --help)\n"),
            "{err}"
        );
    }
    assert_eq!(
        stderr(&glassbox(&["stats"])),
        "error: the following required arguments were not provided: <PATH> (see --help)\n"
    );
}

#[test]
fn help_and_version_exit_0() {
    let out = glassbox(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("Examples:"));
    let out = glassbox(&["tensors", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("--sort"));
    let out = glassbox(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("glassbox "));
}

/// Writes a model whose names need natural ordering, into a temporary folder.
fn many_layers(dir: &Path) -> PathBuf {
    use std::fmt::Write as _;
    let mut header = String::from("{");
    let mut offset = 0;
    for i in (0..12).rev() {
        let bytes = (i + 1) * 4;
        write!(
            header,
            "\"layers.{i}.w\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}},",
            i + 1,
            offset + bytes
        )
        .unwrap();
        offset += bytes;
    }
    header.pop();
    header.push('}');
    let path = dir.join("layers.safetensors");
    std::fs::write(
        &path,
        glassbox::format::safetensors::build_file(&header, &vec![0; offset]),
    )
    .unwrap();
    path
}

#[test]
fn table_is_in_natural_order_with_totals_and_sorts_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let path = many_layers(tmp.path());
    let p = path.to_str().unwrap();
    let out = glassbox(&["tensors", p]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .take(12)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let expected: Vec<String> = (0..12).map(|i| format!("layers.{i}.w")).collect();
    assert_eq!(names, expected);
    assert!(text.lines().next().unwrap().starts_with("name"));
    assert!(text.contains("12 tensors, 78 parameters, 312 B in 1 file\n"));
    assert!(text.contains("F32: 78 parameters (100.0%)\n"));

    // No subcommand: the summary (tests/summary.rs), not the table.
    assert_eq!(stdout(&glassbox(&[p])), stdout(&glassbox(&["summary", p])));

    let out = glassbox(&["tensors", p, "--sort", "size", "--format", "json"]);
    let doc: TensorsDoc = strict(&out.stdout, "tensors");
    assert_eq!(doc.tensors[0].name, "layers.11.w");
    assert_eq!(doc.tensors[11].name, "layers.0.w");
    let out = glassbox(&["tensors", p, "--sort", "offset", "--format", "json"]);
    let doc: TensorsDoc = strict(&out.stdout, "tensors");
    assert_eq!(doc.tensors[0].name, "layers.11.w");
    assert!(doc.tensors.windows(2).all(|w| w[0].offset < w[1].offset));

    let out = glassbox(&["tensors", p, "--filter", "layers.1*"]);
    let text = stdout(&out);
    assert!(text.contains("3 tensors (of 12), 25 parameters"), "{text}");
    let out = glassbox(&["tensors", p, "--filter", "s.1", "--format", "json"]);
    let doc: TensorsDoc = strict(&out.stdout, "tensors");
    let names: Vec<&str> = doc.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["layers.1.w", "layers.10.w", "layers.11.w"]);
    assert_eq!(
        doc.model.tensor_count, 12,
        "the model object counts the whole model"
    );
}

#[test]
fn markdown_table() {
    let out = glassbox(&[
        "tensors",
        fixtures().join("gpt2-tiny").to_str().unwrap(),
        "--format",
        "markdown",
        "--filter",
        "h.0.attn.c_attn",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "| name | dtype | shape | parameters | size | file |\n\
         |---|---|---|---:|---:|---|\n\
         | `h.0.attn.c_attn.bias` | F32 | [144] | 144 | 576 B | model.safetensors |\n\
         | `h.0.attn.c_attn.weight` | F32 | [48, 144] | 6,912 | 27 KiB | model.safetensors |\n\
         \n\
         - 2 tensors (of 28), 7,056 parameters (7.06K), 27.6 KiB in 1 file\n\
         - F32: 7,056 parameters (100.0%)\n"
    );
}

#[test]
fn devices_and_unreadable_paths_exit_2() {
    let out = glassbox(&["tensors", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: /dev/null: not a regular file or folder\n"
    );
    // A path through a file: the operating system's error, with the path.
    let through = fixtures().join("llama-tiny/config.json/model.safetensors");
    let out = glassbox(&["tensors", through.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: ") && err.contains("config.json/model.safetensors: "));
    assert!(err.to_lowercase().contains("not a directory"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let edge = fixtures().join("stats-edge");
    let p = edge.to_str().unwrap();
    let always = stdout(&glassbox(&["stats", p, "--color", "always"]));
    assert!(always.contains("- \x1b[1;31merror\x1b[0m [nan] layers.0.nan.weight"));
    assert!(always.contains("- \x1b[33mwarning\x1b[0m [constant]"));
    // Not a terminal (the test captures stdout), `never`, or JSON: no escape codes.
    for args in [
        vec!["stats", p],
        vec!["stats", p, "--color", "never"],
        vec!["stats", p, "--color", "always", "--format", "json"],
    ] {
        assert!(!stdout(&glassbox(&args)).contains('\x1b'), "{args:?}");
    }
    let contradicting = fixtures().join("families/contradicting-config");
    let text = stdout(&glassbox(&[
        contradicting.to_str().unwrap(),
        "--color",
        "always",
    ]));
    assert!(text.contains("\x1b[1;31mCONTRADICTED\x1b[0m"));
}

/// A folder whose only weights are a PyTorch checkpoint opens it (read without running it, see
/// tests/torch.rs); one that is not a checkpoint says why, on one line.
#[test]
fn a_folder_with_only_a_broken_pickle_says_why_it_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("pytorch_model.bin"),
        b"PK\x03\x04 not really",
    )
    .unwrap();
    std::fs::write(tmp.path().join("config.json"), b"{}").unwrap();
    let out = glassbox(&["tensors", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("pytorch_model.bin: zip archive:"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

/// A safetensors file whose one F32 tensor has the name `name` and `data` bytes, with
/// `data_offsets` claiming `claimed` bytes.
fn named_tensor_file(path: &std::path::Path, name: &str, data: usize, claimed: usize) {
    let header = serde_json::json!({
        name: {"dtype": "F32", "shape": [claimed / 4], "data_offsets": [0, claimed]}
    })
    .to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0x3Fu8, data));
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn control_characters_from_files_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "evil\u{1b}[2J\u{1b}]0;owned\u{7}\nname\r";
    let good = tmp.path().join("good.safetensors");
    named_tensor_file(&good, name, 16, 16);
    for cmd in ["tensors", "stats", "summary"] {
        for format in ["text", "markdown"] {
            let out = glassbox(&[
                cmd,
                good.to_str().unwrap(),
                "--format",
                format,
                "--color",
                "always",
            ]);
            assert_eq!(out.status.code(), Some(0), "{cmd} {format}");
            let text = String::from_utf8(out.stdout).unwrap();
            // Colour codes are glassbox's own (ESC + '['); none other, no BEL, no CR.
            let stray = text
                .char_indices()
                .filter(|&(i, c)| {
                    c.is_control()
                        && c != '\n'
                        && !(c == '\u{1b}' && text[i + 1..].starts_with('['))
                })
                .count();
            assert_eq!(stray, 0, "{cmd} {format}:\n{text}");
            assert!(!text.contains("\u{1b}[2J"), "{cmd} {format}");
        }
    }
    // JSON keeps the exact name (escaped by JSON itself).
    let out = glassbox(&["tensors", good.to_str().unwrap(), "--format", "json"]);
    let doc: TensorsDoc = strict(&out.stdout, "tensors");
    assert_eq!(doc.tensors[0].name, name);

    // Errors naming the tensor are one printable line.
    let bad = tmp.path().join("bad.safetensors");
    named_tensor_file(&bad, name, 16, 64);
    let out = glassbox(&["tensors", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.ends_with('\n') && !err.trim_end().chars().any(char::is_control),
        "{err:?}"
    );
    assert!(err.contains("evil\\u{1b}[2J"), "{err}");
}

/// A file whose name says nothing of its format (an Ollama blob, a chunk of a download, a renamed
/// file) is read by its magic bytes: GGUF, a PyTorch zip or a legacy pickle, else safetensors.
#[test]
fn a_file_without_an_extension_is_read_by_its_magic() {
    let tmp = tempfile::tempdir().unwrap();
    for (fixture, format) in [
        ("gguf/llama-tiny.gguf", "gguf"),
        ("torch/llama-zip/pytorch_model.bin", "pytorch"),
        ("torch/legacy/pytorch_model.bin", "pytorch"),
        ("llama-tiny/model.safetensors", "safetensors"),
    ] {
        let named = fixtures().join(fixture);
        let bare = tmp.path().join(format!("blob-{format}"));
        std::fs::copy(&named, &bare).unwrap();
        let of = |p: &Path| {
            let out = glassbox(&["tensors", p.to_str().unwrap(), "--format", "json"]);
            assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
            let mut v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
            for t in v["tensors"].as_array_mut().unwrap() {
                t.as_object_mut().unwrap().remove("file"); // the file's own name differs
            }
            (v["model"]["format"].clone(), v["tensors"].clone())
        };
        let (bare_format, bare_tensors) = of(&bare);
        let (named_format, named_tensors) = of(&named);
        assert_eq!(bare_format, format, "{fixture}");
        assert_eq!(bare_format, named_format, "{fixture}");
        assert_eq!(bare_tensors, named_tensors, "{fixture}");
    }
}

/// A filter that matches nothing is a warning on stderr (a mistyped pattern), not a silent empty
/// table; `-q` silences it; the exit code stays 0 and the output is the empty table.
#[test]
fn a_filter_matching_nothing_is_a_warning() {
    let p = "fixtures/llama-tiny/model.safetensors";
    let names = tensors_json(Path::new(p)).tensors;
    for command in ["tensors", "stats"] {
        let out = glassbox(&[command, p, "--filter", "no_such_tensor*"]);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{command}: {err}");
        assert!(
            err.starts_with(&format!(
                "warning: --filter 'no_such_tensor*' matches none of the {} tensors",
                names.len()
            )),
            "{command}: {err}"
        );
        let quiet = glassbox(&[command, p, "--filter", "no_such_tensor*", "-q"]);
        assert_eq!(quiet.status.code(), Some(0));
        assert!(stderr(&quiet).is_empty(), "{command}: {}", stderr(&quiet));
        // A glob anchored at the start of names that would match with a leading `*`: said.
        let anchored = glassbox(&[command, p, "--filter", "layers.0.*"]);
        assert_eq!(
            stderr(&anchored).trim_end(),
            format!(
                "warning: --filter 'layers.0.*' matches none of the {} tensors; a pattern with * \
                 matches whole names: '*layers.0.*' matches",
                names.len()
            ),
            "{command}"
        );
        // A filter that matches says nothing.
        let some = glassbox(&[command, p, "--filter", "norm"]);
        assert!(stderr(&some).is_empty(), "{command}: {}", stderr(&some));
    }
}

/// One shard of a sharded checkpoint opened by name reads as that shard, and says so: its layer
/// count is not the model's.
#[test]
fn one_shard_opened_alone_says_it_is_one_of_several() {
    let p = "fixtures/llama-tiny-sharded/model-00002-of-00003.safetensors";
    let out = glassbox(&["summary", p]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "`model-00002-of-00003.safetensors` is one of 3 shards listed in `model.safetensors.index.json`: only this shard was read"
        ),
        "{}",
        stdout(&out)
    );
    // The folder, and a file no index lists, say nothing of the kind.
    for whole in [
        "fixtures/llama-tiny-sharded",
        "fixtures/llama-tiny/model.safetensors",
    ] {
        let out = glassbox(&["summary", whole]);
        assert!(!stdout(&out).contains("shards listed"), "{whole}");
    }
}

/// A misspelt command reads as a model to browse that does not exist: the error names the command
/// it is near; a word near no command, or a path, gets no such hint.
#[test]
fn a_misspelt_command_suggests_the_command() {
    for (typed, command) in [
        ("stat", "stats"),
        ("tensor", "tensors"),
        ("transparancy", "transparency"),
    ] {
        let out = glassbox(&[typed, "fixtures/bert-tiny"]);
        assert_eq!(out.status.code(), Some(2), "{typed}");
        assert_eq!(
            stderr(&out).trim_end(),
            format!(
                "error: {typed}: no such file or folder (did you mean the command `{command}`?)"
            )
        );
    }
    for typed in ["statistics-of", "fixtures/stat"] {
        let out = glassbox(&[typed]);
        assert_eq!(out.status.code(), Some(2));
        assert!(!stderr(&out).contains("the command"), "{}", stderr(&out));
    }
    // A right command with a missing model: no hint about the command.
    let out = glassbox(&["stats", "no-such-model"]);
    assert_eq!(
        stderr(&out).trim_end(),
        "error: no-such-model: no such file or folder"
    );
}

/// A mistyped local path names the near file, and is not looked up in the Hugging Face cache
/// (`folder/file` also reads as a Hub id).
#[test]
fn a_mistyped_path_suggests_the_near_name() {
    let out = glassbox(&["summary", "fixtures/llama-tiny/model.safetensor"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        "error: fixtures/llama-tiny/model.safetensor: no such file or folder (did you mean `model.safetensors`?)"
    );
    // Nothing near: no suggestion.
    let out = glassbox(&["summary", "fixtures/llama-tiny/weights.bin"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        "error: fixtures/llama-tiny/weights.bin: no such file or folder"
    );
}

/// `--filter` selects tensors where tensors are listed; the commands that read the whole model
/// refuse it rather than ignore it (a diff "with a filter" compared everything).
#[test]
fn commands_that_read_the_whole_model_refuse_a_filter() {
    let m = "fixtures/llama-tiny";
    for args in [
        &["summary", m][..],
        &["transparency", m],
        &["diff", m, m],
        &["cache"],
        &[m],
        &[m, m],
    ] {
        let mut with = args.to_vec();
        with.extend(["--filter", "norm"]);
        let out = glassbox(&with);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("`--filter` selects tensors for `tensors`, `stats` and the terminal UI"),
            "{err}"
        );
    }
}

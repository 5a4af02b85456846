//! PyTorch checkpoints read without running them: the fixtures of `fixtures/generate_torch.py`
//! (tensor tables and statistics against the `expected.json` the generator wrote with numpy and
//! Python's zip writer), the pickle safety report, and hostile files (clear errors, exit 2, never
//! a panic).

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures, glassbox, stderr, stdout};
use serde_json::Value;

fn torch_fixture(name: &str) -> PathBuf {
    fixtures().join("torch").join(name)
}

fn json_of(args: &[&str]) -> Value {
    let out = glassbox(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("JSON output")
}

fn expected(folder: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("expected.json")).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

const FOLDERS: &[&str] = &[
    "llama-zip",
    "views",
    "nested",
    "legacy",
    "sharded",
    "malicious",
];

#[test]
fn every_tensor_has_the_dtype_shape_and_offset_the_writer_placed() {
    for name in FOLDERS {
        let folder = torch_fixture(name);
        let exp = expected(&folder);
        let got = json_of(&["tensors", folder.to_str().unwrap(), "--format", "json"]);
        assert_eq!(got["model"]["format"], "pytorch", "{name}");
        let listed: Vec<&Value> = exp["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["layout"] != "strided")
            .collect();
        let tensors = got["tensors"].as_array().unwrap();
        assert_eq!(tensors.len(), listed.len(), "{name}");
        for e in listed {
            let t = tensors
                .iter()
                .find(|t| t["name"] == e["name"])
                .unwrap_or_else(|| panic!("{name}: {} missing", e["name"]));
            for key in ["dtype", "shape", "offset", "bytes", "file"] {
                assert_eq!(t[key], e[key], "{name} {} {key}", e["name"]);
            }
        }
        // A view that skips elements is never listed.
        for e in exp["tensors"].as_array().unwrap() {
            if e["layout"] == "strided" {
                assert!(!tensors.iter().any(|t| t["name"] == e["name"]));
            }
        }
    }
}

#[test]
fn statistics_equal_numpy_on_the_same_values() {
    for name in FOLDERS {
        let folder = torch_fixture(name);
        let exp = expected(&folder);
        let got = json_of(&["stats", folder.to_str().unwrap(), "--format", "json"]);
        let mut checked = 0;
        for t in got["tensors"].as_array().unwrap() {
            let e = &exp["stats"][t["name"].as_str().unwrap()];
            let s = &t["stats"];
            assert_eq!(s["count"], e["count"], "{name} {}", t["name"]);
            assert_eq!(s["zeros"], e["zeros"], "{name} {}", t["name"]);
            for key in ["mean", "std", "min", "max"] {
                let (a, b) = (s[key].as_f64().unwrap(), e[key].as_f64().unwrap());
                assert!(close(a, b), "{name} {} {key}: {a} vs numpy {b}", t["name"]);
            }
            checked += 1;
        }
        assert!(checked > 0, "{name}");
    }
}

/// The notes of `glassbox summary --format json` with one code.
fn notes(folder: &Path, code: &str) -> Vec<Value> {
    let doc = json_of(&["summary", folder.to_str().unwrap(), "--format", "json"]);
    doc["model"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["code"] == code)
        .cloned()
        .collect()
}

#[test]
fn a_malicious_pickle_is_flagged_and_nothing_runs() {
    let folder = torch_fixture("malicious");
    let exp = expected(&folder);
    let dangerous = notes(&folder, "pickle_dangerous_global");
    let mut found: Vec<(String, String)> = dangerous
        .iter()
        .map(|n| {
            assert_eq!(n["severity"], "error");
            assert_eq!(n["evidence"]["called"], true);
            (
                n["file"].as_str().unwrap().to_owned(),
                n["evidence"]["global"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut want: Vec<(String, String)> = exp["dangerous_globals"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(file, globals)| {
            globals
                .as_array()
                .unwrap()
                .iter()
                .map(move |g| (file.clone(), g.as_str().unwrap().to_owned()))
        })
        .collect();
    want.sort();
    assert_eq!(found, want);
    // The weights beside the payload are still listed; the payload entry is named.
    let other = notes(&folder, "torch_non_tensor_entries");
    assert_eq!(
        other[0]["evidence"]["entries"],
        serde_json::json!(["payload"])
    );
    // The text summary shows the error.
    let text = stdout(&glassbox(&["summary", folder.to_str().unwrap()]));
    assert!(text.contains("`exploit.pkl` names `builtins.eval`, a known-dangerous global"));
}

#[test]
fn the_trainers_pickles_are_read_too_and_unknown_globals_warned() {
    let folder = torch_fixture("llama-zip");
    let unknown = notes(&folder, "pickle_unknown_global");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["severity"], "warning");
    assert_eq!(unknown[0]["file"], "training_args.bin");
    assert_eq!(
        unknown[0]["evidence"]["global"],
        "transformers.training_args.TrainingArguments"
    );
    let safe = notes(&folder, "pickle_safe_globals");
    assert_eq!(safe.len(), 1);
    assert_eq!(safe[0]["severity"], "info");
    assert_eq!(
        safe[0]["evidence"]["globals"],
        serde_json::json!([
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.BFloat16Storage"
        ])
    );
    // Beside safetensors weights the pickles are still reported.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("llama-tiny/model.safetensors"),
        tmp.path().join("model.safetensors"),
    )
    .unwrap();
    std::fs::copy(
        folder.join("training_args.bin"),
        tmp.path().join("training_args.bin"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("optimizer.pt"), b"not a pickle at all").unwrap();
    let doc = json_of(&["summary", tmp.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(doc["model"]["format"], "safetensors");
    let codes: Vec<&str> = doc["model"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["pickle_unreadable", "pickle_unknown_global"]);
}

#[test]
fn views_shared_storages_and_prefixes_are_noted() {
    let views = torch_fixture("views");
    let shared = notes(&views, "torch_shared_storage");
    let groups: Vec<&Value> = shared.iter().map(|n| &n["evidence"]["tensors"]).collect();
    assert!(groups.contains(&&serde_json::json!(["embed.weight", "lm_head.weight"])));
    assert_eq!(shared.len(), 4);
    let permuted = notes(&views, "torch_permuted_view");
    assert_eq!(permuted.len(), 1);
    assert_eq!(permuted[0]["tensor"], "proj.weight_t");
    let strided = notes(&views, "torch_strided_view");
    assert_eq!(strided.len(), 1);
    assert_eq!(strided[0]["tensor"], "proj.every_other");
    assert_eq!(strided[0]["severity"], "warning");
    let prefix = notes(&torch_fixture("nested"), "torch_state_dict_prefix");
    assert_eq!(prefix[0]["evidence"]["prefix"], "state_dict");
}

#[test]
fn summary_and_diff_work_as_for_safetensors() {
    let llama = torch_fixture("llama-zip");
    let doc = json_of(&["summary", llama.to_str().unwrap(), "--format", "json"]);
    assert_eq!(doc["architecture"]["family"], "llama");
    assert_eq!(doc["architecture"]["layers"], 2);
    // The checkpoint against its safetensors conversion: the same weights.
    let out = glassbox(&[
        "diff",
        llama.join("pytorch_model.bin").to_str().unwrap(),
        fixtures().join("llama-tiny").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("identical weights: all 20 tensors have the same values"),
        "{text}"
    );
    // Opening by file and by index.
    for path in [
        torch_fixture("legacy/pytorch_model.bin"),
        torch_fixture("sharded/pytorch_model.bin.index.json"),
        torch_fixture("nested/last.ckpt"),
    ] {
        let doc = json_of(&["tensors", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(doc["model"]["format"], "pytorch");
    }
}

/// Runs glassbox on a file that must be refused: exit 2, one line on stderr containing `want`.
fn refused(path: &Path, want: &str) {
    for command in ["tensors", "summary", "stats"] {
        let out = glassbox(&[command, path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{}: {err}", path.display());
    }
}

#[test]
fn hostile_checkpoints_are_clear_errors() {
    let h = torch_fixture("hostile");
    refused(&h.join("compressed.pt"), "is compressed (zip method 8)");
    refused(&h.join("cd_outside.pt"), "central directory");
    refused(&h.join("legacy_cut.pt"), "before its STOP opcode");
    refused(&h.join("bad_opcode.pt"), "unknown pickle opcode 0xff");
    refused(
        &h.join("legacy_storage_past_end.pt"),
        "run past the end of the file",
    );
    refused(&h.join("torchscript.pt"), "a TorchScript archive");
}

#[test]
fn every_truncation_and_byte_flip_of_a_checkpoint_is_an_error_or_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    for source in [
        torch_fixture("hostile/good.pt"),
        torch_fixture("legacy/pytorch_model.bin"),
    ] {
        let bytes = std::fs::read(&source).unwrap();
        let path = tmp.path().join("m.pt");
        for cut in 0..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            // Through the library: an error or a model, never a panic.
            let _ = glassbox::model::open(&path);
        }
        for at in (0..bytes.len()).step_by(3) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xa5;
            std::fs::write(&path, &flipped).unwrap();
            if let Ok(model) = glassbox::model::open(&path) {
                for t in &model.tensors {
                    // Whatever was accepted lies inside the file.
                    assert!(t.offset + t.bytes <= model.files[t.file].len);
                }
            }
        }
    }
}

#[test]
fn an_unparseable_pickle_in_a_folder_is_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        torch_fixture("hostile/good.pt"),
        tmp.path().join("pytorch_model.bin"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("state.pkl"), b"\x80\x02(((\xfe").unwrap();
    let unreadable = notes(tmp.path(), "pickle_unreadable");
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0]["file"], "state.pkl");
    assert!(
        unreadable[0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown pickle opcode 0xfe")
    );
}

#[test]
fn a_folder_with_only_the_trainers_state_has_no_weights() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        torch_fixture("llama-zip/training_args.bin"),
        tmp.path().join("training_args.bin"),
    )
    .unwrap();
    let out = glassbox(&["tensors", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no weights found"), "{err}");
    assert!(
        err.contains("`training_args.bin` is a PyTorch pickle of the Trainer's state"),
        "{err}"
    );
}

//! The converter transforms `glassbox diff` undoes to pair tensors, on the committed fixtures
//! (fixtures/generate_diff.py): merged experts against per-expert tensors, fused QKV and gate_up
//! against split ones, the Gemma norms stored plus one. The numbers of every pair are checked
//! against numpy in tests/diff.rs (`every_fixture_pair_matches_the_numpy_oracle`); here, that each
//! transform is applied where it should be, listed, and nowhere else.

use serde_json::Value;

mod common;
use common::{glassbox, stderr};

fn diff(a: &str, b: &str) -> (Value, i32) {
    let (a, b) = (format!("fixtures/diff/{a}"), format!("fixtures/diff/{b}"));
    let out = glassbox(&["diff", &a, &b, "--format", "json"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let doc = serde_json::from_slice(&out.stdout).expect("JSON");
    (doc, out.status.code().expect("exit code"))
}

/// `(code, side, tensors, detail)` of every transform listed.
fn transforms(doc: &Value) -> Vec<(String, String, u64, String)> {
    doc["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["code"].as_str().unwrap().to_owned(),
                t["side"].as_str().unwrap().to_owned(),
                t["tensors"].as_u64().unwrap(),
                t["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn tensor<'d>(doc: &'d Value, name: &str) -> &'d Value {
    doc["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("`{name}` missing"))
}

fn unpaired(doc: &Value) -> u64 {
    doc["summary"]["added"].as_u64().unwrap() + doc["summary"]["removed"].as_u64().unwrap()
}

#[test]
fn merged_gguf_experts_pair_with_per_expert_tensors() {
    let (doc, code) = diff("moe", "moe/model.gguf");
    assert_eq!(code, 1, "F32 experts against F16 ones differ");
    assert_eq!(unpaired(&doc), 0, "{}", doc["tensors"]);
    let cuts: Vec<_> = transforms(&doc)
        .into_iter()
        .filter(|t| t.0 == "experts_split")
        .collect();
    // gate, up and down of the one layer, each cut into 4 experts, on the GGUF side.
    assert_eq!(cuts.len(), 3, "{cuts:?}");
    assert!(cuts.iter().all(|t| t.1 == "b" && t.2 == 1));
    assert!(
        cuts.iter()
            .any(|t| t.3 == "blk.{N}.ffn_gate_exps.weight → model.layers.{N}.block_sparse_moe.experts.{E}.w1.weight"),
        "{cuts:?}"
    );
    // Expert 2's w2 is the third slice of `ffn_down_exps`, as the file names it.
    let t = tensor(&doc, "model.layers.0.block_sparse_moe.experts.2.w2.weight");
    assert_eq!(t["name_b"], "blk.0.ffn_down_exps.weight[2]");
    assert_eq!(t["status"], "re-rounded");
    assert_eq!(t["shape_a"], t["shape_b"]);
    assert_eq!(t["shape_b"], serde_json::json!([32, 64]));
    // w2 is the expert's down projection, w1 its gate: each part keeps its own role.
    assert_eq!(t["role"], "exp down");
    assert_eq!(
        tensor(&doc, "model.layers.0.block_sparse_moe.experts.0.w1.weight")["role"],
        "exp gate"
    );
}

#[test]
fn fused_qkv_and_gate_up_pair_with_split_tensors_both_ways() {
    for (a, b, side) in [
        ("fused/split", "fused/phi3", "b"),
        ("fused/phi3", "fused/split", "a"),
    ] {
        let (doc, code) = diff(a, b);
        assert_eq!(code, 1, "{a} {b}: the up rows changed");
        assert_eq!(unpaired(&doc), 0, "{a} {b}");
        let cuts: Vec<_> = transforms(&doc)
            .into_iter()
            .filter(|t| t.0 == "fused_split")
            .collect();
        assert_eq!(cuts.len(), 2, "{cuts:?}");
        assert!(cuts.iter().all(|t| t.1 == side && t.2 == 1), "{cuts:?}");
        // Q: 32 rows, K and V: 16 each (2 KV heads of 8), read from the other side's shapes.
        let k = tensor(&doc, "model.layers.0.self_attn.k_proj.weight");
        assert_eq!(k["status"], "identical");
        let fused_name = if side == "a" { "name_a" } else { "name_b" };
        assert_eq!(
            k[fused_name],
            "model.layers.0.self_attn.qkv_proj.weight[rows 32..48]"
        );
        assert_eq!(
            tensor(&doc, "model.layers.0.mlp.up_proj.weight")["status"],
            "changed"
        );
        assert_eq!(
            tensor(&doc, "model.layers.0.mlp.gate_proj.weight")["status"],
            "identical"
        );
    }
}

#[test]
fn fused_tensors_on_both_sides_pair_whole() {
    let (doc, code) = diff("fused/phi3", "fused/phi3");
    assert_eq!(code, 0);
    assert!(transforms(&doc).is_empty(), "{:?}", transforms(&doc));
    assert_eq!(
        tensor(&doc, "model.layers.0.self_attn.qkv_proj.weight")["status"],
        "identical"
    );
}

#[test]
fn a_part_missing_on_the_other_side_leaves_the_merged_tensor_whole() {
    // The MoE checkpoint has no q/k/v or gate/up projections: nothing to cut, and the phi3
    // copy's fused tensors stay whole and unpaired.
    let (doc, _) = diff("fused/phi3", "moe");
    assert_eq!(
        tensor(&doc, "model.layers.0.self_attn.qkv_proj.weight")["status"],
        "removed"
    );
    assert!(
        transforms(&doc).iter().all(|t| t.0 != "fused_split"),
        "{:?}",
        transforms(&doc)
    );
}

#[test]
fn gemma_gguf_norms_are_read_minus_one_end_to_end() {
    let (doc, code) = diff("gemma", "gemma/model.gguf");
    assert_eq!(code, 0, "{}", doc["verdict"]);
    assert_eq!(doc["verdict"]["kind"], "identical");
    assert_eq!(unpaired(&doc), 0);
    let listed = transforms(&doc);
    // 2 layers × (input and post-attention norms) + the final norm.
    assert!(
        listed.contains(&("norm_minus_one".into(), "b".into(), 5, "gemma".into())),
        "{listed:?}"
    );
    assert!(listed.iter().any(|t| t.0 == "gguf_names" && t.3 == "gemma"));
    assert!(listed.iter().all(|t| t.0 != "qk_unpermute"), "{listed:?}");
    let norm = tensor(&doc, "model.norm.weight");
    assert_eq!(norm["status"], "identical");
    assert_eq!(norm["name_b"], "output_norm.weight");
    assert_eq!(norm["bytes_identical"], false);
    // The text face lists the transform too.
    let out = glassbox(&[
        "diff",
        "fixtures/diff/gemma",
        "fixtures/diff/gemma/model.gguf",
    ]);
    assert!(
        common::stdout(&out).contains("norm_minus_one"),
        "{}",
        common::stdout(&out)
    );
}

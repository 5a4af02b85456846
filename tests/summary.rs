//! `glassbox summary` on the committed fixtures: the JSON deserialised into strict structs and
//! compared with the expectations the fixture generator computed independently
//! (fixtures/generate_families.py), text snapshots, and the inference library on the tensor tables
//! of real checkpoints (Llama-3.2-1B, bert-base-uncased, Qwen3-0.6B, Mixtral-8x7B, DeepSeek-V3)
//! built from their published shapes.

// The mirror structs exist to hold the output to the documented schema (`deny_unknown_fields`);
// not every field is read by an assertion.
#![allow(dead_code)]

mod common;

use common::{ArchitectureObj, SummaryDoc, glassbox, stderr, stdout};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use glassbox::arch::evidence::{DeclaredFamily, NameEvidence};
use glassbox::arch::{Architecture, Component, Status, infer_from_parts};
use glassbox::{DType, TensorInfo};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn families() -> PathBuf {
    root().join("fixtures").join("families")
}

impl ArchitectureObj {
    fn as_json(&self) -> BTreeMap<&'static str, Value> {
        BTreeMap::from([
            ("layers", json!(self.layers)),
            ("hidden_size", json!(self.hidden_size)),
            ("attention_heads", json!(self.attention_heads)),
            ("kv_heads", json!(self.kv_heads)),
            ("head_dim", json!(self.head_dim)),
            ("intermediate_size", json!(self.intermediate_size)),
            ("vocab_size", json!(self.vocab_size)),
            ("experts", json!(self.experts)),
            ("experts_per_token", json!(self.experts_per_token)),
            ("tied_embeddings", json!(self.tied_embeddings)),
            ("context_length", json!(self.context_length)),
            ("decoder_layers", json!(self.decoder_layers)),
            (
                "expert_intermediate_size",
                json!(self.expert_intermediate_size),
            ),
            ("shared_experts", json!(self.shared_experts)),
            ("attention", json!(self.attention)),
        ])
    }
}

fn summary_json(path: &Path) -> SummaryDoc {
    let out = glassbox(&["summary", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let doc: SummaryDoc = serde_json::from_slice(&out.stdout).expect("strict summary document");
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.model.path, path.to_str().unwrap());
    assert_eq!(doc.model.format, "safetensors");
    assert!(
        doc.metadata.is_none(),
        "only GGUF models carry a metadata object"
    );
    doc
}

/// Invariants every summary satisfies, whatever the model.
fn check_invariants(doc: &SummaryDoc) {
    let p = &doc.parameters;
    assert_eq!(p.total, doc.model.parameter_count);
    assert_eq!(p.by_component.values().sum::<u64>(), p.total);
    let in_blocks: u64 = doc
        .blocks
        .iter()
        .flat_map(|s| &s.groups)
        .map(|g| g.parameters_per_block * g.indices.len() as u64)
        .sum();
    let outside: u64 = doc.other_tensors.iter().map(|t| t.parameters).sum();
    assert_eq!(
        in_blocks + outside,
        p.total,
        "every tensor is in a block or outside"
    );
    let tensors: usize = doc
        .blocks
        .iter()
        .flat_map(|s| &s.groups)
        .map(|g| g.tensors.len() * g.indices.len())
        .sum::<usize>()
        + doc.other_tensors.len();
    assert_eq!(tensors as u64, doc.model.tensor_count as u64);
    for s in &doc.blocks {
        let count: usize = s.groups.iter().map(|g| g.indices.len()).sum();
        assert_eq!(count as u64, s.count, "{}", s.prefix);
        assert_eq!(s.groups.iter().filter(|g| g.typical).count(), 1);
        for g in &s.groups {
            assert_eq!(
                g.parameters_per_block,
                g.tensors.iter().map(|t| t.parameters).sum::<u64>()
            );
            if g.typical {
                assert!(g.differences.is_empty());
            }
            for t in &g.tensors {
                assert_eq!(t.parameters, t.shape.iter().product::<u64>(), "{}", t.name);
                assert!(!t.role.is_empty() && !t.dtype.is_empty());
            }
            assert!(!g.outline.is_empty());
        }
    }
    assert_eq!(
        doc.blocks.iter().filter(|s| s.main).count(),
        doc.blocks.len().min(1)
    );
    for c in &doc.checks {
        let want = match (c.declared.is_null(), c.observed.is_null()) {
            (false, false) => ["consistent", "contradicted"].contains(&c.status.as_str()),
            (false, true) => c.status == "declared_only",
            (true, false) => c.status == "observed_only",
            (true, true) => false,
        };
        assert!(want, "{c:?}");
        assert_eq!(c.declared.is_null(), c.declared_key.is_none(), "{c:?}");
        assert_eq!(c.observed.is_null(), c.basis.is_none(), "{c:?}");
    }
    let m = &doc.memory;
    assert_eq!(m.weights_stored_bytes, doc.model.bytes);
    assert_eq!(m.weights_16bit_bytes, 2 * p.total);
    assert_eq!(m.weights_8bit_bytes, p.total);
    assert_eq!(m.weights_4bit_bytes, p.total.div_ceil(2));
    assert_ne!(m.kv_cache.is_some(), m.kv_cache_note.is_some());
    if let Some(kv) = &m.kv_cache {
        assert_eq!(
            kv.bytes_per_token,
            kv.layers * kv.elements_per_layer * kv.bytes_per_element
        );
        assert!(kv.sliding_layers <= kv.layers && !kv.formula.is_empty());
        if kv.sliding_layers > 0 {
            assert!(kv.sliding_window.is_some() && kv.sliding_rule.is_some());
        }
    }
    if doc.architecture.family.is_some() {
        assert!(doc.architecture.family_source.is_some());
    }
    assert!(!doc.architecture.family_evidence.is_empty());
}

/// Compares a summary with the generator's `expected-summary.json`.
fn check_expected(name: &str, doc: &SummaryDoc, expected: &Value) {
    let a = &doc.architecture;
    assert_eq!(json!(a.family), expected["family"], "{name}: family");
    assert_eq!(
        json!(a.family_source),
        expected["family_source"],
        "{name}: family source"
    );
    assert_eq!(json!(a.kind), expected["kind"], "{name}: kind");
    let got = a.as_json();
    for (key, want) in expected["architecture"].as_object().unwrap() {
        assert_eq!(
            got.get(key.as_str()),
            Some(want),
            "{name}: architecture.{key}"
        );
    }
    let p = &expected["parameters"];
    assert_eq!(json!(doc.parameters.total), p["total"], "{name}: total");
    assert_eq!(
        json!(doc.parameters.buffers),
        p["buffers"],
        "{name}: buffers"
    );
    assert_eq!(
        json!(doc.parameters.by_component),
        p["by_component"],
        "{name}: by component"
    );
    assert_eq!(json!(doc.parameters.active), p["active"], "{name}: active");
    assert_eq!(
        doc.parameters.active_basis.is_some(),
        !p["active"].is_null(),
        "{name}"
    );

    let want_checks = expected["checks"].as_object().unwrap();
    let got_fields: Vec<&str> = doc.checks.iter().map(|c| c.field.as_str()).collect();
    let mut want_fields: Vec<&str> = want_checks.keys().map(String::as_str).collect();
    let mut sorted = got_fields.clone();
    sorted.sort_unstable();
    want_fields.sort_unstable();
    assert_eq!(sorted, want_fields, "{name}: the set of checks");
    for c in &doc.checks {
        let w = &want_checks[&c.field];
        assert_eq!(c.status, w["status"], "{name}: {}", c.field);
        assert_eq!(c.declared, w["declared"], "{name}: {} declared", c.field);
        assert_eq!(c.observed, w["observed"], "{name}: {} observed", c.field);
    }

    let blocks: Vec<Value> = doc
        .blocks
        .iter()
        .map(|s| {
            json!({"prefix": s.prefix, "count": s.count, "groups": s.groups.iter()
                .map(|g| json!({"pattern": g.pattern, "typical": g.typical})).collect::<Vec<_>>()})
        })
        .collect();
    assert_eq!(json!(blocks), expected["blocks"], "{name}: blocks");

    let m = &expected["memory"];
    let got_m = &doc.memory;
    assert_eq!(
        json!(got_m.weights_stored_bytes),
        m["weights_stored_bytes"],
        "{name}"
    );
    assert_eq!(
        json!(got_m.weights_16bit_bytes),
        m["weights_16bit_bytes"],
        "{name}"
    );
    assert_eq!(
        json!(got_m.weights_8bit_bytes),
        m["weights_8bit_bytes"],
        "{name}"
    );
    assert_eq!(
        json!(got_m.weights_4bit_bytes),
        m["weights_4bit_bytes"],
        "{name}"
    );
    let kv = got_m.kv_cache.as_ref();
    assert_eq!(
        json!(kv.map(|k| k.bytes_per_token)),
        m["kv_cache_bytes_per_token"],
        "{name}: KV per token"
    );
    assert_eq!(
        json!(kv.and_then(|k| k.bytes_at_context)),
        m["kv_cache_bytes_at_context"],
        "{name}: KV at context"
    );
}

const FAMILY_FIXTURES: &[&str] = &[
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "gemma",
    "gemma2",
    "gemma3",
    "phi3",
    "mixtral",
    "qwen2_moe",
    "qwen3_moe",
    "deepseek_v3",
    "gpt2",
    "gpt_neox",
    "falcon",
    "bert",
    "roberta",
    "mpnet",
    "t5",
    "vit",
    "clip",
    "contradicting-config",
    "no-config",
    "odd-config",
    "unrecognised",
];

#[test]
fn every_family_fixture_matches_its_expected_summary() {
    let mut on_disk: Vec<String> = std::fs::read_dir(families())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| families().join(n).is_dir())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FAMILY_FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every fixture folder is tested");
    for name in FAMILY_FIXTURES {
        let dir = families().join(name);
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-summary.json")).unwrap())
                .unwrap();
        let doc = summary_json(&dir);
        check_invariants(&doc);
        check_expected(name, &doc, &expected);
    }
}

#[test]
fn a_contradicting_config_is_flagged_field_by_field() {
    let doc = summary_json(&families().join("contradicting-config"));
    let mut contradicted: Vec<(&str, &Value, &Value)> = doc
        .checks
        .iter()
        .filter(|c| c.status == "contradicted")
        .map(|c| (c.field.as_str(), &c.declared, &c.observed))
        .collect();
    contradicted.sort_by_key(|c| c.0);
    assert_eq!(
        contradicted,
        [
            ("dtype", &json!("F16"), &json!("BF16")),
            ("intermediate_size", &json!(112), &json!(96)),
            ("kv_heads", &json!(8), &json!(2)),
            ("layers", &json!(3), &json!(2)),
            ("tied_embeddings", &json!(true), &json!(false)),
            ("vocab_size", &json!(120), &json!(128)),
        ]
    );
    // Each contradiction is also a note in words, and the weights win in `architecture`.
    assert_eq!(
        doc.notes
            .iter()
            .filter(|n| n.contains("config says"))
            .count(),
        6
    );
    assert_eq!(doc.architecture.kv_heads, Some(2));
    assert_eq!(doc.architecture.layers, Some(2));
}

#[test]
fn existing_fixtures_summarise_correctly() {
    // Sizes from fixtures/generate.py (LLAMA, GPT2, BERT, MIXTRAL).
    let llama = summary_json(&root().join("fixtures/llama-tiny"));
    check_invariants(&llama);
    let a = &llama.architecture;
    assert_eq!(a.family.as_deref(), Some("llama"));
    assert_eq!(
        (
            a.layers,
            a.hidden_size,
            a.attention_heads,
            a.kv_heads,
            a.head_dim
        ),
        (Some(2), Some(64), Some(4), Some(2), Some(16))
    );
    assert_eq!(
        (
            a.intermediate_size,
            a.vocab_size,
            a.tied_embeddings,
            a.context_length
        ),
        (Some(176), Some(256), Some(true), Some(2048))
    );
    assert_eq!(llama.parameters.total, 108_864);
    let tokenizer = llama
        .checks
        .iter()
        .find(|c| c.field == "tokenizer_size")
        .unwrap();
    assert_eq!(
        (&tokenizer.status[..], &tokenizer.declared),
        ("consistent", &json!(256))
    );
    assert!(llama.checks.iter().all(|c| c.status != "contradicted"));

    // The sharded copy summarises identically.
    let sharded = summary_json(&root().join("fixtures/llama-tiny-sharded"));
    assert_eq!(sharded.architecture.as_json(), llama.architecture.as_json());
    assert_eq!(
        sharded.parameters.by_component,
        llama.parameters.by_component
    );

    let gpt2 = summary_json(&root().join("fixtures/gpt2-tiny"));
    check_invariants(&gpt2);
    let a = &gpt2.architecture;
    assert_eq!(a.family.as_deref(), Some("gpt2"));
    assert_eq!(
        (
            a.layers,
            a.hidden_size,
            a.kv_heads,
            a.intermediate_size,
            a.vocab_size
        ),
        (Some(2), Some(48), Some(4), Some(192), Some(300))
    );
    assert_eq!(
        (a.tied_embeddings, a.context_length),
        (Some(true), Some(128))
    );

    let bert = summary_json(&root().join("fixtures/bert-tiny"));
    check_invariants(&bert);
    let a = &bert.architecture;
    assert_eq!(
        (a.family.as_deref(), a.kind.as_deref()),
        (Some("bert"), Some("encoder"))
    );
    assert_eq!(
        (
            a.layers,
            a.hidden_size,
            a.attention_heads,
            a.kv_heads,
            a.head_dim
        ),
        (Some(2), Some(32), Some(4), Some(4), Some(8))
    );
    assert_eq!(
        (a.intermediate_size, a.vocab_size, a.context_length),
        (Some(64), Some(128), Some(64))
    );
    // No MLM head: nothing to tie. The position_ids buffer is "other".
    assert_eq!(a.tied_embeddings, None);
    assert_eq!(bert.parameters.by_component.get("other"), Some(&64));
    // `position_ids` [1, 64] I64: the only buffer, counted in the total and apart.
    assert_eq!(bert.parameters.buffers, 64);
    assert_eq!(
        summary_json(&root().join("fixtures/llama-tiny"))
            .parameters
            .buffers,
        0
    );
    assert!(bert.memory.kv_cache.is_none());

    let mixtral = summary_json(&root().join("fixtures/mixtral-tiny"));
    check_invariants(&mixtral);
    let a = &mixtral.architecture;
    assert_eq!(
        (a.experts, a.experts_per_token, a.intermediate_size),
        (Some(4), Some(2), Some(64))
    );
    let per_expert = 3 * 64 * 32;
    assert_eq!(
        mixtral.parameters.active,
        Some(mixtral.parameters.total - 2 * (4 - 2) * per_expert)
    );
}

#[test]
fn no_subcommand_prints_the_summary() {
    for path in ["fixtures/families/qwen3", "fixtures/bert-tiny"] {
        let plain = glassbox(&[path]);
        assert_eq!(plain.status.code(), Some(0));
        assert_eq!(stdout(&plain), stdout(&glassbox(&["summary", path])));
        let json = glassbox(&[path, "--format", "json"]);
        assert_eq!(
            stdout(&json),
            stdout(&glassbox(&["summary", path, "--format", "json"]))
        );
    }
    let out = glassbox(&["summary", "/definitely/not/here"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: /definitely/not/here: no such file or folder\n"
    );
}

const CONTRADICTING_TEXT: &str = "\
model       fixtures/families/contradicting-config
family      llama, decoder, grouped-query attention
evidence    config.json model_type \"llama\"; tensor names agree (llama names, shared with mistral, gemma)
class       LlamaForCausalLM
parameters  32,928 (32.9K)
storage     BF16, 64.3 KiB in 1 file

field              declared  observed  status         how observed / declared
family                llama     llama  consistent     tensor names (.self_attn.q_proj. + .mlp.gate_proj.)
layers                    3         2  CONTRADICTED   distinct block indices in model.layers
hidden size              32        32  consistent     model.embed_tokens.weight columns
attention heads           4         -  declared only  config `num_attention_heads`
KV heads                  8         2  CONTRADICTED   model.layers.*.self_attn.k_proj.weight rows 16 / declared head_dim 8
head dim                  8         -  declared only  config `head_dim`
attention width          32        32  consistent     model.layers.*.self_attn.q_proj.weight rows
intermediate size       112        96  CONTRADICTED   model.layers.*.mlp.gate_proj.weight rows
vocab size              120       128  CONTRADICTED   model.embed_tokens.weight rows
tied embeddings         yes        no  CONTRADICTED   lm_head.weight is stored
context length        1,024         -  declared only  config `max_position_embeddings`
RoPE theta           10,000         -  declared only  config `rope_theta`
dtype                   F16      BF16  CONTRADICTED   100.0% of parameters

component  parameters   share
embedding       4,096   12.4%
attention       6,144   18.7%
mlp            18,432   56.0%
norms             160    0.5%
head            4,096   12.4%
total          32,928  100.0%

blocks
  model.layers.{0..1} x2  (12,352 parameters each)
    self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, 2 norms
outside blocks
  model.embed_tokens.weight  [128, 32]  BF16   token embedding
  model.norm.weight          [32]       BF16   norm
  lm_head.weight             [128, 32]  BF16   LM head

memory
  weights   64.3 KiB stored; 64.3 KiB at 16 bits, 32.2 KiB at 8 bits, 16.1 KiB at 4 bits
  KV cache  128 B per token = 2 (k, v) × 2 layers × kv width 16 × 2 B
            128 KiB for one sequence of 1,024 tokens

notes
  - layers: config says 3 (`num_hidden_layers`), the weights show 2 (distinct block indices in model.layers)
  - kv_heads: config says 8 (`num_key_value_heads`), the weights show 2 (model.layers.*.self_attn.k_proj.weight rows 16 / declared head_dim 8)
  - intermediate_size: config says 112 (`intermediate_size`), the weights show 96 (model.layers.*.mlp.gate_proj.weight rows)
  - vocab_size: config says 120 (`vocab_size`), the weights show 128 (model.embed_tokens.weight rows)
  - tied_embeddings: config says yes (`tie_word_embeddings`), the weights show no (lm_head.weight is stored)
  - dtype: config says F16 (`torch_dtype`), the weights show BF16 (100.0% of parameters)
";

const QWEN3_MOE_TEXT: &str = "\
model       fixtures/families/qwen3_moe
family      qwen3_moe, decoder, mixture of experts, grouped-query attention
evidence    config.json model_type \"qwen3_moe\"; tensor names agree (qwen3_moe names)
class       Qwen3MoeForCausalLM
parameters  41,280 (41.3K), 32,064 (32.1K) active per token
storage     BF16, 80.6 KiB in 1 file

field                      declared   observed  status         how observed / declared
family                    qwen3_moe  qwen3_moe  consistent     tensor names (.self_attn.q_norm. + .mlp.experts.)
";

#[test]
fn text_summary_snapshots() {
    let out = glassbox(&["summary", "fixtures/families/contradicting-config"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), CONTRADICTING_TEXT);

    let text = stdout(&glassbox(&["summary", "fixtures/families/qwen3_moe"]));
    let head: String = text.lines().take(9).map(|l| format!("{l}\n")).collect();
    assert_eq!(head, QWEN3_MOE_TEXT);
    for line in [
        "  model.layers.0 x1  (10,848 parameters)",
        "    self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm, mlp.{gate,up,down}_proj, 2 norms",
        "    differs: has mlp.{gate,up,down}_proj",
        "    differs: lacks mlp.gate, mlp.experts.{0..7}.{gate,up,down}_proj",
        "  model.layers.{1..2} x2  (12,640 parameters each)",
        "    self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm, mlp.gate, mlp.experts.{0..7}.{gate,up,down}_proj, 2 norms",
        "  active: total − 2 MoE layers × (8 experts − 2 per token) × 768 parameters per expert",
        "head dim                         16         16  consistent     model.layers.*.self_attn.q_norm.weight length",
        "experts                           8          8  consistent     distinct expert indices in model.layers.*",
        "experts per token                 2          -  declared only  config `num_experts_per_tok`",
        "active per token      32,064   77.7%",
        "            192 KiB for one sequence of 512 tokens",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Aligned columns: every line of the checks table has its status at the same column.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("field"))
        .take_while(|l| !l.is_empty())
        .collect();
    let col = table[0].find("status").unwrap();
    for l in &table[1..] {
        let s = &l[col..];
        assert!(
            [
                "consistent",
                "declared only",
                "observed only",
                "CONTRADICTED"
            ]
            .iter()
            .any(|w| s.starts_with(w)),
            "{l}"
        );
    }
}

#[test]
fn markdown_summary_is_ready_for_a_model_card() {
    let out = glassbox(&[
        "summary",
        "fixtures/families/gemma3",
        "--format",
        "markdown",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let md = stdout(&out);
    assert!(
        md.starts_with(
            "## Architecture of `gemma3`\n\n- **Family:** gemma3, decoder, multi-query attention\n"
        ),
        "{md}"
    );
    for needle in [
        "\n### Hyperparameters: declared (config.json) and observed (weights)\n\n| field | declared | observed | status | how observed / declared |\n|---|---:|---:|---|---|\n",
        "| head dim | 8 | 8 | consistent | model.layers.*.self_attn.q_norm.weight length |\n",
        "| sliding window | 16 | - | declared only | config sliding_window |\n",
        "\n### Parameters\n\n| component | parameters | share |\n",
        "- `model.layers.{0..5}` ×6 (5,488 parameters each): `self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm, mlp.{gate,up,down}_proj, 4 norms`\n",
        "5 of 6 layers keep a sliding window of 16 tokens",
        "*Generated by glassbox from the weight headers and config.json.*\n",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    // Contradictions stand out in markdown too.
    let md = stdout(&glassbox(&[
        "summary",
        "fixtures/families/contradicting-config",
        "--format",
        "markdown",
    ]));
    assert_eq!(md.matches("**contradicted**").count(), 6);
}

// ---- the library on real checkpoints' tensor tables ----

/// A tensor table built like a real checkpoint's header (offsets are irrelevant to inference).
#[derive(Default)]
struct Table(Vec<TensorInfo>);

impl Table {
    fn add(&mut self, name: impl Into<String>, shape: &[u64], dtype: DType) {
        let count: u64 = shape.iter().product();
        self.0.push(TensorInfo {
            name: name.into(),
            dtype,
            shape: shape.to_vec(),
            file: 0,
            offset: 0,
            bytes: count * dtype.bits_per_element() as u64 / 8,
        });
    }

    fn total(&self) -> u64 {
        self.0.iter().map(TensorInfo::parameters).sum()
    }
}

fn field(arch: &Architecture, name: &str) -> Status {
    arch.check(name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .status
}

fn component(arch: &Architecture, c: Component) -> u64 {
    arch.parameters
        .by_component
        .iter()
        .find(|(k, _)| *k == c)
        .map_or(0, |(_, n)| *n)
}

#[allow(clippy::too_many_arguments)]
fn llama_style(
    t: &mut Table,
    layers: u64,
    d: u64,
    q: u64,
    kv: u64,
    f: u64,
    qk_norm: Option<u64>,
    dtype: DType,
) {
    for i in 0..layers {
        let p = format!("model.layers.{i}");
        t.add(format!("{p}.self_attn.q_proj.weight"), &[q, d], dtype);
        t.add(format!("{p}.self_attn.k_proj.weight"), &[kv, d], dtype);
        t.add(format!("{p}.self_attn.v_proj.weight"), &[kv, d], dtype);
        t.add(format!("{p}.self_attn.o_proj.weight"), &[d, q], dtype);
        if let Some(dh) = qk_norm {
            t.add(format!("{p}.self_attn.q_norm.weight"), &[dh], dtype);
            t.add(format!("{p}.self_attn.k_norm.weight"), &[dh], dtype);
        }
        t.add(format!("{p}.mlp.gate_proj.weight"), &[f, d], dtype);
        t.add(format!("{p}.mlp.up_proj.weight"), &[f, d], dtype);
        t.add(format!("{p}.mlp.down_proj.weight"), &[d, f], dtype);
        t.add(format!("{p}.input_layernorm.weight"), &[d], dtype);
        t.add(format!("{p}.post_attention_layernorm.weight"), &[d], dtype);
    }
}

#[test]
fn llama_3_2_1b() {
    let mut t = Table::default();
    t.add("model.embed_tokens.weight", &[128_256, 2048], DType::BF16);
    llama_style(&mut t, 16, 2048, 2048, 512, 8192, None, DType::BF16);
    t.add("model.norm.weight", &[2048], DType::BF16);
    let config = json!({
        "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
        "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
        "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
        "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
        "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
    });
    let arch = infer_from_parts(&t.0, Some(&config), Some(128_256));
    let h = &arch.hyper;
    assert_eq!(arch.family.as_deref(), Some("llama"));
    assert_eq!(
        (
            h.layers,
            h.hidden_size,
            h.attention_heads,
            h.kv_heads,
            h.head_dim
        ),
        (Some(16), Some(2048), Some(32), Some(8), Some(64))
    );
    assert_eq!(
        (
            h.intermediate_size,
            h.vocab_size,
            h.tied_embeddings,
            h.context_length
        ),
        (Some(8192), Some(128_256), Some(true), Some(131_072))
    );
    assert_eq!(h.attention, Some("gqa"));
    assert_eq!(
        arch.parameters.total, 1_235_814_400,
        "Llama 3.2 1B's published count"
    );
    assert!(arch.contradictions().next().is_none());
    assert_eq!(field(&arch, "kv_heads"), Status::Consistent);
    assert_eq!(field(&arch, "attention_heads"), Status::DeclaredOnly);
    // 2 × 16 layers × 8 KV heads × 64 × 2 bytes = 32 KiB per token; 4 GiB at 131,072 tokens.
    let kv = arch.memory.kv_cache.as_ref().unwrap();
    assert_eq!(kv.bytes_per_token, 32_768);
    assert_eq!(kv.bytes_at_context, Some(4 << 30));
    assert_eq!(arch.stacks[0].groups.len(), 1);
    assert_eq!(arch.stacks[0].groups[0].pattern, "model.layers.{0..15}");
}

#[test]
fn bert_base_uncased() {
    // BertForPreTraining as stored, with the legacy LayerNorm.gamma/beta names; the MLM decoder
    // is tied to the word embeddings.
    let mut t = Table::default();
    let f = DType::F32;
    let (d, ff, v) = (768, 3072, 30_522);
    t.add("bert.embeddings.word_embeddings.weight", &[v, d], f);
    t.add("bert.embeddings.position_embeddings.weight", &[512, d], f);
    t.add("bert.embeddings.token_type_embeddings.weight", &[2, d], f);
    t.add("bert.embeddings.LayerNorm.gamma", &[d], f);
    t.add("bert.embeddings.LayerNorm.beta", &[d], f);
    for i in 0..12 {
        let p = format!("bert.encoder.layer.{i}");
        for (m, o, n) in [
            ("attention.self.query", d, d),
            ("attention.self.key", d, d),
            ("attention.self.value", d, d),
            ("attention.output.dense", d, d),
            ("intermediate.dense", ff, d),
            ("output.dense", d, ff),
        ] {
            t.add(format!("{p}.{m}.weight"), &[o, n], f);
            t.add(format!("{p}.{m}.bias"), &[o], f);
        }
        for m in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.add(format!("{p}.{m}.gamma"), &[d], f);
            t.add(format!("{p}.{m}.beta"), &[d], f);
        }
    }
    t.add("bert.pooler.dense.weight", &[d, d], f);
    t.add("bert.pooler.dense.bias", &[d], f);
    let bert_model = t.total();
    t.add("cls.predictions.bias", &[v], f);
    t.add("cls.predictions.transform.dense.weight", &[d, d], f);
    t.add("cls.predictions.transform.dense.bias", &[d], f);
    t.add("cls.predictions.transform.LayerNorm.gamma", &[d], f);
    t.add("cls.predictions.transform.LayerNorm.beta", &[d], f);
    t.add("cls.seq_relationship.weight", &[2, d], f);
    t.add("cls.seq_relationship.bias", &[2], f);
    let config = json!({
        "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
        "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
        "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522
    });
    let arch = infer_from_parts(&t.0, Some(&config), None);
    let h = &arch.hyper;
    assert_eq!(bert_model, 109_482_240, "BertModel's published count");
    assert_eq!(arch.family.as_deref(), Some("bert"));
    assert_eq!(
        (
            h.layers,
            h.hidden_size,
            h.attention_heads,
            h.kv_heads,
            h.head_dim
        ),
        (Some(12), Some(768), Some(12), Some(12), Some(64))
    );
    assert_eq!(
        (
            h.intermediate_size,
            h.vocab_size,
            h.tied_embeddings,
            h.context_length
        ),
        (Some(3072), Some(30_522), Some(true), Some(512))
    );
    assert_eq!(h.attention, Some("mha"));
    assert!(arch.contradictions().next().is_none());
    assert_eq!(field(&arch, "context_length"), Status::Consistent);
    assert_eq!(field(&arch, "type_vocab_size"), Status::Consistent);
    assert_eq!(component(&arch, Component::Embedding), 23_835_648);
    assert!(arch.memory.kv_cache.is_none());
    assert_eq!(
        arch.stacks[0].groups[0].outline(),
        "attention.self.{query,key,value}, attention.output.dense, intermediate.dense, output.dense, 2 norms"
    );
}

#[test]
fn qwen3_0_6b_reveals_head_dim_through_its_qk_norms() {
    let mut t = Table::default();
    t.add("model.embed_tokens.weight", &[151_936, 1024], DType::BF16);
    llama_style(&mut t, 28, 1024, 2048, 1024, 3072, Some(128), DType::BF16);
    t.add("model.norm.weight", &[1024], DType::BF16);
    // A config that omits heads: the weights alone give 16 heads of 128 and 8 KV heads.
    let config = json!({"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"],
                        "hidden_size": 1024, "tie_word_embeddings": true});
    let arch = infer_from_parts(&t.0, Some(&config), None);
    let h = &arch.hyper;
    assert_eq!(arch.parameters.total, 596_049_920, "Qwen3-0.6B's count");
    assert_eq!(
        (h.attention_heads, h.kv_heads, h.head_dim),
        (Some(16), Some(8), Some(128))
    );
    assert_eq!(field(&arch, "attention_heads"), Status::ObservedOnly);
    assert_eq!(field(&arch, "head_dim"), Status::ObservedOnly);
    assert_eq!(field(&arch, "kv_heads"), Status::ObservedOnly);
}

#[test]
fn mixtral_8x7b_active_parameters() {
    let (d, f, e, layers) = (4096, 14_336, 8, 32);
    let mut t = Table::default();
    let b = DType::BF16;
    t.add("model.embed_tokens.weight", &[32_000, d], b);
    for i in 0..layers {
        let p = format!("model.layers.{i}");
        t.add(format!("{p}.self_attn.q_proj.weight"), &[d, d], b);
        t.add(format!("{p}.self_attn.k_proj.weight"), &[1024, d], b);
        t.add(format!("{p}.self_attn.v_proj.weight"), &[1024, d], b);
        t.add(format!("{p}.self_attn.o_proj.weight"), &[d, d], b);
        t.add(format!("{p}.block_sparse_moe.gate.weight"), &[e, d], b);
        for x in 0..e {
            let q = format!("{p}.block_sparse_moe.experts.{x}");
            t.add(format!("{q}.w1.weight"), &[f, d], b);
            t.add(format!("{q}.w2.weight"), &[d, f], b);
            t.add(format!("{q}.w3.weight"), &[f, d], b);
        }
        t.add(format!("{p}.input_layernorm.weight"), &[d], b);
        t.add(format!("{p}.post_attention_layernorm.weight"), &[d], b);
    }
    t.add("model.norm.weight", &[d], b);
    t.add("lm_head.weight", &[32_000, d], b);
    let config = json!({
        "architectures": ["MixtralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
        "max_position_embeddings": 32768, "model_type": "mixtral", "num_attention_heads": 32,
        "num_experts_per_tok": 2, "num_hidden_layers": 32, "num_key_value_heads": 8,
        "num_local_experts": 8, "rope_theta": 1e6, "sliding_window": null,
        "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000
    });
    let arch = infer_from_parts(&t.0, Some(&config), None);
    assert_eq!(
        arch.parameters.total, 46_702_792_704,
        "Mixtral 8x7B's published count"
    );
    let per_expert = 3 * f * d;
    assert_eq!(
        arch.parameters.active,
        Some(46_702_792_704 - layers * (e - 2) * per_expert)
    );
    assert_eq!(arch.hyper.experts, Some(8));
    assert_eq!(field(&arch, "experts_per_token"), Status::DeclaredOnly);
    assert!(arch.contradictions().next().is_none());
    assert_eq!(
        arch.stacks[0].groups[0].outline(),
        "self_attn.{q,k,v,o}_proj, block_sparse_moe.gate, block_sparse_moe.experts.{0..7}.{w1,w3,w2}, 2 norms"
    );
}

#[test]
fn deepseek_v3_with_its_multi_token_prediction_layer() {
    // 61 decoder layers (3 dense), MLA attention, 256 routed + 1 shared expert, and the MTP
    // module stored as layer 61. Real shapes; BF16 as in the upcast community copies.
    let (d, h, q_lora, kv_lora, nope, rope, v) = (7168, 128, 1536, 512, 128, 64, 128);
    let (f, fe, e, vocab) = (18_432, 2048, 256, 129_280);
    let b = DType::BF16;
    let mut t = Table::default();
    t.add("model.embed_tokens.weight", &[vocab, d], b);
    let layer = |t: &mut Table, i: u64| {
        let p = format!("model.layers.{i}");
        let a = format!("{p}.self_attn");
        t.add(format!("{a}.q_a_proj.weight"), &[q_lora, d], b);
        t.add(format!("{a}.q_a_layernorm.weight"), &[q_lora], b);
        t.add(
            format!("{a}.q_b_proj.weight"),
            &[h * (nope + rope), q_lora],
            b,
        );
        t.add(
            format!("{a}.kv_a_proj_with_mqa.weight"),
            &[kv_lora + rope, d],
            b,
        );
        t.add(format!("{a}.kv_a_layernorm.weight"), &[kv_lora], b);
        t.add(
            format!("{a}.kv_b_proj.weight"),
            &[h * (nope + v), kv_lora],
            b,
        );
        t.add(format!("{a}.o_proj.weight"), &[d, h * v], b);
        if i < 3 {
            t.add(format!("{p}.mlp.gate_proj.weight"), &[f, d], b);
            t.add(format!("{p}.mlp.up_proj.weight"), &[f, d], b);
            t.add(format!("{p}.mlp.down_proj.weight"), &[d, f], b);
        } else {
            t.add(format!("{p}.mlp.gate.weight"), &[e, d], b);
            t.add(
                format!("{p}.mlp.gate.e_score_correction_bias"),
                &[e],
                DType::F32,
            );
            for x in 0..e {
                let q = format!("{p}.mlp.experts.{x}");
                t.add(format!("{q}.gate_proj.weight"), &[fe, d], b);
                t.add(format!("{q}.up_proj.weight"), &[fe, d], b);
                t.add(format!("{q}.down_proj.weight"), &[d, fe], b);
            }
            t.add(
                format!("{p}.mlp.shared_experts.gate_proj.weight"),
                &[fe, d],
                b,
            );
            t.add(
                format!("{p}.mlp.shared_experts.up_proj.weight"),
                &[fe, d],
                b,
            );
            t.add(
                format!("{p}.mlp.shared_experts.down_proj.weight"),
                &[d, fe],
                b,
            );
        }
        t.add(format!("{p}.input_layernorm.weight"), &[d], b);
        t.add(format!("{p}.post_attention_layernorm.weight"), &[d], b);
    };
    for i in 0..62 {
        layer(&mut t, i);
    }
    let mtp_start = t.0.len();
    t.add("model.layers.61.embed_tokens.weight", &[vocab, d], b);
    t.add("model.layers.61.enorm.weight", &[d], b);
    t.add("model.layers.61.hnorm.weight", &[d], b);
    t.add("model.layers.61.eh_proj.weight", &[d, 2 * d], b);
    t.add("model.layers.61.shared_head.norm.weight", &[d], b);
    t.add("model.layers.61.shared_head.head.weight", &[vocab, d], b);
    t.add("model.norm.weight", &[d], b);
    t.add("lm_head.weight", &[vocab, d], b);
    let config = json!({
        "architectures": ["DeepseekV3ForCausalLM"], "first_k_dense_replace": 3,
        "hidden_size": 7168, "intermediate_size": 18432, "kv_lora_rank": 512,
        "max_position_embeddings": 163840, "model_type": "deepseek_v3",
        "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
        "n_shared_experts": 1, "norm_topk_prob": true, "num_attention_heads": 128,
        "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 128,
        "num_nextn_predict_layers": 1, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
        "qk_rope_head_dim": 64, "rope_theta": 10000, "tie_word_embeddings": false,
        "topk_group": 4, "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 129280
    });
    let arch = infer_from_parts(&t.0, Some(&config), None);
    let hy = &arch.hyper;
    assert_eq!(arch.family.as_deref(), Some("deepseek_v3"));
    assert_eq!(
        (hy.layers, hy.attention_heads, hy.head_dim, hy.attention),
        (Some(61), Some(128), Some(192), Some("mla"))
    );
    assert_eq!(
        (hy.experts, hy.experts_per_token, hy.shared_experts),
        (Some(256), Some(8), Some(1))
    );
    assert!(
        arch.contradictions().next().is_none(),
        "{:?}",
        arch.contradictions().collect::<Vec<_>>()
    );
    assert_eq!(field(&arch, "moe_layers"), Status::Consistent);
    // The MTP module is its own component and is left out of the active count.
    let layer_61: u64 = t.0[..mtp_start]
        .iter()
        .filter(|x| x.name.starts_with("model.layers.61."))
        .map(TensorInfo::parameters)
        .sum::<u64>()
        + t.0[mtp_start..mtp_start + 6]
            .iter()
            .map(TensorInfo::parameters)
            .sum::<u64>();
    assert_eq!(component(&arch, Component::Mtp), layer_61);
    let total = arch.parameters.total;
    let main = total - layer_61;
    assert_eq!(main, 671_026_419_200, "DeepSeek-V3's 671B main model");
    let inactive = 58 * (e - 8) * 3 * fe * d;
    assert_eq!(arch.parameters.active, Some(main - inactive));
    // MLA caches (512 + 64) values per layer and token.
    let kv = arch.memory.kv_cache.as_ref().unwrap();
    assert_eq!(kv.bytes_per_token, 61 * (512 + 64) * 2);
    let mtp = arch
        .notes
        .iter()
        .find(|n| n.code == "mtp_blocks")
        .expect("an MTP note");
    assert!(mtp.message.contains("multi-token-prediction"));
    let evidence: BTreeMap<&str, &Value> =
        mtp.evidence.iter().map(|e| (e.field, &e.value)).collect();
    assert_eq!(evidence["blocks"], &json!("61"));
    assert_eq!(evidence["count"], &json!(1));
}

#[test]
fn odd_configs_never_panic() {
    use proptest::prelude::*;
    let mut t = Table::default();
    t.add("model.embed_tokens.weight", &[64, 16], DType::BF16);
    llama_style(&mut t, 2, 16, 16, 8, 32, None, DType::BF16);
    let keys = [
        "model_type",
        "architectures",
        "num_hidden_layers",
        "hidden_size",
        "num_attention_heads",
        "num_key_value_heads",
        "head_dim",
        "intermediate_size",
        "vocab_size",
        "tie_word_embeddings",
        "max_position_embeddings",
        "sliding_window",
        "layer_types",
        "mlp_only_layers",
        "decoder_sparse_step",
        "num_experts",
        "num_experts_per_tok",
        "rope_parameters",
        "text_config",
        "torch_dtype",
        "first_k_dense_replace",
        "sliding_window_pattern",
    ];
    let value = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<u64>().prop_map(|n| json!(n)),
        (0u64..64).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_]{0,12}".prop_map(|s| json!(s)),
        Just(json!(["sliding_attention", "full_attention", 3])),
        Just(json!({"rope_theta": "x", "full_attention": {"rope_theta": 1e300}})),
        Just(json!({"hidden_size": 16, "num_hidden_layers": "two"})),
        Just(json!([0, 1, -1])),
    ];
    let config = proptest::collection::btree_map(0..keys.len(), value, 0..keys.len());
    proptest!(ProptestConfig::with_cases(300), |(entries in config)| {
        let map: serde_json::Map<String, Value> = entries
            .into_iter()
            .map(|(k, v)| (keys[k].to_owned(), v))
            .collect();
        let config = Value::Object(map);
        let arch = infer_from_parts(&t.0, Some(&config), Some(u64::MAX));
        prop_assert_eq!(arch.parameters.total, t.total());
        // The weights hold two blocks: whatever the config says, two layers are observed.
        prop_assert_eq!(
            arch.check("layers").and_then(|c| c.observed.clone()),
            Some(glassbox::arch::Value::Count(2))
        );
        prop_assert_eq!(arch.hyper.layers, Some(2));
        let _ = serde_json::to_string(&arch.checks).unwrap();
    });
    // Not an object at all.
    for config in [json!([1, 2]), json!("llama"), json!(null), json!(3)] {
        let arch = infer_from_parts(&t.0, Some(&config), None);
        assert_eq!(arch.family.as_deref(), Some("llama"));
    }
    // No tensors at all.
    let arch = infer_from_parts(&[], None, None);
    assert_eq!(arch.family, None);
    assert_eq!(arch.parameters.total, 0);
}

#[test]
fn family_evidence_when_config_and_names_disagree_or_are_unknown() {
    let mut t = Table::default();
    t.add("model.embed_tokens.weight", &[64, 16], DType::BF16);
    llama_style(&mut t, 2, 16, 16, 8, 32, None, DType::BF16);

    // A model_type glassbox has no rules for: reported as declared, never replaced by a guess;
    // roles still come from the names.
    let config = json!({"model_type": "olmo2", "num_hidden_layers": 2});
    let arch = infer_from_parts(&t.0, Some(&config), None);
    assert_eq!(arch.family.as_deref(), Some("olmo2"));
    assert!(!arch.family_known);
    assert_eq!(field(&arch, "family"), Status::DeclaredOnly);
    assert_eq!(
        arch.family_evidence.declared,
        DeclaredFamily::ModelType {
            model_type: "olmo2".into(),
            known: false
        }
    );
    assert!(matches!(
        &arch.family_evidence.names,
        NameEvidence::Resemble(s) if s.family == "llama"
    ));
    assert!(
        arch.family_evidence.to_string().contains("no rules for"),
        "{}",
        arch.family_evidence
    );
    assert_eq!(field(&arch, "layers"), Status::Consistent);
    assert_eq!(component(&arch, Component::Mlp), 2 * 3 * 32 * 16);

    // A config naming another family: a contradiction, not a silent choice.
    let arch = infer_from_parts(&t.0, Some(&json!({"model_type": "bert"})), None);
    assert_eq!(field(&arch, "family"), Status::Contradicted);
    assert!(arch.family_evidence.to_string().contains("contradicted"));
    assert!(matches!(
        &arch.family_evidence.names,
        NameEvidence::Contradict(s) if s.family == "llama"
    ));
    assert!(
        arch.notes[0]
            .message
            .starts_with("family: config says bert")
    );
    assert_eq!(arch.notes[0].code, "contradicted");
    assert_eq!(
        arch.notes[0].subject,
        glassbox::finding::Subject::Key("model_type".into())
    );

    // `architectures` alone names the family; mistral shares llama's names.
    let config = json!({"architectures": ["MistralForCausalLM"]});
    let arch = infer_from_parts(&t.0, Some(&config), None);
    assert_eq!(arch.family.as_deref(), Some("mistral"));
    assert_eq!(field(&arch, "family"), Status::Consistent);

    // A quantised checkpoint's torch_dtype is its compute dtype: not compared.
    let config = json!({"model_type": "llama", "torch_dtype": "float16",
                        "quantization_config": {"quant_method": "fp8"}});
    let arch = infer_from_parts(&t.0, Some(&config), None);
    assert_eq!(field(&arch, "dtype"), Status::ObservedOnly);
    let quantized = arch
        .notes
        .iter()
        .find(|n| n.code == "quantized_compute_dtype")
        .expect("a note on the compute dtype");
    assert!(quantized.message.contains("fp8"), "{}", quantized.message);
}

#[test]
fn gguf_summaries_read_strictly_with_their_metadata() {
    let dir = root().join("fixtures").join("gguf");
    for rel in [
        "llama-tiny.gguf",
        "arch/mixtral.gguf",
        "arch/contradicting.gguf",
    ] {
        let path = dir.join(rel);
        let out = glassbox(&["summary", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", stderr(&out));
        let doc: SummaryDoc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{rel}: strict summary document: {e}"));
        assert_eq!(doc.model.format, "gguf");
        let metadata = doc.metadata.expect("a GGUF summary has a metadata object");
        assert!(metadata.gguf_version >= 2, "{rel}");
        assert_eq!(metadata.bits_per_weight, doc.model.bits_per_weight, "{rel}");
        assert_eq!(
            doc.architecture.family_source.as_deref(),
            Some("gguf_metadata")
        );
        // The declared side of every check is named by its GGUF key.
        for c in doc.checks.iter().filter(|c| c.field != "family") {
            if let Some(key) = &c.declared_key {
                assert!(
                    key.contains('.') && !key.contains("config"),
                    "{rel}: {} declared by `{key}`",
                    c.field
                );
            }
        }
    }
}

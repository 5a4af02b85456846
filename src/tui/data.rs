//! The one place the TUI reads the library: [`ModelView::build`] turns an opened [`Model`] and its
//! [`Architecture`] into the plain view data every screen draws from (names, sizes, checks,
//! components, metadata, the layer × role map, the disclosure items).
//!
//! Keeping this adapter alone means the rest of `tui` depends on these types only: when the
//! library's report types change, this file is repointed and the screens stay as they are. It runs
//! once, before the first frame, and reads headers only (never tensor data).

use crate::arch::gguf_names::gguf_to_hf_name;
use crate::arch::{Architecture, Role, Status};
use crate::finding::Finding;
use crate::model::sort::natural_cmp;
use crate::model::{Format, Model};
pub use crate::report::metadata::MetaEntry;
use crate::text::{human_bytes, thousands};

/// How a declared value compares with the observed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Consistent,
    Contradicted,
    DeclaredOnly,
    ObservedOnly,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Consistent => "consistent",
            CheckStatus::Contradicted => "CONTRADICTED",
            CheckStatus::DeclaredOnly => "declared only",
            CheckStatus::ObservedOnly => "observed only",
        }
    }
}

/// One declared-vs-observed check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckView {
    pub field: String,
    pub declared: String,
    pub observed: String,
    pub status: CheckStatus,
}

/// One tensor, as the screens show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView {
    pub name: String,
    pub dtype: String,
    /// Row-major, outermost first.
    pub shape: Vec<u64>,
    pub parameters: u64,
    pub bytes: u64,
    pub file: String,
    pub offset: u64,
    /// For a GGUF tensor: its Hugging Face name, where the mapping is known.
    pub hf_name: Option<String>,
    /// The block (layer) index, for members of the main stack of repeated blocks.
    pub layer: Option<u64>,
    /// Index into [`LayerMap::columns`], for members of the main stack.
    pub column: Option<usize>,
}

/// The main stack of repeated blocks, as a layer × column grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerMap {
    /// `model.layers`.
    pub prefix: String,
    /// Block indices, ascending.
    pub layers: Vec<u64>,
    /// Column labels (`q`, `k`, `gate`, `input_layernorm`, …), in block reading order.
    pub columns: Vec<String>,
}

/// Whether the files show an item of the transparency list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosed {
    /// Read from the files (weights, config, tokenizer) themselves.
    Shown,
    /// Only stated (a card, a licence file): present, but a claim.
    Declared,
    /// Not in the files.
    Missing,
}

/// One row of the open-versus-closed comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    pub item: &'static str,
    pub status: Disclosed,
    /// What the files say.
    pub found: String,
    /// What a closed model behind an API shows for the same item.
    pub closed: &'static str,
}

/// Everything the TUI shows that does not depend on tensor statistics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelView {
    /// The model's name: GGUF `general.name`, else the folder or file name.
    pub name: String,
    /// `safetensors` or `GGUF v3`.
    pub format: String,
    /// `llama, decoder, grouped-query attention`, or `unrecognised`.
    pub family: String,
    pub parameters: u64,
    /// `BF16`, or the mix (`Q4_K 80.1%, F32 19.9%`).
    pub precision: String,
    pub files: Vec<(String, u64)>,
    pub tensors: Vec<TensorView>,
    /// Labelled architecture facts (layers, hidden size, heads …).
    pub facts: Vec<(String, String)>,
    pub checks: Vec<CheckView>,
    /// Parameters by component, in the library's component order.
    pub components: Vec<(String, u64)>,
    /// Parameters used per token (mixture of experts), and how that was computed.
    pub active: Option<(u64, String)>,
    pub memory: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub metadata: Vec<MetaEntry>,
    pub layers: LayerMap,
    pub disclosures: Vec<Disclosure>,
    /// What opening the files noticed (gaps, trailing bytes, an invalid config).
    pub open_findings: Vec<Finding>,
}

impl ModelView {
    /// The view of an opened model.
    pub fn build(model: &Model, arch: &Architecture) -> ModelView {
        let gguf_arch = model
            .gguf
            .as_deref()
            .and_then(|g| g.architecture())
            .map(str::to_owned);
        let layers = layer_map(model, arch);
        let mut tensors: Vec<TensorView> = model
            .tensors
            .iter()
            .map(|t| TensorView {
                name: t.name.clone(),
                dtype: t.dtype.name().to_owned(),
                shape: t.shape.clone(),
                parameters: t.parameters(),
                bytes: t.bytes,
                file: model.files[t.file].name.clone(),
                offset: t.offset,
                hf_name: gguf_arch
                    .as_deref()
                    .and_then(|a| gguf_to_hf_name(a, &t.name)),
                layer: None,
                column: None,
            })
            .collect();
        if let Some(stack) = arch.stacks.first() {
            for (&layer, members) in &stack.members {
                for &i in members {
                    let key = column_key(&model.tensors[i].name, &stack.prefix, arch.roles[i].role);
                    tensors[i].layer = Some(layer);
                    tensors[i].column = layers.columns.iter().position(|c| *c == key);
                }
            }
        }
        ModelView {
            name: model_name(model),
            format: match (&model.format, model.gguf.as_deref()) {
                (Format::Gguf, Some(g)) => format!("GGUF v{}", g.version),
                (f, _) => f.name().to_owned(),
            },
            family: family_words(arch),
            parameters: model.parameter_count(),
            precision: precision(model),
            files: model
                .files
                .iter()
                .map(|f| (f.name.clone(), f.len))
                .collect(),
            tensors,
            facts: facts(arch),
            checks: arch
                .checks
                .iter()
                .map(|c| CheckView {
                    field: c.field.replace('_', " "),
                    declared: c
                        .declared
                        .as_ref()
                        .map(crate::arch::value_text)
                        .unwrap_or_else(|| "-".into()),
                    observed: c
                        .observed
                        .as_ref()
                        .map(crate::arch::value_text)
                        .unwrap_or_else(|| "-".into()),
                    status: match c.status {
                        Status::Consistent => CheckStatus::Consistent,
                        Status::Contradicted => CheckStatus::Contradicted,
                        Status::DeclaredOnly => CheckStatus::DeclaredOnly,
                        Status::ObservedOnly => CheckStatus::ObservedOnly,
                    },
                })
                .collect(),
            components: arch
                .parameters
                .by_component
                .iter()
                .map(|(c, n)| (c.name().to_owned(), *n))
                .collect(),
            active: arch.parameters.active.map(|n| {
                let basis = arch.parameters.active_basis.as_ref();
                (n, basis.map(|b| b.to_string()).unwrap_or_default())
            }),
            memory: memory(arch),
            notes: arch.notes.iter().map(|n| n.message.clone()).collect(),
            metadata: crate::report::metadata::entries(model),
            layers,
            disclosures: disclosures(model, arch),
            open_findings: model.notes.to_vec(),
        }
    }
}

fn model_name(model: &Model) -> String {
    if let Some(n) = model.gguf.as_deref().and_then(|g| g.name()) {
        return n.to_owned();
    }
    let path = if model.path.is_dir() {
        model.path.as_path()
    } else if model.path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n.starts_with("model") || n.ends_with(".index.json")
    }) {
        model.folder()
    } else {
        model.path.as_path()
    };
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn family_words(arch: &Architecture) -> String {
    let mut words = match (&arch.family, arch.family_known) {
        (Some(f), true) => f.clone(),
        (Some(f), false) => format!("{f} (unknown to glassbox)"),
        (None, _) => "unrecognised".to_owned(),
    };
    if let Some(k) = arch.kind {
        words.push(' ');
        words.push_str(k.name());
    }
    if arch.hyper.experts.is_some() {
        words.push_str(", MoE");
    }
    if let (Some(a), Some(q), Some(kv)) = (
        arch.hyper.attention,
        arch.hyper.attention_heads,
        arch.hyper.kv_heads,
    ) {
        words.push_str(&format!(", {} {q}/{kv}", a.to_uppercase()));
    }
    words
}

fn precision(model: &Model) -> String {
    let by = model.parameters_by_dtype();
    let total: u64 = by.values().sum();
    let mut list: Vec<_> = by.into_iter().collect();
    list.sort_by_key(|e| std::cmp::Reverse(e.1));
    match list.as_slice() {
        [] => "no tensors".to_owned(),
        [(d, _)] => d.name().to_owned(),
        _ => list
            .iter()
            .take(3)
            .map(|(d, n)| {
                format!(
                    "{} {:.0}%",
                    d.name(),
                    *n as f64 * 100.0 / total.max(1) as f64
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn facts(arch: &Architecture) -> Vec<(String, String)> {
    let h = &arch.hyper;
    let mut out = Vec::new();
    let mut count = |label: &str, v: Option<u64>| {
        if let Some(v) = v {
            out.push((label.to_owned(), thousands(v)));
        }
    };
    count("layers", h.layers);
    count("hidden size", h.hidden_size);
    count("attention heads", h.attention_heads);
    count("kv heads", h.kv_heads);
    count("head dim", h.head_dim);
    count("intermediate", h.intermediate_size);
    count("vocabulary", h.vocab_size);
    count("experts", h.experts);
    count("experts per token", h.experts_per_token);
    count("context length", h.context_length);
    if let Some(t) = h.tied_embeddings {
        out.push((
            "tied embeddings".into(),
            if t { "yes" } else { "no" }.into(),
        ));
    }
    if let Some(c) = &arch.class {
        out.push(("class".into(), c.clone()));
    }
    out
}

fn memory(arch: &Architecture) -> Vec<(String, String)> {
    let m = &arch.memory;
    let mut out = vec![
        ("weights".to_owned(), human_bytes(m.weights_stored_bytes)),
        (
            "at 16/8/4 bits".to_owned(),
            format!(
                "{} / {} / {}",
                human_bytes(m.weights_16bit_bytes),
                human_bytes(m.weights_8bit_bytes),
                human_bytes(m.weights_4bit_bytes)
            ),
        ),
    ];
    match (&m.kv_cache, &m.kv_cache_note) {
        (Some(kv), _) => {
            out.push((
                "KV cache".into(),
                format!("{} per token", human_bytes(kv.bytes_per_token)),
            ));
            if let (Some(ctx), Some(at)) = (kv.context_length, kv.bytes_at_context) {
                out.push((format!("at {} tokens", thousands(ctx)), human_bytes(at)));
            }
        }
        (None, Some(note)) => out.push(("KV cache".into(), format!("none: {note}"))),
        (None, None) => {}
    }
    out
}

/// Short column labels for the roles the Layers tab plots.
fn role_label(role: Role) -> Option<&'static str> {
    use Role::*;
    Some(match role {
        AttnQ => "q",
        AttnK => "k",
        AttnV => "v",
        AttnQkv => "qkv",
        AttnO => "o",
        AttnQA => "q_a",
        AttnQB => "q_b",
        AttnKvA => "kv_a",
        AttnKvB => "kv_b",
        AttnQNorm => "q_norm",
        AttnKNorm => "k_norm",
        MlpGate => "gate",
        MlpUp => "up",
        MlpGateUp => "gate_up",
        MlpDown => "down",
        Router => "router",
        ExpertGate => "exp.gate",
        ExpertUp => "exp.up",
        ExpertGateUp => "exp.gate_up",
        ExpertDown => "exp.down",
        SharedExpertGate => "sh.gate",
        SharedExpertUp => "sh.up",
        SharedExpertDown => "sh.down",
        _ => return None,
    })
}

/// The Layers-tab column of a block member: its role (`q`, `gate`, `exp.down` — every expert of a
/// layer in one cell), or for norms and unnamed roles the name inside the block; biases apart.
fn column_key(name: &str, prefix: &str, role: Role) -> String {
    let rest = name
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('.'))
        .map(|r| r.split_once('.').map_or(r, |(_, rest)| rest))
        .unwrap_or(name);
    let bias = rest.ends_with(".bias");
    let base = match role_label(role) {
        Some(l) => l.to_owned(),
        None => {
            let trimmed = rest
                .strip_suffix(".weight")
                .or_else(|| rest.strip_suffix(".bias"))
                .unwrap_or(rest);
            trimmed.rsplit('.').next().unwrap_or(trimmed).to_owned()
        }
    };
    if bias { format!("{base} bias") } else { base }
}

fn layer_map(model: &Model, arch: &Architecture) -> LayerMap {
    let Some(stack) = arch.stacks.first() else {
        return LayerMap::default();
    };
    // Columns in the reading order of a block: by role, then by name.
    let mut keyed: Vec<(Role, String)> = Vec::new();
    for members in stack.members.values() {
        for &i in members {
            let role = arch.roles[i].role;
            let key = column_key(&model.tensors[i].name, &stack.prefix, role);
            if !keyed.iter().any(|(_, k)| *k == key) {
                keyed.push((role, key));
            }
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| natural_cmp(&a.1, &b.1)));
    LayerMap {
        prefix: stack.prefix.clone(),
        layers: stack.indices.clone(),
        columns: keyed.into_iter().map(|(_, k)| k).collect(),
    }
}

fn disclosures(model: &Model, arch: &Architecture) -> Vec<Disclosure> {
    let gguf = model.gguf.as_deref();
    let doc = |kind: &str| {
        model.document(kind).map(|d| {
            d.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    };
    let mut dtypes: Vec<String> = model
        .parameters_by_dtype()
        .keys()
        .map(|d| d.name().to_owned())
        .collect();
    dtypes.dedup();
    let shown = |found: String| (Disclosed::Shown, found);
    let tokenizer = match (doc("tokenizer"), gguf.map(|g| g.tokenizer())) {
        (Some(f), _) => shown(format!("{f} beside the weights")),
        (None, Some(t)) if t.tokens.is_some() => shown(format!(
            "{} tokens in the GGUF metadata{}",
            thousands(t.tokens.unwrap_or(0)),
            if t.chat_template.is_some() {
                ", chat template"
            } else {
                ""
            }
        )),
        _ => (Disclosed::Missing, "not found".into()),
    };
    let config = match (doc("config"), gguf) {
        (Some(f), _) => shown(f),
        (None, Some(g)) => shown(format!("{} GGUF metadata keys", g.metadata.len())),
        _ => (Disclosed::Missing, "no config.json".into()),
    };
    let card = match doc("model_card") {
        Some(f) => (Disclosed::Declared, f),
        None => (Disclosed::Missing, "no model card".into()),
    };
    let licence = match (doc("license"), gguf.and_then(|g| g.license())) {
        (Some(f), _) => (Disclosed::Declared, f),
        (None, Some(l)) => (Disclosed::Declared, format!("{l} (general.license)")),
        _ => (Disclosed::Missing, "no licence file".into()),
    };
    let rows: Vec<(&'static str, (Disclosed, String), &'static str)> = vec![
        ("architecture", shown(family_words(arch)), "hidden"),
        (
            "parameters",
            shown(format!(
                "{} (every tensor counted)",
                thousands(model.parameter_count())
            )),
            "hidden",
        ),
        (
            "shapes",
            shown(format!(
                "{} tensors, every shape",
                thousands(model.tensors.len() as u64)
            )),
            "hidden",
        ),
        ("precision", shown(dtypes.join(", ")), "hidden"),
        (
            "weight statistics",
            shown("every value readable (Tensors tab)".into()),
            "hidden",
        ),
        ("config", config, "hidden"),
        ("tokenizer", tokenizer, "hidden"),
        ("model card", card, "marketing page"),
        ("licence", licence, "terms of service"),
        (
            "context length",
            match arch.hyper.context_length {
                Some(n) => (
                    Disclosed::Declared,
                    format!("{} tokens (declared)", thousands(n)),
                ),
                None => (Disclosed::Missing, "not declared".into()),
            },
            "shown",
        ),
        ("name", shown(model_name(model)), "shown"),
        (
            "price",
            (Disclosed::Shown, "free to run: the weights are here".into()),
            "shown (per token)",
        ),
    ];
    rows.into_iter()
        .map(|(item, (status, found), closed)| Disclosure {
            item,
            status,
            found,
            closed,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_columns_name_the_role_or_the_norm_and_keep_biases_apart() {
        let p = "model.layers";
        assert_eq!(
            column_key("model.layers.3.self_attn.q_proj.weight", p, Role::AttnQ),
            "q"
        );
        assert_eq!(
            column_key("model.layers.3.self_attn.q_proj.bias", p, Role::AttnQ),
            "q bias"
        );
        assert_eq!(
            column_key(
                "model.layers.3.block_sparse_moe.experts.7.w2.weight",
                p,
                Role::ExpertDown
            ),
            "exp.down"
        );
        assert_eq!(
            column_key("model.layers.3.input_layernorm.weight", p, Role::Norm),
            "input_layernorm"
        );
        assert_eq!(
            column_key("blk.0.attn_norm.weight", "blk", Role::Norm),
            "attn_norm"
        );
    }

    #[test]
    fn the_view_of_a_fixture_matches_its_files() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/llama-tiny");
        let model = crate::model::open(&path).unwrap();
        let view = ModelView::build(&model, &crate::arch::infer_architecture(&model));
        assert_eq!(view.name, "llama-tiny");
        assert_eq!(view.format, "safetensors");
        assert_eq!(view.precision, "BF16");
        assert_eq!(view.parameters, 108_864);
        assert_eq!(view.tensors.len(), 20);
        assert_eq!(view.layers.layers, [0, 1]);
        // Every block member has a layer and a column; nothing else has.
        for t in &view.tensors {
            let in_block = t.name.starts_with("model.layers.");
            assert_eq!(t.layer.is_some(), in_block, "{}", t.name);
            assert_eq!(t.column.is_some(), in_block, "{}", t.name);
        }
        assert!(
            view.checks
                .iter()
                .all(|c| c.status != CheckStatus::Contradicted)
        );
        let gguf = crate::model::open(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gguf/llama-tiny.gguf"),
        )
        .unwrap();
        let view = ModelView::build(&gguf, &crate::arch::infer_architecture(&gguf));
        assert_eq!(view.format, "GGUF v3");
        assert_eq!(
            view.metadata.len(),
            gguf.gguf.as_ref().unwrap().metadata.len()
        );
        let q = view
            .tensors
            .iter()
            .find(|t| t.name == "blk.0.attn_q.weight")
            .unwrap();
        assert_eq!(
            q.hf_name.as_deref(),
            Some("model.layers.0.self_attn.q_proj.weight")
        );
    }
}

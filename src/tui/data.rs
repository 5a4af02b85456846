//! The one place the TUI reads the library: [`ModelView::new`] turns the library's reports — the
//! [`SummaryReport`] (architecture, checks, parameters, memory, notes), the
//! [`TensorTable`] (every tensor's row) and the [`metadata`](crate::report::metadata) entries —
//! into the plain view data every screen draws from.
//!
//! The TUI is one more face of those reports, like text, markdown and JSON: it formats what they
//! hold and never looks at the file format. The one thing it adds is the Layers tab's grid, whose
//! rows are the main stack's blocks ([`crate::model::naming::split_block`], the one definition of
//! a layer) and whose columns are the roles the report gives each tensor. It runs once, before the
//! first frame, and reads headers only (never tensor data).

use crate::arch::{Role, Status};
use crate::finding::Finding;
use crate::model::Model;
use crate::model::naming::split_block;
use crate::model::sort::natural_cmp;
pub use crate::report::metadata::MetaEntry;
use crate::report::summary::{ArchitectureFacts, SummaryReport};
use crate::report::tensors::TensorTable;
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
    /// A floating-point weight (else an integer or boolean buffer, kept out of group statistics).
    pub float: bool,
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
    /// What opening the files noticed (gaps, trailing bytes, an invalid config).
    pub open_findings: Vec<Finding>,
}

impl ModelView {
    /// The view of an opened model: its reports, built as the CLI builds them, then
    /// [`ModelView::new`].
    pub fn build(model: &Model) -> ModelView {
        let arch = crate::arch::infer_architecture(model);
        let summary = SummaryReport::new(model, &arch);
        drop(arch);
        let all: Vec<_> = model.tensors.iter().collect();
        let table = TensorTable::new(model, &all);
        ModelView::new(&summary, &table, crate::report::metadata::entries(model))
    }

    /// The view of a model's summary, its whole tensor table (every tensor, in the model's
    /// tensor-table order, which the statistics engine's indices follow) and its metadata entries.
    pub fn new(
        summary: &SummaryReport,
        table: &TensorTable,
        metadata: Vec<MetaEntry>,
    ) -> ModelView {
        let layers = layer_map(summary, table);
        let tensors: Vec<TensorView> = table
            .tensors
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let (layer, column) = layers
                    .place(&row.name, role_at(summary, i))
                    .map_or((None, None), |(l, c)| (Some(l), c));
                TensorView {
                    name: row.name.clone(),
                    dtype: row.dtype.name().to_owned(),
                    float: row.dtype.is_float(),
                    shape: row.shape.clone(),
                    parameters: row.parameters,
                    bytes: row.bytes,
                    file: row.file.clone(),
                    offset: row.offset,
                    hf_name: row.gguf.as_ref().and_then(|g| g.hf_name.clone()),
                    layer,
                    column,
                }
            })
            .collect();
        let parameters = &summary.parameters;
        ModelView {
            name: summary.model.title.clone(),
            format: summary.model.format_label.clone(),
            family: summary.architecture.headline(),
            parameters: summary.model.parameter_count,
            precision: precision(summary),
            files: summary
                .model
                .files
                .iter()
                .map(|f| (f.name.clone(), f.bytes))
                .collect(),
            tensors,
            facts: facts(&summary.architecture),
            checks: summary
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
            components: parameters
                .by_component
                .iter()
                .map(|(c, n)| (c.name().to_owned(), *n))
                .collect(),
            active: parameters.active.map(|n| {
                let basis = parameters.active_basis.as_ref();
                (n, basis.map(|b| b.to_string()).unwrap_or_default())
            }),
            memory: memory(summary),
            notes: summary.notes.iter().map(|n| n.message.clone()).collect(),
            metadata,
            layers,
            open_findings: summary.model.notes.clone(),
        }
    }
}

/// The role the report gives tensor `i` ([`Role::Other`] past the end, which a table of the same
/// model never reaches).
fn role_at(summary: &SummaryReport, i: usize) -> Role {
    summary.roles.get(i).copied().unwrap_or(Role::Other)
}

/// `BF16`, or the mix of the (up to three) largest dtypes: `Q4_K 80% F32 20%`.
fn precision(summary: &SummaryReport) -> String {
    let total: u64 = summary.storage.iter().map(|c| c.parameters).sum();
    match summary.storage.as_slice() {
        [] => "no tensors".to_owned(),
        [only] => only.dtype.name().to_owned(),
        list => list
            .iter()
            .take(3)
            .map(|c| format!("{} {}", c.dtype.name(), share(c.parameters, total)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `part` of `total` as a whole percentage, where a small nonzero share reads `<1%` and a share
/// short of the whole `>99%` (rounding would say `0%` and `100%` of a mix).
fn share(part: u64, total: u64) -> String {
    let percent = part as f64 * 100.0 / total.max(1) as f64;
    match percent {
        p if p > 0.0 && p < 1.0 => "<1%".to_owned(),
        p if p >= 99.5 && part < total => ">99%".to_owned(),
        p => format!("{p:.0}%"),
    }
}

fn facts(arch: &ArchitectureFacts) -> Vec<(String, String)> {
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

fn memory(summary: &SummaryReport) -> Vec<(String, String)> {
    let m = &summary.memory;
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

/// The Layers-tab column of a block member, from its name inside the block (`rest`, after the
/// block index): its role (`q`, `gate`, `exp.down` — every expert of a layer in one cell), or for
/// norms and unnamed roles the whole name without `.weight`/`.bias`, its leading parts longer
/// than three letters cut to their initial (a BERT layer's `attention.output.LayerNorm` and
/// `output.LayerNorm` are `a.o.LayerNorm` and `o.LayerNorm`: by their last part alone they were
/// one cell holding both); biases apart.
fn column_key(rest: &str, role: Role) -> String {
    let bias = rest.ends_with(".bias");
    let base = match role_label(role) {
        Some(l) => l.to_owned(),
        None => {
            let name = rest
                .strip_suffix(".weight")
                .or_else(|| rest.strip_suffix(".bias"))
                .unwrap_or(rest);
            let (path, last) = name.rsplit_once('.').unwrap_or(("", name));
            path.split('.')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    if p.chars().count() > 3 {
                        &p[..p.chars().next().map_or(0, char::len_utf8)]
                    } else {
                        p
                    }
                })
                .chain([last])
                .collect::<Vec<_>>()
                .join(".")
        }
    };
    if bias { format!("{base} bias") } else { base }
}

impl LayerMap {
    /// Where tensor `name` (of role `role`) sits in the grid: its block index when it belongs to
    /// the main stack, and its column when the map has one for it.
    fn place(&self, name: &str, role: Role) -> Option<(u64, Option<usize>)> {
        let block = split_block(name).filter(|b| b.stack == self.prefix)?;
        let key = column_key(block.rest, role);
        Some((block.index, self.columns.iter().position(|c| *c == key)))
    }
}

/// The main stack of the summary (its first), with columns in the reading order of a block: by
/// role, then by name.
fn layer_map(summary: &SummaryReport, table: &TensorTable) -> LayerMap {
    let Some(stack) = summary.blocks.iter().find(|b| b.main) else {
        return LayerMap::default();
    };
    let mut layers: Vec<u64> = stack
        .groups
        .iter()
        .flat_map(|g| g.indices.iter().copied())
        .collect();
    layers.sort_unstable();
    layers.dedup();
    let mut keyed: Vec<(Role, String)> = Vec::new();
    for (i, row) in table.tensors.iter().enumerate() {
        let Some(block) = split_block(&row.name).filter(|b| b.stack == stack.prefix) else {
            continue;
        };
        let role = role_at(summary, i);
        let key = column_key(block.rest, role);
        if !keyed.iter().any(|(_, k)| *k == key) {
            keyed.push((role, key));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| natural_cmp(&a.1, &b.1)));
    LayerMap {
        prefix: stack.prefix.clone(),
        layers,
        columns: keyed.into_iter().map(|(_, k)| k).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_columns_name_the_role_or_the_norm_and_keep_biases_apart() {
        for (rest, role, column) in [
            ("self_attn.q_proj.weight", Role::AttnQ, "q"),
            ("self_attn.q_proj.bias", Role::AttnQ, "q bias"),
            (
                "block_sparse_moe.experts.7.w2.weight",
                Role::ExpertDown,
                "exp.down",
            ),
            ("input_layernorm.weight", Role::Norm, "input_layernorm"),
            ("attn_norm.weight", Role::Norm, "attn_norm"),
            // BERT's two norms of a layer stay apart.
            (
                "attention.output.LayerNorm.weight",
                Role::Norm,
                "a.o.LayerNorm",
            ),
            ("output.LayerNorm.bias", Role::Norm, "o.LayerNorm bias"),
            ("layer.1.layer_norm.weight", Role::Norm, "l.1.layer_norm"),
        ] {
            assert_eq!(column_key(rest, role), column, "{rest}");
        }
    }

    #[test]
    fn a_share_of_a_mix_never_rounds_to_nothing_or_everything() {
        assert_eq!(share(1, 1000), "<1%");
        assert_eq!(share(999, 1000), ">99%");
        assert_eq!(share(0, 1000), "0%");
        assert_eq!(share(1000, 1000), "100%");
        assert_eq!(share(500, 1000), "50%");
        assert_eq!(share(994, 1000), "99%");
        assert_eq!(share(995, 1000), ">99%");
        assert_eq!(share(5, 1000), "<1%");
        assert_eq!(share(10, 1000), "1%");
    }

    #[test]
    fn the_view_of_a_fixture_matches_its_files() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/llama-tiny");
        let model = crate::model::open(&path).unwrap();
        let view = ModelView::build(&model);
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
        let view = ModelView::build(&gguf);
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

//! `glassbox summary` (and `glassbox PATH`): the architecture at a glance, as aligned text for a
//! terminal, markdown for a model card, or JSON (docs/json.md).

use serde::Serialize;

use super::json::{self, ModelJson, SCHEMA_VERSION};
use super::table::{Align, Table, human_bytes, human_count, shape, thousands};
use crate::arch::{
    Architecture, BlockGroup, Check, Component, Hyperparameters, Kind, Memory, Role, Status, Value,
};
use crate::format::gguf::{Source, TokenizerInfo};
use crate::model::Model;

/// Words for a field name in tables.
fn field_label(field: &str) -> String {
    match field {
        "kv_heads" => "KV heads".to_owned(),
        "qk_nope_head_dim" => "qk nope head dim".to_owned(),
        "qk_rope_head_dim" => "qk rope head dim".to_owned(),
        "v_head_dim" => "v head dim".to_owned(),
        "q_lora_rank" => "q LoRA rank".to_owned(),
        "kv_lora_rank" => "KV LoRA rank".to_owned(),
        "moe_layers" => "MoE layers".to_owned(),
        "rope_theta" => "RoPE theta".to_owned(),
        "relative_attention_num_buckets" => "relative buckets".to_owned(),
        other => other.replace('_', " "),
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Consistent => "consistent",
        Status::Contradicted => "CONTRADICTED",
        Status::DeclaredOnly => "declared only",
        Status::ObservedOnly => "observed only",
    }
}

fn value(v: &Option<Value>) -> String {
    v.as_ref()
        .map(crate::arch::value_text)
        .unwrap_or_else(|| "-".to_owned())
}

/// The family line: `llama (decoder)` or `unrecognised`.
fn family_line(arch: &Architecture) -> String {
    let name = match (&arch.family, arch.family_known) {
        (Some(f), true) => f.clone(),
        (Some(f), false) => format!("{f} (unknown to glassbox)"),
        (None, _) => "unrecognised".to_owned(),
    };
    match arch.kind {
        Some(k) => format!("{name}, {}", kind_words(k, &arch.hyper)),
        None => name,
    }
}

fn kind_words(kind: Kind, h: &Hyperparameters) -> String {
    let mut words = kind.name().to_owned();
    if h.experts.is_some() {
        words.push_str(", mixture of experts");
    }
    match h.attention {
        Some("mla") => words.push_str(", multi-head latent attention"),
        Some("gqa") => words.push_str(", grouped-query attention"),
        Some("mqa") => words.push_str(", multi-query attention"),
        _ => {}
    }
    words
}

fn dtype_mix(model: &Model) -> String {
    let by = model.parameters_by_dtype();
    let total: u64 = by.values().sum();
    let mut list: Vec<_> = by.into_iter().collect();
    list.sort_by_key(|e| std::cmp::Reverse(e.1));
    match list.as_slice() {
        [] => "no tensors".to_owned(),
        [(d, _)] => d.name().to_owned(),
        _ => list
            .iter()
            .map(|(d, n)| format!("{} {}", d.name(), percent(*n, total)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn percent(n: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_owned();
    }
    let p = n as f64 * 100.0 / total as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".to_owned()
    } else {
        format!("{p:.1}%")
    }
}

fn files_words(model: &Model) -> String {
    let n = model.files.len();
    format!(
        "{} in {n} file{}",
        human_bytes(model.tensor_bytes_total()),
        if n == 1 { "" } else { "s" }
    )
}

fn checks_table(arch: &Architecture, markdown: bool) -> Table {
    let mut t = Table::new(&[
        ("field", Align::Left),
        ("declared", Align::Right),
        ("observed", Align::Right),
        ("status", Align::Left),
        ("how observed / declared", Align::Left),
    ]);
    // For a GGUF model the declared side is the GGUF metadata, not a config.json.
    let source = if arch.family_source == Some(crate::arch::FamilySource::GgufMetadata) {
        "GGUF"
    } else {
        "config"
    };
    for c in &arch.checks {
        let how = match (&c.basis, &c.declared_key) {
            (Some(b), _) => b.clone(),
            (None, Some(k)) => format!("{source} `{k}`"),
            (None, None) => String::new(),
        };
        let how = if markdown && !how.is_empty() {
            how.replace('`', "")
        } else {
            how
        };
        t.push(vec![
            field_label(c.field),
            value(&c.declared),
            value(&c.observed),
            if markdown && c.status == Status::Contradicted {
                "**contradicted**".to_owned()
            } else {
                status_label(c.status).to_owned()
            },
            how,
        ]);
    }
    t
}

fn parameters_table(arch: &Architecture) -> Table {
    let p = &arch.parameters;
    let mut t = Table::new(&[
        ("component", Align::Left),
        ("parameters", Align::Right),
        ("share", Align::Right),
    ]);
    for (c, n) in &p.by_component {
        t.push(vec![
            component_label(*c).to_owned(),
            thousands(*n),
            percent(*n, p.total),
        ]);
    }
    t.push(vec![
        "total".to_owned(),
        thousands(p.total),
        percent(p.total, p.total),
    ]);
    if let Some(a) = p.active {
        t.push(vec![
            "active per token".to_owned(),
            thousands(a),
            percent(a, p.total),
        ]);
    }
    t
}

fn component_label(c: Component) -> &'static str {
    match c {
        Component::Mtp => "multi-token prediction",
        other => other.name(),
    }
}

fn group_header(g: &BlockGroup) -> String {
    format!(
        "{} x{}  ({} parameters{})",
        g.pattern,
        g.indices.len(),
        thousands(g.parameters_per_block),
        if g.indices.len() > 1 { " each" } else { "" }
    )
}

fn memory_lines(m: &Memory) -> Vec<(String, String)> {
    let mut out = vec![(
        "weights".to_owned(),
        format!(
            "{} stored; {} at 16 bits, {} at 8 bits, {} at 4 bits",
            human_bytes(m.weights_stored_bytes),
            human_bytes(m.weights_16bit_bytes),
            human_bytes(m.weights_8bit_bytes),
            human_bytes(m.weights_4bit_bytes)
        ),
    )];
    match (&m.kv_cache, &m.kv_cache_note) {
        (Some(kv), _) => {
            out.push((
                "KV cache".to_owned(),
                format!(
                    "{} per token = {}",
                    human_bytes(kv.bytes_per_token),
                    kv.formula
                ),
            ));
            if let Some(ctx) = kv.context_length {
                let at = kv
                    .bytes_at_context
                    .map(human_bytes)
                    .unwrap_or_else(|| "too large to count".to_owned());
                let sliding = match (kv.sliding_window, kv.sliding_layers, &kv.sliding_rule) {
                    (Some(w), n, Some(rule)) if n > 0 => format!(
                        " ({n} of {} layers keep a sliding window of {} tokens: {rule})",
                        kv.layers,
                        thousands(w)
                    ),
                    (Some(w), 0, Some(rule)) => {
                        format!(
                            " (sliding window of {} tokens declared but unused: {rule})",
                            thousands(w)
                        )
                    }
                    (Some(w), _, None) => format!(
                        " (a sliding window of {} tokens is declared; which layers use it is unknown, so none is assumed)",
                        thousands(w)
                    ),
                    _ => String::new(),
                };
                out.push((
                    String::new(),
                    format!(
                        "{at} for one sequence of {} tokens{sliding}",
                        thousands(ctx)
                    ),
                ));
            }
        }
        (None, Some(note)) => out.push(("KV cache".to_owned(), format!("none: {note}"))),
        (None, None) => {}
    }
    out
}

/// The summary as aligned plain text.
pub fn render_summary_text(model: &Model, arch: &Architecture) -> String {
    let mut out = String::new();
    let p = &arch.parameters;
    let mut head = Table::new(&[("", Align::Left), ("", Align::Left)]);
    head.push(vec!["model".into(), model.path.display().to_string()]);
    head.push(vec!["family".into(), family_line(arch)]);
    head.push(vec!["evidence".into(), arch.family_evidence.clone()]);
    if let Some(c) = &arch.class {
        head.push(vec!["class".into(), c.clone()]);
    }
    let mut size = format!("{} ({})", thousands(p.total), human_count(p.total));
    if let Some(a) = p.active {
        size.push_str(&format!(
            ", {} ({}) active per token",
            thousands(a),
            human_count(a)
        ));
    }
    head.push(vec!["parameters".into(), size]);
    head.push(vec![
        "storage".into(),
        format!("{}, {}", dtype_mix(model), files_words(model)),
    ]);
    for (k, v) in gguf_rows(model) {
        head.push(vec![k, v]);
    }
    let mut s = String::new();
    head.render_text(&mut s);
    // The header row of this two-column table is empty: drop it.
    out.push_str(s.split_once('\n').map_or("", |(_, rest)| rest));

    if !arch.checks.is_empty() {
        out.push('\n');
        checks_table(arch, false).render_text(&mut out);
    }

    out.push('\n');
    parameters_table(arch).render_text(&mut out);
    if let Some(b) = &p.active_basis {
        out.push_str(&format!("  active: {b}\n"));
    }

    out.push_str("\nblocks\n");
    if arch.stacks.is_empty() {
        out.push_str("  (no repeated blocks found)\n");
    }
    for stack in &arch.stacks {
        for g in &stack.groups {
            out.push_str(&format!("  {}\n", group_header(g)));
            out.push_str(&format!("    {}\n", g.outline));
            for d in &g.differences {
                out.push_str(&format!("    differs: {d}\n"));
            }
        }
    }
    if !arch.others.is_empty() {
        out.push_str("outside blocks\n");
        let t = others_table(model, arch, |name| format!("  {name}"));
        let mut s = String::new();
        t.render_text(&mut s);
        out.push_str(s.split_once('\n').map_or("", |(_, rest)| rest));
    }

    out.push('\n');
    let mut t = Table::new(&[("", Align::Left), ("", Align::Left)]);
    for (k, v) in memory_lines(&arch.memory) {
        t.push(vec![k, v]);
    }
    let mut s = String::new();
    t.render_text(&mut s);
    out.push_str("memory\n");
    for line in s.lines().skip(1) {
        out.push_str(&format!("  {line}\n"));
    }

    if !arch.notes.is_empty() {
        out.push_str("\nnotes\n");
        for n in &arch.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out
}

/// The summary as markdown, ready to paste into a model card.
pub fn render_summary_markdown(model: &Model, arch: &Architecture) -> String {
    let mut out = String::new();
    let p = &arch.parameters;
    let name = model
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| model.path.display().to_string());
    out.push_str(&format!("## Architecture of `{name}`\n\n"));
    out.push_str(&format!("- **Family:** {}\n", family_line(arch)));
    out.push_str(&format!("- **Evidence:** {}\n", arch.family_evidence));
    if let Some(c) = &arch.class {
        out.push_str(&format!("- **Class:** `{c}`\n"));
    }
    out.push_str(&format!(
        "- **Parameters:** {} ({})",
        thousands(p.total),
        human_count(p.total)
    ));
    if let Some(a) = p.active {
        out.push_str(&format!(
            ", {} ({}) active per token",
            thousands(a),
            human_count(a)
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "- **Storage:** {}, {}\n",
        dtype_mix(model),
        files_words(model)
    ));
    // GGUF metadata rows; a continuation row (empty key) joins the previous item.
    for (k, v) in gguf_rows(model) {
        let v = v.replace('`', "'");
        if k.is_empty() {
            out.truncate(out.trim_end_matches('\n').len());
            out.push_str(&format!("; {v}\n"));
        } else {
            let mut label = k;
            if let Some(first) = label.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            out.push_str(&format!("- **{label}:** {v}\n"));
        }
    }

    if !arch.checks.is_empty() {
        let declared_by = if model.gguf.is_some() {
            "GGUF metadata"
        } else {
            "config.json"
        };
        out.push_str(&format!(
            "\n### Hyperparameters: declared ({declared_by}) and observed (weights)\n\n"
        ));
        checks_table(arch, true).render_markdown(&mut out);
    }

    out.push_str("\n### Parameters\n\n");
    parameters_table(arch).render_markdown(&mut out);
    if let Some(b) = &p.active_basis {
        out.push_str(&format!("\nActive parameters: {b}.\n"));
    }

    out.push_str("\n### Blocks\n\n");
    if arch.stacks.is_empty() {
        out.push_str("No repeated blocks found.\n");
    }
    for stack in &arch.stacks {
        for g in &stack.groups {
            out.push_str(&format!(
                "- `{}` ×{} ({} parameters{}): `{}`\n",
                g.pattern,
                g.indices.len(),
                thousands(g.parameters_per_block),
                if g.indices.len() > 1 { " each" } else { "" },
                g.outline
            ));
            for d in &g.differences {
                out.push_str(&format!("  - differs: {d}\n"));
            }
        }
    }
    if !arch.others.is_empty() {
        out.push_str("\nOutside the blocks:\n\n");
        others_table(model, arch, |name| format!("`{name}`")).render_markdown(&mut out);
    }

    out.push_str("\n### Memory\n\n");
    for (k, v) in memory_lines(&arch.memory) {
        if k.is_empty() {
            out.push_str(&format!("  {v}\n"));
        } else {
            out.push_str(&format!("- **{k}:** {v}\n"));
        }
    }
    if !arch.notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for n in &arch.notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    out.push_str("\n*Generated by glassbox from the weight headers and config.json.*\n");
    out
}

/// The `architecture` object.
#[derive(Debug, Serialize)]
struct ArchitectureJson<'a> {
    family: Option<&'a str>,
    family_known: bool,
    family_source: Option<crate::arch::FamilySource>,
    family_evidence: &'a str,
    signature: Option<&'a str>,
    convention: Option<&'a str>,
    kind: Option<Kind>,
    class: Option<&'a str>,
    #[serde(flatten)]
    hyper: &'a Hyperparameters,
}

#[derive(Debug, Serialize)]
struct ParametersJson {
    total: u64,
    by_component: serde_json::Map<String, serde_json::Value>,
    active: Option<u64>,
    active_basis: Option<String>,
}

#[derive(Debug, Serialize)]
struct StackJson<'a> {
    prefix: &'a str,
    count: u64,
    main: bool,
    groups: &'a [BlockGroup],
}

#[derive(Debug, Serialize)]
struct OtherTensorJson<'a> {
    name: &'a str,
    role: Role,
    component: Component,
    dtype: &'static str,
    shape: &'a [u64],
    parameters: u64,
}

#[derive(Debug, Serialize)]
struct SummaryDocument<'a> {
    schema_version: u32,
    model: ModelJson<'a>,
    architecture: ArchitectureJson<'a>,
    parameters: ParametersJson,
    blocks: Vec<StackJson<'a>>,
    other_tensors: Vec<OtherTensorJson<'a>>,
    checks: &'a [Check],
    memory: &'a Memory,
    notes: &'a [String],
    /// GGUF models only: what the GGUF metadata says about the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<GgufMetadataJson<'a>>,
}

/// The `metadata` object of a GGUF model's summary (docs/json.md).
#[derive(Debug, Serialize)]
struct GgufMetadataJson<'a> {
    gguf_version: u32,
    architecture: Option<&'a str>,
    name: Option<&'a str>,
    license: Option<&'a str>,
    /// `general.file_type`: llama.cpp's `llama_ftype` (15 = `MOSTLY_Q4_K_M`).
    file_type: Option<u64>,
    quantization_version: Option<u64>,
    base_models: Vec<Source>,
    datasets: Vec<Source>,
    tokenizer: TokenizerInfo,
    bits_per_weight: Option<f64>,
    split_count: Option<u64>,
}

impl<'a> GgufMetadataJson<'a> {
    fn new(model: &'a Model) -> Option<Self> {
        let g = model.gguf.as_deref()?;
        Some(GgufMetadataJson {
            gguf_version: g.version,
            architecture: g.architecture(),
            name: g.name(),
            license: g.license(),
            file_type: g.metadata.get_u64("general.file_type"),
            quantization_version: g.metadata.get_u64("general.quantization_version"),
            base_models: g.base_models(),
            datasets: g.datasets(),
            tokenizer: g.tokenizer(),
            bits_per_weight: model.bits_per_weight(),
            split_count: g.split().map(|s| s.count),
        })
    }
}

/// A base model or dataset in a few words: its name (or repository), organisation and version.
fn source_words(s: &Source) -> String {
    let mut out = s
        .name
        .clone()
        .or_else(|| s.repo_url.clone())
        .or_else(|| s.url.clone())
        .unwrap_or_else(|| "(unnamed)".into());
    if let Some(o) = &s.organization {
        out.push_str(&format!(" ({o})"));
    }
    if let Some(v) = &s.version {
        out.push_str(&format!(" version {v}"));
    }
    if let (Some(_), Some(r)) = (&s.name, &s.repo_url) {
        out.push_str(&format!(" <{r}>"));
    }
    out
}

/// The rows the GGUF metadata adds to the summary's head: identity, lineage, tokenizer, chat
/// template (its size and first line, not the text), bits per weight.
fn gguf_rows(model: &Model) -> Vec<(String, String)> {
    let Some(g) = model.gguf.as_deref() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut push = |k: &str, v: String| rows.push((k.to_owned(), v));
    push("format", format!("GGUF v{}", g.version));
    if let Some(n) = g.name() {
        push("name", n.to_owned());
    }
    if let Some(l) = g.license() {
        push("license", l.to_owned());
    }
    for (i, b) in g.base_models().iter().enumerate() {
        push(if i == 0 { "base model" } else { "" }, source_words(b));
    }
    for (i, d) in g.datasets().iter().enumerate() {
        push(if i == 0 { "datasets" } else { "" }, source_words(d));
    }
    let t = g.tokenizer();
    let mut words = Vec::new();
    if let Some(m) = &t.model {
        words.push(format!(
            "{m}{}",
            t.pre
                .as_ref()
                .map(|p| format!(" (pre {p})"))
                .unwrap_or_default()
        ));
    }
    if let Some(n) = t.tokens {
        words.push(format!("{} tokens", thousands(n)));
    }
    if let Some(n) = t.merges {
        words.push(format!("{} merges", thousands(n)));
    }
    for (name, id) in [
        ("bos", t.bos_token_id),
        ("eos", t.eos_token_id),
        ("eot", t.eot_token_id),
        ("eom", t.eom_token_id),
        ("unk", t.unknown_token_id),
        ("pad", t.padding_token_id),
    ] {
        if let Some(id) = id {
            words.push(format!("{name} {id}"));
        }
    }
    if !words.is_empty() {
        push("tokenizer", words.join(", "));
    }
    if let Some(c) = &t.chat_template {
        let first: String = c.lines().next().unwrap_or("").chars().take(60).collect();
        let more = if first.len() < c.len() { "…" } else { "" };
        push(
            "chat template",
            format!(
                "{} chars: {first}{more}",
                thousands(c.chars().count() as u64)
            ),
        );
    }
    if !t.named_chat_templates.is_empty() {
        push("templates", t.named_chat_templates.join(", "));
    }
    if let Some(b) = model.bits_per_weight() {
        push("bits/weight", format!("{b:.2}"));
    }
    rows
}

/// The `glassbox summary --format json` document (docs/json.md).
pub fn render_summary_json(model: &Model, arch: &Architecture) -> String {
    let p = &arch.parameters;
    let doc = SummaryDocument {
        schema_version: SCHEMA_VERSION,
        model: ModelJson::new(model),
        architecture: ArchitectureJson {
            family: arch.family.as_deref(),
            family_known: arch.family_known,
            family_source: arch.family_source,
            family_evidence: &arch.family_evidence,
            signature: arch.signature,
            convention: arch.convention,
            kind: arch.kind,
            class: arch.class.as_deref(),
            hyper: &arch.hyper,
        },
        parameters: ParametersJson {
            total: p.total,
            by_component: p
                .by_component
                .iter()
                .map(|(c, n)| (c.name().to_owned(), serde_json::Value::from(*n)))
                .collect(),
            active: p.active,
            active_basis: p.active_basis.clone(),
        },
        blocks: arch
            .stacks
            .iter()
            .enumerate()
            .map(|(i, s)| StackJson {
                prefix: &s.prefix,
                count: s.count(),
                main: i == 0,
                groups: &s.groups,
            })
            .collect(),
        other_tensors: arch
            .others
            .iter()
            .map(|&i| {
                let t = &model.tensors[i];
                OtherTensorJson {
                    name: &t.name,
                    role: arch.roles[i].role,
                    component: arch.roles[i].component,
                    dtype: t.dtype.name(),
                    shape: &t.shape,
                    parameters: t.parameters(),
                }
            })
            .collect(),
        checks: &arch.checks,
        memory: &arch.memory,
        notes: &arch.notes,
        metadata: GgufMetadataJson::new(model),
    };
    json::to_string(&doc)
}

/// The tensors outside any repeated block: name (as `name` writes it), shape, dtype and role.
fn others_table(model: &Model, arch: &Architecture, name: impl Fn(&str) -> String) -> Table {
    let mut t = Table::new(&[
        ("tensor", Align::Left),
        ("shape", Align::Left),
        ("dtype", Align::Left),
        ("role", Align::Left),
    ]);
    for &i in &arch.others {
        let tensor = &model.tensors[i];
        t.push(vec![
            name(&tensor.name),
            shape(&tensor.shape),
            tensor.dtype.to_string(),
            arch.roles[i].role.label().to_owned(),
        ]);
    }
    t
}

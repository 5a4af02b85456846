//! `glassbox summary` (and `glassbox PATH`): the architecture at a glance ([`SummaryReport`]), as
//! aligned text for a terminal ([`render_summary_text`]) or markdown for a model card
//! ([`render_summary_markdown`]); the JSON is the report's serde form (docs/json.md). This module
//! holds what both faces write alike: labels, the family line, the checks, parameters and
//! outside-the-blocks tables, memory lines and the metadata rows.

mod markdown;
mod text;

pub use markdown::render_summary_markdown;
pub use text::render_summary_text;

use super::Tone;
use super::table::{Align, Table, human_bytes, shape, thousands};
use crate::arch::{BlockGroup, Component, Hyperparameters, Kind, Memory, Status, Value};
use crate::report::DTypeCount;
use crate::report::summary::{ArchitectureFacts, DeclaredBy, Metadata, Source, SummaryReport};

/// Words for a field name in tables.
pub(super) fn field_label(field: &str) -> String {
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

pub(super) fn status_label(s: Status) -> &'static str {
    match s {
        Status::Consistent => "consistent",
        Status::Contradicted => "CONTRADICTED",
        Status::DeclaredOnly => "declared only",
        Status::ObservedOnly => "observed only",
    }
}

pub(super) fn value(v: &Option<Value>) -> String {
    v.as_ref()
        .map(crate::arch::value_text)
        .unwrap_or_else(|| "-".to_owned())
}

/// The family line: `llama (decoder)` or `unrecognised`.
pub(super) fn family_line(arch: &ArchitectureFacts) -> String {
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

pub(super) fn kind_words(kind: Kind, h: &Hyperparameters) -> String {
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

pub(super) fn dtype_mix(list: &[DTypeCount]) -> String {
    let total: u64 = list.iter().map(|d| d.parameters).sum();
    match list {
        [] => "no tensors".to_owned(),
        [d] => d.dtype.name().to_owned(),
        _ => list
            .iter()
            .map(|d| format!("{} {}", d.dtype.name(), percent(d.parameters, total)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub(super) fn percent(n: u64, total: u64) -> String {
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

pub(super) fn files_words(report: &SummaryReport) -> String {
    let n = report.model.files.len();
    let remote = report.model.fetched_bytes.map_or(String::new(), |f| {
        format!(" (remote: headers only, {} fetched)", human_bytes(f))
    });
    format!(
        "{} in {n} file{}{remote}",
        human_bytes(report.model.bytes),
        if n == 1 { "" } else { "s" }
    )
}

pub(super) fn checks_table(report: &SummaryReport, markdown: bool) -> Table {
    let mut t = Table::new(&[
        ("field", Align::Left),
        ("declared", Align::Right),
        ("observed", Align::Right),
        ("status", Align::Left),
        ("how observed / declared", Align::Left),
    ]);
    let source = match report.declared_by {
        DeclaredBy::GgufMetadata => "GGUF",
        DeclaredBy::Config => "config",
    };
    for c in &report.checks {
        let how = match (&c.basis, &c.declared_key) {
            (Some(b), _) => b.to_string(),
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
        if c.status == Status::Contradicted {
            t.mark_last(3, Tone::Contradicted);
        }
    }
    t
}

pub(super) fn parameters_table(report: &SummaryReport) -> Table {
    let p = &report.parameters;
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

pub(super) fn component_label(c: Component) -> &'static str {
    match c {
        Component::Mtp => "multi-token prediction",
        other => other.name(),
    }
}

pub(super) fn group_header(g: &BlockGroup) -> String {
    format!(
        "{} x{}  ({} parameters{})",
        g.pattern,
        g.indices.len(),
        thousands(g.parameters_per_block),
        if g.indices.len() > 1 { " each" } else { "" }
    )
}

pub(super) fn memory_lines(m: &Memory) -> Vec<(String, String)> {
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

/// A base model or dataset in a few words: its name (or repository), organisation and version.
pub(super) fn source_words(s: &Source) -> String {
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

/// The rows the model's metadata adds to the summary's head: identity, lineage, tokenizer, chat
/// template (its size and opening, not the text), bits per weight. A continuation row has an empty
/// key.
pub(super) fn metadata_rows(metadata: Option<&Metadata>) -> Vec<(String, String)> {
    let Some(m) = metadata else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut push = |k: &str, v: String| rows.push((k.to_owned(), v));
    push("format", format!("GGUF v{}", m.gguf_version));
    if let Some(n) = &m.name {
        push("name", n.clone());
    }
    if let Some(l) = &m.license {
        push("license", l.clone());
    }
    for (i, b) in m.base_models.iter().enumerate() {
        push(if i == 0 { "base model" } else { "" }, source_words(b));
    }
    for (i, d) in m.datasets.iter().enumerate() {
        push(if i == 0 { "datasets" } else { "" }, source_words(d));
    }
    let t = &m.tokenizer;
    let mut words = Vec::new();
    if let Some(model) = &t.model {
        words.push(format!(
            "{model}{}",
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
    if let Some(c) = &m.chat_template {
        let more = if c.continues { "…" } else { "" };
        push(
            "chat template",
            format!("{} chars: {}{more}", thousands(c.chars), c.opening),
        );
    }
    if !t.named_chat_templates.is_empty() {
        push("templates", t.named_chat_templates.join(", "));
    }
    if let Some(b) = m.bits_per_weight {
        push("bits/weight", format!("{b:.2}"));
    }
    rows
}

/// The row naming the layers an Ollama manifest adds to the weights (template, system prompt,
/// parameters, licence…), with their sizes; none for a model from anywhere else.
pub(super) fn store_layer_rows(report: &SummaryReport) -> Vec<(String, String)> {
    let documents = &report.model.documents;
    if !documents.iter().any(|d| d.kind == "ollama_manifest") {
        return Vec::new();
    }
    let layers: Vec<String> = documents
        .iter()
        .filter(|d| d.kind != "ollama_manifest")
        .map(|d| format!("{} ({})", d.kind.replace('_', " "), human_bytes(d.bytes)))
        .collect();
    let words = if layers.is_empty() {
        "none besides the weights".to_owned()
    } else {
        layers.join(", ")
    };
    vec![("ollama layers".to_owned(), words)]
}

/// The tensors outside any repeated block: name (as `name` writes it), shape, dtype and role.
pub(super) fn others_table(report: &SummaryReport, name: impl Fn(&str) -> String) -> Table {
    let mut t = Table::new(&[
        ("tensor", Align::Left),
        ("shape", Align::Left),
        ("dtype", Align::Left),
        ("role", Align::Left),
    ]);
    for tensor in &report.other_tensors {
        t.push(vec![
            name(&tensor.name),
            shape(&tensor.shape),
            tensor.dtype.to_string(),
            tensor.role.label().to_owned(),
        ]);
    }
    t
}

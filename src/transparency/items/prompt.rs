//! Group E: the tokenizer, special tokens, chat template, what the template embeds (system
//! prompt, knowledge cutoff) and the decoding defaults.

use super::{Context, item, missing};
use crate::transparency::Item;
use crate::transparency::Status;

pub(super) fn e_prompt(ctx: &Context) -> Vec<Item> {
    let a = ctx.audit;
    let s = ctx.sources;
    let mut out = Vec::new();
    let tokenizer = s
        .tokenizer_model_type
        .as_ref()
        .map(|t| {
            (
                format!("{t} (tokenizer.json)"),
                "tokenizer.json `model.type`".to_owned(),
            )
        })
        .or_else(|| {
            let g = ctx.model.gguf.as_ref()?;
            let t = g.tokenizer();
            t.model.map(|m| {
                (
                    format!("{m}, {} tokens", t.tokens.unwrap_or(0)),
                    "GGUF `tokenizer.ggml.model`".to_owned(),
                )
            })
        })
        .or_else(|| {
            ctx.has_file(|f| matches!(f, "tokenizer.model" | "vocab.json" | "vocab.txt"))
                .first()
                .map(|f| (f.clone(), f.clone()))
        });
    out.push(match tokenizer {
        Some((v, src)) => item("E1", Status::Verified, Some(v), vec![src]),
        None => missing("E1"),
    });
    out.push(if a.special_tokens.is_empty() {
        missing("E2")
    } else {
        item(
            "E2",
            Status::Verified,
            Some(a.special_tokens.join(" ")),
            a.special_tokens_source.clone().into_iter().collect(),
        )
    });
    out.push(match (&a.template, &a.template_source) {
        (Some(t), Some(src)) => {
            let mut v = format!("{} characters", t.chars().count());
            if a.template_audit.tools {
                v.push_str(", formats tool calls");
            }
            if !a.named_templates.is_empty() {
                v.push_str(&format!("; also {}", a.named_templates.join(", ")));
            }
            if a.template_differs_in_gguf {
                item(
                    "E3",
                    Status::Contradicted,
                    Some(format!(
                        "{v}; the GGUF's `tokenizer.chat_template` is a different text"
                    )),
                    vec![src.clone(), "GGUF `tokenizer.chat_template`".into()],
                )
            } else {
                item("E3", Status::Verified, Some(v), vec![src.clone()])
            }
        }
        _ => missing("E3"),
    });
    let shown: Vec<String> = [
        &a.template_audit.system_prompt,
        &a.template_audit.knowledge_cutoff,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    out.push(if shown.is_empty() {
        missing("E4")
    } else {
        item(
            "E4",
            Status::Verified,
            Some(shown.join(" | ")),
            a.template_source.clone().into_iter().collect(),
        )
    });
    const DECODING: &[&str] = &[
        "temperature",
        "top_p",
        "top_k",
        "repetition_penalty",
        "max_new_tokens",
        "max_length",
        "do_sample",
    ];
    let mut defaults: Vec<String> = Vec::new();
    let mut ev = Vec::new();
    if let Some(g) = &s.generation_config {
        for k in DECODING {
            if let Some(v) = g.get(*k) {
                defaults.push(format!("{k}={v}"));
            }
        }
        if !defaults.is_empty() {
            ev.push("generation_config.json".to_owned());
        }
    }
    if let Some(g) = &ctx.model.gguf {
        for (k, v) in g.metadata.entries() {
            if let Some(name) = k.strip_prefix("general.sampling.") {
                let v = v
                    .as_f64()
                    .map(|x| x.to_string())
                    .or_else(|| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                defaults.push(format!("{name}={v}"));
                if !ev.iter().any(|e| e == "GGUF `general.sampling.*`") {
                    ev.push("GGUF `general.sampling.*`".into());
                }
            }
        }
    }
    out.push(if defaults.is_empty() {
        missing("E5")
    } else {
        item("E5", Status::Declared, Some(defaults.join(", ")), ev)
    });
    out
}

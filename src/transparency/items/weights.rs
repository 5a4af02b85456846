//! Groups C and D: the architecture and size items, from the declared-vs-observed checks of
//! [`crate::arch`] and the parameter and context claims of the card; the weights, their precision,
//! quantisation, fingerprints and checkpoints.

use serde_json::Value;

use super::{Context, declared_name, files, item, missing};
use crate::arch;
use crate::text::thousands;
use crate::transparency::Item;
use crate::transparency::Status;
use crate::transparency::claims::{Claim, claim_agrees, context_claims, parameter_claims};

/// Collapses the arch checks of some fields into one status and value.
pub(super) fn from_checks(ctx: &Context, id: &'static str, fields: &[&str]) -> Item {
    let checks: Vec<&arch::Check> = fields.iter().filter_map(|f| ctx.arch.check(f)).collect();
    if checks.is_empty() {
        return missing(id);
    }
    use arch::Status as S;
    let status = if checks.iter().any(|c| c.status == S::Contradicted) {
        Status::Contradicted
    } else if checks.iter().all(|c| c.status == S::DeclaredOnly) {
        Status::Declared
    } else if checks.iter().all(|c| c.status == S::ObservedOnly) {
        Status::Verified
    } else {
        // Declared values checked against the weights (or some only declared beside the
        // checked ones, as attention heads are when the head size is not stored apart): the
        // item is as good as its declarations, not read from the bytes alone.
        Status::Consistent
    };
    let value = checks
        .iter()
        .map(|c| {
            let shown = c.observed.as_ref().or(c.declared.as_ref()).map(show_value);
            let mut s = format!("{} {}", c.field, shown.unwrap_or_default());
            if c.status == S::Contradicted {
                s.push_str(&format!(
                    " (declared {})",
                    c.declared.as_ref().map(show_value).unwrap_or_default()
                ));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    let evidence = checks
        .iter()
        .map(|c| {
            let mut parts = Vec::new();
            if let Some(k) = &c.declared_key {
                parts.push(format!("declared {k}"));
            }
            if let Some(b) = &c.basis {
                parts.push(format!("observed {b}"));
            }
            format!("{}: {}", c.field, parts.join("; "))
        })
        .collect();
    item(id, status, Some(value), evidence)
}

pub(super) fn show_value(v: &arch::Value) -> String {
    match v {
        arch::Value::Count(n) => thousands(*n),
        arch::Value::Flag(b) => b.to_string(),
        arch::Value::Number(x) => x.to_string(),
        arch::Value::Text(s) => s.clone(),
    }
}

pub(super) fn c_architecture(ctx: &Context) -> Vec<Item> {
    let a = ctx.arch;
    let mut out = Vec::new();
    let c1 = match &a.family {
        Some(f) => {
            // A family glassbox has no rules for stays declared even when its tensor names
            // resemble a known one: resembling BERT does not verify `nomic_bert`.
            let mut it = from_checks(ctx, "C1", &["family"]);
            if it.status == Status::Missing {
                it.status = Status::Declared;
                it.bucket = it.status.bucket();
            }
            it.value = Some(f.clone());
            it.evidence.push(a.family_evidence.to_string());
            it
        }
        None => missing("C1"),
    };
    out.push(c1);
    out.push(c2_parameters(ctx));
    out.push(match (a.parameters.active, a.hyper.experts) {
        (Some(n), _) => item(
            "C3",
            Status::Derived,
            Some(n.to_string()),
            a.parameters
                .active_basis
                .iter()
                .map(|b| b.to_string())
                .collect(),
        ),
        (None, Some(_)) => missing("C3"),
        (None, None) => item(
            "C3",
            Status::NotApplicable,
            Some("dense model".into()),
            vec![],
        ),
    });
    out.push(from_checks(ctx, "C4", &["layers"]));
    out.push(from_checks(ctx, "C5", &["hidden_size"]));
    out.push(from_checks(
        ctx,
        "C6",
        &["attention_heads", "kv_heads", "head_dim", "attention_width"],
    ));
    out.push(from_checks(
        ctx,
        "C7",
        &["intermediate_size", "expert_intermediate_size"],
    ));
    out.push(from_checks(ctx, "C8", &["vocab_size", "tokenizer_size"]));
    out.push(if a.hyper.experts.is_some() {
        from_checks(
            ctx,
            "C9",
            &["experts", "experts_per_token", "shared_experts"],
        )
    } else {
        item(
            "C9",
            Status::NotApplicable,
            Some("dense model".into()),
            vec![],
        )
    });
    out.push(c10_context(ctx));
    out.push(c11_positions(ctx));
    out.push(c12_tied(ctx));
    let comps: Vec<String> = a
        .parameters
        .by_component
        .iter()
        .map(|(c, n)| format!("{} {}", c.name(), thousands(*n)))
        .collect();
    out.push(if comps.is_empty() {
        missing("C13")
    } else {
        item(
            "C13",
            Status::Verified,
            Some(comps.join(", ")),
            vec!["tensor names and shapes".into()],
        )
    });
    out
}

/// C11. RoPE parameters are only ever declared; a model with learned absolute positions (BERT,
/// GPT-2, ViT) or T5's relative position buckets carries its positional encoding in the weights,
/// so there the item is verified rather than missing.
fn c11_positions(ctx: &Context) -> Item {
    let rope = from_checks(ctx, "C11", &["rope_theta"]);
    if rope.status != Status::Missing {
        return rope;
    }
    use arch::basis::{Basis, Dimension};
    let observed = |field: &str| {
        ctx.arch
            .check(field)
            .and_then(|c| match (&c.observed, &c.basis) {
                (Some(arch::Value::Count(n)), Some(Basis::Dimension { tensor, dimension })) => {
                    Some((*n, tensor.clone(), *dimension))
                }
                _ => None,
            })
    };
    let found = match observed("context_length") {
        Some((n, tensor, Dimension::LearnedPositions)) => Some((
            format!("learned absolute positions, {n} of them"),
            format!("observed {tensor} (a table of trained position vectors)"),
        )),
        _ => observed("relative_attention_num_buckets").map(|(n, tensor, _)| {
            (
                format!("relative position buckets, {n} of them"),
                format!("observed {tensor} rows (learned relative attention bias)"),
            )
        }),
    };
    match found {
        Some((value, evidence)) => item("C11", Status::Verified, Some(value), vec![evidence]),
        None => rope,
    }
}

/// C12. Nothing to tie in an encoder or image model that has no language-model head (no output
/// projection, no prediction head): not applicable rather than missing.
fn c12_tied(ctx: &Context) -> Item {
    let it = from_checks(ctx, "C12", &["tied_embeddings"]);
    let headless = matches!(
        ctx.arch.kind,
        Some(arch::rules::Kind::Encoder | arch::rules::Kind::Vision)
    );
    if it.status == Status::Missing && headless {
        return item(
            "C12",
            Status::NotApplicable,
            Some("no language-model head".into()),
            vec!["no output projection or prediction head among the tensors".into()],
        );
    }
    it
}

pub(super) fn c2_parameters(ctx: &Context) -> Item {
    let total = ctx.arch.parameters.total;
    let mut claims = Vec::new();
    if let Some(v) = ctx.gguf_str("general.size_label") {
        claims.extend(parameter_claims(&v, "GGUF `general.size_label`"));
    }
    if let Some((name, src)) = declared_name(ctx) {
        claims.extend(parameter_claims(&name, &src));
    }
    if let Some(card) = ctx.card() {
        claims.extend(parameter_claims(&card.body, "README.md prose"));
    }
    let mut evidence = vec![format!(
        "Σ tensor shapes over {} tensors in {}",
        ctx.model.tensors.len(),
        files(ctx.model.files.len())
    )];
    if claims.is_empty() {
        return item("C2", Status::Verified, Some(thousands(total)), evidence);
    }
    // The title is both the declared name and the first line of the prose: one claim, once.
    let mut seen = std::collections::HashSet::new();
    claims.retain(|c| seen.insert(c.text.clone()));
    let wrong: Vec<&Claim> = claims.iter().filter(|c| !claim_agrees(c, total)).collect();
    for c in &claims {
        evidence.push(format!("{} claims \"{}\"", c.source, c.text));
    }
    if wrong.is_empty() {
        item("C2", Status::Consistent, Some(thousands(total)), evidence)
    } else {
        item(
            "C2",
            Status::Contradicted,
            Some(format!(
                "{} counted; claimed {}",
                thousands(total),
                wrong
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            evidence,
        )
    }
}

pub(super) fn c10_context(ctx: &Context) -> Item {
    let mut it = from_checks(ctx, "C10", &["context_length"]);
    let Some(declared) = ctx.arch.hyper.context_length else {
        return it;
    };
    let Some(card) = ctx.card() else { return it };
    for (text, value) in context_claims(&card.body) {
        // `8K` may mean 8000 or 8192.
        let agrees = value == declared || text.ends_with('k') && value / 1024 * 1000 == declared;
        it.evidence
            .push(format!("README.md prose claims a context of {text}"));
        if !agrees {
            it.status = Status::Contradicted;
            it.bucket = it.status.bucket();
            it.value = Some(format!(
                "{} in the config; the card claims {text}",
                thousands(declared)
            ));
        }
    }
    it
}

pub(super) fn d_weights(ctx: &Context) -> Vec<Item> {
    let m = ctx.model;
    let mut out = vec![item(
        "D1",
        Status::Verified,
        Some(format!(
            "{} tensors in {}, {} bytes of tensor data",
            thousands(m.tensors.len() as u64),
            files(m.files.len()),
            thousands(m.tensor_bytes_total())
        )),
        m.files.iter().map(|f| f.name.clone()).collect(),
    )];
    let mut d2 = from_checks(ctx, "D2", &["dtype"]);
    let hist: Vec<String> = m
        .parameters_by_dtype()
        .iter()
        .map(|(d, n)| format!("{} {}", d.name(), thousands(*n)))
        .collect();
    if d2.status == Status::Missing || d2.status == Status::Declared {
        d2.status = Status::Verified;
        d2.bucket = d2.status.bucket();
    }
    d2.value = Some(match d2.value {
        Some(v) if d2.status == Status::Contradicted => format!("{}; {v}", hist.join(", ")),
        _ => hist.join(", "),
    });
    d2.evidence.push("tensor header dtypes".into());
    out.push(d2);
    let quant = m
        .config
        .as_ref()
        .and_then(|c| c.get("quantization_config"))
        .and_then(|q| q.get("quant_method"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let quantised_types: Vec<String> = m
        .parameters_by_dtype()
        .keys()
        .map(|d| d.name().to_string())
        .filter(|n| n.starts_with('Q') || n.starts_with("IQ") || n.starts_with("TQ"))
        .collect();
    out.push(match (quant, quantised_types.is_empty()) {
        (Some(q), _) => item(
            "D3",
            Status::Declared,
            Some(q),
            vec!["config.json `quantization_config.quant_method`".into()],
        ),
        (None, false) => item(
            "D3",
            Status::Verified,
            Some(format!("ggml {}", quantised_types.join(", "))),
            vec!["GGUF tensor types".into()],
        ),
        (None, true) => item(
            "D3",
            Status::NotApplicable,
            Some("not quantised".into()),
            vec![],
        ),
    });
    out.push(match ctx.hashes {
        Some(h) => {
            let wrong: Vec<&str> = crate::transparency::hash::content_mismatches(h)
                .map(|f| f.file.as_str())
                .collect();
            if wrong.is_empty() {
                item(
                    "D4",
                    Status::Verified,
                    Some(format!("SHA-256 of {}", files(h.len()))),
                    h.iter().map(|f| f.file.clone()).collect(),
                )
            } else {
                item(
                    "D4",
                    Status::Contradicted,
                    Some(format!(
                        "SHA-256 of {}; {} not what its store blob's name says",
                        files(h.len()),
                        wrong.join(", ")
                    )),
                    h.iter().map(|f| f.file.clone()).collect(),
                )
            }
        }
        None => item(
            "D4",
            Status::NotAssessable,
            Some("not computed (hashing skipped)".into()),
            vec![],
        ),
    });
    let checkpoints: Vec<String> = ctx
        .sources
        .dirs
        .iter()
        .filter(|d| d.starts_with("checkpoint-") || d.starts_with("step"))
        .cloned()
        .collect();
    let revisions = ctx
        .card()
        .is_some_and(|c| c.body.contains("revision=\"step") || c.body.contains("revision='step"));
    out.push(if !checkpoints.is_empty() {
        item(
            "D5",
            Status::Verified,
            Some(checkpoints.join(", ")),
            vec!["sub-folders".into()],
        )
    } else if revisions {
        item(
            "D5",
            Status::Referenced,
            Some("intermediate revisions named in the card".into()),
            vec!["README.md `revision=\"step…\"`".into()],
        )
    } else {
        missing("D5")
    });
    const TRAINING_FILES: &[&str] = &[
        "trainer_state.json",
        "training_args.bin",
        "optimizer.pt",
        "scheduler.pt",
        "all_results.json",
        "train_results.json",
        "eval_results.json",
    ];
    let present = ctx.has_file(|f| TRAINING_FILES.contains(&f) || f.starts_with("rng_state"));
    out.push(if present.is_empty() {
        missing("D6")
    } else {
        item(
            "D6",
            Status::Verified,
            Some(present.join(", ")),
            vec!["files present".into()],
        )
    });
    out
}

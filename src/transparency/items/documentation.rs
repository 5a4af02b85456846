//! Groups F, G, H and I: what the card (and GGUF metadata) says about data, training, evaluation
//! and use, section by section, with placeholders told apart from content.

use serde_json::Value;

use super::{Context, item, missing, model_index_results, section_item};
use crate::transparency::Item;
use crate::transparency::Status;
use crate::transparency::card::Labelled;
use crate::transparency::claims::{data_size_claim, hardware_claim};

pub(super) fn f_data(ctx: &Context) -> Vec<Item> {
    let card = ctx.card();
    let mut datasets: Vec<String> = card.map(|c| c.strings("datasets")).unwrap_or_default();
    let mut ev = Vec::new();
    if !datasets.is_empty() {
        ev.push("README.md front matter `datasets`".to_owned());
    }
    if let Some(g) = &ctx.model.gguf {
        let d: Vec<String> = g
            .datasets()
            .into_iter()
            .filter_map(|s| s.name.or(s.repo_url))
            .collect();
        if !d.is_empty() {
            ev.push("GGUF `general.dataset(s)`".into());
            datasets.extend(d);
        }
    }
    datasets.dedup();
    let f1 = if !datasets.is_empty() {
        item("F1", Status::Declared, Some(datasets.join(", ")), ev)
    } else {
        section_item(ctx, "F1", &["Training Data"], Status::DeclaredText)
    };
    let f2 = card
        .and_then(|c| data_size_claim(&c.body))
        .map(|t| {
            item(
                "F2",
                Status::DeclaredText,
                Some(t),
                vec!["README.md prose".into()],
            )
        })
        .unwrap_or_else(|| missing("F2"));
    let f3 = data_card(ctx);
    let mut langs = card.map(|c| c.strings("language")).unwrap_or_default();
    let mut lev = Vec::new();
    if !langs.is_empty() {
        lev.push("README.md front matter `language`".to_owned());
    }
    if let Some(l) = ctx
        .model
        .gguf
        .as_ref()
        .and_then(|g| g.metadata.get_str_array("general.languages"))
    {
        langs.extend(l.into_iter().map(str::to_owned));
        lev.push("GGUF `general.languages`".into());
    }
    let f4 = if langs.is_empty() {
        missing("F4")
    } else {
        item("F4", Status::Declared, Some(langs.join(", ")), lev)
    };
    let mut eval_sets: Vec<String> = model_index_results(card)
        .iter()
        .filter_map(|r| {
            let d = r.get("dataset")?;
            d.get("type")
                .or_else(|| d.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let mut eval_evidence = Vec::new();
    if !eval_sets.is_empty() {
        eval_evidence.push("README.md `model-index[].results[].dataset`".to_owned());
    }
    let from_files: Vec<String> = ctx
        .sources
        .eval_results
        .iter()
        .filter_map(|r| r.dataset.clone())
        .collect();
    if !from_files.is_empty() {
        eval_evidence.push("`.eval_results/*.yaml` `dataset.id`".to_owned());
        eval_sets.extend(from_files);
    }
    let f5 = if eval_sets.is_empty() {
        missing("F5")
    } else {
        eval_sets.sort();
        eval_sets.dedup();
        item(
            "F5",
            Status::Referenced,
            Some(eval_sets.join(", ")),
            eval_evidence,
        )
    };
    let quantised = ctx.model.gguf.is_some()
        && ctx
            .model
            .parameters_by_dtype()
            .keys()
            .any(|d| d.name().starts_with('Q') || d.name().starts_with("IQ"));
    let f6 = match ctx.gguf_str("quantize.imatrix.dataset") {
        Some(d) => item(
            "F6",
            Status::Declared,
            Some(d),
            vec!["GGUF `quantize.imatrix.dataset`".into()],
        ),
        // llama.cpp writes `quantize.imatrix.*` when an importance matrix (calibration data)
        // shaped the quantisation; without one, k-quants and legacy quants use none. The
        // low-bit IQ types need one, keys or not.
        None if quantised && !imatrix_used(ctx) => item(
            "F6",
            Status::NotApplicable,
            Some("no importance matrix recorded: quantised without calibration data".into()),
            vec!["no GGUF `quantize.imatrix.*` key".into()],
        ),
        None if quantised => missing("F6"),
        None => item(
            "F6",
            Status::NotApplicable,
            Some("not quantised".into()),
            vec![],
        ),
    };
    vec![f1, f2, f3, f4, f5, f6]
}

/// Whether calibration data shaped a GGUF's quantisation: an importance matrix recorded
/// (`quantize.imatrix.*`) or the IQ1-IQ3 types, which llama.cpp makes only with one.
fn imatrix_used(ctx: &Context) -> bool {
    let Some(g) = &ctx.model.gguf else {
        return false;
    };
    g.metadata
        .entries()
        .iter()
        .any(|(k, _)| k.starts_with("quantize.imatrix."))
        || ctx.model.parameters_by_dtype().keys().any(|d| {
            let n = d.name();
            n.starts_with("IQ1") || n.starts_with("IQ2") || n.starts_with("IQ3")
        })
}

/// The aspects of spec F3's data-card checklist, each with the words that mention it. Dedup needs
/// words about removing duplicates: "duplicate" alone also names data ("duplicate question
/// pairs", all-MiniLM-L6-v2's card).
const DATA_ASPECTS: &[(&str, &[&str])] = &[
    ("source", &["source", "collected", "crawl", "corpus"]),
    ("size", &["tokens", "examples", "documents", "samples"]),
    ("filtering", &["filter", "selection", "selected"]),
    (
        "dedup",
        &[
            "dedup",
            "de-dup",
            "duplicates removed",
            "duplicates were removed",
            "remove duplicate",
            "removed duplicate",
            "removing duplicate",
        ],
    ),
    ("labeling", &["label", "annotat"]),
    ("synthetic", &["synthetic"]),
    ("pii", &["pii", "personal"]),
    ("licensing", &["license", "licence", "copyright"]),
];

/// The [`DATA_ASPECTS`] that lower-case `text` mentions.
fn data_aspects(text: &str) -> Vec<&'static str> {
    DATA_ASPECTS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(name, _)| *name)
        .collect()
}

/// The data card's sub-checklist (spec F3): which of provenance, size, filtering, dedup, labeling,
/// synthetic data, PII and licensing the Training Data and Preprocessing sections mention.
pub(super) fn data_card(ctx: &Context) -> Item {
    let mut it = section_item(ctx, "F3", &["Training Data"], Status::DeclaredText);
    if it.status != Status::DeclaredText {
        return it;
    }
    let card = ctx.card().expect("a section was found");
    let mut text = card
        .section(&["Training Data"])
        .map(|s| s.text.to_lowercase())
        .unwrap_or_default();
    if let Some(p) = card.section(&["Preprocessing"]) {
        text.push_str(&p.text.to_lowercase());
    }
    let found = data_aspects(&text);
    it.value = Some(format!(
        "{}/{} aspects: {}",
        found.len(),
        DATA_ASPECTS.len(),
        if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        }
    ));
    it
}

pub(super) fn g_training(ctx: &Context) -> Vec<Item> {
    let card = ctx.card();
    let g1 = section_item(
        ctx,
        "G1",
        &[
            "Training Procedure",
            "Training Details",
            "Model Architecture and Objective",
        ],
        Status::DeclaredText,
    );
    let g2 = if !ctx
        .has_file(|f| f == "trainer_state.json" || f == "training_args.bin")
        .is_empty()
    {
        item(
            "G2",
            Status::Verified,
            Some("trainer state on disk".into()),
            vec!["trainer_state.json / training_args.bin".into()],
        )
    } else {
        section_item(
            ctx,
            "G2",
            &[
                "Training Hyperparameters",
                "Hyperparameters",
                "Hyper-parameters",
                "Training Hyper-parameters",
            ],
            Status::Declared,
        )
    };
    let g3 = match card.and_then(|c| c.labelled("Hours used")) {
        Some(Labelled::Value(v)) => item(
            "G3",
            Status::Declared,
            Some(format!("{v} hours")),
            vec!["README.md \"Hours used\"".into()],
        ),
        Some(Labelled::Placeholder) => item(
            "G3",
            Status::Placeholder,
            None,
            vec!["README.md \"Hours used\"".into()],
        ),
        None => match card.and_then(|c| compute_claim(&c.body)) {
            Some(c) => item(
                "G3",
                Status::DeclaredText,
                Some(c),
                vec!["README.md prose".into()],
            ),
            None => missing("G3"),
        },
    };
    let co2 = card.and_then(|c| c.key("co2_eq_emissions"));
    let hardware = co2
        .and_then(|c| c.get("hardware_used"))
        .and_then(crate::transparency::card::scalar_text)
        .map(|v| {
            (
                Labelled::Value(v),
                "README.md `co2_eq_emissions.hardware_used`",
            )
        })
        .or_else(|| {
            card.and_then(|c| c.labelled("Hardware Type"))
                .map(|l| (l, "README.md \"Hardware Type\""))
        })
        .or_else(|| {
            card.and_then(|c| c.labelled("Cloud Provider"))
                .map(|l| (l, "README.md \"Cloud Provider\""))
        });
    let g4 = match hardware {
        Some((Labelled::Value(v), src)) => item("G4", Status::Declared, Some(v), vec![src.into()]),
        Some((Labelled::Placeholder, src)) => {
            item("G4", Status::Placeholder, None, vec![src.into()])
        }
        None => match card.and_then(|c| hardware_claim(&c.body)) {
            Some(h) => item(
                "G4",
                Status::DeclaredText,
                Some(h),
                vec!["README.md prose".into()],
            ),
            None => missing("G4"),
        },
    };
    let g5 = match co2.and_then(|c| {
        c.get("emissions")
            .or(Some(c))
            .and_then(crate::transparency::card::scalar_text)
    }) {
        Some(v) => item(
            "G5",
            Status::Declared,
            Some(format!("{v} g CO2eq")),
            vec!["README.md `co2_eq_emissions.emissions`".into()],
        ),
        None => match card.and_then(|c| c.labelled("Carbon Emitted")) {
            Some(Labelled::Value(v)) => item(
                "G5",
                Status::Declared,
                Some(v),
                vec!["README.md \"Carbon Emitted\"".into()],
            ),
            Some(Labelled::Placeholder) => item(
                "G5",
                Status::Placeholder,
                None,
                vec!["README.md \"Carbon Emitted\"".into()],
            ),
            None => missing("G5"),
        },
    };
    let library = card.and_then(|c| c.strings("library_name").into_iter().next());
    let serializer = ctx.config_str("transformers_version");
    let g6 = match (serializer, library) {
        (Some(v), lib) => item(
            "G6",
            Status::Verified,
            Some(format!(
                "serialised by transformers {v}{}",
                lib.map(|l| format!("; library {l}")).unwrap_or_default()
            )),
            vec!["config.json `transformers_version`".into()],
        ),
        (None, Some(l)) => item(
            "G6",
            Status::Declared,
            Some(l),
            vec!["README.md `library_name`".into()],
        ),
        (None, None) => missing("G6"),
    };
    vec![g1, g2, g3, g4, g5, g6]
}

/// "GPU hours" or "FLOPs" figures in the prose.
pub(super) fn compute_claim(text: &str) -> Option<String> {
    text.lines()
        .find(|l| {
            let l = l.to_lowercase();
            (l.contains("gpu hours") || l.contains("gpu-hours") || l.contains("flops"))
                && l.chars().any(|c| c.is_ascii_digit())
        })
        .map(|l| crate::transparency::card::excerpt(l.trim(), 100))
}

pub(super) fn h_evaluation(ctx: &Context) -> Vec<Item> {
    let results = model_index_results(ctx.card());
    let metrics: usize = results
        .iter()
        .filter_map(|r| r.get("metrics")?.as_array().map(Vec::len))
        .sum();
    let files = &ctx.sources.eval_results;
    let mut parts = Vec::new();
    let mut evidence = Vec::new();
    if metrics > 0 {
        parts.push(format!(
            "{metrics} metric(s) over {} result(s)",
            results.len()
        ));
        evidence.push("README.md `model-index`".to_owned());
    }
    if !files.is_empty() {
        let signed = files.iter().filter(|r| r.signed).count();
        let mut part = format!("{} result(s) in `.eval_results/`", files.len());
        if signed > 0 {
            part.push_str(&format!(
                ", {signed} platform-signed (unchecked: a verify token cannot be checked offline)"
            ));
        }
        parts.push(part);
        evidence.push("`.eval_results/*.yaml`".to_owned());
    }
    let h1 = if parts.is_empty() {
        section_item(
            ctx,
            "H1",
            &[
                "Results",
                "Evaluation",
                "Evaluation Results",
                "Benchmarks",
                "Benchmark Results",
            ],
            Status::DeclaredText,
        )
    } else {
        item("H1", Status::Declared, Some(parts.join("; ")), evidence)
    };
    let h2 = section_item(
        ctx,
        "H2",
        &[
            "Bias, Risks, and Limitations",
            "Bias, Risks and Limitations",
            "Limitations and Bias",
            "Limitations",
            "Risks",
            "Bias",
        ],
        Status::DeclaredText,
    );
    const HARNESSES: &[&str] = &[
        "lm-evaluation-harness",
        "lm_eval",
        "lighteval",
        "opencompass",
        "helm",
    ];
    let local = ctx.has_file(|f| f.starts_with("eval") && f.ends_with(".py"));
    let referenced = ctx.card().and_then(|c| {
        let lower = c.body.to_lowercase();
        HARNESSES.iter().find(|h| lower.contains(*h)).copied()
    });
    let h3 = if !local.is_empty() {
        item(
            "H3",
            Status::Verified,
            Some(local.join(", ")),
            vec!["files present".into()],
        )
    } else if let Some(h) = referenced {
        item(
            "H3",
            Status::Referenced,
            Some(h.into()),
            vec!["README.md".into()],
        )
    } else {
        missing("H3")
    };
    vec![h1, h2, h3]
}

pub(super) fn i_documentation(ctx: &Context) -> Vec<Item> {
    let i1 = match ctx.card() {
        None => missing("I1"),
        Some(card) => {
            let (filled, total) = card.filled_ratio();
            let status = if total > 0 && filled * 2 < total
                || card.trainer_autocard && filled * 3 < total * 2
            {
                Status::Placeholder
            } else {
                Status::Verified
            };
            item(
                "I1",
                status,
                Some(format!(
                    "{filled} of its {total} sections have content{}",
                    if card.trainer_autocard {
                        " (Trainer auto-card)"
                    } else {
                        ""
                    }
                )),
                vec!["README.md".into()],
            )
        }
    };
    let mut i2 = section_item(
        ctx,
        "I2",
        &[
            "Uses",
            "Intended Uses",
            "Intended use",
            "Direct Use",
            "Intended uses & limitations",
        ],
        Status::Declared,
    );
    if i2.status == Status::Missing
        && let Some(tag) = ctx
            .card()
            .and_then(|c| c.strings("pipeline_tag").into_iter().next())
    {
        i2 = item(
            "I2",
            Status::Declared,
            Some(tag),
            vec!["README.md `pipeline_tag`".into()],
        );
    }
    let i3 = section_item(
        ctx,
        "I3",
        &["Model Card Contact", "Contact"],
        Status::Declared,
    );
    let i4 = section_item(
        ctx,
        "I4",
        &[
            "How to Get Started with the Model",
            "Usage",
            "How to use",
            "Quickstart",
        ],
        Status::Declared,
    );
    vec![i1, i2, i3, i4]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_is_read_from_words_about_removing_duplicates_not_from_data_names() {
        assert_eq!(
            data_aspects("| duplicate question pairs | stackexchange | 100,000 examples |"),
            ["size"]
        );
        for said in [
            "we deduplicated the corpus",
            "near-duplicates were removed with minhash",
            "after removing duplicates",
            "de-duplication at the document level",
        ] {
            assert!(data_aspects(said).contains(&"dedup"), "{said}");
        }
    }
}

//! The disclosure items of spec §2, groups A–K, each decided from the files: the architecture
//! items from the declared-vs-observed checks of [`crate::arch`], the card items from the front
//! matter and sections, the licence items from [`super::license`], the prompt items from
//! [`super::audit`]. Claims in the card's prose that can be checked are checked: a parameter count
//! ("7B", "1.1B parameters") against the weights, a context length against the config.

mod code;
mod documentation;
mod prompt;
mod weights;

use code::j_code;
use documentation::{f_data, g_training, h_evaluation, i_documentation};
use prompt::e_prompt;
use weights::{c_architecture, d_weights};

use serde_json::Value;

use super::audit::PromptAudit;
use super::claims::arxiv_ids;
use super::closed_api::closed_api;
use super::hash::FileHash;
use super::license::{LicenseClass, LicenseReport};
use super::sources::Sources;
use super::{Group, Item, Status};
use crate::arch::Architecture;
use crate::model::Model;
use crate::transparency::card::{Card, Fill, Labelled};

/// Everything the items are decided from.
pub struct Context<'a> {
    pub model: &'a Model,
    pub arch: &'a Architecture,
    pub sources: &'a Sources,
    pub license: &'a LicenseReport,
    pub audit: &'a PromptAudit,
    /// `None` when hashing was skipped.
    pub hashes: Option<&'a [FileHash]>,
    /// The lineage claim checked against a base's weights, with `--base`.
    pub base: Option<&'a super::BaseCheck>,
}

impl Context<'_> {
    fn card(&self) -> Option<&Card> {
        self.sources.card.as_ref()
    }

    /// The tags a model carries, per source: the card's `tags` and GGUF `general.tags`.
    fn tags(&self) -> Vec<(Vec<String>, &'static str)> {
        let mut out = Vec::new();
        if let Some(card) = self.card() {
            out.push((card.strings("tags"), "README.md `tags`"));
        }
        if let Some(g) = self.model.gguf.as_ref()
            && let Some(tags) = g.metadata.get_str_array("general.tags")
        {
            out.push((
                tags.into_iter().map(str::to_owned).collect(),
                "GGUF `general.tags`",
            ));
        }
        out
    }

    fn gguf_str(&self, key: &str) -> Option<String> {
        self.model
            .gguf
            .as_ref()?
            .metadata
            .get_str(key)
            .map(str::to_owned)
    }

    fn config_str(&self, key: &str) -> Option<String> {
        self.model
            .config
            .as_ref()?
            .get(key)
            .and_then(crate::transparency::card::scalar_text)
    }

    fn has_file(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        self.sources
            .files
            .iter()
            .filter(|f| pred(f))
            .cloned()
            .collect()
    }
}

/// Builds one item; the name and closed-API column come from the table.
fn item(id: &'static str, status: Status, value: Option<String>, evidence: Vec<String>) -> Item {
    let (name, closed) = closed_api(id);
    let group = match id.as_bytes()[0] {
        b'A' => Group::A,
        b'B' => Group::B,
        b'C' => Group::C,
        b'D' => Group::D,
        b'E' => Group::E,
        b'F' => Group::F,
        b'G' => Group::G,
        b'H' => Group::H,
        b'I' => Group::I,
        b'J' => Group::J,
        _ => Group::K,
    };
    Item {
        id,
        group,
        item: name,
        status,
        bucket: status.bucket(),
        value,
        evidence,
        closed_api: closed,
    }
}

/// `1 file`, `7 files`.
fn files(n: usize) -> String {
    format!("{n} {}", crate::text::plural(n as u64, "file", "files"))
}

fn missing(id: &'static str) -> Item {
    item(id, Status::Missing, None, vec![])
}

/// The model's name: card `model-index[0].name`, GGUF `general.name`, the card's title, the
/// config's `_name_or_path` when it looks like `org/name`, else the folder or file name.
pub fn model_name(ctx: &Context) -> String {
    declared_name(ctx).map(|(v, _)| v).unwrap_or_else(|| {
        let p = &ctx.model.path;
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    })
}

fn declared_name(ctx: &Context) -> Option<(String, String)> {
    let card = ctx.card();
    card.and_then(|c| c.key("model-index"))
        .and_then(|m| m.get(0)?.get("name")?.as_str().map(str::to_owned))
        .map(|v| (v, "README.md front matter `model-index[0].name`".to_owned()))
        .or_else(|| {
            ctx.gguf_str("general.name")
                .map(|v| (v, "GGUF `general.name`".into()))
        })
        .or_else(|| {
            card.and_then(|c| c.title.clone())
                .map(|v| (v, "README.md title".into()))
        })
        .or_else(|| {
            ctx.config_str("_name_or_path")
                .filter(|v| v.matches('/').count() == 1 && !v.starts_with('/'))
                .map(|v| (v, "config.json `_name_or_path`".into()))
        })
}

/// Every item of §2, in ID order.
pub fn build_items(ctx: &Context) -> Vec<Item> {
    let mut out = vec![
        a1_name(ctx),
        a2_developer(ctx),
        a3_lineage(ctx),
        a4_version(ctx),
        a5_paper(ctx),
    ];
    out.extend(b_license(ctx));
    out.extend(c_architecture(ctx));
    out.extend(d_weights(ctx));
    out.extend(e_prompt(ctx));
    out.extend(f_data(ctx));
    out.extend(g_training(ctx));
    out.extend(h_evaluation(ctx));
    out.extend(i_documentation(ctx));
    out.extend(j_code(ctx));
    out.push(k1_gating(ctx));
    out
}

fn a1_name(ctx: &Context) -> Item {
    match declared_name(ctx) {
        Some((v, src)) => item("A1", Status::Declared, Some(v), vec![src]),
        None => missing("A1"),
    }
}

fn a2_developer(ctx: &Context) -> Item {
    for key in ["general.author", "general.organization"] {
        if let Some(v) = ctx.gguf_str(key) {
            return item(
                "A2",
                Status::Declared,
                Some(v),
                vec![format!("GGUF `{key}`")],
            );
        }
    }
    let Some(card) = ctx.card() else {
        return missing("A2");
    };
    match card.labelled("Developed by") {
        Some(Labelled::Value(v)) => item(
            "A2",
            Status::Declared,
            Some(v),
            vec!["README.md \"Developed by\"".into()],
        ),
        Some(Labelled::Placeholder) => item(
            "A2",
            Status::Placeholder,
            None,
            vec!["README.md \"Developed by\"".into()],
        ),
        None => missing("A2"),
    }
}

fn a3_lineage(ctx: &Context) -> Item {
    let mut bases = Vec::new();
    let mut evidence = Vec::new();
    let mut relation = None;
    if let Some(card) = ctx.card() {
        let b = card.strings("base_model");
        if !b.is_empty() {
            evidence.push("README.md front matter `base_model`".to_owned());
            bases.extend(b);
        }
        relation = card.strings("base_model_relation").into_iter().next();
        if bases.is_empty()
            && let Some(base) = crate::transparency::claims::base_model_claim(&card.body)
        {
            evidence.push("README.md prose".to_owned());
            bases.push(base);
        }
    }
    if let Some(g) = &ctx.model.gguf {
        let b: Vec<String> = g
            .base_models()
            .into_iter()
            .filter_map(|s| s.repo_url.or(s.name))
            .collect();
        if !b.is_empty() {
            evidence.push("GGUF `general.base_model.*`".into());
            bases.extend(b);
        }
    }
    if let Some(a) = &ctx.sources.adapter_config
        && let Some(b) = a.get("base_model_name_or_path").and_then(Value::as_str)
    {
        evidence.push("adapter_config.json `base_model_name_or_path`".into());
        bases.push(b.to_owned());
        relation.get_or_insert_with(|| "adapter".into());
    }
    bases.dedup();
    if let Some(check) = ctx.base {
        evidence.push(format!(
            "weights compared with {}: {}",
            check.base, check.verdict
        ));
        let (status, value) = match (check.related, bases.is_empty()) {
            (true, true) => (Status::Verified, format!("derives from {}", check.base)),
            (true, false) => (
                Status::Consistent,
                format!(
                    "{} (the weights derive from {})",
                    bases.join(", "),
                    check.base
                ),
            ),
            (false, true) => (Status::Missing, format!("unrelated to {}", check.base)),
            (false, false) => (
                Status::Contradicted,
                format!(
                    "{} declared; the weights are unrelated to {}",
                    bases.join(", "),
                    check.base
                ),
            ),
        };
        return item("A3", status, Some(value), evidence);
    }
    if bases.is_empty() {
        return missing("A3");
    }
    // The Hub infers the relation when it is not declared, in this order: adapter files make an
    // adapter (set above), quantised weights (ggml quant types, a quantisation config) a quantised
    // copy, a list of bases a merge, anything else a fine-tune.
    let quantised = ctx.model.parameters_by_dtype().keys().any(|d| {
        let n = d.name();
        n.starts_with('Q') || n.starts_with("IQ") || n.starts_with("TQ")
    }) || ctx
        .model
        .config
        .as_ref()
        .is_some_and(|c| c.get("quantization_config").is_some());
    let relation = relation.unwrap_or_else(|| {
        if quantised {
            "quantized (inferred)"
        } else if bases.len() > 1 {
            "merge (inferred)"
        } else {
            "finetune (assumed)"
        }
        .into()
    });
    item(
        "A3",
        Status::Declared,
        Some(format!("{} ({relation})", bases.join(", "))),
        evidence,
    )
}

fn a4_version(ctx: &Context) -> Item {
    let declared = ctx
        .gguf_str("general.version")
        .map(|v| (v, "GGUF `general.version`"))
        .or_else(|| {
            ctx.card()
                .and_then(|c| c.strings("new_version").into_iter().next())
                .map(|v| (format!("newer version: {v}"), "README.md `new_version`"))
        });
    match ctx.hashes {
        Some(h) if !h.is_empty() => {
            let files = files(h.len());
            let mut evidence = vec![format!("SHA-256 of {files}")];
            let mut value = format!("{files} fingerprinted");
            if let Some((v, src)) = declared {
                value.push_str(&format!("; declared {v}"));
                evidence.push(src.into());
            }
            item("A4", Status::Verified, Some(value), evidence)
        }
        _ => match declared {
            Some((v, src)) => item("A4", Status::Declared, Some(v), vec![src.into()]),
            // Without hashing, the fingerprint that pins the revision was not taken: not a gap
            // in what the files show (D4 says the same).
            None if ctx.hashes.is_none() => item(
                "A4",
                Status::NotAssessable,
                Some("not computed (hashing skipped)".into()),
                vec![],
            ),
            None => missing("A4"),
        },
    }
}

fn a5_paper(ctx: &Context) -> Item {
    let mut refs = Vec::new();
    let mut evidence = Vec::new();
    if let Some(card) = ctx.card() {
        let linked = arxiv_ids(&card.body);
        if !linked.is_empty() {
            evidence.push("README.md links".to_owned());
        }
        refs.extend(linked.into_iter().map(|id| format!("arXiv:{id}")));
    }
    // The Hub derives an `arxiv:<id>` tag from a card's arXiv links; converters copy the card's
    // tags into GGUF `general.tags`.
    for (tags, source) in ctx.tags() {
        let tagged: Vec<String> = tags
            .iter()
            .filter_map(|t| t.strip_prefix("arxiv:"))
            .map(|id| format!("arXiv:{}", id.trim()))
            .collect();
        if !tagged.is_empty() {
            evidence.push(source.to_owned());
            refs.extend(tagged);
        }
    }
    for key in ["general.doi", "general.source.doi"] {
        if let Some(v) = ctx.gguf_str(key) {
            refs.push(format!("doi:{v}"));
            evidence.push(format!("GGUF `{key}`"));
        }
    }
    if refs.is_empty() {
        return missing("A5");
    }
    let mut seen = std::collections::HashSet::new();
    refs.retain(|r| seen.insert(r.to_ascii_lowercase()));
    evidence.dedup();
    item("A5", Status::Referenced, Some(refs.join(", ")), evidence)
}

fn b_license(ctx: &Context) -> Vec<Item> {
    let l = ctx.license;
    let b1 = match l.declared.first() {
        Some(_) => item(
            "B1",
            Status::Declared,
            Some({
                // The same value from two sources (front matter and GGUF metadata) is said once.
                let mut values: Vec<String> = Vec::new();
                for d in &l.declared {
                    if !values.contains(&d.value) {
                        values.push(d.value.clone());
                    }
                }
                values.join(", ")
            }),
            l.declared.iter().map(|d| d.source.clone()).collect(),
        ),
        None => missing("B1"),
    };
    let b2 = match l.texts.first() {
        None => missing("B2"),
        Some(_) => {
            let files: Vec<String> = l.texts.iter().map(|t| t.file.clone()).collect();
            let identified = l.texts.iter().find_map(|t| t.recognised.map(|id| (t, id)));
            match identified {
                Some((t, id)) => {
                    let declared = l.declared.iter().find_map(|d| d.recognised);
                    let (status, value) = if l.contradicted {
                        (
                            Status::Contradicted,
                            format!("text is {id}, declared {}", declared.unwrap_or("?")),
                        )
                    } else if declared.is_some() {
                        (
                            Status::Consistent,
                            format!("{id} (matches the declaration)"),
                        )
                    } else {
                        (Status::Verified, id.to_owned())
                    };
                    let mut ev = vec![format!("{} (identified by its text)", t.file)];
                    ev.extend(
                        l.declared
                            .iter()
                            .map(|d| format!("{} = {}", d.source, d.value)),
                    );
                    item("B2", status, Some(value), ev)
                }
                None => item(
                    "B2",
                    Status::Declared,
                    Some("present, text not recognised".into()),
                    files,
                ),
            }
        }
    };
    let b3 = match l.class {
        LicenseClass::Missing => missing("B3"),
        class => item(
            "B3",
            Status::Derived,
            Some(match &l.id {
                Some(id) => format!("{} ({id})", class.name()),
                None => class.name().to_owned(),
            }),
            vec!["licence table (spec §6.1 open test)".into()],
        ),
    };
    let mut restrictions: Vec<String> =
        l.restrictions.iter().map(|r| r.name().to_owned()).collect();
    let mut ev = Vec::new();
    if !l.restrictions.is_empty() {
        ev.push("licence terms".to_owned());
    }
    if let Some(card) = ctx.card()
        && let Some(s) = card.section(&["Out-of-Scope Use"])
        && s.fill() == Fill::Filled
    {
        restrictions.push("out-of-scope uses listed".into());
        ev.push("README.md \"Out-of-Scope Use\"".into());
    }
    let b4 = if restrictions.is_empty() {
        if l.class == LicenseClass::Open {
            item(
                "B4",
                Status::Declared,
                Some("none beyond the open licence's conditions".into()),
                vec!["licence terms".into()],
            )
        } else {
            missing("B4")
        }
    } else {
        item("B4", Status::Declared, Some(restrictions.join(", ")), ev)
    };
    vec![b1, b2, b3, b4]
}

/// A card section as an item: DECLARED_TEXT (or `filled`) when it says something, PLACEHOLDER
/// when it holds filler, MISSING when absent.
fn section_item(ctx: &Context, id: &'static str, titles: &[&str], filled: Status) -> Item {
    let Some(card) = ctx.card() else {
        return missing(id);
    };
    match card.section(titles) {
        Some(s) => match s.fill() {
            Fill::Filled => item(
                id,
                filled,
                Some(crate::transparency::card::excerpt(
                    &crate::transparency::card::plain_markdown(
                        &crate::transparency::card::strip_html_comments(&s.text),
                    ),
                    100,
                )),
                vec![format!("README.md \"{}\"", s.title)],
            ),
            Fill::Placeholder => item(
                id,
                Status::Placeholder,
                None,
                vec![format!("README.md \"{}\"", s.title)],
            ),
        },
        None => missing(id),
    }
}

/// The structured facts a bill of materials needs.
pub fn bom_facts(ctx: &Context) -> crate::transparency::BomFacts {
    let card = ctx.card();
    let mut datasets = card.map(|c| c.strings("datasets")).unwrap_or_default();
    let mut base_models = card.map(|c| c.strings("base_model")).unwrap_or_default();
    if let Some(g) = &ctx.model.gguf {
        datasets.extend(
            g.datasets()
                .into_iter()
                .filter_map(|s| s.name.or(s.repo_url)),
        );
        base_models.extend(
            g.base_models()
                .into_iter()
                .filter_map(|s| s.repo_url.or(s.name)),
        );
    }
    datasets.dedup();
    base_models.dedup();
    let text = |v: Option<&Value>| {
        v.and_then(crate::transparency::card::scalar_text)
            .unwrap_or_default()
    };
    let metrics = model_index_results(card)
        .iter()
        .flat_map(|r| {
            let task = text(r.pointer("/task/type"));
            let dataset = text(r.pointer("/dataset/type").or(r.pointer("/dataset/name")));
            r.get("metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |m| {
                    (
                        task.clone(),
                        dataset.clone(),
                        text(m.get("type")),
                        text(m.get("value")),
                    )
                })
        })
        .collect();
    crate::transparency::BomFacts {
        family: ctx.arch.family.clone(),
        class: ctx.arch.class.clone(),
        parameters: ctx.arch.parameters.total,
        pipeline_tag: card.and_then(|c| c.strings("pipeline_tag").into_iter().next()),
        datasets,
        base_models,
        metrics,
    }
}

fn model_index_results(card: Option<&Card>) -> Vec<&Value> {
    card.and_then(|c| c.key("model-index"))
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter_map(|m| m.get("results")?.as_array())
                .flatten()
                .collect()
        })
        .unwrap_or_default()
}

fn k1_gating(ctx: &Context) -> Item {
    let Some(fm) = ctx.card().and_then(|c| c.front_matter.as_object()) else {
        return missing("K1");
    };
    let keys: Vec<String> = fm
        .iter()
        .filter(|(k, v)| (k.as_str() == "gated" || k.starts_with("extra_gated")) && !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) if s.len() < 40 => format!("{k}={s}"),
            Value::Bool(b) => format!("{k}={b}"),
            _ => k.clone(),
        })
        .collect();
    if keys.is_empty() {
        missing("K1")
    } else {
        item(
            "K1",
            Status::Declared,
            Some(keys.join(", ")),
            vec!["README.md front matter".into()],
        )
    }
}

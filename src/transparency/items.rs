//! The disclosure items of spec §2, groups A–K, each decided from the files: the architecture
//! items from the declared-vs-observed checks of [`crate::arch`], the card items from the front
//! matter and sections, the licence items from [`super::license`], the prompt items from
//! [`super::audit`]. Claims in the card's prose that can be checked are checked: a parameter count
//! ("7B", "1.1B parameters") against the weights, a context length against the config.

use serde_json::Value;

use super::audit::PromptAudit;
use super::card::{Card, Fill, Labelled};
use super::closed_api::closed_api;
use super::hash::FileHash;
use super::license::{LicenseClass, LicenseReport};
use super::sources::Sources;
use super::{Group, Item, Status};
use crate::arch::{self, Architecture};
use crate::model::Model;

/// Everything the items are decided from.
pub struct Context<'a> {
    pub model: &'a Model,
    pub arch: &'a Architecture,
    pub sources: &'a Sources,
    pub license: &'a LicenseReport,
    pub audit: &'a PromptAudit,
    /// `None` when hashing was skipped.
    pub hashes: Option<&'a [FileHash]>,
}

impl Context<'_> {
    fn card(&self) -> Option<&Card> {
        self.sources.card.as_ref()
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
            .and_then(super::card::scalar_text)
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
    if bases.is_empty() {
        return missing("A3");
    }
    // The Hub infers the relation when it is not declared: a list is a merge.
    let relation = relation.unwrap_or_else(|| {
        if bases.len() > 1 {
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
            let mut evidence = vec![format!("SHA-256 of {} files", h.len())];
            let mut value = format!("{} files fingerprinted", h.len());
            if let Some((v, src)) = declared {
                value.push_str(&format!("; declared {v}"));
                evidence.push(src.into());
            }
            item("A4", Status::Verified, Some(value), evidence)
        }
        _ => match declared {
            Some((v, src)) => item("A4", Status::Declared, Some(v), vec![src.into()]),
            None => missing("A4"),
        },
    }
}

fn a5_paper(ctx: &Context) -> Item {
    let mut refs = Vec::new();
    if let Some(card) = ctx.card() {
        refs.extend(
            arxiv_ids(&card.body)
                .into_iter()
                .map(|id| format!("arXiv:{id}")),
        );
    }
    for key in ["general.doi", "general.source.doi"] {
        if let Some(v) = ctx.gguf_str(key) {
            refs.push(format!("doi:{v}"));
        }
    }
    if refs.is_empty() {
        return missing("A5");
    }
    refs.dedup();
    item(
        "A5",
        Status::Referenced,
        Some(refs.join(", ")),
        vec!["README.md links / GGUF `general.doi`".into()],
    )
}

/// arXiv IDs (`2403.13784`) mentioned after `arxiv.org/abs/` or `arXiv:`.
pub fn arxiv_ids(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for marker in ["arxiv.org/abs/", "arxiv.org/pdf/", "arxiv:"] {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let id: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let id = id.trim_end_matches('.');
            if id.len() >= 9 && id.contains('.') {
                out.push(id.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn b_license(ctx: &Context) -> Vec<Item> {
    let l = ctx.license;
    let b1 = match l.declared.first() {
        Some(_) => item(
            "B1",
            Status::Declared,
            Some(
                l.declared
                    .iter()
                    .map(|d| d.value.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
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

/// Collapses the arch checks of some fields into one status and value.
fn from_checks(ctx: &Context, id: &'static str, fields: &[&str]) -> Item {
    let checks: Vec<&arch::Check> = fields.iter().filter_map(|f| ctx.arch.check(f)).collect();
    if checks.is_empty() {
        return missing(id);
    }
    use arch::Status as S;
    let status = if checks.iter().any(|c| c.status == S::Contradicted) {
        Status::Contradicted
    } else if checks.iter().all(|c| c.status == S::DeclaredOnly) {
        Status::Declared
    } else if checks.iter().all(|c| c.status == S::Consistent) {
        Status::Consistent
    } else {
        Status::Verified
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

fn show_value(v: &arch::Value) -> String {
    match v {
        arch::Value::Count(n) => n.to_string(),
        arch::Value::Flag(b) => b.to_string(),
        arch::Value::Number(x) => x.to_string(),
        arch::Value::Text(s) => s.clone(),
    }
}

fn c_architecture(ctx: &Context) -> Vec<Item> {
    let a = ctx.arch;
    let mut out = Vec::new();
    let c1 = match &a.family {
        Some(f) => {
            let mut it = from_checks(ctx, "C1", &["family"]);
            if it.status == Status::Missing || it.status == Status::Declared {
                it.status = if a.signature.is_some() {
                    Status::Verified
                } else {
                    Status::Declared
                };
                it.bucket = it.status.bucket();
            }
            it.value = Some(f.clone());
            it.evidence.push(a.family_evidence.clone());
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
            a.parameters.active_basis.clone().into_iter().collect(),
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
    out.push(from_checks(ctx, "C11", &["rope_theta"]));
    out.push(from_checks(ctx, "C12", &["tied_embeddings"]));
    let comps: Vec<String> = a
        .parameters
        .by_component
        .iter()
        .map(|(c, n)| format!("{} {n}", c.name()))
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

/// A parameter-count claim: the text and the value it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub text: String,
    pub value: f64,
    /// Where it was read.
    pub source: String,
    /// A size label (`7B`) is rounded; a written-out count is exact.
    pub rounded: bool,
}

/// Parameter counts claimed in a text: size labels (`7B`, `1.1B`, `135M`) and phrases with
/// "parameters" (`1.1 billion parameters`, `108,864 parameters`, `Parameters: 108,864`).
pub fn parameter_claims(text: &str, source: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '.');
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let number = number.trim_end_matches(['.', ',']);
        let Ok(n) = number.replace(',', "").parse::<f64>() else {
            continue;
        };
        let after: String = chars[i..chars.len().min(i + 40)].iter().collect();
        let after_lower = after.to_lowercase();
        let before: String = chars[start.saturating_sub(16)..start].iter().collect();
        let before_lower = before.to_lowercase();
        // A label glued to its number: `7B`, `1.1B`, `135M` (not `7Bit`, not `8x7B` experts).
        let glued = after
            .chars()
            .next()
            .filter(|c| matches!(c, 'B' | 'M' | 'b' | 'm'));
        let glued_ends = after.chars().nth(1).is_none_or(|c| !c.is_alphanumeric());
        let (value, rounded, unit) = if let Some(u) = glued.filter(|_| glued_ends) {
            if before.ends_with('x')
                || after_lower.starts_with("mb")
                || after_lower.starts_with("b ") && after_lower[2..].starts_with("token")
            {
                continue;
            }
            (
                n * if u.eq_ignore_ascii_case(&'b') {
                    1e9
                } else {
                    1e6
                },
                true,
                u.to_string(),
            )
        } else if let Some(rest) = after_lower.strip_prefix(" billion") {
            if !rest.trim_start().starts_with("param") {
                continue;
            }
            (n * 1e9, true, " billion".to_owned())
        } else if let Some(rest) = after_lower.strip_prefix(" million") {
            if !rest.trim_start().starts_with("param") {
                continue;
            }
            (n * 1e6, true, " million".to_owned())
        } else if after_lower
            .trim_start_matches(['-', ' '])
            .starts_with("param")
            || before_lower.trim_end().ends_with("parameters:")
        {
            (n, false, String::new())
        } else {
            continue;
        };
        let text = format!("{number}{unit}");
        out.push(Claim {
            text,
            value,
            source: source.to_owned(),
            rounded,
        });
    }
    out
}

/// Whether a claim agrees with the count: a label within rounding (family size labels stray up
/// to a third from the count, e.g. Gemma "7B" is 8.5B), a written-out count within 1%.
pub fn claim_agrees(claim: &Claim, count: u64) -> bool {
    let ratio = count as f64 / claim.value;
    if claim.rounded {
        (0.65..=1.4).contains(&ratio)
    } else {
        (0.99..=1.01).contains(&ratio)
    }
}

fn c2_parameters(ctx: &Context) -> Item {
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
        "Σ tensor shapes over {} tensors in {} file(s)",
        ctx.model.tensors.len(),
        ctx.model.files.len()
    )];
    if claims.is_empty() {
        return item("C2", Status::Verified, Some(total.to_string()), evidence);
    }
    let wrong: Vec<&Claim> = claims.iter().filter(|c| !claim_agrees(c, total)).collect();
    for c in &claims {
        evidence.push(format!("{} claims \"{}\"", c.source, c.text));
    }
    if wrong.is_empty() {
        item("C2", Status::Consistent, Some(total.to_string()), evidence)
    } else {
        item(
            "C2",
            Status::Contradicted,
            Some(format!(
                "{total} counted; claimed {}",
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

/// Context-length claims in the card's prose: the first number after "context" on a line
/// (`Context length: 2048`, `a context of 8K tokens`, `128k context window`).
pub fn context_claims(text: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let lower = line.to_lowercase();
        let Some(at) = lower.find("context") else {
            continue;
        };
        // "8K context" puts the number before the word; look a little back too.
        let window_start = lower[..at]
            .char_indices()
            .rev()
            .nth(12)
            .map_or(0, |(i, _)| i);
        let window = &lower[window_start..];
        for (i, c) in window.char_indices() {
            if !c.is_ascii_digit()
                || (i > 0 && window[..i].ends_with(|p: char| p.is_alphanumeric()))
            {
                continue;
            }
            let end = window[i..]
                .find(|ch: char| !(ch.is_ascii_digit() || ch == ','))
                .map_or(window.len(), |e| i + e);
            let digits = window[i..end].replace(',', "");
            let Ok(n) = digits.parse::<u64>() else { break };
            let k = window[end..].starts_with('k');
            let value = if k { n * 1024 } else { n };
            if value >= 128 {
                let shown = &window[i..end + usize::from(k)];
                out.push((shown.to_owned(), value));
            }
            break;
        }
    }
    out
}

fn c10_context(ctx: &Context) -> Item {
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
            it.value = Some(format!("{declared} in the config; the card claims {text}"));
        }
    }
    it
}

fn d_weights(ctx: &Context) -> Vec<Item> {
    let m = ctx.model;
    let mut out = vec![item(
        "D1",
        Status::Verified,
        Some(format!(
            "{} tensors in {} file(s), {} bytes",
            m.tensors.len(),
            m.files.len(),
            m.tensor_bytes_total()
        )),
        m.files.iter().map(|f| f.name.clone()).collect(),
    )];
    let mut d2 = from_checks(ctx, "D2", &["dtype"]);
    let hist: Vec<String> = m
        .parameters_by_dtype()
        .iter()
        .map(|(d, n)| format!("{} {n}", d.name()))
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
        Some(h) => item(
            "D4",
            Status::Verified,
            Some(format!("SHA-256 of {} files", h.len())),
            h.iter().map(|f| f.file.clone()).collect(),
        ),
        None => item(
            "D4",
            Status::NotAssessable,
            Some("not computed (--no-hash)".into()),
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

fn e_prompt(ctx: &Context) -> Vec<Item> {
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
            item("E3", Status::Verified, Some(v), vec![src.clone()])
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
                Some(super::card::excerpt(
                    &super::card::strip_html_comments(&s.text),
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

fn f_data(ctx: &Context) -> Vec<Item> {
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
        .and_then(|c| token_count_claim(&c.body))
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
    let eval_sets: Vec<String> = model_index_results(card)
        .iter()
        .filter_map(|r| {
            let d = r.get("dataset")?;
            d.get("type")
                .or_else(|| d.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let f5 = if eval_sets.is_empty() {
        missing("F5")
    } else {
        let mut e = eval_sets;
        e.sort();
        e.dedup();
        item(
            "F5",
            Status::Referenced,
            Some(e.join(", ")),
            vec!["README.md `model-index[].results[].dataset`".into()],
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

/// "2T tokens", "1.5 trillion tokens", "300B tokens" in the prose.
pub fn token_count_claim(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if !w.starts_with("tokens") || i == 0 {
            continue;
        }
        let prev = words[i - 1];
        let number_like = |s: &str| {
            let s = s.trim_end_matches(['t', 'b', 'm', 'k']);
            !s.is_empty()
                && s.replace([',', '.'], "")
                    .chars()
                    .all(|c| c.is_ascii_digit())
        };
        if number_like(prev) {
            return Some(format!("{prev} tokens"));
        }
        if matches!(prev, "trillion" | "billion" | "million") && i >= 2 && number_like(words[i - 2])
        {
            return Some(format!("{} {prev} tokens", words[i - 2]));
        }
    }
    None
}

/// The data card's sub-checklist (spec F3): which of provenance, size, filtering, dedup, labeling,
/// synthetic data, PII and licensing the Training Data and Preprocessing sections mention.
fn data_card(ctx: &Context) -> Item {
    const ASPECTS: &[(&str, &[&str])] = &[
        ("source", &["source", "collected", "crawl", "corpus"]),
        ("size", &["tokens", "examples", "documents", "samples"]),
        ("filtering", &["filter", "selection", "selected"]),
        ("dedup", &["dedup", "duplicate"]),
        ("labeling", &["label", "annotat"]),
        ("synthetic", &["synthetic"]),
        ("pii", &["pii", "personal"]),
        ("licensing", &["license", "licence", "copyright"]),
    ];
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
    let found: Vec<&str> = ASPECTS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(name, _)| *name)
        .collect();
    it.value = Some(format!(
        "{}/{} aspects: {}",
        found.len(),
        ASPECTS.len(),
        if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        }
    ));
    it
}

/// The structured facts a bill of materials needs.
pub fn bom_facts(ctx: &Context) -> super::BomFacts {
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
    let text = |v: Option<&Value>| v.and_then(super::card::scalar_text).unwrap_or_default();
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
    super::BomFacts {
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

fn g_training(ctx: &Context) -> Vec<Item> {
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
            &["Training Hyperparameters", "Training hyperparameters"],
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
        .and_then(super::card::scalar_text)
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
        None => missing("G4"),
    };
    let g5 = match co2.and_then(|c| {
        c.get("emissions")
            .or(Some(c))
            .and_then(super::card::scalar_text)
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
fn compute_claim(text: &str) -> Option<String> {
    text.lines()
        .find(|l| {
            let l = l.to_lowercase();
            (l.contains("gpu hours") || l.contains("gpu-hours") || l.contains("flops"))
                && l.chars().any(|c| c.is_ascii_digit())
        })
        .map(|l| super::card::excerpt(l.trim(), 100))
}

fn h_evaluation(ctx: &Context) -> Vec<Item> {
    let results = model_index_results(ctx.card());
    let metrics: usize = results
        .iter()
        .filter_map(|r| r.get("metrics")?.as_array().map(Vec::len))
        .sum();
    let h1 = if metrics > 0 {
        item(
            "H1",
            Status::Declared,
            Some(format!(
                "{metrics} metric(s) over {} result(s)",
                results.len()
            )),
            vec!["README.md `model-index`".into()],
        )
    } else {
        section_item(ctx, "H1", &["Results", "Evaluation"], Status::DeclaredText)
    };
    let h2 = section_item(
        ctx,
        "H2",
        &[
            "Bias, Risks, and Limitations",
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

fn i_documentation(ctx: &Context) -> Vec<Item> {
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
                    "{filled}/{total} sections filled{}",
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

fn j_code(ctx: &Context) -> Vec<Item> {
    let local_model = ctx.has_file(|f| f.starts_with("modeling_") && f.ends_with(".py"));
    let j1 = if !local_model.is_empty() {
        item(
            "J1",
            Status::Verified,
            Some(local_model.join(", ")),
            vec!["files present (`auto_map`)".into()],
        )
    } else if let Some(f) = ctx.arch.family.as_ref().filter(|_| ctx.arch.family_known) {
        let upstream = if ctx.model.gguf.is_some() {
            "llama.cpp (MIT)"
        } else {
            "transformers (Apache-2.0)"
        };
        item(
            "J1",
            Status::Referenced,
            Some(format!("`{f}` in {upstream}")),
            vec!["architecture family".into()],
        )
    } else {
        missing("J1")
    };
    let library = ctx
        .card()
        .and_then(|c| c.strings("library_name").into_iter().next());
    let j2 = if let Some(l) = library.clone() {
        item(
            "J2",
            Status::Referenced,
            Some(l),
            vec!["README.md `library_name`".into()],
        )
    } else if ctx.model.gguf.is_some() {
        item(
            "J2",
            Status::Referenced,
            Some("llama.cpp and GGUF runtimes".into()),
            vec!["GGUF format".into()],
        )
    } else {
        missing("J2")
    };
    let train =
        ctx.has_file(|f| f.ends_with(".py") && (f.starts_with("train") || f.contains("finetune")));
    let repo = ctx
        .card()
        .and_then(|c| c.labelled("Repository"))
        .and_then(|l| match l {
            Labelled::Value(v) => Some(v),
            Labelled::Placeholder => None,
        });
    let j3 = if !train.is_empty() {
        item(
            "J3",
            Status::Verified,
            Some(train.join(", ")),
            vec!["files present".into()],
        )
    } else if let Some(r) = repo {
        item(
            "J3",
            Status::Referenced,
            Some(r),
            vec!["README.md \"Repository\"".into()],
        )
    } else {
        missing("J3")
    };
    let prep = ctx.has_file(|f| {
        f.ends_with(".py") && (f.contains("preprocess") || f.contains("prepare_data"))
    });
    let j4 = if prep.is_empty() {
        missing("J4")
    } else {
        item(
            "J4",
            Status::Verified,
            Some(prep.join(", ")),
            vec!["files present".into()],
        )
    };
    let mut libs = Vec::new();
    let mut ev = Vec::new();
    if let Some(l) = library {
        libs.push(l);
        ev.push("README.md `library_name`".to_owned());
    }
    if let Some(v) = ctx.config_str("transformers_version") {
        libs.push(format!("transformers {v}"));
        ev.push("config.json `transformers_version`".into());
    }
    if ctx.sources.files.iter().any(|f| f == "requirements.txt") {
        libs.push("requirements.txt".into());
        ev.push("requirements.txt".into());
    }
    let j5 = if libs.is_empty() {
        missing("J5")
    } else {
        item("J5", Status::Declared, Some(libs.join(", ")), ev)
    };
    vec![j1, j2, j3, j4, j5]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, f64, bool)> {
        parameter_claims(text, "t")
            .into_iter()
            .map(|c| (c.text, c.value, c.rounded))
            .collect()
    }

    #[test]
    fn parameter_claims_are_read_from_labels_and_phrases() {
        assert_eq!(values("Llama-2-7B-chat"), [("7B".into(), 7e9, true)]);
        assert_eq!(
            values("A 1.1B parameters model"),
            [("1.1B".into(), 1.1e9, true)]
        );
        assert_eq!(
            values("it has 1.5 billion parameters"),
            [("1.5 billion".into(), 1.5e9, true)]
        );
        assert_eq!(
            values("A 108,864-parameter decoder. Parameters: 108,864."),
            [
                ("108,864".into(), 108864.0, false),
                ("108,864".into(), 108864.0, false)
            ]
        );
        // Not parameter counts: experts, bits, megabytes, token counts, versions.
        assert!(
            values("Mixtral-8x7B uses 4-bit, 512 MB, trained on 2B tokens, v1.5 of 2024")
                .is_empty()
        );
    }

    #[test]
    fn claims_agree_within_rounding() {
        let label = |v| Claim {
            text: String::new(),
            value: v,
            source: String::new(),
            rounded: true,
        };
        assert!(claim_agrees(&label(7e9), 7_241_732_096)); // Mistral 7B
        assert!(claim_agrees(&label(7e9), 8_537_680_896)); // Gemma "7B"
        assert!(!claim_agrees(&label(1.1e9), 108_864));
        let exact = Claim {
            rounded: false,
            ..label(108_864.0)
        };
        assert!(claim_agrees(&exact, 108_864));
        assert!(!claim_agrees(&exact, 120_000));
    }

    #[test]
    fn context_claims_read_the_number_near_the_word() {
        assert_eq!(
            context_claims("- Context length: 2048 positions (RoPE, theta 10000)."),
            [("2048".into(), 2048)]
        );
        assert_eq!(
            context_claims("supports a 128k context window"),
            [("128k".into(), 131072)]
        );
        assert_eq!(
            context_claims("a context of 32,768 tokens"),
            [("32,768".into(), 32768)]
        );
        assert!(context_claims("no numbers in context").is_empty());
    }

    #[test]
    fn token_counts_and_arxiv_ids() {
        assert_eq!(
            token_count_claim("Trained on 2T tokens of text").as_deref(),
            Some("2t tokens")
        );
        assert_eq!(
            token_count_claim("on 1.5 trillion tokens").as_deref(),
            Some("1.5 trillion tokens")
        );
        assert_eq!(token_count_claim("special tokens"), None);
        assert_eq!(token_count_claim("Vocabulary: 256 tokens (BPE)"), None);
        assert_eq!(
            arxiv_ids("see https://arxiv.org/abs/2403.13784 and arXiv: 2310.12941."),
            ["2310.12941", "2403.13784"]
        );
    }
}

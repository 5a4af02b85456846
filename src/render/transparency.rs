//! The transparency report's faces: text grouped A–K with a mark per bucket and the closed-API
//! column beside each item; markdown to paste into a model card or a review; the JSON document
//! (docs/json.md, `transparency`); and a CycloneDX 1.6 ML-BOM (the model as a
//! `machine-learning-model` component with its card, licence, datasets and file hashes).
//!
//! Everything here formats [`TransparencyReport`]; nothing is decided here.

use serde::Serialize;
use serde_json::{Value, json};

use super::table::{Align, Table, thousands};
use super::{Painted, Tone, json};
use crate::finding::Finding;
use crate::model::Model;
use crate::report::{ModelObject, SCHEMA_VERSION};
use crate::transparency::{
    Bucket, Counts, FileHash, Group, Item, LicenseReport, Openness, Status, TransparencyReport,
};

/// The mark shown beside an item: verified, declared, contradicted, missing, not applicable.
fn mark(item: &Item) -> &'static str {
    if item.status == Status::Contradicted {
        return "!";
    }
    match item.bucket {
        Some(Bucket::Verified) => "✓",
        Some(Bucket::Declared) => "~",
        Some(Bucket::Missing) => "✗",
        None => "·",
    }
}

/// One line, at most `max` characters (the full value is in the JSON).
fn short(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        format!("{}…", one.chars().take(max - 1).collect::<String>())
    }
}

const GROUPS: [Group; 11] = [
    Group::A,
    Group::B,
    Group::C,
    Group::D,
    Group::E,
    Group::F,
    Group::G,
    Group::H,
    Group::I,
    Group::J,
    Group::K,
];

fn headline(r: &TransparencyReport) -> Vec<String> {
    let c: &Counts = &r.counts;
    let l = &r.license;
    let mut lines = vec![format!(
        "licence: {} — {}{}",
        l.id.as_deref().unwrap_or("none"),
        l.class.name(),
        if l.restrictions.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                l.restrictions
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )];
    lines.push(format!(
        "items: {} applicable — {} verified, {} declared{}, {} missing",
        c.applicable,
        c.verified,
        c.declared,
        if c.contradicted > 0 {
            format!(" ({} contradicted)", c.contradicted)
        } else {
            String::new()
        },
        c.missing
    ));
    let o = &r.openness;
    lines.push(format!(
        "openness: MOF {}; OSAID 1.0 {}",
        o.mof
            .iter()
            .map(|v| format!("class {} {}", v.class, v.outcome.name()))
            .collect::<Vec<_>>()
            .join(", "),
        o.osaid.name()
    ));
    lines
}

/// The text report, ending with `notes` (the model's notes of opening: what was not read);
/// contradictions and finding severities are marked for colour.
pub fn render_transparency_text(r: &TransparencyReport, notes: &[Finding]) -> Painted {
    let mut out = Painted::plain(format!("Transparency: {}\n", r.name));
    for line in headline(r) {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("  marks: ✓ verified from the files, ~ declared, ! contradicted, ✗ missing, · not applicable\n");
    for group in GROUPS {
        out.push_str(&format!("\n{}. {}\n", group_letter(group), group.title()));
        let mut t = Table::new(&[
            ("", Align::Left),
            ("id", Align::Left),
            ("item", Align::Left),
            ("status", Align::Left),
            ("value", Align::Left),
            ("closed API", Align::Left),
        ]);
        for item in r.items.iter().filter(|i| i.group == group) {
            t.push(vec![
                mark(item).into(),
                item.id.into(),
                item.item.into(),
                item.status.name().into(),
                short(item.value.as_deref().unwrap_or("—"), 60),
                item.closed_api.into(),
            ]);
        }
        let mut table = String::new();
        t.render_text(&mut table);
        for line in table.lines() {
            out.push_str(&format!("  {line}\n"));
        }
        for item in r
            .items
            .iter()
            .filter(|i| i.group == group && i.status == Status::Contradicted)
        {
            out.push_str("  ");
            out.push_marked(&format!("! {} CONTRADICTED", item.id), Tone::Contradicted);
            out.push_str(&format!(": {}\n", item.evidence.join("; ")));
        }
    }
    out.push_str("\nOpenness\n");
    for v in &r.openness.mof {
        out.push_str(&format!(
            "  MOF class {} ({}): {}\n",
            v.class,
            v.name,
            v.outcome.name()
        ));
        for why in &v.reasons {
            out.push_str(&format!("    - {why}\n"));
        }
        for link in &v.to_check {
            out.push_str(&format!("    ? check {link}\n"));
        }
    }
    out.push_str(&format!("  OSAID 1.0: {}\n", r.openness.osaid.name()));
    for why in &r.openness.osaid_reasons {
        out.push_str(&format!("    - {why}\n"));
    }
    findings_text(&r.findings, &mut out);
    hashes_text(r, &mut out);
    if let Some(t) = &r.chat_template {
        out.push_str("\nChat template (as shipped; never rendered)\n");
        for line in t.lines() {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    out.push_str(&super::open_notes(notes, "Notes", false));
    out
}

fn group_letter(g: Group) -> &'static str {
    match g {
        Group::A => "A",
        Group::B => "B",
        Group::C => "C",
        Group::D => "D",
        Group::E => "E",
        Group::F => "F",
        Group::G => "G",
        Group::H => "H",
        Group::I => "I",
        Group::J => "J",
        Group::K => "K",
    }
}

fn findings_text(findings: &[Finding], out: &mut Painted) {
    if findings.is_empty() {
        out.push_str("\nFindings: none\n");
        return;
    }
    out.push_str(&format!("\nFindings ({})\n", findings.len()));
    for f in findings {
        out.push_str("- ");
        out.push_marked(f.severity.name(), Tone::of_severity(f.severity));
        out.push_str(&format!(" [{}] {}\n", f.code, f.message));
    }
}

fn hashes_text(r: &TransparencyReport, out: &mut Painted) {
    if !r.hashed {
        out.push_str("\nFingerprints: skipped (--no-hash)\n");
        return;
    }
    out.push_str("\nFingerprints (SHA-256)\n");
    let mut t = Table::new(&[
        ("file", Align::Left),
        ("kind", Align::Left),
        ("bytes", Align::Right),
        ("sha256", Align::Left),
    ]);
    for h in &r.hashes {
        t.push(vec![
            h.file.clone(),
            h.kind.into(),
            thousands(h.bytes),
            h.sha256
                .clone()
                .unwrap_or_else(|| format!("unreadable: {}", h.error.as_deref().unwrap_or(""))),
        ]);
    }
    let mut table = String::new();
    t.render_text(&mut table);
    for line in table.lines() {
        out.push_str(&format!("  {line}\n"));
    }
}

/// The markdown report, ending with `notes` (as the text one).
pub fn render_transparency_markdown(r: &TransparencyReport, notes: &[Finding]) -> String {
    let mut out = format!("# Transparency: {}\n\n", r.name.replace('|', "\\|"));
    for line in headline(r) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push_str("\nMarks: ✓ verified from the files, ~ declared, ! contradicted, ✗ missing, · not applicable.\n");
    for group in GROUPS {
        out.push_str(&format!(
            "\n## {}. {}\n\n",
            group_letter(group),
            group.title()
        ));
        let mut t = Table::new(&[
            ("", Align::Left),
            ("ID", Align::Left),
            ("Item", Align::Left),
            ("Status", Align::Left),
            ("Value", Align::Left),
            ("Evidence", Align::Left),
            ("Closed API", Align::Left),
        ]);
        for item in r.items.iter().filter(|i| i.group == group) {
            t.push(vec![
                mark(item).into(),
                item.id.into(),
                item.item.into(),
                format!("`{}`", item.status.name()),
                short(item.value.as_deref().unwrap_or("—"), 300),
                short(&item.evidence.join("; "), 400),
                item.closed_api.into(),
            ]);
        }
        t.render_markdown(&mut out);
    }
    out.push_str("\n## Openness\n\n");
    for v in &r.openness.mof {
        out.push_str(&format!(
            "- **MOF class {} ({})**: {} — {}\n",
            v.class,
            v.name,
            v.outcome.name(),
            v.reasons.join("; ")
        ));
        for link in &v.to_check {
            out.push_str(&format!("  - check: {link}\n"));
        }
    }
    out.push_str(&format!(
        "- **OSAID 1.0**: {} — {}\n",
        r.openness.osaid.name(),
        r.openness.osaid_reasons.join("; ")
    ));
    if !r.findings.is_empty() {
        out.push_str("\n## Findings\n\n");
        for f in &r.findings {
            out.push_str(&format!(
                "- **{}** `{}` {}\n",
                f.severity.name(),
                f.code,
                f.message
            ));
        }
    }
    if r.hashed {
        out.push_str("\n## Fingerprints (SHA-256)\n\n");
        let mut t = Table::new(&[
            ("File", Align::Left),
            ("Kind", Align::Left),
            ("Bytes", Align::Right),
            ("SHA-256", Align::Left),
        ]);
        for h in &r.hashes {
            t.push(vec![
                format!("`{}`", h.file),
                h.kind.into(),
                thousands(h.bytes),
                h.sha256
                    .as_deref()
                    .map(|s| format!("`{s}`"))
                    .unwrap_or_else(|| "unreadable".into()),
            ]);
        }
        t.render_markdown(&mut out);
    }
    if let Some(t) = &r.chat_template {
        out.push_str("\n<details><summary>Chat template (as shipped; never rendered)</summary>\n\n````jinja\n");
        out.push_str(t);
        if !t.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("````\n\n</details>\n");
    }
    out.push_str(&super::open_notes(notes, "Notes", true));
    out
}

#[derive(Serialize)]
struct TransparencyDocument<'a> {
    schema_version: u32,
    model: ModelObject,
    name: &'a str,
    items: &'a [Item],
    license: &'a LicenseReport,
    openness: &'a Openness,
    counts: &'a Counts,
    hashed: bool,
    hashes: &'a [FileHash],
    chat_template: Option<&'a str>,
    findings: &'a [Finding],
}

/// The JSON document.
pub fn render_transparency_json(model: &Model, r: &TransparencyReport) -> String {
    json::to_string(&TransparencyDocument {
        schema_version: SCHEMA_VERSION,
        model: ModelObject::new(model),
        name: &r.name,
        items: &r.items,
        license: &r.license,
        openness: &r.openness,
        counts: &r.counts,
        hashed: r.hashed,
        hashes: &r.hashes,
        chat_template: r.chat_template.as_deref(),
        findings: &r.findings,
    })
}

/// A CycloneDX 1.6 ML-BOM. Deterministic (no serial number or timestamp), so two runs over the
/// same files give the same bytes.
pub fn render_transparency_cyclonedx(r: &TransparencyReport) -> String {
    let b = &r.bom;
    // SPDX identifiers go in `license.id`; the Hub's own IDs (`llama3.1`) and custom names in
    // `license.name`.
    let license = match (r.license.spdx_id(), &r.license.id) {
        (Some(id), _) => vec![json!({"license": {"id": id}})],
        (None, Some(id)) => {
            vec![json!({"license": {"name": r.license.name.as_deref().unwrap_or(id)}})]
        }
        (None, None) => vec![],
    };
    let datasets: Vec<Value> = b
        .datasets
        .iter()
        .enumerate()
        .map(|(i, _)| json!({"ref": format!("dataset-{i}")}))
        .collect();
    let metrics: Vec<Value> = b
        .metrics
        .iter()
        .map(|(task, dataset, metric, value)| {
            json!({"type": metric, "value": value, "slice": format!("{task} / {dataset}")})
        })
        .collect();
    // CycloneDX 1.6 types these as strings: an unknown one is left out, never null (a GGUF has no
    // `architectures[0]` class, and the schema refused the whole BOM).
    let mut parameters = serde_json::Map::new();
    if let Some(f) = &b.family {
        parameters.insert("architectureFamily".into(), json!(f));
    }
    if let Some(c) = &b.class {
        parameters.insert("modelArchitecture".into(), json!(c));
    }
    parameters.insert("datasets".into(), json!(datasets));
    let mut model_card = json!({
        "modelParameters": parameters,
        "properties": r.items.iter().map(|i| json!({
            "name": format!("glassbox:transparency:{}", i.id),
            "value": format!("{} {}", i.status.name(), i.value.as_deref().unwrap_or("")).trim().to_owned(),
        })).collect::<Vec<_>>(),
    });
    if let Some(task) = &b.pipeline_tag {
        model_card["modelParameters"]["task"] = json!(task);
    }
    if !metrics.is_empty() {
        model_card["quantitativeAnalysis"] = json!({"performanceMetrics": metrics});
    }
    let mut model = json!({
        "type": "machine-learning-model",
        "bom-ref": "model",
        "name": r.name,
        "licenses": license,
        "modelCard": model_card,
        "properties": [
            {"name": "glassbox:parameters", "value": b.parameters.to_string()},
            {"name": "glassbox:license_class", "value": r.license.class.name()},
            {"name": "glassbox:mof_class", "value": r.openness.mof_class.unwrap_or("unclassified")},
            {"name": "glassbox:osaid", "value": r.openness.osaid.name()},
        ],
    });
    if !b.base_models.is_empty() {
        model["pedigree"] = json!({"ancestors": b.base_models.iter().map(|m| json!({"type": "machine-learning-model", "name": m})).collect::<Vec<_>>()});
    }
    let mut components = vec![model];
    for (i, d) in b.datasets.iter().enumerate() {
        components.push(json!({
            "type": "data",
            "bom-ref": format!("dataset-{i}"),
            "name": d,
            "data": [{"type": "dataset", "name": d}],
        }));
    }
    let mut files = Vec::new();
    for (i, h) in r.hashes.iter().enumerate() {
        let mut c = json!({"type": "file", "bom-ref": format!("file-{i}"), "name": h.file,
            "properties": [{"name": "glassbox:kind", "value": h.kind}]});
        if let Some(sha) = &h.sha256 {
            c["hashes"] = json!([{"alg": "SHA-256", "content": sha}]);
        }
        files.push(format!("file-{i}"));
        components.push(c);
    }
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "glassbox", "version": env!("CARGO_PKG_VERSION")}]},
        },
        "components": components,
        "dependencies": [{"ref": "model", "dependsOn": files}],
    });
    json::to_string(&doc)
}

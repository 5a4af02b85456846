//! The transparency report: what a model's files prove, what they only claim, and what stays
//! hidden, item by item, beside what a closed API model discloses instead.
//!
//! The items and their IDs (A1 … K1), the status vocabulary and the openness rules come from the
//! project spec (`shared/spec/transparency.md` §1, §2, §6). The work splits in two:
//!
//! - [`open_sources`] touches the filesystem: it reads the model card, the LICENSE text, the
//!   tokenizer and generation configs, the chat template and any `trust_remote_code` Python next to
//!   the weights, each under a size cap (a card over the cap is a finding, not a 1 GB read).
//!   [`compute_hashes`] fingerprints the files with SHA-256, in parallel, with progress.
//! - [`build_report`] is pure: from the model, its architecture, those sources and the hashes it
//!   builds the [`TransparencyReport`] — every item with a status, a bucket, a value, evidence and
//!   the closed-API counterpart; the licence and its class; the MOF / OSAID verdicts; the headline
//!   counts; and the prompt-format audit's findings.
//!
//! The faces (text, markdown, JSON, CycloneDX, the TUI tab) format this report and compute nothing.
//!
//! Submodules, one concern each: [`card`] (front matter, sections, placeholders, hidden text),
//! [`license`] (the licence table and its classification), [`template`] (the static chat-template
//! reading), [`audit`] (the prompt-format audit), [`sources`] (reading the side files), [`hash`] (fingerprints), [`items`] (the A–K
//! items), [`claims`] (numbers read from the card's prose), [`closed_api`] (the closed-API column, as data), [`openness`] (MOF classes and OSAID).

pub mod audit;
pub mod card;
pub mod claims;
pub mod closed_api;
pub mod eval_results;
pub mod hash;
pub mod items;
pub mod license;
pub mod openness;
pub mod sources;
pub mod template;
pub mod yaml;

use serde::Serialize;

use crate::arch::Architecture;
use crate::finding::{Finding, Severity, Subject};
use crate::model::Model;

pub use hash::{FileHash, HashProgress, compute_hashes, hashable_files};
pub use items::Context;
pub use license::{LicenseClass, LicenseReport};
pub use openness::{ClassVerdict, Openness, Outcome};
pub use sources::{Sources, open_sources};

/// How an item is known (spec §1). The finer status is kept; [`Status::bucket`] collapses it to the
/// three buckets people see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Computed from the bytes on disk.
    Verified,
    /// A declared value checked against a verified one, and agreeing.
    Consistent,
    /// A declared value that disagrees with the verified one (both are shown).
    Contradicted,
    /// Found under a machine-readable key or a standard card section.
    Declared,
    /// Found only by a free-text heuristic in the card's prose.
    DeclaredText,
    /// Only an external pointer (URL, arXiv ID, Hub ID): the content is not on disk.
    Referenced,
    /// Computed from verified topology plus one declared value.
    Derived,
    /// The section exists but holds template filler.
    Placeholder,
    /// No evidence anywhere.
    Missing,
    /// Does not apply to this model (MoE fields on a dense model).
    #[serde(rename = "N/A")]
    NotApplicable,
    /// An organisational or deployment fact no file can carry.
    NotAssessable,
}

/// The three buckets shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Verified,
    Declared,
    Missing,
}

impl Status {
    /// The name used in every output (`VERIFIED`, `DECLARED_TEXT`, `N/A`, …).
    pub fn name(self) -> &'static str {
        match self {
            Status::Verified => "VERIFIED",
            Status::Consistent => "CONSISTENT",
            Status::Contradicted => "CONTRADICTED",
            Status::Declared => "DECLARED",
            Status::DeclaredText => "DECLARED_TEXT",
            Status::Referenced => "REFERENCED",
            Status::Derived => "DERIVED",
            Status::Placeholder => "PLACEHOLDER",
            Status::Missing => "MISSING",
            Status::NotApplicable => "N/A",
            Status::NotAssessable => "NOT_ASSESSABLE",
        }
    }

    /// The bucket (spec §1); `None` for N/A and NOT_ASSESSABLE, which are not counted.
    pub fn bucket(self) -> Option<Bucket> {
        match self {
            Status::Verified | Status::Consistent | Status::Derived => Some(Bucket::Verified),
            Status::Contradicted | Status::Declared | Status::DeclaredText | Status::Referenced => {
                Some(Bucket::Declared)
            }
            Status::Placeholder | Status::Missing => Some(Bucket::Missing),
            Status::NotApplicable | Status::NotAssessable => None,
        }
    }
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Verified => "verified",
            Bucket::Declared => "declared",
            Bucket::Missing => "missing",
        }
    }
}

/// The groups of spec §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Group {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
}

impl Group {
    /// The group's title, as the spec names it.
    pub fn title(self) -> &'static str {
        match self {
            Group::A => "Identity, lineage, publications",
            Group::B => "License and terms",
            Group::C => "Architecture and size",
            Group::D => "Weights, precision, checkpoints",
            Group::E => "Tokenizer, prompt format, defaults",
            Group::F => "Data",
            Group::G => "Training process and compute",
            Group::H => "Evaluation and risk",
            Group::I => "Documentation and use",
            Group::J => "Code",
            Group::K => "Access",
        }
    }
}

/// One disclosure item (a row of spec §2) as found in this model's files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable ID from the spec (`C2`).
    pub id: &'static str,
    pub group: Group,
    /// What the item is (`Total parameter count`).
    pub item: &'static str,
    pub status: Status,
    pub bucket: Option<Bucket>,
    /// The value found, short (`108864`, `apache-2.0`, `3 datasets: …`); `None` when missing.
    pub value: Option<String>,
    /// Where it was found: files and keys, sections, tensors; for a contradiction both sides.
    pub evidence: Vec<String>,
    /// What a typical closed API model (GPT-4 / Claude / Gemini) discloses for this item.
    pub closed_api: &'static str,
}

/// Headline counts over the applicable items (N/A and NOT_ASSESSABLE left out), comparable across
/// models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub applicable: usize,
    pub verified: usize,
    pub declared: usize,
    pub missing: usize,
    /// Of the declared: how many contradict what the weights show.
    pub contradicted: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct TransparencyReport {
    /// The model's name as declared (card, GGUF `general.name`), or the folder/file name.
    pub name: String,
    pub items: Vec<Item>,
    pub license: LicenseReport,
    pub openness: Openness,
    pub counts: Counts,
    /// SHA-256 of every weight, tokenizer and config file; empty with `--no-hash`.
    pub hashes: Vec<FileHash>,
    /// Whether the hashes were computed (false with `--no-hash`).
    pub hashed: bool,
    /// The chat template as shipped (item E3), for display; never rendered.
    pub chat_template: Option<String>,
    /// Everything suspicious: prompt-format audit, hidden text, remote code, oversize card.
    pub findings: Vec<Finding>,
    /// Structured facts for a bill of materials (CycloneDX): what the items show as text.
    pub bom: BomFacts,
}

/// The facts a CycloneDX ML-BOM carries, gathered once so the face formats without computing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BomFacts {
    pub family: Option<String>,
    /// `architectures[0]` of the config.
    pub class: Option<String>,
    pub parameters: u64,
    pub pipeline_tag: Option<String>,
    pub datasets: Vec<String>,
    pub base_models: Vec<String>,
    /// (task, dataset, metric, value) from `model-index`.
    pub metrics: Vec<(String, String, String, String)>,
}

impl TransparencyReport {
    /// The item with this ID.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
}

/// The lineage claim checked against a base model's weights (`--base PATH`): the comparison is
/// made by the caller (the diff is a peer of this module, so it cannot be called from here) and
/// its conclusion handed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseCheck {
    /// The base as the user gave it.
    pub base: String,
    /// Whether the weights derive from the base (any verdict but `unrelated`).
    pub related: bool,
    /// The comparison's verdict (`fine_tuned`, `quantised`, `unrelated` …) and what it rests on.
    pub verdict: String,
}

/// Builds the report from what was read. Pure: no I/O.
pub fn build_report(
    model: &Model,
    arch: &Architecture,
    sources: &Sources,
    hashes: Option<Vec<FileHash>>,
    base: Option<&BaseCheck>,
) -> TransparencyReport {
    let mut findings = sources.findings.clone();
    let card = sources.card.as_ref();
    let license = license::resolve_license(sources, model);
    let audit = audit::audit_prompt_format(sources, model);
    findings.extend(audit.findings.iter().cloned());
    if let Some(card) = card {
        findings.extend(card.hidden_text_findings());
    }
    let hashed = hashes.is_some();
    let hashes = hashes.unwrap_or_default();
    for h in hash::content_mismatches(&hashes) {
        findings.push(Finding::new(
            Severity::Error,
            "blob_hash_mismatch",
            Subject::File(h.file.clone()),
            format!(
                "`{}` is a store blob named by SHA-256 {} but its content hashes to {}: it was corrupted or changed after download",
                h.file,
                h.content_address.as_deref().unwrap_or_default(),
                h.sha256.as_deref().unwrap_or_default()
            ),
        ));
    }
    let ctx = items::Context {
        model,
        arch,
        sources,
        license: &license,
        audit: &audit,
        hashes: hashed.then_some(hashes.as_slice()),
        base,
    };
    let items = items::build_items(&ctx);
    let bom = items::bom_facts(&ctx);
    let openness = openness::judge_openness(&items, &license);
    let counts = count(&items);
    TransparencyReport {
        name: items::model_name(&ctx),
        items,
        license,
        openness,
        counts,
        hashes,
        hashed,
        chat_template: audit.template.clone(),
        findings,
        bom,
    }
}

fn count(items: &[Item]) -> Counts {
    let mut c = Counts::default();
    for item in items {
        match item.bucket {
            Some(Bucket::Verified) => c.verified += 1,
            Some(Bucket::Declared) => c.declared += 1,
            Some(Bucket::Missing) => c.missing += 1,
            None => continue,
        }
        c.applicable += 1;
        if item.status == Status::Contradicted {
            c.contradicted += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_spec_table() {
        assert_eq!(Status::Consistent.bucket(), Some(Bucket::Verified));
        assert_eq!(Status::Derived.bucket(), Some(Bucket::Verified));
        assert_eq!(Status::Contradicted.bucket(), Some(Bucket::Declared));
        assert_eq!(Status::Referenced.bucket(), Some(Bucket::Declared));
        assert_eq!(Status::Placeholder.bucket(), Some(Bucket::Missing));
        assert_eq!(Status::NotApplicable.bucket(), None);
        assert_eq!(Status::NotAssessable.bucket(), None);
        assert_eq!(
            serde_json::to_string(&Status::NotApplicable).unwrap(),
            "\"N/A\""
        );
        assert_eq!(
            serde_json::to_string(&Status::DeclaredText).unwrap(),
            "\"DECLARED_TEXT\""
        );
    }

    #[test]
    fn counts_leave_out_what_does_not_apply() {
        let item = |status: Status| Item {
            id: "X",
            group: Group::A,
            item: "x",
            status,
            bucket: status.bucket(),
            value: None,
            evidence: vec![],
            closed_api: "",
        };
        let c = count(&[
            item(Status::Verified),
            item(Status::Contradicted),
            item(Status::Missing),
            item(Status::NotApplicable),
        ]);
        assert_eq!(
            c,
            Counts {
                applicable: 3,
                verified: 1,
                declared: 1,
                missing: 1,
                contradicted: 1
            }
        );
    }
}

//! The summary report (`glassbox summary`, and `glassbox PATH` off a terminal): the architecture
//! at a glance, built by [`SummaryReport::new`] from the opened [`Model`] and its inferred
//! [`Architecture`].
//!
//! Where each piece comes from:
//!
//! | field | computed by |
//! |---|---|
//! | `model` | [`crate::model::open`] (files, totals, documents, open notes) |
//! | `architecture` | [`crate::arch::infer_architecture`]: family and its evidence, kind, hyperparameters |
//! | `parameters` | the architecture's roles → components ([`crate::arch::Parameters`]) |
//! | `blocks`, `other_tensors` | the repeated-block detection ([`crate::arch::blocks`]) |
//! | `checks` | declared (config.json or GGUF metadata) against observed (shapes) |
//! | `memory` | [`crate::arch::memory`] |
//! | `notes` | the architecture inference's remarks |
//! | `metadata` | the GGUF metadata (`general.*`, `tokenizer.*`) |
//! | `storage` | the tensor table's dtypes ([`super::dtype_mix`]) |

use serde::Serialize;

use super::{DTypeCount, ModelObject, SCHEMA_VERSION, dtype_mix};
pub use crate::arch::DeclaredBy;
use crate::arch::{
    Architecture, BlockGroup, Check, Component, FamilySource, Hyperparameters, Kind, Memory, Role,
};
use crate::finding::Finding;
/// The GGUF metadata's lineage and tokenizer records, as the report carries them.
pub use crate::format::gguf::{Source, TokenizerInfo};
use crate::model::{DType, Model};

/// Everything the summary shows. Its serde form is the `glassbox summary --format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryReport {
    pub schema_version: u32,
    pub model: ModelObject,
    pub architecture: ArchitectureFacts,
    pub parameters: ParameterCounts,
    /// The stacks of repeated blocks, main stack first.
    pub blocks: Vec<BlockStack>,
    /// The tensors outside every stack, in tensor-table order.
    pub other_tensors: Vec<OtherTensor>,
    /// Each hyperparameter declared and observed, with its status.
    pub checks: Vec<Check>,
    pub memory: Memory,
    /// Remarks of the architecture inference ([`crate::arch::Note`]): contradictions, missing
    /// block indices, ignored values; then the pickle safety findings of the model's folder
    /// (`pickle_*` codes of [`Model::notes`]). JSON: their messages (an array of strings).
    #[serde(serialize_with = "messages")]
    pub notes: Vec<Finding>,
    /// What the model's own metadata says about it (GGUF models; `None` for safetensors, whose
    /// model card is not read yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Parameters per storage dtype, largest first (not in JSON: `model.parameters_by_dtype`).
    #[serde(skip)]
    pub storage: Vec<DTypeCount>,
    /// Where the declared side of the checks comes from ([`Architecture::declared_by`]; not in
    /// JSON, where `model.format` tells).
    #[serde(skip)]
    pub declared_by: DeclaredBy,
    /// The role of every tensor, in tensor-table order, as the architecture inference refined it
    /// for the family (not in JSON: the blocks' outlines and `other_tensors` carry roles).
    #[serde(skip)]
    pub roles: Vec<Role>,
}

/// Findings as the array of their messages (the summary's `notes` in schema version 1).
fn messages<S: serde::Serializer>(findings: &[Finding], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(findings.iter().map(|f| &f.message))
}

/// The `architecture` object: the family, how it was recognised, and the hyperparameters, all from
/// [`crate::arch::infer_architecture`].
#[derive(Debug, Clone, Serialize)]
pub struct ArchitectureFacts {
    /// Canonical family name (`llama`, `qwen3_moe`, …), or the config's own `model_type` when
    /// glassbox does not know it.
    pub family: Option<String>,
    /// Whether glassbox has naming rules and config semantics for `family`.
    pub family_known: bool,
    pub family_source: Option<FamilySource>,
    /// Which evidence gave the family and whether the tensor names agree (JSON: the sentence).
    pub family_evidence: crate::arch::evidence::FamilyEvidence,
    /// The tensor-name signature that matched, if any.
    pub signature: Option<&'static str>,
    /// The naming convention used for roles.
    pub convention: Option<&'static str>,
    pub kind: Option<Kind>,
    /// The config's `architectures[0]`.
    pub class: Option<String>,
    /// Observed where the weights show it, otherwise declared (see `checks`).
    #[serde(flatten)]
    pub hyper: Hyperparameters,
}

/// The `parameters` object: counts by component from the architecture's tensor roles.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterCounts {
    pub total: u64,
    /// Of `total`, the values of buffers (not trained).
    pub buffers: u64,
    /// Non-empty components in [`Component::ALL`] order; JSON: an object `{component: count}`
    /// with its keys in alphabetical order.
    #[serde(serialize_with = "components_as_object")]
    pub by_component: Vec<(Component, u64)>,
    /// Parameters used per token by a mixture of experts.
    pub active: Option<u64>,
    /// How `active` was computed, or why it is missing.
    pub active_basis: Option<crate::arch::ActiveBasis>,
}

fn components_as_object<S: serde::Serializer>(
    list: &[(Component, u64)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let by_name: std::collections::BTreeMap<&str, u64> =
        list.iter().map(|(c, n)| (c.name(), *n)).collect();
    serde::Serialize::serialize(&by_name, s)
}

/// One stack of repeated blocks ([`crate::arch::Stack`]).
#[derive(Debug, Clone, Serialize)]
pub struct BlockStack {
    /// `model.layers`.
    pub prefix: String,
    /// Distinct blocks.
    pub count: u64,
    /// The first (main) stack.
    pub main: bool,
    /// Groups of identical blocks, by first index.
    pub groups: Vec<BlockGroup>,
}

/// A tensor outside every repeated block, with its role.
#[derive(Debug, Clone, Serialize)]
pub struct OtherTensor {
    pub name: String,
    pub role: Role,
    pub component: Component,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

/// The `metadata` object: what a GGUF file's metadata says about the model — identity, lineage,
/// tokenizer and chat template.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub gguf_version: u32,
    /// `general.architecture`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.license`.
    pub license: Option<String>,
    /// `general.file_type`: llama.cpp's `llama_ftype` (15 = `MOSTLY_Q4_K_M`).
    pub file_type: Option<u64>,
    /// `general.quantization_version`.
    pub quantization_version: Option<u64>,
    /// `general.base_model.*`.
    pub base_models: Vec<Source>,
    /// `general.dataset.*` / `general.datasets`.
    pub datasets: Vec<Source>,
    /// `tokenizer.*`.
    pub tokenizer: TokenizerInfo,
    /// Storage bits per weight over the tensors of known size.
    pub bits_per_weight: Option<f64>,
    /// `split.count`.
    pub split_count: Option<u64>,
    /// How many key/value pairs the metadata holds (not in JSON).
    #[serde(skip)]
    pub key_count: usize,
    /// The chat template's size and opening, for a one-line mention (not in JSON, which has the
    /// whole template under `tokenizer`).
    #[serde(skip)]
    pub chat_template: Option<TemplatePreview>,
}

/// A chat template in brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePreview {
    /// Length in characters.
    pub chars: u64,
    /// Up to the first 60 characters of its first line.
    pub opening: String,
    /// Whether the template goes on after `opening`.
    pub continues: bool,
}

impl TemplatePreview {
    /// Characters of the first line kept.
    const OPENING_CHARS: usize = 60;

    pub fn of(template: &str) -> TemplatePreview {
        let opening: String = template
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(Self::OPENING_CHARS)
            .collect();
        TemplatePreview {
            chars: template.chars().count() as u64,
            continues: opening.len() < template.len(),
            opening,
        }
    }
}

impl Metadata {
    /// The GGUF metadata of `model`, or `None` for a safetensors model.
    pub fn of(model: &Model) -> Option<Metadata> {
        let g = model.gguf.as_deref()?;
        let tokenizer = g.tokenizer();
        Some(Metadata {
            gguf_version: g.version,
            architecture: g.architecture().map(str::to_owned),
            name: g.name().map(str::to_owned),
            license: g.license().map(str::to_owned),
            file_type: g.metadata.get_u64("general.file_type"),
            quantization_version: g.metadata.get_u64("general.quantization_version"),
            base_models: g.base_models(),
            datasets: g.datasets(),
            chat_template: tokenizer.chat_template.as_deref().map(TemplatePreview::of),
            tokenizer,
            bits_per_weight: model.bits_per_weight(),
            split_count: g.split().map(|s| s.count),
            key_count: g.metadata.len(),
        })
    }
}

impl SummaryReport {
    /// The summary of `model`, whose architecture `arch` was inferred by
    /// [`crate::arch::infer_architecture`].
    pub fn new(model: &Model, arch: &Architecture) -> SummaryReport {
        let p = &arch.parameters;
        SummaryReport {
            schema_version: SCHEMA_VERSION,
            model: ModelObject::new(model),
            architecture: ArchitectureFacts {
                family: arch.family.clone(),
                family_known: arch.family_known,
                family_source: arch.family_source,
                family_evidence: arch.family_evidence.clone(),
                signature: arch.signature,
                convention: arch.convention,
                kind: arch.kind,
                class: arch.class.clone(),
                hyper: arch.hyper.clone(),
            },
            parameters: ParameterCounts {
                total: p.total,
                buffers: p.buffers,
                by_component: p.by_component.clone(),
                active: p.active,
                active_basis: p.active_basis.clone(),
            },
            blocks: arch
                .stacks
                .iter()
                .enumerate()
                .map(|(i, s)| BlockStack {
                    prefix: s.prefix.clone(),
                    count: s.count(),
                    main: i == 0,
                    groups: s.groups.clone(),
                })
                .collect(),
            other_tensors: arch
                .others
                .iter()
                .map(|&i| {
                    let t = &model.tensors[i];
                    OtherTensor {
                        name: t.name.clone(),
                        role: arch.roles[i].role,
                        component: arch.roles[i].component,
                        dtype: t.dtype,
                        shape: t.shape.clone(),
                        parameters: t.parameters(),
                    }
                })
                .collect(),
            checks: arch.checks.clone(),
            memory: arch.memory.clone(),
            // The pickle safety report (what loading the folder's pickles would import and call)
            // is shown with the remarks: a summary must not hide it.
            notes: arch
                .notes
                .iter()
                .chain(model.notes.iter().filter(|n| is_pickle_safety(n)))
                .cloned()
                .collect(),
            metadata: Metadata::of(model),
            storage: dtype_mix(&model.tensors),
            declared_by: arch.declared_by,
            roles: arch.roles.iter().map(|r| r.role).collect(),
        }
    }

    /// What the text and markdown summaries list under notes: [`SummaryReport::notes`], then the
    /// other notes of opening the model (files beside the weights that were not read, partial
    /// downloads, dangling links: in JSON under `model.notes`), so that the summary says what was
    /// not opened.
    pub fn shown_notes(&self) -> impl Iterator<Item = &Finding> {
        let opened = self.model.notes.iter();
        // The pickle safety notes are in `notes` already.
        self.notes
            .iter()
            .chain(opened.filter(|n| !is_pickle_safety(n)))
    }
}

/// Whether a note of opening the model is of the pickle safety report, which the summary shows
/// with its own remarks.
fn is_pickle_safety(note: &Finding) -> bool {
    note.code.starts_with("pickle_")
}

impl ArchitectureFacts {
    /// The family in a few words: `llama decoder, GQA 4/2`, `mixtral decoder, MoE, GQA 4/2`,
    /// `foo (unknown to glassbox)`, `unrecognised`.
    pub fn headline(&self) -> String {
        let mut words = match (&self.family, self.family_known) {
            (Some(f), true) => f.clone(),
            (Some(f), false) => format!("{f} (unknown to glassbox)"),
            (None, _) => "unrecognised".to_owned(),
        };
        if let Some(k) = self.kind {
            words.push(' ');
            words.push_str(k.name());
        }
        if self.hyper.experts.is_some() {
            words.push_str(", MoE");
        }
        if let (Some(a), Some(q), Some(kv)) = (
            self.hyper.attention,
            self.hyper.attention_heads,
            self.hyper.kv_heads,
        ) {
            words.push_str(&format!(", {} {q}/{kv}", a.to_uppercase()));
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_preview_keeps_the_first_line_up_to_60_characters() {
        let short = TemplatePreview::of("{{ bos }}");
        assert_eq!(
            short,
            TemplatePreview {
                chars: 9,
                opening: "{{ bos }}".into(),
                continues: false
            }
        );
        let two_lines = TemplatePreview::of("a\nb");
        assert_eq!((two_lines.chars, two_lines.opening.as_str()), (3, "a"));
        assert!(two_lines.continues);
        let long = "x".repeat(61);
        let p = TemplatePreview::of(&long);
        assert_eq!((p.opening.len(), p.continues), (60, true));
    }
}

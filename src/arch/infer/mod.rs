//! From tensor table + config to [`Architecture`]: family, roles, stacks, observed and declared
//! hyperparameters, checks, parameters.
//!
//! [`infer`] runs the steps in order: the family (config, then tensor-name signatures), a role per
//! tensor, the stacks of repeated blocks, then the observations ([`observe`]: one function per
//! concern — layers, embeddings, attention, MLP and experts, vocabulary, tied embeddings, context,
//! task heads, dtype — each recording its checks), the parameter counts and hyperparameters
//! ([`parameters`]) and the memory estimate.

mod attention;
mod context;
mod mlp;
mod observe;
mod parameters;

use context::Ctx;
use observe::observe;
use parameters::{count_parameters, hyperparameters, kv_inputs};

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::blocks::{self, Stack, split_block};
use super::config::{ConfigReader, Declared};
use super::evidence::{self, DeclaredFamily, FamilyEvidence, NameEvidence};
use super::memory;
use super::note::Note;
use super::rules::{
    self, CONVENTIONS, Convention, Family, Kind, SIGNATURES, Signature, VISION_SEGMENTS,
};
use super::{
    Architecture, Check, Component, DeclaredBy, FamilySource, Role, Status, TensorRole, Value,
};
use crate::model::TensorInfo;
use crate::text::thousands;

/// [`super::infer_architecture`] on its parts: the tensor table, the parsed `config.json` and the
/// tokenizer's size. Pure; never panics on odd configs.
pub fn infer_from_parts(
    tensors: &[TensorInfo],
    config: Option<&Json>,
    tokenizer_size: Option<u64>,
) -> Architecture {
    infer_with_naming(tensors, config, tokenizer_size, None)
}

/// [`infer_from_parts`] with the naming convention fixed (`Some(&rules::GGUF_STYLE)` for a GGUF
/// model): roles come from it alone, and for the GGUF scheme the family is cross-checked against
/// [`rules::GGUF_SIGNATURES`] (layout features, since one scheme serves every architecture).
pub fn infer_with_naming(
    tensors: &[TensorInfo],
    config: Option<&Json>,
    tokenizer_size: Option<u64>,
    naming: Option<&'static Convention>,
) -> Architecture {
    let declaration = Declaration {
        config,
        by: DeclaredBy::Config,
        key_names: &[],
    };
    infer(tensors, declaration, tokenizer_size, naming)
}

/// What declares the hyperparameters: a config (`config.json`, or the one a GGUF model's metadata
/// stands for), who declared it, and the name the declaring side gives each config key.
pub(crate) struct Declaration<'a> {
    pub config: Option<&'a Json>,
    pub by: DeclaredBy,
    /// Config key → its name on the declaring side (`hidden_size` → `llama.embedding_length`),
    /// and `tokenizer_size` → where the tokenizer's size was read.
    pub key_names: &'a [(&'static str, String)],
}

/// [`infer_with_naming`] for any [`Declaration`].
pub(crate) fn infer(
    tensors: &[TensorInfo],
    declaration: Declaration,
    tokenizer_size: Option<u64>,
    naming: Option<&'static Convention>,
) -> Architecture {
    let config = declaration.config;
    let mut cfg = ConfigReader::new(config).with_key_names(declaration.key_names);
    let mut notes = Vec::new();
    if config.is_some() && !cfg.present() {
        notes.push(Note::ConfigNotObject);
    }

    // ---- family ----
    let model_type = cfg.string(&["model_type"]);
    let architectures = cfg.strings(&["architectures"]);
    let class = architectures
        .as_ref()
        .and_then(|a| a.value.first().cloned());
    let signature = match naming {
        None => match_signature(tensors, SIGNATURES),
        Some(c) if std::ptr::eq(c.base.unwrap_or(c), &rules::GGUF_STYLE) => {
            match_signature(tensors, rules::GGUF_SIGNATURES)
        }
        Some(_) => None,
    };
    let declared_family: Option<&'static Family> = model_type
        .as_ref()
        .and_then(|t| rules::family_for_model_type(&t.value))
        .or_else(|| {
            architectures.as_ref().and_then(|a| {
                a.value
                    .iter()
                    .find_map(|c| rules::family_for_architecture(c))
            })
        });
    let sig_family = signature.and_then(|s| rules::family_named(s.family));
    let (family, family_known, family_source, family_name) = match (declared_family, &model_type) {
        (Some(f), _) => (
            Some(f),
            true,
            Some(FamilySource::Config),
            Some(f.name.to_owned()),
        ),
        (None, Some(t)) => (
            None,
            false,
            Some(FamilySource::Config),
            Some(t.value.clone()),
        ),
        (None, None) => match sig_family {
            Some(f) => (
                Some(f),
                true,
                Some(FamilySource::TensorNames),
                Some(f.name.to_owned()),
            ),
            None => (None, false, None, None),
        },
    };
    let convention: Option<&'static Convention> =
        naming.or(family.or(sig_family).map(|f| f.convention));
    let family_evidence = family_evidence(
        declared_family,
        model_type.as_ref(),
        class.as_deref(),
        signature,
    );
    // A family's kind; else the stacks' names; else a declaration that attention is not causal
    // (GGUF `{arch}.attention.causal = false`: a bidirectional encoder).
    let not_causal = cfg.boolean(&["is_causal"]).is_some_and(|d| !d.value);
    let kind = family
        .map(|f| f.kind)
        .or_else(|| guess_kind(tensors))
        .or(not_causal.then_some(Kind::Encoder));

    // ---- roles ----
    let mut roles: Vec<TensorRole> = tensors
        .iter()
        .map(|t| {
            let role = convention
                .and_then(|c| rules::role_in(c, &t.name))
                .or_else(|| {
                    naming
                        .is_none()
                        .then(|| CONVENTIONS.iter().find_map(|c| rules::role_in(c, &t.name)))
                        .flatten()
                })
                .unwrap_or(Role::Other);
            let mut component = role.component();
            if kind != Some(Kind::Vision)
                && component != super::Component::Projector
                && t.name.split('.').any(|s| VISION_SEGMENTS.contains(&s))
            {
                component = Component::Vision;
            }
            TensorRole { role, component }
        })
        .collect();

    // ---- stacks ----
    let (mut stacks, mut others) = blocks::collect(tensors, &roles);
    others.sort_by(|&a, &b| {
        roles[a]
            .role
            .cmp(&roles[b].role)
            .then_with(|| crate::model::sort::natural_cmp(&tensors[a].name, &tensors[b].name))
    });
    // A block holding a multi-token-prediction module is not a decoder layer.
    let mut mtp_blocks: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for stack in &stacks {
        for (&index, members) in &stack.members {
            if members.iter().any(|&i| roles[i].role == Role::Mtp) {
                mtp_blocks
                    .entry(stack.prefix.clone())
                    .or_default()
                    .push(index);
                for &i in members {
                    roles[i].component = Component::Mtp;
                }
            }
        }
    }
    if !mtp_blocks.is_empty() {
        // Rebuild so the MTP blocks carry their component and do not skew the typical group.
        let (s, _) = blocks::collect(tensors, &roles);
        stacks = s;
    }
    order_stacks(&mut stacks, kind);

    let mut ctx = Ctx {
        tensors,
        roles: &roles,
        stacks: &stacks,
        mtp: &mtp_blocks,
        transposed: convention.is_some_and(|c| c.transposed),
        checks: Vec::new(),
        notes: &mut notes,
    };

    // family check
    {
        let declared = model_type
            .as_ref()
            .map(|t| Declared::new(Value::Text(t.value.clone()), t.key.clone()))
            .or_else(|| {
                architectures.as_ref().and_then(|a| {
                    a.value
                        .first()
                        .map(|c| Declared::new(Value::Text(c.clone()), "architectures[0]"))
                })
            });
        let observed = signature.map(|s| Value::Text(s.family.to_owned()));
        if declared.is_some() || observed.is_some() {
            let status = match (declared_family, signature, &declared) {
                (Some(f), Some(s), _) if s.compatible.contains(&f.name) => Status::Consistent,
                (Some(_), Some(_), _) => Status::Contradicted,
                (_, None, Some(_)) => Status::DeclaredOnly,
                (None, Some(_), Some(_)) => Status::DeclaredOnly,
                (_, Some(_), None) => Status::ObservedOnly,
                (_, None, None) => Status::DeclaredOnly,
            };
            let observed = if declared.is_some() && declared_family.is_none() {
                None
            } else {
                observed
            };
            // Names that only resemble a known family are evidence (see `family_evidence`), not
            // an observation of the declared one.
            let basis = signature.filter(|_| observed.is_some()).map(|s| {
                super::basis::Basis::NameSignature {
                    fragments: s.fragments.to_vec(),
                }
            });
            ctx.checks.push(Check {
                field: "family",
                declared: declared.as_ref().map(|d| d.value.clone()),
                observed,
                status,
                declared_key: declared.map(|d| d.key),
                basis,
            });
        }
    }

    let facts = observe(&mut ctx, &mut cfg, family, kind, tokenizer_size);
    let Ctx { mut checks, .. } = ctx;

    // ---- parameters ----
    let parameters = count_parameters(tensors, &roles, &stacks, &mtp_blocks, &checks);

    // ---- hyperparameters ----
    let hyper = hyperparameters(&checks);

    // ---- memory ----
    let kv = kv_inputs(facts, &hyper, &mut cfg, family, kind);
    let memory = memory::estimate(tensors, parameters.total, kind, kv);

    let contradictions: Vec<Note> = checks
        .iter()
        .filter(|c| c.status == Status::Contradicted)
        .map(|c| Note::Contradiction {
            field: c.field,
            declared: c.declared.clone(),
            declared_key: c.declared_key.clone(),
            observed: c.observed.clone(),
            basis: c.basis.clone(),
            declared_by: declaration.by,
        })
        .collect();
    notes.splice(0..0, contradictions);
    notes.append(&mut cfg.notes);
    for stack in &stacks {
        let span = match (stack.indices.first(), stack.indices.last()) {
            (Some(&first), Some(&last)) => Some((first, last)),
            _ => None,
        };
        if let Some((first, last)) = span.filter(|(f, l)| l - f + 1 != stack.count()) {
            notes.push(Note::MissingBlockIndices {
                stack: stack.prefix.clone(),
                blocks: stack.count(),
                first,
                last,
            });
        }
    }
    checks.sort_by_key(|c| FIELD_ORDER.iter().position(|f| *f == c.field));

    super::Architecture {
        family: family_name,
        family_known,
        family_source,
        family_evidence,
        signature: signature.map(|s| s.family),
        convention: convention.map(|c| c.name),
        kind,
        class,
        hyper,
        roles,
        stacks,
        others,
        parameters,
        checks,
        memory,
        declared_by: declaration.by,
        notes: notes.into_iter().map(Note::into_finding).collect(),
    }
}

/// The order checks are listed in.
const FIELD_ORDER: &[&str] = &[
    "family",
    "layers",
    "decoder_layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "attention_width",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "intermediate_size",
    "experts",
    "experts_per_token",
    "expert_intermediate_size",
    "shared_experts",
    "shared_expert_intermediate_size",
    "moe_layers",
    "vocab_size",
    "tokenizer_size",
    "type_vocab_size",
    "tied_embeddings",
    "context_length",
    "sliding_window",
    "rope_theta",
    "relative_attention_num_buckets",
    "patch_size",
    "num_labels",
    "dtype",
];

fn match_signature(
    tensors: &[TensorInfo],
    signatures: &'static [Signature],
) -> Option<&'static Signature> {
    let mut cache: BTreeMap<&str, bool> = BTreeMap::new();
    signatures.iter().find(|s| {
        s.fragments.iter().all(|f| {
            *cache
                .entry(f)
                .or_insert_with(|| tensors.iter().any(|t| t.name.contains(f)))
        })
    })
}

/// What the config and the tensor names say about the family.
fn family_evidence(
    declared: Option<&Family>,
    model_type: Option<&Declared<String>>,
    class: Option<&str>,
    signature: Option<&Signature>,
) -> FamilyEvidence {
    let declared_family = match (declared, model_type) {
        (_, Some(t)) => DeclaredFamily::ModelType {
            model_type: t.value.clone(),
            known: declared.is_some(),
        },
        (Some(_), None) => DeclaredFamily::Architectures {
            class: class.unwrap_or("").to_owned(),
        },
        (None, None) => DeclaredFamily::Nothing,
    };
    let names = match (declared, signature) {
        (_, None) => NameEvidence::NoSignature,
        (Some(f), Some(s)) if s.compatible.contains(&f.name) => {
            NameEvidence::Agree(signature_of(s))
        }
        (Some(_), Some(s)) => NameEvidence::Contradict(signature_of(s)),
        (None, Some(s)) => NameEvidence::Resemble(signature_of(s)),
    };
    FamilyEvidence {
        declared: declared_family,
        names,
    }
}

/// A matched signature as evidence: its family and the other families sharing its names.
pub(super) fn signature_of(s: &Signature) -> evidence::Signature {
    evidence::Signature {
        family: s.family,
        shared_with: s.compatible.iter().skip(1).copied().collect(),
    }
}

/// Without a known family: an LM head or position-free decoder names suggest a decoder; an
/// encoder and a decoder stack suggest an encoder-decoder. Otherwise unknown.
fn guess_kind(tensors: &[TensorInfo]) -> Option<Kind> {
    let stacks: BTreeSet<&str> = tensors
        .iter()
        .filter_map(|t| split_block(&t.name).map(|b| b.stack))
        .collect();
    let has = |w: &str| stacks.iter().any(|s| s.split('.').any(|seg| seg == w));
    if has("encoder") && has("decoder") {
        return Some(Kind::EncoderDecoder);
    }
    None
}

/// Main stack first: the text stack with the most blocks (the encoder of an encoder-decoder).
fn order_stacks(stacks: &mut [Stack], kind: Option<Kind>) {
    let is_vision = |s: &Stack| {
        s.prefix
            .split('.')
            .any(|seg| VISION_SEGMENTS.contains(&seg))
    };
    let is_decoder = |s: &Stack| s.prefix.split('.').any(|seg| seg == "decoder");
    stacks.sort_by_key(|s| {
        let vision_penalty = kind != Some(Kind::Vision) && is_vision(s);
        let decoder_penalty = kind == Some(Kind::EncoderDecoder) && is_decoder(s);
        (
            vision_penalty,
            decoder_penalty,
            std::cmp::Reverse(s.count()),
        )
    });
}

/// A value in words: counts with separators, flags as yes/no.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Count(n) => thousands(*n),
        Value::Flag(true) => "yes".into(),
        Value::Flag(false) => "no".into(),
        Value::Number(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                thousands(*f as u64)
            } else {
                format!("{f}")
            }
        }
        Value::Text(s) => s.clone(),
    }
}

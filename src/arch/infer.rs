//! From tensor table + config to [`Architecture`]: family, roles, stacks, observed and declared
//! hyperparameters, checks, parameters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::blocks::{self, BlockGroup, Stack, split_block};
use super::config::{ConfigReader, Declared, dtype_name};
use super::memory::{self, KvInputs};
use super::note::Note;
use super::rules::{
    self, CONVENTIONS, Convention, Family, Kind, SIGNATURES, Signature, VISION_SEGMENTS,
};
use super::{
    Architecture, Check, Component, DeclaredBy, FamilySource, Hyperparameters, Parameters, Role,
    Status, TensorRole, Value,
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
    let kind = family.map(|f| f.kind).or_else(|| guess_kind(tensors));

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
            let basis = signature.map(|s| format!("tensor names ({})", s.fragments.join(" + ")));
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

fn family_evidence(
    declared: Option<&Family>,
    model_type: Option<&Declared<String>>,
    class: Option<&str>,
    signature: Option<&Signature>,
) -> String {
    let names = |s: &Signature| {
        if s.compatible.len() > 1 {
            format!(
                "{} names, shared with {}",
                s.family,
                s.compatible[1..].join(", ")
            )
        } else {
            format!("{} names", s.family)
        }
    };
    match (declared, model_type, signature) {
        (Some(f), Some(t), Some(s)) if s.compatible.contains(&f.name) => format!(
            "config.json model_type \"{}\"; tensor names agree ({})",
            t.value,
            names(s)
        ),
        (Some(f), None, Some(s)) if s.compatible.contains(&f.name) => format!(
            "config.json architectures \"{}\"; tensor names agree ({})",
            class.unwrap_or(""),
            names(s)
        ),
        (Some(_), t, Some(s)) => format!(
            "config.json {}; but the tensor names look like {} (contradicted)",
            t.map(|t| format!("model_type \"{}\"", t.value))
                .unwrap_or_else(|| format!("architectures \"{}\"", class.unwrap_or(""))),
            s.family
        ),
        (Some(_), Some(t), None) => format!(
            "config.json model_type \"{}\"; no known tensor-name signature",
            t.value
        ),
        (Some(_), None, None) => format!(
            "config.json architectures \"{}\"; no known tensor-name signature",
            class.unwrap_or("")
        ),
        (None, Some(t), Some(s)) => format!(
            "config.json model_type \"{}\", a family glassbox has no rules for; tensor names resemble {}",
            t.value,
            names(s)
        ),
        (None, Some(t), None) => format!(
            "config.json model_type \"{}\", a family glassbox has no rules for",
            t.value
        ),
        (None, None, Some(s)) => format!("tensor names only ({})", names(s)),
        (None, None, None) => {
            "unrecognised: no usable config and no known tensor-name signature".to_owned()
        }
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

struct Ctx<'a> {
    tensors: &'a [TensorInfo],
    roles: &'a [TensorRole],
    stacks: &'a [Stack],
    mtp: &'a BTreeMap<String, Vec<u64>>,
    transposed: bool,
    checks: Vec<Check>,
    notes: &'a mut Vec<Note>,
}

/// An observed value with the words saying how.
type Obs = Option<(Value, String)>;

impl Ctx<'_> {
    fn push(&mut self, field: &'static str, declared: Option<Declared<Value>>, observed: Obs) {
        let status = match (&declared, &observed) {
            (Some(d), Some((o, _))) if d.value.agrees(o) => Status::Consistent,
            (Some(_), Some(_)) => Status::Contradicted,
            (Some(_), None) => Status::DeclaredOnly,
            (None, Some(_)) => Status::ObservedOnly,
            (None, None) => return,
        };
        self.push_with(field, declared, observed, status);
    }

    fn push_with(
        &mut self,
        field: &'static str,
        declared: Option<Declared<Value>>,
        observed: Obs,
        status: Status,
    ) {
        let (observed, basis) = match observed {
            Some((v, b)) => (Some(v), Some(b)),
            None => (None, None),
        };
        let (declared, declared_key) = match declared {
            Some(d) => (Some(d.value), Some(d.key)),
            None => (None, None),
        };
        self.checks.push(Check {
            field,
            declared,
            observed,
            status,
            declared_key,
            basis,
        });
    }

    fn main(&self) -> Option<&Stack> {
        self.stacks.first()
    }

    /// Blocks of the main stack that are not MTP modules.
    fn main_blocks(&self) -> Vec<u64> {
        let Some(main) = self.main() else {
            return Vec::new();
        };
        let skip = self.mtp.get(&main.prefix);
        main.indices
            .iter()
            .copied()
            .filter(|i| !skip.is_some_and(|s| s.contains(i)))
            .collect()
    }

    /// Tensor indices of the first non-MTP block of the main stack whose group satisfies `pred`,
    /// preferring the typical group.
    fn block_where(&self, pred: impl Fn(&BlockGroup) -> bool) -> Option<(String, u64, &[usize])> {
        let main = self.main()?;
        let skip = self.mtp.get(&main.prefix);
        let ok = |g: &&BlockGroup| {
            pred(g)
                && g.indices
                    .iter()
                    .any(|i| !skip.is_some_and(|s| s.contains(i)))
        };
        let group = main
            .groups
            .iter()
            .filter(|g| g.typical)
            .find(ok)
            .or_else(|| main.groups.iter().find(ok))?;
        let index = *group
            .indices
            .iter()
            .find(|i| !skip.is_some_and(|s| s.contains(i)))?;
        Some((
            main.prefix.clone(),
            index,
            main.members.get(&index).map(Vec::as_slice)?,
        ))
    }

    /// The weight (most dimensions, then largest) with `role` among `members`.
    fn find(&self, members: &[usize], role: Role) -> Option<&TensorInfo> {
        members
            .iter()
            .filter(|&&i| self.roles[i].role == role)
            .map(|&i| &self.tensors[i])
            .max_by_key(|t| (t.shape.len(), t.parameters()))
    }

    /// First tensor anywhere with `role`.
    fn find_global(&self, role: Role) -> Option<&TensorInfo> {
        self.tensors
            .iter()
            .zip(self.roles)
            .filter(|(_, r)| r.role == role)
            .map(|(t, _)| t)
            .max_by_key(|t| (t.shape.len(), std::cmp::Reverse(t.name.len())))
    }

    /// Output features of a 2-D weight (rows, or columns when stored transposed).
    fn out_dim(&self, t: &TensorInfo) -> Option<u64> {
        match t.shape.as_slice() {
            [rows, cols] => Some(if self.transposed { *cols } else { *rows }),
            [n] => Some(*n),
            _ => None,
        }
    }

    fn in_dim(&self, t: &TensorInfo) -> Option<u64> {
        match t.shape.as_slice() {
            [rows, cols] => Some(if self.transposed { *rows } else { *cols }),
            _ => None,
        }
    }
}

fn pattern_name(prefix: &str, t: &TensorInfo) -> String {
    match split_block(&t.name) {
        Some(b) => format!("{prefix}.*.{}", b.rest),
        None => t.name.clone(),
    }
}

fn cnt(d: Option<Declared<u64>>) -> Option<Declared<Value>> {
    d.map(|d| Declared::new(Value::Count(d.value), d.key))
}

fn obs(v: Option<u64>, basis: impl FnOnce() -> String) -> Obs {
    v.map(|v| (Value::Count(v), basis()))
}

/// Everything observed from shapes, and its check against the config.
fn observe(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    kind: Option<Kind>,
    tokenizer_size: Option<u64>,
) -> KvFacts {
    let fam = |f: fn(&Family) -> bool| family.is_some_and(f);

    // ---- layers ----
    let main_blocks = ctx.main_blocks();
    let main_prefix = ctx.main().map(|s| s.prefix.clone());
    let layers_obs = (!main_blocks.is_empty()).then_some(main_blocks.len() as u64);
    let layers_decl = cfg.count(&["num_hidden_layers", "n_layer", "num_layers", "n_layers"]);
    let mtp_decl = cfg.count(&["num_nextn_predict_layers"]);
    let mtp_found = main_prefix
        .as_deref()
        .and_then(|p| ctx.mtp.get(p))
        .is_some();
    if let Some(n) = mtp_decl.as_ref().filter(|d| d.value > 0 && !mtp_found) {
        ctx.notes.push(Note::MtpDeclaredNotFound {
            key: n.key.clone(),
            declared: n.value,
        });
    }
    if let (Some(p), Some(n)) = (
        &main_prefix,
        ctx.mtp.get(main_prefix.as_deref().unwrap_or("")),
    ) {
        ctx.notes.push(Note::MtpBlocks {
            stack: p.clone(),
            ranges: blocks::ranges(n),
            count: n.len() as u64,
            declared: mtp_decl.as_ref().map(|d| (d.key.clone(), d.value)),
        });
    }
    ctx.push(
        "layers",
        cnt(layers_decl.clone()),
        obs(layers_obs, || {
            format!(
                "distinct block indices in {}",
                main_prefix.clone().unwrap_or_default()
            )
        }),
    );
    if kind == Some(Kind::EncoderDecoder) {
        let decoder = ctx
            .stacks
            .iter()
            .skip(1)
            .find(|s| s.prefix.split('.').any(|seg| seg == "decoder"));
        let declared = cfg.count(&["num_decoder_layers"]).or_else(|| {
            layers_decl
                .as_ref()
                .map(|d| Declared::new(d.value, format!("{} (num_decoder_layers not set)", d.key)))
        });
        ctx.push(
            "decoder_layers",
            cnt(declared),
            obs(decoder.map(Stack::count), || {
                format!(
                    "distinct block indices in {}",
                    decoder.map(|s| s.prefix.as_str()).unwrap_or("")
                )
            }),
        );
    }

    // ---- hidden size, vocabulary ----
    let embedding = ctx
        .find_global(Role::TokenEmbedding)
        .filter(|t| t.shape.len() == 2)
        .cloned();
    let patch = ctx
        .find_global(Role::PatchEmbedding)
        .filter(|t| t.shape.len() >= 2)
        .cloned();
    let hidden_obs: Obs = match (&embedding, &patch) {
        (Some(e), _) => Some((Value::Count(e.shape[1]), format!("{} columns", e.name))),
        (None, Some(p)) => Some((Value::Count(p.shape[0]), format!("{} rows", p.name))),
        _ => None,
    };
    let hidden_decl = cfg.count(&["hidden_size", "n_embd", "d_model", "n_embed", "dim"]);
    ctx.push("hidden_size", cnt(hidden_decl.clone()), hidden_obs.clone());
    let hidden = hidden_obs
        .as_ref()
        .and_then(|(v, _)| v.as_count())
        .or(hidden_decl.as_ref().map(|d| d.value));

    // ---- attention ----
    let attention = ctx.block_where(|g| {
        g.tensors.iter().any(|t| {
            matches!(
                t.role,
                Role::AttnQ | Role::AttnQkv | Role::AttnO | Role::AttnQB | Role::AttnKvA
            )
        })
    });
    let heads_decl = cfg.count(&["num_attention_heads", "n_head", "num_heads", "n_heads"]);
    let is_deepseek = fam(|f| f.name.starts_with("deepseek"));
    let head_dim_decl: Option<Declared<u64>> = if is_deepseek {
        match (
            cfg.count(&["qk_nope_head_dim"]),
            cfg.count(&["qk_rope_head_dim"]),
        ) {
            (Some(n), Some(r)) => Some(Declared::new(
                n.value + r.value,
                format!("{} + {}", n.key, r.key),
            )),
            _ => None,
        }
    } else {
        cfg.count(&["head_dim", "d_kv", "attention_head_dim"])
    }
    .or_else(|| match (&hidden_decl, &heads_decl) {
        (Some(d), Some(h)) if h.value > 0 && d.value % h.value == 0 => Some(Declared::new(
            d.value / h.value,
            format!("{} / {} (default)", d.key, h.key),
        )),
        _ => None,
    });
    let kv_heads_decl = cfg
        .count(&[
            "num_key_value_heads",
            "num_kv_heads",
            "n_head_kv",
            "multi_query_group_num",
        ])
        .or_else(|| {
            cfg.boolean(&["multi_query"])
                .filter(|d| d.value)
                .map(|d| Declared::new(1, format!("{} = true", d.key)))
        })
        .or_else(|| {
            heads_decl
                .as_ref()
                .map(|h| Declared::new(h.value, format!("{} (default)", h.key)))
        });

    let mut kv_width: Option<(u64, String)> = None;
    let mut mla: Option<memory::Mla> = None;
    if let Some((prefix, _, members)) = attention {
        let members = members.to_vec();
        let q = ctx.find(&members, Role::AttnQ).cloned();
        let qb = ctx.find(&members, Role::AttnQB).cloned();
        let o = ctx.find(&members, Role::AttnO).cloned();
        let k = ctx.find(&members, Role::AttnK).cloned();
        let qkv = ctx.find(&members, Role::AttnQkv).cloned();
        let qnorm = ctx
            .find(&members, Role::AttnQNorm)
            .or_else(|| ctx.find(&members, Role::AttnKNorm))
            .cloned();
        let kva = ctx.find(&members, Role::AttnKvA).cloned();
        let kva_norm = ctx.find(&members, Role::AttnKvANorm).cloned();
        let kvb = ctx.find(&members, Role::AttnKvB).cloned();
        let qa = ctx.find(&members, Role::AttnQA).cloned();
        let rel = ctx
            .find_global(Role::RelativePositionBias)
            .filter(|t| t.shape.len() == 2)
            .cloned();

        // Query width: q rows, else the output projection's input features.
        let q_width: Obs = qb
            .as_ref()
            .or(q.as_ref())
            .and_then(|t| ctx.out_dim(t).map(|n| (n, t)))
            .map(|(n, t)| {
                (
                    Value::Count(n),
                    format!("{} rows", pattern_name(&prefix, t)),
                )
            })
            .or_else(|| {
                o.as_ref().and_then(|t| {
                    ctx.in_dim(t).map(|n| {
                        (
                            Value::Count(n),
                            format!(
                                "{} {}",
                                pattern_name(&prefix, t),
                                if ctx.transposed { "rows" } else { "columns" }
                            ),
                        )
                    })
                })
            });
        let qw = q_width.as_ref().and_then(|(v, _)| v.as_count());

        kv_width = k
            .as_ref()
            .and_then(|t| {
                ctx.out_dim(t)
                    .map(|n| (n, format!("{} rows", pattern_name(&prefix, t))))
            })
            .or_else(|| {
                let t = qkv.as_ref()?;
                let fused = ctx.out_dim(t)?;
                let q = qw?;
                let rest = fused.checked_sub(q)?;
                (rest % 2 == 0).then(|| {
                    (
                        rest / 2,
                        format!(
                            "({} {} {fused} − q width {q}) / 2 =",
                            pattern_name(&prefix, t),
                            if ctx.transposed { "columns" } else { "rows" }
                        ),
                    )
                })
            });

        // Where the weights separate heads from head_dim.
        let mut heads_obs: Obs = None;
        let mut head_dim_obs: Obs = None;
        if let (Some(kva), Some(kvn), Some(kvb), Some(qw), Some(o)) =
            (&kva, &kva_norm, &kvb, qw, &o)
        {
            // MLA: q = H(n + r), kv_b = H(n + v), o_in = H v, r = kv_a rows − kv_lora.
            let kv_lora = kvn.shape.first().copied().unwrap_or(0);
            let a = ctx.out_dim(kva).unwrap_or(0);
            let b = ctx.out_dim(kvb).unwrap_or(0);
            let c = ctx.in_dim(o).unwrap_or(0);
            let rope = a.checked_sub(kv_lora).filter(|r| *r > 0);
            let solved = rope.and_then(|r| {
                let num = (qw + c).checked_sub(b)?;
                let h = num
                    .is_multiple_of(r)
                    .then_some(num / r)
                    .filter(|h| *h > 0)?;
                let nope = b.checked_sub(c)?;
                (nope.is_multiple_of(h) && c.is_multiple_of(h) && h * (nope / h + r) == qw)
                    .then_some((h, nope / h, r, c / h))
            });
            if let Some((h, nope, r, v)) = solved {
                let basis = "solved from the MLA projection shapes".to_owned();
                ctx.notes.push(Note::MlaSolved {
                    q_rows: qw,
                    kv_b_rows: b,
                    o_columns: c,
                    kv_a_rows: a,
                    kv_lora,
                    heads: h,
                    nope,
                    rope: r,
                    v,
                });
                heads_obs = Some((Value::Count(h), basis.clone()));
                head_dim_obs = Some((Value::Count(nope + r), basis.clone()));
                let q_lora = qa.as_ref().and_then(|t| ctx.out_dim(t));
                mla = Some(memory::Mla {
                    kv_lora_rank: kv_lora,
                    rope_dim: r,
                });
                ctx.push(
                    "q_lora_rank",
                    cnt(cfg.count(&["q_lora_rank"])),
                    obs(q_lora, || format!("{prefix}.*.self_attn.q_a_proj rows")),
                );
                ctx.push(
                    "kv_lora_rank",
                    cnt(cfg.count(&["kv_lora_rank"])),
                    obs(Some(kv_lora), || {
                        format!("{prefix}.*.self_attn.kv_a_layernorm length")
                    }),
                );
                ctx.push(
                    "qk_nope_head_dim",
                    cnt(cfg.count(&["qk_nope_head_dim"])),
                    obs(Some(nope), || basis.clone()),
                );
                ctx.push(
                    "qk_rope_head_dim",
                    cnt(cfg.count(&["qk_rope_head_dim"])),
                    obs(Some(r), || {
                        format!("{prefix}.*.self_attn.kv_a_proj_with_mqa rows − kv_lora_rank")
                    }),
                );
                ctx.push(
                    "v_head_dim",
                    cnt(cfg.count(&["v_head_dim"])),
                    obs(Some(v), || basis.clone()),
                );
                // Each head gets its own decompressed key and value.
                kv_width = Some((h * (nope + r), basis));
            } else {
                ctx.notes.push(Note::MlaUnsolved);
            }
        } else if let (Some(rel), Some(qw)) = (&rel, qw) {
            // T5: the relative position bias has one column per head.
            let h = rel.shape[1];
            heads_obs = Some((Value::Count(h), format!("{} columns", rel.name)));
            if h > 0 && qw % h == 0 {
                head_dim_obs = Some((
                    Value::Count(qw / h),
                    format!("q width {qw} / {h} heads (relative bias columns)"),
                ));
            }
        } else if let (Some(n), Some(qw)) = (&qnorm, qw) {
            let d = n.shape.first().copied().unwrap_or(0);
            if n.shape.len() == 1 && d > 0 && d < qw && qw % d == 0 {
                head_dim_obs = Some((
                    Value::Count(d),
                    format!("{} length", pattern_name(&prefix, n)),
                ));
                heads_obs = Some((
                    Value::Count(qw / d),
                    format!("q width {qw} / head_dim {d} (q/k norm length)"),
                ));
            }
        }
        let dh_observed = head_dim_obs.as_ref().and_then(|(v, _)| v.as_count());

        ctx.push("attention_heads", cnt(heads_decl.clone()), heads_obs);
        // KV heads: k width over head_dim (observed when the weights give it, else declared).
        let kv_obs: Obs = if mla.is_some() {
            kv_width.as_ref().and_then(|(w, _)| {
                let dh = dh_observed?;
                Some((
                    Value::Count(w / dh),
                    "MLA: every head has its own decompressed key and value".to_owned(),
                ))
            })
        } else {
            let dh = dh_observed
                .map(|d| (d, "observed"))
                .or(head_dim_decl.as_ref().map(|d| (d.value, "declared")));
            match (&kv_width, dh) {
                (Some((w, how)), Some((dh, src))) if dh > 0 => Some(if w % dh == 0 {
                    (
                        Value::Count(w / dh),
                        format!("{how} {w} / {src} head_dim {dh}"),
                    )
                } else {
                    (
                        Value::Text(format!("{w}/{dh}")),
                        format!("{how} {w} is not a multiple of {src} head_dim {dh}"),
                    )
                }),
                _ => None,
            }
        };
        ctx.push("kv_heads", cnt(kv_heads_decl.clone()), kv_obs);
        ctx.push("head_dim", cnt(head_dim_decl.clone()), head_dim_obs);
        let width_decl = match (&heads_decl, &head_dim_decl) {
            (Some(h), Some(d)) => h
                .value
                .checked_mul(d.value)
                .map(|w| Declared::new(Value::Count(w), format!("{} × {}", h.key, d.key))),
            _ => None,
        };
        ctx.push("attention_width", width_decl, q_width);
    } else {
        ctx.push("attention_heads", cnt(heads_decl.clone()), None);
        ctx.push(
            "kv_heads",
            cnt(kv_heads_decl.filter(|d| !d.key.ends_with("(default)"))),
            None,
        );
        ctx.push(
            "head_dim",
            cnt(head_dim_decl.filter(|d| !d.key.ends_with("(default)"))),
            None,
        );
    }

    // ---- MLP ----
    let is_ffn = |r: Role| matches!(r, Role::MlpGate | Role::MlpUp | Role::MlpGateUp);
    let dense = ctx.block_where(|g| g.tensors.iter().any(|t| is_ffn(t.role)));
    let dense_width: Obs = dense.and_then(|(prefix, _, members)| {
        let members = members.to_vec();
        if let Some(t) = ctx
            .find(&members, Role::MlpGate)
            .or_else(|| ctx.find(&members, Role::MlpUp))
        {
            let w = ctx.out_dim(t)?;
            return Some((
                Value::Count(w),
                format!(
                    "{} {}",
                    pattern_name(&prefix, t),
                    if ctx.transposed { "columns" } else { "rows" }
                ),
            ));
        }
        let t = ctx.find(&members, Role::MlpGateUp)?;
        let w = ctx.out_dim(t)?;
        (w % 2 == 0).then(|| {
            (
                Value::Count(w / 2),
                format!("{} rows / 2", pattern_name(&prefix, t)),
            )
        })
    });
    let moe = ctx.block_where(|g| g.tensors.iter().any(|t| t.role.is_expert()));
    let mut experts_obs: Obs = None;
    let mut expert_width: Obs = None;
    if let Some((prefix, _, members)) = moe {
        let members = members.to_vec();
        let indices: BTreeSet<u64> = members
            .iter()
            .filter(|&&i| ctx.roles[i].role.is_expert())
            .filter_map(|&i| expert_index(&ctx.tensors[i].name))
            .collect();
        let router = ctx.find(&members, Role::Router).cloned();
        experts_obs = if !indices.is_empty() {
            Some((
                Value::Count(indices.len() as u64),
                format!("distinct expert indices in {prefix}.*"),
            ))
        } else if let Some(t) = members
            .iter()
            .map(|&i| &ctx.tensors[i])
            .find(|t| t.shape.len() == 3)
        {
            Some((
                Value::Count(t.shape[0]),
                format!("{} first dimension", pattern_name(&prefix, t)),
            ))
        } else {
            router.as_ref().and_then(|t| {
                t.shape.first().map(|&e| {
                    (
                        Value::Count(e),
                        format!("{} rows", pattern_name(&prefix, t)),
                    )
                })
            })
        };
        let router_rows = router
            .as_ref()
            .filter(|r| r.shape.len() == 2)
            .map(|r| (r, r.shape[0]));
        let experts_n = experts_obs.as_ref().and_then(|(v, _)| v.as_count());
        if let (Some((r, rows)), Some(e)) = (router_rows, experts_n)
            && rows != e
        {
            ctx.notes.push(Note::RouterRows {
                router: r.name.clone(),
                rows,
                experts: e,
            });
        }
        let gate = members
            .iter()
            .filter(|&&i| matches!(ctx.roles[i].role, Role::ExpertGate | Role::ExpertUp))
            .map(|&i| &ctx.tensors[i])
            .find(|t| t.shape.len() == 2);
        expert_width = match gate {
            Some(t) => ctx.out_dim(t).map(|w| {
                (
                    Value::Count(w),
                    format!(
                        "{} rows",
                        pattern_name(&prefix, t).replace(
                            &format!("experts.{}.", expert_index(&t.name).unwrap_or(0)),
                            "experts.*.",
                        )
                    ),
                )
            }),
            None => members
                .iter()
                .map(|&i| (&ctx.tensors[i], ctx.roles[i].role))
                .find(|(t, r)| matches!(r, Role::ExpertGate | Role::ExpertUp) && t.shape.len() == 3)
                .and_then(|(t, _)| {
                    // Merged experts (GGUF `ffn_gate_exps`): [E, F, d] (or [E, d, F]).
                    let h = hidden?;
                    let (f, which) = if t.shape[2] == h {
                        (t.shape[1], "dimension 1")
                    } else {
                        (t.shape[2], "dimension 2")
                    };
                    Some((
                        Value::Count(f),
                        format!("{} {which} (rows per expert)", pattern_name(&prefix, t)),
                    ))
                })
                .or_else(|| {
                    members
                        .iter()
                        .map(|&i| (&ctx.tensors[i], ctx.roles[i].role))
                        .find(|(t, r)| *r == Role::ExpertGateUp && t.shape.len() == 3)
                        .and_then(|(t, _)| {
                            // [E, 2F, d] (or [E, d, 2F]): the dimension that is not the hidden size.
                            let h = hidden?;
                            let f2 = if t.shape[2] == h {
                                t.shape[1]
                            } else {
                                t.shape[2]
                            };
                            (f2 % 2 == 0).then(|| {
                                (
                                    Value::Count(f2 / 2),
                                    format!("{} / 2", pattern_name(&prefix, t)),
                                )
                            })
                        })
                }),
        };
    }
    let intermediate_decl = cfg
        .count(&[
            "intermediate_size",
            "n_inner",
            "ffn_hidden_size",
            "d_ff",
            "ffn_dim",
        ])
        .or_else(|| {
            if !fam(|f| f.ffn_default_4x) {
                return None;
            }
            hidden_decl
                .as_ref()
                .map(|h| Declared::new(4 * h.value, format!("4 × {} (no FFN width set)", h.key)))
        });
    if fam(|f| f.intermediate_is_expert) {
        ctx.push(
            "intermediate_size",
            cnt(intermediate_decl),
            expert_width.clone(),
        );
    } else {
        ctx.push("intermediate_size", cnt(intermediate_decl), dense_width);
    }
    let experts_decl = cfg.count(&[
        "num_local_experts",
        "num_experts",
        "n_routed_experts",
        "moe_num_experts",
    ]);
    let is_moe = experts_obs.is_some() || experts_decl.as_ref().is_some_and(|d| d.value > 0);
    if is_moe {
        ctx.push("experts", cnt(experts_decl.clone()), experts_obs.clone());
        ctx.push(
            "experts_per_token",
            cnt(cfg.count(&["num_experts_per_tok", "num_experts_per_token", "moe_topk"])),
            None,
        );
        let key = family
            .and_then(|f| f.expert_ffn_key)
            .unwrap_or("moe_intermediate_size");
        let expert_decl = cfg.count(&[key]);
        ctx.push(
            "expert_intermediate_size",
            cnt(expert_decl.clone()),
            expert_width.clone(),
        );

        // Shared experts.
        let shared = ctx.block_where(|g| {
            g.tensors
                .iter()
                .any(|t| matches!(t.role, Role::SharedExpertGate | Role::SharedExpertUp))
        });
        let shared_width: Option<(u64, String, bool)> = shared.and_then(|(prefix, _, members)| {
            let members = members.to_vec();
            let t = ctx
                .find(&members, Role::SharedExpertGate)
                .or_else(|| ctx.find(&members, Role::SharedExpertUp))?;
            let plural = t.name.contains("shared_experts.");
            Some((
                ctx.out_dim(t)?,
                format!("{} rows", pattern_name(&prefix, t)),
                plural,
            ))
        });
        let n_shared_decl = cfg.count(&["n_shared_experts", "num_shared_experts"]);
        let shared_count: Obs = shared_width.as_ref().and_then(|(w, basis, plural)| {
            if !plural {
                return Some((Value::Count(1), "one `shared_expert` module".to_owned()));
            }
            let e = expert_width.as_ref().and_then(|(v, _)| v.as_count())?;
            (e > 0 && w % e == 0).then(|| {
                (
                    Value::Count(w / e),
                    format!("{basis} {w} / expert width {e}"),
                )
            })
        });
        ctx.push("shared_experts", cnt(n_shared_decl.clone()), shared_count);
        let shared_decl = cfg.count(&["shared_expert_intermediate_size"]).or_else(|| {
            match (&n_shared_decl, &expert_decl) {
                (Some(n), Some(e)) => n
                    .value
                    .checked_mul(e.value)
                    .map(|w| Declared::new(w, format!("{} × {}", n.key, e.key))),
                _ => None,
            }
        });
        ctx.push(
            "shared_expert_intermediate_size",
            cnt(shared_decl),
            shared_width.map(|(w, b, _)| (Value::Count(w), b)),
        );

        // Which layers are sparse.
        let moe_layers: Vec<u64> = match ctx.main() {
            Some(main) => main_blocks
                .iter()
                .copied()
                .filter(|i| {
                    main.members
                        .get(i)
                        .is_some_and(|m| m.iter().any(|&t| ctx.roles[t].role.is_expert()))
                })
                .collect(),
            None => Vec::new(),
        };
        let moe_obs = obs(Some(moe_layers.len() as u64), || {
            format!(
                "blocks with experts: {}",
                if moe_layers.is_empty() {
                    "none".to_owned()
                } else {
                    blocks::ranges(&moe_layers)
                }
            )
        });
        let moe_decl = declared_moe_layers(cfg, layers_decl.as_ref());
        ctx.push("moe_layers", cnt(moe_decl), moe_obs);
    }

    // ---- vocabulary ----
    let vocab_obs: Obs = embedding
        .as_ref()
        .map(|e| (Value::Count(e.shape[0]), format!("{} rows", e.name)));
    let vocab_decl = cfg.count(&["vocab_size", "n_vocab", "padded_vocab_size"]);
    ctx.push("vocab_size", cnt(vocab_decl), vocab_obs.clone());
    let lm_head = ctx.find_global(Role::LmHead).cloned();
    let mismatch = match (&lm_head, &embedding) {
        (Some(h), Some(e)) if h.shape.len() == 2 && h.shape[0] != e.shape[0] => Some((h, e)),
        _ => None,
    };
    if let Some((h, e)) = mismatch {
        ctx.notes.push(Note::HeadEmbeddingRows {
            head: h.name.clone(),
            head_rows: h.shape[0],
            embedding: e.name.clone(),
            embedding_rows: e.shape[0],
        });
    }
    if let (Some(n), Some((Value::Count(rows), basis))) = (tokenizer_size, &vocab_obs) {
        let status = if n <= *rows {
            Status::Consistent
        } else {
            Status::Contradicted
        };
        if n < *rows {
            ctx.notes.push(Note::TokenizerPadding {
                tokens: n,
                rows: *rows,
            });
        }
        ctx.push_with(
            "tokenizer_size",
            Some(Declared::new(
                Value::Count(n),
                cfg.renamed("tokenizer_size")
                    .unwrap_or_else(|| "tokenizer.json (highest id + 1)".to_owned()),
            )),
            Some((Value::Count(*rows), basis.clone())),
            status,
        );
    }
    let token_types = ctx
        .find_global(Role::TokenTypeEmbedding)
        .filter(|t| t.shape.len() == 2)
        .map(|t| (Value::Count(t.shape[0]), format!("{} rows", t.name)));
    ctx.push(
        "type_vocab_size",
        cnt(cfg.count(&["type_vocab_size"])),
        token_types,
    );

    // ---- tied embeddings ----
    let tied_obs: Obs = match (&lm_head, &embedding) {
        (Some(h), _) => Some((Value::Flag(false), format!("{} is stored", h.name))),
        (None, Some(e)) => {
            let head_parts = ctx
                .roles
                .iter()
                .any(|r| matches!(r.role, Role::HeadBias | Role::HeadTransform));
            let lm = matches!(kind, Some(Kind::Decoder | Kind::EncoderDecoder));
            (lm || head_parts).then(|| {
                (
                    Value::Flag(true),
                    format!(
                        "no output projection stored; {} serves as the LM head",
                        e.name
                    ),
                )
            })
        }
        _ => None,
    };
    let tied_decl = cfg
        .boolean(&["tie_word_embeddings"])
        .map(|d| Declared::new(Value::Flag(d.value), d.key));
    ctx.push("tied_embeddings", tied_decl, tied_obs);

    // ---- context ----
    let positions = ctx
        .find_global(Role::PositionEmbedding)
        .filter(|t| t.shape.len() >= 2)
        .cloned();
    let positions_obs: Obs = positions.as_ref().map(|t| {
        let n = t.shape[t.shape.len() - 2];
        (
            Value::Count(n),
            format!("{} rows (learned positions)", t.name),
        )
    });
    let context_decl = if kind == Some(Kind::Vision) {
        let has_cls = ctx.roles.iter().any(|r| r.role == Role::ClassEmbedding);
        match (cfg.count(&["image_size"]), cfg.count(&["patch_size"])) {
            (Some(i), Some(p)) if p.value > 0 && i.value % p.value == 0 => {
                let side = i.value / p.value;
                side.checked_mul(side).map(|n| {
                    Declared::new(
                        n + u64::from(has_cls),
                        format!(
                            "({} / {})²{}",
                            i.key,
                            p.key,
                            if has_cls { " + 1 class token" } else { "" }
                        ),
                    )
                })
            }
            _ => None,
        }
    } else {
        cfg.count(&[
            "max_position_embeddings",
            "n_positions",
            "max_sequence_length",
            "seq_length",
            "n_ctx",
        ])
    };
    ctx.push("context_length", cnt(context_decl), positions_obs);
    let sliding = cfg.count(&["sliding_window"]);
    ctx.push("sliding_window", cnt(sliding), None);
    let rope = cfg
        .number(&["rope_theta", "rotary_emb_base"])
        .or_else(|| rope_parameters_theta(cfg));
    ctx.push(
        "rope_theta",
        rope.map(|d| Declared::new(Value::Number(d.value), d.key)),
        None,
    );

    // ---- T5, vision, classification ----
    let rel = ctx
        .find_global(Role::RelativePositionBias)
        .filter(|t| t.shape.len() == 2)
        .map(|t| (Value::Count(t.shape[0]), format!("{} rows", t.name)));
    ctx.push(
        "relative_attention_num_buckets",
        cnt(cfg.count(&["relative_attention_num_buckets"])),
        rel,
    );
    let patch_obs: Obs = patch.as_ref().and_then(|t| match t.shape.as_slice() {
        [_, _, a, b] if a == b => Some((Value::Count(*a), format!("{} kernel", t.name))),
        _ => None,
    });
    ctx.push("patch_size", cnt(cfg.count(&["patch_size"])), patch_obs);
    let classifier = ctx
        .find_global(Role::Classifier)
        .filter(|t| t.shape.len() == 2)
        .map(|t| (Value::Count(t.shape[0]), format!("{} rows", t.name)));
    let labels_decl = cfg.object_len("id2label");
    if classifier.is_some() {
        ctx.push("num_labels", cnt(labels_decl), classifier);
    }

    // ---- dtype ----
    let dtype_decl = cfg.string(&["dtype", "torch_dtype"]);
    let dtype_obs = majority_dtype(ctx.tensors).map(|(d, share)| {
        (
            Value::Text(d.to_owned()),
            format!("{:.1}% of parameters", share * 100.0),
        )
    });
    let quantized = cfg.raw(&["quantization_config"]).map(|(key, v)| {
        let method = v
            .get("quant_method")
            .and_then(Json::as_str)
            .unwrap_or("unknown method");
        (key, method.to_owned())
    });
    if let (Some((key, method)), Some(d)) = (&quantized, &dtype_decl) {
        // The declared dtype is then the compute dtype, not the storage dtype: not comparable.
        ctx.notes.push(Note::QuantizedComputeDtype {
            quantization_key: key.clone(),
            method: method.clone(),
            dtype_key: d.key.clone(),
            dtype: d.value.clone(),
        });
        ctx.push("dtype", None, dtype_obs);
        return KvFacts { kv_width, mla };
    }
    match dtype_decl {
        Some(d) => match dtype_name(&d.value) {
            Some(name) => ctx.push(
                "dtype",
                Some(Declared::new(Value::Text(name.to_owned()), d.key)),
                dtype_obs,
            ),
            None => ctx.push_with(
                "dtype",
                Some(Declared::new(Value::Text(d.value.clone()), d.key)),
                None,
                Status::DeclaredOnly,
            ),
        },
        None => ctx.push("dtype", None, dtype_obs),
    }
    KvFacts { kv_width, mla }
}

/// What the attention tensors say about the KV cache.
struct KvFacts {
    kv_width: Option<(u64, String)>,
    mla: Option<memory::Mla>,
}

fn expert_index(name: &str) -> Option<u64> {
    let mut prev = "";
    for seg in name.split('.') {
        if prev == "experts" && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            return seg.parse().ok();
        }
        prev = seg;
    }
    None
}

fn rope_parameters_theta(cfg: &mut ConfigReader) -> Option<Declared<f64>> {
    let (key, value) = cfg.raw(&["rope_parameters"])?;
    // Either {"rope_theta": …} or one object per attention type.
    let direct = value.get("rope_theta").and_then(Json::as_f64);
    if let Some(t) = direct.filter(|t| t.is_finite()) {
        return Some(Declared::new(t, format!("{key}.rope_theta")));
    }
    for sub in ["full_attention", "global"] {
        if let Some(t) = value
            .get(sub)
            .and_then(|v| v.get("rope_theta"))
            .and_then(Json::as_f64)
            .filter(|t| t.is_finite())
        {
            return Some(Declared::new(t, format!("{key}.{sub}.rope_theta")));
        }
    }
    None
}

/// How many layers the config says are sparse.
fn declared_moe_layers(
    cfg: &mut ConfigReader,
    layers: Option<&Declared<u64>>,
) -> Option<Declared<u64>> {
    let layers = layers?;
    if let Some(k) = cfg.count(&["first_k_dense_replace"]) {
        return Some(Declared::new(
            layers.value.saturating_sub(k.value),
            format!("{} − {}", layers.key, k.key),
        ));
    }
    let only = cfg.counts(&["mlp_only_layers"]);
    let step = cfg.count(&["decoder_sparse_step"]);
    if only.is_none() && step.is_none() {
        return None;
    }
    let only_list = only.as_ref().map(|d| d.value.clone()).unwrap_or_default();
    let step_value = step.as_ref().map_or(1, |d| d.value);
    let n = (0..layers.value.min(1 << 20))
        .filter(|i| !only_list.contains(i) && step_value > 0 && (i + 1) % step_value == 0)
        .count() as u64;
    let mut keys = vec![layers.key.clone()];
    keys.extend(only.map(|d| d.key));
    keys.extend(step.map(|d| d.key));
    Some(Declared::new(n, keys.join(", ")))
}

/// The floating dtype holding most parameters, and its share of all floating parameters.
fn majority_dtype(tensors: &[TensorInfo]) -> Option<(&'static str, f64)> {
    let mut by: BTreeMap<crate::model::DType, u64> = BTreeMap::new();
    for t in tensors.iter().filter(|t| t.dtype.is_float()) {
        *by.entry(t.dtype).or_default() += t.parameters();
    }
    let total: u64 = by.values().sum();
    let (d, n) = by.into_iter().max_by_key(|(_, n)| *n)?;
    (total > 0).then(|| (d.name(), n as f64 / total as f64))
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

fn hyperparameters(checks: &[Check]) -> Hyperparameters {
    let best = |field: &str| {
        checks
            .iter()
            .find(|c| c.field == field)
            .and_then(|c| c.observed.clone().or_else(|| c.declared.clone()))
    };
    let count = |field: &str| best(field).and_then(|v| v.as_count());
    let flag = |field: &str| match best(field) {
        Some(Value::Flag(b)) => Some(b),
        _ => None,
    };
    let heads = count("attention_heads");
    let kv = count("kv_heads");
    let is_mla = checks.iter().any(|c| c.field == "kv_lora_rank");
    let attention = if is_mla {
        Some("mla")
    } else {
        match (heads, kv) {
            (Some(h), Some(1)) if h > 1 => Some("mqa"),
            (Some(h), Some(k)) if k < h => Some("gqa"),
            (Some(h), Some(k)) if k == h => Some("mha"),
            _ => None,
        }
    };
    Hyperparameters {
        layers: count("layers"),
        hidden_size: count("hidden_size"),
        attention_heads: heads,
        kv_heads: kv,
        head_dim: count("head_dim"),
        intermediate_size: count("intermediate_size"),
        vocab_size: count("vocab_size"),
        experts: count("experts"),
        experts_per_token: count("experts_per_token"),
        tied_embeddings: flag("tied_embeddings"),
        context_length: count("context_length"),
        decoder_layers: count("decoder_layers"),
        expert_intermediate_size: count("expert_intermediate_size"),
        shared_experts: count("shared_experts"),
        attention,
        sliding_window: count("sliding_window"),
        rope_theta: match best("rope_theta") {
            Some(Value::Number(f)) => Some(f),
            _ => None,
        },
        dtype: match best("dtype") {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        },
    }
}

fn count_parameters(
    tensors: &[TensorInfo],
    roles: &[TensorRole],
    stacks: &[Stack],
    mtp: &BTreeMap<String, Vec<u64>>,
    checks: &[Check],
) -> Parameters {
    let mut by: BTreeMap<Component, u64> = BTreeMap::new();
    for (t, r) in tensors.iter().zip(roles) {
        *by.entry(r.component).or_default() += t.parameters();
    }
    let total: u64 = by.values().sum();
    let by_component = Component::ALL
        .iter()
        .filter_map(|c| by.get(c).filter(|n| **n > 0).map(|n| (*c, *n)))
        .collect();

    // Active parameters: total − Σ over MoE layers (E − k) × P_expert (spec C3).
    let k = checks
        .iter()
        .find(|c| c.field == "experts_per_token")
        .and_then(|c| c.declared.as_ref())
        .and_then(Value::as_count);
    let mut moe_blocks = Vec::new();
    if let Some(main) = stacks.first() {
        let skip = mtp.get(&main.prefix);
        for (&index, members) in &main.members {
            if skip.is_some_and(|s| s.contains(&index)) {
                continue;
            }
            let experts: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| roles[i].role.is_expert())
                .collect();
            if experts.is_empty() {
                continue;
            }
            let ids: BTreeSet<u64> = experts
                .iter()
                .filter_map(|&i| expert_index(&tensors[i].name))
                .collect();
            let e = if ids.is_empty() {
                experts
                    .iter()
                    .find_map(|&i| (tensors[i].shape.len() == 3).then(|| tensors[i].shape[0]))
                    .unwrap_or(0)
            } else {
                ids.len() as u64
            };
            let params: u64 = experts.iter().map(|&i| tensors[i].parameters()).sum();
            moe_blocks.push((e, params));
        }
    }
    let (active, active_basis) = if moe_blocks.is_empty() {
        (None, None)
    } else {
        match k {
            None => (
                None,
                Some("experts per token is not declared (`num_experts_per_tok`); the weights cannot show it".to_owned()),
            ),
            Some(k) => {
                let mut inactive: u64 = 0;
                let mut ok = true;
                for &(e, params) in &moe_blocks {
                    if e == 0 || k > e || params % e != 0 {
                        ok = false;
                        break;
                    }
                    inactive = inactive.saturating_add((e - k).saturating_mul(params / e));
                }
                let mtp_params = by.get(&Component::Mtp).copied().unwrap_or(0);
                if ok {
                    let (e, params) = moe_blocks[0];
                    let uniform = moe_blocks.iter().all(|b| *b == (e, params));
                    let per_expert = params / e;
                    let basis = if uniform {
                        format!(
                            "total − {} MoE layers × ({e} experts − {k} per token) × {} parameters per expert{}",
                            moe_blocks.len(),
                            thousands(per_expert),
                            if mtp_params > 0 { " − the MTP module" } else { "" }
                        )
                    } else {
                        format!(
                            "total − Σ over {} MoE layers of (experts − {k}) × parameters per expert{}",
                            moe_blocks.len(),
                            if mtp_params > 0 { " − the MTP module" } else { "" }
                        )
                    };
                    (
                        Some(total.saturating_sub(inactive).saturating_sub(mtp_params)),
                        Some(basis),
                    )
                } else {
                    (
                        None,
                        Some(format!(
                            "declared experts per token ({k}) does not fit the expert tensors"
                        )),
                    )
                }
            }
        }
    };
    Parameters {
        total,
        by_component,
        active,
        active_basis,
    }
}

fn kv_inputs(
    facts: KvFacts,
    hyper: &Hyperparameters,
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    kind: Option<Kind>,
) -> KvInputs {
    let KvFacts { kv_width, mla } = facts;
    let layers = if kind == Some(Kind::EncoderDecoder) {
        hyper.decoder_layers
    } else {
        hyper.layers
    };
    let layer_types = cfg.strings(&["layer_types"]);
    let sliding_window = hyper.sliding_window;
    let sliding_layers = sliding_window.and_then(|_| {
        let l = layers?;
        if let Some(types) = &layer_types {
            return Some((
                types.value.iter().filter(|t| t.contains("sliding")).count() as u64,
                format!("`{}`", types.key),
            ));
        }
        match family.map(|f| f.sliding) {
            Some(rules::Sliding::All) => Some((l, "every layer".to_owned())),
            Some(rules::Sliding::EvenLayers) => Some((l.div_ceil(2), "even layers".to_owned())),
            Some(rules::Sliding::Pattern) => {
                let p = cfg.count(&["sliding_window_pattern"])?;
                if p.value == 0 {
                    return None;
                }
                Some((
                    l - l / p.value,
                    format!("all but every {}th layer (`{}`)", p.value, p.key),
                ))
            }
            Some(rules::Sliding::WhenEnabled) => {
                let on = cfg.boolean(&["use_sliding_window"])?;
                if !on.value {
                    return Some((0, format!("`{}` is false", on.key)));
                }
                let from = cfg
                    .count(&["max_window_layers"])
                    .map_or(0, |d| d.value.min(l));
                Some((l - from, "layers from `max_window_layers` on".to_owned()))
            }
            Some(rules::Sliding::None) | None => None,
        }
    });
    KvInputs {
        layers,
        kv_width,
        mla,
        context_length: hyper.context_length,
        sliding_window,
        sliding_layers,
    }
}

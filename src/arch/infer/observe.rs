//! Everything observed from shapes, one function per concern, each checked against the config.
//! Attention and the MLP (experts included) have their own modules.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::context::{Ctx, Obs, cnt, dim, obs};
use crate::arch::basis::{Basis, Dimension};
use crate::arch::blocks::{self, Stack};
use crate::arch::config::{ConfigReader, Declared, dtype_name};
use crate::arch::memory;
use crate::arch::note::Note;
use crate::arch::rules::{Family, Kind};
use crate::arch::{Role, Status, Value};
use crate::model::TensorInfo;

/// Everything observed from shapes, and its check against the config. The order of the steps is
/// the order of the notes and of the config keys read.
pub(super) fn observe(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    kind: Option<Kind>,
    tokenizer_size: Option<u64>,
) -> KvFacts {
    let layers = layers(ctx, cfg, kind);
    let emb = embeddings(ctx, cfg);
    let kv = super::attention::attention(ctx, cfg, family, &emb);
    super::mlp::mlp(ctx, cfg, family, &emb, &layers);
    let lm_head = vocabulary(ctx, cfg, &emb, tokenizer_size);
    tied_embeddings(ctx, cfg, kind, &emb, &lm_head);
    context(ctx, cfg, kind);
    task_heads(ctx, cfg, &emb);
    dtype(ctx, cfg);
    kv
}

/// What the layer count observed: the main stack's blocks (MTP modules left out) and the
/// declared count.
pub(super) struct Layers {
    pub main_blocks: Vec<u64>,
    pub declared: Option<Declared<u64>>,
}

/// The embeddings found and the hidden size they show.
pub(super) struct Embeddings {
    /// The 2-D token embedding.
    pub embedding: Option<TensorInfo>,
    /// The patch embedding of a vision model.
    pub patch: Option<TensorInfo>,
    /// Observed, else declared.
    pub hidden: Option<u64>,
    pub hidden_decl: Option<Declared<u64>>,
}

/// Layers (and decoder layers of an encoder-decoder), with the multi-token-prediction notes.
fn layers(ctx: &mut Ctx, cfg: &mut ConfigReader, kind: Option<Kind>) -> Layers {
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
        obs(layers_obs, || Basis::DistinctBlocks {
            stack: main_prefix.clone().unwrap_or_default(),
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
            obs(decoder.map(Stack::count), || Basis::DistinctBlocks {
                stack: decoder.map(|s| s.prefix.clone()).unwrap_or_default(),
            }),
        );
    }
    Layers {
        main_blocks,
        declared: layers_decl,
    }
}

/// The hidden size, from the token (or patch) embedding.
fn embeddings(ctx: &mut Ctx, cfg: &mut ConfigReader) -> Embeddings {
    let embedding = ctx
        .find_global(Role::TokenEmbedding)
        .filter(|t| t.shape.len() == 2)
        .cloned();
    let patch = ctx
        .find_global(Role::PatchEmbedding)
        .filter(|t| t.shape.len() >= 2)
        .cloned();
    let hidden_obs: Obs = match (&embedding, &patch) {
        (Some(e), _) => Some((
            Value::Count(e.shape[1]),
            dim(e.name.clone(), Dimension::Columns),
        )),
        (None, Some(p)) => Some((
            Value::Count(p.shape[0]),
            dim(p.name.clone(), Dimension::Rows),
        )),
        _ => None,
    };
    let hidden_decl = cfg.count(&["hidden_size", "n_embd", "d_model", "n_embed", "dim"]);
    ctx.push("hidden_size", cnt(hidden_decl.clone()), hidden_obs.clone());
    let hidden = hidden_obs
        .as_ref()
        .and_then(|(v, _)| v.as_count())
        .or(hidden_decl.as_ref().map(|d| d.value));
    Embeddings {
        embedding,
        patch,
        hidden,
        hidden_decl,
    }
}

/// Vocabulary size, the tokenizer's size against the embedding, token types; returns the LM head.
fn vocabulary(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    emb: &Embeddings,
    tokenizer_size: Option<u64>,
) -> Option<TensorInfo> {
    let embedding = &emb.embedding;
    let vocab_obs: Obs = embedding.as_ref().map(|e| {
        (
            Value::Count(e.shape[0]),
            dim(e.name.clone(), Dimension::Rows),
        )
    });
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
        .map(|t| {
            (
                Value::Count(t.shape[0]),
                dim(t.name.clone(), Dimension::Rows),
            )
        });
    ctx.push(
        "type_vocab_size",
        cnt(cfg.count(&["type_vocab_size"])),
        token_types,
    );
    lm_head
}

/// Whether the LM head is the token embedding.
fn tied_embeddings(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    kind: Option<Kind>,
    emb: &Embeddings,
    lm_head: &Option<TensorInfo>,
) {
    let embedding = &emb.embedding;
    let tied_obs: Obs = match (&lm_head, &embedding) {
        (Some(h), _) => Some((
            Value::Flag(false),
            Basis::HeadStored {
                tensor: h.name.clone(),
            },
        )),
        (None, Some(e)) => {
            let head_parts = ctx
                .roles
                .iter()
                .any(|r| matches!(r.role, Role::HeadBias | Role::HeadTransform));
            let lm = matches!(kind, Some(Kind::Decoder | Kind::EncoderDecoder));
            (lm || head_parts).then(|| {
                (
                    Value::Flag(true),
                    Basis::HeadIsEmbedding {
                        embedding: e.name.clone(),
                    },
                )
            })
        }
        _ => None,
    };
    let tied_decl = cfg
        .boolean(&["tie_word_embeddings"])
        .map(|d| Declared::new(Value::Flag(d.value), d.key));
    ctx.push("tied_embeddings", tied_decl, tied_obs);
}

/// Context length (learned positions, or the patch grid of a vision model), sliding window, RoPE
/// base.
fn context(ctx: &mut Ctx, cfg: &mut ConfigReader, kind: Option<Kind>) {
    let positions = ctx
        .find_global(Role::PositionEmbedding)
        .filter(|t| t.shape.len() >= 2)
        .cloned();
    let positions_obs: Obs = positions.as_ref().map(|t| {
        let n = t.shape[t.shape.len() - 2];
        (
            Value::Count(n),
            dim(t.name.clone(), Dimension::LearnedPositions),
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
}

/// T5's relative-attention buckets, a vision model's patch size, a classifier's labels.
fn task_heads(ctx: &mut Ctx, cfg: &mut ConfigReader, emb: &Embeddings) {
    let patch = &emb.patch;
    let rel = ctx
        .find_global(Role::RelativePositionBias)
        .filter(|t| t.shape.len() == 2)
        .map(|t| {
            (
                Value::Count(t.shape[0]),
                dim(t.name.clone(), Dimension::Rows),
            )
        });
    ctx.push(
        "relative_attention_num_buckets",
        cnt(cfg.count(&["relative_attention_num_buckets"])),
        rel,
    );
    let patch_obs: Obs = patch.as_ref().and_then(|t| match t.shape.as_slice() {
        [_, _, a, b] if a == b => Some((Value::Count(*a), dim(t.name.clone(), Dimension::Kernel))),
        _ => None,
    });
    ctx.push("patch_size", cnt(cfg.count(&["patch_size"])), patch_obs);
    let classifier = ctx
        .find_global(Role::Classifier)
        .filter(|t| t.shape.len() == 2)
        .map(|t| {
            (
                Value::Count(t.shape[0]),
                dim(t.name.clone(), Dimension::Rows),
            )
        });
    let labels_decl = cfg.object_len("id2label");
    if classifier.is_some() {
        ctx.push("num_labels", cnt(labels_decl), classifier);
    }
}

/// The storage dtype of most parameters against the declared one (not compared for a quantised
/// checkpoint, whose declared dtype is its compute dtype).
fn dtype(ctx: &mut Ctx, cfg: &mut ConfigReader) {
    let dtype_decl = cfg.string(&["dtype", "torch_dtype"]);
    let dtype_obs = majority_dtype(ctx.tensors)
        .map(|(d, share)| (Value::Text(d.to_owned()), Basis::DtypeShare { share }));
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
        return;
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
}

/// What the attention tensors say about the KV cache.
pub(super) struct KvFacts {
    pub kv_width: Option<(u64, Basis)>,
    pub mla: Option<memory::Mla>,
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

//! Attention: query width, heads, KV heads and head dim where the weights separate them (MLA
//! shapes solved, T5's relative bias, q/k norms), against the config.

use super::context::{Ctx, Obs, cnt, dim, obs, pattern_name};
use super::observe::{Embeddings, KvFacts};
use crate::arch::basis::{Basis, Dimension};
use crate::arch::config::{ConfigReader, Declared};
use crate::arch::memory;
use crate::arch::note::Note;
use crate::arch::rules::Family;
use crate::arch::{Role, Value};
use crate::model::TensorInfo;

/// The attention checks; returns what the KV cache estimate needs.
pub(super) fn attention(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    emb: &Embeddings,
) -> KvFacts {
    let tensors = AttentionTensors::find(ctx);
    let DeclaredAttention {
        heads: heads_decl,
        head_dim: head_dim_decl,
        kv_heads: kv_heads_decl,
    } = declared(cfg, family, &emb.hidden_decl);
    let Some(t) = tensors else {
        ctx.push("attention_heads", cnt(heads_decl), None);
        // Defaults are not declarations: without attention tensors nothing checks them.
        ctx.push(
            "kv_heads",
            cnt(kv_heads_decl.filter(|d| !d.defaulted)),
            None,
        );
        ctx.push(
            "head_dim",
            cnt(head_dim_decl.filter(|d| !d.defaulted)),
            None,
        );
        return KvFacts {
            kv_width: None,
            mla: None,
        };
    };
    let q_width = query_width(ctx, &t);
    let qw = q_width.as_ref().and_then(|(v, _)| v.as_count());
    let kv_width = kv_width(ctx, &t, qw);
    let heads = separate_heads(ctx, cfg, &t, qw);
    let kv_width = heads.kv_width.or(kv_width);
    let mla = heads.mla;
    let (heads_obs, head_dim_obs) = (heads.heads, heads.head_dim);
    let dh_observed = head_dim_obs.as_ref().and_then(|(v, _)| v.as_count());

    ctx.push("attention_heads", cnt(heads_decl.clone()), heads_obs);
    let kv_obs = kv_heads_observed(&kv_width, mla.is_some(), dh_observed, &head_dim_decl);
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
    KvFacts { kv_width, mla }
}

/// What the config declares about attention (with the defaults Transformers applies).
struct DeclaredAttention {
    heads: Option<Declared<u64>>,
    head_dim: Option<Declared<u64>>,
    kv_heads: Option<Declared<u64>>,
}

/// Heads, head dim (DeepSeek: nope + rope; default hidden / heads) and KV heads (default: heads).
fn declared(
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    hidden_decl: &Option<Declared<u64>>,
) -> DeclaredAttention {
    let fam = |f: fn(&Family) -> bool| family.is_some_and(f);
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
        (Some(d), Some(h)) if h.value > 0 && d.value % h.value == 0 => Some(
            Declared::default_from(d.value / h.value, format!("{} / {}", d.key, h.key)),
        ),
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
                .map(|h| Declared::default_from(h.value, &h.key))
        });
    DeclaredAttention {
        heads: heads_decl,
        head_dim: head_dim_decl,
        kv_heads: kv_heads_decl,
    }
}

/// The attention tensors of the first (typical) attention block of the main stack.
struct AttentionTensors {
    /// The stack prefix, for tensor patterns (`model.layers`).
    prefix: String,
    q: Option<TensorInfo>,
    qb: Option<TensorInfo>,
    o: Option<TensorInfo>,
    k: Option<TensorInfo>,
    qkv: Option<TensorInfo>,
    /// The q norm, else the k norm.
    qnorm: Option<TensorInfo>,
    kva: Option<TensorInfo>,
    kva_norm: Option<TensorInfo>,
    kvb: Option<TensorInfo>,
    qa: Option<TensorInfo>,
    /// T5's relative position bias (anywhere in the model).
    rel: Option<TensorInfo>,
}

impl AttentionTensors {
    fn find(ctx: &Ctx) -> Option<AttentionTensors> {
        let (prefix, _, members) = ctx.block_where(|g| {
            g.tensors.iter().any(|t| {
                matches!(
                    t.role,
                    Role::AttnQ | Role::AttnQkv | Role::AttnO | Role::AttnQB | Role::AttnKvA
                )
            })
        })?;
        let members = members.to_vec();
        let find = |role| ctx.find(&members, role).cloned();
        Some(AttentionTensors {
            prefix,
            q: find(Role::AttnQ),
            qb: find(Role::AttnQB),
            o: find(Role::AttnO),
            k: find(Role::AttnK),
            qkv: find(Role::AttnQkv),
            qnorm: find(Role::AttnQNorm).or_else(|| find(Role::AttnKNorm)),
            kva: find(Role::AttnKvA),
            kva_norm: find(Role::AttnKvANorm),
            kvb: find(Role::AttnKvB),
            qa: find(Role::AttnQA),
            rel: ctx
                .find_global(Role::RelativePositionBias)
                .filter(|t| t.shape.len() == 2)
                .cloned(),
        })
    }
}

/// Query width: q rows, else the output projection's input features.
fn query_width(ctx: &Ctx, t: &AttentionTensors) -> Obs {
    let AttentionTensors {
        prefix, q, qb, o, ..
    } = t;
    qb.as_ref()
        .or(q.as_ref())
        .and_then(|t| ctx.out_dim(t).map(|n| (n, t)))
        .map(|(n, t)| {
            (
                Value::Count(n),
                dim(pattern_name(prefix, t), Dimension::Rows),
            )
        })
        .or_else(|| {
            o.as_ref().and_then(|t| {
                ctx.in_dim(t).map(|n| {
                    (
                        Value::Count(n),
                        dim(pattern_name(prefix, t), ctx.in_words()),
                    )
                })
            })
        })
}

/// KV width: k rows, else what a fused qkv projection holds beyond the query.
fn kv_width(ctx: &Ctx, t: &AttentionTensors, qw: Option<u64>) -> Option<(u64, Basis)> {
    let AttentionTensors { prefix, k, qkv, .. } = t;
    k.as_ref()
        .and_then(|t| {
            ctx.out_dim(t)
                .map(|n| (n, dim(pattern_name(prefix, t), Dimension::Rows)))
        })
        .or_else(|| {
            let t = qkv.as_ref()?;
            let fused = ctx.out_dim(t)?;
            let q = qw?;
            let rest = fused.checked_sub(q)?;
            (rest % 2 == 0).then(|| {
                (
                    rest / 2,
                    Basis::FusedKv {
                        tensor: pattern_name(prefix, t),
                        dimension: ctx.out_words(),
                        fused,
                        q_width: q,
                    },
                )
            })
        })
}

/// Where the weights separate heads from head dim: MLA shapes solved (with their own checks), T5's
/// relative bias, q/k norms.
struct Heads {
    heads: Obs,
    head_dim: Obs,
    /// MLA: each head's decompressed key and value.
    kv_width: Option<(u64, Basis)>,
    mla: Option<memory::Mla>,
}

fn separate_heads(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    t: &AttentionTensors,
    qw: Option<u64>,
) -> Heads {
    let none = Heads {
        heads: None,
        head_dim: None,
        kv_width: None,
        mla: None,
    };
    let Some(qw) = qw else {
        return none;
    };
    if let (Some(kva), Some(kvn), Some(kvb), Some(o)) = (&t.kva, &t.kva_norm, &t.kvb, &t.o) {
        return match solve_mla(ctx, kva, kvn, kvb, o, qw) {
            Some(solved) => mla_heads(ctx, cfg, t, solved),
            None => {
                ctx.notes.push(Note::MlaUnsolved);
                none
            }
        };
    }
    if let Some(rel) = &t.rel {
        // T5: the relative position bias has one column per head.
        let h = rel.shape[1];
        return Heads {
            heads: Some((Value::Count(h), dim(rel.name.clone(), Dimension::Columns))),
            head_dim: (h > 0 && qw % h == 0).then(|| {
                (
                    Value::Count(qw / h),
                    Basis::HeadDimFromRelativeBias {
                        q_width: qw,
                        heads: h,
                    },
                )
            }),
            ..none
        };
    }
    if let Some(n) = &t.qnorm {
        // q/k norms are one head wide.
        let d = n.shape.first().copied().unwrap_or(0);
        if n.shape.len() == 1 && d > 0 && d < qw && qw % d == 0 {
            return Heads {
                heads: Some((
                    Value::Count(qw / d),
                    Basis::HeadsFromNorm {
                        q_width: qw,
                        head_dim: d,
                    },
                )),
                head_dim: Some((
                    Value::Count(d),
                    dim(pattern_name(&t.prefix, n), Dimension::Length),
                )),
                ..none
            };
        }
    }
    none
}

/// MLA shapes solved: heads and the nope / rope / v head dims, with the dimensions they came from.
struct MlaSolution {
    q_rows: u64,
    kv_a_rows: u64,
    kv_b_rows: u64,
    o_columns: u64,
    kv_lora: u64,
    heads: u64,
    nope: u64,
    rope: u64,
    v: u64,
}

/// MLA: q = H(nope + rope), kv_b = H(nope + v), o_in = H·v, rope = kv_a rows − kv_lora.
fn solve_mla(
    ctx: &Ctx,
    kva: &TensorInfo,
    kv_norm: &TensorInfo,
    kvb: &TensorInfo,
    o: &TensorInfo,
    qw: u64,
) -> Option<MlaSolution> {
    let kv_lora = kv_norm.shape.first().copied().unwrap_or(0);
    let a = ctx.out_dim(kva).unwrap_or(0);
    let b = ctx.out_dim(kvb).unwrap_or(0);
    let c = ctx.in_dim(o).unwrap_or(0);
    let r = a.checked_sub(kv_lora).filter(|r| *r > 0)?;
    let num = (qw + c).checked_sub(b)?;
    let h = num
        .is_multiple_of(r)
        .then_some(num / r)
        .filter(|h| *h > 0)?;
    let nope = b.checked_sub(c)?;
    (nope.is_multiple_of(h) && c.is_multiple_of(h) && h * (nope / h + r) == qw).then_some(
        MlaSolution {
            q_rows: qw,
            kv_a_rows: a,
            kv_b_rows: b,
            o_columns: c,
            kv_lora,
            heads: h,
            nope: nope / h,
            rope: r,
            v: c / h,
        },
    )
}

/// The heads of solved MLA shapes, the note with the equations, and the MLA dims' own checks.
fn mla_heads(ctx: &mut Ctx, cfg: &mut ConfigReader, t: &AttentionTensors, s: MlaSolution) -> Heads {
    let prefix = &t.prefix;
    let (h, nope, r, v, kv_lora) = (s.heads, s.nope, s.rope, s.v, s.kv_lora);
    let basis = Basis::MlaSolved;
    ctx.notes.push(Note::MlaSolved {
        q_rows: s.q_rows,
        kv_b_rows: s.kv_b_rows,
        o_columns: s.o_columns,
        kv_a_rows: s.kv_a_rows,
        kv_lora,
        heads: h,
        nope,
        rope: r,
        v,
    });
    let q_lora = t.qa.as_ref().and_then(|t| ctx.out_dim(t));
    ctx.push(
        "q_lora_rank",
        cnt(cfg.count(&["q_lora_rank"])),
        obs(q_lora, || {
            dim(format!("{prefix}.*.self_attn.q_a_proj"), Dimension::Rows)
        }),
    );
    ctx.push(
        "kv_lora_rank",
        cnt(cfg.count(&["kv_lora_rank"])),
        obs(Some(kv_lora), || {
            dim(
                format!("{prefix}.*.self_attn.kv_a_layernorm"),
                Dimension::Length,
            )
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
        obs(Some(r), || Basis::MlaRope {
            tensor: format!("{prefix}.*.self_attn.kv_a_proj_with_mqa"),
        }),
    );
    ctx.push(
        "v_head_dim",
        cnt(cfg.count(&["v_head_dim"])),
        obs(Some(v), || basis.clone()),
    );
    Heads {
        heads: Some((Value::Count(h), basis.clone())),
        head_dim: Some((Value::Count(nope + r), basis.clone())),
        // Each head gets its own decompressed key and value.
        kv_width: Some((h * (nope + r), basis)),
        mla: Some(memory::Mla {
            kv_lora_rank: kv_lora,
            rope_dim: r,
        }),
    }
}

/// KV heads: the KV width over the head dim (observed when the weights give it, else declared).
fn kv_heads_observed(
    kv_width: &Option<(u64, Basis)>,
    mla: bool,
    dh_observed: Option<u64>,
    head_dim_decl: &Option<Declared<u64>>,
) -> Obs {
    if mla {
        kv_width.as_ref().and_then(|(w, _)| {
            let dh = dh_observed?;
            Some((Value::Count(w / dh), Basis::MlaKvHeads))
        })
    } else {
        let dh = dh_observed
            .map(|d| (d, true))
            .or(head_dim_decl.as_ref().map(|d| (d.value, false)));
        match (&kv_width, dh) {
            (Some((w, how)), Some((dh, observed))) if dh > 0 => {
                let divisible = w % dh == 0;
                let basis = Basis::KvHeads {
                    width: Box::new(how.clone()),
                    width_value: *w,
                    head_dim: dh,
                    head_dim_observed: observed,
                    divisible,
                };
                Some(if divisible {
                    (Value::Count(w / dh), basis)
                } else {
                    (Value::Text(format!("{w}/{dh}")), basis)
                })
            }
            _ => None,
        }
    }
}

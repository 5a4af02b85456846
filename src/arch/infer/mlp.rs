//! The MLP: dense FFN width, experts (count, width, shared experts, sparse layers), against the
//! config.

use std::collections::BTreeSet;

use super::context::{Ctx, Obs, cnt, dim, obs, pattern_name};
use super::observe::{Embeddings, Layers};
use crate::arch::basis::{Basis, Dimension};
use crate::arch::blocks;
use crate::arch::config::{ConfigReader, Declared};
use crate::arch::note::Note;
use crate::arch::rules::Family;
use crate::arch::{Role, Value};

/// The MLP and expert checks.
pub(super) fn mlp(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    family: Option<&Family>,
    emb: &Embeddings,
    layers: &Layers,
) {
    let fam = |f: fn(&Family) -> bool| family.is_some_and(f);
    let hidden_decl = &emb.hidden_decl;
    let dense_width = dense_width(ctx);
    let (experts_obs, expert_width) = experts(ctx, emb.hidden);
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
        shared_experts(ctx, cfg, &expert_width, &expert_decl);
        moe_layers(ctx, cfg, &layers.main_blocks, &layers.declared);
    }
}

/// The dense FFN width: gate (or up) rows, or half a fused gate+up.
fn dense_width(ctx: &Ctx) -> Obs {
    let is_ffn = |r: Role| matches!(r, Role::MlpGate | Role::MlpUp | Role::MlpGateUp);
    let dense = ctx.block_where(|g| g.tensors.iter().any(|t| is_ffn(t.role)));
    dense.and_then(|(prefix, _, members)| {
        let members = members.to_vec();
        if let Some(t) = ctx
            .find(&members, Role::MlpGate)
            .or_else(|| ctx.find(&members, Role::MlpUp))
        {
            let w = ctx.out_dim(t)?;
            return Some((
                Value::Count(w),
                dim(pattern_name(&prefix, t), ctx.out_words()),
            ));
        }
        let t = ctx.find(&members, Role::MlpGateUp)?;
        let w = ctx.out_dim(t)?;
        (w % 2 == 0).then(|| {
            (
                Value::Count(w / 2),
                Basis::Half {
                    tensor: pattern_name(&prefix, t),
                    dimension: Some(Dimension::Rows),
                },
            )
        })
    })
}

/// The routed experts of the first MoE block: how many (distinct indices, merged first dimension,
/// or router rows) and one expert's width; notes a router whose rows disagree.
fn experts(ctx: &mut Ctx, hidden: Option<u64>) -> (Obs, Obs) {
    let moe = ctx.block_where(|g| g.tensors.iter().any(|t| t.role.is_expert()));
    let Some((prefix, _, members)) = moe else {
        return (None, None);
    };
    let members = members.to_vec();
    let indices: BTreeSet<u64> = members
        .iter()
        .filter(|&&i| ctx.roles[i].role.is_expert())
        .filter_map(|&i| expert_index(&ctx.tensors[i].name))
        .collect();
    let router = ctx.find(&members, Role::Router).cloned();
    let experts_obs = if !indices.is_empty() {
        Some((
            Value::Count(indices.len() as u64),
            Basis::DistinctExperts {
                stack: prefix.clone(),
            },
        ))
    } else if let Some(t) = members
        .iter()
        .map(|&i| &ctx.tensors[i])
        .find(|t| t.shape.len() == 3)
    {
        Some((
            Value::Count(t.shape[0]),
            dim(pattern_name(&prefix, t), Dimension::First),
        ))
    } else {
        router.as_ref().and_then(|t| {
            t.shape.first().map(|&e| {
                (
                    Value::Count(e),
                    dim(pattern_name(&prefix, t), Dimension::Rows),
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
    let expert_width = match gate {
        Some(t) => ctx.out_dim(t).map(|w| {
            (
                Value::Count(w),
                dim(
                    pattern_name(&prefix, t).replace(
                        &format!("experts.{}.", expert_index(&t.name).unwrap_or(0)),
                        "experts.*.",
                    ),
                    Dimension::Rows,
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
                    (t.shape[1], 1)
                } else {
                    (t.shape[2], 2)
                };
                Some((
                    Value::Count(f),
                    dim(pattern_name(&prefix, t), Dimension::RowsPerExpert(which)),
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
                                Basis::Half {
                                    tensor: pattern_name(&prefix, t),
                                    dimension: None,
                                },
                            )
                        })
                    })
            }),
    };
    (experts_obs, expert_width)
}

/// Shared experts (always active): how many and how wide, against the config.
fn shared_experts(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    expert_width: &Obs,
    expert_decl: &Option<Declared<u64>>,
) {
    let shared = ctx.block_where(|g| {
        g.tensors
            .iter()
            .any(|t| matches!(t.role, Role::SharedExpertGate | Role::SharedExpertUp))
    });
    let shared_width: Option<(u64, Basis, bool)> = shared.and_then(|(prefix, _, members)| {
        let members = members.to_vec();
        let t = ctx
            .find(&members, Role::SharedExpertGate)
            .or_else(|| ctx.find(&members, Role::SharedExpertUp))?;
        let plural = t.name.contains("shared_experts.");
        Some((
            ctx.out_dim(t)?,
            dim(pattern_name(&prefix, t), Dimension::Rows),
            plural,
        ))
    });
    let n_shared_decl = cfg.count(&["n_shared_experts", "num_shared_experts"]);
    let shared_count: Obs = shared_width.as_ref().and_then(|(w, basis, plural)| {
        if !plural {
            return Some((Value::Count(1), Basis::SharedExpertModule));
        }
        let e = expert_width.as_ref().and_then(|(v, _)| v.as_count())?;
        (e > 0 && w % e == 0).then(|| {
            (
                Value::Count(w / e),
                Basis::SharedExperts {
                    width: Box::new(basis.clone()),
                    width_value: *w,
                    expert_width: e,
                },
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
}

/// How many blocks of the main stack hold experts, against the config.
fn moe_layers(
    ctx: &mut Ctx,
    cfg: &mut ConfigReader,
    main_blocks: &[u64],
    layers_decl: &Option<Declared<u64>>,
) {
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
    let moe_obs = obs(Some(moe_layers.len() as u64), || Basis::MoeLayers {
        blocks: (!moe_layers.is_empty()).then(|| blocks::ranges(&moe_layers)),
    });
    let moe_decl = declared_moe_layers(cfg, layers_decl.as_ref());
    ctx.push("moe_layers", cnt(moe_decl), moe_obs);
}

pub(super) fn expert_index(name: &str) -> Option<u64> {
    let mut prev = "";
    for seg in name.split('.') {
        if prev == "experts" && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            return seg.parse().ok();
        }
        prev = seg;
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

//! Parameter counts by component and active per token, the hyperparameters of the summary
//! (observed, else declared), and the inputs of the KV-cache estimate.

use std::collections::{BTreeMap, BTreeSet};

use super::mlp::expert_index;

use super::observe::KvFacts;
use crate::arch::blocks::Stack;
use crate::arch::config::ConfigReader;
use crate::arch::memory::{KvInputs, SlidingRule};
use crate::arch::rules::{self, Family, Kind};
use crate::arch::{ActiveBasis, Check, Component, Hyperparameters, Parameters, TensorRole, Value};
use crate::model::TensorInfo;

pub(super) fn hyperparameters(checks: &[Check]) -> Hyperparameters {
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

pub(super) fn count_parameters(
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
            None => (None, Some(ActiveBasis::PerTokenNotDeclared)),
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
                    let moe_layers = moe_blocks.len() as u64;
                    let without_mtp = mtp_params > 0;
                    let basis = if uniform {
                        ActiveBasis::Uniform {
                            moe_layers,
                            experts: e,
                            per_token: k,
                            parameters_per_expert: per_expert,
                            without_mtp,
                        }
                    } else {
                        ActiveBasis::Varied {
                            moe_layers,
                            per_token: k,
                            without_mtp,
                        }
                    };
                    (
                        Some(total.saturating_sub(inactive).saturating_sub(mtp_params)),
                        Some(basis),
                    )
                } else {
                    (None, Some(ActiveBasis::PerTokenDoesNotFit { per_token: k }))
                }
            }
        }
    };
    let buffers = tensors
        .iter()
        .zip(roles)
        .filter(|(_, r)| r.role == crate::arch::Role::Buffer)
        .map(|(t, _)| t.parameters())
        .sum();
    Parameters {
        total,
        buffers,
        by_component,
        active,
        active_basis,
    }
}

pub(super) fn kv_inputs(
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
                SlidingRule::LayerTypes {
                    key: types.key.clone(),
                },
            ));
        }
        match family.map(|f| f.sliding) {
            Some(rules::Sliding::All) => Some((l, SlidingRule::EveryLayer)),
            Some(rules::Sliding::EvenLayers) => Some((l.div_ceil(2), SlidingRule::EvenLayers)),
            Some(rules::Sliding::Pattern) => {
                let p = cfg.count(&["sliding_window_pattern"])?;
                if p.value == 0 {
                    return None;
                }
                Some((
                    l - l / p.value,
                    SlidingRule::AllButEvery {
                        n: p.value,
                        key: p.key,
                    },
                ))
            }
            Some(rules::Sliding::WhenEnabled) => {
                let on = cfg.boolean(&["use_sliding_window"])?;
                if !on.value {
                    return Some((0, SlidingRule::Disabled { key: on.key }));
                }
                let from = cfg
                    .count(&["max_window_layers"])
                    .map_or(0, |d| d.value.min(l));
                Some((l - from, SlidingRule::FromMaxWindowLayers))
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

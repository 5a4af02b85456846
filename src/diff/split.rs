//! Merged tensors against the parts the other model stores apart, cut before pairing by name.
//!
//! Converters and model versions disagree on what is one tensor: llama.cpp stores a layer's
//! experts as one 3-D `ffn_gate_exps` tensor where Mixtral's checkpoints have `experts.N.w1`;
//! Phi-3 fuses Q, K and V into `qkv_proj` and gate and up into `gate_up_proj`; newer
//! transformers fuse the experts into `experts.gate_up_proj`. [`split_merged`] cuts a merged
//! tensor of one side into views of its parts, named as the other side names them, when that
//! side holds every part with matching widths and row counts that add up (the rows of the other
//! side's parts say where Q ends and K begins, so no head count is needed). The parts are whole
//! stored rows of the merged tensor: nothing is copied, and each part is compared, hashed and
//! reported like any tensor. Every cut is listed as a transform.
//!
//! The rules are data ([`RULES`]): a merged name and the part names in row order, per expert for
//! 3-D tensors (`{N}` the layer, `{E}` the expert). A name with several part namings has one rule
//! per naming; the first whose parts the other side holds applies.

use std::collections::{BTreeMap, BTreeSet};

use super::pairing::{Canonical, Transform};

/// One way a merged tensor splits.
struct MergedRule {
    /// The merged tensor's canonical name (GGUF names stay as stored when no Hugging Face name
    /// exists for them).
    merged: &'static str,
    /// The parts in row order (per expert when `experts`).
    parts: &'static [&'static str],
    /// A 3-D `[experts, rows, cols]` tensor: the parts repeat for each expert.
    experts: bool,
    /// The transform code listed in the report.
    code: &'static str,
}

const RULES: &[MergedRule] = &[
    // Phi-3 (and others) fuse the attention inputs and the MLP's gate and up projections.
    MergedRule {
        merged: "model.layers.{N}.self_attn.qkv_proj.weight",
        parts: &[
            "model.layers.{N}.self_attn.q_proj.weight",
            "model.layers.{N}.self_attn.k_proj.weight",
            "model.layers.{N}.self_attn.v_proj.weight",
        ],
        experts: false,
        code: "fused_split",
    },
    MergedRule {
        merged: "model.layers.{N}.mlp.gate_up_proj.weight",
        parts: &[
            "model.layers.{N}.mlp.gate_proj.weight",
            "model.layers.{N}.mlp.up_proj.weight",
        ],
        experts: false,
        code: "fused_split",
    },
    // llama.cpp's merged experts (`convert_hf_to_gguf.py` stacks `experts.E.w1` into
    // `ffn_gate_exps`, w3 into `ffn_up_exps`, w2 into `ffn_down_exps`), against Mixtral's names
    // and against the Qwen-MoE / OLMoE names.
    MergedRule {
        merged: "blk.{N}.ffn_gate_exps.weight",
        parts: &["model.layers.{N}.block_sparse_moe.experts.{E}.w1.weight"],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "blk.{N}.ffn_up_exps.weight",
        parts: &["model.layers.{N}.block_sparse_moe.experts.{E}.w3.weight"],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "blk.{N}.ffn_down_exps.weight",
        parts: &["model.layers.{N}.block_sparse_moe.experts.{E}.w2.weight"],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "blk.{N}.ffn_gate_exps.weight",
        parts: &["model.layers.{N}.mlp.experts.{E}.gate_proj.weight"],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "blk.{N}.ffn_up_exps.weight",
        parts: &["model.layers.{N}.mlp.experts.{E}.up_proj.weight"],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "blk.{N}.ffn_down_exps.weight",
        parts: &["model.layers.{N}.mlp.experts.{E}.down_proj.weight"],
        experts: true,
        code: "experts_split",
    },
    // transformers' fused experts, `[experts, 2 · intermediate, hidden]` (gate rows, then up)
    // and `[experts, hidden, intermediate]`.
    MergedRule {
        merged: "model.layers.{N}.mlp.experts.gate_up_proj",
        parts: &[
            "model.layers.{N}.mlp.experts.{E}.gate_proj.weight",
            "model.layers.{N}.mlp.experts.{E}.up_proj.weight",
        ],
        experts: true,
        code: "experts_split",
    },
    MergedRule {
        merged: "model.layers.{N}.mlp.experts.down_proj",
        parts: &["model.layers.{N}.mlp.experts.{E}.down_proj.weight"],
        experts: true,
        code: "experts_split",
    },
];

/// `side`'s tensors with each merged tensor whose parts `other` holds (and `side` does not)
/// replaced by views of those parts; the cuts are tallied into `transforms` for `side_name`.
pub(crate) fn split_merged<'m>(
    side: Vec<Canonical<'m>>,
    other: &[Canonical<'_>],
    side_name: &'static str,
    transforms: &mut Vec<Transform>,
) -> Vec<Canonical<'m>> {
    let other_shapes: BTreeMap<&str, &[u64]> = other
        .iter()
        .map(|c| (c.name.as_str(), c.view.shape.as_slice()))
        .collect();
    let own: BTreeSet<String> = side.iter().map(|c| c.name.clone()).collect();
    let mut tally: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(side.len());
    for c in side {
        if other_shapes.contains_key(c.name.as_str()) {
            out.push(c);
            continue;
        }
        let cut = RULES.iter().find_map(|rule| {
            let layer = match_layer(rule.merged, &c.name)?;
            let parts = cut(rule, layer, &c, &other_shapes, &own)?;
            Some((rule, parts))
        });
        match cut {
            Some((rule, parts)) => {
                let detail = format!("{} → {}", rule.merged, rule.parts.join(" + "));
                *tally.entry((rule.code, detail)).or_default() += 1;
                out.extend(parts);
            }
            None => out.push(c),
        }
    }
    transforms.extend(tally.into_iter().map(|((code, detail), n)| Transform {
        code,
        side: side_name,
        tensors: n,
        detail,
    }));
    out
}

/// The parts of merged tensor `c` under `rule`, when the other side holds all of them, each 2-D
/// with `c`'s width, their rows adding up to `c`'s (per expert), and `side` holds none of them.
fn cut<'m>(
    rule: &MergedRule,
    layer: &str,
    c: &Canonical<'m>,
    other: &BTreeMap<&str, &[u64]>,
    own: &BTreeSet<String>,
) -> Option<Vec<Canonical<'m>>> {
    let shape = &c.view.shape;
    let (experts, rows, cols) = match (rule.experts, shape.as_slice()) {
        (true, &[e, r, k]) => (e, r, k),
        (false, &[r, k]) => (1, r, k),
        _ => return None,
    };
    let (rows, cols) = (usize::try_from(rows).ok()?, usize::try_from(cols).ok()?);
    let mut out = Vec::new();
    for e in 0..usize::try_from(experts).ok()? {
        let mut first = 0;
        for pattern in rule.parts {
            let name = pattern.replace("{N}", layer).replace("{E}", &e.to_string());
            if own.contains(&name) {
                return None;
            }
            let &[part_rows, part_cols] = *other.get(name.as_str())? else {
                return None;
            };
            let part_rows = usize::try_from(part_rows).ok()?;
            if part_cols != cols as u64 || first + part_rows > rows {
                return None;
            }
            let view = c.view.part(
                e * rows + first,
                part_rows,
                cols,
                vec![part_rows as u64, cols as u64],
            )?;
            let source = if rule.experts {
                format!("{}[{e}]", c.source)
            } else {
                c.source.clone()
            };
            let source = if rule.parts.len() > 1 {
                format!("{source}[rows {first}..{}]", first + part_rows)
            } else {
                source
            };
            out.push(Canonical { name, source, view });
            first += part_rows;
        }
        if first != rows {
            return None;
        }
    }
    Some(out)
}

/// The layer number when `name` matches `pattern` (`{N}` standing for decimal digits).
fn match_layer<'n>(pattern: &str, name: &'n str) -> Option<&'n str> {
    let (before, after) = pattern.split_once("{N}")?;
    let n = name.strip_prefix(before)?.strip_suffix(after)?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_its_layer_and_parts() {
        for rule in RULES {
            assert!(rule.merged.contains("{N}"), "{}", rule.merged);
            assert!(rule.parts.iter().all(|p| p.contains("{N}")));
            assert_eq!(
                rule.parts.iter().all(|p| p.contains("{E}")),
                rule.experts,
                "{}",
                rule.merged
            );
        }
        assert_eq!(
            match_layer(RULES[0].merged, "model.layers.12.self_attn.qkv_proj.weight"),
            Some("12")
        );
        assert_eq!(
            match_layer(RULES[0].merged, "model.layers.x.self_attn.qkv_proj.weight"),
            None
        );
    }
}

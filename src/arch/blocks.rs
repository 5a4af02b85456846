//! Repeated blocks: finding the block index in tensor names, collapsing identical blocks into one
//! pattern (`model.layers.{0..31}`), and describing the blocks that deviate.
//!
//! A block index is a numeric segment right after a container segment
//! ([`rules::BLOCK_CONTAINERS`](super::rules::BLOCK_CONTAINERS): `layers`, `layer`, `h`, `block`,
//! `blk`, …). Everything before it is the stack (`model.layers`, `encoder.block`,
//! `vision_model.encoder.layers`), everything after it the in-block name. Two blocks are identical
//! when they hold the same in-block names with the same dtypes and shapes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Role, TensorRole};
use crate::model::naming::is_index;
pub use crate::model::naming::{BlockName, split_block};
use crate::model::{DType, TensorInfo};

/// One tensor of a block, by its in-block name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockTensor {
    pub name: String,
    pub role: Role,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

/// Blocks of a stack that are identical to each other.
///
/// JSON: its fields in order, with `outline` (the sentence of [`BlockGroup::outline`]) before
/// `differences`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockGroup {
    /// `model.layers.{0..29}`.
    pub pattern: String,
    pub indices: Vec<u64>,
    /// The most common layout of the stack (ties: the first).
    pub typical: bool,
    /// Members of one block, in role order then name order.
    pub tensors: Vec<BlockTensor>,
    /// Parameters of one block.
    pub parameters_per_block: u64,
    /// How the group differs from the typical one (empty for the typical group).
    pub differences: Vec<Difference>,
}

impl BlockGroup {
    /// The members in brief: `self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, 2 norms`.
    pub fn outline(&self) -> String {
        outline(&self.tensors)
    }
}

impl Serialize for BlockGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut g = s.serialize_struct("BlockGroup", 7)?;
        g.serialize_field("pattern", &self.pattern)?;
        g.serialize_field("indices", &self.indices)?;
        g.serialize_field("typical", &self.typical)?;
        g.serialize_field("tensors", &self.tensors)?;
        g.serialize_field("parameters_per_block", &self.parameters_per_block)?;
        g.serialize_field("outline", &self.outline())?;
        g.serialize_field("differences", &self.differences)?;
        g.end()
    }
}

/// A stack of repeated blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    /// `model.layers`.
    pub prefix: String,
    /// Distinct block indices, ascending.
    pub indices: Vec<u64>,
    /// Groups ordered by their first index.
    pub groups: Vec<BlockGroup>,
    /// Tensor indices (into the model's tensor table) of every block, by block index.
    #[serde(skip)]
    pub members: BTreeMap<u64, Vec<usize>>,
}

impl Stack {
    pub fn count(&self) -> u64 {
        self.indices.len() as u64
    }

    pub fn parameters(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| g.parameters_per_block * g.indices.len() as u64)
            .sum()
    }

    pub fn typical(&self) -> Option<&BlockGroup> {
        self.groups.iter().find(|g| g.typical)
    }

    /// The group holding block `index`.
    pub fn group_of(&self, index: u64) -> Option<&BlockGroup> {
        self.groups.iter().find(|g| g.indices.contains(&index))
    }
}

/// Finds the stacks and the tensors outside them. Stacks are in order of first appearance in
/// `tensors`.
pub fn collect(tensors: &[TensorInfo], roles: &[TensorRole]) -> (Vec<Stack>, Vec<usize>) {
    let mut order: Vec<&str> = Vec::new();
    let mut by_stack: BTreeMap<&str, BTreeMap<u64, Vec<usize>>> = BTreeMap::new();
    let mut others = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        match split_block(&t.name) {
            Some(b) => {
                if !by_stack.contains_key(b.stack) {
                    order.push(b.stack);
                }
                by_stack
                    .entry(b.stack)
                    .or_default()
                    .entry(b.index)
                    .or_default()
                    .push(i);
            }
            None => others.push(i),
        }
    }
    let stacks = order
        .into_iter()
        .map(|prefix| build_stack(prefix, &by_stack[prefix], tensors, roles))
        .collect();
    (stacks, others)
}

type Signature = Vec<(String, DType, Vec<u64>)>;

fn build_stack(
    prefix: &str,
    blocks: &BTreeMap<u64, Vec<usize>>,
    tensors: &[TensorInfo],
    roles: &[TensorRole],
) -> Stack {
    // Group blocks by signature, remembering the first index of each.
    let mut groups: Vec<(Signature, Vec<u64>, Vec<BlockTensor>)> = Vec::new();
    for (&index, members) in blocks {
        let mut list: Vec<BlockTensor> = members
            .iter()
            .map(|&i| {
                let t = &tensors[i];
                BlockTensor {
                    name: split_block(&t.name)
                        .map(|b| b.rest.to_owned())
                        .unwrap_or_default(),
                    role: roles[i].role,
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    parameters: t.parameters(),
                }
            })
            .collect();
        list.sort_by(|a, b| {
            a.role
                .cmp(&b.role)
                .then_with(|| crate::model::sort::natural_cmp(&a.name, &b.name))
        });
        let mut signature: Signature = list
            .iter()
            .map(|t| (t.name.clone(), t.dtype, t.shape.clone()))
            .collect();
        signature.sort();
        match groups.iter_mut().find(|(s, _, _)| *s == signature) {
            Some((_, indices, _)) => indices.push(index),
            None => groups.push((signature, vec![index], list)),
        }
    }
    let typical = groups
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, indices, _))| (indices.len(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    let typical_list: Option<Vec<BlockTensor>> = typical.map(|i| groups[i].2.clone());
    let groups = groups
        .into_iter()
        .enumerate()
        .map(|(i, (_, indices, tensors))| {
            let is_typical = Some(i) == typical;
            let differences = match (&typical_list, is_typical) {
                (Some(t), false) => differences(t, &tensors),
                _ => Vec::new(),
            };
            BlockGroup {
                pattern: pattern(prefix, &indices),
                parameters_per_block: tensors.iter().map(|t| t.parameters).sum(),
                typical: is_typical,
                indices,
                tensors,
                differences,
            }
        })
        .collect();
    Stack {
        prefix: prefix.to_owned(),
        indices: blocks.keys().copied().collect(),
        groups,
        members: blocks.clone(),
    }
}

/// `model.layers.{0..29}`, `h.{0,2,4}`, or `model.layers.3` for one block.
pub fn pattern(prefix: &str, indices: &[u64]) -> String {
    match indices {
        [one] => format!("{prefix}.{one}"),
        _ => format!("{prefix}.{{{}}}", ranges(indices)),
    }
}

/// Sorted indices as runs: `0..3,5,7..9`.
pub fn ranges(indices: &[u64]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        if i == j {
            parts.push(sorted[i].to_string());
        } else {
            parts.push(format!("{}..{}", sorted[i], sorted[j]));
        }
        i = j + 1;
    }
    parts.join(",")
}

/// A compact description of a set of in-block tensors:
/// `self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, 2 norms`.
///
/// Parameter leaves (`.weight`, `.bias`) are dropped, expert indices collapse into one range, plain
/// norms and buffers are counted rather than listed, and siblings sharing a `_suffix` are braced.
pub fn outline(tensors: &[BlockTensor]) -> String {
    let mut modules: Vec<String> = Vec::new();
    let mut norms = BTreeSet::new();
    let mut buffers = BTreeSet::new();
    let mut experts: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for t in tensors {
        let module = module_of(&t.name);
        match t.role {
            Role::Norm => {
                norms.insert(module);
                continue;
            }
            Role::Buffer => {
                buffers.insert(t.name.clone());
                continue;
            }
            _ => {}
        }
        let (module, expert) = collapse_expert(&module);
        if let Some((key, index)) = expert {
            experts.entry(key).or_default().insert(index);
        }
        if !modules.contains(&module) {
            modules.push(module);
        }
    }
    // Fill in the expert ranges.
    let modules: Vec<String> = modules
        .into_iter()
        .map(|m| match m.split_once("{E}") {
            Some((head, tail)) => {
                let key = format!("{head}{{E}}");
                let set: Vec<u64> = experts
                    .get(&key)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let r = if set.len() == 1 {
                    set[0].to_string()
                } else {
                    format!("{{{}}}", ranges(&set))
                };
                format!("{head}{r}{tail}")
            }
            None => m,
        })
        .collect();
    let mut parts = brace_siblings(&modules);
    match norms.len() {
        0 => {}
        1 => parts.push("1 norm".to_owned()),
        n => parts.push(format!("{n} norms")),
    }
    match buffers.len() {
        0 => {}
        1 => parts.push("1 buffer".to_owned()),
        n => parts.push(format!("{n} buffers")),
    }
    if parts.is_empty() {
        return "(no tensors)".to_owned();
    }
    parts.join(", ")
}

/// The module path of a parameter: the name without its last segment.
fn module_of(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((module, _)) => module.to_owned(),
        None => name.to_owned(),
    }
}

/// `mlp.experts.3.gate_proj` → (`mlp.experts.{E}.gate_proj`, (`mlp.experts.{E}`, 3)).
fn collapse_expert(module: &str) -> (String, Option<(String, u64)>) {
    let segments: Vec<&str> = module.split('.').collect();
    for i in 1..segments.len() {
        if segments[i - 1] == "experts" && is_index(segments[i]) {
            let index = segments[i].parse().unwrap_or(0);
            let mut out: Vec<&str> = segments.clone();
            out[i] = "{E}";
            let key = out[..=i].join(".");
            return (out.join("."), Some((key, index)));
        }
    }
    (module.to_owned(), None)
}

/// Groups modules by parent, in order of first appearance, and braces siblings sharing a
/// `_suffix`: `self_attn.q_proj, self_attn.k_proj, self_attn.q_norm` →
/// `self_attn.{q,k}_proj, self_attn.q_norm`.
fn brace_siblings(modules: &[String]) -> Vec<String> {
    // (parent, [(suffix, [leaves])]) in order of first appearance.
    type Parts = Vec<(String, Vec<String>)>;
    let mut parents: Vec<(String, Parts)> = Vec::new();
    for m in modules {
        let (parent, leaf) = match m.rsplit_once('.') {
            Some((p, l)) => (p.to_owned(), l.to_owned()),
            None => (String::new(), m.clone()),
        };
        let suffix = match leaf.rfind('_') {
            Some(at) if at > 0 => leaf[at..].to_owned(),
            _ => String::new(),
        };
        let parts = match parents.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, parts)) => parts,
            None => {
                parents.push((parent, Vec::new()));
                &mut parents.last_mut().expect("just pushed").1
            }
        };
        match parts.iter_mut().find(|(s, _)| *s == suffix) {
            Some((_, leaves)) => leaves.push(leaf),
            None => parts.push((suffix, vec![leaf])),
        }
    }
    let mut out = Vec::new();
    for (parent, parts) in parents {
        for (suffix, leaves) in parts {
            let joined = match leaves.as_slice() {
                [one] => one.clone(),
                _ if suffix.is_empty() => format!("{{{}}}", leaves.join(",")),
                _ => format!(
                    "{{{}}}{suffix}",
                    leaves
                        .iter()
                        .map(|l| &l[..l.len() - suffix.len()])
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            };
            out.push(if parent.is_empty() {
                joined
            } else {
                format!("{parent}.{joined}")
            });
        }
    }
    out
}

/// One way a group of blocks differs from the typical group. JSON: its sentence
/// (`has mlp.{gate,up,down}_proj`, `lacks …`, `q_proj.weight is [8, 16] (typical [16, 16])`).
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// In-block tensors the typical group lacks.
    Has(Vec<BlockTensor>),
    /// Tensors of the typical group this one lacks.
    Lacks(Vec<BlockTensor>),
    /// A tensor of another shape.
    Shape {
        tensor: String,
        shape: Vec<u64>,
        typical: Vec<u64>,
    },
    /// A tensor of another dtype.
    DType {
        tensor: String,
        dtype: DType,
        typical: DType,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::text::shape;
        match self {
            Difference::Has(tensors) => write!(f, "has {}", outline(tensors)),
            Difference::Lacks(tensors) => write!(f, "lacks {}", outline(tensors)),
            Difference::Shape {
                tensor,
                shape: s,
                typical,
            } => write!(f, "{tensor} is {} (typical {})", shape(s), shape(typical)),
            Difference::DType {
                tensor,
                dtype,
                typical,
            } => write!(f, "{tensor} is {dtype} (typical {typical})"),
        }
    }
}

impl Serialize for Difference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How `group` differs from `typical`: tensors only in one of them, and shape or dtype changes.
fn differences(typical: &[BlockTensor], group: &[BlockTensor]) -> Vec<Difference> {
    let find = |list: &[BlockTensor], name: &str| list.iter().find(|t| t.name == name).cloned();
    let extra: Vec<BlockTensor> = group
        .iter()
        .filter(|t| find(typical, &t.name).is_none())
        .cloned()
        .collect();
    let missing: Vec<BlockTensor> = typical
        .iter()
        .filter(|t| find(group, &t.name).is_none())
        .cloned()
        .collect();
    let mut out = Vec::new();
    if !extra.is_empty() {
        out.push(Difference::Has(extra));
    }
    if !missing.is_empty() {
        out.push(Difference::Lacks(missing));
    }
    for t in group {
        if let Some(u) = find(typical, &t.name) {
            if u.shape != t.shape {
                out.push(Difference::Shape {
                    tensor: t.name.clone(),
                    shape: t.shape.clone(),
                    typical: u.shape,
                });
            } else if u.dtype != t.dtype {
                out.push(Difference::DType {
                    tensor: t.name.clone(),
                    dtype: t.dtype,
                    typical: u.dtype,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_data_with_a_sentence() {
        let t = |name: &str, shape: &[u64], dtype| BlockTensor {
            name: name.into(),
            role: Role::Other,
            dtype,
            shape: shape.to_vec(),
            parameters: shape.iter().product(),
        };
        let typical = [
            t("a.weight", &[4, 4], DType::BF16),
            t("b.weight", &[4], DType::BF16),
        ];
        let group = [
            t("a.weight", &[2, 4], DType::BF16),
            t("c.weight", &[4], DType::F32),
        ];
        let d = differences(&typical, &group);
        assert_eq!(d.len(), 3);
        assert!(matches!(&d[0], Difference::Has(v) if v[0].name == "c.weight"));
        assert!(matches!(&d[1], Difference::Lacks(v) if v[0].name == "b.weight"));
        assert_eq!(d[2].to_string(), "a.weight is [2, 4] (typical [4, 4])");
        assert_eq!(
            serde_json::to_string(&d[2]).unwrap(),
            "\"a.weight is [2, 4] (typical [4, 4])\""
        );
        let dtype = differences(&typical[..1], &[t("a.weight", &[4, 4], DType::F16)]);
        assert_eq!(dtype[0].to_string(), "a.weight is F16 (typical BF16)");
    }

    #[test]
    fn block_names_split_at_the_first_container_index() {
        let b = split_block("model.layers.12.mlp.experts.3.w1.weight").unwrap();
        assert_eq!(
            (b.stack, b.index, b.rest),
            ("model.layers", 12, "mlp.experts.3.w1.weight")
        );
        let b = split_block("encoder.block.0.layer.1.DenseReluDense.wi.weight").unwrap();
        assert_eq!((b.stack, b.index), ("encoder.block", 0));
        assert_eq!(b.rest, "layer.1.DenseReluDense.wi.weight");
        let b = split_block("h.3.attn.c_attn.weight").unwrap();
        assert_eq!((b.stack, b.index, b.rest), ("h", 3, "attn.c_attn.weight"));
        assert_eq!(split_block("model.embed_tokens.weight"), None);
        assert_eq!(split_block("layers.x.w"), None);
        assert_eq!(split_block("layers.99999999999999999999.w"), None);
        let b = split_block("layers.5").unwrap();
        assert_eq!((b.stack, b.index, b.rest), ("layers", 5, ""));
    }

    #[test]
    fn ranges_and_patterns() {
        assert_eq!(ranges(&[0, 1, 2, 3]), "0..3");
        assert_eq!(ranges(&[0, 2, 4]), "0,2,4");
        assert_eq!(ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0..3,5,7..9");
        assert_eq!(ranges(&[4, 5]), "4..5");
        assert_eq!(pattern("model.layers", &[0, 1, 2]), "model.layers.{0..2}");
        assert_eq!(pattern("h", &[7]), "h.7");
    }

    fn t(name: &str, role: Role) -> BlockTensor {
        BlockTensor {
            name: name.into(),
            role,
            dtype: DType::BF16,
            shape: vec![1],
            parameters: 1,
        }
    }

    #[test]
    fn outlines_brace_siblings_and_count_norms() {
        let llama = [
            t("self_attn.q_proj.weight", Role::AttnQ),
            t("self_attn.k_proj.weight", Role::AttnK),
            t("self_attn.v_proj.weight", Role::AttnV),
            t("self_attn.o_proj.weight", Role::AttnO),
            t("mlp.gate_proj.weight", Role::MlpGate),
            t("mlp.up_proj.weight", Role::MlpUp),
            t("mlp.down_proj.weight", Role::MlpDown),
            t("input_layernorm.weight", Role::Norm),
            t("post_attention_layernorm.weight", Role::Norm),
        ];
        assert_eq!(
            outline(&llama),
            "self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, 2 norms"
        );
        let mut moe = vec![t("block_sparse_moe.gate.weight", Role::Router)];
        for e in 0..8 {
            for w in ["w1", "w3", "w2"] {
                moe.push(t(
                    &format!("block_sparse_moe.experts.{e}.{w}.weight"),
                    Role::ExpertGate,
                ));
            }
        }
        assert_eq!(
            outline(&moe),
            "block_sparse_moe.gate, block_sparse_moe.experts.{0..7}.{w1,w3,w2}"
        );
        assert_eq!(outline(&[]), "(no tensors)");
        let mixed = [
            t("self_attn.q_proj.weight", Role::AttnQ),
            t("self_attn.k_proj.weight", Role::AttnK),
            t("self_attn.q_norm.weight", Role::AttnQNorm),
            t("self_attn.k_norm.weight", Role::AttnKNorm),
            t("self_attn.kv_a_proj_with_mqa.weight", Role::AttnKvA),
        ];
        assert_eq!(
            outline(&mixed),
            "self_attn.{q,k}_proj, self_attn.{q,k}_norm, self_attn.kv_a_proj_with_mqa"
        );
    }
}

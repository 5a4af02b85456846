//! The tensor tree: names split at `.` into a tree, single-child chains joined (`model.norm.weight`
//! stays one row), and a node whose children are all indices (`layers.0` … `layers.23`, an index
//! as [`crate::model::naming`] defines it) made a repeated group shown as `layers.{0..23} ×24` —
//! the blocks of a stack, and also the experts inside a block, which read the same way. A
//! `metadata` node at the end holds the format's key/value metadata.
//!
//! The tree is built once; [`Tree::rows`] lists the rows to draw from the expansion state, a
//! filter and a sort key, so the screen only ever handles the visible rows.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::sort::natural_cmp;

use super::data::ModelView;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Group,
    /// Children are the numbered blocks of a stack.
    Repeat,
    /// One tensor: an index into `ModelView::tensors`.
    Tensor(usize),
    /// The metadata node.
    MetaRoot,
    /// One metadata entry: an index into `ModelView::metadata`.
    Meta(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub label: String,
    /// The dotted name of the node (a tensor's full name; a group's prefix).
    pub path: String,
    pub children: Vec<usize>,
    /// Every tensor below (or the tensor itself), ascending.
    pub tensors: Vec<usize>,
    pub parameters: u64,
    pub bytes: u64,
    pub parent: Option<usize>,
    pub expanded: bool,
}

/// One visible row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: usize,
    pub depth: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
}

#[derive(Default)]
struct Trie {
    children: BTreeMap<String, Trie>,
    tensor: Option<usize>,
}

impl Tree {
    pub fn build(view: &ModelView) -> Tree {
        let mut trie = Trie::default();
        for (i, t) in view.tensors.iter().enumerate() {
            let mut node = &mut trie;
            for part in t.name.split('.') {
                node = node.children.entry(part.to_owned()).or_default();
            }
            // Two tensors of one name cannot exist (the formats reject it).
            node.tensor = Some(i);
        }
        let mut tree = Tree {
            nodes: Vec::new(),
            roots: Vec::new(),
        };
        tree.roots = tree.add_children(&trie, "", None, false);
        if !view.metadata.is_empty() {
            let root = tree.push(Node {
                kind: NodeKind::MetaRoot,
                label: format!(
                    "metadata ({} key{})",
                    view.metadata.len(),
                    if view.metadata.len() == 1 { "" } else { "s" }
                ),
                path: String::new(),
                children: Vec::new(),
                tensors: Vec::new(),
                parameters: 0,
                bytes: 0,
                parent: None,
                expanded: false,
            });
            for (i, m) in view.metadata.iter().enumerate() {
                let child = tree.push(Node {
                    kind: NodeKind::Meta(i),
                    label: m.key.clone(),
                    path: m.key.clone(),
                    children: Vec::new(),
                    tensors: Vec::new(),
                    parameters: 0,
                    bytes: 0,
                    parent: Some(root),
                    expanded: false,
                });
                tree.nodes[root].children.push(child);
            }
            tree.roots.push(root);
        }
        for t in 0..tree.nodes.len() {
            let n = &tree.nodes[t];
            let (p, b) = n.tensors.iter().fold((0, 0), |(p, b), &i| {
                (p + view.tensors[i].parameters, b + view.tensors[i].bytes)
            });
            tree.nodes[t].parameters = p;
            tree.nodes[t].bytes = b;
        }
        // Open the top level (not repeated blocks, not metadata) so the first screen shows the
        // model's outline.
        for &r in &tree.roots.clone() {
            if tree.nodes[r].kind == NodeKind::Group {
                tree.nodes[r].expanded = true;
            }
        }
        tree
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Adds the children of `trie` (whose dotted path is `path`) under `parent`. The numbered
    /// blocks of a repeated group (`blocks`) stay groups even when they hold one tensor, so every
    /// block reads alike.
    fn add_children(
        &mut self,
        trie: &Trie,
        path: &str,
        parent: Option<usize>,
        blocks: bool,
    ) -> Vec<usize> {
        let mut keys: Vec<&String> = trie.children.keys().collect();
        keys.sort_by(|a, b| natural_cmp(a, b));
        let mut out = Vec::new();
        for key in keys {
            let mut child = &trie.children[key];
            let mut label = key.clone();
            // Join single-child chains: `embed_tokens` → `weight` is one row.
            while !blocks && child.tensor.is_none() && child.children.len() == 1 {
                let (k, c) = child.children.iter().next().expect("one child");
                label = format!("{label}.{k}");
                child = c;
            }
            let full = if path.is_empty() {
                label.clone()
            } else {
                format!("{path}.{label}")
            };
            if let Some(t) = child.tensor {
                let id = self.push(Node {
                    kind: NodeKind::Tensor(t),
                    label: label.clone(),
                    path: full.clone(),
                    children: Vec::new(),
                    tensors: vec![t],
                    parameters: 0,
                    bytes: 0,
                    parent,
                    expanded: false,
                });
                out.push(id);
                if child.children.is_empty() {
                    continue;
                }
                // A tensor whose name is also a prefix of others: its children go beside it.
            }
            let repeat = child.children.len() >= 2
                && child
                    .children
                    .keys()
                    .all(|k| crate::model::naming::is_index(k));
            let id = self.push(Node {
                kind: if repeat {
                    NodeKind::Repeat
                } else {
                    NodeKind::Group
                },
                label: label.clone(),
                path: full.clone(),
                children: Vec::new(),
                tensors: Vec::new(),
                parameters: 0,
                bytes: 0,
                parent,
                expanded: false,
            });
            let children = self.add_children(child, &full, Some(id), repeat);
            if repeat {
                let mut numbers: Vec<&String> = child.children.keys().collect();
                numbers.sort_by(|a, b| natural_cmp(a, b));
                self.nodes[id].label = format!(
                    "{label}.{{{}..{}}} ×{}",
                    numbers.first().map_or("", |s| s.as_str()),
                    numbers.last().map_or("", |s| s.as_str()),
                    children.len()
                );
                for &c in &children {
                    self.nodes[c].label = format!("{label}.{}", self.nodes[c].label);
                }
            }
            let mut tensors: Vec<usize> = children
                .iter()
                .flat_map(|&c| self.nodes[c].tensors.iter().copied())
                .collect();
            tensors.sort_unstable();
            self.nodes[id].tensors = tensors;
            self.nodes[id].children = children;
            out.push(id);
        }
        out
    }

    /// The visible rows: expanded groups opened, children ordered by `cmp`; with a filter, only
    /// nodes that match or hold a match, every group on the way opened.
    pub fn rows(
        &self,
        keep: Option<&dyn Fn(usize) -> bool>,
        cmp: &dyn Fn(usize, usize) -> Ordering,
    ) -> Vec<Row> {
        let mut out = Vec::new();
        let mut visible = vec![keep.is_none(); self.nodes.len()];
        if let Some(keep) = keep {
            // Children come after their parents in `nodes`: a reverse pass sees them first.
            for i in (0..self.nodes.len()).rev() {
                let n = &self.nodes[i];
                visible[i] = visible[i] || keep(i) || n.children.iter().any(|&c| visible[c]);
            }
        }
        let filtering = keep.is_some();
        let mut roots = self.roots.clone();
        sort_siblings(&self.nodes, &mut roots, cmp);
        let mut stack: Vec<(usize, u16)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            if !visible[id] {
                continue;
            }
            out.push(Row { node: id, depth });
            let n = &self.nodes[id];
            if n.expanded || (filtering && !n.children.is_empty()) {
                let mut children = n.children.clone();
                sort_siblings(&self.nodes, &mut children, cmp);
                stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
            }
        }
        out
    }
}

fn sort_siblings(nodes: &[Node], ids: &mut [usize], cmp: &dyn Fn(usize, usize) -> Ordering) {
    // The metadata node stays last whatever the order.
    ids.sort_by(|&a, &b| {
        let (na, nb) = (&nodes[a], &nodes[b]);
        (na.kind == NodeKind::MetaRoot)
            .cmp(&(nb.kind == NodeKind::MetaRoot))
            .then_with(|| cmp(a, b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::data::{MetaEntry, TensorView};

    fn view(names: &[&str]) -> ModelView {
        ModelView {
            tensors: names
                .iter()
                .map(|n| TensorView {
                    name: (*n).to_owned(),
                    dtype: "F32".into(),
                    float: true,
                    shape: vec![2],
                    parameters: 2,
                    bytes: 8,
                    file: "m.safetensors".into(),
                    offset: 0,
                    hf_name: None,
                    layer: None,
                    column: None,
                })
                .collect(),
            ..ModelView::default()
        }
    }

    fn labels(tree: &Tree, ids: &[usize]) -> Vec<String> {
        ids.iter().map(|&i| tree.nodes[i].label.clone()).collect()
    }

    #[test]
    fn chains_join_numbers_make_repeated_groups_and_sizes_add_up() {
        let tree = Tree::build(&view(&[
            "model.embed.weight",
            "model.layers.10.w",
            "model.layers.2.w",
            "model.layers.2.b",
            "head.weight",
        ]));
        assert_eq!(labels(&tree, &tree.roots), ["head.weight", "model"]);
        let model = tree.roots[1];
        let children = tree.nodes[model].children.clone();
        assert_eq!(
            labels(&tree, &children),
            ["embed.weight", "layers.{2..10} ×2"]
        );
        let repeat = children[1];
        assert_eq!(tree.nodes[repeat].kind, NodeKind::Repeat);
        assert_eq!(
            labels(&tree, &tree.nodes[repeat].children),
            ["layers.2", "layers.10"]
        );
        assert_eq!(tree.nodes[repeat].tensors.len(), 3);
        assert_eq!(tree.nodes[repeat].bytes, 24);
        assert_eq!(tree.nodes[model].parameters, 8);
        assert!(tree.nodes[model].expanded && !tree.nodes[repeat].expanded);
    }

    #[test]
    fn a_tensor_named_like_a_group_keeps_both_rows_and_metadata_goes_last() {
        let mut v = view(&["a", "a.b", "a.c"]);
        v.metadata.push(MetaEntry {
            key: "general.name".into(),
            short: "\"x\"".into(),
            full: "x".into(),
        });
        let tree = Tree::build(&v);
        let rows = tree.rows(None, &|a, b| tree.nodes[a].label.cmp(&tree.nodes[b].label));
        let shown: Vec<(String, u16)> = rows
            .iter()
            .map(|r| (tree.nodes[r.node].label.clone(), r.depth))
            .collect();
        assert_eq!(
            shown,
            [
                ("a".to_owned(), 0),
                ("a".to_owned(), 0),
                ("b".to_owned(), 1),
                ("c".to_owned(), 1),
                ("metadata (1 key)".to_owned(), 0),
            ]
        );
        // A filter opens every group on the way to a match, collapsed or not.
        let keep = |i: usize| tree.nodes[i].path == "general.name";
        let rows = tree.rows(Some(&keep), &|a, b| a.cmp(&b));
        assert_eq!(rows.len(), 2);
    }
}

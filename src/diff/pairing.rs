//! Bringing both models to canonical (Hugging Face) names and layout, then pairing their tensors.
//!
//! A GGUF tensor is renamed with the tables of [`crate::arch::gguf_names`]; the rows llama.cpp's
//! converter permuted in Q and K are read back in Hugging Face order (a [`View`] maps each row to
//! the stored row, so nothing is copied); the Gemma family's `norm.weight`, stored plus one, is read
//! minus one. `--map FROM=TO` prefix rewrites then apply to both sides. Tensors left unpaired by
//! name are paired by content (a BLAKE3 hash of dtype, shape and bytes): renamed without change.
//! Sharding needs nothing here: a [`Model`] is one table across its shards.

use std::collections::BTreeMap;

use crate::arch::gguf_names::{QkPermutation, gguf_to_hf_name, permuted_row, qk_permutation};
use crate::decode::{DecodeError, decode_f64};
use crate::model::{Format, Model, TensorInfo};

/// A tensor as the comparison reads it: `rows` rows of `cols` values in Hugging Face order.
#[derive(Debug, Clone)]
pub(crate) struct View<'m> {
    pub model: &'m Model,
    pub tensor: &'m TensorInfo,
    pub rows: usize,
    pub cols: usize,
    /// Bytes per stored row.
    row_bytes: usize,
    /// Read row `r` from stored row `permuted_row(r, rows, heads)`.
    permute_heads: Option<usize>,
    /// Added to every value (−1 for a Gemma norm stored plus one).
    offset: f64,
}

impl<'m> View<'m> {
    /// Whether this view reads the bytes as they are (no row permutation, no offset).
    pub fn is_plain(&self) -> bool {
        self.permute_heads.is_none() && self.offset == 0.0
    }

    /// The stored bytes of rows `r0..r1` when the view is plain (no transform to apply).
    pub fn plain_bytes(&self, r0: usize, r1: usize) -> Option<&'m [u8]> {
        self.is_plain().then(|| {
            &self.model.tensor_bytes(self.tensor)[r0 * self.row_bytes..r1 * self.row_bytes]
        })
    }

    /// Appends rows `r0..r1` (Hugging Face order) to `out` as f64.
    pub fn read_rows(&self, r0: usize, r1: usize, out: &mut Vec<f64>) -> Result<(), DecodeError> {
        let bytes = self.model.tensor_bytes(self.tensor);
        let dtype = self.tensor.dtype;
        let start = out.len();
        match self.permute_heads {
            None => decode_f64(dtype, &bytes[r0 * self.row_bytes..r1 * self.row_bytes], out)?,
            Some(heads) => {
                for r in r0..r1 {
                    let s = permuted_row(r, self.rows, heads);
                    decode_f64(
                        dtype,
                        &bytes[s * self.row_bytes..(s + 1) * self.row_bytes],
                        out,
                    )?;
                }
            }
        }
        if self.offset != 0.0 {
            out[start..].iter_mut().for_each(|v| *v += self.offset);
        }
        Ok(())
    }
}

/// One tensor of one model under its canonical name.
#[derive(Debug, Clone)]
pub(crate) struct Canonical<'m> {
    pub name: String,
    pub view: View<'m>,
}

/// A transform undone (or a rewrite applied) to pair the tensors, with how many tensors it touched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transform {
    /// `gguf_names`, `qk_unpermute`, `norm_minus_one`, `map`, `renamed_by_content`.
    pub code: &'static str,
    /// `a`, `b` or `both`.
    pub side: &'static str,
    pub tensors: usize,
    /// What exactly: the GGUF architecture, the heads, the `FROM=TO` rule.
    pub detail: String,
}

/// A `--map FROM=TO` prefix rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMap {
    pub from: String,
    pub to: String,
}

impl std::str::FromStr for NameMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((from, to)) if !from.is_empty() => Ok(NameMap {
                from: from.to_owned(),
                to: to.to_owned(),
            }),
            _ => Err(format!(
                "expected `FROM=TO` with a non-empty FROM, found `{s}`"
            )),
        }
    }
}

/// Every tensor of `model` under its canonical name, with the transforms applied (tallied into
/// `transforms` for side `side`).
pub(crate) fn canonical_tensors<'m>(
    model: &'m Model,
    maps: &[NameMap],
    side: &'static str,
    transforms: &mut Vec<Transform>,
) -> Vec<Canonical<'m>> {
    let arch = model
        .gguf
        .as_ref()
        .and_then(|g| g.architecture())
        .unwrap_or("")
        .to_owned();
    let heads = |key: &str| model.gguf.as_ref().and_then(|g| g.arch_u64(key));
    let mut tally: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(model.tensors.len());
    for t in &model.tensors {
        let mut name = t.name.clone();
        let mut permute_heads = None;
        let mut offset = 0.0;
        if model.format == Format::Gguf {
            if let Some(hf) = gguf_to_hf_name(&arch, &t.name) {
                name = hf;
                *tally.entry(("gguf_names", arch.clone())).or_default() += 1;
            }
            let n_head = match qk_permutation(&arch, &t.name) {
                Some(QkPermutation::Query) => heads("attention.head_count"),
                Some(QkPermutation::Key) => {
                    heads("attention.head_count_kv").or_else(|| heads("attention.head_count"))
                }
                None => None,
            };
            if let Some(n) = n_head.and_then(|n| usize::try_from(n).ok()) {
                let rows = t.shape.first().copied().unwrap_or(0) as usize;
                if n > 0 && rows.is_multiple_of(n) && (rows / n).is_multiple_of(2) {
                    permute_heads = Some(n);
                    *tally
                        .entry(("qk_unpermute", format!("{n} heads")))
                        .or_default() += 1;
                }
            }
            if arch.starts_with("gemma") && name.ends_with("norm.weight") {
                offset = -1.0;
                *tally.entry(("norm_minus_one", arch.clone())).or_default() += 1;
            }
        }
        for m in maps {
            if let Some(rest) = name.strip_prefix(m.from.as_str()) {
                name = format!("{}{rest}", m.to);
                *tally
                    .entry(("map", format!("{}={}", m.from, m.to)))
                    .or_default() += 1;
                break;
            }
        }
        out.push(Canonical {
            name,
            view: view_of(model, t, permute_heads, offset),
        });
    }
    transforms.extend(tally.into_iter().map(|((code, detail), n)| Transform {
        code,
        side,
        tensors: n,
        detail,
    }));
    out
}

/// Rows are the outermost dimension when each row is whole storage blocks; otherwise the tensor
/// is read as one row.
fn view_of<'m>(
    model: &'m Model,
    t: &'m TensorInfo,
    permute_heads: Option<usize>,
    offset: f64,
) -> View<'m> {
    let n = t.parameters() as usize;
    let (rows, cols) = match t.shape.split_first() {
        Some((&r, rest)) if r > 0 && t.shape.len() >= 2 => {
            (r as usize, rest.iter().product::<u64>() as usize)
        }
        _ => (1, n),
    };
    let row_bytes = t.dtype.bytes_for(cols as u64).map(|b| b as usize);
    let (rows, cols, row_bytes, permute_heads) = match row_bytes {
        Some(b) if b * rows == t.bytes as usize => (rows, cols, b, permute_heads),
        _ => (1, n, t.bytes as usize, None),
    };
    View {
        model,
        tensor: t,
        rows,
        cols,
        row_bytes,
        permute_heads,
        offset,
    }
}

/// The pairing of the two canonical tables.
pub(crate) struct Pairing<'a, 'b> {
    /// Same canonical name on both sides, or the same content under another name (`renamed`).
    pub pairs: Vec<(Canonical<'a>, Canonical<'b>, bool)>,
    pub removed: Vec<Canonical<'a>>,
    pub added: Vec<Canonical<'b>>,
}

/// Pairs by canonical name, then what is left by content hash.
pub(crate) fn pair<'a, 'b>(
    a: Vec<Canonical<'a>>,
    b: Vec<Canonical<'b>>,
    transforms: &mut Vec<Transform>,
) -> Pairing<'a, 'b> {
    let mut b_by_name: BTreeMap<String, Canonical<'b>> =
        b.into_iter().map(|c| (c.name.clone(), c)).collect();
    let mut pairs = Vec::new();
    let mut removed = Vec::new();
    for ca in a {
        match b_by_name.remove(&ca.name) {
            Some(cb) => pairs.push((ca, cb, false)),
            None => removed.push(ca),
        }
    }
    let mut added: Vec<Canonical<'b>> = b_by_name.into_values().collect();
    if !removed.is_empty() && !added.is_empty() {
        let hash = |c: &Canonical<'_>| content_hash(&c.view);
        let mut by_hash: BTreeMap<[u8; 32], Vec<usize>> = BTreeMap::new();
        for (i, c) in added.iter().enumerate() {
            by_hash.entry(hash(c)).or_default().push(i);
        }
        let mut taken = vec![false; added.len()];
        let mut still_removed = Vec::new();
        let mut renamed = 0;
        for ca in removed {
            let slot = by_hash
                .get_mut(&hash(&ca))
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
            match slot {
                Some(i) => {
                    taken[i] = true;
                    pairs.push((ca, added[i].clone(), true));
                    renamed += 1;
                }
                None => still_removed.push(ca),
            }
        }
        removed = still_removed;
        let mut keep = taken.iter().map(|t| !t);
        added.retain(|_| keep.next().unwrap_or(true));
        if renamed > 0 {
            transforms.push(Transform {
                code: "renamed_by_content",
                side: "both",
                tensors: renamed,
                detail: "blake3 of dtype, shape and bytes".to_owned(),
            });
        }
    }
    pairs.sort_by(|x, y| x.1.name.cmp(&y.1.name));
    Pairing {
        pairs,
        removed,
        added,
    }
}

/// BLAKE3 of the dtype, the shape and the stored bytes (plain views only: a permuted or offset
/// view hashes its bytes as stored, so it pairs only with a tensor stored the same way).
pub(crate) fn content_hash(view: &View<'_>) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(view.tensor.dtype.name().as_bytes());
    for d in &view.tensor.shape {
        h.update(&d.to_le_bytes());
    }
    h.update(&[u8::from(view.is_plain())]);
    h.update(view.model.tensor_bytes(view.tensor));
    *h.finalize().as_bytes()
}

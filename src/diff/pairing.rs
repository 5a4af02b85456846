//! Bringing both models to canonical (Hugging Face) names and layout, then pairing their tensors.
//!
//! A GGUF tensor is renamed with the tables of [`crate::arch::gguf_names`]; the rows llama.cpp's
//! converter permuted in Q and K are read back in Hugging Face order (a `View` maps each row to
//! the stored row, so nothing is copied); the Gemma family's `norm.weight`, stored plus one, is read
//! minus one. `--map FROM=TO` prefix rewrites then apply to both sides. Tensors left unpaired by
//! name are paired by content (a BLAKE3 hash of dtype, shape and bytes): renamed without change.
//! Sharding needs nothing here: a [`Model`] is one table across its shards.

use std::collections::BTreeMap;

use crate::arch::gguf_names::{
    QkPermutation, gguf_to_hf_name, permuted_row, qk_permutation, stored_plus_one,
};
use crate::decode::{DecodeError, decode_f64};
use crate::model::sort::natural_cmp;
use crate::model::{Format, Model, TensorInfo};

/// A tensor as the comparison reads it: `rows` rows of `cols` values in Hugging Face order.
#[derive(Debug, Clone)]
pub(crate) struct View<'m> {
    pub model: &'m Model,
    pub tensor: &'m TensorInfo,
    /// The shape compared: the tensor's, or one part's when a merged tensor was split.
    pub shape: Vec<u64>,
    pub rows: usize,
    pub cols: usize,
    /// The stored row this view starts at (a part of a merged tensor starts inside it).
    first_row: usize,
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
        self.is_plain().then(|| self.stored_rows(r0, r1))
    }

    /// The stored bytes of the view's rows `r0..r1` (before any transform).
    fn stored_rows(&self, r0: usize, r1: usize) -> &'m [u8] {
        let first = self.first_row;
        &self.model.tensor_bytes(self.tensor)
            [(first + r0) * self.row_bytes..(first + r1) * self.row_bytes]
    }

    /// Every stored byte the view reads.
    pub fn bytes(&self) -> &'m [u8] {
        self.stored_rows(0, self.rows)
    }

    /// Tells the kernel this process is done with the stored rows `r0..r1` of a large plain
    /// view (they stay in the page cache), so a pass over a tensor larger than memory keeps a
    /// few chunks resident, not the tensor. Small tensors are released whole after their pair
    /// ([`crate::model::Releaser`] batches those); a permuted view's rows are scattered, and
    /// such views (GGUF Q and K) are small.
    pub fn release_rows(&self, r0: usize, r1: usize) {
        if self.is_plain() && self.rows * self.row_bytes >= RELEASE_BY_ROWS_ABOVE {
            let base = self.tensor.offset as usize + self.first_row * self.row_bytes;
            self.model.files[self.tensor.file]
                .release(base + r0 * self.row_bytes..base + r1 * self.row_bytes);
        }
    }

    /// [`View::release_rows`] for the row chunks of a pass that ends with the release of the whole
    /// pair (the fold, the low rank): only when rows `r0..r1` reach or cross a multiple of
    /// [`RELEASE_STEP`] bytes of the view is everything since the previous multiple released.
    /// Each `madvise` flushes the TLB of both cores; one per 2 MiB chunk cost the fold of two
    /// 2 GiB files a quarter more CPU time.
    pub fn release_rows_batched(&self, r0: usize, r1: usize) {
        let (start, end) = (r0 * self.row_bytes, r1 * self.row_bytes);
        let boundary = end / RELEASE_STEP * RELEASE_STEP;
        if boundary > start {
            let from = boundary.saturating_sub(RELEASE_STEP).min(start);
            self.release_rows(
                from / self.row_bytes.max(1),
                boundary / self.row_bytes.max(1),
            );
        }
    }

    /// Whether the stored bytes of both views are equal, compared in slices that are released
    /// as they are passed (a large identical pair would otherwise stay resident whole).
    pub fn same_bytes(&self, other: &View<'_>) -> bool {
        let (x, y) = (self.bytes(), other.bytes());
        if x.len() != y.len() {
            return false;
        }
        let step = (RELEASE_BY_ROWS_ABOVE / self.row_bytes.max(1)).max(1);
        let mut r0 = 0;
        while r0 < self.rows {
            let r1 = (r0 + step).min(self.rows);
            if self.stored_rows(r0, r1) != other.stored_rows(r0, r1) {
                return false;
            }
            self.release_rows(r0, r1);
            other.release_rows(r0, r1);
            r0 = r1;
        }
        true
    }

    /// The view's bytes as offsets in its file.
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        let start = self.tensor.offset as usize + self.first_row * self.row_bytes;
        start..start + self.rows * self.row_bytes
    }

    /// The view of rows `first..first + rows` of this one, `cols` values wide, as `shape`: one
    /// part of a merged tensor (an expert, or Q of a fused QKV). `None` unless the view is plain
    /// and whole stored rows of `cols` values hold the part.
    pub fn part(
        &self,
        first: usize,
        rows: usize,
        cols: usize,
        shape: Vec<u64>,
    ) -> Option<View<'m>> {
        if !self.is_plain() || cols == 0 || !self.cols.is_multiple_of(cols) {
            return None;
        }
        // The stored rows, re-cut into rows of `cols` values (whole storage blocks each).
        let per = self.cols / cols;
        let row_bytes = self.tensor.dtype.bytes_for(cols as u64)? as usize;
        let total = self.rows * per;
        (row_bytes * per == self.row_bytes && first + rows <= total && rows > 0).then(|| View {
            model: self.model,
            tensor: self.tensor,
            shape,
            rows,
            cols,
            first_row: self.first_row * per + first,
            row_bytes,
            permute_heads: None,
            offset: 0.0,
        })
    }

    /// Appends rows `r0..r1` (Hugging Face order) to `out` as f64.
    pub fn read_rows(&self, r0: usize, r1: usize, out: &mut Vec<f64>) -> Result<(), DecodeError> {
        let dtype = self.tensor.dtype;
        let start = out.len();
        match self.permute_heads {
            None => decode_f64(dtype, self.stored_rows(r0, r1), out)?,
            Some(heads) => {
                for r in r0..r1 {
                    let s = permuted_row(r, self.rows, heads);
                    decode_f64(dtype, self.stored_rows(s, s + 1), out)?;
                }
            }
        }
        if self.offset != 0.0 {
            out[start..].iter_mut().for_each(|v| *v += self.offset);
        }
        Ok(())
    }
}

/// Views of at least this many bytes release their pages as they are read (see
/// [`View::release_rows`]).
const RELEASE_BY_ROWS_ABOVE: usize = 64 << 20;
/// Bytes of a large view released at once (see [`View::release_rows`]).
const RELEASE_STEP: usize = 32 << 20;

/// One tensor of one model under its canonical name.
#[derive(Debug, Clone)]
pub(crate) struct Canonical<'m> {
    pub name: String,
    /// The name in the file, with the part read when a merged tensor was split
    /// (`blk.0.ffn_gate_exps.weight[3]`, `…qkv_proj.weight[rows 0..32]`).
    pub source: String,
    pub view: View<'m>,
}

/// A transform undone (or a rewrite applied) to pair the tensors, with how many tensors it touched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transform {
    /// `gguf_names`, `qk_unpermute`, `norm_minus_one`, `map`, `renamed_by_content`,
    /// `experts_split`, `fused_split`.
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
            if stored_plus_one(&arch, &name) {
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
            source: t.name.clone(),
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
        shape: t.shape.clone(),
        rows,
        cols,
        first_row: 0,
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
    // Natural order (`layers.2` before `layers.10`), as every other listing of tensors.
    pairs.sort_by(|x, y| natural_cmp(&x.1.name, &y.1.name));
    removed.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    added.sort_by(|x, y| natural_cmp(&x.name, &y.name));
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
    for d in &view.shape {
        h.update(&d.to_le_bytes());
    }
    h.update(&[u8::from(view.is_plain())]);
    let step = (RELEASE_BY_ROWS_ABOVE / view.row_bytes.max(1)).max(1);
    for r0 in (0..view.rows).step_by(step) {
        let r1 = (r0 + step).min(view.rows);
        h.update(view.stored_rows(r0, r1));
        view.release_rows(r0, r1);
    }
    *h.finalize().as_bytes()
}

//! `glassbox diff A B`: what changed between two checkpoints, across formats, with a verdict.
//!
//! [`compute_diff`] works in four steps:
//!
//! 1. **Pairing** ([`pairing`]): both models are brought to Hugging Face names and layout (GGUF
//!    names mapped, Q/K rows un-permuted, Gemma norms minus one, `--map` rewrites), merged
//!    tensors cut into the parts the other side stores apart (`split`: experts, fused QKV and
//!    gate_up), paired by name, then what is left by content hash (renamed). Every transform is
//!    listed in the report.
//! 2. **Numbers** ([`numbers`]): pairs whose bytes are equal are identical at the cost of one read
//!    (a comparison that stops at the first differing byte otherwise). The others are read in row
//!    chunks on the caller's rayon pool, folded into f64 sums (rel_l2, SQNR, cosine, Pearson,
//!    max and p99 |Δ|, bit-identical share, share within the narrower dtype's rounding), merged in
//!    row order. Memory is a few chunks per thread; `cancel` is checked between chunks.
//! 3. **Structure** ([`lowrank`], [`lineage`]): the rank of Δ for changed 2-D tensors, and whether
//!    B's MLP units are A's (in order, permuted, or unrelated).
//! 4. **Verdict** ([`verdict`]): per-layer × role map and one verdict with its evidence.
//!
//! The report, [`Diff`], is plain data (serde gives the JSON); renderers only format it.

mod fastfold;
pub mod lineage;
pub mod lowrank;
pub mod numbers;
pub mod pairing;
mod split;
pub mod verdict;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

pub use lineage::Lineage;
pub use lowrank::LowRank;
pub use numbers::{DeltaOctaves, PairNumbers, SideMoments};
pub use pairing::{NameMap, Transform};
pub use verdict::{Evidence, LayerRow, RoleCell, Verdict, VerdictKind};

use crate::decode::DecodeError;
use crate::model::naming::{Role, layer_of, role_of};
use crate::model::{Model, Releaser, guard};
use numbers::{FloatLayout, PairAccum};
use pairing::{Canonical, View};

/// Options of a comparison.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// `--map FROM=TO` prefix rewrites, applied to the canonical names of both sides.
    pub maps: Vec<NameMap>,
    /// Pairs with rel_l2 at most this count as unchanged for the exit code (0: exact).
    pub tolerance: f64,
    /// Skip the low-rank analysis. A full-rank change costs it a sample of 128 rows (the gate of
    /// `lowrank`); a low-rank one, the range finder: 2 · (power iterations + 1) more reads of the
    /// matrix at 2 · sketch flops per value and pass.
    pub no_rank: bool,
    /// Count every |Δ| into the p99 histogram; pairs above `fastfold::SAMPLE_ABOVE` values
    /// otherwise count a deterministic sample of steps of sixteen values (see `fastfold`; the
    /// sums, maximum and every other number are exact either way).
    pub exact: bool,
}

/// What happened to one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The same values (see `bytes_identical`).
    Identical,
    /// Same content under another name.
    Renamed,
    /// Another float dtype, and every difference within half an ulp of the narrower one.
    ReRounded,
    /// Another dtype, and differences beyond re-rounding (a quantisation, for instance).
    Retyped,
    /// Same dtype and shape, other values.
    Changed,
    /// Another shape: the shared rows were compared.
    Reshaped,
    Added,
    Removed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Identical => "identical",
            Status::Renamed => "renamed",
            Status::ReRounded => "re-rounded",
            Status::Retyped => "retyped",
            Status::Changed => "changed",
            Status::Reshaped => "reshaped",
            Status::Added => "added",
            Status::Removed => "removed",
        }
    }

    /// Whether the values are unchanged.
    pub fn is_same(self) -> bool {
        matches!(self, Status::Identical | Status::Renamed)
    }
}

/// One tensor of the comparison, under its canonical name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TensorDiff {
    pub name: String,
    /// The names in the files, when they differ from `name`.
    pub name_a: Option<String>,
    pub name_b: Option<String>,
    pub status: Status,
    /// Whether the stored bytes are equal too (identical and renamed only).
    pub bytes_identical: Option<bool>,
    pub dtype_a: Option<&'static str>,
    pub dtype_b: Option<&'static str>,
    pub shape_a: Option<Vec<u64>>,
    pub shape_b: Option<Vec<u64>>,
    pub layer: Option<usize>,
    pub role: &'static str,
    /// The role itself, for ordering (JSON has its short name, `role`).
    #[serde(skip)]
    pub role_kind: Role,
    /// Null for added and removed tensors and for types that are not decoded.
    pub numbers: Option<PairNumbers>,
    #[serde(flatten)]
    pub headline: Headline,
    /// Rank profile of Δ for a changed 2-D tensor.
    pub rank: Option<LowRank>,
}

/// The DESIGN.md core keys, copied from `numbers` to the top of each tensor object.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Headline {
    pub rel_l2: Option<f64>,
    pub sqnr_db: Option<f64>,
    pub cosine: Option<f64>,
    pub max_abs: Option<f64>,
}

/// Tensors per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatusCounts {
    pub identical: usize,
    pub changed: usize,
    pub re_rounded: usize,
    pub added: usize,
    pub removed: usize,
    pub reshaped: usize,
    pub retyped: usize,
    pub renamed: usize,
}

/// The comparison of two models.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diff {
    pub summary: StatusCounts,
    /// Paired tensors in canonical-name order, then removed, then added.
    pub tensors: Vec<TensorDiff>,
    pub layers: Vec<LayerRow>,
    pub transforms: Vec<Transform>,
    pub lineage: Option<Lineage>,
    pub verdict: Verdict,
    /// Whether every tensor is paired and within `tolerance`: exit 0.
    pub within_tolerance: bool,
    pub tolerance: f64,
}

/// Why a comparison stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("tensor `{tensor}`: {source}")]
    Decode {
        tensor: String,
        #[source]
        source: DecodeError,
    },
    #[error("cancelled")]
    Cancelled,
    /// A weight file shrank, grew or was rewritten while the diff read it: the numbers computed
    /// from it cannot be trusted, so none are reported.
    #[error(transparent)]
    FileChanged(#[from] crate::error::Error),
}

/// Compares `a` with `b` on `pool`; `progress` receives the bytes read so far.
pub fn compute_diff(
    a: &Model,
    b: &Model,
    options: &DiffOptions,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Diff, DiffError> {
    let diff = pool.install(|| compute_diff_here(a, b, options, progress, cancel));
    // A file that shrank under a read faulted into zero pages (see `crate::model::guard`), and one
    // extended or rewritten meanwhile gave bytes of two versions: either way the numbers are not
    // the file's, so the file is named instead, whatever the comparison itself returned.
    a.check_unchanged()?;
    b.check_unchanged()?;
    diff
}

fn compute_diff_here(
    a: &Model,
    b: &Model,
    options: &DiffOptions,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Diff, DiffError> {
    let mut transforms = Vec::new();
    let ca = pairing::canonical_tensors(a, &options.maps, "a", &mut transforms);
    let cb = pairing::canonical_tensors(b, &options.maps, "b", &mut transforms);
    // Merged tensors of each side cut into the parts the other side stores apart (each against
    // the other side as named, so two merged tensors of one name pair whole).
    let split_a = split::split_merged(ca.clone(), &cb, "a", &mut transforms);
    let cb = split::split_merged(cb, &ca, "b", &mut transforms);
    let ca = split_a;
    let paired = pairing::pair(ca, cb, &mut transforms);
    let done = AtomicU64::new(0);
    let stop = Stop {
        cancel,
        faults_at_start: guard::fault_count(),
        models: [a, b],
    };
    let (release_a, release_b) = (Releaser::new(&a.files), Releaser::new(&b.files));

    let results: Vec<Result<TensorDiff, DiffError>> = paired
        .pairs
        .par_iter()
        .map(|(x, y, renamed)| {
            if stop.now() {
                return Err(DiffError::Cancelled);
            }
            let d = compare_pair(x, y, *renamed, options, &stop);
            // Done with both tensors: their pages leave this process's resident set (they stay
            // in the page cache), so memory stays bounded by the pairs in flight.
            release_a.release(x.view.tensor.file, x.view.byte_range());
            release_b.release(y.view.tensor.file, y.view.byte_range());
            let bytes = (x.view.byte_range().len() + y.view.byte_range().len()) as u64;
            progress(done.fetch_add(bytes, Ordering::Relaxed) + bytes);
            d
        })
        .collect();
    let mut tensors = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    tensors.extend(paired.removed.iter().map(|c| lone(c, Status::Removed)));
    tensors.extend(paired.added.iter().map(|c| lone(c, Status::Added)));

    let mlp = verdict::mlp_pairs(&paired.pairs);
    let lineage = lineage::compute_lineage(&mlp).map_err(|source| DiffError::Decode {
        tensor: "mlp".to_owned(),
        source,
    })?;

    let mut summary = StatusCounts::default();
    for t in &tensors {
        *match t.status {
            Status::Identical => &mut summary.identical,
            Status::Renamed => &mut summary.renamed,
            Status::ReRounded => &mut summary.re_rounded,
            Status::Retyped => &mut summary.retyped,
            Status::Changed => &mut summary.changed,
            Status::Reshaped => &mut summary.reshaped,
            Status::Added => &mut summary.added,
            Status::Removed => &mut summary.removed,
        } += 1;
    }
    let within_tolerance = tensors.iter().all(|t| {
        t.status.is_same()
            || (matches!(
                t.status,
                Status::Changed | Status::ReRounded | Status::Retyped
            ) && t.headline.rel_l2.is_some_and(|r| r <= options.tolerance))
    });
    let layers = verdict::layer_map(&tensors);
    let verdict = verdict::decide(a, b, &tensors, lineage.as_ref());
    Ok(Diff {
        summary,
        tensors,
        layers,
        transforms,
        lineage,
        verdict,
        within_tolerance,
        tolerance: options.tolerance,
    })
}

/// When to stop reading: the caller cancelled, or a file of either model changed under a read
/// (a shrunk file reads as zero pages after the guard's fault, see `crate::model::guard`).
/// [`compute_diff`] then names the changed file rather than reporting a cancellation.
struct Stop<'a> {
    cancel: &'a AtomicBool,
    faults_at_start: u64,
    models: [&'a Model; 2],
}

impl Stop<'_> {
    /// One atomic load per chunk; the files are asked only after a fault somewhere in the process
    /// (another model's fault must not stop this comparison).
    fn now(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
            || (guard::fault_count() != self.faults_at_start
                && self
                    .models
                    .iter()
                    .any(|m| m.files.iter().any(|f| f.changed().is_some())))
    }
}

fn lone(c: &Canonical<'_>, status: Status) -> TensorDiff {
    let t = c.view.tensor;
    let (dtype, shape, file_name) = (
        Some(t.dtype.name()),
        Some(c.view.shape.clone()),
        c.source.clone(),
    );
    let other_name = (file_name != c.name).then_some(file_name);
    let removed = status == Status::Removed;
    TensorDiff {
        name: c.name.clone(),
        name_a: if removed { other_name.clone() } else { None },
        name_b: if removed { None } else { other_name },
        status,
        bytes_identical: None,
        dtype_a: if removed { dtype } else { None },
        dtype_b: if removed { None } else { dtype },
        shape_a: if removed { shape.clone() } else { None },
        shape_b: if removed { None } else { shape },
        layer: layer_of(&c.name).map(|l| l as usize),
        role: role_of(&c.name).short(),
        role_kind: role_of(&c.name),
        numbers: None,
        headline: Headline::default(),
        rank: None,
    }
}

/// Values per parallel job of a pair.
const CHUNK_VALUES: usize = 1 << 20;
/// Values decoded at once inside a job (two f64 buffers of 64 KiB: they stay in L2).
const SUB_CHUNK_VALUES: usize = 8192;

fn compare_pair(
    x: &Canonical<'_>,
    y: &Canonical<'_>,
    renamed: bool,
    options: &DiffOptions,
    stop: &Stop<'_>,
) -> Result<TensorDiff, DiffError> {
    let no_rank = options.no_rank;
    let (ta, tb) = (x.view.tensor, y.view.tensor);
    let (shape_a, shape_b) = (&x.view.shape, &y.view.shape);
    let name_of = |c: &Canonical<'_>| (c.source != y.name).then(|| c.source.clone());
    let mut d = TensorDiff {
        name: y.name.clone(),
        name_a: name_of(x),
        name_b: name_of(y),
        status: Status::Identical,
        bytes_identical: None,
        dtype_a: Some(ta.dtype.name()),
        dtype_b: Some(tb.dtype.name()),
        shape_a: Some(shape_a.clone()),
        shape_b: Some(shape_b.clone()),
        layer: layer_of(&y.name).map(|l| l as usize),
        role: role_of(&y.name).short(),
        role_kind: role_of(&y.name),
        numbers: None,
        headline: Headline::default(),
        rank: None,
    };
    let same_layout = ta.dtype == tb.dtype && shape_a == shape_b;
    let same_bytes =
        same_layout && x.view.is_plain() == y.view.is_plain() && x.view.same_bytes(&y.view);
    if same_bytes && (x.view.is_plain() || x.source == y.source) {
        d.status = if renamed {
            Status::Renamed
        } else {
            Status::Identical
        };
        d.bytes_identical = Some(true);
        return Ok(d);
    }
    let decodable = crate::decode::can_decode(ta.dtype) && crate::decode::can_decode(tb.dtype);
    let comparable_rows = x.view.cols == y.view.cols;
    let reshaped = shape_a != shape_b;
    if !decodable || !comparable_rows {
        d.status = if reshaped {
            Status::Reshaped
        } else if ta.dtype != tb.dtype {
            Status::Retyped
        } else {
            Status::Changed
        };
        return Ok(d);
    }
    let rows = x.view.rows.min(y.view.rows);
    let rounding = (ta.dtype != tb.dtype)
        .then(|| FloatLayout::narrower(ta.dtype, tb.dtype))
        .flatten();
    let wants_rank = !no_rank && !reshaped && ta.dtype == tb.dtype && shape_a.len() == 2;
    let Folded { acc, row_energies } = fold_pair(
        &x.view,
        &y.view,
        rows,
        rounding,
        wants_rank,
        options.exact,
        stop,
    )
    .map_err(|e| match e {
        FoldError::Cancelled => DiffError::Cancelled,
        FoldError::Decode(source) => DiffError::Decode {
            tensor: y.name.clone(),
            source,
        },
    })?;
    let numbers = PairNumbers::from_accum(&acc, rounding);
    let all_equal = acc.equal == acc.count;
    d.status = if reshaped {
        Status::Reshaped
    } else if all_equal {
        if renamed {
            Status::Renamed
        } else {
            Status::Identical
        }
    } else if ta.dtype != tb.dtype {
        let re_rounded = rounding.is_some()
            && acc.within_rounding == acc.finite
            && acc.nan_introduced + acc.inf_introduced == 0;
        if re_rounded {
            Status::ReRounded
        } else if edited_beyond_conversion(&numbers) {
            Status::Changed
        } else {
            Status::Retyped
        }
    } else {
        Status::Changed
    };
    if d.status.is_same() {
        d.bytes_identical = Some(false);
    }
    if d.status == Status::Changed && ta.dtype == tb.dtype && shape_a.len() == 2 && !no_rank {
        let noise_rms = FloatLayout::of(ta.dtype).map_or(0.0, |l| {
            l.unit_roundoff() * numbers.mean_sq_a.sqrt() / 3f64.sqrt()
        });
        d.rank = lowrank::compute_low_rank(
            &x.view,
            &y.view,
            numbers.delta_sq,
            noise_rms,
            row_energies.as_deref(),
        )
        .map_err(|source| DiffError::Decode {
            tensor: y.name.clone(),
            source,
        })?;
    }
    d.headline = Headline {
        rel_l2: numbers.rel_l2,
        sqnr_db: numbers.sqnr_db,
        cosine: numbers.cosine,
        max_abs: numbers.max_abs,
    };
    d.numbers = Some(numbers);
    Ok(d)
}

enum FoldError {
    Cancelled,
    Decode(DecodeError),
}

/// Rows narrower than this are folded a chunk at a time, without row energies (a call per row
/// would cost more than the row).
const ROW_ENERGIES_MIN_COLS: usize = 64;

/// The numbers of a pair, and Σ Δ² of each row when asked for and the rows are wide enough.
struct Folded {
    acc: PairAccum,
    row_energies: Option<Vec<f64>>,
}

/// Folds the first `rows` rows of both views, chunk by chunk in parallel, merged in row order;
/// with `row_energies`, also each row's Σ Δ² (the low-rank gate samples rows by it).
/// Whether a pair of another dtype differs by more than any conversion does: a cosine under 0.5
/// (the coarsest ggml quantisations keep it above 0.8) or a norm off by more than half (a
/// quantisation keeps it within a few per cent). Such a tensor was edited as well as retyped: a
/// tensor replaced or scaled inside a BF16 → F32 conversion is `changed`, not `retyped`.
fn edited_beyond_conversion(numbers: &PairNumbers) -> bool {
    let unaligned = numbers.cosine.is_some_and(|c| c < 0.5);
    let rescaled = verdict::scale_factor(numbers).is_some_and(|f| !(2.0 / 3.0..=1.5).contains(&f));
    unaligned || rescaled
}

fn fold_pair(
    a: &View<'_>,
    b: &View<'_>,
    rows: usize,
    rounding: Option<FloatLayout>,
    row_energies: bool,
    exact: bool,
    stop: &Stop<'_>,
) -> Result<Folded, FoldError> {
    let per = (CHUNK_VALUES / a.cols.max(1)).max(1);
    let starts: Vec<usize> = (0..rows).step_by(per).collect();
    // Same dtype and width on both sides: the stored bytes can be folded directly (`fastfold`).
    let dtype = a.tensor.dtype;
    let same_dtype = rounding.is_none() && dtype == b.tensor.dtype && a.cols == b.cols;
    let by_row = row_energies && a.cols >= ROW_ENERGIES_MIN_COLS;
    let parts: Result<Vec<(PairAccum, Vec<f64>)>, FoldError> = starts
        .par_iter()
        .map(|&r0| {
            if stop.now() {
                return Err(FoldError::Cancelled);
            }
            let r1 = (r0 + per).min(rows);
            let mut acc = PairAccum::new();
            let mut energies = Vec::with_capacity(if by_row { r1 - r0 } else { 0 });
            if same_dtype
                && fastfold::has_fast_path(dtype)
                && let (Some(ba), Some(bb)) = (a.plain_bytes(r0, r1), b.plain_bytes(r0, r1))
            {
                // The histogram copies stay in one scratch across the chunk's calls (one per
                // row, or one for the chunk), flushed once.
                let mut scratch = fastfold::FoldScratch::for_pair((rows * a.cols) as u64, exact);
                let first = (r0 * a.cols) as u64;
                if by_row {
                    let row_bytes = ba.len() / (r1 - r0);
                    for (i, (ra, rb)) in ba
                        .chunks_exact(row_bytes)
                        .zip(bb.chunks_exact(row_bytes))
                        .enumerate()
                    {
                        let at = first + (i * a.cols) as u64;
                        let dd =
                            fastfold::add_same_dtype(&mut acc, &mut scratch, dtype, ra, rb, at);
                        energies.push(dd.unwrap_or(0.0));
                    }
                } else {
                    fastfold::add_same_dtype(&mut acc, &mut scratch, dtype, ba, bb, first);
                }
                scratch.flush_into(&mut acc);
                a.release_rows_batched(r0, r1);
                b.release_rows_batched(r0, r1);
                return Ok((acc, energies));
            }
            // Decoded a few rows at a time into reused buffers that stay in the core's cache.
            let step = (SUB_CHUNK_VALUES / a.cols.max(1)).max(1);
            let (mut va, mut vb) = (Vec::new(), Vec::new());
            for s0 in (r0..r1).step_by(step) {
                let s1 = (s0 + step).min(r1);
                va.clear();
                vb.clear();
                a.read_rows(s0, s1, &mut va).map_err(FoldError::Decode)?;
                b.read_rows(s0, s1, &mut vb).map_err(FoldError::Decode)?;
                // Both views hold the same rows of the same width, so the lengths agree unless
                // one type decodes to two values per element (`C64`): compare what both hold.
                let n = va.len().min(vb.len());
                acc.add(&va[..n], &vb[..n], rounding);
                if by_row {
                    let width = n / (s1 - s0);
                    for (ra, rb) in va[..n].chunks_exact(width).zip(vb[..n].chunks_exact(width)) {
                        energies.push(fastfold::finite_delta_sq(ra, rb));
                    }
                }
            }
            a.release_rows_batched(r0, r1);
            b.release_rows_batched(r0, r1);
            Ok((acc, energies))
        })
        .collect();
    let mut total = PairAccum::new();
    let mut energies = Vec::with_capacity(if by_row { rows } else { 0 });
    for (p, e) in parts? {
        total.merge(&p);
        energies.extend(e);
    }
    Ok(Folded {
        acc: total,
        row_energies: (by_row && energies.len() == rows).then_some(energies),
    })
}

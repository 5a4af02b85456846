//! The statistics report (`glassbox stats`): what the statistics engine measured, per tensor, per
//! repeated block and for everything shown, with the findings.
//!
//! [`StatsReport::new`] takes what the engine returns for the selected tensors — one
//! [`TensorStats`] each, in the same order, and the findings — orders the rows
//! ([`StatisticOrder`]) and aggregates them ([`GroupStats::of`], blocks by
//! [`crate::model::naming::block_of`], the one definition of a layer).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ModelObject, SCHEMA_VERSION, TensorRow};
use crate::finding::Finding;
use crate::model::naming::block_of;
use crate::model::sort::natural_cmp;
use crate::model::{Model, TensorInfo};
use crate::stats::TensorStats;
use crate::stats::aggregate::GroupStats;

/// Everything `glassbox stats` shows. Its serde form is the `glassbox stats --format json`
/// document.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub schema_version: u32,
    pub model: ModelObject,
    /// The measured tensors in display order, each with its statistics.
    pub tensors: Vec<StatsRow>,
    /// Aggregates per repeated block, in natural order of block names.
    pub blocks: Vec<BlockStats>,
    /// The aggregate of every floating-point tensor shown: the weights. Integer and boolean
    /// buffers (`position_ids`, masks, token type ids) are not weights and would distort it (the
    /// position ids of a BERT encoder made its "max" 511), so they are in `buffers`.
    pub total: GroupStats,
    /// The aggregate of the integer and boolean tensors shown (`tensors: 0` when there are none).
    pub buffers: GroupStats,
    /// What the statistics found suspicious ([`crate::stats::find_anomalies`]).
    pub findings: Vec<Finding>,
}

/// One measured tensor: its table row and its statistics.
#[derive(Debug, Clone, Serialize)]
pub struct StatsRow {
    #[serde(flatten)]
    pub tensor: TensorRow,
    pub stats: TensorStats,
}

/// The aggregate of one repeated block (`model.layers.3`).
#[derive(Debug, Clone, Serialize)]
pub struct BlockStats {
    pub block: String,
    #[serde(flatten)]
    pub stats: GroupStats,
}

/// The order of a statistics report's rows: the selection's own (by name, size or offset, see
/// [`crate::model::sort::TensorOrder`]) or a statistic, largest first, ties keeping the
/// selection's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatisticOrder {
    /// As selected.
    #[default]
    Selection,
    Mean,
    Std,
    AbsMax,
    /// Share of zeros.
    Zeros,
    /// NaN + Inf count.
    NonFinite,
}

impl StatisticOrder {
    /// The sort key (larger first); absent statistics sort last.
    fn key(self, s: &TensorStats) -> f64 {
        match self {
            StatisticOrder::Selection => 0.0,
            StatisticOrder::Mean => s.mean.unwrap_or(f64::NEG_INFINITY),
            StatisticOrder::Std => s.std.unwrap_or(f64::NEG_INFINITY),
            StatisticOrder::AbsMax => s.abs_max.unwrap_or(f64::NEG_INFINITY),
            StatisticOrder::Zeros => s.zeros as f64 / s.count.max(1) as f64,
            StatisticOrder::NonFinite => (s.nan + s.inf) as f64,
        }
    }
}

/// Sorts `(item, statistics)` pairs by `order`, largest first; stable, so ties (and
/// [`StatisticOrder::Selection`]) keep the given order.
pub fn sort_by_statistic<T>(rows: &mut [(T, TensorStats)], order: StatisticOrder) {
    rows.sort_by(|a, b| order.key(&b.1).total_cmp(&order.key(&a.1)));
}

impl StatsReport {
    /// The report on `selected` tensors of `model`, whose statistics `stats` are in the same
    /// order, with the engine's `findings`; rows ordered by `order`.
    pub fn new(
        model: &Model,
        selected: &[&TensorInfo],
        stats: Vec<TensorStats>,
        findings: Vec<Finding>,
        order: StatisticOrder,
    ) -> StatsReport {
        debug_assert_eq!(selected.len(), stats.len());
        let mut rows: Vec<(&TensorInfo, TensorStats)> =
            selected.iter().copied().zip(stats).collect();
        sort_by_statistic(&mut rows, order);
        // Aggregates merge in display order, as the rows are shown.
        let (blocks, total, buffers) = aggregate(&rows);
        StatsReport {
            schema_version: SCHEMA_VERSION,
            model: ModelObject::new(model),
            tensors: rows
                .into_iter()
                .map(|(t, stats)| StatsRow {
                    tensor: TensorRow::new(model, t),
                    stats,
                })
                .collect(),
            blocks,
            total,
            buffers,
            findings,
        }
    }
}

/// Aggregates of the floating-point rows per block (natural order of block names) and over all,
/// and the aggregate of the integer and boolean rows.
fn aggregate(rows: &[(&TensorInfo, TensorStats)]) -> (Vec<BlockStats>, GroupStats, GroupStats) {
    let mut blocks: BTreeMap<&str, Vec<&TensorStats>> = BTreeMap::new();
    let weights = || rows.iter().filter(|(t, _)| t.dtype.is_float());
    for (t, s) in weights() {
        if let Some(b) = block_of(&t.name) {
            blocks.entry(b).or_default().push(s);
        }
    }
    let mut out: Vec<BlockStats> = blocks
        .into_iter()
        .map(|(b, s)| BlockStats {
            block: b.to_owned(),
            stats: GroupStats::of(s),
        })
        .collect();
    out.sort_by(|a, b| natural_cmp(&a.block, &b.block));
    let total = GroupStats::of(weights().map(|(_, s)| s));
    let buffers = GroupStats::of(
        rows.iter()
            .filter(|(t, _)| !t.dtype.is_float())
            .map(|(_, s)| s),
    );
    (out, total, buffers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(mean: Option<f64>, zeros: u64, count: u64, nan: u64) -> TensorStats {
        TensorStats {
            count,
            finite: count - nan,
            mean,
            std: None,
            min: None,
            max: None,
            abs_max: mean.map(f64::abs),
            l2_norm: None,
            zeros,
            nan,
            inf: 0,
            p1: None,
            p50: None,
            p99: None,
            histogram: None,
            outliers: 0,
            outlier_sigmas: 6.0,
            exact_distribution: true,
            distribution: crate::stats::Distribution::Exact,
            dead_rows: None,
            dead_columns: None,
        }
    }

    fn order_of(order: StatisticOrder) -> Vec<&'static str> {
        let mut rows = vec![
            ("a", with(Some(1.0), 0, 10, 0)),
            ("b", with(None, 5, 10, 2)),
            ("c", with(Some(-3.0), 1, 10, 0)),
            ("d", with(Some(1.0), 5, 10, 0)),
        ];
        sort_by_statistic(&mut rows, order);
        rows.into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn rows_sort_largest_first_absent_last_ties_in_given_order() {
        assert_eq!(order_of(StatisticOrder::Selection), ["a", "b", "c", "d"]);
        assert_eq!(order_of(StatisticOrder::Mean), ["a", "d", "c", "b"]);
        assert_eq!(order_of(StatisticOrder::AbsMax), ["c", "a", "d", "b"]);
        assert_eq!(order_of(StatisticOrder::Zeros), ["b", "d", "c", "a"]);
        assert_eq!(order_of(StatisticOrder::NonFinite), ["b", "a", "c", "d"]);
    }
}

//! Data derived from the state, rebuilt by `App::settle` only when its inputs change: statistics
//! of each tree node's tensors so far, the visible rows (filter and sort), and the Layers tab's
//! layer × column grid of one statistic. The renderer only reads these.

use std::cmp::Ordering;

use super::app::{App, LayerStat, SortKey, StatState};
use super::data::{ModelView, TensorView};
use super::tree::{NodeKind, Row, Tree};
use crate::model::sort::{NameFilter, natural_cmp};
use crate::stats::aggregate::GroupStats;
use crate::stats::siblings::{MIN_SIBLINGS, median, theil_sen_line};

/// Statistics of a node's measured tensors, and how many are still pending.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// `None` until at least one tensor is measured.
    pub stats: Option<GroupStats>,
    pub outliers: u64,
    pub pending: usize,
}

impl Aggregate {
    fn of(tensors: &[usize], stats: &[StatState]) -> Aggregate {
        let ready = || {
            tensors.iter().filter_map(|&t| match &stats[t] {
                StatState::Ready(s) => Some(&**s),
                _ => None,
            })
        };
        let pending = tensors
            .iter()
            .filter(|&&t| stats[t] == StatState::Pending)
            .count();
        let any = ready().next().is_some();
        Aggregate {
            outliers: ready().map(|s| s.outliers).sum(),
            stats: any.then(|| GroupStats::of(ready())),
            pending,
        }
    }

    /// The share of zeros among the values measured.
    pub fn zeros(&self) -> Option<f64> {
        self.stats
            .as_ref()
            .filter(|g| g.count > 0)
            .map(|g| g.zeros as f64 / g.count as f64)
    }
}

/// One aggregate per tree node. A group's statistics are over its floating-point weights, as the
/// command line's totals are: an integer buffer (`position_ids`, 0 … 511) beside an embedding would
/// make the group's max 511. A group of buffers only is aggregated as it is.
pub fn aggregates(tree: &Tree, stats: &[StatState], tensors: &[TensorView]) -> Vec<Aggregate> {
    tree.nodes
        .iter()
        .map(|n| {
            let floats: Vec<usize> = n
                .tensors
                .iter()
                .copied()
                .filter(|&t| tensors[t].float)
                .collect();
            Aggregate::of(
                if floats.is_empty() {
                    &n.tensors
                } else {
                    &floats
                },
                stats,
            )
        })
        .collect()
}

/// The visible rows of the tree for the app's filter and sort.
pub fn rows(app: &App) -> Vec<Row> {
    let filter = (!app.filter.is_empty()).then(|| NameFilter::new(&app.filter));
    let nodes = &app.tree.nodes;
    let keep = filter.as_ref().map(|f| {
        move |i: usize| match nodes[i].kind {
            NodeKind::Tensor(_) | NodeKind::Meta(_) => f.matches(&nodes[i].path),
            _ => false,
        }
    });
    let keep_dyn: Option<&dyn Fn(usize) -> bool> =
        keep.as_ref().map(|k| k as &dyn Fn(usize) -> bool);
    let stat = |i: usize| -> Option<f64> {
        let a = app.aggregates.get(i)?;
        let g = a.stats.as_ref()?;
        match app.sort {
            SortKey::Std => g.std,
            SortKey::AbsMax => g.abs_max,
            SortKey::Zeros => a.zeros(),
            SortKey::Name | SortKey::Size => None,
        }
    };
    let cmp = |a: usize, b: usize| -> Ordering {
        let by_name = natural_cmp(&nodes[a].label, &nodes[b].label);
        match app.sort {
            SortKey::Name => by_name,
            SortKey::Size => nodes[b].bytes.cmp(&nodes[a].bytes).then(by_name),
            // Largest first; pending last.
            _ => match (stat(a), stat(b)) {
                (Some(x), Some(y)) => y.total_cmp(&x).then(by_name),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => by_name,
            },
        }
    };
    app.tree.rows(keep_dyn, &cmp)
}

/// Tensors of each layer × column of the main stack.
pub fn layer_cells(view: &ModelView) -> Vec<Vec<Vec<usize>>> {
    let map = &view.layers;
    let mut cells = vec![vec![Vec::new(); map.columns.len()]; map.layers.len()];
    for (i, t) in view.tensors.iter().enumerate() {
        if let (Some(layer), Some(col)) = (t.layer, t.column)
            && let Ok(row) = map.layers.binary_search(&layer)
        {
            cells[row][col].push(i);
        }
    }
    cells
}

/// One statistic per layer × column, with each cell's expected value from its column's trend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerGrid {
    pub stat: Option<LayerStat>,
    /// `[layer][column]`: `None` while any of the cell's tensors is pending (or it has none).
    pub values: Vec<Vec<Option<f64>>>,
    /// `[layer][column]`: what the cell's value is compared with, its column's trend across
    /// depth (see `expected_values`).
    pub expected: Vec<Vec<Option<f64>>>,
    /// Per column: the robust spread of its cells around the trend (1.4826 × the median absolute
    /// deviation of ln(value / expected)), 0 for a column judged by its median.
    pub spread: Vec<f64>,
    /// The cell furthest from its expected value (by ratio), when any differs.
    pub most_unusual: Option<Unusual>,
}

/// A cell of the grid far from its expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unusual {
    /// Row index into the grid (and `LayerMap::layers`).
    pub row: usize,
    pub column: usize,
    pub value: f64,
    /// Its column's trend at its depth.
    pub expected: f64,
}

impl Unusual {
    /// How far from the expected value, as |log2(value / expected)|: 1 is twice or half.
    pub fn distance(&self) -> f64 {
        ratio_distance(self.value, self.expected)
    }
}

/// Distances (|log2 ratio|) below this, about ±10%, are the ordinary spread between layers.
pub const ORDINARY: f64 = 0.15;
/// Beyond this, about ±40%, a cell is far off.
pub const FAR: f64 = 0.5;

fn ratio_distance(value: f64, median: f64) -> f64 {
    (value / median).log2().abs()
}

pub fn layer_grid(cells: &[Vec<Vec<usize>>], stats: &[StatState], stat: LayerStat) -> LayerGrid {
    let values: Vec<Vec<Option<f64>>> = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|tensors| {
                    let a = Aggregate::of(tensors, stats);
                    if a.pending > 0 || tensors.is_empty() {
                        return None;
                    }
                    let g = a.stats.as_ref()?;
                    match stat {
                        LayerStat::Std => g.std,
                        LayerStat::AbsMax => g.abs_max,
                        LayerStat::L2Norm => g.l2_norm,
                        LayerStat::Zeros => a.zeros(),
                        LayerStat::Outliers => Some(a.outliers as f64),
                    }
                })
                .collect()
        })
        .collect();
    let columns = cells.first().map_or(0, Vec::len);
    let (expected, spread) = expected_values(&values, columns);
    let mut most_unusual: Option<Unusual> = None;
    for (row, cells) in values.iter().enumerate() {
        for (column, value) in cells.iter().enumerate() {
            let (Some(value), Some(expected)) = (*value, expected[row][column]) else {
                continue;
            };
            // Ratios need positive values (zeros and outlier counts are often 0).
            if value <= 0.0 || expected <= 0.0 {
                continue;
            }
            let cell = Unusual {
                row,
                column,
                value,
                expected,
            };
            if cell.distance() >= ORDINARY
                && cell.distance() > most_unusual.map_or(0.0, |u| u.distance())
            {
                most_unusual = Some(cell);
            }
        }
    }
    LayerGrid {
        stat: Some(stat),
        values,
        expected,
        spread,
        most_unusual,
    }
}

/// Each cell's expected value: its column's trend across depth, a Theil–Sen line through the
/// logarithms of the column's positive values (real models' spreads grow or shrink smoothly with
/// depth, and a flat median paints a whole healthy norm column red), as the `unlike_siblings`
/// finding judges a tensor. With fewer than four positive values, the column's median. Also
/// each column's spread around it.
fn expected_values(
    values: &[Vec<Option<f64>>],
    columns: usize,
) -> (Vec<Vec<Option<f64>>>, Vec<f64>) {
    let mut out = vec![vec![None; columns]; values.len()];
    let mut spread = vec![0.0; columns];
    for c in 0..columns {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(r, row)| row[c].filter(|v| *v > 0.0).map(|v| (r as f64, v.ln())))
            .collect();
        if points.len() >= MIN_SIBLINGS {
            let (a, b) = theil_sen_line(&points);
            for (r, row) in out.iter_mut().enumerate() {
                row[c] = Some((a + b * r as f64).exp());
            }
            let residual: Vec<f64> = points.iter().map(|(x, y)| y - (a + b * x)).collect();
            let centre = median(residual.clone());
            spread[c] = 1.4826 * median(residual.iter().map(|r| (r - centre).abs()).collect());
        } else {
            let known: Vec<f64> = values.iter().filter_map(|r| r[c]).collect();
            let median = (!known.is_empty()).then(|| median(known));
            for row in out.iter_mut() {
                row[c] = median;
            }
        }
    }
    (out, spread)
}

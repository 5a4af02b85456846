//! The small enums the TUI's state chooses between: the tab, a tensor's statistics state, the
//! tree's sort order and the Layers tab's statistic.

use crate::stats::TensorStats;

/// The tabs, in key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Tensors,
    Layers,
    Transparency,
    /// Only when the TUI was opened on two models (`glassbox A B`).
    Diff,
}

impl Tab {
    /// The tabs of a single model, in key order; `App::tabs` adds Diff for two.
    pub const SINGLE: [Tab; 4] = [Tab::Overview, Tab::Tensors, Tab::Layers, Tab::Transparency];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Tensors => "Tensors",
            Tab::Layers => "Layers",
            Tab::Transparency => "Transparency",
            Tab::Diff => "Diff",
        }
    }
}

/// The statistics of one tensor as the screens know them.
#[derive(Debug, Clone, PartialEq)]
pub enum StatState {
    /// Not computed yet: drawn as pending, never as zero.
    Pending,
    Ready(Box<TensorStats>),
    /// Read, but its values are not decoded (a type without a decoder): nothing to show.
    NotMeasured,
}

/// The tree's sort orders, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Std,
    AbsMax,
    Zeros,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Std => "std",
            SortKey::AbsMax => "abs max",
            SortKey::Zeros => "zeros",
        }
    }

    pub(super) fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Size,
            SortKey::Size => SortKey::Std,
            SortKey::Std => SortKey::AbsMax,
            SortKey::AbsMax => SortKey::Zeros,
            SortKey::Zeros => SortKey::Name,
        }
    }
}

/// The statistic plotted in the Layers tab, cycled with `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerStat {
    Std,
    AbsMax,
    L2Norm,
    Zeros,
    Outliers,
}

impl LayerStat {
    pub fn label(self) -> &'static str {
        match self {
            LayerStat::Std => "std",
            LayerStat::AbsMax => "abs max",
            LayerStat::L2Norm => "L2 norm",
            LayerStat::Zeros => "zeros (share)",
            LayerStat::Outliers => "outliers",
        }
    }

    pub(super) fn next(self) -> LayerStat {
        match self {
            LayerStat::Std => LayerStat::AbsMax,
            LayerStat::AbsMax => LayerStat::L2Norm,
            LayerStat::L2Norm => LayerStat::Zeros,
            LayerStat::Zeros => LayerStat::Outliers,
            LayerStat::Outliers => LayerStat::Std,
        }
    }
}

//! Where each part of the screen goes, for a terminal of a given size. The renderer draws into these
//! rectangles and `update` reads them to map a mouse click to a row and to know how many rows a
//! page holds, so both always agree.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen says the terminal is too small instead of drawing.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub fn screen(area: Rect) -> Screen {
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Screen {
        header,
        tabs,
        body,
        footer,
    }
}

/// The Tensors tab: the tree (a bordered table) and the detail pane.
pub fn tensors(body: Rect) -> (Rect, Rect) {
    let [tree, detail] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
    (tree, detail)
}

/// The rows of the tree table: inside the border, below the column header.
/// The Layers tab: the chart over the layer × role grid, half the body each.
pub fn layers(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body)
}

/// How many layers the grid shows at once (its height less the borders and the header).
pub fn layer_rows(grid: Rect) -> usize {
    usize::from(grid.height.saturating_sub(3)).max(1)
}

pub fn tree_rows(tree: Rect) -> Rect {
    let inner = tree.inner(ratatui::layout::Margin::new(1, 1));
    Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    }
}

/// Rows of the tree visible in a terminal of `width` × `height`.
pub fn tree_page(width: u16, height: u16) -> usize {
    let area = Rect::new(0, 0, width, height);
    let (tree, _) = tensors(screen(area).body);
    usize::from(tree_rows(tree).height).max(1)
}

/// The Overview tab's panes: on the left the architecture facts, the checks table and the
/// findings; on the right the parameter bars, the memory estimate and the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overview {
    pub facts: Rect,
    pub checks: Rect,
    pub findings: Rect,
    pub components: Rect,
    pub memory: Rect,
    pub files: Rect,
}

/// How many lines the Overview's panes hold, for [`overview`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewLines {
    pub facts: usize,
    /// Rows of the checks table.
    pub checks: usize,
    /// Findings and notes together.
    pub findings: usize,
    pub components: usize,
    /// Whether the active-parameters line (two lines: it wraps) follows the bars.
    pub active: bool,
    pub memory: usize,
}

/// The Overview's panes in `body`. The bars and memory take what they need; on the left the
/// findings up to 10 lines, the facts what they need as long as the checks table keeps three rows
/// (on a short terminal the facts are cut, not the checks, where contradictions show), and the
/// checks table the rest (it scrolls when that is too little).
pub fn overview(body: Rect, lines: OverviewLines) -> Overview {
    let [left, right] = overview_columns(body);
    let height = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let findings_height = height(lines.findings.clamp(1, 10)) + 2;
    // Borders and the column header around three rows (fewer when there are fewer checks).
    let checks_least = height(lines.checks.min(3)).saturating_add(3);
    let facts_height = height(lines.facts).saturating_add(3).min(
        left.height
            .saturating_sub(findings_height)
            .saturating_sub(checks_least)
            .max(3),
    );
    // The checks table takes the height it needs; what is left goes to the findings, whose lines
    // wrap (a sibling finding is two or three lines) — unless there is at most one finding,
    // when the checks keep the rest.
    let checks_fit = height(lines.checks).saturating_add(3).max(4);
    let [facts, checks, findings] = if lines.findings > 1 {
        Layout::vertical([
            Constraint::Length(facts_height),
            Constraint::Length(checks_fit),
            Constraint::Min(findings_height),
        ])
        .areas(left)
    } else {
        Layout::vertical([
            Constraint::Length(facts_height),
            Constraint::Min(4),
            Constraint::Length(findings_height),
        ])
        .areas(left)
    };
    let bars_height = height(lines.components)
        .saturating_add(2)
        .saturating_add(2 * u16::from(lines.active));
    let [components, memory, files] = Layout::vertical([
        Constraint::Length(bars_height),
        Constraint::Length(height(lines.memory).saturating_add(2)),
        Constraint::Min(3),
    ])
    .areas(right);
    Overview {
        facts,
        checks,
        findings,
        components,
        memory,
        files,
    }
}

/// The Overview's two columns: facts, checks and findings; bars, memory and files.
pub fn overview_columns(body: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body)
}

/// The lines `text` takes when wrapped at word boundaries to `width` columns after `indent`
/// columns already used on its first line (a padded label), at least one.
pub fn wrapped_lines(indent: usize, text: &str, width: u16) -> usize {
    let width = usize::from(width.max(1));
    let (mut lines, mut used) = (1, indent.min(width));
    for (i, word) in text.split_whitespace().enumerate() {
        let len = word.chars().count();
        let need = if i == 0 || used == 0 {
            used + len
        } else {
            used + 1 + len
        };
        if need <= width {
            used = need;
        } else {
            // On a line of its own (a new one unless this one is still empty), broken if longer.
            lines += usize::from(used > 0) + len.saturating_sub(1) / width;
            used = (len - 1) % width + 1;
        }
    }
    lines
}

/// The rows of the checks table: inside the border, below the column header.
pub fn checks_rows(checks: Rect) -> Rect {
    tree_rows(checks)
}

/// The tab under column `x` of the tabs line, given the titles as drawn (`1 Overview` …): each
/// title is padded by one space on both sides and followed by a one-space divider, as `ui` draws
/// them.
pub fn tab_at(titles: &[String], tabs: Rect, x: u16) -> Option<usize> {
    let mut start = tabs.x;
    for (i, title) in titles.iter().enumerate() {
        let width = title.chars().count() as u16 + 2;
        if (start..start + width).contains(&x) {
            return Some(i);
        }
        start += width + 1;
    }
    None
}

/// The Diff tab's panes: the layer × role map beside the list of changed tensors, and below them
/// the selected pair side by side beside the histogram of its |Δ|.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffPanes {
    /// The verdict sentence, wrapped (the header has room for its kind only).
    pub verdict: Rect,
    pub map: Rect,
    pub list: Rect,
    pub detail: Rect,
    pub histogram: Rect,
}

/// Lines the Diff tab's detail pane holds (its border included).
pub const DIFF_DETAIL_HEIGHT: u16 = 12;

/// Lines of the Diff tab's verdict (a long verdict, naming edited tensors, takes two at 200
/// columns).
pub const DIFF_VERDICT_HEIGHT: u16 = 2;

pub fn diff(body: Rect) -> DiffPanes {
    let [verdict, body] = Layout::vertical([
        Constraint::Length(DIFF_VERDICT_HEIGHT.min(body.height.saturating_sub(8))),
        Constraint::Min(0),
    ])
    .areas(body);
    // The detail keeps its lines; on a short terminal the map and the list give way first, down
    // to three rows each.
    let detail_height = DIFF_DETAIL_HEIGHT.min(body.height.saturating_sub(6));
    let [top, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail_height)]).areas(body);
    let [map, list] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    let [detail, histogram] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom);
    DiffPanes {
        verdict,
        map,
        list,
        detail,
        histogram,
    }
}

/// Width of the map's layer labels (`other` is the longest).
pub const DIFF_LABEL_WIDTH: usize = 5;

/// Width of one map cell for `columns` roles: as wide as the pane allows, from two characters
/// (colour only) to five (a rel_l2 like `.097`).
pub fn diff_cell_width(map: Rect, columns: usize) -> usize {
    (usize::from(map.width.saturating_sub(9)) / columns.max(1))
        .saturating_sub(1)
        .clamp(2, 5)
}

/// The Transparency tab's panes: the headline (counts, licence, openness), the items table and
/// the selected item's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransparencyPanes {
    pub headline: Rect,
    pub table: Rect,
    pub detail: Rect,
}

pub fn transparency(body: Rect) -> TransparencyPanes {
    let detail_height = match body.height {
        28.. => 10,
        18.. => 7,
        _ => 5,
    };
    let [headline, table, detail] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(detail_height),
    ])
    .areas(body);
    TransparencyPanes {
        headline,
        table,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::wrapped_lines;

    #[test]
    fn wrapped_lines_count_the_label_and_break_at_words() {
        // 15 columns of label, then 58 of text: 73 > 70 wraps once, as ratatui draws it.
        let why = "none: unknown architecture: not known to be autoregressive";
        assert_eq!(wrapped_lines(15, why, 70), 2);
        assert_eq!(wrapped_lines(15, why, 73), 1);
        assert_eq!(wrapped_lines(0, "", 10), 1);
        // A word longer than the width takes the lines it needs.
        assert_eq!(wrapped_lines(0, "abcdefghijklmnopqrstuvwxy", 10), 3);
    }
}

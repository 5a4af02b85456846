//! What depends on the screen's geometry, kept apart from the key handling of [`super::app`]:
//! mouse clicks and the wheel, how many rows a page key moves in each tab, and the paging of the
//! Overview's checks table. Everything reads [`super::layout`], as the renderer does, so a click
//! lands on the row drawn under it.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::{App, Tab};
use super::layout;
use super::transparency_tab::TransparencyTab;

impl App {
    /// A click on a tab title opens it; a click on a tree row selects it (a second click toggles
    /// it); the wheel moves like `j`/`k` three times.
    pub(super) fn mouse(&mut self, mouse: MouseEvent) {
        if self.help {
            return;
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let tabs = layout::screen(area).tabs;
        if mouse.kind == MouseEventKind::Down(MouseButton::Left) && mouse.row == tabs.y {
            if let Some(i) = layout::tab_at(&self.tab_titles(), tabs, mouse.column) {
                self.tab = self.tabs()[i];
            }
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Diff => {
                self.click_diff(Position::new(mouse.column, mouse.row));
            }
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Transparency => {
                self.click_transparency(Position::new(mouse.column, mouse.row));
            }
            _ if self.tab != Tab::Tensors => {}
            MouseEventKind::Down(MouseButton::Left) => {
                let area = Rect::new(0, 0, self.size.0, self.size.1);
                let (tree, _) = layout::tensors(layout::screen(area).body);
                let rows = layout::tree_rows(tree);
                if rows.contains(Position::new(mouse.column, mouse.row)) {
                    let at = self.scroll + usize::from(mouse.row - rows.y);
                    if at < self.rows.len() {
                        if at == self.selected {
                            self.set_expanded(None);
                        }
                        self.selected = at;
                    }
                }
            }
            _ => {}
        }
    }

    /// Rows a page key moves in the current tab.
    pub(super) fn page(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let body = layout::screen(area).body;
        match self.tab {
            Tab::Diff => usize::from(layout::tree_rows(layout::diff(body).list).height).max(1),
            Tab::Transparency => {
                usize::from(layout::transparency(body).table.height.saturating_sub(3)).max(1)
            }
            _ => layout::tree_page(self.size.0, self.size.1),
        }
    }

    /// How many lines each Overview pane holds, for [`layout::overview`].
    pub fn overview_lines(&self) -> layout::OverviewLines {
        let findings = self.model_findings.as_ref().map_or(1, |f| f.len().max(1));
        layout::OverviewLines {
            facts: self.view.facts.len(),
            checks: self.view.checks.len(),
            findings: findings.saturating_add(self.view.notes.len()),
            components: self.view.components.len(),
            active: self.view.active.is_some(),
            memory: self.memory_lines(),
        }
    }

    /// The memory pane's lines as drawn: a long value (why there is no KV cache) wraps.
    fn memory_lines(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let [_, right] = layout::overview_columns(layout::screen(area).body);
        let inner = right.width.saturating_sub(2);
        let key = self
            .view
            .memory
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        self.view
            .memory
            .iter()
            .map(|(_, v)| layout::wrapped_lines(key, v, inner))
            .sum()
    }

    /// Rows of the checks table visible at the current size (at least one).
    pub fn checks_page(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let panes = layout::overview(layout::screen(area).body, self.overview_lines());
        usize::from(layout::checks_rows(panes.checks).height).max(1)
    }

    /// The first checks row to show: the scroll position, kept so the last page stays full.
    pub fn checks_offset(&self) -> usize {
        let last_page_start = self.view.checks.len().saturating_sub(self.checks_page());
        self.checks_scroll.min(last_page_start)
    }

    /// Pages the checks table by `pages` (a page less one row, so one row stays in view).
    pub(super) fn scroll_checks(&mut self, pages: isize) {
        let step = self.checks_page().saturating_sub(1).max(1);
        let offset = self.checks_offset();
        let last_page_start = self.view.checks.len().saturating_sub(self.checks_page());
        self.checks_scroll = offset
            .saturating_add_signed(pages.saturating_mul(step as isize))
            .min(last_page_start);
    }

    /// A click on a changed tensor selects it; on a map cell, the cell's largest change.
    fn click_diff(&mut self, at: Position) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let panes = layout::diff(layout::screen(area).body);
        let Some(d) = &mut self.diff else { return };
        let Some(view) = d.view() else { return };
        let list = layout::tree_rows(panes.list);
        let map = layout::tree_rows(panes.map);
        let selected = if list.contains(at) {
            Some(d.scroll + usize::from(at.y - list.y)).filter(|&i| i < view.changed.len())
        } else if map.contains(at) {
            let row = d.map_scroll + usize::from(at.y - map.y);
            let width = layout::diff_cell_width(panes.map, view.columns.len());
            // The layer label and its spacing, then one cell and one space per column.
            let x = usize::from(at.x - map.x);
            let column = x
                .checked_sub(layout::DIFF_LABEL_WIDTH + 1)
                .map(|x| x / (width + 1));
            column.and_then(|c| view.in_cell((row, c)).next())
        } else {
            None
        };
        if let Some(i) = selected {
            d.selected = i;
        }
    }

    /// A click on an item selects it (group titles are not items).
    fn click_transparency(&mut self, at: Position) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let table = layout::tree_rows(layout::transparency(layout::screen(area).body).table);
        let tab = &mut self.transparency;
        let Some(report) = tab.report() else { return };
        if table.contains(at)
            && let Some(i) =
                TransparencyTab::item_at(report, tab.scroll + usize::from(at.y - table.y))
        {
            tab.selected = i;
        }
    }
}

//! The Transparency tab's state: the [`TransparencyReport`] once its background thread has built
//! it (the model card, licence and tokenizer files are read off the UI thread, and the files are
//! not hashed here), and the selected item.
//!
//! The table shows the items grouped A–K, a title row before each group; the selection counts
//! items only, and [`TransparencyTab::display_row`] maps it to its row on screen.

use crate::transparency::TransparencyReport;

/// Where the report is.
#[derive(Debug, Clone, Default)]
pub enum ReportState {
    /// Being built (reading the side files).
    #[default]
    Pending,
    Ready(Box<TransparencyReport>),
    /// The build failed (a panic's message): the tab says so, the rest of the TUI goes on.
    Failed(String),
}

/// The Transparency tab.
#[derive(Debug, Clone, Default)]
pub struct TransparencyTab {
    pub state: ReportState,
    /// Index into the report's items.
    pub selected: usize,
    /// First display row shown.
    pub scroll: usize,
}

impl TransparencyTab {
    pub fn report(&self) -> Option<&TransparencyReport> {
        match &self.state {
            ReportState::Ready(r) => Some(r),
            _ => None,
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let Some(report) = self.report() else { return };
        let last = report.items.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// The display row of item `index`: its position plus one title row per group up to its own.
    pub fn display_row(report: &TransparencyReport, index: usize) -> usize {
        let mut row = 0;
        let mut group = None;
        for (i, item) in report.items.iter().enumerate() {
            if group != Some(item.group) {
                group = Some(item.group);
                row += 1;
            }
            if i == index {
                return row;
            }
            row += 1;
        }
        row
    }

    /// The item on display row `row`, `None` on a group's title or past the end.
    pub fn item_at(report: &TransparencyReport, row: usize) -> Option<usize> {
        (0..report.items.len()).find(|&i| Self::display_row(report, i) == row)
    }

    /// Keeps the selected item (and its group's title when it is the group's first) in a page of
    /// `page` rows.
    pub fn keep_in_view(&mut self, page: usize) {
        let Some(report) = self.report().filter(|r| self.selected < r.items.len()) else {
            return;
        };
        let page = page.max(1);
        let row = Self::display_row(report, self.selected);
        let first_of_group = self.selected == 0
            || report.items[self.selected - 1].group != report.items[self.selected].group;
        if row < self.scroll {
            self.scroll = row;
        } else if row >= self.scroll + page {
            self.scroll = row + 1 - page;
        }
        // The group's title too, when the page has room for both.
        let title = row.saturating_sub(1);
        if first_of_group && title < self.scroll && row + 1 - title <= page {
            self.scroll = title;
        }
    }
}

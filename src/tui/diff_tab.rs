//! The Diff tab's state (present only when the TUI was opened on two models): the comparison's
//! progress, then its [`DiffView`], and the selection — one changed tensor, which is both the
//! list's selected row and the map's cursor (its cell), so the two never disagree.
//!
//! Moving in the list (`j`/`k`, pages, `g`/`G`) moves the cursor to the tensor's cell; moving in
//! the map (`h`/`l` across roles, `J`/`K` across layers) jumps between cells that hold a changed
//! tensor and selects the largest change in the cell reached. Pure state: no I/O, no clock.

use super::diff_view::DiffView;

/// Where the comparison is.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffState {
    /// Running on its own thread: bytes read of both models so far, of `total`.
    Running {
        done: u64,
        total: u64,
    },
    Ready(Box<DiffView>),
    /// It stopped with this error (one line).
    Failed(String),
}

/// The Diff tab.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffTab {
    /// Model A as the user named it (B is the model the other tabs show).
    pub a: String,
    pub state: DiffState,
    /// Index into the view's `changed`.
    pub selected: usize,
    /// First list row shown.
    pub scroll: usize,
    /// First map row shown.
    pub map_scroll: usize,
}

impl DiffTab {
    /// A comparison of `a` with the browsed model about to read `total` bytes.
    pub fn running(a: String, total: u64) -> DiffTab {
        DiffTab {
            a,
            state: DiffState::Running { done: 0, total },
            selected: 0,
            scroll: 0,
            map_scroll: 0,
        }
    }

    pub fn view(&self) -> Option<&DiffView> {
        match &self.state {
            DiffState::Ready(v) => Some(v),
            _ => None,
        }
    }

    /// The map cell of the selected tensor.
    pub fn cursor(&self) -> Option<(usize, usize)> {
        self.view()?.changed.get(self.selected)?.cell
    }

    pub fn progress(&mut self, done: u64) {
        if let DiffState::Running { done: d, .. } = &mut self.state {
            *d = done;
        }
    }

    /// Moves the list selection by `delta` rows (clamped).
    pub fn move_by(&mut self, delta: isize) {
        let Some(view) = self.view() else { return };
        let last = view.changed.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Moves the map cursor to the nearest cell left (`-1`) or right (`+1`) in the same layer that
    /// holds a changed tensor.
    pub fn move_across(&mut self, step: isize) {
        let Some((row, col)) = self.cursor() else {
            return;
        };
        let Some(view) = self.view() else { return };
        let width = view.columns.len() as isize;
        let mut c = col as isize + step;
        while (0..width).contains(&c) {
            let first = view.in_cell((row, c as usize)).next();
            if let Some(first) = first {
                self.selected = first;
                return;
            }
            c += step;
        }
    }

    /// Moves the map cursor to the next layer down (`+1`) or up (`-1`) holding a changed tensor,
    /// to the changed cell nearest the current column.
    pub fn move_down(&mut self, step: isize) {
        let Some((row, col)) = self.cursor() else {
            return;
        };
        let Some(view) = self.view() else { return };
        let mut r = row as isize + step;
        while (0..view.rows.len() as isize).contains(&r) {
            let nearest = view
                .changed
                .iter()
                .enumerate()
                .filter_map(|(i, t)| match t.cell {
                    Some((tr, tc)) if tr == r as usize => Some((tc.abs_diff(col), i)),
                    _ => None,
                })
                .min();
            if let Some((_, i)) = nearest {
                self.selected = i;
                return;
            }
            r += step;
        }
    }

    /// Keeps the selection within the list page and the cursor's row within the map page.
    pub fn keep_in_view(&mut self, list_page: usize, map_page: usize) {
        let (list_page, map_page) = (list_page.max(1), map_page.max(1));
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + list_page {
            self.scroll = self.selected + 1 - list_page;
        }
        if let Some((row, _)) = self.cursor() {
            if row < self.map_scroll {
                self.map_scroll = row;
            } else if row >= self.map_scroll + map_page {
                self.map_scroll = row + 1 - map_page;
            }
        }
    }
}

//! The TUI's state and its one entry point for change: [`App::update`] applies a [`Msg`] (a key, a
//! mouse event, a resize, a statistics event, a progress reading) and returns the [`Command`]s the
//! event loop must carry out (quit, reprioritise the engine, copy, toggle mouse capture).
//!
//! `update` does no I/O and reads no clock, so tests drive it with synthetic keys and statistics.
//! Derived data (visible rows, group aggregates, the layer grid) is rebuilt by [`App::settle`],
//! which `update` calls after input and the event loop calls once per batch of engine messages —
//! so a burst of thousands of results costs one rebuild, not thousands.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent};
use ratatui::layout::Rect;

use super::background::{DIFF_THREAD, TRANSPARENCY_THREAD};
pub use super::choices::{LayerStat, SortKey, StatState, Tab};
use super::data::ModelView;
use super::derive::{self, Aggregate, LayerGrid};
use super::diff_tab::{DiffState, DiffTab};
use super::diff_view::DiffView;
use super::keys::{self, Action, Context};
use super::layout;
use super::transparency_tab::{ReportState, TransparencyTab};
use super::tree::{NodeKind, Row, Tree};
use crate::finding::Finding;
use crate::stats::{Progress, StatsEvent};
use crate::transparency::TransparencyReport;

/// Everything that happens to the TUI.
// A statistics event is the common message and is moved once, through the channel: boxing it
// would allocate per tensor for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Stats(StatsEvent),
    /// The engine's counters and the time since it started, read by the event loop.
    Progress {
        progress: Progress,
        elapsed: Duration,
    },
    /// The statistics engine stopped with a panic (`message`): what was measured stays, the rest
    /// stays pending, and the UI goes on.
    EngineFailed(String),
    /// The weights could not be read to the end (a file changed while it was being read): shown in
    /// the footer; the UI stays up with what was measured before.
    ReadError(String),
    /// Bytes of both models the comparison has read so far.
    DiffProgress(u64),
    /// The comparison's outcome: its view, or why it stopped (one line).
    DiffDone(Result<Box<DiffView>, String>),
    /// The transparency report, built off the UI thread, or why it could not be.
    Transparency(Result<Box<TransparencyReport>, String>),
}

/// What `update` asks the event loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Leave, cancelling the background work.
    Quit,
    /// Compute these tensors first (what is on screen, the selection first).
    Prioritize(Vec<usize>),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Turn mouse capture on or off.
    MouseCapture(bool),
}

/// The whole state of the TUI.
#[derive(Debug, Clone)]
pub struct App {
    pub view: ModelView,
    pub tree: Tree,
    /// Per tensor, parallel to `view.tensors`.
    pub stats: Vec<StatState>,
    pub findings: Vec<Vec<Finding>>,
    /// Every finding, once the statistics are done.
    pub model_findings: Option<Vec<Finding>>,
    pub progress: Progress,
    pub elapsed: Duration,
    pub tab: Tab,
    pub rows: Vec<Row>,
    /// Index into `rows`.
    pub selected: usize,
    /// First row shown.
    pub scroll: usize,
    pub filter: String,
    pub searching: bool,
    pub sort: SortKey,
    pub log_histogram: bool,
    pub layer_stat: LayerStat,
    /// First layer shown in the Layers tab's grid.
    pub layers_scroll: usize,
    /// First line shown in the Overview's findings.
    pub findings_scroll: usize,
    /// First row shown in the Overview's checks table (when it does not fit).
    pub checks_scroll: usize,
    /// Why the statistics engine stopped early (a panic's message), if it did.
    pub engine_failure: Option<String>,
    /// First row shown in the help overlay.
    pub help_scroll: usize,
    pub help: bool,
    pub mouse_capture: bool,
    /// Why the statistics stopped early, when a weight file changed underneath (see `Msg::ReadError`).
    pub read_error: Option<String>,
    /// What the last key did when the screen does not show it (`y` copied a name, `m` switched
    /// mouse capture), in the footer until the next key.
    pub notice: Option<String>,
    pub size: (u16, u16),
    pub quit: bool,
    /// The Diff tab, when the TUI was opened on two models.
    pub diff: Option<DiffTab>,
    pub transparency: TransparencyTab,
    /// Per tree node: statistics of its tensors so far.
    pub aggregates: Vec<Aggregate>,
    pub layer_grid: LayerGrid,
    /// Tensors per layer × column (parallel to `view.layers`).
    cells: Vec<Vec<Vec<usize>>>,
    rows_dirty: bool,
    stats_dirty: bool,
    last_focus: Vec<usize>,
}

impl App {
    /// The state before any statistic is known, for a terminal of `size`.
    pub fn new(view: ModelView, size: (u16, u16)) -> App {
        let tree = Tree::build(&view);
        let n = view.tensors.len();
        let cells = derive::layer_cells(&view);
        let mut app = App {
            stats: vec![StatState::Pending; n],
            findings: vec![Vec::new(); n],
            model_findings: None,
            progress: Progress {
                tensors_total: n,
                bytes_total: view.tensors.iter().map(|t| t.bytes).sum(),
                ..Progress::default()
            },
            elapsed: Duration::ZERO,
            tab: Tab::Overview,
            rows: Vec::new(),
            selected: 0,
            scroll: 0,
            filter: String::new(),
            searching: false,
            sort: SortKey::Name,
            log_histogram: false,
            layer_stat: LayerStat::Std,
            layers_scroll: 0,
            findings_scroll: 0,
            checks_scroll: 0,
            engine_failure: None,
            help_scroll: 0,
            help: false,
            mouse_capture: false,
            read_error: None,
            notice: None,
            size,
            quit: false,
            diff: None,
            transparency: TransparencyTab::default(),
            aggregates: Vec::new(),
            layer_grid: LayerGrid::default(),
            cells,
            rows_dirty: true,
            stats_dirty: true,
            last_focus: Vec::new(),
            tree,
            view,
        };
        app.settle();
        app
    }

    /// Starts with a tensor-name filter (`--filter`), as if typed after `/` and kept; the next
    /// [`App::settle`] applies it.
    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.rows_dirty = true;
    }

    /// Adds the Diff tab for a comparison with model `a` (reading `total` bytes of both models),
    /// and opens it: `glassbox A B` is asked what changed.
    pub fn with_diff(mut self, a: String, total: u64) -> App {
        self.diff = Some(DiffTab::running(a, total));
        self.tab = Tab::Diff;
        self.settle();
        self
    }

    /// Whether a comparison is still running.
    pub fn diff_running(&self) -> bool {
        self.diff
            .as_ref()
            .is_some_and(|d| matches!(d.state, DiffState::Running { .. }))
    }

    /// The tabs in key order: Diff last, and only with two models.
    pub fn tabs(&self) -> Vec<Tab> {
        let mut tabs = Tab::SINGLE.to_vec();
        if self.diff.is_some() {
            tabs.push(Tab::Diff);
        }
        tabs
    }

    /// The titles as the tabs line shows them: `1 Overview`, `2 Tensors` …
    pub fn tab_titles(&self) -> Vec<String> {
        self.tabs()
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {}", i + 1, t.title()))
            .collect()
    }

    fn tab_index(&self) -> usize {
        self.tabs().iter().position(|&t| t == self.tab).unwrap_or(0)
    }

    /// The key context: help, filter typing, or the tab's own.
    pub fn context(&self) -> Context {
        if self.help {
            Context::Help
        } else if self.searching {
            Context::Search
        } else {
            match self.tab {
                Tab::Tensors => Context::Tensors,
                Tab::Layers => Context::Layers,
                Tab::Overview => Context::Overview,
                Tab::Transparency => Context::Transparency,
                Tab::Diff => Context::Diff,
            }
        }
    }

    /// The tree node of the selected row.
    pub fn selected_node(&self) -> Option<usize> {
        self.rows.get(self.selected).map(|r| r.node)
    }

    pub fn stats_done(&self) -> bool {
        self.model_findings.is_some()
    }

    /// Applies one message. Input also settles the derived data at once (the next frame shows it);
    /// statistics wait for [`App::settle`].
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let mut commands = Vec::new();
        match msg {
            Msg::Key(key) => self.key(key, &mut commands),
            Msg::Mouse(mouse) => self.mouse(mouse),
            Msg::Resize(w, h) => self.size = (w, h),
            Msg::Stats(event) => {
                self.stats_event(event);
                return commands;
            }
            Msg::ReadError(message) => {
                self.read_error = Some(message);
                return commands;
            }
            Msg::Progress { progress, elapsed } => {
                self.progress = progress;
                self.elapsed = elapsed;
                return commands;
            }
            // A panic of the transparency or the diff thread belongs to its tab, not the engine.
            Msg::EngineFailed(message) if message.starts_with(TRANSPARENCY_THREAD) => {
                self.transparency.state = ReportState::Failed(message);
            }
            Msg::EngineFailed(message) if message.starts_with(DIFF_THREAD) => {
                if let Some(d) = &mut self.diff {
                    d.state = DiffState::Failed(message);
                }
            }
            Msg::EngineFailed(message) => {
                // The first failure is the cause; later ones are its echoes.
                self.engine_failure.get_or_insert(message);
                return commands;
            }
            Msg::DiffProgress(done) => {
                if let Some(d) = &mut self.diff {
                    d.progress(done);
                }
                return commands;
            }
            Msg::DiffDone(outcome) => {
                if let Some(d) = &mut self.diff {
                    d.state = match outcome {
                        Ok(view) => DiffState::Ready(view),
                        Err(e) => DiffState::Failed(e),
                    };
                    d.selected = 0;
                }
            }
            Msg::Transparency(outcome) => {
                self.transparency.state = match outcome {
                    Ok(report) => ReportState::Ready(report),
                    Err(e) => ReportState::Failed(e),
                };
                self.transparency.selected = 0;
            }
        }
        commands.extend(self.settle());
        commands
    }

    fn stats_event(&mut self, event: StatsEvent) {
        match event {
            StatsEvent::Tensor {
                tensor,
                stats,
                findings,
            } => {
                if tensor >= self.stats.len() {
                    return; // not a tensor of this model: ignore rather than panic
                }
                self.stats[tensor] = if stats.distribution == crate::stats::Distribution::None {
                    StatState::NotMeasured
                } else {
                    StatState::Ready(Box::new(stats))
                };
                self.findings[tensor] = findings;
                self.stats_dirty = true;
                if self.sort != SortKey::Name && self.sort != SortKey::Size {
                    self.rows_dirty = true;
                }
            }
            StatsEvent::Finished { findings } => {
                // Findings that compare tensors (siblings, duplicates) come at the end; the
                // tensor's own detail and row colour show them too.
                let index: std::collections::HashMap<&str, usize> = self
                    .view
                    .tensors
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.name.as_str(), i))
                    .collect();
                let position = |f: &Finding| f.tensor().and_then(|t| index.get(t).copied());
                for f in &findings {
                    if let Some(t) = position(f)
                        && !self.findings[t].contains(f)
                    {
                        self.findings[t].push(f.clone());
                    }
                }
                let mut all = self.view.open_findings.clone();
                all.extend(self.findings.iter().flatten().cloned());
                all.sort_by_key(|f| (std::cmp::Reverse(f.severity), position(f)));
                all.extend(findings.iter().filter(|f| position(f).is_none()).cloned());
                all.sort_by_key(|f| std::cmp::Reverse(f.severity));
                self.model_findings = Some(all);
                self.rows_dirty = true;
                self.stats_dirty = true;
                self.progress.tensors_done = self.progress.tensors_total;
                self.progress.bytes_done = self.progress.bytes_total;
            }
            StatsEvent::Cancelled => {}
        }
    }

    fn key(&mut self, key: KeyEvent, commands: &mut Vec<Command>) {
        let context = self.context();
        let Some(action) = keys::action_for(context, &key) else {
            if context == Context::Search {
                match key.code {
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                        self.filter.push(c);
                        self.rows_dirty = true;
                    }
                    KeyCode::Backspace => {
                        self.filter.pop();
                        self.rows_dirty = true;
                    }
                    _ => {}
                }
            }
            return;
        };
        let page = self.page();
        self.notice = None;
        match action {
            Action::Quit => {
                self.quit = true;
                commands.push(Command::Quit);
            }
            // A tab that does not exist (5 without a second model) does nothing.
            Action::Tab(i) => self.tab = self.tabs().get(i).copied().unwrap_or(self.tab),
            Action::NextTab => {
                let tabs = self.tabs();
                self.tab = tabs[(self.tab_index() + 1) % tabs.len()];
            }
            Action::PrevTab => {
                let tabs = self.tabs();
                self.tab = tabs[(self.tab_index() + tabs.len() - 1) % tabs.len()];
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp if self.tab == Tab::Overview && !self.help => self.scroll_checks(-1),
            Action::PageDown if self.tab == Tab::Overview && !self.help => self.scroll_checks(1),
            Action::PageUp => self.move_by(-(page as isize)),
            Action::PageDown => self.move_by(page as isize),
            Action::Top => self.move_by(isize::MIN),
            Action::Bottom => self.move_by(isize::MAX),
            Action::Expand => self.set_expanded(Some(true)),
            Action::Collapse => self.set_expanded(Some(false)),
            Action::Toggle => self.set_expanded(None),
            Action::Filter => {
                self.searching = true;
            }
            Action::ClearFilter => {
                self.searching = false;
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.rows_dirty = true;
                }
            }
            Action::AcceptFilter => self.searching = false,
            Action::Sort => {
                self.sort = self.sort.next();
                self.rows_dirty = true;
            }
            Action::LogScale => self.log_histogram = !self.log_histogram,
            Action::NextStatistic => {
                self.layer_stat = self.layer_stat.next();
                self.stats_dirty = true;
            }
            Action::CellLeft | Action::CellRight | Action::LayerUp | Action::LayerDown => {
                if let Some(d) = &mut self.diff {
                    match action {
                        Action::CellLeft => d.move_across(-1),
                        Action::CellRight => d.move_across(1),
                        Action::LayerUp => d.move_down(-1),
                        _ => d.move_down(1),
                    }
                }
            }
            Action::Copy if self.tab == Tab::Diff => {
                let diff = self.diff.as_ref();
                let view = diff.and_then(DiffTab::view);
                if let (Some(d), Some(v)) = (diff, view)
                    && let Some(t) = v.changed.get(d.selected)
                {
                    self.notice = Some(format!("copied {}", t.name));
                    commands.push(Command::Copy(t.name.clone()));
                }
            }
            Action::Copy => {
                if let Some(node) = self.selected_node() {
                    let path = self.tree.nodes[node].path.clone();
                    self.notice = Some(format!("copied {path}"));
                    commands.push(Command::Copy(path));
                }
            }
            Action::MouseCapture => {
                self.mouse_capture = !self.mouse_capture;
                self.notice = Some(
                    if self.mouse_capture {
                        "mouse on: clicks select, the wheel scrolls"
                    } else {
                        "mouse off: the terminal selects text"
                    }
                    .to_owned(),
                );
                commands.push(Command::MouseCapture(self.mouse_capture));
            }
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::CloseHelp => self.help = false,
        }
    }

    /// Moves the tree selection; in the Layers tab scrolls the layer grid, in the Overview the
    /// findings.
    pub(super) fn move_by(&mut self, delta: isize) {
        if self.help {
            // The last scroll position shows a full popup (the overlay is the terminal's
            // height less its border), not the last key alone.
            let visible = usize::from(self.size.1).saturating_sub(2).max(1);
            let last = keys::BINDINGS.len().saturating_sub(visible);
            self.help_scroll = self.help_scroll.saturating_add_signed(delta).min(last);
            return;
        }
        if self.tab == Tab::Overview {
            let lines = self.model_findings.as_ref().map_or(0, Vec::len) + self.view.notes.len();
            let last = lines.saturating_sub(1);
            self.findings_scroll = self.findings_scroll.saturating_add_signed(delta).min(last);
            return;
        }
        if self.tab == Tab::Layers {
            // The last position shows a full grid, not the last layer alone.
            let area = Rect::new(0, 0, self.size.0, self.size.1);
            let [_, grid] = layout::layers(layout::screen(area).body);
            let last = self
                .view
                .layers
                .layers
                .len()
                .saturating_sub(layout::layer_rows(grid));
            self.layers_scroll = self.layers_scroll.saturating_add_signed(delta).min(last);
            return;
        }
        if self.tab == Tab::Transparency {
            self.transparency.move_by(delta);
            return;
        }
        if self.tab == Tab::Diff {
            if let Some(d) = &mut self.diff {
                d.move_by(delta);
            }
            return;
        }
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Expands (`Some(true)`), collapses (`Some(false)`) or toggles the selected node; collapsing a
    /// leaf or a closed group selects its parent.
    pub(super) fn set_expanded(&mut self, to: Option<bool>) {
        let Some(id) = self.selected_node() else {
            return;
        };
        let node = &self.tree.nodes[id];
        let has_children = !node.children.is_empty();
        let want = to.unwrap_or(!node.expanded);
        if has_children && node.expanded != want {
            self.tree.nodes[id].expanded = want;
            self.rows_dirty = true;
        } else if to == Some(false)
            && let Some(parent) = node.parent
            && let Some(at) = self.rows.iter().position(|r| r.node == parent)
        {
            self.selected = at;
        }
    }

    /// Rebuilds what changed (aggregates, layer grid, rows), keeps the selection on the same node
    /// and in view, and asks for what is on screen to be computed first.
    pub fn settle(&mut self) -> Vec<Command> {
        if self.stats_dirty {
            self.aggregates = derive::aggregates(&self.tree, &self.stats, &self.view.tensors);
            self.layer_grid = derive::layer_grid(&self.cells, &self.stats, self.layer_stat);
            self.stats_dirty = false;
        }
        if self.rows_dirty {
            let keep = self.selected_node();
            self.rows = derive::rows(self);
            self.selected = keep
                .and_then(|k| self.rows.iter().position(|r| r.node == k))
                .unwrap_or(self.selected)
                .min(self.rows.len().saturating_sub(1));
            self.rows_dirty = false;
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let body = layout::screen(area).body;
        if let Some(d) = &mut self.diff {
            let panes = layout::diff(body);
            d.keep_in_view(
                layout::tree_rows(panes.list).height.into(),
                layout::tree_rows(panes.map).height.into(),
            );
        }
        self.transparency.keep_in_view(
            layout::transparency(body)
                .table
                .height
                .saturating_sub(3)
                .into(),
        );
        let page = layout::tree_page(self.size.0, self.size.1);
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
        self.scroll = self
            .scroll
            .min(self.rows.len().saturating_sub(page.min(self.rows.len())));
        let focus = self.focus(page);
        if focus.is_empty() || focus == self.last_focus {
            return Vec::new();
        }
        self.last_focus = focus.clone();
        vec![Command::Prioritize(focus)]
    }

    /// The pending tensors on screen: the selection's first, then the visible rows' in order.
    fn focus(&self, page: usize) -> Vec<usize> {
        const PER_GROUP: usize = 8;
        let mut out = Vec::new();
        let visible = self.rows.iter().skip(self.scroll).take(page);
        let selected = self.rows.get(self.selected);
        for row in selected.into_iter().chain(visible) {
            let node = &self.tree.nodes[row.node];
            let pending = node
                .tensors
                .iter()
                .copied()
                .filter(|&t| self.stats[t] == StatState::Pending)
                .take(if matches!(node.kind, NodeKind::Tensor(_)) {
                    1
                } else {
                    PER_GROUP
                });
            for t in pending {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }
}

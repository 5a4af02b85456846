//! The Diff tab (`glassbox A B`): the layer × role map of the change beside the changed tensors
//! sorted by change, the selected pair side by side, and the histogram of its |Δ| by octave.
//!
//! Map cells show the largest rel_l2 of the cell's tensors, coloured by how close it is to the
//! largest change in the whole map (a fine-tune's touched layers stand out, rounding noise stays
//! green); low-rank cells are underlined. The cursor (reversed) is the selected tensor's cell.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Cell, Gauge, Paragraph, Row, Table, Wrap};

use super::{dim, num};
use crate::diff::Status;
use crate::diff::lowrank::{RankMethod, RankReading};
use crate::text::human_bytes;
use crate::tui::app::App;
use crate::tui::diff_tab::{DiffState, DiffTab};
use crate::tui::diff_view::{ChangedTensor, DiffView, MapCell};
use crate::tui::layout;

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let Some(tab) = &app.diff else {
        return;
    };
    match &tab.state {
        DiffState::Running { done, total } => running(tab, *done, *total, frame, body),
        DiffState::Failed(e) => frame.render_widget(
            Paragraph::new(vec![
                Line::styled(
                    "the comparison stopped:",
                    Style::new().fg(Color::Red).bold(),
                ),
                Line::from(crate::text::printable(e, false).into_owned()),
                Line::styled("the other tabs still show the model", dim()),
            ])
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" diff ")),
            body,
        ),
        DiffState::Ready(view) => {
            let panes = layout::diff(body);
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!(" {}", crate::text::printable(&view.verdict, false)),
                    verdict_style(view),
                ))
                .wrap(Wrap { trim: true }),
                panes.verdict,
            );
            map(tab, view, frame, panes.map);
            list(tab, view, frame, panes.list);
            match view.changed.get(tab.selected) {
                Some(t) => {
                    detail(tab, view, t, frame, panes.detail);
                    histogram(t, app.log_histogram, frame, panes.histogram);
                }
                None => frame.render_widget(
                    Paragraph::new(Line::styled(
                        "no tensor changed: nothing to compare side by side",
                        dim(),
                    ))
                    .block(Block::bordered()),
                    panes.detail.union(panes.histogram),
                ),
            }
        }
    }
}

/// A gauge while the comparison reads both models (the other tabs already work).
fn running(tab: &DiffTab, done: u64, total: u64, frame: &mut Frame, body: Rect) {
    let ratio = if total > 0 {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let area = body.centered(Constraint::Percentage(80), Constraint::Length(3));
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered().title(format!(
                " comparing {} with this model · the other tabs work meanwhile · q quits ",
                tab.a
            )))
            .gauge_style(Style::new().fg(Color::Yellow))
            .ratio(ratio)
            .label(format!(
                "{:.0}%  {} / {}",
                ratio * 100.0,
                human_bytes(done),
                human_bytes(total)
            )),
        area,
    );
}

/// rel_l2 in at most five characters: `.097`, `1.3`, `4e-4`.
pub fn short_rel(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if !v.is_finite() {
        "inf".into()
    } else if v >= 100.0 {
        ">99".into()
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else if v >= 0.001 {
        format!("{v:.3}").trim_start_matches('0').to_owned()
    } else {
        format!("{v:.0e}")
    }
}

/// The colour of a changed cell whose rel_l2 is `v`, the map's largest being `max`: near it red,
/// within 1/64 of it yellow, below that green. Re-rounding (noise only) is blue whatever its size.
pub fn heat(cell: &MapCell, max: Option<f64>) -> Color {
    match cell.status {
        Status::Identical | Status::Renamed => Color::DarkGray,
        Status::ReRounded => Color::Blue,
        Status::Added | Status::Removed => Color::Magenta,
        _ => match (cell.rel_l2, max) {
            (Some(v), Some(m)) if m > 0.0 => {
                if v >= m / 4.0 {
                    Color::Red
                } else if v >= m / 64.0 {
                    Color::Yellow
                } else {
                    Color::Green
                }
            }
            _ => Color::Red,
        },
    }
}

fn cell_text(cell: &MapCell, width: usize) -> String {
    let text = match cell.status {
        Status::Identical | Status::Renamed => "·".to_owned(),
        Status::Added => "+".to_owned(),
        Status::Removed => "-".to_owned(),
        _ => match cell.rel_l2 {
            Some(v) if width >= 4 => short_rel(v),
            _ => "█".repeat(width.max(1)),
        },
    };
    text.chars().take(width).collect()
}

fn map(tab: &DiffTab, view: &DiffView, frame: &mut Frame, area: Rect) {
    let cursor = tab.cursor();
    let ncols = view.columns.len().max(1);
    let width = layout::diff_cell_width(area, ncols);
    let header = Row::new(
        std::iter::once(Cell::from("layer")).chain(
            view.columns
                .iter()
                .map(|c| Cell::from(c.chars().take(width).collect::<String>())),
        ),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = view
        .rows
        .iter()
        .enumerate()
        .skip(tab.map_scroll)
        .map(|(r, row)| {
            let cells = row.cells.iter().enumerate().map(|(c, cell)| match cell {
                None => Cell::from(""),
                Some(cell) => {
                    let mut style = Style::new().fg(heat(cell, view.max_rel_l2));
                    if cell.low_rank {
                        style = style.add_modifier(Modifier::UNDERLINED);
                    }
                    if cursor == Some((r, c)) {
                        style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
                    }
                    Cell::from(Span::styled(cell_text(cell, width), style))
                }
            });
            Row::new(std::iter::once(Cell::from(row.label.clone())).chain(cells))
        })
        .collect();
    let widths = std::iter::once(Constraint::Length(layout::DIFF_LABEL_WIDTH as u16))
        .chain(std::iter::repeat_n(Constraint::Length(width as u16), ncols));
    let title = Line::from(vec![
        Span::raw(" rel L2, layer × role "),
        Span::styled("■", Style::new().fg(Color::Red)),
        Span::raw(" ≥¼ max "),
        Span::styled("■", Style::new().fg(Color::Yellow)),
        Span::raw(" ≥1/64 "),
        Span::styled("■", Style::new().fg(Color::Green)),
        Span::raw(" less "),
    ]);
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(
                Block::bordered()
                    .title(title)
                    .title_bottom(Line::styled(" · same  underlined: low rank ", dim())),
            ),
        area,
    );
}

/// `name` cut to `width` characters from the left (`…self_attn.q_proj.weight`): the end of a
/// tensor name is what tells tensors apart.
fn tail(name: &str, width: usize) -> String {
    let n = name.chars().count();
    if n <= width || width == 0 {
        return name.to_owned();
    }
    let keep: String = name.chars().skip(n - width + 1).collect();
    format!("…{keep}")
}

fn list(tab: &DiffTab, view: &DiffView, frame: &mut Frame, area: Rect) {
    // The status column goes first when the pane is narrow (the detail names it too): the name
    // is what tells rows apart.
    let with_status = area.width >= 60;
    let status_width = if with_status { 11 } else { 0 };
    let name_width = usize::from(area.width.saturating_sub(2 + 9 + status_width + 2));
    let rows: Vec<Row> = view
        .changed
        .iter()
        .enumerate()
        .skip(tab.scroll)
        .map(|(i, t)| {
            let rel = t
                .rel_l2()
                .map_or_else(|| Span::styled("-", dim()), |v| Span::raw(num(v)));
            let mut row = Row::new(vec![
                Cell::from(Line::from(rel).alignment(Alignment::Right)),
                Cell::from(Span::styled(t.status.name(), status_style(t.status))),
                Cell::from(tail(&t.name, name_width)),
            ]);
            if i == tab.selected {
                row = row.style(Style::new().add_modifier(Modifier::REVERSED));
            }
            row
        })
        .collect();
    let title = format!(
        " changed ({} of {}), largest first ",
        view.changed.len(),
        view.total
    );
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(9),
                Constraint::Length(status_width),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new(vec![
                Cell::from(Line::from("rel L2").alignment(Alignment::Right)),
                Cell::from("status"),
                Cell::from("tensor"),
            ])
            .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::bordered()
                .title(title)
                .title_bottom(Line::styled(format!(" {} ", view.counts), dim())),
        ),
        area,
    );
}

fn status_style(status: Status) -> Style {
    match status {
        Status::Identical | Status::Renamed => dim(),
        Status::ReRounded => Style::new().fg(Color::Blue),
        Status::Retyped | Status::Added | Status::Removed => Style::new().fg(Color::Magenta),
        Status::Changed | Status::Reshaped => Style::new().fg(Color::Red),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), num)
}

fn shape(s: &Option<Vec<u64>>) -> String {
    s.as_ref().map_or_else(
        || "-".to_owned(),
        |s| {
            let dims: Vec<String> = s.iter().map(u64::to_string).collect();
            format!("[{}]", dims.join(", "))
        },
    )
}

/// The selected pair: A and B side by side (dtype, shape, mean, std), then the numbers of the
/// change and its rank.
fn detail(tab: &DiffTab, view: &DiffView, t: &ChangedTensor, frame: &mut Frame, area: Rect) {
    let n = t.numbers.as_ref();
    let sides = n.map(|n| n.sides);
    let side = |label: &str, a: String, b: String| {
        Row::new(vec![
            Cell::from(Span::styled(label.to_owned(), dim())),
            Cell::from(a),
            Cell::from(b),
        ])
    };
    let mut rows = vec![
        side(
            "dtype",
            t.dtype_a.unwrap_or("-").to_owned(),
            t.dtype_b.unwrap_or("-").to_owned(),
        ),
        side("shape", shape(&t.shape_a), shape(&t.shape_b)),
        side(
            "mean",
            opt(sides.and_then(|s| s.mean_a)),
            opt(sides.and_then(|s| s.mean_b)),
        ),
        side(
            "std",
            opt(sides.and_then(|s| s.std_a)),
            opt(sides.and_then(|s| s.std_b)),
        ),
    ];
    if t.name_a.is_some() || t.name_b.is_some() {
        rows.push(side(
            "in file",
            t.name_a.clone().unwrap_or_else(|| t.name.clone()),
            t.name_b.clone().unwrap_or_else(|| t.name.clone()),
        ));
    }
    let pair = |items: Vec<(&str, String)>| {
        let mut spans = Vec::new();
        for (i, (label, value)) in items.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", dim()));
            }
            spans.push(Span::styled(format!("{label} "), dim()));
            spans.push(Span::raw(value));
        }
        Line::from(spans)
    };
    let mut lines = Vec::new();
    match n {
        Some(n) => {
            lines.push(pair(vec![
                ("rel L2", opt(n.rel_l2)),
                (
                    "SQNR",
                    n.sqnr_db.map_or("-".into(), |v| format!("{v:.1} dB")),
                ),
                ("cosine", n.cosine.map_or("-".into(), |v| format!("{v:.6}"))),
            ]));
            lines.push(pair(vec![
                ("max |Δ|", opt(n.max_abs)),
                ("p99 |Δ|", opt(n.p99_abs)),
                (
                    "pearson",
                    n.pearson.map_or("-".into(), |v| format!("{v:.6}")),
                ),
            ]));
        }
        None => lines.push(Line::styled(
            match t.status {
                Status::Added => "only in B: nothing to compare",
                Status::Removed => "only in A: nothing to compare",
                _ => "values not compared (a type without a decoder, or rows of another width)",
            },
            dim(),
        )),
    }
    if let Some(r) = &t.rank {
        let rank = |v: RankReading| match v {
            RankReading::Measured(v) => v.to_string(),
            RankReading::Above(v) => format!(">{v}"),
            RankReading::NotMeasured => "-".to_owned(),
        };
        lines.push(pair(vec![
            ("rank r90", rank(r.r90_reading())),
            ("r99", rank(r.r99_reading())),
            (
                "stable",
                r.stable.map_or("-".to_owned(), |s| format!("{s:.1}")),
            ),
            (
                "reads as",
                match (r.low_rank, r.method) {
                    (true, _) => "low-rank merge",
                    (false, RankMethod::NoiseFloor) => "rounding noise",
                    (false, RankMethod::RowSample) => "full-rank change (row sample)",
                    (false, _) => "full-rank change",
                }
                .to_owned(),
            ),
        ]));
    }
    if let Some(n) = n {
        let mut third = vec![("bit-identical", crate::text::share_percent(n.bit_identical))];
        if let Some(w) = n.within_rounding {
            third.push(("within rounding", format!("{:.1}%", w * 100.0)));
        }
        if n.nan_introduced + n.inf_introduced > 0 {
            third.push((
                "NaN/Inf introduced",
                (n.nan_introduced + n.inf_introduced).to_string(),
            ));
        }
        lines.push(pair(third));
    }
    let block = Block::bordered().title(Line::from(vec![
        Span::raw(" "),
        Span::styled(t.name.clone(), Style::new().bold()),
        Span::raw(format!(
            " ({} of {}) ",
            tab.selected + 1,
            view.changed.len()
        )),
    ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let table_height = (rows.len() as u16 + 1).min(inner.height);
    let [top, bottom] =
        ratatui::layout::Layout::vertical([Constraint::Length(table_height), Constraint::Min(0)])
            .areas(inner);
    let column = (inner.width.saturating_sub(9) / 2).max(8);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(8),
                Constraint::Length(column),
                Constraint::Length(column),
            ],
        )
        .header(Row::new(vec![
            Cell::from(""),
            Cell::from(Span::styled(
                tail(&format!("A {}", view.a), column.into()),
                Style::new().bold(),
            )),
            Cell::from(Span::styled(
                tail(&format!("B {}", view.b), column.into()),
                Style::new().bold(),
            )),
        ])),
        top,
    );
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), bottom);
}

/// |Δ| per octave as bars, the zeros apart in the title; `log` scales the counts.
fn histogram(t: &ChangedTensor, log: bool, frame: &mut Frame, area: Rect) {
    let scale = if log { "log counts" } else { "linear" };
    let Some(n) = &t.numbers else {
        frame.render_widget(
            Paragraph::new(Line::styled("no values compared", dim()))
                .block(Block::bordered().title(" |Δ| by octave ")),
            area,
        );
        return;
    };
    let h = &n.abs_delta;
    let total = h.zeros + h.counts.iter().sum::<u64>();
    let title = format!(
        " |Δ| by octave ({scale}, L) · Δ = 0: {} ",
        crate::text::share_percent(h.zeros as f64 / total.max(1) as f64)
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if h.counts.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("every compared value is equal", dim())),
            inner,
        );
        return;
    }
    let [bars_area, axis] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let k = h.counts.len() as u16;
    let bar_width = (inner.width / k.max(1)).clamp(1, 6);
    let gap = u16::from(bar_width >= 3);
    let bar_width = bar_width - gap;
    let bars: Vec<Bar> = h
        .counts
        .iter()
        .map(|&c| {
            let height = if log {
                ((c as f64).ln_1p() * 1000.0) as u64
            } else {
                c
            };
            Bar::default()
                .value(height)
                .text_value(String::new())
                .style(Style::new().fg(Color::Cyan))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_width.max(1))
            .bar_gap(gap),
        bars_area,
    );
    let low = 2f64.powi(h.first_exponent);
    let high = 2f64.powi(h.first_exponent + h.counts.len() as i32);
    let left = num(low);
    let right = num(high);
    let pad = usize::from(axis.width).saturating_sub(left.chars().count() + right.chars().count());
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("{left}{}{right}", " ".repeat(pad)),
            dim(),
        )),
        axis,
    );
}

/// The verdict's colour: green when the weights are the same (or within `--tolerance`), yellow
/// when they differ (the header's too).
pub fn verdict_style(view: &DiffView) -> Style {
    if view.within_tolerance {
        Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

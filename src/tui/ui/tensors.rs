//! The Tensors tab: the tree as a table of the visible rows only, and the detail pane of the
//! selected tensor, group or metadata key (with the value histogram).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Wrap};

use super::{PENDING, dim, num};
use crate::finding::{Finding, Severity};
use crate::stats::TensorStats;
use crate::text::{human_bytes, human_count, shape, thousands};
use crate::tui::app::{App, SortKey, StatState};
use crate::tui::derive::Aggregate;
use crate::tui::layout;
use crate::tui::tree::{Node, NodeKind};

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let (tree, detail) = layout::tensors(body);
    render_tree(app, frame, tree);
    render_detail(app, frame, detail);
}

/// The statistic of a tensor and of a group shown in the tree's last column.
struct StatColumn {
    title: &'static str,
    tensor: fn(&TensorStats) -> Option<f64>,
    group: fn(&Aggregate) -> Option<f64>,
    /// How a value is written (zeros as a percentage, as the detail pane writes them).
    show: fn(f64) -> String,
}

/// The statistic column follows the sort (std unless sorting by another statistic).
fn stat_column(app: &App) -> StatColumn {
    match app.sort {
        SortKey::AbsMax => StatColumn {
            title: "abs max",
            tensor: |s| s.abs_max,
            group: |a| a.stats.as_ref()?.abs_max,
            show: num,
        },
        SortKey::Zeros => StatColumn {
            title: "zeros",
            tensor: |s| (s.count > 0).then(|| s.zeros as f64 / s.count as f64),
            group: Aggregate::zeros,
            show: |share| format!("{}%", num(100.0 * share)),
        },
        _ => StatColumn {
            title: "std",
            tensor: |s| s.std,
            group: |a| a.stats.as_ref()?.std,
            show: num,
        },
    }
}

pub fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::new().fg(Color::Yellow),
        Severity::Info => Style::new().fg(Color::Cyan),
    }
}

fn render_tree(app: &App, frame: &mut Frame, area: Rect) {
    let page = usize::from(layout::tree_rows(area).height);
    let column = stat_column(app);
    let width = Width::of(area);
    let rows: Vec<Row> = app
        .rows
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(page)
        .map(|(i, row)| {
            let node = &app.tree.nodes[row.node];
            let marker = if node.children.is_empty() {
                "  "
            } else if node.expanded || !app.filter.is_empty() {
                "▾ "
            } else {
                "▸ "
            };
            let indent = "  ".repeat(usize::from(row.depth));
            let room = usize::from(name_width(area, width)).saturating_sub(indent.len() + 2);
            let name = Cell::from(format!("{indent}{marker}{}", fit_label(&node.label, room)));
            let mut cells = vec![name];
            cells.extend(columns(app, row.node, node, &column, width));
            // A row takes the colour of its worst finding (a group's: of any tensor below it).
            let style = match (i == app.selected, worst_finding(app, node)) {
                (true, _) => Style::new().add_modifier(Modifier::REVERSED),
                (false, Some(Severity::Error)) => Style::new().fg(Color::Red),
                (false, Some(Severity::Warning)) => Style::new().fg(Color::Yellow),
                (false, _) => Style::new(),
            };
            Row::new(cells).style(style)
        })
        .collect();
    let mut title = format!(" tensors ({}) ", thousands(app.view.tensors.len() as u64));
    if app.searching || !app.filter.is_empty() {
        // How many tensors and metadata keys the filter keeps: the leaves among the rows (a
        // filtered tree shows every match, its groups expanded).
        let kept = app
            .rows
            .iter()
            .filter(|r| {
                matches!(
                    app.tree.nodes[r.node].kind,
                    NodeKind::Tensor(_) | NodeKind::Meta(_)
                )
            })
            .count() as u64;
        title.push_str(&format!(
            "─ filter: {}{} ({} {}) ",
            crate::text::printable(&app.filter, false),
            if app.searching { "▏" } else { "" },
            thousands(kept),
            crate::text::plural(kept, "match", "matches")
        ));
    }
    // Narrower trees drop the parameter count, then the shape (the detail pane has both), to
    // keep names readable.
    let mut titles = vec!["name", "dtype", "shape", "params", "size", column.title];
    let mut widths = vec![
        Constraint::Min(16),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
    ];
    if width != Width::Wide {
        titles.remove(3);
        widths.remove(3);
    }
    if width == Width::Narrow {
        titles.remove(2);
        widths.remove(2);
    }
    let header = Row::new(titles).style(Style::new().add_modifier(Modifier::BOLD));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
    overlay_metadata(app, frame, area, width);
}

/// dtype, shape, params, size, statistic of one row.
fn columns(
    app: &App,
    id: usize,
    node: &Node,
    column: &StatColumn,
    width: Width,
) -> Vec<Cell<'static>> {
    let mut cells = cells_of(app, id, node, column);
    if width != Width::Wide && cells.len() == 5 {
        cells.remove(2);
        if width == Width::Narrow {
            cells.remove(1);
        }
    }
    cells
}

fn cells_of(app: &App, id: usize, node: &Node, column: &StatColumn) -> Vec<Cell<'static>> {
    let pending = || Cell::from(Span::styled(PENDING, dim()));
    match node.kind {
        NodeKind::Tensor(t) => {
            let tv = &app.view.tensors[t];
            let stat = match &app.stats[t] {
                StatState::Pending => pending(),
                StatState::NotMeasured => Cell::from(Span::styled("n/a", dim())),
                StatState::Ready(s) => Cell::from(
                    (column.tensor)(s)
                        .map(column.show)
                        .unwrap_or_else(|| "-".into()),
                ),
            };
            vec![
                Cell::from(tv.dtype.clone()),
                Cell::from(shape(&tv.shape)),
                Cell::from(human_count(tv.parameters)),
                Cell::from(human_bytes(tv.bytes)),
                stat,
            ]
        }
        NodeKind::Group | NodeKind::Repeat => {
            let agg = &app.aggregates[id];
            let stat = match ((column.group)(agg), agg.pending) {
                (None, p) if p > 0 => pending(),
                (None, _) => Cell::from("-"),
                // Partial aggregates are drawn dim until every tensor of the group is in.
                (Some(v), p) if p > 0 => Cell::from(Span::styled((column.show)(v), dim())),
                (Some(v), _) => Cell::from((column.show)(v)),
            };
            vec![
                Cell::from(""),
                Cell::from(Span::styled(
                    format!("{} tensors", node.tensors.len()),
                    dim(),
                )),
                Cell::from(human_count(node.parameters)),
                Cell::from(human_bytes(node.bytes)),
                stat,
            ]
        }
        NodeKind::MetaRoot => vec![],
        // The value is drawn over the value columns after the table (a cell cannot span them).
        NodeKind::Meta(_) => vec![],
    }
}

/// How wide the tree pane is: which value columns it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// dtype, shape, params, size, statistic.
    Wide,
    /// Without params.
    Medium,
    /// Without params and shape (an 80-column terminal's half).
    Narrow,
}

impl Width {
    fn of(area: Rect) -> Width {
        match area.width {
            90.. => Width::Wide,
            60..90 => Width::Medium,
            _ => Width::Narrow,
        }
    }
}

/// Width of the name column: what the value columns, the borders and the spacing leave.
fn name_width(area: Rect, width: Width) -> u16 {
    area.width.saturating_sub(2 + value_columns_width(width))
}

/// `label` in at most `room` columns: as is when it fits; a repeated block without its layer range
/// (`layers.{0..29} ×30` → `layers ×30`: the count is what was being cut); otherwise its start and
/// its end around `…`, the end longer (it holds `weight`, `bias`, the count).
fn fit_label(label: &str, room: usize) -> String {
    let len = label.chars().count();
    if len <= room || room == 0 {
        return label.to_owned();
    }
    if let Some((block, count)) = label.rsplit_once(" ×")
        && let Some((stack, _range)) = block.rsplit_once(".{")
    {
        let short = format!("{stack} ×{count}");
        if short.chars().count() <= room {
            return short;
        }
    }
    let tail = (room - 1) * 3 / 5;
    let head = room - 1 - tail;
    let start: String = label.chars().take(head).collect();
    let end: String = label.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

/// Width of the value columns with their spacing: where a metadata value can go.
fn value_columns_width(width: Width) -> u16 {
    match width {
        Width::Wide => 6 + 12 + 6 + 8 + 8 + 5,
        Width::Medium => 6 + 12 + 8 + 8 + 4,
        Width::Narrow => 6 + 8 + 8 + 3,
    }
}

/// Draws each visible metadata row's value across the value columns.
fn overlay_metadata(app: &App, frame: &mut Frame, area: Rect, width: Width) {
    let rows = layout::tree_rows(area);
    // The first column of spacing stays blank, between the key and its value.
    let width = (value_columns_width(width) - 1).min(rows.width);
    let x = rows.right().saturating_sub(width);
    for (line, row) in app
        .rows
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(usize::from(rows.height))
    {
        if let NodeKind::Meta(m) = app.tree.nodes[row.node].kind {
            let y = rows.y + (line - app.scroll) as u16;
            let style = if line == app.selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                dim()
            };
            frame.render_widget(
                Paragraph::new(app.view.metadata[m].short.clone()).style(style),
                Rect::new(x, y, width, 1),
            );
        }
    }
}

fn worst_finding(app: &App, node: &Node) -> Option<Severity> {
    node.tensors
        .iter()
        .flat_map(|&t| app.findings[t].iter().map(|f| f.severity))
        .max()
}

fn render_detail(app: &App, frame: &mut Frame, area: Rect) {
    let Some(id) = app.selected_node() else {
        frame.render_widget(
            Paragraph::new("no tensor matches the filter").block(Block::bordered()),
            area,
        );
        return;
    };
    let node = &app.tree.nodes[id];
    let name = if node.path.is_empty() {
        &node.label
    } else {
        &node.path
    };
    let title = format!(" {} ", crate::text::printable(name, false));
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match node.kind {
        NodeKind::Tensor(t) => tensor_detail(app, frame, inner, t),
        NodeKind::Group | NodeKind::Repeat => group_detail(app, frame, inner, id, node),
        NodeKind::MetaRoot => frame.render_widget(
            Paragraph::new(format!(
                "{} metadata keys: expand to browse (Enter), the selected key's full value shows here",
                app.view.metadata.len()
            ))
            .wrap(Wrap { trim: true }),
            inner,
        ),
        NodeKind::Meta(m) => {
            let entry = &app.view.metadata[m];
            let text: Vec<Line> = std::iter::once(Line::styled(entry.key.clone(), Style::new().add_modifier(Modifier::BOLD)))
                .chain(
                    entry
                        .full
                        .lines()
                        .map(|l| Line::from(crate::text::printable(l, false).into_owned())),
                )
                .collect();
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
        }
    }
}

fn label(s: &str) -> Span<'static> {
    Span::styled(format!("{s} "), dim())
}

/// A label and its value: one unit that a narrow pane moves to the next line whole.
type Field = Vec<Span<'static>>;

fn field(name: &str, value: String) -> Field {
    vec![label(name), Span::raw(value)]
}

/// One line of the detail as wide panes show it: fields `gap` apart.
struct FieldRow {
    fields: Vec<Field>,
    gap: &'static str,
}

impl FieldRow {
    /// Fields two spaces apart.
    fn of(fields: Vec<Field>) -> FieldRow {
        FieldRow { fields, gap: "  " }
    }

    /// Words of running text, one space apart.
    fn text(text: &str) -> FieldRow {
        FieldRow {
            fields: text
                .split(' ')
                .map(|w| vec![Span::styled(w.to_owned(), dim())])
                .collect(),
            gap: " ",
        }
    }
}

/// Rows of fields as lines of at most `width` columns: a field that does not fit starts the
/// next line whole (an 80-column terminal's detail pane had cut `@ 0x8098` to `0x809` and
/// `L2 721` to `L2 7`). A field wider than a line has one of its own.
fn pack(rows: Vec<FieldRow>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let len = |f: &Field| f.iter().map(|s| s.content.chars().count()).sum::<usize>();
    let mut lines = Vec::new();
    for row in rows {
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for f in row.fields {
            let n = len(&f);
            if used > 0 && used + row.gap.len() + n > width {
                lines.push(Line::from(std::mem::take(&mut line)));
                used = 0;
            }
            if used > 0 {
                line.push(Span::raw(row.gap));
                used += row.gap.len();
            }
            used += n;
            line.extend(f);
        }
        lines.push(Line::from(line));
    }
    lines
}

fn stats_rows(s: &TensorStats) -> Vec<FieldRow> {
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "-".into());
    let share = |n: u64| {
        if s.count == 0 {
            "-".to_owned()
        } else {
            crate::text::percent(n, s.count)
        }
    };
    let mut rows = vec![
        FieldRow::of(vec![
            field("mean", opt(s.mean)),
            field("std", opt(s.std)),
            field("L2", opt(s.l2_norm)),
        ]),
        FieldRow::of(vec![
            field("min", opt(s.min)),
            field("max", opt(s.max)),
            field("|max|", opt(s.abs_max)),
        ]),
        FieldRow::of(vec![
            field("p1", opt(s.p1)),
            field("p50", opt(s.p50)),
            field("p99", opt(s.p99)),
        ]),
        FieldRow::of(vec![
            field("zeros", share(s.zeros)),
            field("NaN", thousands(s.nan)),
            field("Inf", thousands(s.inf)),
            field("outliers", thousands(s.outliers)),
        ]),
    ];
    if !s.exact_distribution {
        rows.push(FieldRow::text(
            "percentiles and histogram estimated (sampled or bucketed)",
        ));
    }
    rows
}

fn tensor_detail(app: &App, frame: &mut Frame, area: Rect, t: usize) {
    let tv = &app.view.tensors[t];
    let mut rows = vec![
        FieldRow::of(vec![
            vec![Span::styled(
                tv.dtype.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            )],
            vec![Span::raw(shape(&tv.shape))],
            vec![Span::raw(format!("{} params", thousands(tv.parameters)))],
            vec![Span::raw(human_bytes(tv.bytes))],
        ]),
        FieldRow {
            fields: vec![
                field("file", tv.file.clone()),
                vec![Span::raw(format!("@ {:#x}", tv.offset))],
            ],
            gap: " ",
        },
    ];
    if let Some(hf) = &tv.hf_name {
        rows.push(FieldRow::of(vec![field("hf_name", hf.clone())]));
    }
    rows.push(FieldRow::of(Vec::new()));
    let stats = match &app.stats[t] {
        StatState::Pending => {
            rows.push(FieldRow::text("statistics pending …"));
            None
        }
        StatState::NotMeasured => {
            rows.push(FieldRow::text("values not decoded: nothing measured"));
            None
        }
        StatState::Ready(s) => {
            rows.extend(stats_rows(s));
            Some(s)
        }
    };
    let lines = pack(rows, area.width);
    let findings = finding_lines(&app.findings[t], stats.is_some());
    let top = lines.len() as u16;
    let bottom = findings.len() as u16;
    let [head, chart, foot] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Min(0),
        Constraint::Length(bottom),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines), head);
    if let Some(s) = stats {
        histogram(frame, chart, s, app.log_histogram);
    }
    frame.render_widget(Paragraph::new(findings).wrap(Wrap { trim: true }), foot);
}

fn finding_lines(findings: &[Finding], known: bool) -> Vec<Line<'static>> {
    if !known {
        return Vec::new();
    }
    if findings.is_empty() {
        return vec![Line::styled("findings: none", dim())];
    }
    findings
        .iter()
        .map(|f| {
            Line::from(vec![
                Span::styled(
                    format!("{} ", f.severity.name()),
                    severity_style(f.severity),
                ),
                Span::raw(crate::text::printable(&f.message, false).into_owned()),
            ])
        })
        .collect()
}

/// The histogram as a sparkline, its bins merged to the pane's width; `log` draws `ln(1 + count)`.
fn histogram(frame: &mut Frame, area: Rect, s: &TensorStats, log: bool) {
    let Some(h) = &s.histogram else {
        return;
    };
    if area.height < 3 || area.width < 8 || h.counts.is_empty() {
        return;
    }
    let width = usize::from(area.width).min(h.counts.len()).max(1);
    let per = h.counts.len().div_ceil(width);
    let bins: Vec<u64> = h
        .counts
        .chunks(per)
        .map(|c| {
            let n: u64 = c.iter().sum();
            if log {
                ((n as f64).ln_1p() * 1000.0) as u64
            } else {
                n
            }
        })
        .collect();
    let [title, bars, axis] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("histogram ({}: L)", if log { "log" } else { "linear" }),
            dim(),
        )),
        title,
    );
    let bars_area = Rect {
        width: bins.len() as u16,
        ..bars
    };
    frame.render_widget(
        Sparkline::default()
            .data(&bins)
            .style(Style::new().fg(Color::Cyan)),
        bars_area,
    );
    let lo = num(h.lo);
    let hi = num(h.hi);
    let gap = usize::from(bars_area.width).saturating_sub(lo.len() + hi.len());
    frame.render_widget(
        Paragraph::new(Line::styled(format!("{lo}{}{hi}", " ".repeat(gap)), dim())),
        axis,
    );
}

fn group_detail(app: &App, frame: &mut Frame, area: Rect, id: usize, node: &Node) {
    let agg = &app.aggregates[id];
    let mut lines = vec![Line::from(vec![
        Span::raw(format!(
            "{} tensors  ",
            thousands(node.tensors.len() as u64)
        )),
        Span::raw(format!("{} params  ", thousands(node.parameters))),
        Span::raw(human_bytes(node.bytes)),
    ])];
    if node.kind == NodeKind::Repeat {
        lines.push(Line::styled(
            format!("{} repeated blocks", node.children.len()),
            dim(),
        ));
    }
    lines.push(Line::from(""));
    match &agg.stats {
        None => lines.push(Line::styled("statistics pending …", dim())),
        Some(g) => {
            let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "-".into());
            if agg.pending > 0 {
                lines.push(Line::styled(
                    format!(
                        "so far: {} of {} tensors measured",
                        node.tensors.len() - agg.pending,
                        node.tensors.len()
                    ),
                    Style::new().fg(Color::Yellow),
                ));
            }
            lines.push(Line::from(vec![
                label("mean"),
                Span::raw(format!("{}  ", opt(g.mean))),
                label("std"),
                Span::raw(format!("{}  ", opt(g.std))),
                label("L2"),
                Span::raw(opt(g.l2_norm)),
            ]));
            lines.push(Line::from(vec![
                label("min"),
                Span::raw(format!("{}  ", opt(g.min))),
                label("max"),
                Span::raw(format!("{}  ", opt(g.max))),
                label("|max|"),
                Span::raw(opt(g.abs_max)),
            ]));
            lines.push(Line::from(vec![
                label("zeros"),
                Span::raw(format!(
                    "{}  ",
                    if g.count == 0 {
                        "-".to_owned()
                    } else {
                        crate::text::percent(g.zeros, g.count)
                    }
                )),
                label("NaN"),
                Span::raw(format!("{}  ", thousands(g.nan))),
                label("Inf"),
                Span::raw(format!("{}  ", thousands(g.inf))),
                label("outliers"),
                Span::raw(thousands(agg.outliers)),
            ]));
        }
    }
    let findings: Vec<&Finding> = node
        .tensors
        .iter()
        .flat_map(|&t| app.findings[t].iter())
        .collect();
    if !findings.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(format!(
            "{} finding{}:",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        )));
        for f in findings.iter().take(usize::from(area.height)) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} ", f.severity.name()),
                    severity_style(f.severity),
                ),
                Span::raw(crate::text::printable(&f.message, false).into_owned()),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

#[cfg(test)]
mod tests {
    use super::fit_label;

    #[test]
    fn long_labels_keep_their_count_and_their_end() {
        assert_eq!(fit_label("layers.{0..29} ×30", 13), "layers ×30");
        assert_eq!(fit_label("layers.{0..29} ×30", 18), "layers.{0..29} ×30");
        assert_eq!(fit_label("embed_tokens.weight", 15), "embed_…s.weight");
        assert_eq!(fit_label("encoder.layer.{0..5} ×6", 4), "en…6");
        assert_eq!(fit_label("x", 0), "x");
    }
}

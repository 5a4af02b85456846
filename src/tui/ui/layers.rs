//! The Layers tab: one statistic across depth, a line per column (role) of the main stack, and the
//! layer × column heatmap coloured by each cell's value relative to its column's trend across
//! depth — a broken, re-initialised or retrained layer stands out in its column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table};

use super::{PENDING, dim, num};
use crate::tui::app::App;
use crate::tui::derive::{FAR, ORDINARY};

/// Line colours, cycled over the columns.
const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Blue,
    Color::Red,
    Color::LightCyan,
    Color::LightYellow,
];

/// The colour of a cell whose value is `ratio` times its expected value (its column's trend).
///
/// A column whose healthy layers spread widely around its trend (norm gains often do) widens the
/// bands: ordinary within 3 of its robust standard deviations, far beyond 6 (the `unlike_siblings`
/// finding's bar), and never narrower than ±10% and ±40%.
pub fn heat(ratio: f64, spread: f64) -> Color {
    let distance = ratio.max(1e-12).log2().abs();
    let spread = spread / std::f64::consts::LN_2;
    if distance < ORDINARY.max(3.0 * spread) {
        Color::Green
    } else if distance < FAR.max(6.0 * spread) {
        Color::Yellow
    } else {
        Color::Red
    }
}

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let map = &app.view.layers;
    if map.layers.is_empty() {
        frame.render_widget(
            Paragraph::new("no stack of repeated blocks in this model")
                .block(Block::bordered().title(" layers ")),
            body,
        );
        return;
    }
    let [chart, grid] = crate::tui::layout::layers(body);
    render_chart(app, frame, chart);
    render_grid(app, frame, grid);
}

fn render_chart(app: &App, frame: &mut Frame, area: Rect) {
    let map = &app.view.layers;
    let grid = &app.layer_grid;
    let series: Vec<Vec<(f64, f64)>> = (0..map.columns.len())
        .map(|c| {
            map.layers
                .iter()
                .zip(&grid.values)
                .filter_map(|(&layer, row)| {
                    row.get(c).copied().flatten().map(|v| (layer as f64, v))
                })
                .collect()
        })
        .collect();
    let (lo, hi) = series
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let title = format!(
        " {} across depth ({}; t: next statistic) ",
        app.layer_stat.label(),
        map.prefix
    );
    if !lo.is_finite() {
        frame.render_widget(
            Paragraph::new(Line::styled(format!("statistics pending {PENDING}"), dim()))
                .block(Block::bordered().title(title)),
            area,
        );
        return;
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let first = *map.layers.first().unwrap_or(&0) as f64;
    let last = (*map.layers.last().unwrap_or(&0) as f64).max(first + 1.0);
    // ratatui draws the legend box over the plot without clearing it: a name shorter than the
    // longest would let the lines show through after it, so every name is padded to the longest.
    let legend_width = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(c, _)| map.columns[c].chars().count())
        .max()
        .unwrap_or(0);
    let datasets: Vec<Dataset> = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(c, s)| {
            Dataset::default()
                .name(format!("{:<legend_width$}", map.columns[c]))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(PALETTE[c % PALETTE.len()]))
                .data(s)
        })
        .collect();
    let mut block = Block::bordered().title(title);
    if let Some(u) = grid.most_unusual {
        block = block.title_bottom(Line::styled(
            format!(
                " most unusual: layer {} {} {} (its role's trend there: {}) ",
                map.layers[u.row],
                map.columns[u.column],
                num(u.value),
                num(u.expected)
            ),
            Style::new().fg(heat(
                u.value / u.expected,
                grid.spread.get(u.column).copied().unwrap_or(0.0),
            )),
        ));
    }
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(Axis::default().title("layer").bounds([first, last]).labels(
            if last - first >= 4.0 {
                vec![
                    format!("{first}"),
                    format!("{}", ((first + last) / 2.0).round()),
                    format!("{last}"),
                ]
            } else {
                vec![format!("{first}"), format!("{last}")]
            },
        ))
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([num(lo), num((lo + hi) / 2.0), num(hi)]),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopRight))
        .hidden_legend_constraints((Constraint::Percentage(50), Constraint::Percentage(100)));
    frame.render_widget(chart, area);
}

fn render_grid(app: &App, frame: &mut Frame, area: Rect) {
    let map = &app.view.layers;
    let grid = &app.layer_grid;
    const CELL: u16 = 7;
    let header = Row::new(
        std::iter::once(Cell::from("layer"))
            // Each label in its line's colour: the header is the chart's legend too.
            .chain(map.columns.iter().enumerate().map(|(i, c)| {
                Cell::from(Span::styled(
                    c.clone(),
                    Style::new().fg(PALETTE[i % PALETTE.len()]),
                ))
            })),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = map
        .layers
        .iter()
        .zip(&grid.values)
        .enumerate()
        .skip(app.layers_scroll)
        .map(|(row, (layer, values))| {
            let cells = values.iter().enumerate().map(move |(c, v)| {
                let expected = grid
                    .expected
                    .get(row)
                    .and_then(|r| r.get(c))
                    .copied()
                    .flatten();
                match (v, expected) {
                    (None, _) => Cell::from(Span::styled(PENDING, dim())),
                    (Some(v), Some(m)) if m != 0.0 => {
                        let spread = grid.spread.get(c).copied().unwrap_or(0.0);
                        Cell::from(Span::styled(
                            "███████",
                            Style::new().fg(heat(v / m, spread)),
                        ))
                    }
                    (Some(v), _) => Cell::from(Span::styled(
                        "███████",
                        Style::new().fg(if *v == 0.0 { Color::Green } else { Color::Red }),
                    )),
                }
            });
            Row::new(std::iter::once(Cell::from(layer.to_string())).chain(cells))
        })
        .collect();
    let widths = std::iter::once(Constraint::Length(6)).chain(
        map.columns
            .iter()
            .map(|c| Constraint::Length((c.chars().count() as u16).clamp(CELL, 16))),
    );
    let title = Line::from(vec![
        Span::raw(format!(
            " layer × role: {} relative to the role's trend across depth ",
            app.layer_stat.label()
        )),
        Span::styled("■ usual ", Style::new().fg(Color::Green)),
        Span::styled("■ unusual ", Style::new().fg(Color::Yellow)),
        Span::styled("■ far off ", Style::new().fg(Color::Red)),
    ]);
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(Block::bordered().title(title)),
        area,
    );
}

//! The Transparency tab: what these files reveal, item by item, beside what a closed model behind
//! an API shows. The transparency report will fill this frame with its full item list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Row, Table};

use super::dim;
use crate::tui::app::App;
use crate::tui::data::Disclosed;

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let rows: Vec<Row> = app
        .view
        .disclosures
        .iter()
        .map(|d| {
            let (mark, word, style) = match d.status {
                Disclosed::Shown => ("✔", "in the files", Style::new().fg(Color::Green)),
                Disclosed::Declared => ("◐", "declared", Style::new().fg(Color::Yellow)),
                Disclosed::Missing => ("✘", "missing", Style::new().fg(Color::Red)),
            };
            let closed_style = if d.closed.shows() {
                Style::new()
            } else {
                dim()
            };
            Row::new(vec![
                Line::from(Span::styled(format!("{mark} {word}"), style)),
                Line::from(Span::styled(
                    d.item,
                    Style::new().add_modifier(Modifier::BOLD),
                )),
                Line::from(crate::text::printable(&d.found, false).into_owned()),
                Line::from(Span::styled(d.closed.label(), closed_style)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        "",
        "item",
        "what these files reveal",
        "a closed API model",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(14),
                Constraint::Length(18),
                Constraint::Min(20),
                Constraint::Length(26),
            ],
        )
        .header(header)
        .block(
            Block::bordered()
                .title(" open weights vs a closed model behind an API ")
                .title_bottom(Line::styled(
                    " declared = stated in a card or licence, not proven by the weights ",
                    dim(),
                )),
        ),
        body,
    );
}

//! The Overview tab: the architecture, declared-vs-observed checks (contradictions in red, from the
//! check's status), parameters by component as bars, the memory estimate, files, and the findings
//! once the statistics are done.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};

use super::dim;
use super::tensors::severity_style;
use crate::text::{human_bytes, human_count, thousands};
use crate::tui::app::App;
use crate::tui::data::CheckStatus;

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let v = &app.view;
    let panes = crate::tui::layout::overview(body, app.overview_lines());
    render_facts(app, frame, panes.facts);
    render_checks(app, frame, panes.checks);
    render_findings(app, frame, panes.findings);
    render_components(app, frame, panes.components);
    render_pairs(frame, panes.memory, " memory ", &v.memory);
    let file_rows: Vec<(String, String)> = v
        .files
        .iter()
        .map(|(name, len)| (name.clone(), human_bytes(*len)))
        .collect();
    render_pairs(frame, panes.files, " files ", &file_rows);
}

fn render_facts(app: &App, frame: &mut Frame, area: Rect) {
    let v = &app.view;
    let mut lines = vec![Line::from(vec![
        Span::styled("family ", dim()),
        Span::styled(v.family.clone(), Style::new().add_modifier(Modifier::BOLD)),
    ])];
    for (k, val) in &v.facts {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:<18}"), dim()),
            Span::raw(val.clone()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" architecture ")),
        area,
    );
}

fn render_checks(app: &App, frame: &mut Frame, area: Rect) {
    let offset = app.checks_offset();
    let page = app.checks_page();
    let rows: Vec<Row> = app
        .view
        .checks
        .iter()
        .skip(offset)
        .map(|c| {
            let style = match c.status {
                CheckStatus::Contradicted => {
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
                }
                CheckStatus::Consistent => Style::new().fg(Color::Green),
                CheckStatus::DeclaredOnly | CheckStatus::ObservedOnly => dim(),
            };
            Row::new(vec![
                Span::raw(c.field.clone()),
                Span::raw(c.declared.clone()),
                Span::raw(c.observed.clone()),
                Span::styled(c.status.label(), style),
            ])
        })
        .collect();
    let contradictions = app
        .view
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Contradicted)
        .count();
    let mut title = vec![Span::raw(" declared vs observed ")];
    if contradictions > 0 {
        title.push(Span::styled(
            format!("─ {contradictions} contradicted "),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    let total = app.view.checks.len();
    // When the table does not fit, where the view is and how to move it.
    let position = (total > page).then(|| {
        let last = (offset + page).min(total);
        Line::styled(
            format!(" {}–{last} of {total} · PgUp/PgDn ", offset + 1),
            dim(),
        )
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(18),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new(vec!["field", "declared", "observed", "status"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block({
            let block = Block::bordered().title(Line::from(title));
            match position {
                Some(p) => block.title_bottom(p.right_aligned()),
                None => block,
            }
        }),
        area,
    );
}

fn render_findings(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = match (&app.model_findings, &app.engine_failure) {
        (None, Some(failure)) => vec![Line::styled(
            format!(
                "the statistics engine failed after {}/{} tensors, the rest stay pending: {}",
                app.progress.tensors_done,
                app.progress.tensors_total,
                crate::text::printable(failure, false)
            ),
            Style::new().fg(Color::Red),
        )],
        (None, None) => vec![Line::styled(
            format!(
                "statistics running ({}/{} tensors): findings appear when they are done",
                app.progress.tensors_done, app.progress.tensors_total
            ),
            dim(),
        )],
        (Some(f), _) if f.is_empty() => {
            vec![Line::styled("no findings", Style::new().fg(Color::Green))]
        }
        (Some(f), _) => f
            .iter()
            .map(|f| {
                Line::from(vec![
                    Span::styled(
                        format!("{:<8}", f.severity.name()),
                        severity_style(f.severity),
                    ),
                    Span::styled(format!("{} ", f.code), dim()),
                    // The tensor first, as the command line writes it.
                    Span::raw(match f.tensor() {
                        Some(t) => format!("{}: ", crate::text::printable(t, false)),
                        None => String::new(),
                    }),
                    Span::raw(crate::text::printable(&f.message, false).into_owned()),
                ])
            })
            .collect(),
    };
    // The architecture's remarks (contradictions in words, deviating blocks) follow the findings.
    lines.extend(app.view.notes.iter().map(|n| {
        Line::from(vec![
            Span::styled("note    ", dim()),
            Span::raw(crate::text::printable(n, false).into_owned()),
        ])
    }));
    let lines: Vec<Line> = lines.into_iter().skip(app.findings_scroll).collect();
    let count = app
        .model_findings
        .as_ref()
        .map_or(String::new(), |f| format!("({}) ", f.len()));
    // The notes listed after the findings are counted apart (the title counted findings only).
    let notes = match app.view.notes.len() {
        0 => String::new(),
        n => format!("· notes ({n}) "),
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(format!(" findings {count}{notes}"))),
        area,
    );
}

/// One bar per component: `mlp        ████████░░░░ 67.6K 62.1%`.
fn render_components(app: &App, frame: &mut Frame, area: Rect) {
    let v = &app.view;
    let total = v.parameters.max(1) as f64;
    let inner_width = usize::from(area.width.saturating_sub(2));
    let bar_width = inner_width.saturating_sub(11 + 15).max(1);
    let mut lines: Vec<Line> = v
        .components
        .iter()
        .map(|(name, n)| {
            let share = *n as f64 / total;
            let full = ((share * bar_width as f64).round() as usize).min(bar_width);
            Line::from(vec![
                Span::raw(format!("{name:<10} ")),
                Span::styled("█".repeat(full), Style::new().fg(Color::Cyan)),
                Span::styled("░".repeat(bar_width - full), dim()),
                Span::raw(format!(" {:>6} {:>5.1}%", human_count(*n), share * 100.0)),
            ])
        })
        .collect();
    if let Some((active, basis)) = &v.active {
        lines.push(Line::from(vec![
            Span::styled("active per token ", dim()),
            Span::raw(format!("{} ", thousands(*active))),
            Span::styled(crate::text::printable(basis, false).into_owned(), dim()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(format!(" parameters {} ", thousands(v.parameters)))),
        area,
    );
}

fn render_pairs(frame: &mut Frame, area: Rect, title: &str, pairs: &[(String, String)]) {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        + 1;
    let lines: Vec<Line> = pairs
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<width$}"), dim()),
                Span::raw(crate::text::printable(v, false).into_owned()),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(title.to_owned())),
        area,
    );
}

//! The Transparency tab: the transparency report (the same as `glassbox transparency`) — the
//! headline count with the licence and openness verdicts on top, every item grouped A–K with its
//! mark (✔ verified, ◐ declared, ✘ missing, ≠ contradicted), status and value beside what a closed
//! model behind an API discloses, and the selected item's evidence and status explained below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::dim;
use crate::text::printable;
use crate::transparency::{Bucket, Item, LicenseClass, Outcome, Status, TransparencyReport};
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::transparency_tab::{ReportState, TransparencyTab};

/// The mark, its word and colour of an item's status.
pub fn mark(status: Status) -> (&'static str, Style) {
    match (status, status.bucket()) {
        (Status::Contradicted, _) => ("≠", Style::new().fg(Color::Red).bold()),
        (_, Some(Bucket::Verified)) => ("✔", Style::new().fg(Color::Green)),
        (_, Some(Bucket::Declared)) => ("◐", Style::new().fg(Color::Yellow)),
        (_, Some(Bucket::Missing)) => ("✘", Style::new().fg(Color::Red)),
        (_, None) => ("–", dim()),
    }
}

/// What a status means, for the detail pane (spec §1).
fn meaning(status: Status) -> &'static str {
    match status {
        Status::Verified => "computed from the bytes on disk",
        Status::Consistent => "declared, and checked against what the files show: they agree",
        Status::Contradicted => "declared, but the files show otherwise (both sides below)",
        Status::Declared => {
            "stated under a machine-readable key or a standard card section; not proven by the weights"
        }
        Status::DeclaredText => "found only in the card's prose (a free-text reading); not proven",
        Status::Referenced => {
            "only a pointer (URL, paper, Hub ID): the content is not in these files"
        }
        Status::Derived => "computed from the verified weights plus one declared value",
        Status::Placeholder => "the section exists but holds template filler",
        Status::Missing => "no evidence anywhere in the files",
        Status::NotApplicable => "does not apply to this model (not counted)",
        Status::NotAssessable => {
            "an organisational fact no file can carry, or not checked here (not counted)"
        }
    }
}

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let tab = &app.transparency;
    let report = match &tab.state {
        ReportState::Ready(r) => r,
        ReportState::Pending => {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    "reading the model card, licence, tokenizer and chat template …",
                    dim(),
                ))
                .block(Block::bordered().title(" transparency ")),
                body,
            );
            return;
        }
        ReportState::Failed(e) => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled(
                        "the transparency report failed:",
                        Style::new().fg(Color::Red),
                    ),
                    Line::from(printable(e, false).into_owned()),
                ])
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" transparency ")),
                body,
            );
            return;
        }
    };
    let panes = layout::transparency(body);
    headline(report, frame, panes.headline);
    items(tab, report, frame, panes.table);
    if let Some(item) = report.items.get(tab.selected) {
        detail(item, frame, panes.detail);
    }
}

/// `✔ 12 verified · ◐ 9 declared · ✘ 14 missing of 35 applicable`, then the licence and the
/// openness verdicts.
fn headline(report: &TransparencyReport, frame: &mut Frame, area: Rect) {
    let c = &report.counts;
    let mut counts = vec![
        Span::styled(
            format!(" ✔ {} verified", c.verified),
            Style::new().fg(Color::Green),
        ),
        Span::styled(" · ", dim()),
        Span::styled(
            format!("◐ {} declared", c.declared),
            Style::new().fg(Color::Yellow),
        ),
    ];
    if c.contradicted > 0 {
        counts.push(Span::styled(
            format!(" ({} contradicted)", c.contradicted),
            Style::new().fg(Color::Red).bold(),
        ));
    }
    counts.extend([
        Span::styled(" · ", dim()),
        Span::styled(
            format!("✘ {} missing", c.missing),
            Style::new().fg(Color::Red),
        ),
        Span::raw(format!(" of {} applicable items", c.applicable)),
    ]);
    if area.width >= 110 {
        counts.push(Span::styled("   vs a closed model behind an API →", dim()));
    }
    let l = &report.license;
    let licence = match (&l.id, &l.name) {
        (Some(id), _) => id.clone(),
        (None, Some(name)) => name.clone(),
        (None, None) => "none found".to_owned(),
    };
    let class_style = match l.class {
        LicenseClass::Open => Style::new().fg(Color::Green),
        LicenseClass::Restricted => Style::new().fg(Color::Yellow),
        LicenseClass::Unknown | LicenseClass::Missing => Style::new().fg(Color::Red),
    };
    let mut class = l.class.name().to_owned();
    if !l.restrictions.is_empty() {
        let names: Vec<&str> = l.restrictions.iter().map(|r| r.name()).collect();
        class.push_str(&format!(": {}", names.join(", ")));
    }
    if l.contradicted {
        class.push_str(", card and LICENSE disagree");
    }
    let o = &report.openness;
    let mof = match o.mof_class {
        Some(class) => {
            let name = o
                .mof
                .iter()
                .find(|v| v.class == class)
                .map_or("", |v| v.name);
            format!("MOF class {class} ({name}) met")
        }
        None => "MOF: no class met".to_owned(),
    };
    let outcome_style = |met: bool| {
        if met {
            Style::new().fg(Color::Green)
        } else {
            Style::new().fg(Color::Yellow)
        }
    };
    let second = vec![
        Span::styled(" licence ", dim()),
        Span::raw(printable(&licence, false).into_owned()),
        Span::raw(" ("),
        Span::styled(class, class_style),
        Span::raw(")"),
        Span::styled(" · ", dim()),
        Span::styled(mof, outcome_style(o.mof_class.is_some())),
        Span::styled(" · ", dim()),
        Span::styled(
            format!("OSAID 1.0 {}", o.osaid.name()),
            outcome_style(o.osaid == Outcome::Met),
        ),
    ];
    frame.render_widget(
        Paragraph::new(vec![Line::from(counts), Line::from(second)]),
        area,
    );
}

/// `text` in exactly `width` columns: padded, or cut with `…`.
fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}

/// The items, a title line before each group (spanning the row, which a table cannot), the
/// selected item reversed.
fn items(tab: &TransparencyTab, report: &TransparencyReport, frame: &mut Frame, area: Rect) {
    let inner = usize::from(area.width.saturating_sub(2));
    let item_width = (inner / 4).clamp(12, 30);
    let closed_width = (inner / 4).clamp(12, 34);
    // mark, id, item, status, value, closed API, with one space between.
    let value_width = inner.saturating_sub(2 + 4 + item_width + 1 + 15 + closed_width + 1);
    let mut lines = vec![Line::styled(
        format!(
            "  {}{} {}{} {}",
            fit("id", 4),
            fit("item", item_width),
            fit("status", 15),
            fit("what these files show", value_width),
            fit("a closed API model", closed_width)
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let mut body = Vec::new();
    let mut group = None;
    for (i, item) in report.items.iter().enumerate() {
        if group != Some(item.group) {
            group = Some(item.group);
            body.push(Line::styled(
                format!("{:?}   {}", item.group, item.group.title()),
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ));
        }
        let (symbol, style) = mark(item.status);
        let value = item
            .value
            .as_deref()
            .map_or_else(|| "—".to_owned(), |v| printable(v, false).into_owned());
        let mut line = Line::from(vec![
            Span::styled(format!("{symbol} "), style),
            Span::raw(fit(item.id, 4)),
            Span::raw(fit(item.item, item_width)),
            Span::raw(" "),
            Span::styled(fit(item.status.name(), 15), style),
            Span::raw(fit(&value, value_width)),
            Span::raw(" "),
            Span::styled(fit(item.closed_api, closed_width), dim()),
        ]);
        if i == tab.selected {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        body.push(line);
    }
    lines.extend(body.into_iter().skip(tab.scroll));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(
            " {}: what the files prove, what they only claim, what stays hidden (A–K) ",
            printable(&report.name, false)
        ))),
        area,
    );
}

fn detail(item: &Item, frame: &mut Frame, area: Rect) {
    let (symbol, style) = mark(item.status);
    let label = |s: &str| Span::styled(format!("{s:<11}"), dim());
    let mut lines = vec![
        Line::from(vec![
            label("status"),
            Span::styled(format!("{symbol} {}", item.status.name()), style),
            Span::styled(format!(" — {}", meaning(item.status)), dim()),
        ]),
        Line::from(vec![
            label("value"),
            Span::raw(
                item.value
                    .as_deref()
                    .map_or_else(|| "—".to_owned(), |v| printable(v, false).into_owned()),
            ),
        ]),
    ];
    lines.push(Line::from(vec![
        label("closed API"),
        Span::raw(item.closed_api),
    ]));
    if item.evidence.is_empty() {
        lines.push(Line::from(vec![
            label("evidence"),
            Span::styled("none", dim()),
        ]));
    }
    for (i, e) in item.evidence.iter().enumerate() {
        lines.push(Line::from(vec![
            label(if i == 0 { "evidence" } else { "" }),
            Span::raw(printable(e, false).into_owned()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::from(vec![
                Span::raw(" "),
                Span::styled(format!("{} {}", item.id, item.item), Style::new().bold()),
                Span::raw(" "),
            ]))),
        area,
    );
}

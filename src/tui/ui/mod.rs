//! Drawing: [`render`] is a pure function of the [`App`] — it reads the state and its derived data
//! and draws one frame; it changes nothing and computes nothing the state does not already hold
//! beyond layout and number formatting. One file per tab, plus the frame around them here (header,
//! tabs, footer with key hints and progress, help overlay, too-small message).

mod diff;
mod fmt;
mod layers;
mod overview;
mod tensors;
mod transparency;

/// The Layers heatmap's colour of a cell `ratio` times its expected value, in a column of this
/// spread (tests check the colour rule on synthetic grids).
pub use layers::heat as layer_heat;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, Tabs, Wrap};

use super::app::{App, Tab};
use super::keys;
use super::layout;
use crate::text::{human_bytes, human_count};

pub(crate) use fmt::{PENDING, num};

/// The style of values not known yet.
pub(crate) fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if layout::too_small(area) {
        too_small(frame, area);
        return;
    }
    let screen = layout::screen(area);
    header(app, frame, screen.header);
    tabs(app, frame, screen.tabs);
    match app.tab {
        Tab::Overview => overview::render(app, frame, screen.body),
        Tab::Tensors => tensors::render(app, frame, screen.body),
        Tab::Layers => layers::render(app, frame, screen.body),
        Tab::Transparency => transparency::render(app, frame, screen.body),
        Tab::Diff => diff::render(app, frame, screen.body),
    }
    footer(app, frame, screen.footer);
    if app.help {
        help(frame, area, app.help_scroll);
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from("terminal too small".bold()),
        Line::from(format!(
            "need {}×{}, have {}×{}",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            area.width,
            area.height
        )),
        Line::from("q quits"),
    ];
    let height = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(height) / 2;
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        Rect::new(area.x, y, area.width, height),
    );
}

fn header(app: &App, frame: &mut Frame, area: Rect) {
    if app.tab == Tab::Diff
        && let Some(d) = &app.diff
    {
        diff_header(d, frame, area);
        return;
    }
    let v = &app.view;
    let files = v.files.len();
    let sep = || Span::styled(" · ", dim());
    let line = Line::from(vec![
        Span::styled(
            " glassbox ",
            Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan),
        ),
        Span::raw(" "),
        Span::styled(v.name.clone(), Style::new().add_modifier(Modifier::BOLD)),
        sep(),
        Span::raw(v.format.clone()),
        sep(),
        Span::raw(v.family.clone()),
        sep(),
        Span::raw(format!("{} params", human_count(v.parameters))),
        sep(),
        Span::raw(v.precision.clone()),
        sep(),
        Span::raw(format!(
            "{} file{} ({})",
            files,
            if files == 1 { "" } else { "s" },
            human_bytes(v.files.iter().map(|f| f.1).sum())
        )),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// On the Diff tab: `A → B` and the verdict's kind (or how far the comparison is).
fn diff_header(d: &crate::tui::diff_tab::DiffTab, frame: &mut Frame, area: Rect) {
    use crate::tui::diff_tab::DiffState;
    let mut spans = vec![
        Span::styled(
            " glassbox ",
            Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan),
        ),
        Span::raw(" "),
    ];
    match &d.state {
        DiffState::Running { done, total } => {
            spans.push(Span::raw(format!("{} → this model", d.a)));
            spans.push(Span::styled(" · ", dim()));
            spans.push(Span::styled(
                format!(
                    "comparing {:.0}%",
                    *done as f64 * 100.0 / (*total).max(1) as f64
                ),
                Style::new().fg(Color::Yellow),
            ));
        }
        DiffState::Failed(_) => {
            spans.push(Span::raw(format!("{} → this model", d.a)));
            spans.push(Span::styled(" · ", dim()));
            spans.push(Span::styled(
                "comparison failed",
                Style::new().fg(Color::Red),
            ));
        }
        DiffState::Ready(v) => {
            // The kind; the sentence is wrapped at the top of the tab.
            spans.push(Span::raw(format!("{} → {}", v.a, v.b)));
            spans.push(Span::styled(" · ", dim()));
            spans.push(Span::styled(
                verdict_head(&crate::text::printable(&v.verdict, false)),
                diff::verdict_style(v),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The verdict sentence up to its first `:` or `;` ("fine-tuned", "identical weights", "edited
/// in layers 7, 20 (roles q, up), not a training change"): the header's part of it.
fn verdict_head(sentence: &str) -> String {
    sentence
        .split([':', ';'])
        .next()
        .unwrap_or(sentence)
        .trim()
        .to_owned()
}

fn tabs(app: &App, frame: &mut Frame, area: Rect) {
    let titles = app.tab_titles();
    let selected = app.tabs().iter().position(|&t| t == app.tab).unwrap_or(0);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD))
            .divider(" "),
        area,
    );
}

fn footer(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(error) = &app.read_error {
        // Replaces the hints and progress: the statistics stopped, and the keys still work.
        let line = format!(" error: {error}");
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(line, Style::new().fg(Color::Red)))),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    // What the last key did replaces the hints until the next key.
    let hints = match &app.notice {
        Some(notice) => {
            spans.push(Span::styled(
                format!(" {}", crate::text::printable(notice, false)),
                Style::new().fg(Color::Green),
            ));
            Vec::new()
        }
        None => keys::hints(app.context()),
    };
    for (keys, what) in hints {
        spans.push(Span::styled(
            format!(" {keys}"),
            Style::new().fg(Color::Cyan),
        ));
        let what = match (what, app.tab) {
            ("sort", _) => format!(" sort:{}", app.sort.label()),
            ("statistic", _) => format!(" {}", app.layer_stat.label()),
            ("log", _) => format!(" {}", if app.log_histogram { "log" } else { "linear" }),
            _ => format!(" {what}"),
        };
        spans.push(Span::raw(what));
    }
    // The hints and the progress share the line: when both do not fit, the progress gets short.
    let hints_width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let mut progress = progress_text(app, false);
    if hints_width + progress.chars().count() + 1 > usize::from(area.width) {
        progress = progress_text(app, true);
    }
    let width = progress.chars().count() as u16 + 1;
    let [hints, right] =
        ratatui::layout::Layout::horizontal([Constraint::Min(0), Constraint::Length(width)])
            .areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), hints);
    let style = if app.stats_done() {
        Style::new().fg(Color::Green)
    } else if app.engine_failure.is_some() {
        Style::new().fg(Color::Red)
    } else {
        Style::new().fg(Color::Yellow)
    };
    frame.render_widget(Paragraph::new(progress).style(style).right_aligned(), right);
}

/// `stats 61% 123/290 · 1.2/2 GiB · 850 MiB/s · 0:02 left` (`short`: `stats 61% · 0:02 left`),
/// or `stats done`; on the Diff tab the comparison's progress while it runs.
fn progress_text(app: &App, short: bool) -> String {
    if app.tab == Tab::Diff
        && let Some(d) = &app.diff
        && let crate::tui::diff_tab::DiffState::Running { done, total } = &d.state
    {
        let share = *done as f64 * 100.0 / (*total).max(1) as f64;
        return if short {
            format!("diff {share:.0}% ")
        } else {
            format!(
                "diff {share:.0}% · {}/{} ",
                human_bytes(*done),
                human_bytes(*total)
            )
        };
    }
    let p = &app.progress;
    if app.engine_failure.is_some() && !app.stats_done() {
        return if short {
            "stats failed ".into()
        } else {
            format!(
                "stats failed after {}/{} tensors (see Overview) ",
                p.tensors_done, p.tensors_total
            )
        };
    }
    if app.stats_done() && short {
        return "stats done ".into();
    }
    if app.stats_done() {
        return format!(
            "stats done: {} tensors, {} ",
            p.tensors_total,
            human_bytes(p.bytes_total)
        );
    }
    let share = if p.bytes_total > 0 {
        p.bytes_done as f64 / p.bytes_total as f64
    } else {
        0.0
    };
    let secs = app.elapsed.as_secs_f64();
    let left = (secs > 0.0 && p.bytes_done > 0).then(|| {
        let rate = p.bytes_done as f64 / secs;
        (
            rate,
            p.bytes_total.saturating_sub(p.bytes_done) as f64 / rate,
        )
    });
    if short {
        return match left {
            Some((_, left)) => format!("stats {:.0}% · {} left ", share * 100.0, fmt::clock(left)),
            None => format!("stats {:.0}% ", share * 100.0),
        };
    }
    let mut text = format!(
        "stats {:.0}% {}/{} · {}/{}",
        share * 100.0,
        p.tensors_done,
        p.tensors_total,
        human_bytes(p.bytes_done),
        human_bytes(p.bytes_total)
    );
    if let Some((rate, left)) = left {
        text.push_str(&format!(
            " · {}/s · {} left",
            human_bytes(rate as u64),
            fmt::clock(left)
        ));
    }
    text.push(' ');
    text
}

/// Every binding, scrolled by `scroll` rows (`j`/`k`) when the terminal is shorter than the list.
fn help(frame: &mut Frame, area: Rect, scroll: usize) {
    let all = keys::help_rows();
    let total = all.len();
    let scroll =
        scroll.min(total.saturating_sub(usize::from(area.height.saturating_sub(2)).max(1)));
    let rows: Vec<Row> = all
        .into_iter()
        .skip(scroll)
        .map(|(context, keys, what)| {
            Row::new(vec![
                Span::styled(context, dim()),
                Span::styled(keys, Style::new().fg(Color::Cyan)),
                Span::raw(what),
            ])
        })
        .collect();
    let shown = rows.len();
    let height = (shown as u16 + 2).min(area.height);
    let more = if usize::from(height.saturating_sub(2)) < shown || scroll > 0 {
        format!(
            " {}-{} of {total}, j/k scroll ",
            scroll + 1,
            (scroll + usize::from(height.saturating_sub(2))).min(total)
        )
    } else {
        String::new()
    };
    let width = 100.min(area.width);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(16),
                Constraint::Length(16),
                Constraint::Min(10),
            ],
        )
        .block(
            Block::bordered()
                .title(" keys (Esc closes) ")
                .title_bottom(Line::from(more).right_aligned()),
        ),
        popup,
    );
}

//! The TUI without a terminal: the app state driven by synthetic key events and statistics
//! messages (no threads, no timers), screens drawn into ratatui's `TestBackend` and compared as
//! committed insta snapshots, colours checked cell by cell where they carry meaning, and a property
//! test of random keys, statistics and terminal sizes.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use glassbox::Model;
use glassbox::stats::{Progress, StatsEvent};
use glassbox::stats::{StatsOptions, TensorStats};
use glassbox::tui::app::{App, Command, Msg, SortKey, StatState, Tab};
use glassbox::tui::data::ModelView;
use glassbox::tui::tree::NodeKind;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::style::Color;

fn fixture(rel: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    glassbox::model::open(&path).expect("fixture opens")
}

fn app_for(model: &Model, size: (u16, u16)) -> App {
    App::new(ModelView::build(model), size)
}

/// The statistics of every tensor, from the blocking engine: the synthetic messages' payload.
fn all_stats(model: &Model) -> Vec<TensorStats> {
    let model = std::sync::Arc::new(glassbox::model::open(&model.path).expect("reopens"));
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let cancel = AtomicBool::new(false);
    let pool = glassbox::stats::thread_pool(Some(2)).expect("pool");
    glassbox::stats::compute_model_stats(
        &model,
        &all,
        &StatsOptions::default(),
        &pool,
        &|_| {},
        &cancel,
    )
    .expect("not cancelled")
    .0
}

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn feed(app: &mut App, stats: &[TensorStats], which: impl Iterator<Item = usize>) {
    for t in which {
        app.update(Msg::Stats(StatsEvent::Tensor {
            tensor: t,
            stats: stats[t].clone(),
            findings: Vec::new(),
        }));
    }
    app.update(Msg::Progress {
        progress: Progress {
            tensors_done: app
                .stats
                .iter()
                .filter(|s| **s != StatState::Pending)
                .count(),
            tensors_total: app.stats.len(),
            bytes_done: 1 << 20,
            bytes_total: 4 << 20,
        },
        elapsed: Duration::from_secs(2),
    });
    app.settle();
}

fn finish(app: &mut App) {
    app.update(Msg::Stats(StatsEvent::Finished {
        findings: Vec::new(),
    }));
    app.settle();
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| glassbox::tui::ui::render(app, f))
        .expect("draw");
    terminal
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    draw(app, w, h).backend().to_string()
}

/// The position of `text` on screen (first match), as (x, y).
fn find(terminal: &Terminal<TestBackend>, text: &str) -> Option<(u16, u16)> {
    let buffer = terminal.backend().buffer();
    let width = buffer.area.width;
    for y in 0..buffer.area.height {
        let line: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
        if let Some(at) = line.find(text) {
            let x = line[..at].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

fn selected_label(app: &App) -> String {
    let node = app.selected_node().expect("a selected row");
    app.tree.nodes[node].label.clone()
}

/// Selects the row whose label is `label`, with `j` presses from the top.
fn select(app: &mut App, label: &str) {
    key(app, KeyCode::Char('g'));
    for _ in 0..app.rows.len() {
        if selected_label(app) == label {
            return;
        }
        key(app, KeyCode::Char('j'));
    }
    panic!("no row {label:?}");
}

// ---- screens (snapshots) ----

#[test]
fn first_screen_before_any_statistic() {
    let model = fixture("fixtures/llama-tiny");
    let app = app_for(&model, (100, 30));
    assert!(app.stats.iter().all(|s| *s == StatState::Pending));
    insta::assert_snapshot!("overview_loading", screen(&app));
}

/// In an 80-column terminal the detail pane is 32 columns wide: its fields move to the next line
/// whole, never cut (`@ 0x88a0` had lost digits, `L2 2.14` its value).
#[test]
fn a_narrow_detail_pane_wraps_fields_whole() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (80, 24));
    key(&mut app, KeyCode::Char('2'));
    feed(&mut app, &stats, 0..stats.len());
    finish(&mut app);
    select(&mut app, "layers.{0..1} ×2");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    select(&mut app, "mlp");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('j'));
    let text = screen(&app);
    let name = "model.layers.0.mlp.down_proj.weight";
    let i = app
        .view
        .tensors
        .iter()
        .position(|t| t.name == name)
        .unwrap();
    // The detail pane's lines: right of the tree's border.
    let pane: Vec<&str> = text.lines().filter_map(|l| l.split("││").nth(1)).collect();
    let has = |needle: &str| pane.iter().any(|l| l.contains(needle));
    assert!(
        has(&format!("@ {:#x}", app.view.tensors[i].offset)),
        "{text}"
    );
    // L2 with its whole value, as three significant digits.
    let l2: f64 = pane
        .iter()
        .find_map(|l| l.split("L2 ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.trim_end_matches('│').parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    let want = stats[i].l2_norm.unwrap();
    assert!((l2 / want - 1.0).abs() < 0.005, "{l2} vs {want}: {text}");
    assert!(has("outliers "), "{text}");
}

#[test]
fn tensors_tab_pending_partial_and_complete() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (110, 30));
    key(&mut app, KeyCode::Char('2'));
    select(&mut app, "layers.{0..1} ×2");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("tensors_pending", screen(&app));
    // Pending values are drawn as pending, never as zero.
    let text = screen(&app);
    assert!(text.contains('…'));

    feed(&mut app, &stats, 0..stats.len() / 2);
    insta::assert_snapshot!("tensors_partial", screen(&app));

    feed(&mut app, &stats, stats.len() / 2..stats.len());
    finish(&mut app);
    select(&mut app, "mlp");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('j'));
    insta::assert_snapshot!("tensors_complete_detail", screen(&app));
    key(&mut app, KeyCode::Char('L'));
    insta::assert_snapshot!("tensors_complete_log_histogram", screen(&app));
}

#[test]
fn help_overlay_lists_every_key() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (110, 36));
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    let text = screen(&app);
    insta::assert_snapshot!("help", text);
    // Every binding is on screen at some scroll position: the list scrolls to its end.
    let mut seen = text;
    for _ in 0..glassbox::tui::keys::BINDINGS.len() {
        key(&mut app, KeyCode::Char('j'));
        seen.push_str(&screen(&app));
    }
    assert!(app.help, "j scrolls, it does not close");
    for (_, keys, what) in glassbox::tui::keys::help_rows() {
        assert!(seen.contains(what), "help lacks {what:?} ({keys})");
    }
    key(&mut app, KeyCode::Esc);
    assert!(!app.help);
}

/// Over the Overview, PgDn and PgUp page the help, not the checks behind it, and G shows the
/// last page of keys in a full popup (it had shrunk to the last key alone).
#[test]
fn help_pages_itself_and_its_end_is_a_full_page() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (80, 24));
    key(&mut app, KeyCode::Char('?'));
    let total = glassbox::tui::keys::BINDINGS.len();
    key(&mut app, KeyCode::PageDown);
    assert!(app.help_scroll > 0, "PgDn pages the help");
    assert_eq!(app.checks_scroll, 0, "the checks behind it stay");
    key(&mut app, KeyCode::Char('G'));
    let text = screen(&app);
    assert!(
        text.contains(&format!("{}-{total} of {total}", total - 21)),
        "{text}"
    );
    key(&mut app, KeyCode::PageUp);
    assert!(app.help_scroll < total - 22);
}

#[test]
fn too_small_terminal_shows_a_message_and_recovers_on_resize() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    app.update(Msg::Resize(40, 10));
    let text = screen(&app);
    assert!(text.contains("terminal too small"));
    insta::assert_snapshot!("too_small", text);
    app.update(Msg::Resize(100, 30));
    assert!(!screen(&app).contains("terminal too small"));
}

#[test]
fn overview_complete_with_findings_and_moe_active_parameters() {
    let model = fixture("fixtures/mixtral-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (120, 36));
    feed(&mut app, &stats, 0..stats.len());
    finish(&mut app);
    let text = screen(&app);
    assert!(text.contains("stats done"));
    insta::assert_snapshot!("overview_mixtral_complete", text);
}

#[test]
fn layers_and_transparency_tabs() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (110, 32));
    key(&mut app, KeyCode::Char('3'));
    insta::assert_snapshot!("layers_pending", screen(&app));
    feed(&mut app, &stats, 0..stats.len());
    finish(&mut app);
    insta::assert_snapshot!("layers_complete", screen(&app));
    key(&mut app, KeyCode::Char('t'));
    assert!(screen(&app).contains("abs max across depth"));
    key(&mut app, KeyCode::Char('4'));
    assert_eq!(app.tab, Tab::Transparency);
    // The report the background thread builds, unhashed.
    let arch = glassbox::arch::infer_architecture(&model);
    let sources = glassbox::transparency::open_sources(&model);
    let report = glassbox::transparency::build_report(&model, &arch, &sources, None, None);
    app.update(Msg::Transparency(Ok(Box::new(report))));
    insta::assert_snapshot!("transparency", screen(&app));
}

#[test]
fn gguf_metadata_is_browsable_and_tensors_show_their_hf_name() {
    let model = fixture("fixtures/gguf/llama-tiny.gguf");
    let mut app = app_for(&model, (120, 34));
    key(&mut app, KeyCode::Char('2'));
    let meta = app
        .rows
        .iter()
        .position(|r| app.tree.nodes[r.node].kind == NodeKind::MetaRoot)
        .expect("a metadata node");
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected, meta, "metadata is the last row");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "/");
    keys(&mut app, "chat_template");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "tokenizer.chat_template");
    let text = screen(&app);
    assert!(text.contains("{% for m in messages %}"), "{text}");
    insta::assert_snapshot!("gguf_chat_template", text);
    key(&mut app, KeyCode::Esc);
    // A tensor's detail names its Hugging Face name.
    keys(&mut app, "/attn_q");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "attn_q.weight");
    assert!(
        screen(&app).contains("hf_name model.layers.0.self_attn.q_proj.weight"),
        "{}",
        screen(&app)
    );
}

// ---- colour carries meaning ----

#[test]
fn contradicted_checks_are_red_from_their_status() {
    let model = fixture("fixtures/families/contradicting-config");
    let app = app_for(&model, (120, 40));
    let terminal = draw(&app, 120, 40);
    let (x, y) = find(&terminal, "CONTRADICTED").expect("a contradiction shown");
    assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::Red);
    let (x, y) = find(&terminal, "consistent").expect("a consistent check");
    assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::Green);
}

#[test]
fn a_layer_far_from_its_role_median_is_red_in_the_heatmap() {
    let model = fixture("fixtures/llama-tiny");
    let mut stats = all_stats(&model);
    // Layer 1's down projection re-initialised: ten times the spread of layer 0's.
    let down1 = model
        .tensors
        .iter()
        .position(|t| t.name == "model.layers.1.mlp.down_proj.weight")
        .unwrap();
    stats[down1].std = stats[down1].std.map(|s| s * 10.0);
    let mut app = app_for(&model, (110, 32));
    key(&mut app, KeyCode::Char('3'));
    feed(&mut app, &stats, 0..stats.len());
    let column = app
        .view
        .layers
        .columns
        .iter()
        .position(|c| c == "down")
        .expect("a down column");
    let q = app
        .view
        .layers
        .columns
        .iter()
        .position(|c| c == "q")
        .unwrap();
    let terminal = draw(&app, 110, 32);
    let buffer = terminal.backend().buffer();
    let (_, header_y) = find(&terminal, "layer  ").expect("the grid header");
    // Column x: the label's position in the header row.
    let header: String = (0..110).map(|x| buffer[(x, header_y)].symbol()).collect();
    let x_of = |label: &str| {
        let at = header.find(&format!(" {label} ")).expect("column label") + 1;
        header[..at].chars().count() as u16
    };
    let (x_down, x_q) = (x_of(&app.view.layers.columns[column]), x_of("q"));
    // Two layers: the median sits between them, so both down cells are far from it.
    assert_eq!(buffer[(x_down, header_y + 2)].fg, Color::Red);
    assert_eq!(buffer[(x_down, header_y + 1)].fg, Color::Red);
    let _ = q;
    assert_ne!(buffer[(x_q, header_y + 1)].fg, Color::Red);
}

#[test]
fn a_tensor_row_and_its_groups_take_the_colour_of_the_worst_finding() {
    use glassbox::finding::{Finding, Severity, Subject};
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (110, 30));
    key(&mut app, KeyCode::Char('2'));
    let norm = model
        .tensors
        .iter()
        .position(|t| t.name == "model.norm.weight")
        .unwrap();
    let embed = model
        .tensors
        .iter()
        .position(|t| t.name == "model.embed_tokens.weight")
        .unwrap();
    let finding = |severity, name: &str| {
        Finding::new(
            severity,
            "nan",
            Subject::Tensor(name.into()),
            "2 NaN values",
        )
    };
    for (t, severity) in [(norm, Severity::Error), (embed, Severity::Warning)] {
        app.update(Msg::Stats(StatsEvent::Tensor {
            tensor: t,
            stats: stats[t].clone(),
            findings: vec![finding(severity, &model.tensors[t].name)],
        }));
    }
    app.settle();
    select(&mut app, "layers.{0..1} ×2"); // the selection is drawn reversed: keep it elsewhere
    let terminal = draw(&app, 110, 30);
    let fg = |text: &str| {
        let (x, y) = find(&terminal, text).expect(text);
        terminal.backend().buffer()[(x, y)].fg
    };
    assert_eq!(fg("norm.weight"), Color::Red);
    assert_eq!(fg("embed_tokens.weight"), Color::Yellow);
    assert_eq!(fg("▾ model"), Color::Red, "the group holds the worst");
    assert_eq!(fg("metadata"), Color::Reset);
}

// ---- state ----

#[test]
fn quit_and_ctrl_c_quit_even_while_typing_a_filter() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Command::Quit]);
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    keys(&mut app, "/q");
    assert!(
        app.searching && app.filter == "q" && !app.quit,
        "q is typed"
    );
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.update(Msg::Key(ctrl_c)).contains(&Command::Quit));
    assert!(app.quit);
}

#[test]
fn filter_keeps_matches_and_their_groups_and_esc_clears_it() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    let before = app.rows.len();
    keys(&mut app, "/up_proj");
    let tensors: Vec<String> = app
        .rows
        .iter()
        .filter_map(|r| match app.tree.nodes[r.node].kind {
            NodeKind::Tensor(t) => Some(app.view.tensors[t].name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        tensors,
        [
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.1.mlp.up_proj.weight"
        ]
    );
    // A glob matches whole names.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.rows.len(), before);
    keys(&mut app, "/*.1.*norm*");
    key(&mut app, KeyCode::Enter);
    assert!(!app.searching);
    let n = app
        .rows
        .iter()
        .filter(|r| matches!(app.tree.nodes[r.node].kind, NodeKind::Tensor(_)))
        .count();
    assert_eq!(n, 2, "input and post-attention norms of layer 1");
    key(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty());
    assert_eq!(app.rows.len(), before);
}

#[test]
fn a_filter_given_at_start_applies_on_settle() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    app.set_filter("*down_proj*".into());
    app.settle();
    assert!(!app.searching);
    let tensors = app
        .rows
        .iter()
        .filter(|r| matches!(app.tree.nodes[r.node].kind, NodeKind::Tensor(_)))
        .count();
    assert_eq!(tensors, 2);
}

#[test]
fn natural_numeric_order_and_repeated_blocks_collapse_with_count_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..12)
        .flat_map(|l| {
            [
                format!("layers.{l}.attn.weight"),
                format!("layers.{l}.mlp.weight"),
            ]
        })
        .chain(["embed.weight".to_owned()])
        .collect();
    let path = write_safetensors(dir.path(), &names, 4);
    let model = glassbox::model::open(&path).unwrap();
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    let labels: Vec<String> = app
        .rows
        .iter()
        .map(|r| app.tree.nodes[r.node].label.clone())
        .collect();
    assert_eq!(labels, ["embed.weight", "layers.{0..11} ×12"]);
    let group = &app.tree.nodes[app.rows[1].node];
    assert_eq!(group.tensors.len(), 24);
    assert_eq!(group.bytes, 24 * 16);
    select(&mut app, "layers.{0..11} ×12");
    key(&mut app, KeyCode::Char('l'));
    let labels: Vec<String> = app.rows[2..]
        .iter()
        .map(|r| app.tree.nodes[r.node].label.clone())
        .collect();
    let expected: Vec<String> = (0..12).map(|l| format!("layers.{l}")).collect();
    assert_eq!(labels, expected);
    // `h` on a child goes to its parent, then collapses it.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(selected_label(&app), "layers.{0..11} ×12");
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.rows.len(), 2);
}

#[test]
fn the_layer_grid_scrolls_and_stops_at_the_last_layer() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..40)
        .flat_map(|l| {
            [
                format!("model.layers.{l}.self_attn.q_proj.weight"),
                format!("model.layers.{l}.mlp.down_proj.weight"),
            ]
        })
        .collect();
    let path = write_safetensors(dir.path(), &names, 4);
    let model = glassbox::model::open(&path).unwrap();
    let mut app = app_for(&model, (100, 30));
    assert_eq!(app.view.layers.layers.len(), 40);
    key(&mut app, KeyCode::Char('3'));
    let grid_rows = |app: &App| {
        let text = screen(app);
        text.lines()
            .skip_while(|l| !l.contains("│layer "))
            .skip(1)
            .map_while(|l| {
                l.trim_start_matches(['"', '│'])
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse::<u64>().ok())
            })
            .collect::<Vec<u64>>()
    };
    assert_eq!(grid_rows(&app).first(), Some(&0));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.layers_scroll, 1);
    assert_eq!(grid_rows(&app).first(), Some(&1));
    // The end shows a full grid ending at the last layer, not the last layer alone.
    key(&mut app, KeyCode::Char('G'));
    let rows = grid_rows(&app);
    assert_eq!(rows.last(), Some(&39), "{rows:?}");
    assert!(rows.len() >= 8, "{rows:?}");
    assert_eq!(rows.first(), Some(&(app.layers_scroll as u64)));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(grid_rows(&app), rows, "no further");
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.layers_scroll, 0);
}

#[test]
fn the_most_unusual_layer_is_named_under_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20)
        .flat_map(|l| {
            [
                format!("model.layers.{l}.self_attn.q_proj.weight"),
                format!("model.layers.{l}.mlp.down_proj.weight"),
            ]
        })
        .collect();
    let path = write_safetensors(dir.path(), &names, 4);
    let model = glassbox::model::open(&path).unwrap();
    // Synthetic statistics: every tensor std 1 (q) or 2 (down), layer 17's down 0.2 — a
    // re-initialised layer.
    let template = all_stats(&model)[0].clone();
    let stats: Vec<TensorStats> = model
        .tensors
        .iter()
        .map(|t| {
            let std = match t.name.as_str() {
                "model.layers.17.mlp.down_proj.weight" => 0.2,
                n if n.contains("down_proj") => 2.0,
                _ => 1.0,
            };
            TensorStats {
                std: Some(std),
                mean: Some(0.0),
                finite: 4,
                ..template.clone()
            }
        })
        .collect();
    let mut app = app_for(&model, (110, 34));
    key(&mut app, KeyCode::Char('3'));
    feed(&mut app, &stats, 0..stats.len());
    let unusual = app.layer_grid.most_unusual.expect("a deviating cell");
    assert_eq!(app.view.layers.layers[unusual.row], 17);
    assert_eq!(app.view.layers.columns[unusual.column], "down");
    assert_eq!(unusual.value, 0.2);
    assert!(
        (unusual.expected - 2.0).abs() < 1e-12,
        "{}",
        unusual.expected
    );
    let terminal = draw(&app, 110, 34);
    let (x, y) = find(
        &terminal,
        "most unusual: layer 17 down 0.200 (its role's trend there: 2.00)",
    )
    .expect("named under the chart");
    assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::Red);
}

/// Real models' spreads change smoothly with depth: a column whose std grows fourfold from the
/// first layer to the last is compared with its trend, so only the layer that leaves it is red
/// (against the column's median, the first and last layers were red too).
#[test]
fn the_heatmap_follows_a_role_s_trend_across_depth() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20)
        .map(|l| format!("model.layers.{l}.mlp.down_proj.weight"))
        .collect();
    let path = write_safetensors(dir.path(), &names, 4);
    let model = glassbox::model::open(&path).unwrap();
    let template = all_stats(&model)[0].clone();
    let trend = |l: usize| 4f64.powf(l as f64 / 19.0);
    let stats: Vec<TensorStats> = model
        .tensors
        .iter()
        .map(|t| {
            let l: usize = t.name.split('.').nth(2).unwrap().parse().unwrap();
            let std = if l == 11 { 0.2 * trend(l) } else { trend(l) };
            TensorStats {
                std: Some(std),
                ..template.clone()
            }
        })
        .collect();
    let mut app = app_for(&model, (110, 34));
    key(&mut app, KeyCode::Char('3'));
    feed(&mut app, &stats, 0..stats.len());
    let grid = &app.layer_grid;
    let mut red = Vec::new();
    for (row, values) in grid.values.iter().enumerate() {
        let (v, e) = (values[0].unwrap(), grid.expected[row][0].unwrap());
        if glassbox::tui::ui::layer_heat(v / e, grid.spread[0]) == Color::Red {
            red.push(app.view.layers.layers[row]);
        }
    }
    assert_eq!(red, [11]);
    let first = grid.expected[0][0].unwrap();
    assert!((first - 1.0).abs() < 1e-9, "{first}");
}

#[test]
fn sort_cycles_and_orders_by_size_then_by_statistic_with_pending_last() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    let children = |app: &App| -> Vec<String> {
        app.rows
            .iter()
            .filter(|r| r.depth == 1)
            .map(|r| app.tree.nodes[r.node].label.clone())
            .collect()
    };
    assert_eq!(
        children(&app),
        ["embed_tokens.weight", "layers.{0..1} ×2", "norm.weight"]
    );
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Size);
    assert_eq!(
        children(&app),
        ["layers.{0..1} ×2", "embed_tokens.weight", "norm.weight"]
    );
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Std);
    let norm = model
        .tensors
        .iter()
        .position(|t| t.name == "model.norm.weight")
        .unwrap();
    feed(&mut app, &stats, std::iter::once(norm));
    // Only the norm is measured: it comes first, the pending ones after it, by name.
    assert_eq!(
        children(&app),
        ["norm.weight", "embed_tokens.weight", "layers.{0..1} ×2"]
    );
    feed(&mut app, &stats, 0..stats.len());
    let std_of = |label: &str| {
        let row = app
            .rows
            .iter()
            .find(|r| app.tree.nodes[r.node].label == label)
            .unwrap();
        app.aggregates[row.node]
            .stats
            .as_ref()
            .unwrap()
            .std
            .unwrap()
    };
    let order = children(&app);
    let stds: Vec<f64> = order.iter().map(|l| std_of(l)).collect();
    assert!(stds.windows(2).all(|w| w[0] >= w[1]), "{order:?} {stds:?}");
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('s'));
    }
    assert_eq!(app.sort, SortKey::Name);
}

#[test]
fn what_is_on_screen_is_prioritised_the_selection_first() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    select(&mut app, "norm.weight");
    let norm = model
        .tensors
        .iter()
        .position(|t| t.name == "model.norm.weight")
        .unwrap();
    // Moving away and back makes the focus change, so a new priority list is sent.
    key(&mut app, KeyCode::Char('k'));
    let commands = key(&mut app, KeyCode::Char('j'));
    let Some(Command::Prioritize(list)) = commands.first() else {
        panic!("no priority sent: {commands:?}");
    };
    assert_eq!(list.first(), Some(&norm));
    // Once measured, a tensor is no longer asked for.
    let stats = all_stats(&model);
    feed(&mut app, &stats, std::iter::once(norm));
    let commands = key(&mut app, KeyCode::Char('k'));
    if let Some(Command::Prioritize(list)) = commands.first() {
        assert!(!list.contains(&norm));
    }
}

#[test]
fn copy_mouse_capture_and_clicks() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    key(&mut app, KeyCode::Char('2'));
    select(&mut app, "norm.weight");
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::Copy("model.norm.weight".into())]
    );
    assert!(
        !app.mouse_capture,
        "off by default: it blocks text selection"
    );
    assert!(key(&mut app, KeyCode::Char('m')).contains(&Command::MouseCapture(true)));
    assert!(key(&mut app, KeyCode::Char('m')).contains(&Command::MouseCapture(false)));
    // A click on the first tree row (below the tabs, the border and the column header) selects it.
    let click = |row: u16| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(4));
    assert_eq!(app.selected, 0);
    app.update(click(5));
    assert_eq!(app.selected, 1);
    // Outside the rows: nothing happens.
    app.update(click(0));
    assert_eq!(app.selected, 1);
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 5,
        modifiers: KeyModifiers::NONE,
    });
    app.update(wheel);
    assert_eq!(app.selected, 4.min(app.rows.len() - 1));
}

#[test]
fn overview_findings_and_notes_scroll_with_j_and_k() {
    let model = fixture("fixtures/families/contradicting-config");
    let mut app = app_for(&model, (120, 40));
    let notes = app.view.notes.clone();
    assert!(
        notes.len() >= 2,
        "the fixture contradicts its config: {notes:?}"
    );
    // Before statistics are done: one status line, then the notes, counted in the title.
    let first_words = |n: &str| n.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    assert!(screen(&app).contains(&first_words(&notes[0])));
    assert!(
        screen(&app).contains(&format!(" findings · notes ({}) ", notes.len())),
        "{}",
        screen(&app)
    );
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.findings_scroll, 2);
    assert!(!screen(&app).contains(&first_words(&notes[0])));
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.findings_scroll, notes.len() - 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.findings_scroll, 0);
}

/// Whether the checks table shows the row of `check`: its field in the first column (18 wide),
/// right after the border, then its declared value.
fn shows_check(screen: &str, check: &glassbox::tui::data::CheckView) -> bool {
    screen.contains(&format!("│{:<18} {}", check.field, check.declared))
}

#[test]
fn the_checks_table_pages_with_pgdn_and_pgup_when_it_does_not_fit() {
    let model = fixture("fixtures/llama-tiny");
    // Tall enough: every check shows, no position, and PgDn moves nothing.
    let mut tall = app_for(&model, (120, 60));
    let fields = tall.view.checks.clone();
    assert!(fields.len() >= 6, "{fields:?}");
    let everything = screen(&tall);
    for f in &fields {
        assert!(shows_check(&everything, f), "{f:?}\n{everything}");
    }
    assert!(!everything.contains("PgUp/PgDn"));
    key(&mut tall, KeyCode::PageDown);
    assert_eq!(tall.checks_offset(), 0);

    // Short: a page of rows, the position in the bottom border, and paging to the end and back.
    let mut app = app_for(&model, (100, 22));
    let page = app.checks_page();
    assert!(page < fields.len(), "page {page} of {}", fields.len());
    let first = screen(&app);
    assert!(shows_check(&first, &fields[0]));
    assert!(!shows_check(&first, &fields[fields.len() - 1]));
    assert!(
        first.contains(&format!("1–{page} of {}", fields.len())),
        "{first}"
    );
    // Page by page until the last row shows; the offset never passes the last full page.
    let mut presses = 0;
    while !shows_check(&screen(&app), &fields[fields.len() - 1]) {
        key(&mut app, KeyCode::PageDown);
        presses += 1;
        assert!(presses <= fields.len(), "the last check never shows");
    }
    assert!(!shows_check(&screen(&app), &fields[0]));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.checks_offset(), fields.len() - page);
    let last = screen(&app);
    assert!(
        last.contains(&format!(
            "{}–{} of {}",
            fields.len() - page + 1,
            fields.len(),
            fields.len()
        )),
        "{last}"
    );
    for _ in 0..presses + 1 {
        key(&mut app, KeyCode::PageUp);
    }
    assert_eq!(app.checks_offset(), 0);
    assert!(shows_check(&screen(&app), &fields[0]));
    // j/k still scroll the findings, not the checks.
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.checks_offset(), 0);
}

#[test]
fn an_engine_failure_is_shown_and_the_ui_stays_usable() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (120, 36));
    feed(&mut app, &stats, 0..5);
    app.update(Msg::EngineFailed(
        "glassbox-stats-0 panicked at src/decode/x.rs:1:1: boom".into(),
    ));
    // A second failure (the coordinator unwinding) does not replace the cause.
    app.update(Msg::EngineFailed(
        "glassbox-stats-run panicked: echo".into(),
    ));
    assert_eq!(
        app.engine_failure.as_deref(),
        Some("glassbox-stats-0 panicked at src/decode/x.rs:1:1: boom")
    );
    let overview = screen(&app);
    assert!(
        overview.contains("the statistics engine failed after 5/20 tensors"),
        "{overview}"
    );
    assert!(
        overview.contains("stats failed after 5/20 tensors"),
        "{overview}"
    );
    // The footer says so in red.
    let terminal = draw(&app, 120, 36);
    let (x, y) = find(&terminal, "stats failed").expect("footer");
    assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::Red);
    // Still usable: tabs, moves, the measured tensors' statistics, and quitting.
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(app.tab, Tab::Tensors);
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected, 1);
    assert!(matches!(app.stats[0], StatState::Ready(_)));
    assert_eq!(app.stats[10], StatState::Pending);
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Command::Quit]);
}

#[test]
fn the_layers_chart_legend_is_opaque_every_name_filling_its_box() {
    let model = fixture("fixtures/gguf/llama-tiny.gguf");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (120, 36));
    feed(&mut app, &stats, 0..stats.len());
    key(&mut app, KeyCode::Char('3'));
    let columns = app.view.layers.columns.clone();
    let width = columns.iter().map(|c| c.chars().count()).max().unwrap();
    assert!(columns.iter().any(|c| c.chars().count() < width));
    let text = screen(&app);
    // Each legend line is its name, then blanks to the box's right border: no plot cell inside.
    for c in &columns {
        assert!(
            text.contains(&format!("│{c:<width$}│")),
            "legend line of {c}\n{text}"
        );
    }
}

#[test]
fn a_click_on_a_tab_title_opens_it() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (100, 30));
    let terminal = draw(&app, 100, 30);
    for (title, tab) in [
        ("3 Layers", Tab::Layers),
        ("1 Overview", Tab::Overview),
        ("4 Transparency", Tab::Transparency),
        ("2 Tensors", Tab::Tensors),
    ] {
        let (x, y) = find(&terminal, title).expect("tab title on screen");
        app.update(Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x + 2,
            row: y,
            modifiers: KeyModifiers::NONE,
        }));
        assert_eq!(app.tab, tab, "{title}");
    }
}

#[test]
fn statistics_are_kept_across_tabs_and_bad_events_are_ignored() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (100, 30));
    feed(&mut app, &stats, 0..3);
    for c in ['2', '3', '4', '1', '2'] {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(
        app.stats[..3]
            .iter()
            .all(|s| matches!(s, StatState::Ready(_)))
    );
    assert!(app.stats[3..].iter().all(|s| *s == StatState::Pending));
    // An index outside the model is dropped, not a panic.
    app.update(Msg::Stats(StatsEvent::Tensor {
        tensor: 10_000,
        stats: stats[0].clone(),
        findings: Vec::new(),
    }));
    app.update(Msg::Stats(StatsEvent::Cancelled));
    assert!(!app.stats_done());
    finish(&mut app);
    assert!(app.stats_done());
}

// ---- property: no panic ----

fn any_key() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        prop::sample::select(vec![
            'j', 'k', 'g', 'G', 'h', 'l', ' ', '/', 's', 'L', 't', 'y', 'm', '?', '1', '2', '3',
            '4', '5', 'J', 'K', 'a', '*', 'q', '.', '0',
        ])
        .prop_map(KeyCode::Char),
        prop::sample::select(vec![
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
        ]),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Key(KeyCode),
    Resize(u16, u16),
    Stats(usize),
    Click(u16, u16),
    Finish,
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => any_key().prop_map(Step::Key),
        1 => (0u16..200, 0u16..70).prop_map(|(w, h)| Step::Resize(w, h)),
        2 => (0usize..40).prop_map(Step::Stats),
        1 => (0u16..200, 0u16..70).prop_map(|(x, y)| Step::Click(x, y)),
        1 => Just(Step::Finish),
    ]
}

fn mixtral() -> &'static (Model, Vec<TensorStats>) {
    static MODEL: std::sync::OnceLock<(Model, Vec<TensorStats>)> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        let model = fixture("fixtures/mixtral-tiny");
        let stats = all_stats(&model);
        (model, stats)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_keys_statistics_and_sizes_never_panic(steps in prop::collection::vec(any_step(), 1..60)) {
        let (model, stats) = mixtral();
        let mut app = app_for(model, (100, 30));
        for step in steps {
            match step {
                Step::Key(code) => { app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))); }
                Step::Resize(w, h) => { app.update(Msg::Resize(w, h)); }
                Step::Stats(t) => {
                    let t = t % stats.len();
                    app.update(Msg::Stats(StatsEvent::Tensor { tensor: t, stats: stats[t].clone(), findings: Vec::new() }));
                    app.settle();
                }
                Step::Click(x, y) => {
                    app.update(Msg::Mouse(MouseEvent {
                        kind: MouseEventKind::Down(MouseButton::Left),
                        column: x,
                        row: y,
                        modifiers: KeyModifiers::NONE,
                    }));
                }
                Step::Finish => { app.update(Msg::Stats(StatsEvent::Finished { findings: Vec::new() })); }
            }
            prop_assert!(app.selected < app.rows.len().max(1));
            let (w, h) = app.size;
            draw(&app, w, h);
        }
    }
}

// ---- helpers ----

/// Writes a safetensors file of F32 tensors of `len` values each (value = tensor index).
fn write_safetensors(dir: &Path, names: &[String], len: usize) -> PathBuf {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let start = data.len();
        for _ in 0..len {
            data.extend_from_slice(&(i as f32).to_le_bytes());
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": [len], "data_offsets": [start, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&header).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let path = dir.join("model.safetensors");
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes.extend(data);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_group_s_statistics_leave_out_its_integer_buffers() {
    // bert-tiny's `embeddings` holds `position_ids` (I64, 0 … 63) beside four F32 tensors: the
    // group's max is the largest float value, as the command line's totals count weights only.
    let model = fixture("fixtures/bert-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (120, 40));
    feed(&mut app, &stats, 0..stats.len());
    finish(&mut app);
    let group = app
        .tree
        .nodes
        .iter()
        .position(|n| n.label == "embeddings" && n.tensors.len() == 6)
        .expect("the embeddings group");
    let members = &app.tree.nodes[group].tensors;
    let name = |t: usize| model.tensors[t].name.as_str();
    let buffer = *members
        .iter()
        .find(|&&t| name(t).ends_with("position_ids"))
        .expect("position_ids in the group");
    assert_eq!(stats[buffer].max, Some(63.0));
    let float_max = members
        .iter()
        .filter(|&&t| t != buffer)
        .filter_map(|&t| stats[t].max)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(float_max < 63.0);
    let agg = app.aggregates[group].stats.as_ref().expect("measured");
    assert_eq!(agg.max, Some(float_max));
    assert_eq!(agg.count, 32 + 32 + 2048 + 64 + 4096);
    // The buffer alone still shows its own numbers.
    let own = app
        .tree
        .nodes
        .iter()
        .position(|n| n.tensors == vec![buffer])
        .expect("the buffer's row");
    assert_eq!(
        app.aggregates[own].stats.as_ref().and_then(|g| g.max),
        Some(63.0)
    );
}

/// A finding that compares a tensor with its siblings arrives with the end of the statistics;
/// the tensor's own row and detail show it as the Overview does (the detail said "findings:
/// none" for the one tensor the Overview warned about).
#[test]
fn a_sibling_finding_shows_on_its_tensor() {
    let model = fixture("fixtures/siblings/scaled");
    let stats = all_stats(&model);
    let shared = std::sync::Arc::new(glassbox::model::open(&model.path).expect("reopens"));
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let pool = glassbox::stats::thread_pool(Some(2)).expect("pool");
    let (_, findings) = glassbox::stats::compute_model_stats(
        &shared,
        &all,
        &StatsOptions::default(),
        &pool,
        &|_| {},
        &AtomicBool::new(false),
    )
    .expect("not cancelled");
    let name = "model.layers.3.mlp.down_proj.weight";
    assert!(
        findings
            .iter()
            .any(|f| f.code == "unlike_siblings" && f.tensor() == Some(name)),
        "the engine's own finding"
    );
    let mut app = app_for(&model, (120, 40));
    feed(&mut app, &stats, 0..stats.len());
    app.update(Msg::Stats(StatsEvent::Finished { findings }));
    app.settle();
    let t = model.tensors.iter().position(|t| t.name == name).unwrap();
    assert!(app.findings[t].iter().any(|f| f.code == "unlike_siblings"));
    // Listed once in the Overview, not twice.
    let listed = app.model_findings.as_ref().unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|f| f.code == "unlike_siblings")
            .count(),
        1
    );
}

/// Sorted by zeros, the tree writes each share as a percentage, as the detail pane does.
#[test]
fn the_zeros_column_is_in_percent() {
    let model = fixture("fixtures/llama-tiny");
    let stats = all_stats(&model);
    let mut app = app_for(&model, (120, 36));
    feed(&mut app, &stats, 0..stats.len());
    finish(&mut app);
    key(&mut app, KeyCode::Char('2'));
    for _ in 0..4 {
        key(&mut app, KeyCode::Char('s'));
    }
    assert_eq!(app.sort, glassbox::tui::choices::SortKey::Zeros);
    let text = screen(&app);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("\"│") && l.contains(" BF16 "))
        .collect();
    assert!(!rows.is_empty(), "{text}");
    for row in rows {
        let tree = row.split("││").next().unwrap();
        assert!(
            tree.trim_end_matches(['│', ' ', '"']).ends_with('%'),
            "{row}"
        );
    }
}

/// `y` and `m` change nothing on screen by themselves: the footer says what they did until the
/// next key.
#[test]
fn copy_and_mouse_keys_say_what_they_did() {
    let model = fixture("fixtures/llama-tiny");
    let mut app = app_for(&model, (120, 36));
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('y'));
    let footer = screen(&app).lines().last().unwrap().to_owned();
    assert!(footer.contains("copied model"), "{footer}");
    key(&mut app, KeyCode::Char('j'));
    assert!(!screen(&app).contains("copied"));
    for _ in 0..2 {
        key(&mut app, KeyCode::Char('m'));
        let footer = screen(&app).lines().last().unwrap().to_owned();
        let said = if app.mouse_capture {
            "mouse on"
        } else {
            "mouse off"
        };
        assert!(footer.contains(said), "{footer}");
    }
}

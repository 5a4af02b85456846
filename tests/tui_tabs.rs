//! The Diff and Transparency tabs without a terminal: the app driven by synthetic keys and by the
//! messages the background threads send (a comparison's progress and view, a transparency report),
//! screens drawn into ratatui's `TestBackend` at 120×36 and 80×24 and kept as insta snapshots.
//!
//! Expected values are independent of the code under test: the order of the changed tensors comes
//! from the numpy oracle of `fixtures/diff/expected.json`, the side-by-side moments and the |Δ|
//! octaves are recomputed here from the safetensors bytes.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use glassbox::Model;
use glassbox::diff::{DiffOptions, Status};
use glassbox::report::diff::DiffReport;
use glassbox::transparency::TransparencyReport;
use glassbox::tui::app::{App, Command, Msg, Tab};
use glassbox::tui::data::ModelView;
use glassbox::tui::diff_tab::DiffState;
use glassbox::tui::diff_view::DiffView;
use glassbox::tui::transparency_tab::ReportState;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn open(rel: &str) -> Model {
    glassbox::model::open(root().join(rel)).expect("fixture opens")
}

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| glassbox::tui::ui::render(app, f))
        .expect("draw");
    terminal.backend().to_string()
}

/// The comparison of the two fixtures, as the background thread builds it.
fn diff_view(a: &str, b: &str) -> DiffView {
    let (ma, mb) = (open(a), open(b));
    let pool = glassbox::stats::thread_pool(Some(2)).expect("pool");
    let cancel = AtomicBool::new(false);
    let diff =
        glassbox::diff::compute_diff(&ma, &mb, &DiffOptions::default(), &pool, &|_| {}, &cancel)
            .expect("compares");
    DiffView::new(&DiffReport::new(&ma, &mb, diff))
}

/// The TUI as `glassbox base finetune` opens it, before and after the comparison arrives.
fn diff_app(size: (u16, u16)) -> App {
    let b = open("fixtures/diff/finetune");
    App::new(ModelView::build(&b), size).with_diff("fixtures/diff/base".into(), 321_536)
}

fn finetune_view() -> &'static DiffView {
    static VIEW: std::sync::OnceLock<DiffView> = std::sync::OnceLock::new();
    VIEW.get_or_init(|| diff_view("fixtures/diff/base", "fixtures/diff/finetune"))
}

fn with_view(mut app: App) -> App {
    app.update(Msg::DiffDone(Ok(Box::new(finetune_view().clone()))));
    app
}

fn transparency_report(rel: &str) -> TransparencyReport {
    use glassbox::transparency as t;
    let model = open(rel);
    let arch = glassbox::arch::infer_architecture(&model);
    let sources = t::open_sources(&model);
    t::build_report(&model, &arch, &sources, None, None)
}

/// The F32 values of `tensor` in a single-file safetensors model, read here from the bytes.
fn f32_values(rel: &str, tensor: &str) -> Vec<f64> {
    let bytes = std::fs::read(root().join(rel).join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let entry = &header[tensor];
    assert_eq!(entry["dtype"], "F32");
    let start = 8 + n + entry["data_offsets"][0].as_u64().unwrap() as usize;
    let end = 8 + n + entry["data_offsets"][1].as_u64().unwrap() as usize;
    bytes[start..end]
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
        .collect()
}

// ---- Diff tab ----

#[test]
fn two_models_open_on_the_diff_tab_and_one_model_has_no_fifth_tab() {
    let app = diff_app((120, 36));
    assert_eq!(app.tab, Tab::Diff);
    assert_eq!(app.tabs().len(), 5);
    let mut single = App::new(ModelView::build(&open("fixtures/diff/finetune")), (120, 36));
    assert_eq!(single.tabs(), Tab::SINGLE.to_vec());
    key(&mut single, KeyCode::Char('4'));
    key(&mut single, KeyCode::Char('5'));
    assert_eq!(
        single.tab,
        Tab::Transparency,
        "5 does nothing without a diff"
    );
    key(&mut single, KeyCode::Tab);
    assert_eq!(single.tab, Tab::Overview, "Tab wraps after 4 tabs");
    assert!(!screen(&single, 120, 36).contains("5 Diff"));

    let mut two = diff_app((120, 36));
    key(&mut two, KeyCode::Tab);
    assert_eq!(two.tab, Tab::Overview, "Tab wraps after the Diff tab");
    key(&mut two, KeyCode::BackTab);
    assert_eq!(two.tab, Tab::Diff);
    key(&mut two, KeyCode::Char('2'));
    key(&mut two, KeyCode::Char('5'));
    assert_eq!(two.tab, Tab::Diff);
}

#[test]
fn the_diff_tab_while_comparing_then_done_at_two_sizes() {
    let mut app = diff_app((120, 36));
    app.update(Msg::DiffProgress(160_768));
    let running = screen(&app, 120, 36);
    assert!(running.contains("comparing 50%"), "{running}");
    insta::assert_snapshot!("diff_running_120x36", running);
    // q answers at once while the comparison runs.
    assert_eq!(
        key(&mut app.clone(), KeyCode::Char('q')),
        vec![Command::Quit]
    );
    let mut app = with_view(app);
    insta::assert_snapshot!("diff_done_120x36", screen(&app, 120, 36));
    app.update(Msg::Resize(80, 24));
    app.settle();
    insta::assert_snapshot!("diff_done_80x24", screen(&app, 80, 24));
}

#[test]
fn changed_tensors_are_sorted_by_the_numpy_rel_l2_and_the_verdict_is_in_the_header() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("fixtures/diff/expected.json")).unwrap())
            .unwrap();
    let case = &expected["base|finetune"];
    let mut changed: Vec<(f64, String)> = case["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, t)| t["status"] != "identical")
        .map(|(name, t)| (t["rel_l2"].as_f64().unwrap(), name.clone()))
        .collect();
    changed.sort_by(|x, y| y.0.total_cmp(&x.0));
    let view = finetune_view();
    let names: Vec<&str> = view.changed.iter().map(|t| t.name.as_str()).collect();
    let want: Vec<&str> = changed.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, want);
    for (t, (rel, _)) in view.changed.iter().zip(&changed) {
        assert!(
            (t.rel_l2().unwrap() - rel).abs() <= 0.01 * rel,
            "{}",
            t.name
        );
        assert_eq!(t.status, Status::Changed);
    }
    assert_eq!(view.verdict_kind, case["verdict"].as_str().unwrap());
    let app = with_view(diff_app((120, 36)));
    let text = screen(&app, 120, 36);
    let header = text.lines().next().unwrap().to_owned();
    assert!(header.contains("base → finetune · fine-tuned "), "{header}");
    // The whole sentence, wrapped at the top of the tab.
    let body = text.lines().nth(2).unwrap();
    assert!(body.contains("fine-tuned: 16 tensors changed"), "{text}");
}

#[test]
fn the_selected_pair_shows_both_sides_moments_and_its_delta_octaves() {
    let view = finetune_view();
    let top = &view.changed[0];
    let a = f32_values("fixtures/diff/base", &top.name);
    let b = f32_values("fixtures/diff/finetune", &top.name);
    let moments = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    };
    let (mean_a, std_a) = moments(&a);
    let (mean_b, std_b) = moments(&b);
    let sides = top.numbers.as_ref().unwrap().sides;
    let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() <= 1e-9 * y.abs().max(1e-3);
    assert!(close(sides.mean_a, mean_a) && close(sides.std_a, std_a));
    assert!(close(sides.mean_b, mean_b) && close(sides.std_b, std_b));
    // |Δ| by octave: floor(log2 |Δ|), counted here.
    let mut octaves = std::collections::BTreeMap::<i32, u64>::new();
    let mut zeros = 0;
    for (x, y) in a.iter().zip(&b) {
        let d = (y - x).abs();
        if d == 0.0 {
            zeros += 1;
        } else {
            *octaves.entry(d.log2().floor() as i32).or_default() += 1;
        }
    }
    let h = &top.numbers.as_ref().unwrap().abs_delta;
    assert_eq!(h.zeros, zeros);
    let (&first, _) = octaves.first_key_value().unwrap();
    let (&last, _) = octaves.last_key_value().unwrap();
    assert_eq!(h.first_exponent, first);
    let want: Vec<u64> = (first..=last)
        .map(|e| octaves.get(&e).copied().unwrap_or(0))
        .collect();
    assert_eq!(h.counts, want);

    let app = with_view(diff_app((120, 36)));
    let text = screen(&app, 120, 36);
    assert!(
        text.contains(&format!("std      {}", fmt3(std_a))),
        "{text}"
    );
    assert!(text.contains("|Δ| by octave (linear, L)"), "{text}");
    assert!(
        text.contains("rank r90 4 · r99 4"),
        "the rank-4 delta: {text}"
    );
}

/// Three significant digits, as the TUI writes a statistic.
fn fmt3(v: f64) -> String {
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

#[test]
fn selection_in_the_list_moves_the_map_cursor_and_the_map_moves_the_list() {
    let mut app = with_view(diff_app((120, 36)));
    let view = finetune_view().clone();
    let layer_of = |app: &App| {
        let d = app.diff.as_ref().unwrap();
        let (row, _) = d.cursor().unwrap();
        view.rows[row].label.clone()
    };
    let selected = |app: &App| {
        let d = app.diff.as_ref().unwrap();
        view.changed[d.selected].name.clone()
    };
    // The largest change first: layer 3's q_proj, and the cursor on its cell.
    assert_eq!(selected(&app), "model.layers.3.self_attn.q_proj.weight");
    assert_eq!(layer_of(&app), "3");
    // j: the next largest, the cursor follows to its layer.
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(selected(&app), "model.layers.2.self_attn.o_proj.weight");
    assert_eq!(layer_of(&app), "2");
    // l: the changed cell right of o in layer 2 is gate.
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(selected(&app), "model.layers.2.mlp.gate_proj.weight");
    // K: up one layer to layer 1, the changed cell nearest the gate column is gate itself.
    key(&mut app, KeyCode::Char('K'));
    assert_eq!(selected(&app), "model.layers.1.mlp.gate_proj.weight");
    // J twice: layer 2, then layer 3, whose nearest changed cell to gate is v.
    key(&mut app, KeyCode::Char('J'));
    key(&mut app, KeyCode::Char('J'));
    assert_eq!(selected(&app), "model.layers.3.self_attn.v_proj.weight");
    // J at the last changed layer, h at the first changed cell: no move.
    key(&mut app, KeyCode::Char('J'));
    key(&mut app, KeyCode::Char('h'));
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(selected(&app), "model.layers.3.self_attn.q_proj.weight");
    // G and g: the ends of the list; y copies the selected name.
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.diff.as_ref().unwrap().selected, view.changed.len() - 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::Copy(
            "model.layers.3.self_attn.q_proj.weight".into()
        )]
    );
    // The cursor's cell is drawn reversed, in the map's layer-3 row.
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
    terminal
        .draw(|f| glassbox::tui::ui::render(&app, f))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let reversed_in_map: Vec<(u16, u16)> = (3..20)
        .flat_map(|y| (1..59).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].modifier.contains(Modifier::REVERSED))
        .collect();
    assert!(!reversed_in_map.is_empty());
    let row_text: String = (0..59)
        .map(|x| buffer[(x, reversed_in_map[0].1)].symbol().to_owned())
        .collect();
    assert!(row_text.starts_with("│3 "), "{row_text}");
}

#[test]
fn the_list_scrolls_to_keep_the_selection_on_a_small_terminal() {
    let mut app = with_view(diff_app((80, 24)));
    for _ in 0..15 {
        key(&mut app, KeyCode::Char('j'));
    }
    let d = app.diff.as_ref().unwrap();
    assert_eq!(d.selected, 15);
    assert!(d.scroll > 0 && d.scroll <= 15);
    let last = &finetune_view().changed[15].name;
    let tail: String = last.chars().rev().take(12).collect::<String>();
    let tail: String = tail.chars().rev().collect();
    assert!(screen(&app, 80, 24).contains(&tail), "{tail}");
    // PgUp goes back a page (the list's visible rows), and not past the top.
    use glassbox::tui::layout;
    let body = layout::screen(ratatui::layout::Rect::new(0, 0, 80, 24)).body;
    let page = usize::from(layout::tree_rows(layout::diff(body).list).height);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.diff.as_ref().unwrap().selected, 15 - page);
    for _ in 0..3 {
        key(&mut app, KeyCode::PageUp);
    }
    assert_eq!(app.diff.as_ref().unwrap().selected, 0);
}

#[test]
fn an_identical_pair_has_nothing_changed_and_says_so() {
    let view = diff_view("fixtures/diff/base", "fixtures/diff/reupload");
    assert!(view.changed.is_empty());
    assert!(view.within_tolerance);
    let b = open("fixtures/diff/reupload");
    let mut app = App::new(ModelView::build(&b), (100, 30)).with_diff("base".into(), 1);
    app.update(Msg::DiffDone(Ok(Box::new(view))));
    for k in ['j', 'k', 'h', 'l', 'J', 'K', 'G', 'y'] {
        key(&mut app, KeyCode::Char(k));
    }
    let text = screen(&app, 100, 30);
    assert!(text.contains("identical weights"), "{text}");
    assert!(text.contains("no tensor changed"), "{text}");
}

#[test]
fn a_failed_or_panicked_comparison_shows_in_its_tab_not_as_a_statistics_failure() {
    let mut app = diff_app((100, 30));
    app.update(Msg::DiffDone(Err("tensor `x`: bad bytes".into())));
    assert!(screen(&app, 100, 30).contains("tensor `x`: bad bytes"));
    let mut app = diff_app((100, 30));
    app.update(Msg::EngineFailed(
        "glassbox-diff-0 panicked at src/diff/mod.rs:1: boom".into(),
    ));
    assert!(matches!(
        app.diff.as_ref().unwrap().state,
        DiffState::Failed(_)
    ));
    assert!(app.engine_failure.is_none());
    let text = screen(&app, 100, 30);
    assert!(text.contains("the comparison stopped"), "{text}");
    assert!(text.contains("comparison failed"), "{text}");
}

// ---- Transparency tab ----

#[test]
fn the_transparency_tab_before_and_after_its_report_at_two_sizes() {
    let model = open("fixtures/transparency/well-documented");
    let mut app = App::new(ModelView::build(&model), (120, 36));
    key(&mut app, KeyCode::Char('4'));
    assert!(screen(&app, 120, 36).contains("reading the model card"));
    let report = transparency_report("fixtures/transparency/well-documented");
    let counts = report.counts;
    app.update(Msg::Transparency(Ok(Box::new(report))));
    let text = screen(&app, 120, 36);
    assert!(
        text.contains(&format!(
            "✔ {} verified · ◐ {} declared",
            counts.verified, counts.declared
        )),
        "{text}"
    );
    insta::assert_snapshot!("transparency_120x36", text);
    app.update(Msg::Resize(80, 24));
    app.settle();
    insta::assert_snapshot!("transparency_80x24", screen(&app, 80, 24));
}

#[test]
fn items_move_with_j_and_k_and_the_detail_shows_the_selected_evidence() {
    let model = open("fixtures/transparency/restricted-licence");
    let report = transparency_report("fixtures/transparency/restricted-licence");
    let items = report.items.clone();
    let mut app = App::new(ModelView::build(&model), (120, 36));
    key(&mut app, KeyCode::Char('4'));
    app.update(Msg::Transparency(Ok(Box::new(report))));
    // To the licence item, B1, by keys.
    let b1 = items.iter().position(|i| i.id == "B1").unwrap();
    for _ in 0..b1 {
        key(&mut app, KeyCode::Char('j'));
    }
    assert_eq!(app.transparency.selected, b1);
    let text = screen(&app, 120, 36);
    assert!(text.contains("B1 Declared license"), "{text}");
    for e in &items[b1].evidence {
        let start: String = e.chars().take(30).collect();
        assert!(text.contains(&start), "evidence {e:?} not in:\n{text}");
    }
    assert!(text.contains("(restricted"), "{text}");
    // G: the last item is selected and on screen; k steps back; g returns to the first.
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.transparency.selected, items.len() - 1);
    let last = items.last().unwrap();
    let text = screen(&app, 120, 36);
    assert!(
        text.contains(&format!("{} {}", last.id, last.item)),
        "{text}"
    );
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.transparency.selected, items.len() - 2);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.transparency.selected, items.len() - 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.transparency.selected, 0);
    assert_eq!(app.transparency.scroll, 0);
}

#[test]
fn a_panicked_transparency_report_shows_in_its_tab() {
    let model = open("fixtures/llama-tiny");
    let mut app = App::new(ModelView::build(&model), (100, 30));
    app.update(Msg::EngineFailed(
        "glassbox-transparency panicked at x.rs:1: boom".into(),
    ));
    assert!(matches!(app.transparency.state, ReportState::Failed(_)));
    assert!(app.engine_failure.is_none());
    key(&mut app, KeyCode::Char('4'));
    assert!(screen(&app, 100, 30).contains("the transparency report failed"));
}

#[test]
fn the_help_lists_the_new_tabs_keys() {
    let model = open("fixtures/llama-tiny");
    let mut app = App::new(ModelView::build(&model), (120, 80));
    key(&mut app, KeyCode::Char('?'));
    let text = screen(&app, 120, 80);
    for wanted in [
        "map: changed cell to the left",
        "map: next changed layer down",
        "next item (its evidence below)",
        "Diff (when opened on two models",
    ] {
        assert!(text.contains(wanted), "{wanted} missing:\n{text}");
    }
}

fn click(app: &mut App, x: u16, y: u16) {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    }));
}

#[test]
fn clicks_select_a_changed_tensor_a_map_cell_and_an_item() {
    let mut app = with_view(diff_app((120, 36)));
    let view = finetune_view();
    let name = |app: &App| {
        view.changed[app.diff.as_ref().unwrap().selected]
            .name
            .clone()
    };
    // The list's third row (the verdict's two lines, border, header, then rows from y = 6).
    click(&mut app, 80, 8);
    assert_eq!(app.diff.as_ref().unwrap().selected, 2);
    // The map: layer 1 is the second row (y = 7); its v cell starts at x = 22 (`.105`).
    click(&mut app, 23, 7);
    assert_eq!(name(&app), "model.layers.1.self_attn.v_proj.weight");
    // A cell without a change (layer 0) and the label column leave the selection alone.
    click(&mut app, 23, 6);
    click(&mut app, 2, 8);
    assert_eq!(name(&app), "model.layers.1.self_attn.v_proj.weight");

    let model = open("fixtures/llama-tiny");
    let mut app = App::new(ModelView::build(&model), (120, 36));
    key(&mut app, KeyCode::Char('4'));
    app.update(Msg::Transparency(Ok(Box::new(transparency_report(
        "fixtures/llama-tiny",
    )))));
    // Headline (2 lines), border, header, group A's title at y = 6, A1 at 7, A2 at 8.
    click(&mut app, 10, 8);
    assert_eq!(app.transparency.selected, 1);
    click(&mut app, 10, 6);
    assert_eq!(app.transparency.selected, 1, "a group title is not an item");
}

#[test]
fn the_smallest_terminal_keeps_the_selected_item_and_tensor_in_view() {
    let model = open("fixtures/llama-tiny");
    let report = transparency_report("fixtures/llama-tiny");
    let items = report.items.clone();
    let mut app = App::new(ModelView::build(&model), (60, 15));
    key(&mut app, KeyCode::Char('4'));
    app.update(Msg::Transparency(Ok(Box::new(report))));
    for step in 0..12 {
        // Two settles in a row must agree (no scroll flip-flop between the item and its title).
        app.settle();
        let scroll = app.transparency.scroll;
        app.settle();
        assert_eq!(app.transparency.scroll, scroll);
        let item = &items[app.transparency.selected];
        let text = screen(&app, 60, 15);
        assert!(
            text.contains(&format!("{}  {}", item.id, &item.item[..8])),
            "step {step}: {} not on screen:\n{text}",
            item.id
        );
        key(&mut app, KeyCode::Char('j'));
    }
    let mut app = with_view(diff_app((60, 15)));
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('j'));
    }
    let text = screen(&app, 60, 15);
    let name = &finetune_view().changed[3].name;
    assert!(text.contains(&name[..25]), "{name} not in:\n{text}");
    let tail = &name[name.len() - 12..];
    assert!(text.contains(tail), "{name} not in the list:\n{text}");
}

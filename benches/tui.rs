//! TUI latency on a synthetic model of 10,000 tensors (a llama-like stack of 1,110 blocks):
//!
//! - `first_frame`: open the file (headers only), infer the architecture, build the view and the
//!   tree, and draw the first frame into a 120×40 `TestBackend` — what happens between
//!   `glassbox PATH` and the first screen (target: under 100 ms).
//!   `first_frame_library_open_infer` and `first_frame_tui_view_tree_draw` split it into the
//!   library's share and the TUI's.
//! - `key_to_frame`: one `j` through `update` and a redraw, with every statistic known (the sort by
//!   std, so rows are re-sorted too) — the UI thread's share of a key press.
//! - `stats_batch_to_frame`: a batch of 64 results applied, settled (aggregates, rows, layer grid)
//!   and drawn — the cost of a frame while results stream in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glassbox::stats::TensorStats;
use glassbox::tui::app::{App, Msg};
use glassbox::tui::data::ModelView;
use glassbox::tui::engine::StatsEvent;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const ROLES: [&str; 9] = [
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
    "input_layernorm.weight",
    "post_attention_layernorm.weight",
];

/// 1,110 blocks × 9 tensors + embeddings, final norm and head: 9,993 tensors of 16 F32 values.
fn write_model(dir: &Path) -> PathBuf {
    let mut names: Vec<String> = (0..1110)
        .flat_map(|l| ROLES.iter().map(move |r| format!("model.layers.{l}.{r}")))
        .collect();
    names.extend([
        "model.embed_tokens.weight".to_owned(),
        "model.norm.weight".to_owned(),
        "lm_head.weight".to_owned(),
    ]);
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let start = data.len();
        for v in 0..16 {
            data.extend_from_slice(&((i * 16 + v) as f32 * 1e-4).to_le_bytes());
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": [4, 4], "data_offsets": [start, data.len()]}),
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

fn first_frame(path: &Path) -> Terminal<TestBackend> {
    let model = glassbox::model::open(path).unwrap();
    let arch = glassbox::arch::infer_architecture(&model);
    let app = App::new(ModelView::build(&model, &arch), (120, 40));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| glassbox::tui::ui::render(&app, f))
        .unwrap();
    terminal
}

fn all_stats(path: &Path) -> Vec<TensorStats> {
    let model = glassbox::model::open(path).unwrap();
    let infos: Vec<&glassbox::TensorInfo> = model.tensors.iter().collect();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    model
        .compute_stats(&infos, &Default::default(), &|_, _| {}, &cancel)
        .unwrap()
        .0
}

fn app_at_tensors_tab(path: &Path) -> App {
    let model = glassbox::model::open(path).unwrap();
    let arch = glassbox::arch::infer_architecture(&model);
    let mut app = App::new(ModelView::build(&model, &arch), (120, 40));
    app.update(key('2'));
    app
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_model(dir.path());
    let stats = all_stats(&path);
    let mut group = c.benchmark_group("tui_10k_tensors");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);

    group.bench_function("first_frame", |b| b.iter(|| first_frame(&path)));
    // The split: the library's share (open, infer) and the TUI's (view, tree, state, draw).
    group.bench_function("first_frame_library_open_infer", |b| {
        b.iter(|| {
            let model = glassbox::model::open(&path).unwrap();
            glassbox::arch::infer_architecture(&model)
        })
    });
    let model = glassbox::model::open(&path).unwrap();
    let arch = glassbox::arch::infer_architecture(&model);
    group.bench_function("first_frame_tui_view_tree_draw", |b| {
        b.iter(|| {
            let app = App::new(ModelView::build(&model, &arch), (120, 40));
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
            terminal
                .draw(|f| glassbox::tui::ui::render(&app, f))
                .unwrap();
            terminal
        })
    });

    let mut app = app_at_tensors_tab(&path);
    for (t, s) in stats.iter().enumerate() {
        app.update(Msg::Stats(StatsEvent::Tensor {
            tensor: t,
            stats: s.clone(),
            findings: Vec::new(),
        }));
    }
    app.update(key('s'));
    app.update(key('s')); // sort by std
    app.update(key('l')); // open the stack of blocks
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    group.bench_function("key_to_frame", |b| {
        b.iter(|| {
            app.update(key('j'));
            terminal
                .draw(|f| glassbox::tui::ui::render(&app, f))
                .unwrap();
        })
    });

    let mut streaming = app_at_tensors_tab(&path);
    let mut next = 0usize;
    group.bench_function("stats_batch_to_frame", |b| {
        b.iter(|| {
            for _ in 0..64 {
                let t = next % stats.len();
                next += 1;
                streaming.update(Msg::Stats(StatsEvent::Tensor {
                    tensor: t,
                    stats: stats[t].clone(),
                    findings: Vec::new(),
                }));
            }
            streaming.settle();
            terminal
                .draw(|f| glassbox::tui::ui::render(&streaming, f))
                .unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

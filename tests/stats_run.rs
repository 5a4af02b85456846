//! The streaming statistics run (`StatsRun`) and the blocking `compute_model_stats` built on it: every
//! tensor delivered once, results bit-identical to one engine call over all the tensors whatever the
//! batching and order, prioritised tensors measured next, cancel keeping what finished, findings in
//! report order.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use glassbox::finding::{Finding, Severity};
use glassbox::model::Model;
use glassbox::stats::{
    Cancelled, Progress, StatsEvent, StatsOptions, StatsRun, TensorSlice, TensorStats,
    compute_model_stats, compute_stats, find_anomalies, tensor_findings, thread_pool,
};

fn normal(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            let mut s = 0.0;
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s += (state >> 11) as f64 / (1u64 << 53) as f64;
            }
            ((s - 6.0) * 0.02) as f32
        })
        .collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bf16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
        .collect()
}

/// The test model's tensors, in file order: (name, dtype, shape, bytes).
fn tensors() -> Vec<(&'static str, &'static str, Vec<u64>, Vec<u8>)> {
    let a = f32_bytes(&normal(64 * 64, 1));
    let mut nan = normal(1024, 2);
    nan[7] = f32::NAN;
    let embed = f32_bytes(&normal(32 * 16, 3));
    vec![
        ("a.weight", "F32", vec![64, 64], a.clone()),
        ("b.weight", "F32", vec![64, 64], a),
        ("nan.weight", "F32", vec![1024], f32_bytes(&nan)),
        (
            "model.embed_tokens.weight",
            "F32",
            vec![32, 16],
            embed.clone(),
        ),
        ("lm_head.weight", "F32", vec![32, 16], embed),
        ("z.bias", "F32", vec![8], f32_bytes(&[0.0; 8])),
        // Sampled (more than 2^22 values) and cut into several chunks.
        (
            "big.weight",
            "BF16",
            vec![1100, 4096],
            bf16_bytes(&normal(1100 * 4096, 4)),
        ),
    ]
}

/// Writes the test model as one `.safetensors` file and opens it. Its tensor table is in header
/// order, which is the names' order (the JSON map is sorted): `a`, `b`, `big`, `lm_head`,
/// `model.embed_tokens`, `nan`, `z`.
fn model(dir: &Path) -> Arc<Model> {
    let tensors = tensors();
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, dtype, shape, bytes) in &tensors {
        header.insert(
            (*name).to_owned(),
            serde_json::json!({"dtype": dtype, "shape": shape,
                "data_offsets": [offset, offset + bytes.len()]}),
        );
        offset += bytes.len();
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    for (_, _, _, bytes) in &tensors {
        file.extend(bytes);
    }
    let path = dir.join("model.safetensors");
    std::fs::write(&path, file).unwrap();
    Arc::new(glassbox::model::open(&path).unwrap())
}

fn index(model: &Model, name: &str) -> usize {
    model.tensors.iter().position(|t| t.name == name).unwrap()
}

fn slices<'a>(model: &'a Model, order: &[usize]) -> Vec<TensorSlice<'a>> {
    order
        .iter()
        .map(|&i| {
            let t = &model.tensors[i];
            TensorSlice {
                dtype: t.dtype,
                shape: &t.shape,
                bytes: model.tensor_bytes(t),
            }
        })
        .collect()
}

/// One engine call over the tensors in `order`: what every batching must reproduce bit for bit.
fn at_once(model: &Model, order: &[usize], options: &StatsOptions) -> Vec<TensorStats> {
    let pool = thread_pool(Some(2)).unwrap();
    pool.install(|| {
        compute_stats(
            &slices(model, order),
            options,
            &|_, _| {},
            &|_, _| {},
            &AtomicBool::new(false),
        )
    })
    .unwrap()
}

fn json(stats: &TensorStats) -> String {
    serde_json::to_string(stats).unwrap()
}

fn codes(findings: &[Finding]) -> Vec<(&'static str, String, Severity)> {
    findings
        .iter()
        .map(|f| {
            (
                f.code,
                f.tensor().unwrap_or("(model)").to_owned(),
                f.severity,
            )
        })
        .collect()
}

/// Options whose batches hold one tensor each, so that every tensor is a look at the queue.
fn one_tensor_batches() -> StatsOptions {
    StatsOptions {
        batch_bytes: 1,
        ..StatsOptions::default()
    }
}

/// Records every event; the first `Tensor` event waits until the test opens the gate, so the test
/// can act while the run is inside its first batch.
struct Recorder {
    events: Mutex<Vec<StatsEvent>>,
    reached: Mutex<Option<mpsc::Sender<()>>>,
    gate: Mutex<mpsc::Receiver<()>>,
}

impl Recorder {
    /// The recorder, the receiver told when the first tensor arrived, and the gate's sender.
    fn gated() -> (Arc<Recorder>, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (reached, reached_rx) = mpsc::channel();
        let (open, gate) = mpsc::channel();
        let recorder = Recorder {
            events: Mutex::new(Vec::new()),
            reached: Mutex::new(Some(reached)),
            gate: Mutex::new(gate),
        };
        (Arc::new(recorder), reached_rx, open)
    }

    fn on_event(self: &Arc<Self>) -> Box<dyn Fn(StatsEvent) + Send + Sync> {
        let me = self.clone();
        Box::new(move |event| {
            let first =
                matches!(event, StatsEvent::Tensor { .. }) && me.events.lock().unwrap().is_empty();
            me.events.lock().unwrap().push(event);
            if first && let Some(reached) = me.reached.lock().unwrap().take() {
                reached.send(()).unwrap();
                me.gate.lock().unwrap().recv().unwrap();
            }
        })
    }

    fn tensor_order(&self) -> Vec<usize> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                StatsEvent::Tensor { tensor, .. } => Some(*tensor),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn every_tensor_arrives_once_with_its_findings_then_finished_with_the_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let all: Vec<usize> = (0..model.tensors.len()).collect();
    let options = one_tensor_batches();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let run = StatsRun::start(
        model.clone(),
        all.clone(),
        options.clone(),
        thread_pool(Some(2)).unwrap(),
        Box::new(move |e| sink.lock().unwrap().push(e)),
    );
    let total: u64 = model.tensors.iter().map(|t| t.bytes).sum();
    assert_eq!(run.progress().tensors_total, 7);
    assert_eq!(run.progress().bytes_total, total);
    run.wait();

    let events = std::mem::take(&mut *events.lock().unwrap());
    assert_eq!(events.len(), 8, "seven tensors and one last event");
    let want = at_once(&model, &all, &StatsOptions::default());
    let slices = slices(&model, &all);
    let mut seen = vec![false; all.len()];
    for event in &events[..7] {
        let StatsEvent::Tensor {
            tensor,
            stats,
            findings,
        } = event
        else {
            panic!("a tensor event before the last: {event:?}")
        };
        assert!(!std::mem::replace(&mut seen[*tensor], true), "twice");
        assert_eq!(json(stats), json(&want[*tensor]), "one tensor per batch");
        let name = &model.tensors[*tensor].name;
        assert_eq!(
            findings,
            &tensor_findings(name, &slices[*tensor], &want[*tensor])
        );
        let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
        match name.as_str() {
            "nan.weight" => assert_eq!(codes, ["nan"]),
            "z.bias" => assert_eq!(codes, ["all_zero"]),
            _ => assert!(codes.is_empty(), "{name}: {codes:?}"),
        }
    }
    let StatsEvent::Finished { findings } = &events[7] else {
        panic!("last event: {:?}", events[7])
    };
    assert_eq!(
        codes(findings),
        [
            ("duplicate", "b.weight".to_owned(), Severity::Warning),
            (
                "duplicate",
                "model.embed_tokens.weight".to_owned(),
                Severity::Info
            ),
        ]
    );
}

#[test]
fn progress_and_is_finished_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let total: u64 = model.tensors.iter().map(|t| t.bytes).sum();
    let (recorder, reached, open) = Recorder::gated();
    let run = StatsRun::start(
        model.clone(),
        (0..7).collect(),
        one_tensor_batches(),
        thread_pool(Some(1)).unwrap(),
        recorder.on_event(),
    );
    reached.recv().unwrap();
    // Inside the first batch: one tensor of 64×64 F32 merged, the run not finished.
    let now = run.progress();
    assert_eq!((now.tensors_done, now.bytes_done), (1, 64 * 64 * 4));
    assert!(!run.is_finished());
    open.send(()).unwrap();
    while !run.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(
        run.progress(),
        Progress {
            tensors_done: 7,
            tensors_total: 7,
            bytes_done: total,
            bytes_total: total
        }
    );
    run.wait();
    let events = recorder.events.lock().unwrap();
    assert!(matches!(events.last(), Some(StatsEvent::Finished { .. })));
}

#[test]
fn prioritized_tensors_are_measured_next_in_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let (recorder, reached, open) = Recorder::gated();
    let run = StatsRun::start(
        model.clone(),
        (0..7).collect(),
        one_tensor_batches(),
        thread_pool(Some(1)).unwrap(),
        recorder.on_event(),
    );
    reached.recv().unwrap();
    // Tensor 0 is running; 0 again (started), 9 (not requested) and 5 twice are ignored.
    run.prioritize(&[5, 0, 3, 9, 5]);
    open.send(()).unwrap();
    run.wait();
    assert_eq!(recorder.tensor_order(), [0, 5, 3, 1, 2, 4, 6]);
    let events = recorder.events.lock().unwrap();
    let StatsEvent::Finished { findings } = events.last().unwrap() else {
        panic!("{:?}", events.last())
    };
    // The comparisons follow the order requested, not the order measured.
    assert_eq!(findings[0].tensor(), Some("b.weight"));
}

#[test]
fn cancel_keeps_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let (recorder, reached, open) = Recorder::gated();
    let big = index(&model, "big.weight");
    let run = StatsRun::start(
        model.clone(),
        vec![big, 0, 1, 6],
        one_tensor_batches(),
        thread_pool(Some(1)).unwrap(),
        recorder.on_event(),
    );
    reached.recv().unwrap();
    run.cancel();
    open.send(()).unwrap();
    run.wait();
    let events = recorder.events.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let StatsEvent::Tensor { tensor, stats, .. } = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(*tensor, big);
    assert_eq!(
        json(stats),
        json(&at_once(&model, &[big], &StatsOptions::default())[0])
    );
    assert_eq!(events[1], StatsEvent::Cancelled);
}

#[test]
fn dropping_a_run_cancels_it_and_lets_go_of_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let run = StatsRun::start(
        model.clone(),
        (0..7).collect(),
        one_tensor_batches(),
        thread_pool(Some(1)).unwrap(),
        Box::new(move |e| sink.lock().unwrap().push(e)),
    );
    drop(run);
    assert_eq!(Arc::strong_count(&model), 1, "no thread holds the model");
    let events = events.lock().unwrap();
    let last = events.last().unwrap();
    assert!(
        matches!(last, StatsEvent::Cancelled | StatsEvent::Finished { .. }),
        "{last:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| !matches!(e, StatsEvent::Tensor { .. }))
            .count(),
        1
    );
}

#[test]
fn out_of_range_and_repeated_indices_are_left_out_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let run = StatsRun::start(
        model.clone(),
        vec![2, 99, 2],
        StatsOptions::default(),
        thread_pool(Some(1)).unwrap(),
        Box::new(move |e| sink.lock().unwrap().push(e)),
    );
    assert_eq!(run.progress().tensors_total, 1);
    run.wait();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0], StatsEvent::Tensor { tensor: 2, .. }));
}

#[test]
fn the_blocking_call_returns_the_requested_order_and_report_order_findings() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let order: Vec<usize> = [
        "nan.weight",
        "b.weight",
        "a.weight",
        "lm_head.weight",
        "model.embed_tokens.weight",
        "z.bias",
        "big.weight",
    ]
    .iter()
    .map(|n| index(&model, n))
    .collect();
    let seen = Mutex::new(Vec::new());
    let pool = thread_pool(Some(2)).unwrap();
    let (stats, findings) = compute_model_stats(
        &model,
        &order,
        &one_tensor_batches(),
        &pool,
        &|p| seen.lock().unwrap().push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    let want = at_once(&model, &order, &StatsOptions::default());
    assert_eq!(
        stats.iter().map(json).collect::<Vec<_>>(),
        want.iter().map(json).collect::<Vec<_>>()
    );
    // Each tensor's findings, then the duplicates about it (the later copy in the order asked).
    assert_eq!(
        codes(&findings),
        [
            ("nan", "nan.weight".to_owned(), Severity::Error),
            ("duplicate", "a.weight".to_owned(), Severity::Warning),
            (
                "duplicate",
                "model.embed_tokens.weight".to_owned(),
                Severity::Info
            ),
            // A zero bias is common in trained models: information, not a warning.
            ("all_zero", "z.bias".to_owned(), Severity::Info),
        ]
    );
    let names: Vec<&str> = order
        .iter()
        .map(|&i| model.tensors[i].name.as_str())
        .collect();
    assert_eq!(
        findings,
        find_anomalies(&names, &slices(&model, &order), &want)
    );
    let seen = seen.into_inner().unwrap();
    let total: u64 = model.tensors.iter().map(|t| t.bytes).sum();
    assert!(
        seen.windows(2)
            .all(|w| w[0].bytes_done <= w[1].bytes_done && w[0].tensors_done <= w[1].tensors_done)
    );
    assert_eq!(
        seen.last(),
        Some(&Progress {
            tensors_done: 7,
            tensors_total: 7,
            bytes_done: total,
            bytes_total: total
        })
    );
}

#[test]
fn the_blocking_call_stops_on_its_cancel_flag() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let pool = thread_pool(Some(1)).unwrap();
    let r = compute_model_stats(
        &model,
        &[0, 1, 2],
        &StatsOptions::default(),
        &pool,
        &|_| {},
        &AtomicBool::new(true),
    );
    assert_eq!(r.map(|_| ()), Err(Cancelled));
}

#[test]
#[should_panic(expected = "tensor index out of range")]
fn the_blocking_call_rejects_an_index_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let pool = thread_pool(Some(1)).unwrap();
    let _ = compute_model_stats(
        &model,
        &[0, 7],
        &StatsOptions::default(),
        &pool,
        &|_| {},
        &AtomicBool::new(false),
    );
}

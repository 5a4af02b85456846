//! `config.json` as glassbox reads it: JSON, then the architecture inference over the tiny Llama
//! fixture's tensors with that config (the inference's config reader is what interprets it), and
//! the summary report built from both.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;

fn model() -> &'static Mutex<glassbox::Model> {
    static MODEL: OnceLock<Mutex<glassbox::Model>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/llama-tiny");
        Mutex::new(glassbox::model::open(folder).expect("the fixture opens"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut model = model().lock().unwrap_or_else(|e| e.into_inner());
    model.config = value.is_object().then_some(value);
    let arch = glassbox::arch::infer_architecture(&model);
    let report = glassbox::report::summary::SummaryReport::new(&model, &arch);
    let _ = glassbox::render::summary::render_summary_text(&report);
});

//! The model card (`README.md`): its YAML front matter and sections (`transparency::card::
//! parse_card`), then the whole transparency report built from that card beside the tiny Llama
//! fixture (claims, licence, openness and hidden-text checks all read the card), rendered as text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn model() -> &'static (glassbox::Model, glassbox::arch::Architecture) {
    static MODEL: OnceLock<(glassbox::Model, glassbox::arch::Architecture)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/llama-tiny");
        let model = glassbox::model::open(folder).expect("the fixture opens");
        let arch = glassbox::arch::infer_architecture(&model);
        (model, arch)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let card = glassbox::transparency::card::parse_card(&text);
    let _ = card.filled_ratio();
    let (model, arch) = model();
    let sources = glassbox::transparency::Sources {
        card: Some(card),
        ..Default::default()
    };
    let report = glassbox::transparency::build_report(model, arch, &sources, None, None);
    let _ = glassbox::render::transparency::render_transparency_text(&report, &model.notes);
});

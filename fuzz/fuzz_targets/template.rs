//! The chat template (Jinja source from `tokenizer_config.json` or `chat_template.jinja`): the
//! lexer, the block parser and the auditor (`transparency::template::audit_template`), then the
//! whole prompt-format audit with that template as the model's `chat_template.jinja`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn model() -> &'static glassbox::Model {
    static MODEL: OnceLock<glassbox::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/llama-tiny");
        glassbox::model::open(folder).expect("the fixture opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = glassbox::transparency::template::audit_template(&text, "fuzz");
    let sources = glassbox::transparency::Sources {
        chat_template_file: Some(text.into_owned()),
        ..Default::default()
    };
    let _ = glassbox::transparency::audit::audit_prompt_format(&sources, model());
});

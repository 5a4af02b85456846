//! `tokenizer.json`: the vocabulary size glassbox reads from it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = glassbox::model::tokenizer::parse_tokenizer_size(data);
});

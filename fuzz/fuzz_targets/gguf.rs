//! The GGUF reader: header, metadata, tensor infos and layout; then what the summary asks of the
//! metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = glassbox::format::gguf::parse_gguf(data) {
        let _ = g.split();
        let _ = format!("{g:?}");
    }
});

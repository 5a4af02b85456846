//! The safetensors header reader: any bytes, any declared file length, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The real file length, and one the bytes may disagree with (a file that shrank).
    let _ = glassbox::format::safetensors::parse_header(data, data.len() as u64);
    if let Some(&b) = data.first() {
        let _ = glassbox::format::safetensors::parse_header(data, data.len() as u64 + b as u64);
    }
});

//! The shard index (`model.safetensors.index.json`) parser, and the shard list it yields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(index) = glassbox::format::index::parse_index(text)
    {
        let _ = index.shards();
    }
});

//! The pickle reader (`format::pickle::parse`), the state-dict reading on what it builds, the
//! safety classification of every global, and the whole checkpoint reader (zip central directory,
//! legacy pickles and storage records) on the same bytes.
#![no_main]

use glassbox::format::pickle::{self, Limits, safety};
use glassbox::format::torch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = pickle::parse(data, 0, Limits::default()) {
        assert!(p.end <= data.len());
        for g in &p.globals {
            let _ = safety::classify(&g.module, &g.name);
        }
        let _ = torch::state_dict::read(&p);
        let _ = torch::state_dict::storages(&p);
    }
    if let Ok(c) = torch::read_checkpoint(data) {
        for t in &c.tensors {
            assert!(t.offset + t.bytes <= data.len() as u64);
        }
    }
});

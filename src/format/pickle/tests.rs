//! Opcode-level tests on hand-written pickles and on pickles Python's `pickle` module wrote
//! (bytes pasted from `pickle.dumps`, the expected graphs written by hand).

use super::*;

fn load(bytes: &[u8]) -> Pickle {
    parse(bytes, 0, Limits::default()).unwrap()
}

//! GGUF files built field by field for the unit tests of this module: each test writes the bytes
//! it needs (a valid file, or one with exactly one fault) inline.

use super::{Gguf, GgufError, parse_gguf};

/// Builds GGUF bytes field by field.
#[derive(Default)]
pub(super) struct B(pub(super) Vec<u8>);

impl B {
    pub(super) fn header(version: u32, tensors: u64, kvs: u64) -> B {
        let mut b = B::default();
        b.raw(b"GGUF").u32(version).u64(tensors).u64(kvs);
        b
    }
    pub(super) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    pub(super) fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    pub(super) fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    pub(super) fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    pub(super) fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.str(key).u32(4).u32(v)
    }
    pub(super) fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
        self.str(key).u32(8).str(v)
    }
    pub(super) fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    /// Pads to `align` then appends `n` data bytes.
    pub(super) fn data(&mut self, align: usize, n: usize) -> &mut Self {
        while !self.0.len().is_multiple_of(align) {
            self.0.push(0);
        }
        self.0.extend((0..n).map(|i| i as u8));
        self
    }
    pub(super) fn parse(&self) -> Result<Gguf, GgufError> {
        parse_gguf(&self.0)
    }
}

pub(super) fn one_f32_tensor(name: &str, dims: &[u64], n_data: usize) -> B {
    let mut b = B::header(3, 1, 1);
    b.kv_str("general.architecture", "llama")
        .tensor(name, dims, 0, 0)
        .data(32, n_data);
    b
}

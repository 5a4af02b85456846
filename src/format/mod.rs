//! Weight-file formats: bytes in, tables out, no I/O.
//!
//! Each parser takes the bytes of one file (or of one index document) and returns what it declares,
//! validated before anything else uses it. Opening files and attaching paths happens in
//! [`crate::model`].

pub mod gguf;
pub mod index;
pub mod pickle;
pub mod safetensors;
pub mod torch;

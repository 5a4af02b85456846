//! glassbox: what an open-weight model's files reveal.
//!
//! Open a model (`model::open`), then compute what you need from it: its architecture (`arch`),
//! statistics of every parameter (`stats`); gather the results in a report (`report`: the summary,
//! the tensor table, the statistics report) and render it (`render`). The library never prints;
//! the `glassbox` binary is a thin layer over it.
//!
//! # Layers
//!
//! Dependencies point one way, lowest first; a module imports only modules of a lower layer, and
//! peers in one layer do not import each other:
//!
//! ```text
//! dtype, finding, text    leaves: element types (DType, GgmlType), the one finding type,
//!                         number and shape words
//!   → format, decode      bytes in, tables or values out, no I/O (peers)
//!   → source              model references: the Hugging Face cache, Ollama, LM Studio, remote
//!                         headers over HTTP
//!   → error               the library's error: each reader's error with the path of its file
//!   → model               files, tensor table, side documents; opening reads headers only
//!   → stats, arch         statistics; the architecture and its naming rules (peers)
//!   → diff, transparency  comparisons and verdicts (transparency to come)
//!   → report              the report types every face reads
//!   → render, tui         faces: they format, never compute (peers)
//!   → cli, main           the binary
//! ```
//!
//! The faces (`render`, `tui`, the binary) see `format` and `decode` only through `model` and the
//! report types. `tests/layering.rs` reads every source file and fails when an import points up,
//! sideways between peers, or from a face down to the readers; the few wrong-way imports left from
//! before this rule are listed there, and the list only shrinks.

pub mod arch;
pub mod decode;
pub mod diff;
pub mod dtype;
pub mod error;
pub mod finding;
pub mod format;
pub mod model;
pub mod render;
pub mod report;
pub mod source;
pub mod stats;
pub mod text;
pub mod transparency;
pub mod tui;

pub use dtype::DType;
pub use error::{Error, Result};
pub use model::{Model, TensorInfo};

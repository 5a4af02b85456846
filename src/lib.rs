//! glassbox: what an open-weight model's files reveal.
//!
//! Open a model (`model::open`), then compute what you need from it: its architecture (`arch`),
//! statistics of every parameter (`stats`); gather the results in a report (`report`: the summary,
//! the tensor table, the statistics report) and render it (`render`). The library never prints;
//! the `glassbox` binary is a thin layer over it.

pub mod arch;
pub mod decode;
pub mod error;
pub mod finding;
pub mod format;
pub mod model;
pub mod render;
pub mod report;
pub mod stats;
pub mod text;

pub use error::{Error, Result};
pub use model::{DType, Model, TensorInfo};

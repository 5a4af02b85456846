//! glassbox: what an open-weight model's files reveal.
//!
//! Open a model (`model::open`), then compute what you need from it: statistics of every parameter
//! (`stats`), and render the results (`render`). The library never prints; the `glassbox` binary is a
//! thin layer over it.

pub mod arch;
pub mod decode;
pub mod error;
pub mod finding;
pub mod format;
pub mod model;
pub mod render;
pub mod stats;
pub mod tui;

pub use error::{Error, Result};
pub use model::{DType, Model, TensorInfo};

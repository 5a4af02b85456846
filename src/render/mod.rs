//! Output: every rendering (text, markdown, JSON) is a pure function of the library's data.

pub mod json;
pub mod stats;
pub mod summary;
pub mod table;
pub mod tensors;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Markdown,
    Json,
}

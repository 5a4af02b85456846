//! The tensor table (`glassbox tensors`): one [`TensorRow`] per selected tensor, in the order
//! chosen ([`crate::model::sort::select_tensors`]), and the totals over the selection.

use serde::Serialize;

use super::{DTypeCount, ModelObject, SCHEMA_VERSION, TensorRow, dtype_mix};
use crate::model::{Format, Model, TensorInfo};

/// Everything the tensor table shows. Its serde form is the `glassbox tensors --format json`
/// document.
#[derive(Debug, Clone, Serialize)]
pub struct TensorTable {
    pub schema_version: u32,
    pub model: ModelObject,
    /// The selected tensors, in display order.
    pub tensors: Vec<TensorRow>,
    /// Sums over the selection (not in JSON, where they follow from `tensors`).
    #[serde(skip)]
    pub totals: TableTotals,
    /// Whether the rows carry a quantised-format layout (GGUF): faces then show the bits per
    /// weight and Hugging Face name columns (not in JSON, where each row has the keys).
    #[serde(skip)]
    pub gguf_columns: bool,
}

/// Sums over the selected tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableTotals {
    pub tensors: usize,
    /// Tensors in the whole model (more than `tensors` when a filter applies).
    pub model_tensors: usize,
    pub parameters: u64,
    pub bytes: u64,
    /// Weight files of the model.
    pub files: usize,
    /// Storage bits per weight over the selected tensors of known size, for a quantised format
    /// (GGUF), where it varies by tensor; `None` otherwise or when nothing has a known size.
    pub bits_per_weight: Option<f64>,
    /// Parameters per dtype over the selection, largest first.
    pub by_dtype: Vec<DTypeCount>,
}

impl TensorTable {
    /// The table of `selected` tensors of `model`, in the order given.
    pub fn new(model: &Model, selected: &[&TensorInfo]) -> TensorTable {
        let gguf = model.format == Format::Gguf;
        let known = selected
            .iter()
            .filter(|t| !matches!(t.dtype, crate::model::DType::Unknown(_)));
        let (known_bytes, known_parameters) =
            known.fold((0u64, 0u64), |(b, n), t| (b + t.bytes, n + t.parameters()));
        TensorTable {
            schema_version: SCHEMA_VERSION,
            model: ModelObject::new(model),
            tensors: selected.iter().map(|t| TensorRow::new(model, t)).collect(),
            totals: TableTotals {
                tensors: selected.len(),
                model_tensors: model.tensors.len(),
                parameters: selected.iter().map(|t| t.parameters()).sum(),
                bytes: selected.iter().map(|t| t.bytes).sum(),
                files: model.files.len(),
                bits_per_weight: (gguf && known_parameters > 0)
                    .then(|| known_bytes as f64 * 8.0 / known_parameters as f64),
                by_dtype: dtype_mix(selected.iter().copied()),
            },
            gguf_columns: gguf,
        }
    }
}

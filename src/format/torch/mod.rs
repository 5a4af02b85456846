//! PyTorch checkpoints (`pytorch_model.bin`, `*.pt`, `*.pth`, `*.ckpt`), read without running
//! them: the two containers `torch.save` writes and the state dict inside.
//!
//! - **zip** (torch ≥ 1.6): an uncompressed zip archive holding `<name>/data.pkl` (the pickled
//!   state dict), one `<name>/data/<key>` entry per storage, `<name>/byteorder` and
//!   `<name>/version`. Entries are found through the central directory ([`zip`]); a storage entry
//!   must be *stored* (PyTorch never compresses them), so every tensor maps in place — a
//!   compressed one is an error, since glassbox has no inflater and does not copy weights.
//! - **legacy** (before 1.6): five pickles then the storages' raw bytes ([`legacy`]).
//!
//! The pickles are read by [`crate::format::pickle`], which never imports or calls anything; the
//! state dict is read from its value graph by [`state_dict`]. [`read_checkpoint`] returns each
//! tensor with its absolute byte range and its [`Layout`]: contiguous (row-major, mapped like a
//! safetensors tensor), permuted (a transpose: the same values in another order) or strided (a
//! view that skips or repeats elements).

pub mod legacy;
pub mod state_dict;
pub mod zip;

use std::collections::BTreeMap;

use crate::dtype::DType;
use crate::format::pickle::{self, GlobalUse, Limits, PickleError};

pub use state_dict::{PickledTensor, StateDict};

/// What is wrong inside one PyTorch checkpoint (the path is attached by the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TorchError {
    #[error("zip archive: {0}")]
    Zip(String),
    #[error("not a PyTorch checkpoint: {0}")]
    NotCheckpoint(String),
    #[error("{what} pickle: {source}")]
    Pickle {
        what: &'static str,
        #[source]
        source: PickleError,
    },
    #[error("no state dict: {0}")]
    NotStateDict(String),
    #[error("tensor `{tensor}`: {why}")]
    BadTensor { tensor: String, why: String },
    #[error("storage reference: {0}")]
    BadStorage(String),
    #[error("storage `{key}`: {why}")]
    StorageOutside { key: String, why: String },
    #[error(
        "entry `{entry}` is compressed (zip method {method}); glassbox maps only stored entries, as torch.save writes them"
    )]
    Compressed { entry: String, method: u16 },
    #[error(
        "the checkpoint was written on a big-endian machine; glassbox reads little-endian only"
    )]
    BigEndian,
}

/// The container a checkpoint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Zip,
    Legacy,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Zip => "zip",
            Container::Legacy => "legacy",
        }
    }
}

/// Where a storage's bytes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Absolute offset of the first byte.
    pub start: u64,
    pub bytes: u64,
    /// The zip entry (or, for a legacy checkpoint, the storage key) holding it.
    pub entry: String,
}

/// How a tensor's elements lie in its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Row-major, no gaps: `bytes` from `offset` are the tensor.
    Contiguous,
    /// Every element once, in another order (a transpose): `bytes` from `offset` hold exactly the
    /// tensor's values; the order of dimensions in memory, outermost first, is `order`.
    Permuted { order: Vec<usize> },
    /// Elements skipped or repeated: the values are not one byte range.
    Strided,
}

/// One tensor located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchTensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub stride: Vec<u64>,
    pub layout: Layout,
    /// The storage key (tensors sharing one share their weights).
    pub storage: String,
    /// Absolute offset of the tensor's first element.
    pub offset: u64,
    /// Bytes from `offset` covering its elements (`numel × element size` unless strided).
    pub bytes: u64,
}

/// A checkpoint's table.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub container: Container,
    /// The key path to the state dict inside the pickle (`["state_dict"]`), empty when the pickle
    /// is the state dict.
    pub prefix: Vec<String>,
    pub tensors: Vec<TorchTensor>,
    /// State-dict keys whose value is not a tensor.
    pub other: Vec<String>,
    /// Bytes before the first storage (pickles, zip headers): the format's header.
    pub header_bytes: u64,
    /// Every global the state dict's pickle names.
    pub globals: Vec<GlobalUse>,
}

/// Reads a checkpoint from the bytes of its file.
pub fn read_checkpoint(file: &[u8]) -> Result<Checkpoint, TorchError> {
    let (container, dict, located, globals) = if file.starts_with(b"PK\x03\x04") {
        let (dict, located, globals) = read_zip(file)?;
        (Container::Zip, dict, located, globals)
    } else if legacy::is_legacy(file) {
        let (dict, located, p) = legacy::read(file)?;
        (Container::Legacy, dict, located, p.globals)
    } else {
        return Err(TorchError::NotCheckpoint(
            "neither a zip archive nor a legacy magic-number pickle".into(),
        ));
    };
    let mut tensors = Vec::with_capacity(dict.tensors.len());
    for t in dict.tensors {
        tensors.push(locate(t, &located)?);
    }
    let header_bytes = located.values().map(|l| l.start).min().unwrap_or(0);
    Ok(Checkpoint {
        container,
        prefix: dict.prefix,
        tensors,
        other: dict.other,
        header_bytes,
        globals,
    })
}

/// The zip container: the archive's `data.pkl`, its state dict and its storage entries.
type ZipParts = (StateDict, BTreeMap<String, Located>, Vec<GlobalUse>);

fn read_zip(file: &[u8]) -> Result<ZipParts, TorchError> {
    let entries = zip::read_entries(file)?;
    let data = entries
        .iter()
        .find(|e| e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1)
        .ok_or_else(|| TorchError::NotCheckpoint("the zip archive holds no `*/data.pkl`".into()))?;
    let root = data.name.trim_end_matches("data.pkl");
    if let Some(order) = entries
        .iter()
        .find(|e| e.name == format!("{root}byteorder"))
        && order.method == 0
        && order.data(file) == b"big"
    {
        return Err(TorchError::BigEndian);
    }
    if data.method != 0 {
        return Err(TorchError::Compressed {
            entry: data.name.clone(),
            method: data.method,
        });
    }
    let p = pickle::parse(data.data(file), 0, Limits::default()).map_err(|source| {
        TorchError::Pickle {
            what: "data.pkl",
            source,
        }
    })?;
    let dict = state_dict::read(&p).map_err(|e| {
        // `torch.jit.save` writes the same layout with the module's code beside the pickle.
        let scripted = entries.iter().any(|e| {
            e.name == format!("{root}constants.pkl") || e.name.starts_with(&format!("{root}code/"))
        });
        match e {
            TorchError::NotStateDict(_) if scripted => TorchError::NotStateDict(
                "a TorchScript archive (`torch.jit.save`: a scripted module with its code), not a \
                 state dict saved with `torch.save`"
                    .into(),
            ),
            e => e,
        }
    })?;
    let storage_prefix = format!("{root}data/");
    let mut located = BTreeMap::new();
    for e in &entries {
        let Some(key) = e.name.strip_prefix(&storage_prefix) else {
            continue;
        };
        let needed = dict.tensors.iter().any(|t| t.storage.key == key);
        if needed && e.method != 0 {
            return Err(TorchError::Compressed {
                entry: e.name.clone(),
                method: e.method,
            });
        }
        located.insert(
            key.to_owned(),
            Located {
                start: e.data_offset,
                bytes: e.compressed_size,
                entry: e.name.clone(),
            },
        );
    }
    Ok((dict, located, p.globals))
}

/// Finds a tensor's bytes: its storage's place in the file, the offset into it, and its layout.
fn locate(
    t: PickledTensor,
    located: &BTreeMap<String, Located>,
) -> Result<TorchTensor, TorchError> {
    let key = t.storage.key.clone();
    let storage = located
        .get(&key)
        .ok_or_else(|| TorchError::StorageOutside {
            key: key.clone(),
            why: format!("tensor `{}` names it but the file does not hold it", t.name),
        })?;
    let element = state_dict::dtype_size(t.dtype);
    let bad = |why: String| TorchError::BadTensor {
        tensor: t.name.clone(),
        why,
    };
    let numel = t
        .shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("its size overflows".into()))?;
    let layout = layout(&t.shape, &t.stride);
    // The furthest element the view reaches, in elements past its first.
    let reach = t
        .shape
        .iter()
        .zip(&t.stride)
        .try_fold(0u64, |a, (&d, &s)| {
            d.checked_sub(1)
                .map_or(Some(0), |d| d.checked_mul(s))
                .and_then(|x| a.checked_add(x))
        })
        .ok_or_else(|| bad("its strides overflow".into()))?;
    let span = if numel == 0 {
        0
    } else {
        reach
            .checked_add(1)
            .and_then(|r| r.checked_mul(element))
            .ok_or_else(|| bad("its extent overflows".into()))?
    };
    let end = t.offset_bytes.checked_add(span);
    if end.is_none_or(|e| e > storage.bytes) {
        return Err(bad(format!(
            "it reaches byte {} of storage `{key}`, which holds {} bytes",
            end.map_or("past 2^64".into(), |e| e.to_string()),
            storage.bytes
        )));
    }
    let bytes = match layout {
        Layout::Strided => span,
        _ => numel * element,
    };
    Ok(TorchTensor {
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        stride: t.stride,
        layout,
        storage: key,
        offset: storage.start + t.offset_bytes,
        bytes,
    })
}

/// Classifies a view by its strides. Dimensions of size 1 have no stride that matters.
pub fn layout(shape: &[u64], stride: &[u64]) -> Layout {
    if shape.contains(&0) {
        return Layout::Contiguous;
    }
    let mut dims: Vec<usize> = (0..shape.len()).filter(|&d| shape[d] > 1).collect();
    let row_major = |dims: &[usize]| {
        let mut expected = 1u64;
        for &d in dims.iter().rev() {
            if stride[d] != expected {
                return false;
            }
            expected = expected.saturating_mul(shape[d]);
        }
        true
    };
    if row_major(&dims) {
        return Layout::Contiguous;
    }
    dims.sort_by_key(|&d| std::cmp::Reverse(stride[d]));
    if row_major(&dims) {
        Layout::Permuted { order: dims }
    } else {
        Layout::Strided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_follow_the_strides() {
        assert_eq!(layout(&[2, 3], &[3, 1]), Layout::Contiguous);
        assert_eq!(layout(&[1, 3], &[7, 1]), Layout::Contiguous);
        assert_eq!(layout(&[], &[]), Layout::Contiguous);
        assert_eq!(
            layout(&[3, 2], &[1, 3]),
            Layout::Permuted { order: vec![1, 0] }
        );
        assert_eq!(layout(&[2, 3], &[6, 2]), Layout::Strided);
        assert_eq!(layout(&[4, 3], &[0, 1]), Layout::Strided);
        assert_eq!(layout(&[0, 3], &[5, 9]), Layout::Contiguous);
    }
}

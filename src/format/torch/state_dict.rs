//! Reading a state dict out of a parsed pickle: which entries are tensors, and for each its storage
//! reference, dtype, offset, size and stride — all from the arguments the pickle would pass to
//! `torch._utils._rebuild_tensor_v2` and friends, none of which is called.
//!
//! A tensor is `Call(_rebuild_tensor_v2, (storage, offset, size, stride, requires_grad, hooks…))`
//! (also `_rebuild_tensor`, `_rebuild_tensor_v3` with an explicit dtype, and a parameter wrapping
//! one: `_rebuild_parameter(tensor, …)`); its storage is a persistent id
//! `('storage', torch.FloatStorage, key, location, numel[, view])`. The state dict is the root
//! dict (or `OrderedDict`), or the dict under a `state_dict`/`model` key of a training checkpoint,
//! whose key path is reported as the prefix.

use std::collections::BTreeMap;

use crate::dtype::DType;
use crate::format::pickle::{Id, Node, Pickle};

use super::TorchError;

/// A storage a persistent id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub key: String,
    /// The storage's element type (`UInt8` for an untyped storage).
    pub dtype: DType,
    /// Elements the storage holds, as declared (bytes for an untyped storage).
    pub numel: u64,
}

/// One tensor of the state dict, before its storage is located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickledTensor {
    pub name: String,
    pub dtype: DType,
    pub storage: StorageRef,
    /// Offset into the storage, in bytes.
    pub offset_bytes: u64,
    pub shape: Vec<u64>,
    /// In elements.
    pub stride: Vec<u64>,
}

/// The state dict found in a pickle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateDict {
    /// The key path to the state dict inside the pickled object (`state_dict`, `model`), empty
    /// when the pickle is the state dict itself.
    pub prefix: Vec<String>,
    pub tensors: Vec<PickledTensor>,
    /// Keys whose value is not a tensor.
    pub other: Vec<String>,
}

/// Keys under which training checkpoints keep the model's weights, tried in this order.
const NESTED_KEYS: &[&str] = &["state_dict", "model_state_dict", "model", "module", "net"];

/// How deeply a parameter may wrap a tensor (`_rebuild_parameter(_rebuild_tensor_v2(…))` is 1).
const MAX_WRAP: usize = 4;

/// Every storage any persistent id of the pickle names, by key (the legacy format needs them all to
/// size the storage records that follow the pickles).
pub fn storages(p: &Pickle) -> Result<BTreeMap<String, StorageRef>, TorchError> {
    let mut out = BTreeMap::new();
    for node in &p.nodes {
        if let Node::Persistent(pid) = node {
            let (storage, _) = storage_ref(p, *pid)?;
            out.insert(storage.key.clone(), storage);
        }
    }
    Ok(out)
}

/// Finds the state dict of a checkpoint's pickle and reads its tensors.
pub fn read(p: &Pickle) -> Result<StateDict, TorchError> {
    let mut prefix = Vec::new();
    let mut items = dict_items(p, p.root)
        .ok_or_else(|| TorchError::NotStateDict("the pickle's root is not a dict".into()))?;
    for _ in 0..NESTED_KEYS.len() {
        if items.iter().any(|&(_, v)| is_tensor(p, v)) {
            break;
        }
        let nested = NESTED_KEYS.iter().find_map(|k| {
            items.iter().find_map(|&(key, value)| {
                (p.str(key) == Some(k))
                    .then(|| dict_items(p, value).map(|i| (k, i)))
                    .flatten()
            })
        });
        let Some((key, inner)) = nested else {
            break;
        };
        prefix.push((*key).to_owned());
        items = inner;
    }
    let mut out = StateDict {
        prefix,
        ..StateDict::default()
    };
    for (key, value) in items {
        let name = match p.node(key) {
            Node::Str(s) => s.clone(),
            Node::Int(i) => i.to_string(),
            _ => return Err(TorchError::NotStateDict("a key is not a string".into())),
        };
        match tensor(p, value, &name, 0)? {
            Some(t) => out.tensors.push(t),
            None => out.other.push(name),
        }
    }
    if out.tensors.is_empty() {
        return Err(TorchError::NotStateDict(
            "no tensor found in the pickled dict".into(),
        ));
    }
    Ok(out)
}

/// The items of a `dict`, or of an `OrderedDict(...)` call: those `SETITEMS` filled, after those
/// of its argument, a sequence of `[key, value]` pairs (how torch of the Python 2 era pickled a
/// state dict: `OrderedDict([[k, v], ...])`, as in lpips' released weights).
fn dict_items(p: &Pickle, id: Id) -> Option<Vec<(Id, Id)>> {
    match p.node(id) {
        Node::Dict(items) => Some(items.clone()),
        Node::Call {
            func, args, items, ..
        } => {
            let (module, name) = p.global(*func)?;
            if !matches!(
                (module, name),
                ("collections", "OrderedDict") | ("builtins", "dict") | ("__builtin__", "dict")
            ) {
                return None;
            }
            let mut out = pairs_argument(p, *args).unwrap_or_default();
            out.extend(items.iter().copied());
            Some(out)
        }
        _ => None,
    }
}

/// The `[key, value]` pairs of a call's first argument, when it is a sequence of pairs.
fn pairs_argument(p: &Pickle, args: Id) -> Option<Vec<(Id, Id)>> {
    let first = match p.node(args) {
        Node::Tuple(a) => *a.first()?,
        _ => return None,
    };
    let seq = match p.node(first) {
        Node::List(v) | Node::Tuple(v) => v,
        _ => return None,
    };
    seq.iter()
        .map(|&pair| match p.node(pair) {
            Node::List(kv) | Node::Tuple(kv) if kv.len() == 2 => Some((kv[0], kv[1])),
            _ => None,
        })
        .collect()
}

fn rebuild_function(p: &Pickle, id: Id) -> Option<&str> {
    let Node::Call { func, .. } = p.node(id) else {
        return None;
    };
    match p.global(*func)? {
        ("torch._utils", name) if name.starts_with("_rebuild_") => Some(name),
        ("torch.nn.parameter", "Parameter") => Some("Parameter"),
        _ => None,
    }
}

fn is_tensor(p: &Pickle, id: Id) -> bool {
    rebuild_function(p, id).is_some()
}

fn tensor(
    p: &Pickle,
    id: Id,
    name: &str,
    depth: usize,
) -> Result<Option<PickledTensor>, TorchError> {
    let Some(function) = rebuild_function(p, id) else {
        return Ok(None);
    };
    let Node::Call { args, .. } = p.node(id) else {
        unreachable!("rebuild_function matched a call")
    };
    let bad = |why: &str| TorchError::BadTensor {
        tensor: name.to_owned(),
        why: format!("{function}: {why}"),
    };
    let args = p
        .seq(*args)
        .ok_or_else(|| bad("arguments are not a tuple"))?;
    match function {
        "_rebuild_parameter" | "_rebuild_parameter_with_state" | "Parameter" => {
            if depth >= MAX_WRAP {
                return Err(bad("parameters nest too deeply"));
            }
            let inner = *args.first().ok_or_else(|| bad("no tensor argument"))?;
            return match tensor(p, inner, name, depth + 1)? {
                Some(t) => Ok(Some(t)),
                None => Err(bad("the wrapped value is not a tensor")),
            };
        }
        "_rebuild_tensor" | "_rebuild_tensor_v2" | "_rebuild_tensor_v3" => {}
        _ => return Err(bad("not a tensor rebuild function glassbox reads")),
    }
    if args.len() < 4 {
        return Err(bad("fewer than 4 arguments"));
    }
    let Node::Persistent(pid) = p.node(args[0]) else {
        return Err(bad("the storage is not a persistent id"));
    };
    let (storage, view_offset) = storage_ref(p, *pid)?;
    let offset = p
        .int(args[1])
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| bad("storage offset is not a non-negative integer"))?;
    let shape = int_list(p, args[2]).ok_or_else(|| bad("size is not a tuple of integers"))?;
    let stride = int_list(p, args[3]).ok_or_else(|| bad("stride is not a tuple of integers"))?;
    if shape.len() != stride.len() {
        return Err(bad("size and stride have different lengths"));
    }
    let dtype = if function == "_rebuild_tensor_v3" {
        let dt = args.get(6).ok_or_else(|| bad("no dtype argument"))?;
        p.global(*dt)
            .filter(|(m, _)| *m == "torch")
            .and_then(|(_, n)| dtype_named(n))
            .ok_or_else(|| bad("dtype is not a torch dtype glassbox knows"))?
    } else {
        storage.dtype
    };
    // The offset counts elements of the tensor's dtype; a legacy view's, of its storage's.
    let offset_bytes = offset
        .checked_mul(dtype_size(dtype))
        .zip(view_offset.checked_mul(dtype_size(storage.dtype)))
        .and_then(|(a, b)| a.checked_add(b))
        .ok_or_else(|| bad("storage offset overflows"))?;
    Ok(Some(PickledTensor {
        name: name.to_owned(),
        dtype,
        storage,
        offset_bytes,
        shape,
        stride,
    }))
}

fn int_list(p: &Pickle, id: Id) -> Option<Vec<u64>> {
    let items = match p.node(id) {
        // `torch.Size((2, 3))`
        Node::Call { func, args, .. } if p.global(*func) == Some(("torch", "Size")) => {
            return p.seq(*args)?.first().and_then(|&t| int_list(p, t));
        }
        _ => p.seq(id)?,
    };
    items
        .iter()
        .map(|&i| p.int(i).and_then(|v| u64::try_from(v).ok()))
        .collect()
}

/// Reads `('storage', storage_type, key, location, numel[, view_metadata])`; returns the storage
/// (the root storage for a legacy view) and the view's offset into it, in elements.
fn storage_ref(p: &Pickle, pid: Id) -> Result<(StorageRef, u64), TorchError> {
    let bad = |why: &str| TorchError::BadStorage(why.to_owned());
    let items = p
        .seq(pid)
        .ok_or_else(|| bad("persistent id is not a tuple"))?;
    if items.len() < 5 || p.str(items[0]) != Some("storage") {
        return Err(bad(
            "persistent id is not ('storage', type, key, location, numel)",
        ));
    }
    let (module, type_name) = p
        .global(items[1])
        .ok_or_else(|| bad("storage type is not a global"))?;
    let dtype = (module == "torch" || module == "torch.storage")
        .then(|| storage_dtype(type_name))
        .flatten()
        .ok_or_else(|| bad(&format!("unknown storage type `{module}.{type_name}`")))?;
    let key = match p.node(items[2]) {
        Node::Str(s) if !s.is_empty() => s.clone(),
        Node::Int(i) => i.to_string(),
        _ => return Err(bad("storage key is not a string")),
    };
    let numel = p
        .int(items[4])
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| bad(&format!("storage `{key}`: element count is not an integer")))?;
    let storage = StorageRef { key, dtype, numel };
    let mut view_offset = 0;
    // Legacy views: (view_key, offset, view_size) into the root storage `key`.
    if let Some(&view) = items.get(5)
        && let Some(v) = p.seq(view)
    {
        view_offset = v
            .get(1)
            .and_then(|&o| p.int(o))
            .and_then(|o| u64::try_from(o).ok())
            .ok_or_else(|| bad("storage view offset is not an integer"))?;
    } else if let Some(&view) = items.get(5)
        && !matches!(p.node(view), Node::None)
    {
        return Err(bad("storage view metadata is not a tuple"));
    }
    Ok((storage, view_offset))
}

fn storage_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "FloatStorage" => DType::F32,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "DoubleStorage" => DType::F64,
        "LongStorage" => DType::I64,
        "IntStorage" => DType::I32,
        "ShortStorage" => DType::I16,
        "CharStorage" => DType::I8,
        "ByteStorage" | "UntypedStorage" => DType::U8,
        "BoolStorage" => DType::BOOL,
        "ComplexFloatStorage" => DType::C64,
        _ => return None,
    })
}

/// A `torch.<dtype>` global (the `_rebuild_tensor_v3` argument).
fn dtype_named(name: &str) -> Option<DType> {
    Some(match name {
        "float32" | "float" => DType::F32,
        "float16" | "half" => DType::F16,
        "bfloat16" => DType::BF16,
        "float64" | "double" => DType::F64,
        "int64" | "long" => DType::I64,
        "int32" | "int" => DType::I32,
        "int16" | "short" => DType::I16,
        "int8" => DType::I8,
        "uint8" => DType::U8,
        "bool" => DType::BOOL,
        "complex64" => DType::C64,
        "float8_e4m3fn" => DType::F8_E4M3,
        "float8_e5m2" => DType::F8_E5M2,
        _ => return None,
    })
}

/// Bytes per element of the dtypes a storage can hold.
pub fn dtype_size(dtype: DType) -> u64 {
    match dtype {
        DType::F64 | DType::I64 | DType::C64 => 8,
        DType::F32 | DType::I32 => 4,
        DType::F16 | DType::BF16 | DType::I16 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::pickle::{Limits, parse};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `OrderedDict(w=tensor)` where the tensor is `_rebuild_tensor_v3(untyped storage of 12
    /// bytes, offset 2, (2, 3), (3, 1), False, OrderedDict(), torch.float8_e4m3fn)`, written by
    /// Python's pickler with torch's persistent id (stub classes, as in
    /// fixtures/generate_torch.py).
    const UNTYPED_V3: &str = "800263636f6c6c656374696f6e730a4f726465726564446963740a710029527101580100000077710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76330a71032828580700000073746f72616765710463746f7263680a556e747970656453746f726167650a71055801000000307106580300000063707571074b0c747108514b024b024b038671094b034b0186710a8968002952710b63746f7263680a666c6f6174385f65346d33666e0a710c74710d52710e732e";

    #[test]
    fn an_untyped_storage_takes_the_dtype_rebuild_v3_names() {
        let p = parse(&hex(UNTYPED_V3), 0, Limits::default()).unwrap();
        let dict = read(&p).unwrap();
        assert!(dict.prefix.is_empty());
        assert_eq!(dict.tensors.len(), 1);
        let t = &dict.tensors[0];
        assert_eq!(t.name, "w");
        assert_eq!(t.dtype, DType::F8_E4M3);
        assert_eq!(t.storage.dtype, DType::U8);
        assert_eq!(t.storage.numel, 12);
        // Offset 2 elements of a 1-byte dtype.
        assert_eq!(t.offset_bytes, 2);
        assert_eq!(
            (t.shape.as_slice(), t.stride.as_slice()),
            (&[2, 3][..], &[3, 1][..])
        );
    }

    /// `OrderedDict([['w', _rebuild_tensor_v2(('storage', FloatStorage, 'k', 'cuda:0', 6), 0,
    /// (2, 3), (3, 1), False, None)]])`: the state dict passed to `OrderedDict` as a list of pairs,
    /// as lpips' released weights (torch of the Python 2 era) pickle it. Written by Python's
    /// pickler with stub classes carrying torch's names.
    const PAIRS_ARGUMENT: &str = "800263636f6c6c656374696f6e730a4f726465726564446963740a71005d71015d710228580100000077710363746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71042828580700000073746f72616765710563746f7263680a466c6f617453746f726167650a710658010000006b71075806000000637564613a3071084b06747109514b004b024b0386710a4b034b0186710b894e74710c52710d656185710e52710f2e";

    #[test]
    fn an_ordered_dict_of_pairs_is_a_state_dict() {
        let p = parse(&hex(PAIRS_ARGUMENT), 0, Limits::default()).unwrap();
        let dict = read(&p).unwrap();
        assert_eq!(dict.tensors.len(), 1);
        let t = &dict.tensors[0];
        assert_eq!(t.name, "w");
        assert_eq!(t.dtype, DType::F32);
        assert_eq!(t.storage.numel, 6);
        assert_eq!(
            (t.shape.as_slice(), t.stride.as_slice()),
            (&[2, 3][..], &[3, 1][..])
        );
    }

    #[test]
    fn a_pickle_without_tensors_is_not_a_state_dict() {
        // {'a': 1}
        let p = parse(b"}(X\x01\x00\x00\x00aK\x01u.", 0, Limits::default()).unwrap();
        assert!(matches!(read(&p), Err(TorchError::NotStateDict(_))));
        let p = parse(b"K\x01.", 0, Limits::default()).unwrap();
        assert!(matches!(read(&p), Err(TorchError::NotStateDict(_))));
    }
}

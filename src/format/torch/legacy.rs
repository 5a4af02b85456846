//! The legacy checkpoint (`torch.save` before 1.6, or with `_use_new_zipfile_serialization=False`):
//! five pickles back to back — the magic number `0x1950a86a20f9469cfc6c`, the protocol version
//! (1001), a `sys_info` dict (byte order, type sizes), the state dict, the list of storage keys —
//! then, for each key in that order, the storage's element count (8 bytes, little-endian) and its
//! raw bytes.

use std::collections::BTreeMap;

use crate::format::pickle::{self, Limits, Node, Pickle};

use super::state_dict::{self, StateDict, dtype_size};
use super::{Located, TorchError};

/// The magic number's little-endian bytes, as `LONG1` stores it.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Whether the file starts with the legacy magic-number pickle.
pub fn is_legacy(file: &[u8]) -> bool {
    pickle::parse(file, 0, Limits::default())
        .is_ok_and(|p| matches!(p.node(p.root), Node::BigInt(b) if b[..] == MAGIC))
}

/// The parsed legacy checkpoint: its state dict, where each storage's bytes are, and the state
/// dict's pickle (for its globals).
pub fn read(file: &[u8]) -> Result<(StateDict, BTreeMap<String, Located>, Pickle), TorchError> {
    let pickle_at = |start: usize, what: &'static str| {
        pickle::parse(file, start, Limits::default())
            .map_err(|source| TorchError::Pickle { what, source })
    };
    let magic = pickle_at(0, "magic number")?;
    if !matches!(magic.node(magic.root), Node::BigInt(b) if b[..] == MAGIC) {
        return Err(TorchError::NotCheckpoint(
            "the first pickle is not PyTorch's magic number".into(),
        ));
    }
    let protocol = pickle_at(magic.end, "protocol version")?;
    if protocol.int(protocol.root) != Some(1001) {
        return Err(TorchError::NotCheckpoint(
            "the legacy protocol version is not 1001".into(),
        ));
    }
    let sys_info = pickle_at(protocol.end, "sys_info")?;
    if let Node::Dict(items) = sys_info.node(sys_info.root) {
        let little = items
            .iter()
            .find(|&&(k, _)| sys_info.str(k) == Some("little_endian"))
            .map(|&(_, v)| sys_info.node(v));
        if matches!(little, Some(Node::Bool(false))) {
            return Err(TorchError::BigEndian);
        }
    }
    let data = pickle_at(sys_info.end, "state dict")?;
    let dict = state_dict::read(&data)?;
    let storages = state_dict::storages(&data)?;
    let keys = pickle_at(data.end, "storage keys")?;
    let key_ids = keys
        .seq(keys.root)
        .ok_or_else(|| TorchError::BadStorage("the storage key list is not a list".into()))?;
    let mut located = BTreeMap::new();
    let mut at = keys.end as u64;
    for &k in key_ids {
        let key = match keys.node(k) {
            Node::Str(s) => s.clone(),
            Node::Int(i) => i.to_string(),
            _ => {
                return Err(TorchError::BadStorage(
                    "a storage key is not a string".into(),
                ));
            }
        };
        let storage = storages.get(&key).ok_or_else(|| {
            TorchError::BadStorage(format!("storage `{key}` is listed but no tensor names it"))
        })?;
        let count_bytes =
            file.get(at as usize..at as usize + 8)
                .ok_or_else(|| TorchError::StorageOutside {
                    key: key.clone(),
                    why: format!("its element count at byte {at} is past the end of the file"),
                })?;
        let count = u64::from_le_bytes(count_bytes.try_into().expect("8 bytes"));
        let start = at + 8;
        let end = count
            .checked_mul(dtype_size(storage.dtype))
            .and_then(|b| b.checked_add(start))
            .filter(|&e| e <= file.len() as u64)
            .ok_or_else(|| TorchError::StorageOutside {
                key: key.clone(),
                why: format!(
                    "{count} elements from byte {start} run past the end of the file ({} bytes)",
                    file.len()
                ),
            })?;
        located.insert(
            key.clone(),
            Located {
                start,
                bytes: end - start,
                entry: key,
            },
        );
        at = end;
    }
    Ok((dict, located, data))
}

//! `*.safetensors.index.json`: the map from tensor names to shard files of a sharded checkpoint.

use std::collections::BTreeMap;

/// What is wrong with a `*.safetensors.index.json` shard index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("index is not valid JSON: {message}")]
    Json { message: String },
    #[error("index has no `weight_map` object")]
    NoWeightMap,
    #[error("index maps tensor `{tensor}` to a value that is not a file name")]
    BadShardName { tensor: String },
    #[error("index names shard `{shard}`, which is not a plain file name in the model folder")]
    ShardOutsideFolder { shard: String },
    #[error("index names shard `{shard}`, which does not exist")]
    MissingShard { shard: String },
    #[error("index puts tensor `{tensor}` in `{shard}`, but that shard does not hold it{}", found_in.as_ref().map(|f| format!(" (it is in `{f}`)")).unwrap_or_default())]
    WrongShard {
        tensor: String,
        shard: String,
        found_in: Option<String>,
    },
}

/// A parsed shard index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIndex {
    /// Tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
    /// `metadata.total_size` when present: the declared sum of tensor bytes.
    pub total_size: Option<u64>,
}

impl ShardIndex {
    /// The distinct shard file names, sorted.
    pub fn shards(&self) -> Vec<&str> {
        let mut shards: Vec<&str> = self.weight_map.values().map(String::as_str).collect();
        shards.sort_unstable();
        shards.dedup();
        shards
    }
}

/// Parses an index document. Shard names must be plain file names: an index may not point outside
/// its folder.
pub fn parse_index(text: &str) -> Result<ShardIndex, IndexError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| IndexError::Json {
        message: e.to_string(),
    })?;
    let map = value
        .get("weight_map")
        .and_then(serde_json::Value::as_object)
        .ok_or(IndexError::NoWeightMap)?;
    let mut weight_map = BTreeMap::new();
    for (tensor, shard) in map {
        let shard = shard.as_str().ok_or_else(|| IndexError::BadShardName {
            tensor: tensor.clone(),
        })?;
        if !is_plain_file_name(shard) {
            return Err(IndexError::ShardOutsideFolder {
                shard: shard.to_owned(),
            });
        }
        weight_map.insert(tensor.clone(), shard.to_owned());
    }
    let total_size = value
        .get("metadata")
        .and_then(|m| m.get("total_size"))
        .and_then(|t| t.as_u64().or_else(|| t.as_f64().map(|f| f as u64)));
    Ok(ShardIndex {
        weight_map,
        total_size,
    })
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weight_map_and_total_size() {
        let idx = parse_index(
            r#"{"metadata":{"total_size":120},"weight_map":{"b":"s2.safetensors","a":"s1.safetensors","c":"s1.safetensors"}}"#,
        )
        .unwrap();
        assert_eq!(idx.total_size, Some(120));
        assert_eq!(idx.weight_map["b"], "s2.safetensors");
        assert_eq!(idx.shards(), vec!["s1.safetensors", "s2.safetensors"]);
    }

    #[test]
    fn errors() {
        assert!(matches!(parse_index("{"), Err(IndexError::Json { .. })));
        assert_eq!(parse_index("{}"), Err(IndexError::NoWeightMap));
        assert_eq!(
            parse_index(r#"{"weight_map":{"a":3}}"#),
            Err(IndexError::BadShardName { tensor: "a".into() })
        );
        for bad in ["../x.safetensors", "/etc/passwd", "a/b", ".."] {
            assert_eq!(
                parse_index(&format!(r#"{{"weight_map":{{"a":"{bad}"}}}}"#)),
                Err(IndexError::ShardOutsideFolder { shard: bad.into() })
            );
        }
    }
}

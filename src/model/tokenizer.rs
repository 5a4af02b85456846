//! The tokenizer beside the weights (`tokenizer.json`), read for what the architecture checks
//! need: how many token ids it defines.

/// Largest `tokenizer.json` read for its size (real ones are a few MiB to a few tens of MiB).
const MAX_TOKENIZER_BYTES: u64 = 256 << 20;

/// The number of token ids a `tokenizer.json` defines: one more than the largest id in its model
/// vocabulary and added tokens. `None` when unreadable (the summary then simply has no tokenizer
/// check).
pub fn size_of_file(path: &std::path::Path) -> Option<u64> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > MAX_TOKENIZER_BYTES {
        return None;
    }
    // Read through a cap as well: the file may have grown since it was measured.
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path).ok()?, MAX_TOKENIZER_BYTES + 1),
        &mut text,
    )
    .ok()?;
    if text.len() as u64 > MAX_TOKENIZER_BYTES {
        return None;
    }
    parse_tokenizer_size(&text)
}

/// [`size_of_file`] on bytes.
pub fn parse_tokenizer_size(bytes: &[u8]) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut max: Option<u64> = None;
    let mut see = |id: Option<u64>| {
        if let Some(id) = id {
            max = Some(max.map_or(id, |m| m.max(id)));
        }
    };
    match json.pointer("/model/vocab") {
        // BPE / WordPiece / WordLevel: token → id.
        Some(serde_json::Value::Object(map)) => {
            map.values().for_each(|v| see(v.as_u64()));
        }
        // Unigram: [[token, score], …], ids by position.
        Some(serde_json::Value::Array(list)) if !list.is_empty() => {
            see(Some(list.len() as u64 - 1));
        }
        _ => {}
    }
    if let Some(added) = json.get("added_tokens").and_then(|a| a.as_array()) {
        added
            .iter()
            .for_each(|t| see(t.get("id").and_then(|i| i.as_u64())));
    }
    max.and_then(|m| m.checked_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_size_counts_ids() {
        let bpe = br#"{"model": {"vocab": {"a": 0, "b": 5}}, "added_tokens": [{"id": 7}]}"#;
        assert_eq!(parse_tokenizer_size(bpe), Some(8));
        let unigram = br#"{"model": {"vocab": [["a", 0.0], ["b", -1.0]]}}"#;
        assert_eq!(parse_tokenizer_size(unigram), Some(2));
        assert_eq!(parse_tokenizer_size(b"{}"), None);
        assert_eq!(parse_tokenizer_size(b"not json"), None);
    }
}

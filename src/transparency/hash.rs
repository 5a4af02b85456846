//! SHA-256 fingerprints of every weight, tokenizer and config file, comparable with the SHA-256 the
//! Hugging Face Hub lists for each LFS file. Files are hashed in parallel (one file per rayon task,
//! read in 8 MiB pieces), and progress is reported in bytes through a callback, so the face can draw
//! a bar at the speed of the disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::Model;

/// Bytes read per step.
const PIECE: usize = 8 << 20;

/// One file's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHash {
    /// The file name (relative to the model folder).
    pub file: String,
    /// `weights`, `tokenizer`, `config`, `template`, `card`, `license`, `code`.
    pub kind: &'static str,
    pub bytes: u64,
    /// Lowercase hex; `None` when the file could not be read (the reason is in `error`).
    pub sha256: Option<String>,
    /// The SHA-256 a content-addressed store names the file by (a Hugging Face cache blob, an
    /// Ollama `sha256-…` blob), when it is one: it must equal `sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Progress of a hashing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Which side files are fingerprinted besides the weights, by name.
fn side_kind(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "tokenizer.json"
        | "tokenizer.model"
        | "vocab.json"
        | "merges.txt"
        | "vocab.txt"
        | "special_tokens_map.json"
        | "tokenizer_config.json"
        | "added_tokens.json" => "tokenizer",
        "config.json"
        | "generation_config.json"
        | "model.safetensors.index.json"
        | "adapter_config.json"
        | "preprocessor_config.json"
        | "processor_config.json"
        // sentence-transformers: the pooling and truncation the embedding model is used with.
        | "modules.json"
        | "sentence_bert_config.json"
        | "config_sentence_transformers.json" => "config",
        "chat_template.jinja" | "chat_template.json" => "template",
        "readme.md" => "card",
        _ if super::sources::is_license_file(name) => "license",
        _ if lower.ends_with(".py") => "code",
        _ => return None,
    })
}

/// The files to fingerprint: every weight file, then the side files found in the folder, each
/// with its kind, in name order.
pub fn hashable_files(
    model: &Model,
    folder_files: &[String],
) -> Vec<(PathBuf, String, &'static str)> {
    let mut out: Vec<(PathBuf, String, &'static str)> = model
        .files
        .iter()
        .map(|f| (f.path.clone(), f.name.clone(), "weights"))
        .collect();
    let folder = model.folder();
    for name in folder_files {
        if out.iter().any(|(_, n, _)| n == name) {
            continue;
        }
        if let Some(kind) = side_kind(name) {
            out.push((folder.join(name), name.clone(), kind));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Hashes `files` in parallel on the current rayon pool, calling `progress` as bytes are read.
pub fn compute_hashes(
    files: &[(PathBuf, String, &'static str)],
    progress: &(dyn Fn(HashProgress) + Sync),
) -> Vec<FileHash> {
    let sizes: Vec<u64> = files
        .iter()
        .map(|(p, _, _)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    let total: u64 = sizes.iter().sum();
    let done = AtomicU64::new(0);
    files
        .par_iter()
        .zip(sizes.par_iter())
        .map(|((path, name, kind), &bytes)| {
            let (sha256, error) = match hash_file(path, &|n| {
                let d = done.fetch_add(n, Ordering::Relaxed) + n;
                progress(HashProgress {
                    bytes_done: d,
                    bytes_total: total,
                });
            }) {
                Ok(h) => (Some(h), None),
                Err(e) => (None, Some(e.to_string())),
            };
            FileHash {
                file: name.clone(),
                kind,
                bytes,
                sha256,
                content_address: content_address(path),
                error,
            }
        })
        .collect()
}

/// The SHA-256 a store's blob is named by: the link followed, a file in a `blobs` folder named
/// by 64 hex digits (the Hugging Face cache, for files kept in LFS) or `sha256-` and 64 hex digits
/// (Ollama).
fn content_address(path: &Path) -> Option<String> {
    let real = std::fs::canonicalize(path).ok()?;
    if real.parent()?.file_name()? != "blobs" {
        return None;
    }
    let name = real.file_name()?.to_str()?;
    let hex = name.strip_prefix("sha256-").unwrap_or(name);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The files whose content does not hash to the name their store gives them.
pub fn content_mismatches(hashes: &[FileHash]) -> impl Iterator<Item = &FileHash> {
    hashes.iter().filter(
        |h| matches!((&h.content_address, &h.sha256), (Some(named), Some(sha)) if named != sha),
    )
}

fn hash_file(path: &Path, on_bytes: &dyn Fn(u64)) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; PIECE];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        on_bytes(n as u64);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_and_progress_to_the_total() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.bin");
        let b = dir.path().join("b.bin");
        std::fs::write(&a, b"abc").unwrap();
        std::fs::write(&b, b"").unwrap();
        let files = vec![
            (a, "a.bin".to_owned(), "weights"),
            (b, "b.bin".to_owned(), "config"),
            (dir.path().join("gone"), "gone".to_owned(), "config"),
        ];
        let last = std::sync::Mutex::new(0u64);
        let hashes = compute_hashes(&files, &|p| {
            assert_eq!(p.bytes_total, 3);
            let mut l = last.lock().unwrap();
            *l = (*l).max(p.bytes_done);
        });
        // FIPS 180-2 test vectors.
        assert_eq!(
            hashes[0].sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            hashes[1].sha256.as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert!(hashes[2].sha256.is_none() && hashes[2].error.is_some());
        assert_eq!(*last.lock().unwrap(), 3);
    }

    #[test]
    fn side_files_by_kind() {
        assert_eq!(side_kind("tokenizer.json"), Some("tokenizer"));
        assert_eq!(side_kind("config.json"), Some("config"));
        assert_eq!(side_kind("LICENSE"), Some("license"));
        assert_eq!(side_kind("modeling_x.py"), Some("code"));
        assert_eq!(side_kind("notes.txt"), None);
    }
}

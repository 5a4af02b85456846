//! `glassbox cache`: every model in the local stores — the Hugging Face cache, the Ollama store
//! and LM Studio's models folder — with its revisions, its size on disk (each blob counted once),
//! its format by file names and its family when a `config.json` says it. The report layer adds
//! the family of GGUF models by opening their headers ([`CachedModel::open_path`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{file_len, files_in, hf_cache, lmstudio, ollama, read_small, subdirs};

/// One store looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// `huggingface`, `ollama` or `lmstudio`.
    pub kind: &'static str,
    pub root: PathBuf,
    pub exists: bool,
}

/// One model found in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedModel {
    /// `huggingface`, `ollama` or `lmstudio`.
    pub store: &'static str,
    /// What to give glassbox to open it: `ORG/NAME`, `ollama:NAME`, `lmstudio:PUBLISHER/NAME`.
    pub reference: String,
    /// Branches, tags and unreferenced commits (Hugging Face), tags (Ollama), files (LM Studio).
    pub revisions: Vec<String>,
    /// Bytes on disk, each blob counted once.
    pub bytes: u64,
    /// Weight formats by file name (`safetensors`, `gguf`, `pytorch`, …), sorted.
    pub formats: Vec<&'static str>,
    /// `config.json`'s `model_type` (else its first `architectures` entry).
    pub family: Option<String>,
    /// The file or folder whose headers tell the family when no config does (a GGUF model).
    pub open_path: Option<PathBuf>,
}

/// The stores the environment points at, and the models in those that exist.
pub fn list_all() -> (Vec<Store>, Vec<CachedModel>) {
    let mut stores = Vec::new();
    let mut models = Vec::new();
    let roots = [
        ("huggingface", hf_cache::cache_dir()),
        ("ollama", ollama::store_dir()),
        ("lmstudio", lmstudio::models_dir()),
    ];
    for (kind, root) in roots {
        let Some(root) = root else { continue };
        let exists = root.is_dir();
        if exists {
            models.extend(match kind {
                "huggingface" => list_hf(&root),
                "ollama" => list_ollama(&root),
                _ => list_lmstudio(&root),
            });
        }
        stores.push(Store { kind, root, exists });
    }
    (stores, models)
}

/// The weight format a file name says, if any.
pub fn format_of(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    Some(if lower.ends_with(".safetensors") {
        "safetensors"
    } else if lower.ends_with(".gguf") {
        "gguf"
    } else if [".bin", ".pt", ".pth", ".ckpt"]
        .iter()
        .any(|e| lower.ends_with(e))
        && !lower.ends_with("training_args.bin")
    {
        "pytorch"
    } else if lower.ends_with(".onnx") {
        "onnx"
    } else if lower.ends_with(".msgpack") {
        "flax"
    } else if lower.ends_with(".h5") {
        "tensorflow"
    } else {
        return None;
    })
}

fn formats(names: &[String]) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = names.iter().filter_map(|n| format_of(n)).collect();
    set.into_iter().collect()
}

/// `model_type`, else `architectures[0]`, of a `config.json`.
pub fn family_of_config(path: &Path) -> Option<String> {
    let text = read_small(path, 4 << 20).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("model_type")
        .and_then(|t| t.as_str())
        .or_else(|| v.pointer("/architectures/0").and_then(|t| t.as_str()))
        .map(str::to_owned)
}

fn dir_bytes(dir: &Path) -> u64 {
    files_in(dir).iter().map(|f| file_len(&dir.join(f))).sum()
}

fn list_hf(cache: &Path) -> Vec<CachedModel> {
    let mut out = Vec::new();
    for folder in subdirs(cache) {
        let Some(repo) = hf_cache::repo_id(&folder) else {
            continue;
        };
        let dir = cache.join(&folder);
        let snapshots = subdirs(&dir.join("snapshots"));
        let refs = hf_cache::refs(&dir);
        let mut revisions: Vec<String> = refs.iter().map(|(name, _)| name.clone()).collect();
        revisions.extend(
            snapshots
                .iter()
                .filter(|s| !refs.iter().any(|(_, c)| c == *s))
                .map(|s| hf_cache::short(s).to_owned()),
        );
        // The snapshot `glassbox ORG/NAME` would open: `main`, else the only one.
        let default = hf_cache::resolve_in(cache, &repo, &repo, None).ok();
        let names = default.as_deref().map(files_in).unwrap_or_default();
        let family = default
            .as_ref()
            .filter(|_| names.iter().any(|n| n == "config.json"))
            .and_then(|d| family_of_config(&d.join("config.json")));
        let formats = formats(&names);
        out.push(CachedModel {
            store: "huggingface",
            reference: repo,
            revisions,
            bytes: dir_bytes(&dir.join("blobs")),
            open_path: default.filter(|_| family.is_none() && formats.contains(&"gguf")),
            formats,
            family,
        });
    }
    out
}

fn list_ollama(store: &Path) -> Vec<CachedModel> {
    let mut out: Vec<CachedModel> = Vec::new();
    let mut blobs: Vec<BTreeSet<PathBuf>> = Vec::new();
    for m in ollama::list_models(store) {
        let reference = format!("ollama:{}", m.name);
        let layers = ollama::read_manifest(&m.manifest)
            .map(|man| man.layers)
            .unwrap_or_default();
        let model_blob = layers
            .iter()
            .find(|l| l.role() == "model")
            .and_then(|l| ollama::blob_path(store, &l.digest))
            .filter(|p| p.is_file());
        let paths = layers
            .iter()
            .filter_map(|l| ollama::blob_path(store, &l.digest));
        match out.last_mut() {
            Some(last) if last.reference == reference => {
                last.revisions.push(m.tag.clone());
                blobs.last_mut().expect("one set per model").extend(paths);
                if last.open_path.is_none() {
                    last.open_path = model_blob;
                }
            }
            _ => {
                out.push(CachedModel {
                    store: "ollama",
                    reference,
                    revisions: vec![m.tag.clone()],
                    bytes: 0,
                    formats: vec!["gguf"],
                    family: None,
                    open_path: model_blob,
                });
                blobs.push(paths.collect());
            }
        }
    }
    for (model, set) in out.iter_mut().zip(&blobs) {
        model.bytes = set.iter().map(|p| file_len(p)).sum();
    }
    out
}

fn list_lmstudio(root: &Path) -> Vec<CachedModel> {
    lmstudio::list_models(root)
        .into_iter()
        .map(|id| {
            let dir = root.join(&id);
            let names = files_in(&dir);
            let weights: Vec<String> = names
                .iter()
                .filter(|n| format_of(n).is_some())
                .cloned()
                .collect();
            let family = names
                .iter()
                .any(|n| n == "config.json")
                .then(|| family_of_config(&dir.join("config.json")))
                .flatten();
            let gguf = weights.iter().find(|n| n.ends_with(".gguf"));
            CachedModel {
                store: "lmstudio",
                reference: format!("lmstudio:{id}"),
                bytes: dir_bytes(&dir),
                formats: formats(&names),
                open_path: gguf.filter(|_| family.is_none()).map(|g| dir.join(g)),
                revisions: weights,
                family,
            }
        })
        .collect()
}

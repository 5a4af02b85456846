//! The cache report (`glassbox cache`): the models in the local stores — the Hugging Face cache,
//! the Ollama store, LM Studio's models folder — found by [`crate::source::listing`], with the
//! family of GGUF models read from their headers (`general.architecture`) when no `config.json`
//! names it.

use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::source::listing::{self, CachedModel, Store};

/// Everything `glassbox cache` shows. Its serde form is the `--format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub schema_version: u32,
    /// The stores looked at, in order (Hugging Face, Ollama, LM Studio), present or not.
    pub stores: Vec<StoreRow>,
    /// The models, by store then reference.
    pub models: Vec<CacheRow>,
    /// Bytes on disk over every model.
    pub total_bytes: u64,
}

/// One store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreRow {
    /// `huggingface`, `ollama` or `lmstudio`.
    pub store: &'static str,
    pub path: String,
    pub exists: bool,
}

/// One model.
#[derive(Debug, Clone, Serialize)]
pub struct CacheRow {
    pub store: &'static str,
    /// What to give glassbox to open it.
    pub reference: String,
    /// Branches and tags (and unreferenced commits), Ollama tags, or LM Studio files.
    pub revisions: Vec<String>,
    /// Bytes on disk, each blob counted once.
    pub bytes: u64,
    /// Weight formats by file name (`safetensors`, `gguf`, `pytorch`, …).
    pub formats: Vec<&'static str>,
    /// `config.json`'s `model_type`, or GGUF `general.architecture`.
    pub family: Option<String>,
}

impl CacheReport {
    /// Walks the stores the environment points at.
    pub fn gather() -> CacheReport {
        let (stores, models) = listing::list_all();
        CacheReport::new(stores, models)
    }

    /// The report of given stores and models (GGUF headers are opened for their family).
    pub fn new(stores: Vec<Store>, models: Vec<CachedModel>) -> CacheReport {
        let models: Vec<CacheRow> = models
            .into_iter()
            .map(|m| {
                let family = m.family.or_else(|| {
                    let path = m.open_path.as_ref()?;
                    // An Ollama blob is named by its digest: the manifest says it is GGUF.
                    let model = if m.store == "ollama" {
                        crate::model::open_blob(path)
                    } else {
                        crate::model::open(path)
                    }
                    .ok()?;
                    model
                        .gguf
                        .as_ref()?
                        .metadata
                        .get_str("general.architecture")
                        .map(str::to_owned)
                });
                CacheRow {
                    store: m.store,
                    reference: m.reference,
                    revisions: m.revisions,
                    bytes: m.bytes,
                    formats: m.formats,
                    family,
                }
            })
            .collect();
        CacheReport {
            schema_version: SCHEMA_VERSION,
            stores: stores
                .into_iter()
                .map(|s| StoreRow {
                    store: s.kind,
                    path: s.root.display().to_string(),
                    exists: s.exists,
                })
                .collect(),
            total_bytes: models.iter().map(|m| m.bytes).sum(),
            models,
        }
    }
}

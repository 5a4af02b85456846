//! Opening a model by reference ([`crate::source`]): a path when one exists, else a name in a
//! local store (Hugging Face cache, Ollama, LM Studio) resolved to a path, else a remote model
//! built from header bytes fetched over HTTP.
//!
//! A remote model's weight files hold their headers only ([`WeightFile::without_data`]): tensor
//! data reads as empty, so callers that need values check [`Model::remote`] first. Its side
//! documents are written to a private temporary folder ([`Model::folder`]) so the readers of
//! side files work unchanged; the folder is removed when the model is dropped.

use std::path::{Path, PathBuf};

use super::open::{assemble, assemble_gguf, find_documents, gguf_header, safetensors_header};
use super::{Document, Model, Reading, WeightFile};
use crate::error::{Error, Result};
use crate::source::remote::{RemoteModel, fetch_hub, fetch_url};
use crate::source::{Reference, parse, resolve_local};

/// Where a remote model came from.
#[derive(Debug)]
pub struct Remote {
    /// The reference as given (`hf:ORG/NAME`, a URL).
    pub reference: String,
    /// Bytes received over HTTP: headers and side documents.
    pub fetched_bytes: u64,
    documents: TempFolder,
}

impl Remote {
    /// The local folder holding the fetched side documents.
    pub fn documents_folder(&self) -> &Path {
        &self.documents.0
    }
}

/// A folder removed, with what it holds, on drop.
#[derive(Debug)]
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> std::io::Result<TempFolder> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("glassbox-remote-{}-{n}", std::process::id()));
            // `create_dir` fails on an existing path: the folder is new, and ours.
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempFolder(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens `arg`: the path when it exists, else the reference it names ([`crate::source::parse`]).
pub fn open_reference(arg: &Path) -> Result<Model> {
    open_reference_with(arg, Reading::Mapped)
}

/// [`open_reference`], reading local weight files as `reading` says (`--no-mmap`).
pub fn open_reference_with(arg: &Path, reading: Reading) -> Result<Model> {
    let text = arg.to_string_lossy();
    // `folder/model.safetensor` reads like a Hub id too; when its first part is a local folder it
    // is a mistyped path, and the path's error (with a near name) says more than the cache's.
    let local_folder = |r: &Reference| match r {
        Reference::HfCache { repo, .. } => repo
            .split('/')
            .next()
            .is_some_and(|org| Path::new(org).is_dir()),
        _ => false,
    };
    let reference = match std::fs::symlink_metadata(arg) {
        Ok(_) => None,
        Err(_) => parse(&text).filter(|r| !local_folder(r)),
    };
    let Some(reference) = reference else {
        return super::open_with(arg, reading);
    };
    match &reference {
        Reference::HfRemote { repo, revision } => {
            open_remote(fetch_hub(&text, repo, revision.as_deref())?)
        }
        Reference::Url(url) => open_remote(fetch_url(url)?),
        Reference::Ollama { .. } => {
            let resolved = resolve_local(&reference, &text)?;
            let mut model = super::open::open_gguf(&resolved.path, reading)?;
            model.path = arg.to_owned();
            // The store's layers are the model's documents; a blob folder has no others.
            model.documents = resolved
                .documents
                .into_iter()
                .map(|d| Document {
                    kind: d.kind,
                    path: d.path,
                    bytes: d.bytes,
                })
                .collect();
            Ok(model)
        }
        _ => {
            let resolved = resolve_local(&reference, &text)?;
            let mut model = super::open_with(&resolved.path, reading)?;
            model.path = arg.to_owned();
            Ok(model)
        }
    }
}

/// Checks the shards' headers against the index, as opening a local index does: a tensor the
/// index puts in a shard that lacks it is an error; a tensor the index does not name and a
/// `total_size` that differs from the tensors' bytes are notes.
fn check_index(
    model: &mut Model,
    index: &crate::format::index::ShardIndex,
    reference: &str,
) -> Result<()> {
    let held: std::collections::HashSet<(&str, &str)> = model
        .tensors
        .iter()
        .map(|t| (model.files[t.file].name.as_str(), t.name.as_str()))
        .collect();
    for (tensor, shard) in &index.weight_map {
        if !held.contains(&(shard.as_str(), tensor.as_str())) {
            return Err(Error::Index {
                path: PathBuf::from(format!("{reference} model.safetensors.index.json")),
                source: Box::new(crate::error::IndexError::WrongShard {
                    tensor: tensor.clone(),
                    shard: shard.clone(),
                    found_in: model
                        .tensors
                        .iter()
                        .find(|t| t.name == *tensor)
                        .map(|t| model.files[t.file].name.clone()),
                }),
            });
        }
    }
    let mut notes = Vec::new();
    for t in &model.tensors {
        if !index.weight_map.contains_key(&t.name) {
            notes.push(super::open::index_extra_tensor(model, t));
        }
    }
    notes.extend(super::open::total_size_note(index.total_size, model));
    model.notes.extend(notes);
    Ok(())
}

/// Opens a GGUF file named by its digest (an Ollama blob, `sha256-<hex>`): the name says
/// nothing of the format, the manifest says it is the model.
pub fn open_blob(path: &Path) -> Result<Model> {
    let mut model = super::open::open_gguf(path, Reading::Mapped)?;
    model.path = path.to_owned();
    Ok(model)
}

/// Builds a model from fetched headers: the tensor table and metadata as for local files, the
/// side documents from the fetched copies.
pub fn open_remote(remote: RemoteModel) -> Result<Model> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let folder = TempFolder::new().map_err(|e| io(&std::env::temp_dir(), e))?;
    for (name, bytes) in &remote.documents {
        // Top-level names only (the listing is the server's word): nothing is written outside.
        if crate::source::is_name_part(name) {
            let path = folder.0.join(name);
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
    }
    let gguf = remote.files.first().is_some_and(|f| f.gguf);
    let mut model = if gguf {
        let mut parts = Vec::new();
        for f in remote.files {
            let file = WeightFile::without_data(PathBuf::from(&f.url), f.head.len, f.head.bytes);
            parts.push(gguf_header(file)?);
        }
        assemble_gguf(parts)
    } else {
        let mut files = Vec::new();
        for f in remote.files {
            let file = WeightFile::without_data(PathBuf::from(&f.url), f.head.len, f.head.bytes);
            files.push(safetensors_header(file)?);
        }
        let mut model = assemble(files);
        if let Some(index) = &remote.index {
            check_index(&mut model, index, &remote.reference)?;
        }
        let mut seen = std::collections::HashMap::new();
        for t in &model.tensors {
            if let Some(other) = seen.insert(t.name.as_str(), t.file) {
                return Err(Error::NameCollision {
                    folder: PathBuf::from(&remote.reference),
                    tensor: t.name.clone(),
                    first: model.files[other].name.clone(),
                    second: model.files[t.file].name.clone(),
                });
            }
        }
        model
    };
    model.path = PathBuf::from(&remote.reference);
    find_documents(&folder.0, &mut model);
    // The documents are shown where they came from, not where they were copied to.
    let base = model
        .files
        .first()
        .and_then(|f| f.path.to_str())
        .and_then(|u| u.rsplit_once('/'))
        .map(|(b, _)| b.to_owned())
        .unwrap_or_default();
    for d in &mut model.documents {
        if let Some(name) = d.path.file_name() {
            d.path = PathBuf::from(format!("{base}/{}", name.to_string_lossy()));
        }
    }
    model.remote = Some(Remote {
        reference: remote.reference,
        fetched_bytes: remote.fetched_bytes,
        documents: folder,
    });
    Ok(model)
}

//! The Ollama store (`OLLAMA_MODELS`, default `~/.ollama/models`):
//!
//! ```text
//! manifests/registry.ollama.ai/library/NAME/TAG    JSON: config and layers, each a digest
//! blobs/sha256-<hex>                              the bytes of each layer
//! ```
//!
//! `ollama:NAME[:TAG]` reads the manifest (default tag `latest`; `NAMESPACE/NAME` for a user's
//! model, `HOST/NAMESPACE/NAME` for another registry). The layer of media type
//! `application/vnd.ollama.image.model` is the GGUF weights; the others (template, system
//! prompt, parameters, licence, adapter, projector, messages) become documents of the model.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{LayerDocument, Resolved, SourceError, env_path, file_len, home, read_small, subdirs};

/// The registry a bare name belongs to, and its namespace for official models.
pub const DEFAULT_HOST: &str = "registry.ollama.ai";
pub const DEFAULT_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
/// Largest manifest read (real ones are under 2 KiB).
const MAX_MANIFEST: u64 = 1 << 20;
const MEDIA_PREFIX: &str = "application/vnd.ollama.image.";

/// Where the store is, from the environment (it may not exist).
pub fn store_dir() -> Option<PathBuf> {
    env_path("OLLAMA_MODELS").or_else(|| home().map(|h| h.join(".ollama").join("models")))
}

/// A manifest, as far as glassbox reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Layer {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
}

impl Layer {
    /// What the layer is: `model`, `template`, `system`, `params`, `license`, `adapter`,
    /// `projector`, `messages`, or the media type's last part.
    pub fn role(&self) -> &str {
        self.media_type
            .strip_prefix(MEDIA_PREFIX)
            .unwrap_or(&self.media_type)
    }
}

/// The blob file of a digest (`sha256:<64 hex>` → `blobs/sha256-<hex>`); `None` for a digest of
/// any other form (which could not name a blob, and could name a path outside the store).
pub fn blob_path(store: &Path, digest: &str) -> Option<PathBuf> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| store.join("blobs").join(format!("sha256-{hex}")))
}

/// (host, namespace, name) of `NAME`, `NAMESPACE/NAME` or `HOST/NAMESPACE/NAME`.
fn split_name(name: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = name.split('/').collect();
    let ok = |p: &str| super::is_name_part(p);
    match parts.as_slice() {
        [n] if ok(n) => Some((DEFAULT_HOST.into(), DEFAULT_NAMESPACE.into(), (*n).into())),
        [ns, n] if ok(ns) && ok(n) => Some((DEFAULT_HOST.into(), (*ns).into(), (*n).into())),
        [h, ns, n] if ok(&h.replace(':', "")) && ok(ns) && ok(n) => {
            Some(((*h).into(), (*ns).into(), (*n).into()))
        }
        _ => None,
    }
}

/// The model name as `ollama list` shows it: `NAME:TAG`, `NS/NAME:TAG`, `HOST/NS/NAME:TAG`.
pub fn display_name(host: &str, namespace: &str, name: &str, tag: &str) -> String {
    match (host == DEFAULT_HOST, namespace == DEFAULT_NAMESPACE) {
        (true, true) => format!("{name}:{tag}"),
        (true, false) => format!("{namespace}/{name}:{tag}"),
        _ => format!("{host}/{namespace}/{name}:{tag}"),
    }
}

/// Reads and parses a manifest file.
pub fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = read_small(path, MAX_MANIFEST).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("the manifest is not valid: {e}"))
}

/// Resolves `ollama:NAME[:TAG]` in the store from the environment.
pub fn resolve(given: &str, name: &str, tag: Option<&str>) -> Result<Resolved, SourceError> {
    let Some(store) = store_dir() else {
        return Err(SourceError::not_found(
            given,
            "no Ollama store (set OLLAMA_MODELS)",
        ));
    };
    resolve_in(&store, given, name, tag)
}

/// [`resolve`] in a given store.
pub fn resolve_in(
    store: &Path,
    given: &str,
    name: &str,
    tag: Option<&str>,
) -> Result<Resolved, SourceError> {
    let Some((host, namespace, model)) = split_name(name) else {
        return Err(SourceError::invalid(
            given,
            "not an Ollama model name (NAME, NAMESPACE/NAME or HOST/NAMESPACE/NAME)",
        ));
    };
    let tag = tag.unwrap_or(DEFAULT_TAG);
    if !super::is_name_part(tag) {
        return Err(SourceError::invalid(given, format!("`{tag}` is not a tag")));
    }
    if !store.is_dir() {
        return Err(SourceError::not_found(
            given,
            format!("no Ollama store at {} (set OLLAMA_MODELS)", store.display()),
        ));
    }
    let model_dir = store
        .join("manifests")
        .join(&host)
        .join(&namespace)
        .join(&model);
    let manifest_path = model_dir.join(tag);
    if !manifest_path.is_file() {
        let tags = super::files_in(&model_dir);
        let why = if tags.is_empty() {
            let all = list_models(store);
            format!(
                "no model `{model}` in the Ollama store at {} ({} {}: {})",
                store.display(),
                all.len(),
                crate::text::plural(all.len() as u64, "model", "models"),
                if all.is_empty() {
                    "none".to_owned()
                } else {
                    all.iter()
                        .map(|m| m.display.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        } else {
            format!(
                "no tag `{tag}` of `{model}` in the Ollama store (tags: {})",
                tags.join(", ")
            )
        };
        return Err(SourceError::not_found(given, why));
    }
    let manifest = read_manifest(&manifest_path).map_err(|e| SourceError::invalid(given, e))?;
    let mut weights = None;
    let mut documents = vec![LayerDocument {
        kind: "ollama_manifest",
        bytes: file_len(&manifest_path),
        path: manifest_path,
    }];
    for layer in &manifest.layers {
        let Some(path) = blob_path(store, &layer.digest) else {
            return Err(SourceError::invalid(
                given,
                format!(
                    "layer digest `{}` is not `sha256:<64 hex digits>`",
                    layer.digest
                ),
            ));
        };
        let kind = match layer.role() {
            "model" => {
                if weights.is_some() {
                    return Err(SourceError::invalid(
                        given,
                        "the manifest has several model layers",
                    ));
                }
                weights = Some(path);
                continue;
            }
            "template" => "template",
            "system" => "system_prompt",
            "params" => "parameters",
            "license" => "license",
            "adapter" => "adapter",
            "projector" => "projector",
            "messages" => "messages",
            _ => continue,
        };
        if !path.is_file() {
            return Err(SourceError::not_found(
                given,
                format!(
                    "the {} layer's blob {} is missing from the store",
                    layer.role(),
                    path.display()
                ),
            ));
        }
        documents.push(LayerDocument {
            kind,
            bytes: file_len(&path),
            path,
        });
    }
    let Some(weights) = weights else {
        return Err(SourceError::invalid(
            given,
            "the manifest has no model layer (application/vnd.ollama.image.model)",
        ));
    };
    if !weights.is_file() {
        return Err(SourceError::not_found(
            given,
            format!(
                "the model layer's blob {} is missing from the store",
                weights.display()
            ),
        ));
    }
    Ok(Resolved {
        path: weights,
        documents,
    })
}

/// One tagged model in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModel {
    /// `NAME:TAG` as `ollama list` shows it.
    pub display: String,
    /// `NAME` as `ollama list` shows it (without the tag).
    pub name: String,
    pub tag: String,
    pub manifest: PathBuf,
}

/// Every tagged model in the store, sorted by name then tag.
pub fn list_models(store: &Path) -> Vec<StoredModel> {
    let mut out = Vec::new();
    let root = store.join("manifests");
    for host in subdirs(&root) {
        for ns in subdirs(&root.join(&host)) {
            for name in subdirs(&root.join(&host).join(&ns)) {
                let dir = root.join(&host).join(&ns).join(&name);
                for tag in super::files_in(&dir) {
                    let display = display_name(&host, &ns, &name, &tag);
                    let bare = display[..display.len() - tag.len() - 1].to_owned();
                    out.push(StoredModel {
                        display,
                        name: bare,
                        manifest: dir.join(&tag),
                        tag,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.name, &a.tag).cmp(&(&b.name, &b.tag)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_name_blobs_only_when_well_formed() {
        let store = Path::new("/s");
        let hex = "ab".repeat(32);
        assert_eq!(
            blob_path(store, &format!("sha256:{hex}")),
            Some(PathBuf::from(format!("/s/blobs/sha256-{hex}")))
        );
        assert_eq!(blob_path(store, "sha256:../../etc/passwd"), None);
        assert_eq!(blob_path(store, &format!("md5:{hex}")), None);
    }

    #[test]
    fn names_split_into_host_namespace_name() {
        assert_eq!(
            split_name("llama3.2"),
            Some((
                DEFAULT_HOST.into(),
                DEFAULT_NAMESPACE.into(),
                "llama3.2".into()
            ))
        );
        assert_eq!(
            split_name("me/mine"),
            Some((DEFAULT_HOST.into(), "me".into(), "mine".into()))
        );
        assert_eq!(split_name("../x"), None);
        assert_eq!(
            display_name(DEFAULT_HOST, "me", "mine", "latest"),
            "me/mine:latest"
        );
    }
}

//! Model references: the names people know their models by, resolved to files before opening.
//!
//! A command's model argument is a path first. When no such path exists, [`parse`] reads it as a
//! reference, one kind per file:
//!
//! - `ORG/NAME[@REVISION]`: a snapshot in the local Hugging Face cache ([`hf_cache`]);
//! - `ollama:NAME[:TAG]`: a manifest in the Ollama store, its GGUF blob and its other layers
//!   (template, system prompt, parameters, licence) ([`ollama`]);
//! - `lmstudio:PUBLISHER/NAME`: a folder in LM Studio's models folder ([`lmstudio`]);
//! - `hf:ORG/NAME[@REVISION]` and `https://…/x.safetensors|.gguf`: headers read over HTTP with
//!   range requests, never the weights ([`remote`]).
//!
//! The local kinds resolve to a path (and, for Ollama, the layer documents) that
//! [`crate::model`] opens as usual; the remote kind fetches header bytes that `model` parses.
//! [`listing`] walks every store for `glassbox cache`. This layer sits between the readers and
//! the error type: it may use [`crate::format`] (to know when a GGUF header is complete) and
//! does its own I/O; nothing here knows the model types.

pub mod hf_cache;
pub mod listing;
pub mod lmstudio;
pub mod ollama;
pub mod remote;

use std::path::{Path, PathBuf};

/// A model reference, parsed from a command-line argument that is not an existing path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `ORG/NAME[@REVISION]` in the local Hugging Face cache.
    HfCache {
        repo: String,
        revision: Option<String>,
    },
    /// `ollama:NAME[:TAG]` (NAME may be `NAMESPACE/NAME` or `HOST/NAMESPACE/NAME`).
    Ollama { name: String, tag: Option<String> },
    /// `lmstudio:PUBLISHER/NAME[/FILE.gguf]`.
    LmStudio { id: String },
    /// `hf:ORG/NAME[@REVISION]` on the Hugging Face Hub (or `HF_ENDPOINT`).
    HfRemote {
        repo: String,
        revision: Option<String>,
    },
    /// An `http(s)://` URL to one `.safetensors` or `.gguf` file.
    Url(String),
}

/// What a local reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The file or folder to open.
    pub path: PathBuf,
    /// Documents of the model that are not beside its weights (Ollama's layers).
    pub documents: Vec<LayerDocument>,
}

/// A document of the model found through its store (an Ollama layer blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDocument {
    /// `ollama_manifest`, `template`, `system_prompt`, `parameters`, `license`, `adapter`,
    /// `projector`, `messages`.
    pub kind: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
}

/// Why a reference could not be resolved or fetched. Each message is one line naming the
/// reference.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{reference}: {why}")]
    NotFound { reference: String, why: String },
    #[error("{reference}: {why}")]
    Invalid { reference: String, why: String },
    #[error("{reference}: {why}")]
    Remote { reference: String, why: String },
}

impl SourceError {
    pub(crate) fn not_found(reference: &str, why: impl Into<String>) -> SourceError {
        SourceError::NotFound {
            reference: reference.to_owned(),
            why: why.into(),
        }
    }

    pub(crate) fn invalid(reference: &str, why: impl Into<String>) -> SourceError {
        SourceError::Invalid {
            reference: reference.to_owned(),
            why: why.into(),
        }
    }

    pub(crate) fn remote(reference: &str, why: impl Into<String>) -> SourceError {
        SourceError::Remote {
            reference: reference.to_owned(),
            why: why.into(),
        }
    }
}

/// Reads `arg` as a reference; `None` when it is none of the kinds (then it is only a path).
/// Call it only when no file or folder of that name exists: `org/name` is also a relative path.
pub fn parse(arg: &str) -> Option<Reference> {
    if let Some(rest) = arg.strip_prefix("hf:") {
        let (repo, revision) = split_revision(rest);
        return Some(Reference::HfRemote { repo, revision });
    }
    if arg.starts_with("https://") || arg.starts_with("http://") {
        return Some(Reference::Url(arg.to_owned()));
    }
    if let Some(rest) = arg.strip_prefix("ollama:") {
        // The tag follows the last `:` (a host may carry a port: `host:5000/ns/name:tag`).
        let last = rest.rsplit('/').next().unwrap_or(rest);
        let (name, tag) = match last.rsplit_once(':') {
            Some((_, tag)) => (
                rest[..rest.len() - tag.len() - 1].to_owned(),
                Some(tag.to_owned()),
            ),
            None => (rest.to_owned(), None),
        };
        return Some(Reference::Ollama { name, tag });
    }
    if let Some(rest) = arg.strip_prefix("lmstudio:") {
        return Some(Reference::LmStudio {
            id: rest.to_owned(),
        });
    }
    let (repo, revision) = split_revision(arg);
    is_repo_id(&repo).then_some(Reference::HfCache { repo, revision })
}

/// `ORG/NAME@REV` → (`ORG/NAME`, `REV`).
fn split_revision(s: &str) -> (String, Option<String>) {
    match s.split_once('@') {
        Some((repo, rev)) => (repo.to_owned(), Some(rev.to_owned())),
        None => (s.to_owned(), None),
    }
}

/// `ORG/NAME`, each part of letters, digits, `-`, `_` and `.`, not `.` or `..` and not starting
/// with `-` or `.` (the Hub's own rule, and what keeps a name from climbing out of a folder).
pub fn is_repo_id(s: &str) -> bool {
    let mut parts = s.split('/');
    let (Some(org), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [org, name].iter().all(|p| is_name_part(p))
}

/// One path component of a name: letters, digits, `-`, `_`, `.`; not empty, not starting with
/// `.` or `-`, at most 96 characters.
pub(crate) fn is_name_part(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 96
        && !p.starts_with(['.', '-'])
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A revision (branch, tag, `refs/pr/N`, commit or its prefix): name characters and `/`, no
/// `..`, so it cannot climb out of `refs/`.
pub(crate) fn is_revision(r: &str) -> bool {
    !r.is_empty() && r.len() <= 256 && r.split('/').all(is_name_part)
}

/// Resolves a local reference (Hugging Face cache, Ollama, LM Studio) to the path to open.
/// Remote references are fetched by [`remote`] instead.
pub fn resolve_local(reference: &Reference, given: &str) -> Result<Resolved, SourceError> {
    let plain = |path| Resolved {
        path,
        documents: Vec::new(),
    };
    match reference {
        Reference::HfCache { repo, revision } => {
            hf_cache::resolve(given, repo, revision.as_deref()).map(plain)
        }
        Reference::Ollama { name, tag } => ollama::resolve(given, name, tag.as_deref()),
        Reference::LmStudio { id } => lmstudio::resolve(given, id).map(plain),
        Reference::HfRemote { .. } | Reference::Url(_) => Err(SourceError::invalid(
            given,
            "a remote reference has no local files",
        )),
    }
}

/// An environment variable's value as a path, when set and not empty.
pub(crate) fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The home folder (`HOME`, or `USERPROFILE` on Windows).
pub(crate) fn home() -> Option<PathBuf> {
    env_path("HOME").or_else(|| env_path("USERPROFILE"))
}

/// The size of a file, following links; 0 when it cannot be read.
pub(crate) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Reads a small text file (a ref, a manifest), at most `cap` bytes.
pub(crate) fn read_small(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(cap)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The sorted names of the sub-folders of `dir` (none when it cannot be read).
pub(crate) fn subdirs(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// The sorted names of the regular files (links followed) in `dir`.
pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_by_kind() {
        assert_eq!(
            parse("meta-llama/Llama-3.2-1B@v1.0"),
            Some(Reference::HfCache {
                repo: "meta-llama/Llama-3.2-1B".into(),
                revision: Some("v1.0".into())
            })
        );
        assert_eq!(
            parse("ollama:llama3.2:3b"),
            Some(Reference::Ollama {
                name: "llama3.2".into(),
                tag: Some("3b".into())
            })
        );
        assert_eq!(
            parse("ollama:host:5000/ns/name"),
            Some(Reference::Ollama {
                name: "host:5000/ns/name".into(),
                tag: None
            })
        );
        assert_eq!(
            parse("hf:org/name"),
            Some(Reference::HfRemote {
                repo: "org/name".into(),
                revision: None
            })
        );
        assert_eq!(
            parse("lmstudio:pub/m"),
            Some(Reference::LmStudio { id: "pub/m".into() })
        );
        assert_eq!(parse("./a/b"), None);
        assert_eq!(parse("a/b/c"), None);
        assert_eq!(parse("../b"), None);
        assert_eq!(parse("model.safetensors"), None);
    }

    #[test]
    fn revisions_cannot_climb() {
        assert!(is_revision("refs/pr/1"));
        assert!(is_revision("main"));
        assert!(!is_revision("../../etc"));
        assert!(!is_revision("a//b"));
    }
}

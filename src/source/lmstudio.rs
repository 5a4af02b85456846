//! LM Studio's models folder: `PUBLISHER/NAME/*.gguf` (and MLX safetensors folders), mirroring
//! the Hugging Face repo ids the files came from. The folder is `LMSTUDIO_MODELS` when set, else
//! `~/.lmstudio/models`, else the older `~/.cache/lm-studio/models` (LM Studio lets the user
//! move it in its My Models tab; the variable is how to tell glassbox where).

use std::path::{Path, PathBuf};

use super::{SourceError, env_path, home, subdirs};

/// Where the models folder is: `LMSTUDIO_MODELS`, else the first default that exists (else the
/// current default, which may not exist).
pub fn models_dir() -> Option<PathBuf> {
    if let Some(dir) = env_path("LMSTUDIO_MODELS") {
        return Some(dir);
    }
    let home = home()?;
    let current = home.join(".lmstudio").join("models");
    let older = home.join(".cache").join("lm-studio").join("models");
    Some(if !current.is_dir() && older.is_dir() {
        older
    } else {
        current
    })
}

/// Resolves `lmstudio:PUBLISHER/NAME[/FILE]` to the folder (or file) to open.
pub fn resolve(given: &str, id: &str) -> Result<PathBuf, SourceError> {
    let Some(root) = models_dir() else {
        return Err(SourceError::not_found(
            given,
            "no LM Studio models folder (set LMSTUDIO_MODELS)",
        ));
    };
    resolve_in(&root, given, id)
}

/// [`resolve`] in a given models folder.
pub fn resolve_in(root: &Path, given: &str, id: &str) -> Result<PathBuf, SourceError> {
    let parts: Vec<&str> = id.split('/').collect();
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| super::is_name_part(p)) {
        return Err(SourceError::invalid(
            given,
            "expected `lmstudio:PUBLISHER/NAME` or `lmstudio:PUBLISHER/NAME/FILE.gguf`",
        ));
    }
    if !root.is_dir() {
        return Err(SourceError::not_found(
            given,
            format!(
                "no LM Studio models folder at {} (set LMSTUDIO_MODELS)",
                root.display()
            ),
        ));
    }
    let path = parts
        .iter()
        .fold(root.to_path_buf(), |p, part| p.join(part));
    if path.exists() {
        return Ok(path);
    }
    let models = list_models(root);
    Err(SourceError::not_found(
        given,
        format!(
            "not in the LM Studio models folder at {} ({} {}: {})",
            root.display(),
            models.len(),
            crate::text::plural(models.len() as u64, "model", "models"),
            if models.is_empty() {
                "none".to_owned()
            } else {
                models.join(", ")
            }
        ),
    ))
}

/// Every `PUBLISHER/NAME` folder, sorted.
pub fn list_models(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for publisher in subdirs(root) {
        if publisher.starts_with('.') {
            continue;
        }
        for name in subdirs(&root.join(&publisher)) {
            out.push(format!("{publisher}/{name}"));
        }
    }
    out
}

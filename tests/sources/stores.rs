//! Fake local stores built in a temporary folder from the committed fixtures, laid out as the
//! tools that fill them do: a Hugging Face cache (refs, snapshots of links into blobs), an
//! Ollama store (manifests naming blobs by SHA-256) and an LM Studio models folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs glassbox with only the given store variables set (no real store of this machine is
/// seen: HOME points into the temporary folder).
pub fn run(home: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glassbox"));
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("HOME", home);
    for v in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "OLLAMA_MODELS",
        "LMSTUDIO_MODELS",
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run glassbox")
}

pub fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

pub fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8")
}

/// The SHA-256 of bytes, in lowercase hex (the Hub's LFS etag, Ollama's digest).
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fake Hugging Face cache repo.
pub struct HfRepo {
    pub dir: PathBuf,
}

impl HfRepo {
    pub fn new(cache: &Path, repo: &str) -> HfRepo {
        let dir = cache.join(format!("models--{}", repo.replace('/', "--")));
        std::fs::create_dir_all(dir.join("blobs")).unwrap();
        std::fs::create_dir_all(dir.join("refs")).unwrap();
        HfRepo { dir }
    }

    /// A snapshot at `commit` holding `files` (name, bytes), each a relative link to its blob
    /// (named by the SHA-256 of its bytes, so equal files share one blob).
    pub fn snapshot(&self, commit: &str, files: &[(&str, Vec<u8>)]) {
        let snap = self.dir.join("snapshots").join(commit);
        std::fs::create_dir_all(&snap).unwrap();
        for (name, bytes) in files {
            let etag = sha256(bytes);
            std::fs::write(self.dir.join("blobs").join(&etag), bytes).unwrap();
            std::os::unix::fs::symlink(format!("../../blobs/{etag}"), snap.join(name)).unwrap();
        }
    }

    /// A link in the snapshot to a blob that is not there.
    pub fn dangling(&self, commit: &str, name: &str) {
        let snap = self.dir.join("snapshots").join(commit);
        std::fs::create_dir_all(&snap).unwrap();
        std::os::unix::fs::symlink("../../blobs/0000missing", snap.join(name)).unwrap();
    }

    pub fn set_ref(&self, name: &str, commit: &str) {
        let path = self.dir.join("refs").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, commit).unwrap();
    }
}

/// The files of a fixture folder, by name.
pub fn fixture_files(folder: &str, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                std::fs::read(fixtures().join(folder).join(n)).unwrap(),
            )
        })
        .collect()
}

pub fn as_refs(files: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect()
}

/// Writes a blob into an Ollama store; returns its digest (`sha256:<hex>`).
pub fn ollama_blob(store: &Path, bytes: &[u8]) -> String {
    let hex = sha256(bytes);
    std::fs::create_dir_all(store.join("blobs")).unwrap();
    std::fs::write(store.join("blobs").join(format!("sha256-{hex}")), bytes).unwrap();
    format!("sha256:{hex}")
}

/// Writes a manifest for `NAMESPACE/NAME:TAG` with `layers` (media type suffix, bytes).
pub fn ollama_manifest(
    store: &Path,
    namespace: &str,
    name: &str,
    tag: &str,
    layers: &[(&str, &[u8])],
) {
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|(kind, bytes)| {
            serde_json::json!({
                "mediaType": format!("application/vnd.ollama.image.{kind}"),
                "digest": ollama_blob(store, bytes),
                "size": bytes.len(),
            })
        })
        .collect();
    let config = ollama_blob(store, b"{\"model_format\":\"gguf\"}");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 23},
        "layers": layers,
    });
    let dir = store
        .join("manifests/registry.ollama.ai")
        .join(namespace)
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(tag), serde_json::to_vec(&manifest).unwrap()).unwrap();
}

/// The summary JSON with every path left out (they differ between a store and the fixture).
pub fn without_paths(mut v: serde_json::Value) -> serde_json::Value {
    let model = v.get_mut("model").unwrap();
    model.as_object_mut().unwrap().remove("path");
    model.as_object_mut().unwrap().remove("fetched_bytes");
    for f in model["files"].as_array_mut().unwrap() {
        f.as_object_mut().unwrap().remove("path");
    }
    for d in model["documents"].as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("path");
    }
    v
}

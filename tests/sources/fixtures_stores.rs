//! The fake stores the local-source tests share: a Hugging Face cache, an Ollama store and an
//! LM Studio folder, each built in a fresh temporary folder from the committed fixtures, with the
//! constants the tests check against.

#![allow(dead_code)]

use super::stores::*;

pub const SHARDED: &[&str] = &[
    "config.json",
    "model.safetensors.index.json",
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
];
/// Every file of the single-file fixture but the generator's expected values.
pub const SINGLE: &[&str] = &[
    "LICENSE",
    "README.md",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
];
pub const COMMIT_A: &str = "aaaa1111bbbbccccddddeeeeffff000011112222";
pub const COMMIT_B: &str = "aaaa2222bbbbccccddddeeeeffff000011112222";
pub const COMMIT_C: &str = "cccc3333bbbbccccddddeeeeffff000011112222";

/// A cache with `org/llama` at three commits: `main` → the sharded model, tag `v1.0` → the
/// single-file model, and a snapshot whose weights link to a missing blob (no ref).
pub fn hf_cache() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("hub");
    let repo = HfRepo::new(&cache, "org/llama");
    repo.snapshot(
        COMMIT_A,
        &as_refs(&fixture_files("llama-tiny-sharded", SHARDED)),
    );
    repo.snapshot(COMMIT_B, &as_refs(&fixture_files("llama-tiny", SINGLE)));
    // The config is the same bytes as in COMMIT_B: one blob, two links.
    repo.snapshot(
        COMMIT_C,
        &as_refs(&fixture_files("llama-tiny", &["config.json"])),
    );
    repo.dangling(COMMIT_C, "model.safetensors");
    repo.set_ref("main", COMMIT_A);
    repo.set_ref("v1.0", COMMIT_B);
    HfRepo::new(&cache, "org/other").snapshot(
        COMMIT_A,
        &as_refs(&fixture_files("llama-tiny", &["config.json"])),
    );
    let env = vec![("HF_HUB_CACHE", cache.display().to_string())];
    (tmp, env)
}

pub const TEMPLATE: &str =
    "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>";
pub const SYSTEM: &str = "You are a helpful assistant. Never mention the weather.";
pub const MIT: &str = "MIT License\n\nCopyright (c) 2024 Example\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\nIMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\nFITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\nAUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\nLIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\nOUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\nSOFTWARE.\n";
pub const PARAMS: &str = "{\"stop\":[\"<|user|>\"],\"temperature\":0.7}";

pub fn gguf_bytes() -> Vec<u8> {
    std::fs::read(fixtures().join("gguf/llama-tiny.gguf")).unwrap()
}

/// A store with `tiny:latest` (every layer), `tiny:q8` (the model layer only) and `me/mine:1`.
pub fn ollama_store() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("ollama");
    let gguf = gguf_bytes();
    ollama_manifest(
        &store,
        "library",
        "tiny",
        "latest",
        &[
            ("model", &gguf),
            ("template", TEMPLATE.as_bytes()),
            ("system", SYSTEM.as_bytes()),
            ("license", MIT.as_bytes()),
            ("params", PARAMS.as_bytes()),
        ],
    );
    ollama_manifest(&store, "library", "tiny", "q8", &[("model", &gguf)]);
    ollama_manifest(
        &store,
        "me",
        "mine",
        "1",
        &[("model", &gguf), ("template", b"{{ .Prompt }}")],
    );
    (tmp, vec![("OLLAMA_MODELS", store.display().to_string())])
}

pub fn lmstudio() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lms");
    let dir = root.join("pub/tiny-GGUF");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tiny-Q8_0.gguf"), gguf_bytes()).unwrap();
    (tmp, vec![("LMSTUDIO_MODELS", root.display().to_string())])
}

//! Reading the side files the transparency report needs, next to the weights: the model card, the
//! LICENSE text, the tokenizer, tokenizer and generation configs, the chat template, an adapter
//! config, and any Python a config's `auto_map` would run with `trust_remote_code`.
//!
//! Every read is bounded: a file over its cap is not read, and that is a finding (a 1 GB "README"
//! is itself suspicious). A file that cannot be read or parsed is a finding too, never an error:
//! the weights were readable, so the report is still made.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::card::{Card, parse_card};
use super::eval_results::{self, EvalResult};
use crate::finding::{Finding, Severity, Subject};
use crate::model::Model;

/// Largest model card read (real cards are a few KiB to a few hundred KiB).
pub const MAX_CARD_BYTES: u64 = 16 << 20;
/// Largest JSON side file read (a large `tokenizer.json` is tens of MiB).
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// Largest LICENSE, template or Python file read.
pub const MAX_TEXT_BYTES: u64 = 4 << 20;
/// Most Python files listed.
const MAX_PYTHON_FILES: usize = 64;

/// What was read next to the weights.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The folder the side files were looked for in.
    pub folder: PathBuf,
    /// Names of the regular files in the folder, sorted.
    pub files: Vec<String>,
    /// Names of the sub-folders, sorted.
    pub dirs: Vec<String>,
    pub card: Option<Card>,
    /// The LICENSE-like files: (file name, text), in name order.
    pub license_texts: Vec<(String, String)>,
    pub tokenizer_config: Option<Value>,
    pub generation_config: Option<Value>,
    pub special_tokens_map: Option<Value>,
    /// `tokenizer.json`'s `model.type` (`BPE`, `Unigram`, …).
    pub tokenizer_model_type: Option<String>,
    /// The added tokens of `tokenizer.json` (content strings).
    pub added_tokens: Vec<String>,
    /// `chat_template.jinja`, preferred by transformers over the config's copy (or the template
    /// layer of an Ollama model, which Ollama uses instead of the GGUF's).
    pub chat_template_file: Option<String>,
    /// Where [`Sources::chat_template_file`] came from when it is not `chat_template.jinja`.
    pub chat_template_source: Option<String>,
    /// `adapter_config.json` (PEFT).
    pub adapter_config: Option<Value>,
    /// Python files in the folder, with what they import.
    pub python: Vec<PythonFile>,
    /// The results of `.eval_results/*.yaml`, in file name order.
    pub eval_results: Vec<EvalResult>,
    /// Problems met while reading.
    pub findings: Vec<Finding>,
}

/// A Python file shipped with the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonFile {
    pub name: String,
    /// Top-level modules imported (`torch`, `os`, `subprocess`), sorted, deduplicated.
    pub imports: Vec<String>,
    /// The `auto_map` entries of `config.json` / `tokenizer_config.json` that point into it (those
    /// run with `trust_remote_code=True`).
    pub auto_map: Vec<String>,
}

/// Reads the side files next to `model`'s weights.
pub fn open_sources(model: &Model) -> Sources {
    let folder = model.folder().to_path_buf();
    let mut s = Sources {
        folder: folder.clone(),
        ..Sources::default()
    };
    // An Ollama model's weights are a blob among every model's blobs: the folder is not the
    // model's, its documents are the manifest's layers.
    let ollama = model.document("ollama_manifest").is_some();
    if let Ok(entries) = std::fs::read_dir(&folder).map(|e| e.filter(|_| !ollama)) {
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            match entry.file_type() {
                Ok(t) if t.is_dir() => s.dirs.push(name),
                Ok(t) if t.is_file() => s.files.push(name),
                _ => {}
            }
        }
    }
    s.files.sort();
    s.dirs.sort();

    if let Some(text) = read_capped(&mut s, "README.md", MAX_CARD_BYTES) {
        s.card = Some(parse_card(&text));
        if let Some(err) = s.card.as_ref().and_then(|c| c.front_matter_error.clone()) {
            s.findings.push(
                Finding::new(
                    Severity::Warning,
                    "card_front_matter_invalid",
                    Subject::File("README.md".into()),
                    format!("the model card's YAML front matter could not be read: {err}"),
                )
                .with("error", err),
            );
        }
    }
    let license_files: Vec<String> = s
        .files
        .iter()
        .filter(|n| is_license_file(n))
        .cloned()
        .collect();
    for name in license_files {
        if let Some(text) = read_capped(&mut s, &name, MAX_TEXT_BYTES) {
            s.license_texts.push((name, text));
        }
    }
    s.tokenizer_config = read_json(&mut s, "tokenizer_config.json");
    s.generation_config = read_json(&mut s, "generation_config.json");
    s.special_tokens_map = read_json(&mut s, "special_tokens_map.json");
    s.adapter_config = read_json(&mut s, "adapter_config.json");
    if let Some(tokenizer) = read_json(&mut s, "tokenizer.json") {
        s.tokenizer_model_type = tokenizer
            .pointer("/model/type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        s.added_tokens = tokenizer
            .get("added_tokens")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.get("content").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
    }
    s.chat_template_file = read_capped(&mut s, "chat_template.jinja", MAX_TEXT_BYTES);
    read_python(&mut s, model);
    if ollama {
        read_ollama_layers(&mut s, model);
    }
    read_eval_results(&mut s);
    s
}

/// The layers of an Ollama model: its template (the one Ollama renders prompts with, audited like
/// a chat template), its licence texts, and its system prompt (a finding: text every conversation
/// starts with, invisible to the user).
fn read_ollama_layers(s: &mut Sources, model: &Model) {
    let mut licenses = 0;
    for d in &model.documents {
        let label = match d.kind {
            "template" => "Ollama template layer",
            "license" => "Ollama license layer",
            "system_prompt" => "Ollama system layer",
            _ => continue,
        };
        let Some(text) = read_layer(s, &d.path, label) else {
            continue;
        };
        match d.kind {
            "template" => {
                s.chat_template_file = Some(text);
                s.chat_template_source = Some(label.to_owned());
            }
            "license" => {
                licenses += 1;
                let name = if licenses == 1 {
                    label.to_owned()
                } else {
                    format!("{label} {licenses}")
                };
                s.license_texts.push((name, text));
            }
            _ => {
                let first: String = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(120)
                    .collect();
                s.findings.push(
                    Finding::new(
                        Severity::Info,
                        "ollama_system_prompt",
                        Subject::File(label.into()),
                        format!(
                            "the Ollama manifest sets a system prompt ({} bytes), sent before every conversation: \"{first}\"",
                            text.len()
                        ),
                    )
                    .with("bytes", text.len() as u64),
                );
            }
        }
    }
}

/// Reads one layer blob under the text cap; a problem is a finding.
fn read_layer(s: &mut Sources, path: &Path, label: &str) -> Option<String> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_TEXT_BYTES {
        s.findings.push(
            Finding::new(
                Severity::Warning,
                "side_file_too_large",
                Subject::File(label.into()),
                format!(
                    "the {label} is {len} bytes, over the {MAX_TEXT_BYTES}-byte cap for such a file: not read"
                ),
            )
            .with("bytes", len)
            .with("cap", MAX_TEXT_BYTES),
        );
        return None;
    }
    match read_text(path, MAX_TEXT_BYTES) {
        Ok(text) => Some(text),
        Err(e) => {
            s.findings.push(Finding::new(
                Severity::Warning,
                "side_file_unreadable",
                Subject::File(label.into()),
                format!("the {label} could not be read: {e}"),
            ));
            None
        }
    }
}

/// Reads `.eval_results/*.yaml` (at most [`eval_results::MAX_FILES`], each capped like any text
/// side file); a file that is not results is a finding.
fn read_eval_results(s: &mut Sources) {
    const DIR: &str = ".eval_results";
    if !s.dirs.iter().any(|d| d == DIR) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(s.folder.join(DIR)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    names.sort();
    names.truncate(eval_results::MAX_FILES);
    for name in names {
        let file = format!("{DIR}/{name}");
        let Ok(text) = read_text(&s.folder.join(&file), MAX_TEXT_BYTES) else {
            continue;
        };
        match eval_results::parse_eval_results(&file, &text) {
            Ok(results) => s.eval_results.extend(results),
            Err(e) => s.findings.push(
                Finding::new(
                    Severity::Warning,
                    "side_file_invalid",
                    Subject::File(file.clone()),
                    format!("`{file}` is not a list of evaluation results: {e}"),
                )
                .with("error", e),
            ),
        }
    }
}

/// `LICENSE`, `LICENCE*`, `COPYING`, `NOTICE`, `USE_POLICY.md`: the files whose text says what the
/// terms are.
pub fn is_license_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("LICENSE")
        || upper.starts_with("LICENCE")
        || upper.starts_with("COPYING")
        || upper == "NOTICE"
        || upper.starts_with("USE_POLICY")
}

fn read_capped(s: &mut Sources, name: &str, cap: u64) -> Option<String> {
    if !s.files.iter().any(|f| f == name) {
        return None;
    }
    let path = s.folder.join(name);
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if len > cap {
        s.findings.push(
            Finding::new(
                Severity::Warning,
                "side_file_too_large",
                Subject::File(name.into()),
                format!(
                    "`{name}` is {len} bytes, over the {cap}-byte cap for such a file: not read"
                ),
            )
            .with("bytes", len)
            .with("cap", cap),
        );
        return None;
    }
    match read_text(&path, cap) {
        Ok(text) => Some(text),
        Err(e) => {
            s.findings.push(Finding::new(
                Severity::Warning,
                "side_file_unreadable",
                Subject::File(name.into()),
                format!("`{name}` could not be read: {e}"),
            ));
            None
        }
    }
}

fn read_text(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(cap)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_json(s: &mut Sources, name: &str) -> Option<Value> {
    let text = read_capped(s, name, MAX_JSON_BYTES)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => Some(v),
        Ok(_) | Err(_) => {
            s.findings.push(Finding::new(
                Severity::Warning,
                "side_file_invalid",
                Subject::File(name.into()),
                format!("`{name}` is not a JSON object"),
            ));
            None
        }
    }
}

/// Lists the Python files and ties each to the `auto_map` entries that would import it.
fn read_python(s: &mut Sources, model: &Model) {
    let mut auto_map: Vec<(String, String)> = Vec::new(); // (entry, module)
    for config in [model.config.as_ref(), s.tokenizer_config.as_ref()]
        .into_iter()
        .flatten()
    {
        if let Some(map) = config.get("auto_map").and_then(Value::as_object) {
            for (key, target) in map {
                // Values are "module.Class", a list of them (tokenizers: [slow, fast]), and may be
                // prefixed with a repo id ("org/repo--module.Class").
                let targets: Vec<&str> = match target {
                    Value::String(t) => vec![t],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                for t in targets {
                    let local = t.rsplit("--").next().unwrap_or(t);
                    if let Some((module, _class)) = local.rsplit_once('.') {
                        auto_map.push((format!("{key} → {t}"), module.to_owned()));
                    }
                }
            }
        }
    }
    let names: Vec<String> = s
        .files
        .iter()
        .filter(|n| n.ends_with(".py"))
        .take(MAX_PYTHON_FILES)
        .cloned()
        .collect();
    for name in names {
        let stem = name.trim_end_matches(".py").to_owned();
        let imports = read_capped(s, &name, MAX_TEXT_BYTES)
            .map(|t| python_imports(&t))
            .unwrap_or_default();
        let entries = auto_map
            .iter()
            .filter(|(_, m)| *m == stem)
            .map(|(e, _)| e.clone())
            .collect();
        s.python.push(PythonFile {
            name,
            imports,
            auto_map: entries,
        });
    }
    // One finding per missing module, naming every entry that needs it.
    let mut missing: Vec<(&str, Vec<String>)> = Vec::new();
    for (entry, module) in &auto_map {
        if s.python.iter().any(|p| p.name == format!("{module}.py")) {
            continue;
        }
        match missing.iter_mut().find(|(m, _)| m == module) {
            Some((_, entries)) => entries.push(entry.clone()),
            None => missing.push((module, vec![entry.clone()])),
        }
    }
    for (module, entries) in missing {
        s.findings.push(
            Finding::new(
                Severity::Warning,
                "remote_code_not_local",
                Subject::Key("auto_map".into()),
                format!(
                    "`auto_map` names `{module}.py`, which is not in the folder ({}): loading with trust_remote_code would fetch and run it",
                    entries.join(", ")
                ),
            )
            .with("module", module.to_owned())
            .with("entries", entries),
        );
    }
}

/// The top-level modules a Python file imports (`import a.b as c`, `from a.b import c`), read line
/// by line: a static listing, the file is never run.
pub fn python_imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let line = line.trim();
        let names: Vec<&str> = if let Some(rest) = line.strip_prefix("import ") {
            rest.split(',').collect()
        } else if let Some(rest) = line.strip_prefix("from ") {
            rest.split_whitespace().next().into_iter().collect()
        } else {
            continue;
        };
        for name in names {
            let module = name.split_whitespace().next().unwrap_or("");
            let top = module.split('.').next().unwrap_or("");
            if !top.is_empty() && top.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push(top.to_owned());
            } else if module.starts_with('.') {
                out.push(module.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_listed_by_top_level_module() {
        let src = "import os, sys\nimport torch.nn as nn\nfrom subprocess import Popen\nfrom .configuration_x import XConfig\n# import fake\nx = 'import y'\n";
        assert_eq!(
            python_imports(src),
            [".configuration_x", "os", "subprocess", "sys", "torch"]
        );
    }

    #[test]
    fn license_files_by_name() {
        for name in [
            "LICENSE",
            "LICENSE.txt",
            "licence.md",
            "COPYING",
            "NOTICE",
            "USE_POLICY.md",
        ] {
            assert!(is_license_file(name), "{name}");
        }
        assert!(!is_license_file("README.md"));
    }
}

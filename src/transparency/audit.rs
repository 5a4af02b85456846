//! The prompt-format audit (item E): the part of a model's behaviour that ships as text and code.
//!
//! It picks the chat template the way transformers does (`chat_template.jinja` first, then
//! `tokenizer_config.json`'s `chat_template`, a string or a list of named templates; GGUF
//! `tokenizer.chat_template`) and audits it statically ([`super::template`]). Then it reads the
//! special tokens for ones confusable with role markers (zero-width characters, look-alike letters),
//! the generation config's `suppress_tokens` / `bad_words_ids`, the GGUF metadata strings for
//! invisible characters, and lists the `trust_remote_code` Python with what it imports.

use serde_json::Value;

use super::sources::Sources;
use super::template::{TemplateAudit, audit_template};
use crate::finding::{Finding, Severity, Subject};
use crate::model::Model;

/// Role and turn markers of the common chat formats: a token that looks like one of these without
/// being it can make a user's text pass for a turn boundary in a reader's eyes.
pub const ROLE_MARKERS: &[&str] = &[
    "<|im_start|>",
    "<|im_end|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|begin_of_text|>",
    "<|endoftext|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
    "<start_of_turn>",
    "<end_of_turn>",
    "[INST]",
    "[/INST]",
    "<s>",
    "</s>",
    "<think>",
    "</think>",
];

/// Imports that give Python code reach beyond computing tensors: processes, network, files,
/// native code, unpickling.
pub const REACHING_IMPORTS: &[&str] = &[
    "os",
    "subprocess",
    "socket",
    "requests",
    "urllib",
    "http",
    "shutil",
    "ctypes",
    "pickle",
    "marshal",
    "importlib",
    "sys",
];

/// What the prompt format reveals, and what is suspicious in it.
#[derive(Debug, Clone, Default)]
pub struct PromptAudit {
    /// The chat template as shipped.
    pub template: Option<String>,
    /// Where it came from (`chat_template.jinja`, `tokenizer_config.json chat_template`,
    /// `GGUF tokenizer.chat_template`).
    pub template_source: Option<String>,
    /// A GGUF beside the source files carries a different chat template than they do.
    pub template_differs_in_gguf: bool,
    /// Named extra templates (`tool_use`, `rag` …).
    pub named_templates: Vec<String>,
    pub template_audit: TemplateAudit,
    /// Special and added tokens, in the order found, deduplicated.
    pub special_tokens: Vec<String>,
    /// Where the special tokens were read.
    pub special_tokens_source: Option<String>,
    pub findings: Vec<Finding>,
}

/// Runs the whole audit.
pub fn audit_prompt_format(sources: &Sources, model: &Model) -> PromptAudit {
    let mut audit = PromptAudit::default();
    choose_template(sources, model, &mut audit);
    if let (Some(t), Some(src)) = (&audit.template, &audit.template_source) {
        audit.template_audit = audit_template(t, src);
        audit
            .findings
            .extend(audit.template_audit.findings.iter().cloned());
    }
    collect_special_tokens(sources, model, &mut audit);
    audit
        .findings
        .extend(confusable_tokens(&audit.special_tokens));
    audit.findings.extend(suppressed_tokens(sources));
    audit.findings.extend(remote_code(sources));
    audit.findings.extend(pickle_code(model));
    audit.findings.extend(hidden_text_in_metadata(model));
    audit
}

fn choose_template(sources: &Sources, model: &Model, audit: &mut PromptAudit) {
    if let Some(t) = &sources.chat_template_file {
        audit.template = Some(t.clone());
        audit.template_source = Some(
            sources
                .chat_template_source
                .clone()
                .unwrap_or_else(|| "chat_template.jinja".into()),
        );
    }
    if let Some(v) = sources
        .tokenizer_config
        .as_ref()
        .and_then(|c| c.get("chat_template"))
    {
        match v {
            Value::String(t) if audit.template.is_none() => {
                audit.template = Some(t.clone());
                audit.template_source = Some("tokenizer_config.json `chat_template`".into());
            }
            Value::Array(list) => {
                for entry in list {
                    let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
                    let Some(t) = entry.get("template").and_then(Value::as_str) else {
                        continue;
                    };
                    if name == "default" && audit.template.is_none() {
                        audit.template = Some(t.to_owned());
                        audit.template_source =
                            Some("tokenizer_config.json `chat_template` (default)".into());
                    } else {
                        audit.named_templates.push(name.to_owned());
                        // Every shipped template is audited, named ones too.
                        let extra = audit_template(t, &format!("chat_template `{name}`"));
                        audit.findings.extend(extra.findings);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(g) = &model.gguf {
        let info = g.tokenizer();
        match (info.chat_template, &audit.template) {
            (Some(t), None) => {
                audit.template = Some(t);
                audit.template_source = Some("GGUF `tokenizer.chat_template`".into());
            }
            // The source repository's template beside a GGUF converted from it: they should be
            // the same text (spec E3); a converter or a re-uploader may have changed it.
            (Some(t), Some(source)) if t.trim() != source.trim() => {
                audit.template_differs_in_gguf = true;
                let extra = audit_template(&t, "GGUF `tokenizer.chat_template`");
                audit.findings.extend(extra.findings);
            }
            _ => {}
        }
        for name in info.named_chat_templates {
            if let Some(t) = g
                .metadata
                .get_str(&format!("tokenizer.chat_template.{name}"))
            {
                let extra = audit_template(t, &format!("GGUF `tokenizer.chat_template.{name}`"));
                audit.findings.extend(extra.findings);
            }
            audit.named_templates.push(name);
        }
    }
}

fn collect_special_tokens(sources: &Sources, model: &Model, audit: &mut PromptAudit) {
    let mut tokens: Vec<String> = Vec::new();
    let mut from = Vec::new();
    if let Some(map) = sources
        .tokenizer_config
        .as_ref()
        .and_then(|c| c.get("added_tokens_decoder"))
        .and_then(Value::as_object)
    {
        from.push("tokenizer_config.json `added_tokens_decoder`");
        tokens.extend(
            map.values()
                .filter_map(|t| t.get("content").and_then(Value::as_str))
                .map(str::to_owned),
        );
    }
    if !sources.added_tokens.is_empty() {
        from.push("tokenizer.json `added_tokens`");
        tokens.extend(sources.added_tokens.iter().cloned());
    }
    if let Some(map) = sources
        .special_tokens_map
        .as_ref()
        .and_then(Value::as_object)
    {
        from.push("special_tokens_map.json");
        for v in map.values() {
            let content = |v: &Value| {
                v.as_str()
                    .or_else(|| v.get("content").and_then(Value::as_str))
                    .map(str::to_owned)
            };
            match v {
                Value::Array(list) => tokens.extend(list.iter().filter_map(content)),
                v => tokens.extend(content(v)),
            }
        }
    }
    if let Some(g) = &model.gguf {
        // Control tokens (token_type 3) named by the special-token ids.
        let info = g.tokenizer();
        let ids = [
            info.bos_token_id,
            info.eos_token_id,
            info.eot_token_id,
            info.eom_token_id,
            info.padding_token_id,
        ];
        if let Some(vocab) = gguf_vocabulary(model) {
            from.push("GGUF `tokenizer.ggml.*_token_id`");
            for id in ids.into_iter().flatten() {
                if let Some(t) = usize::try_from(id).ok().and_then(|i| vocab.get(i)) {
                    tokens.push(t.clone());
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    tokens.retain(|t| seen.insert(t.clone()));
    audit.special_tokens = tokens;
    audit.special_tokens_source = (!from.is_empty()).then(|| from.join(", "));
}

/// The GGUF token list. A real vocabulary (tens of thousands of tokens) is longer than what the
/// parser decodes eagerly, so it is read here from the header bytes of the first file.
fn gguf_vocabulary(model: &Model) -> Option<Vec<String>> {
    const KEY: &str = "tokenizer.ggml.tokens";
    let array = model.gguf.as_ref()?.metadata.get_array(KEY)?;
    let bytes = model.files.first().map(|f| f.bytes()).unwrap_or(&[]);
    let items = match &array.items {
        Some(items) => items.clone(),
        None => array.read_items(bytes, KEY).ok()?,
    };
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Folds a token to what a reader sees: invisible characters dropped, look-alike letters mapped to
/// ASCII.
pub fn skeleton(token: &str) -> String {
    token
        .chars()
        .filter(|&c| !super::card::is_invisible(c))
        .map(|c| match c {
            // Cyrillic and Greek letters that render as Latin ones.
            'а' => 'a',
            'е' => 'e',
            'о' | 'ο' => 'o',
            'р' | 'ρ' => 'p',
            'с' => 'c',
            'у' => 'y',
            'х' => 'x',
            'і' => 'i',
            'ѕ' => 's',
            'ј' => 'j',
            'А' | 'Α' => 'A',
            'Е' | 'Ε' => 'E',
            'І' | 'Ι' => 'I',
            'Т' | 'Τ' => 'T',
            'Ν' => 'N',
            'ǀ' | '∣' | '│' => '|',
            // Fullwidth ASCII.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Tokens with invisible characters, and tokens that look like a role marker (or like another
/// special token) without being it.
pub fn confusable_tokens(tokens: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in tokens {
        let folded = skeleton(t);
        if folded == *t {
            continue;
        }
        let looks_like = ROLE_MARKERS
            .iter()
            .map(|m| (*m).to_owned())
            .chain(tokens.iter().filter(|o| *o != t).cloned())
            .find(|m| *m == folded);
        let escaped: String = t.escape_unicode().to_string();
        // The characters that differ from what is shown, by code point.
        let odd: Vec<String> = t
            .chars()
            .filter(|c| !c.is_ascii())
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        let finding = match looks_like {
            Some(marker) => Finding::new(
                Severity::Error,
                "token_confusable",
                Subject::Key(t.clone()),
                format!(
                    "special token `{folded}` looks like the role marker `{marker}` but is a different token (it holds {})",
                    odd.join(", ")
                ),
            )
            .with("looks_like", marker),
            None => Finding::new(
                Severity::Warning,
                "token_invisible",
                Subject::Key(t.clone()),
                format!(
                    "special token `{folded}` holds invisible or look-alike characters ({})",
                    odd.join(", ")
                ),
            ),
        };
        out.push(finding.with("code_points", escaped));
    }
    out
}

/// `suppress_tokens` / `bad_words_ids` in the generation config: tokens the model is kept from
/// saying, decided by whoever shipped it.
fn suppressed_tokens(sources: &Sources) -> Vec<Finding> {
    let Some(g) = &sources.generation_config else {
        return Vec::new();
    };
    ["suppress_tokens", "begin_suppress_tokens", "bad_words_ids"]
        .iter()
        .filter_map(|key| {
            let n = g.get(*key)?.as_array()?.len();
            (n > 0).then(|| {
                Finding::new(
                    Severity::Info,
                    "generation_suppressed_tokens",
                    Subject::Key(format!("generation_config.json `{key}`")),
                    format!("the generation config keeps {n} token(s) or sequence(s) from being generated (`{key}`)"),
                )
                .with("count", n)
            })
        })
        .collect()
}

/// The code the folder's pickles would run on load (`torch.load(weights_only=False)`): the
/// dangerous and unknown globals, and pickles that could not be read, from the safety report made
/// at open ([`Model::notes`], `pickle_*` codes).
fn pickle_code(model: &Model) -> Vec<Finding> {
    model
        .notes
        .iter()
        .filter(|n| n.code.starts_with("pickle_") && n.severity >= Severity::Warning)
        .cloned()
        .collect()
}

/// The Python a config's `auto_map` runs with `trust_remote_code`, with its imports.
fn remote_code(sources: &Sources) -> Vec<Finding> {
    sources
        .python
        .iter()
        .filter(|p| !p.auto_map.is_empty())
        .map(|p| {
            let reaching: Vec<&String> = p
                .imports
                .iter()
                .filter(|i| REACHING_IMPORTS.contains(&i.as_str()))
                .collect();
            let severity = if reaching.is_empty() {
                Severity::Warning
            } else {
                Severity::Error
            };
            Finding::new(
                severity,
                "trust_remote_code",
                Subject::File(p.name.clone()),
                format!(
                    "`{}` runs on load with trust_remote_code ({}); it imports {}{}",
                    p.name,
                    p.auto_map.join(", "),
                    if p.imports.is_empty() {
                        "nothing".to_owned()
                    } else {
                        p.imports.join(", ")
                    },
                    if reaching.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " — {} reach beyond tensors",
                            reaching
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            )
            .with("imports", p.imports.clone())
            .with("auto_map", p.auto_map.clone())
        })
        .collect()
}

/// Invisible characters in GGUF string metadata (not the vocabulary, where byte tokens are normal).
pub fn hidden_text_in_metadata(model: &Model) -> Vec<Finding> {
    let Some(g) = &model.gguf else {
        return Vec::new();
    };
    g.metadata
        .entries()
        .iter()
        .filter(|(k, _)| !k.starts_with("tokenizer.ggml."))
        .filter_map(|(k, v)| {
            let s = v.as_str()?;
            let f = super::card::invisible_characters(s, k)?;
            Some(Finding {
                subject: Subject::Key(k.clone()),
                ..f
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_role_markers_are_flagged_and_real_ones_are_not() {
        let tokens: Vec<String> = [
            "<|im_start|>",
            "<|im_end|>",
            "<|im_ѕtart|>",       // Cyrillic dze
            "<|im\u{200b}_end|>", // zero-width space
            "<tool_call>",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = confusable_tokens(&tokens);
        let codes: Vec<(&str, String)> = f
            .iter()
            .map(|f| (f.code, f.evidence[0].value.to_string()))
            .collect();
        assert_eq!(
            codes,
            [
                ("token_confusable", "\"<|im_start|>\"".to_owned()),
                ("token_confusable", "\"<|im_end|>\"".to_owned())
            ]
        );
        let odd = confusable_tokens(&["<x\u{200d}y>".to_owned()]);
        assert_eq!(odd[0].code, "token_invisible");
    }

    #[test]
    fn skeleton_maps_fullwidth_and_drops_invisibles() {
        assert_eq!(skeleton("［INST］"), "[INST]");
        assert_eq!(skeleton("a\u{2066}b"), "ab");
    }
}

//! What `config.json` declares, read with the Transformers aliases (`n_layer`, `n_embd`, `d_model`,
//! …), from `text_config` when a multimodal config nests the language model there, and without
//! trusting types: a string, a negative or fractional number, or a number too large for the
//! arithmetic where a count is expected is ignored with a note, never a panic.

use serde_json::{Map, Value};

use super::note::Note;

/// Counts above this are treated as nonsense (no real hyperparameter comes close), which also keeps
/// every product of a few of them inside `u64`.
const MAX_COUNT: u64 = 1 << 40;

/// A value and the config key it came from (`text_config.hidden_size`, or a derivation such as
/// `hidden_size / num_attention_heads (default)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Declared<T> {
    pub value: T,
    pub key: String,
    /// Not written in the config: the default Transformers applies (`key` says from what).
    pub defaulted: bool,
}

impl<T> Declared<T> {
    pub fn new(value: T, key: impl Into<String>) -> Self {
        Declared {
            value,
            key: key.into(),
            defaulted: false,
        }
    }

    /// The default a config implies for an unset key, derived as `derivation` says; its key reads
    /// `{derivation} (default)`.
    pub fn default_from(value: T, derivation: impl std::fmt::Display) -> Self {
        Declared {
            value,
            key: format!("{derivation} (default)"),
            defaulted: true,
        }
    }
}

/// A view of the config that records what it could not use.
pub struct ConfigReader<'a> {
    root: Option<&'a Map<String, Value>>,
    nested: Option<&'a Map<String, Value>>,
    /// The name the declared side gives each top-level key (a GGUF model's config stands for its
    /// metadata: `hidden_size` is `llama.embedding_length`); keys not listed keep their name.
    key_names: &'a [(&'static str, String)],
    pub notes: Vec<Note>,
}

impl<'a> ConfigReader<'a> {
    pub fn new(config: Option<&'a Value>) -> Self {
        let root = config.and_then(Value::as_object);
        let nested = root
            .and_then(|r| r.get("text_config"))
            .and_then(Value::as_object);
        ConfigReader {
            root,
            nested,
            key_names: &[],
            notes: Vec::new(),
        }
    }

    /// The reader naming each top-level key as `key_names` says: config key → the name the
    /// declaring side gives it (`hidden_size` → `llama.embedding_length` for a GGUF model).
    pub fn with_key_names(mut self, key_names: &'a [(&'static str, String)]) -> Self {
        self.key_names = key_names;
        self
    }

    /// The name of `key` as the declared side calls it.
    pub fn key_name(&self, key: &str) -> String {
        self.renamed(key).unwrap_or_else(|| key.to_owned())
    }

    /// The name `key_names` gives `key`, if it gives one.
    pub fn renamed(&self, key: &str) -> Option<String> {
        self.key_names
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, name)| name.clone())
    }

    pub fn present(&self) -> bool {
        self.root.is_some()
    }

    /// The first of `keys` present (not null) at the top level, then in `text_config`.
    pub fn raw(&self, keys: &[&str]) -> Option<(String, &'a Value)> {
        for (scope, prefix) in [(self.root, ""), (self.nested, "text_config.")] {
            let Some(map) = scope else { continue };
            for key in keys {
                if let Some(v) = map.get(*key).filter(|v| !v.is_null()) {
                    let name = if prefix.is_empty() {
                        self.key_name(key)
                    } else {
                        format!("{prefix}{key}")
                    };
                    return Some((name, v));
                }
            }
        }
        None
    }

    /// A count (a non-negative whole number) under the first present key.
    pub fn count(&mut self, keys: &[&str]) -> Option<Declared<u64>> {
        let (key, value) = self.raw(keys)?;
        match as_count(value) {
            Some(n) => Some(Declared::new(n, key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "a count",
                });
                None
            }
        }
    }

    /// A number (rope theta, factors).
    pub fn number(&mut self, keys: &[&str]) -> Option<Declared<f64>> {
        let (key, value) = self.raw(keys)?;
        match value.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Some(Declared::new(f, key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "a number",
                });
                None
            }
        }
    }

    pub fn boolean(&mut self, keys: &[&str]) -> Option<Declared<bool>> {
        let (key, value) = self.raw(keys)?;
        match value.as_bool() {
            Some(b) => Some(Declared::new(b, key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "true or false",
                });
                None
            }
        }
    }

    pub fn string(&mut self, keys: &[&str]) -> Option<Declared<String>> {
        let (key, value) = self.raw(keys)?;
        match value.as_str() {
            Some(s) => Some(Declared::new(s.to_owned(), key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "a string",
                });
                None
            }
        }
    }

    /// A list of counts (`mlp_only_layers`); entries that are not counts make the whole list unusable.
    pub fn counts(&mut self, keys: &[&str]) -> Option<Declared<Vec<u64>>> {
        let (key, value) = self.raw(keys)?;
        let list = value
            .as_array()
            .and_then(|a| a.iter().map(as_count).collect::<Option<Vec<u64>>>());
        match list {
            Some(list) => Some(Declared::new(list, key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "a list of counts",
                });
                None
            }
        }
    }

    /// A list of strings (`architectures`, `layer_types`).
    pub fn strings(&mut self, keys: &[&str]) -> Option<Declared<Vec<String>>> {
        let (key, value) = self.raw(keys)?;
        let list = value.as_array().and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        });
        match list {
            Some(list) => Some(Declared::new(list, key)),
            None => {
                self.notes.push(Note::ConfigValueIgnored {
                    key,
                    found: short(value),
                    expected: "a list of strings",
                });
                None
            }
        }
    }

    /// The number of entries of an object (`id2label`).
    pub fn object_len(&self, key: &str) -> Option<Declared<u64>> {
        let (key, value) = self.raw(&[key])?;
        value
            .as_object()
            .map(|m| Declared::new(m.len() as u64, format!("{key} (entries)")))
    }
}

/// A JSON value as a count: a non-negative integer (or an integral float such as `2.0`) no larger
/// than `MAX_COUNT` (2^40).
pub fn as_count(value: &Value) -> Option<u64> {
    let n = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| {
                    f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f <= MAX_COUNT as f64
                })
                .map(|f| f as u64)
        })?,
        _ => return None,
    };
    (n <= MAX_COUNT).then_some(n)
}

/// A value for a message: strings quoted, long values cut.
fn short(value: &Value) -> String {
    let mut s = value.to_string();
    if s.chars().count() > 40 {
        s = s.chars().take(37).collect::<String>() + "...";
    }
    s
}

/// The dtype name a config declares (`bfloat16`, `torch.float16`), as the safetensors name.
pub fn dtype_name(declared: &str) -> Option<&'static str> {
    let s = declared.strip_prefix("torch.").unwrap_or(declared);
    Some(match s {
        "float32" | "float" | "fp32" => "F32",
        "float16" | "half" | "fp16" => "F16",
        "bfloat16" | "bf16" => "BF16",
        "float64" | "double" => "F64",
        "float8_e4m3fn" => "F8_E4M3",
        "float8_e5m2" => "F8_E5M2",
        "int8" => "I8",
        "uint8" => "U8",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_accept_whole_numbers_only() {
        assert_eq!(as_count(&json!(2)), Some(2));
        assert_eq!(as_count(&json!(2.0)), Some(2));
        assert_eq!(as_count(&json!(2.5)), None);
        assert_eq!(as_count(&json!(-1)), None);
        assert_eq!(as_count(&json!("2")), None);
        assert_eq!(as_count(&json!(1e30)), None);
        assert_eq!(as_count(&json!(u64::MAX)), None);
        assert_eq!(as_count(&json!(null)), None);
    }

    #[test]
    fn aliases_nesting_and_notes() {
        let cfg = json!({"n_layer": 12, "text_config": {"hidden_size": 64}, "n_head": "four"});
        let mut r = ConfigReader::new(Some(&cfg));
        assert_eq!(
            r.count(&["num_hidden_layers", "n_layer"]),
            Some(Declared::new(12, "n_layer"))
        );
        assert_eq!(
            r.count(&["hidden_size"]),
            Some(Declared::new(64, "text_config.hidden_size"))
        );
        assert_eq!(r.count(&["num_attention_heads", "n_head"]), None);
        let messages: Vec<String> = r.notes.iter().map(Note::message).collect();
        assert_eq!(
            messages,
            ["config `n_head` is \"four\", not a count; ignored"]
        );
        assert_eq!(r.count(&["absent"]), None);
        let not_object = json!([1, 2]);
        let mut r = ConfigReader::new(Some(&not_object));
        assert!(!r.present());
        assert_eq!(r.count(&["n_layer"]), None);
    }

    #[test]
    fn keys_are_named_as_the_declaring_side_names_them() {
        let config = json!({"hidden_size": 16, "n_head": "four", "text_config": {"d_ff": 8}});
        let names = [
            ("hidden_size", "llama.embedding_length".to_owned()),
            ("n_head", "llama.attention.head_count".to_owned()),
            ("d_ff", "not.used.for.nested".to_owned()),
        ];
        let mut r = ConfigReader::new(Some(&config)).with_key_names(&names);
        let hidden = r.count(&["hidden_size"]).unwrap();
        assert_eq!(
            (hidden.value, hidden.key.as_str()),
            (16, "llama.embedding_length")
        );
        assert_eq!(r.count(&["n_head"]), None);
        assert_eq!(
            r.notes[0].message(),
            "config `llama.attention.head_count` is \"four\", not a count; ignored"
        );
        // Only top-level keys stand for metadata keys.
        assert_eq!(r.count(&["d_ff"]).unwrap().key, "text_config.d_ff");
        assert_eq!(r.key_name("vocab_size"), "vocab_size");
    }

    #[test]
    fn dtype_names() {
        assert_eq!(dtype_name("bfloat16"), Some("BF16"));
        assert_eq!(dtype_name("torch.float16"), Some("F16"));
        assert_eq!(dtype_name("auto"), None);
    }
}

//! One finding type for everything readable but suspicious: what opening the files noticed (a gap
//! between tensors, an invalid `config.json`), what the architecture inference noticed (a config
//! key contradicting the shapes), what the statistics found (NaN, dead rows, a duplicated tensor).
//!
//! A finding is data first: a stable `code`, the `subject` it is about and `evidence` fields (which
//! key, which file, declared and observed values). `message` is the sentence for people, rendered
//! from those fields by the code that makes the finding; faces show it as it is and take colour
//! from `severity`, never from the text. This module is a leaf: every layer may use it.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lowercase name used in every output (`info`, `warning`, `error`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What a finding is about. In JSON it is flattened into the finding: `"tensor"` (the name, or
/// null when the finding is not about one tensor) and, for a file or a key, `"file"` or `"key"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The model as a whole.
    Model,
    /// One tensor, by its name in the files.
    Tensor(String),
    /// One file, by the name shown in tables.
    File(String),
    /// One metadata or config key.
    Key(String),
}

impl Subject {
    /// The tensor's name when the subject is a tensor.
    pub fn tensor(&self) -> Option<&str> {
        match self {
            Subject::Tensor(name) => Some(name),
            _ => None,
        }
    }
}

/// One field of evidence: a name and its value (a number, a string, a key, a list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub field: &'static str,
    pub value: serde_json::Value,
}

impl Evidence {
    pub fn new(field: &'static str, value: impl Into<serde_json::Value>) -> Evidence {
        Evidence {
            field,
            value: value.into(),
        }
    }
}

/// Something readable but suspicious about the model, a file, a key or a tensor.
///
/// JSON: `{"severity", "code", "tensor", ["file" | "key",] "message", ["evidence"]}`, `evidence`
/// being an object of its fields, left out when there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable machine-readable identifier (`nan`, `dead_rows`, `gap`, `config_invalid`, …).
    pub code: &'static str,
    pub subject: Subject,
    /// One sentence for people, rendered from `evidence` by the finding's maker.
    pub message: String,
    /// The fields the message was rendered from.
    pub evidence: Vec<Evidence>,
}

impl Finding {
    pub fn new(
        severity: Severity,
        code: &'static str,
        subject: Subject,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            code,
            subject,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    /// Adds one field of evidence.
    pub fn with(mut self, field: &'static str, value: impl Into<serde_json::Value>) -> Finding {
        self.evidence.push(Evidence::new(field, value));
        self
    }

    /// The tensor's name when the finding is about one tensor.
    pub fn tensor(&self) -> Option<&str> {
        self.subject.tensor()
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("severity", &self.severity)?;
        map.serialize_entry("code", self.code)?;
        map.serialize_entry("tensor", &self.subject.tensor())?;
        match &self.subject {
            Subject::File(name) => map.serialize_entry("file", name)?,
            Subject::Key(name) => map.serialize_entry("key", name)?,
            Subject::Model | Subject::Tensor(_) => {}
        }
        map.serialize_entry("message", &self.message)?;
        if !self.evidence.is_empty() {
            let fields: serde_json::Map<String, serde_json::Value> = self
                .evidence
                .iter()
                .map(|e| (e.field.to_owned(), e.value.clone()))
                .collect();
            map.serialize_entry("evidence", &fields)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_the_tensor_key_and_adds_evidence_only_when_there_is_some() {
        let bare = Finding::new(
            Severity::Warning,
            "nan",
            Subject::Tensor("w".into()),
            "2 NaN",
        );
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"severity":"warning","code":"nan","tensor":"w","message":"2 NaN"}"#
        );
        let model = Finding::new(Severity::Info, "gap", Subject::File("a.st".into()), "gap")
            .with("bytes", 16);
        assert_eq!(
            serde_json::to_string(&model).unwrap(),
            r#"{"severity":"info","code":"gap","tensor":null,"file":"a.st","message":"gap","evidence":{"bytes":16}}"#
        );
        assert_eq!(
            serde_json::to_value(Finding::new(Severity::Error, "x", Subject::Model, "m")).unwrap()
                ["tensor"],
            serde_json::Value::Null
        );
    }
}

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

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

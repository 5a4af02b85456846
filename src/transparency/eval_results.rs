//! The Hub's newer evaluation format: one YAML file per benchmark under `.eval_results/`, each a
//! list of results `{dataset: {id, task_id, revision}, value, verifyToken, date, source: {url,
//! name, user, org}, notes}` (spec §4). They feed items F5 (evaluation datasets) and H1 (evaluation
//! results) beside the card's `model-index`.
//!
//! A verify token is the Hub's signature over a result; it cannot be checked offline, so a signed
//! result is reported as "platform-signed (unchecked)", never as verified.

use serde_json::Value;

/// Most `.eval_results` files read (a model has one per benchmark, a handful).
pub const MAX_FILES: usize = 64;

/// One result of an `.eval_results/*.yaml` file.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalResult {
    /// The file it came from, relative to the model folder (`.eval_results/mmlu.yaml`).
    pub file: String,
    /// `dataset.id`: the Hub dataset the result was measured on.
    pub dataset: Option<String>,
    /// `dataset.task_id`.
    pub task: Option<String>,
    /// `value`, as written.
    pub value: Option<String>,
    /// Whether a `verifyToken` accompanies it (a platform signature, not checked here).
    pub signed: bool,
}

/// The results of one `.eval_results` file's text, or why it could not be read. A file may hold
/// one result (a mapping) or a list of them.
pub fn parse_eval_results(file: &str, yaml: &str) -> Result<Vec<EvalResult>, String> {
    let doc = super::yaml::parse_yaml(yaml)?;
    let entries = match doc {
        Value::Array(items) => items,
        v @ Value::Object(_) => vec![v],
        Value::Null => Vec::new(),
        _ => return Err("it is neither a list of results nor one result".into()),
    };
    Ok(entries
        .iter()
        .filter(|e| e.is_object())
        .map(|e| EvalResult {
            file: file.to_owned(),
            dataset: text(e.pointer("/dataset/id")),
            task: text(e.pointer("/dataset/task_id")),
            value: text(e.get("value")),
            signed: e.get("verifyToken").is_some_and(|t| !t.is_null()),
        })
        .collect())
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(super::card::scalar_text)
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_results_with_and_without_tokens() {
        let yaml = "- dataset:\n    id: cais/mmlu\n    task_id: mmlu\n  value: 0.634\n  \
                    verifyToken: eyJhbGciOi\n  date: '2025-01-01'\n\
                    - dataset:\n    id: openai/gsm8k\n  value: 41.2\n";
        let r = parse_eval_results(".eval_results/x.yaml", yaml).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].dataset.as_deref(), Some("cais/mmlu"));
        assert_eq!(r[0].task.as_deref(), Some("mmlu"));
        assert_eq!(r[0].value.as_deref(), Some("0.634"));
        assert!(r[0].signed);
        assert_eq!(r[1].dataset.as_deref(), Some("openai/gsm8k"));
        assert_eq!(r[1].task, None);
        assert!(!r[1].signed);
    }

    #[test]
    fn one_result_as_a_mapping() {
        let r = parse_eval_results("f", "dataset: {id: a/b}\nvalue: 3\n").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].value.as_deref(), Some("3"));
    }

    #[test]
    fn not_results_is_an_error_and_empty_is_none() {
        assert!(parse_eval_results("f", "just text").is_err());
        assert!(parse_eval_results("f", "a: [unclosed").is_err());
        assert_eq!(parse_eval_results("f", "").unwrap(), Vec::new());
        // Entries that are not mappings are skipped.
        assert_eq!(parse_eval_results("f", "- 1\n- two\n").unwrap(), Vec::new());
    }
}

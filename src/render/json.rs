//! The JSON documents (`--format json`): the serde form of the report types
//! ([`crate::report`]), schema version [`crate::report::SCHEMA_VERSION`]. docs/json.md describes
//! every key.

use serde::Serialize;

/// Serialises with a trailing newline. Non-finite floats must already be `None` (→ `null`).
pub fn to_string<T: Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("JSON documents serialise");
    s.push('\n');
    s
}

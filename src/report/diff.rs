//! The `glassbox diff A B` report: both models' objects around the comparison
//! ([`crate::diff::Diff`]), which is already plain data. Its serde form is the diff document.

use serde::Serialize;

use super::{ModelObject, SCHEMA_VERSION};
use crate::diff::Diff;
use crate::model::Model;

/// What every face of `glassbox diff` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub schema_version: u32,
    pub a: ModelObject,
    pub b: ModelObject,
    #[serde(flatten)]
    pub diff: Diff,
}

impl DiffReport {
    pub fn new(a: &Model, b: &Model, diff: Diff) -> DiffReport {
        DiffReport {
            schema_version: SCHEMA_VERSION,
            a: ModelObject::new(a),
            b: ModelObject::new(b),
            diff,
        }
    }
}

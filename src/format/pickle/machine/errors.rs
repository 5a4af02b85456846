//! The errors an opcode ends in, naming the opcode being executed and where it starts.

use super::Machine;
use crate::format::pickle::PickleError;

impl Machine<'_> {
    pub(super) fn invalid(&self, why: &str) -> PickleError {
        PickleError::Invalid {
            opcode: self.op_name,
            offset: self.op_offset as u64,
            why: why.to_owned(),
        }
    }

    pub(super) fn limit(&self, what: &'static str, limit: usize) -> PickleError {
        PickleError::Limit {
            what,
            limit,
            offset: self.op_offset as u64,
        }
    }
}

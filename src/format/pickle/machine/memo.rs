//! The memo (`GET`/`PUT` and their binary forms, `MEMOIZE`): ids shared, never values copied.

use super::Machine;
use crate::format::pickle::PickleError;

impl Machine<'_> {
    pub(super) fn get(&mut self, key: u64) -> Result<(), PickleError> {
        let Some(&id) = self.memo.get(&key) else {
            return Err(self.invalid(&format!("memo key {key} is not defined")));
        };
        self.push_id(id)
    }

    pub(super) fn put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        if !self.memo.contains_key(&key) && self.memo.len() >= self.limits.max_memo {
            return Err(self.limit("memo entries", self.limits.max_memo));
        }
        self.memo.insert(key, top);
        Ok(())
    }
}

//! Globals and calls: a global is recorded and built as a [`Node::Global`], a call as a
//! [`Node::Call`]; nothing is imported or called.

use super::Machine;
use crate::format::pickle::{GlobalUse, Id, Node, PickleError};

impl Machine<'_> {
    pub(super) fn record(&mut self, module: String, name: String) {
        let offset = self.op_offset as u64;
        let key = (module, name);
        if let Some(&i) = self.global_index.get(&key) {
            self.globals[i].count += 1;
            return;
        }
        self.global_index.insert(key.clone(), self.globals.len());
        self.globals.push(GlobalUse {
            module: key.0,
            name: key.1,
            count: 1,
            first_offset: offset,
        });
    }

    pub(super) fn global(&mut self, module: String, name: String) -> Result<Id, PickleError> {
        self.record(module.clone(), name.clone());
        self.new_node(Node::Global { module, name })
    }

    pub(super) fn call(&mut self, func: Id, args: Id) -> Result<(), PickleError> {
        self.push(Node::Call {
            func,
            args,
            state: None,
            items: Vec::new(),
            elements: Vec::new(),
        })?;
        Ok(())
    }
}

//! The arena, the stack and the mark stack: every growth checked against [`Limits`](super::super::Limits).

use super::Machine;
use crate::format::pickle::{Id, Node, PickleError};

impl Machine<'_> {
    pub(super) fn new_node(&mut self, node: Node) -> Result<Id, PickleError> {
        if self.nodes.len() >= self.limits.max_objects {
            return Err(self.limit("objects", self.limits.max_objects));
        }
        self.nodes.push(node);
        Ok((self.nodes.len() - 1) as Id)
    }

    pub(super) fn push(&mut self, node: Node) -> Result<Id, PickleError> {
        let id = self.new_node(node)?;
        self.push_id(id)?;
        Ok(id)
    }

    pub(super) fn push_id(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(self.limit("stack entries", self.limits.max_stack));
        }
        self.stack.push(id);
        Ok(())
    }

    /// The stack height below which the current mark's values start.
    pub(super) fn mark_floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    pub(super) fn pop(&mut self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        Ok(self.stack.pop().expect("stack is above the mark"))
    }

    pub(super) fn top(&self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        Ok(*self.stack.last().expect("stack is above the mark"))
    }

    pub(super) fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.invalid("no mark"));
        };
        Ok(self.stack.split_off(mark))
    }

    pub(super) fn pairs(&self, items: Vec<Id>) -> Result<Vec<(Id, Id)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.invalid("odd number of keys and values"));
        }
        Ok(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }

    pub(super) fn extend(&mut self, target: Id, items: Vec<Id>) -> Result<(), PickleError> {
        match &mut self.nodes[target as usize] {
            Node::List(v) => v.extend(items),
            Node::Call { elements, .. } => elements.extend(items),
            _ => return Err(self.invalid("append to a value that is not a list")),
        }
        Ok(())
    }

    pub(super) fn set_items(
        &mut self,
        target: Id,
        pairs: Vec<(Id, Id)>,
    ) -> Result<(), PickleError> {
        match &mut self.nodes[target as usize] {
            Node::Dict(v) => v.extend(pairs),
            Node::Call { items, .. } => items.extend(pairs),
            _ => return Err(self.invalid("set item on a value that is not a dict")),
        }
        Ok(())
    }
}

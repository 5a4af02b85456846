//! The pickle virtual machine, minus the calls: its state (the stack, the mark stack, the memo, the
//! arena of nodes) and where a run starts.
//!
//! It follows CPython's `Lib/pickle.py` `_Unpickler` opcode by opcode (`opcodes`), except that
//! where Python would import a global or call something it builds a [`Node::Global`] or
//! [`Node::Call`] instead (`globals`). Every read is checked against the bytes that remain
//! (`input`) and every growth against [`Limits`] (`stack`, `memo`), so hostile input ends in a
//! [`PickleError`] (`errors`).

mod errors;
mod globals;
mod input;
mod memo;
mod opcodes;
mod stack;

use std::collections::HashMap;

use super::{GlobalUse, Id, Limits, Node, Pickle, PickleError};

pub(super) fn run(bytes: &[u8], start: usize, limits: Limits) -> Result<Pickle, PickleError> {
    let mut m = Machine {
        bytes,
        pos: start,
        op_offset: start,
        op_name: "",
        limits,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        globals: Vec::new(),
        global_index: HashMap::new(),
        protocol: 0,
    };
    let root = m.execute()?;
    Ok(Pickle {
        nodes: m.nodes,
        root,
        globals: m.globals,
        end: m.pos,
        protocol: m.protocol,
    })
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the opcode being executed starts, and its name, for error messages.
    op_offset: usize,
    op_name: &'static str,
    limits: Limits,
    nodes: Vec<Node>,
    stack: Vec<Id>,
    /// Stack heights at each open `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    globals: Vec<GlobalUse>,
    global_index: HashMap<(String, String), usize>,
    protocol: u8,
}

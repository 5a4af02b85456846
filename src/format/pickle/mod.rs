//! A pickle reader that never runs anything: it interprets the opcodes of protocols 0 to 5 and
//! builds a graph of plain values.
//!
//! Python's `pickle.load` imports every global a pickle names and calls whatever the pickle asks
//! it to call (`REDUCE`, `BUILD`, `NEWOBJ`, `INST`, `OBJ`): that is how `torch.load` rebuilds
//! tensors, and how a malicious checkpoint runs `os.system`. This reader does neither. A global is
//! a [`Node::Global`] (its module and name, as text), a call is a [`Node::Call`] (the callable and
//! its arguments, and whatever state, items or elements the pickle adds to the result afterwards).
//! What a state dict means is read from that graph by [`crate::format::torch`]; which globals a
//! pickle would import is listed in [`Pickle::globals`] and classified by [`safety`].
//!
//! The values live in an arena ([`Pickle::nodes`]) and refer to each other by [`Id`]: the memo
//! and `DUP` share a node instead of copying it, so a pickle that fetches one big list a million
//! times costs a million ids, not a million lists, and a list appended to after it was memoised
//! is the same list wherever it is referenced (as in Python). A pickle can build cycles (a list
//! holding itself); readers of the graph bound their depth.
//!
//! Everything is bounded ([`Limits`]): the number of objects, the memo, the stack and the mark
//! stack; a length field is checked against the bytes that remain before anything is allocated,
//! so a 4 GiB `BINBYTES8` in a 100-byte file is an error, not an allocation.

mod args;
mod machine;
pub mod safety;

/// The index of a node in [`Pickle::nodes`].
pub type Id = u32;

/// One value a pickle builds. Nothing here was imported or called.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64: its decimal text (`LONG`) or little-endian two's-complement
    /// bytes (`LONG1`, `LONG4`), kept as the pickle wrote it.
    BigInt(Vec<u8>),
    Float(f64),
    /// Text (`UNICODE`, `BINUNICODE`…, and protocol-0 `STRING`s decoded as Latin-1).
    Str(String),
    /// Bytes (`BINBYTES`…, `BYTEARRAY8`).
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    /// A global the pickle names (`GLOBAL`, `STACK_GLOBAL`, `INST`): never imported.
    Global {
        module: String,
        name: String,
    },
    /// An extension-registry code (`EXT1`/`EXT2`/`EXT4`): a global known only to the writer's
    /// `copyreg` registry.
    Extension(u32),
    /// A persistent id (`PERSID`, `BINPERSID`): for a PyTorch checkpoint, the storage reference
    /// tuple `('storage', storage_type, key, location, numel)`.
    Persistent(Id),
    /// An out-of-band buffer (`NEXT_BUFFER`, protocol 5): its bytes are not in the pickle.
    OutOfBand,
    /// What `REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `INST` or `OBJ` would produce by calling `func` with
    /// `args`; `state` is what `BUILD` would pass to `__setstate__`, `items` what `SETITEM(S)`
    /// would store in it and `elements` what `APPEND(S)`/`ADDITEMS` would add to it.
    Call {
        func: Id,
        args: Id,
        state: Option<Id>,
        items: Vec<(Id, Id)>,
        elements: Vec<Id>,
    },
}

/// A global a pickle names, with how many times and where it first does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalUse {
    pub module: String,
    pub name: String,
    /// How many opcodes name it.
    pub count: u64,
    /// Byte offset (in the bytes given to [`parse`]) of the first opcode naming it.
    pub first_offset: u64,
}

impl GlobalUse {
    /// `module.name`, as Python spells a qualified name.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// A parsed pickle: the value graph, its root (what `pickle.load` would return) and every global
/// it names.
#[derive(Debug, Clone)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Id,
    /// Every distinct global, in order of first appearance.
    pub globals: Vec<GlobalUse>,
    /// Byte offset just after the `STOP` opcode (where the next pickle, if any, starts).
    pub end: usize,
    /// The protocol the `PROTO` opcode declares (0 when there is none).
    pub protocol: u8,
}

impl Pickle {
    /// The node with id `id` (ids come from this pickle, so they are always in range).
    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id as usize]
    }

    /// The text of a `Str` node.
    pub fn str(&self, id: Id) -> Option<&str> {
        match self.node(id) {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an `Int` node (or a `Bool`, which Python treats as an int).
    pub fn int(&self, id: Id) -> Option<i64> {
        match self.node(id) {
            Node::Int(v) => Some(*v),
            Node::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// The elements of a `Tuple` or `List` node.
    pub fn seq(&self, id: Id) -> Option<&[Id]> {
        match self.node(id) {
            Node::Tuple(v) | Node::List(v) => Some(v),
            _ => None,
        }
    }

    /// `(module, name)` of a `Global` node.
    pub fn global(&self, id: Id) -> Option<(&str, &str)> {
        match self.node(id) {
            Node::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }
}

/// Bounds on what one pickle may build. The defaults are far above what any checkpoint's pickle
/// needs (a 70B-parameter state dict is a few hundred thousand objects) and far below what would
/// exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Objects built (nodes in the arena).
    pub max_objects: usize,
    /// Memo entries.
    pub max_memo: usize,
    /// Values on the stack at once.
    pub max_stack: usize,
    /// Open marks at once (how deeply `MARK`s nest).
    pub max_marks: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_objects: 5_000_000,
            max_memo: 5_000_000,
            max_stack: 1_000_000,
            max_marks: 100_000,
        }
    }
}

/// Why a pickle cannot be read. Offsets count from the start of the bytes given to [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    #[error("pickle ends at byte {offset} before its STOP opcode")]
    Truncated { offset: u64 },
    #[error("unknown pickle opcode 0x{opcode:02x} at byte {offset}")]
    BadOpcode { opcode: u8, offset: u64 },
    #[error("pickle opcode `{opcode}` at byte {offset}: {why}")]
    Invalid {
        opcode: &'static str,
        offset: u64,
        why: String,
    },
    #[error("pickle opcode at byte {offset} declares {declared} bytes but only {remaining} remain")]
    LengthPastEnd {
        offset: u64,
        declared: u64,
        remaining: u64,
    },
    #[error("pickle exceeds the limit of {limit} {what} at byte {offset}")]
    Limit {
        what: &'static str,
        limit: usize,
        offset: u64,
    },
    #[error("pickle protocol {protocol} is not supported (0 to 5 are)")]
    Protocol { protocol: u8 },
}

/// Parses one pickle starting at `start` of `bytes`, up to and including its `STOP` opcode.
pub fn parse(bytes: &[u8], start: usize, limits: Limits) -> Result<Pickle, PickleError> {
    machine::run(bytes, start, limits)
}

#[cfg(test)]
mod tests;

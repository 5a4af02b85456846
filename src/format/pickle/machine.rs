//! The pickle virtual machine, minus the calls: one `match` arm per opcode of protocols 0 to 5.
//!
//! It follows CPython's `Lib/pickle.py` `_Unpickler` opcode by opcode (the stack, the mark stack,
//! the memo), except that where Python would import a global or call something it builds a
//! [`Node::Global`] or [`Node::Call`] instead. Every read is checked against the bytes that remain
//! and every growth against [`Limits`], so hostile input ends in a [`PickleError`].

use std::collections::HashMap;

use super::args::{latin1, little_endian_int, opcode_name, raw_unicode_escape, unescape};
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

impl<'a> Machine<'a> {
    fn execute(&mut self) -> Result<Id, PickleError> {
        loop {
            self.op_offset = self.pos;
            let op = self.take(1)?[0];
            self.op_name = opcode_name(op);
            match op {
                b'.' => {
                    // STOP
                    let root = self.pop()?;
                    return Ok(root);
                }
                0x80 => {
                    // PROTO
                    let p = self.take(1)?[0];
                    if p > 5 {
                        return Err(PickleError::Protocol { protocol: p });
                    }
                    self.protocol = p;
                }
                0x95 => {
                    // FRAME: the frame's bytes follow inline; only its length is checked.
                    let len = self.u64_le()?;
                    self.check_len(len)?;
                }
                b'(' => {
                    if self.marks.len() >= self.limits.max_marks {
                        return Err(self.limit("nested marks", self.limits.max_marks));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    // POP: the top value, or the mark when nothing is above it (as Python does).
                    if self.stack.len() > self.mark_floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.push_id(top)?;
                }
                // Numbers.
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push(Node::Int(v as i64))?;
                }
                b'K' => {
                    let v = self.take(1)?[0];
                    self.push(Node::Int(v as i64))?;
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push(Node::Int(v as i64))?;
                }
                b'I' => {
                    let line = self.line()?;
                    let node = match line {
                        b"00" => Node::Bool(false),
                        b"01" => Node::Bool(true),
                        _ => self.decimal(line)?,
                    };
                    self.push(node)?;
                }
                b'L' => {
                    let line = self.line()?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let node = self.decimal(digits)?;
                    self.push(node)?;
                }
                0x8a => {
                    let n = self.take(1)?[0] as u64;
                    let raw = self.take_len(n)?;
                    self.push(little_endian_int(raw))?;
                }
                0x8b => {
                    let n = i32::from_le_bytes(self.array()?);
                    if n < 0 {
                        return Err(self.invalid("negative byte count"));
                    }
                    let raw = self.take_len(n as u64)?;
                    self.push(little_endian_int(raw))?;
                }
                b'F' => {
                    let line = self.line()?;
                    let v = std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .ok_or_else(|| self.invalid("not a float"))?;
                    self.push(Node::Float(v))?;
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.push(Node::Float(v))?;
                }
                b'N' => {
                    self.push(Node::None)?;
                }
                0x88 => {
                    self.push(Node::Bool(true))?;
                }
                0x89 => {
                    self.push(Node::Bool(false))?;
                }
                // Strings and bytes.
                b'S' => {
                    let line = self.line()?;
                    let text = self.quoted(line)?;
                    self.push(Node::Str(text))?;
                }
                b'T' => {
                    let n = i32::from_le_bytes(self.array()?);
                    if n < 0 {
                        return Err(self.invalid("negative length"));
                    }
                    let raw = self.take_len(n as u64)?;
                    self.push(Node::Str(latin1(raw)))?;
                }
                b'U' => {
                    let n = self.take(1)?[0] as u64;
                    let raw = self.take_len(n)?;
                    self.push(Node::Str(latin1(raw)))?;
                }
                b'V' => {
                    let line = self.line()?;
                    let text =
                        raw_unicode_escape(line).ok_or_else(|| self.invalid("bad escape"))?;
                    self.push(Node::Str(text))?;
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.array()?) as u64;
                    self.unicode(n)?;
                }
                0x8c => {
                    let n = self.take(1)?[0] as u64;
                    self.unicode(n)?;
                }
                0x8d => {
                    let n = self.u64_le()?;
                    self.unicode(n)?;
                }
                b'B' => {
                    let n = u32::from_le_bytes(self.array()?) as u64;
                    self.bytes_node(n)?;
                }
                b'C' => {
                    let n = self.take(1)?[0] as u64;
                    self.bytes_node(n)?;
                }
                0x8e | 0x96 => {
                    let n = self.u64_le()?;
                    self.bytes_node(n)?;
                }
                0x97 => {
                    self.push(Node::OutOfBand)?;
                }
                0x98 => {
                    // READONLY_BUFFER: marks the top buffer read-only; nothing to build.
                    self.top()?;
                }
                // Containers.
                b')' => {
                    self.push(Node::Tuple(Vec::new()))?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < self.mark_floor() + n {
                        return Err(self.invalid("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Node::Tuple(items))?;
                }
                b']' => {
                    self.push(Node::List(Vec::new()))?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items))?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let target = self.top()?;
                    self.extend(target, vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.extend(target, items)?;
                }
                b'}' => {
                    self.push(Node::Dict(Vec::new()))?;
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push(Node::Dict(pairs))?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?;
                    self.set_items(target, vec![(k, v)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    let target = self.top()?;
                    self.set_items(target, pairs)?;
                }
                0x8f => {
                    self.push(Node::Set(Vec::new()))?;
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    match &mut self.nodes[target as usize] {
                        Node::Set(v) => v.extend(items),
                        Node::Call { elements, .. } => elements.extend(items),
                        _ => return Err(self.invalid("ADDITEMS on a value that is not a set")),
                    }
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items))?;
                }
                // The memo.
                b'g' => {
                    let key = self.line_key()?;
                    self.get(key)?;
                }
                b'h' => {
                    let key = self.take(1)?[0] as u64;
                    self.get(key)?;
                }
                b'j' => {
                    let key = u32::from_le_bytes(self.array()?) as u64;
                    self.get(key)?;
                }
                b'p' => {
                    let key = self.line_key()?;
                    self.put(key)?;
                }
                b'q' => {
                    let key = self.take(1)?[0] as u64;
                    self.put(key)?;
                }
                b'r' => {
                    let key = u32::from_le_bytes(self.array()?) as u64;
                    self.put(key)?;
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.put(key)?;
                }
                // Globals and calls: named, never imported or called.
                b'c' => {
                    let module = self.text_line()?;
                    let name = self.text_line()?;
                    let id = self.global(module, name)?;
                    self.push_id(id)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Str(module), Node::Str(name)) =
                        (&self.nodes[module as usize], &self.nodes[name as usize])
                    else {
                        return Err(self.invalid("module and name are not strings"));
                    };
                    let (module, name) = (module.clone(), name.clone());
                    let id = self.global(module, name)?;
                    self.push_id(id)?;
                }
                b'i' => {
                    let module = self.text_line()?;
                    let name = self.text_line()?;
                    let func = self.global(module, name)?;
                    let args = self.pop_mark()?;
                    let args = self.new_node(Node::Tuple(args))?;
                    self.call(func, args)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.invalid("no class"));
                    }
                    let func = items.remove(0);
                    let args = self.new_node(Node::Tuple(items))?;
                    self.call(func, args)?;
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => self.take(1)?[0] as u32,
                        0x83 => u16::from_le_bytes(self.array()?) as u32,
                        _ => u32::from_le_bytes(self.array()?),
                    };
                    self.record("<copyreg extension>".into(), code.to_string());
                    self.push(Node::Extension(code))?;
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args)?;
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target as usize] {
                        Node::Call { state: s, .. } => *s = Some(state),
                        _ => return Err(self.invalid("BUILD on a value that is not an object")),
                    }
                }
                b'P' => {
                    let line = self.line()?;
                    let id = self.new_node(Node::Str(latin1(line)))?;
                    self.push(Node::Persistent(id))?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.push(Node::Persistent(pid))?;
                }
                _ => {
                    return Err(PickleError::BadOpcode {
                        opcode: op,
                        offset: self.op_offset as u64,
                    });
                }
            }
        }
    }

    // ---- reading input

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let bytes = self.bytes;
        let end = self.pos.checked_add(n).filter(|&e| e <= bytes.len());
        let Some(end) = end else {
            return Err(PickleError::Truncated {
                offset: bytes.len() as u64,
            });
        };
        let out = &bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u64_le(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Fails, before anything is allocated, when a declared length exceeds what remains.
    fn check_len(&self, declared: u64) -> Result<(), PickleError> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        if declared > remaining {
            return Err(PickleError::LengthPastEnd {
                offset: self.op_offset as u64,
                declared,
                remaining,
            });
        }
        Ok(())
    }

    fn take_len(&mut self, declared: u64) -> Result<&'a [u8], PickleError> {
        self.check_len(declared)?;
        self.take(declared as usize)
    }

    /// A protocol-0 argument: the bytes up to the next newline (consumed, not returned).
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let bytes = self.bytes;
        let rest = &bytes[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(PickleError::Truncated {
                offset: bytes.len() as u64,
            });
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn text_line(&mut self) -> Result<String, PickleError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .map(str::to_owned)
            .map_err(|_| self.invalid("name is not UTF-8"))
    }

    fn line_key(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| self.invalid("memo key is not a non-negative integer"))
    }

    fn decimal(&self, text: &[u8]) -> Result<Node, PickleError> {
        let s = std::str::from_utf8(text)
            .ok()
            .map(str::trim)
            .filter(|s| {
                let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            })
            .ok_or_else(|| self.invalid("not an integer"))?;
        Ok(match s.parse::<i64>() {
            Ok(v) => Node::Int(v),
            Err(_) => Node::BigInt(s.as_bytes().to_vec()),
        })
    }

    fn quoted(&self, line: &[u8]) -> Result<String, PickleError> {
        let inner = match line {
            [q @ (b'\'' | b'"'), inner @ .., last] if last == q => inner,
            _ => return Err(self.invalid("string is not quoted")),
        };
        unescape(inner).ok_or_else(|| self.invalid("bad escape"))
    }

    fn unicode(&mut self, n: u64) -> Result<(), PickleError> {
        let raw = self.take_len(n)?;
        let text = std::str::from_utf8(raw)
            .map_err(|_| self.invalid("text is not UTF-8"))?
            .to_owned();
        self.push(Node::Str(text))?;
        Ok(())
    }

    fn bytes_node(&mut self, n: u64) -> Result<(), PickleError> {
        let raw = self.take_len(n)?;
        self.push(Node::Bytes(raw.to_vec()))?;
        Ok(())
    }

    // ---- the stack, the marks, the memo

    fn invalid(&self, why: &str) -> PickleError {
        PickleError::Invalid {
            opcode: self.op_name,
            offset: self.op_offset as u64,
            why: why.to_owned(),
        }
    }

    fn limit(&self, what: &'static str, limit: usize) -> PickleError {
        PickleError::Limit {
            what,
            limit,
            offset: self.op_offset as u64,
        }
    }

    fn new_node(&mut self, node: Node) -> Result<Id, PickleError> {
        if self.nodes.len() >= self.limits.max_objects {
            return Err(self.limit("objects", self.limits.max_objects));
        }
        self.nodes.push(node);
        Ok((self.nodes.len() - 1) as Id)
    }

    fn push(&mut self, node: Node) -> Result<Id, PickleError> {
        let id = self.new_node(node)?;
        self.push_id(id)?;
        Ok(id)
    }

    fn push_id(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(self.limit("stack entries", self.limits.max_stack));
        }
        self.stack.push(id);
        Ok(())
    }

    /// The stack height below which the current mark's values start.
    fn mark_floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        Ok(self.stack.pop().expect("stack is above the mark"))
    }

    fn top(&self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        Ok(*self.stack.last().expect("stack is above the mark"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.invalid("no mark"));
        };
        Ok(self.stack.split_off(mark))
    }

    fn pairs(&self, items: Vec<Id>) -> Result<Vec<(Id, Id)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.invalid("odd number of keys and values"));
        }
        Ok(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }

    fn extend(&mut self, target: Id, items: Vec<Id>) -> Result<(), PickleError> {
        match &mut self.nodes[target as usize] {
            Node::List(v) => v.extend(items),
            Node::Call { elements, .. } => elements.extend(items),
            _ => return Err(self.invalid("append to a value that is not a list")),
        }
        Ok(())
    }

    fn set_items(&mut self, target: Id, pairs: Vec<(Id, Id)>) -> Result<(), PickleError> {
        match &mut self.nodes[target as usize] {
            Node::Dict(v) => v.extend(pairs),
            Node::Call { items, .. } => items.extend(pairs),
            _ => return Err(self.invalid("set item on a value that is not a dict")),
        }
        Ok(())
    }

    fn get(&mut self, key: u64) -> Result<(), PickleError> {
        let Some(&id) = self.memo.get(&key) else {
            return Err(self.invalid(&format!("memo key {key} is not defined")));
        };
        self.push_id(id)
    }

    fn put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        if !self.memo.contains_key(&key) && self.memo.len() >= self.limits.max_memo {
            return Err(self.limit("memo entries", self.limits.max_memo));
        }
        self.memo.insert(key, top);
        Ok(())
    }

    fn record(&mut self, module: String, name: String) {
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

    fn global(&mut self, module: String, name: String) -> Result<Id, PickleError> {
        self.record(module.clone(), name.clone());
        self.new_node(Node::Global { module, name })
    }

    fn call(&mut self, func: Id, args: Id) -> Result<(), PickleError> {
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

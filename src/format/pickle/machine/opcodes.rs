//! The opcode dispatch: one `match` arm per opcode of protocols 0 to 5, following CPython's
//! `Lib/pickle.py` `_Unpickler`, building a [`Node::Global`] or [`Node::Call`] where Python would
//! import or call.

use crate::format::pickle::args::{latin1, little_endian_int, opcode_name, raw_unicode_escape};
use crate::format::pickle::{Id, Node, PickleError};

use super::Machine;

impl Machine<'_> {
    pub(super) fn execute(&mut self) -> Result<Id, PickleError> {
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
}

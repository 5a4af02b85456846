//! Reading an opcode's argument: fixed-size fields, length-prefixed bytes (checked against what
//! remains before anything is allocated) and protocol-0 newline-terminated lines.

use super::Machine;
use crate::format::pickle::args::unescape;
use crate::format::pickle::{Node, PickleError};

impl<'a> Machine<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
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

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    pub(super) fn u64_le(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Fails, before anything is allocated, when a declared length exceeds what remains.
    pub(super) fn check_len(&self, declared: u64) -> Result<(), PickleError> {
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

    pub(super) fn take_len(&mut self, declared: u64) -> Result<&'a [u8], PickleError> {
        self.check_len(declared)?;
        self.take(declared as usize)
    }

    /// A protocol-0 argument: the bytes up to the next newline (consumed, not returned).
    pub(super) fn line(&mut self) -> Result<&'a [u8], PickleError> {
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

    pub(super) fn text_line(&mut self) -> Result<String, PickleError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .map(str::to_owned)
            .map_err(|_| self.invalid("name is not UTF-8"))
    }

    pub(super) fn line_key(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| self.invalid("memo key is not a non-negative integer"))
    }

    pub(super) fn decimal(&self, text: &[u8]) -> Result<Node, PickleError> {
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

    pub(super) fn quoted(&self, line: &[u8]) -> Result<String, PickleError> {
        let inner = match line {
            [q @ (b'\'' | b'"'), inner @ .., last] if last == q => inner,
            _ => return Err(self.invalid("string is not quoted")),
        };
        unescape(inner).ok_or_else(|| self.invalid("bad escape"))
    }

    pub(super) fn unicode(&mut self, n: u64) -> Result<(), PickleError> {
        let raw = self.take_len(n)?;
        let text = std::str::from_utf8(raw)
            .map_err(|_| self.invalid("text is not UTF-8"))?
            .to_owned();
        self.push(Node::Str(text))?;
        Ok(())
    }

    pub(super) fn bytes_node(&mut self, n: u64) -> Result<(), PickleError> {
        let raw = self.take_len(n)?;
        self.push(Node::Bytes(raw.to_vec()))?;
        Ok(())
    }
}

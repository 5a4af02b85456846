//! A read position over the file's bytes: every read checks the bytes that remain and names what
//! it was reading, so a truncated file fails with the place and the field.

use super::{GgufError, MAX_NAME_LEN};

/// A read position over the file's bytes; every read checks the bytes that remain.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    pub(super) pos: u64,
}

impl<'a> Cursor<'a> {
    pub(super) fn at(bytes: &'a [u8], pos: u64) -> Self {
        Cursor { bytes, pos }
    }

    pub(super) fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub(super) fn remaining(&self) -> u64 {
        self.len().saturating_sub(self.pos)
    }

    pub(super) fn take(
        &mut self,
        n: u64,
        what: impl FnOnce() -> String,
    ) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::UnexpectedEof {
                what: what(),
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        // Both fit in usize: n <= remaining <= bytes.len().
        let start = self.pos as usize;
        self.pos += n;
        Ok(&self.bytes[start..start + n as usize])
    }

    pub(super) fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], GgufError> {
        let b = self.take(N as u64, what)?;
        Ok(b.try_into().expect("take returns N bytes"))
    }

    pub(super) fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A string's bytes: its `u64` length checked against `max` and against what remains.
    pub(super) fn string_bytes(
        &mut self,
        what: &dyn Fn() -> String,
        max: u64,
    ) -> Result<&'a [u8], GgufError> {
        let offset = self.pos;
        let len = self.u64(|| format!("the length of {}", what()))?;
        if len > max {
            return Err(GgufError::StringTooLong {
                what: what(),
                offset,
                len,
                max,
            });
        }
        if len > self.remaining() {
            return Err(GgufError::StringPastEnd {
                what: what(),
                offset,
                len,
                remaining: self.remaining(),
            });
        }
        self.take(len, what)
    }

    /// A key or a tensor name: capped at [`MAX_NAME_LEN`], valid UTF-8.
    pub(super) fn name(&mut self, what: &dyn Fn() -> String) -> Result<String, GgufError> {
        let offset = self.pos;
        let b = self.string_bytes(what, MAX_NAME_LEN)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| GgufError::InvalidUtf8 {
                what: what(),
                offset,
            })
    }
}

//! Metadata values: the typed values a GGUF file stores under its keys, the caps that keep a
//! corrupt length or depth from being believed, and how a value is read from the bytes.
//!
//! Short arrays are decoded while parsing; long ones (the token list, the merges) are kept as a
//! byte range and a length ([`Array`]) and decoded only on demand.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use super::GgufError;
use super::cursor::Cursor;

/// Cap on the length of a key or a tensor name (ggml itself refuses names of 64 bytes or more;
/// this cap only keeps a corrupt length from being believed).
pub const MAX_NAME_LEN: u64 = 1 << 16;
/// Cap on the length of a string value (chat templates are kilobytes, an embedded
/// `tokenizer.huggingface.json` a few megabytes).
pub const MAX_STRING_LEN: u64 = 1 << 28;
/// Cap on the number of items in one array (vocabularies and merge lists hold a few hundred
/// thousand).
pub const MAX_ARRAY_LEN: u64 = 1 << 28;
/// Cap on array nesting: a top-level array is depth 1.
pub const MAX_DEPTH: u32 = 8;
/// Arrays with at most this many items are decoded while parsing; longer ones are kept as a byte
/// range (see [`Array::read_items`]).
pub const EAGER_ARRAY_LEN: u64 = 1024;

/// The type tag of a metadata value (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The value type with GGUF id `id`.
    pub fn from_id(id: u32) -> Option<ValueType> {
        Some(match id {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// The GGUF id.
    pub const fn id(self) -> u32 {
        match self {
            ValueType::U8 => 0,
            ValueType::I8 => 1,
            ValueType::U16 => 2,
            ValueType::I16 => 3,
            ValueType::U32 => 4,
            ValueType::I32 => 5,
            ValueType::F32 => 6,
            ValueType::Bool => 7,
            ValueType::String => 8,
            ValueType::Array => 9,
            ValueType::U64 => 10,
            ValueType::I64 => 11,
            ValueType::F64 => 12,
        }
    }

    /// The type name as gguf-py spells it, lowercased (`u32`, `string`, `array`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "u8",
            ValueType::I8 => "i8",
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::F32 => "f32",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        }
    }

    /// Bytes of a value of this type, for the fixed-size types.
    fn fixed_len(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }

    /// The fewest bytes a value of this type can take: an empty string is its 8-byte length, an
    /// empty array its 4-byte item type and 8-byte count.
    fn min_len(self) -> u64 {
        match self {
            ValueType::String => 8,
            ValueType::Array => 12,
            fixed => fixed.fixed_len().unwrap_or(1),
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    /// Any non-zero byte reads as true.
    Bool(bool),
    /// Invalid UTF-8 in a string value is replaced with U+FFFD (keys and tensor names must be
    /// valid UTF-8).
    String(String),
    Array(Array),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// The value of any integer type, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(u64::from(v)),
            Value::U16(v) => Some(u64::from(v)),
            Value::U32(v) => Some(u64::from(v)),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value of any integer type that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::U8(v) => Some(i64::from(v)),
            Value::U16(v) => Some(i64::from(v)),
            Value::U32(v) => Some(i64::from(v)),
            Value::U64(v) => i64::try_from(v).ok(),
            Value::I8(v) => Some(i64::from(v)),
            Value::I16(v) => Some(i64::from(v)),
            Value::I32(v) => Some(i64::from(v)),
            Value::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The value of any numeric type as an f64 (64-bit integers beyond 2^53 round).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(f64::from(v)),
            Value::F64(v) => Some(v),
            Value::U64(v) => Some(v as f64),
            Value::I64(v) => Some(v as f64),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// A short rendering: scalars as themselves, strings quoted and cut at 80 characters, arrays as
    /// their item type and length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::U8(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(s) => {
                let cut: String = s.chars().take(80).collect();
                if cut.len() < s.len() {
                    write!(f, "{cut:?}…")
                } else {
                    write!(f, "{s:?}")
                }
            }
            Value::Array(a) => write!(f, "[{}; {}]", a.item_type.name(), a.len),
        }
    }
}

/// A metadata array. Short arrays are decoded while parsing (`items` is `Some`); longer ones keep
/// only their item type, length and byte range, and are decoded on demand with
/// [`Array::read_items`].
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub item_type: ValueType,
    pub len: u64,
    /// Absolute byte range of the items in the file.
    pub range: Range<u64>,
    /// The items, when `len <= EAGER_ARRAY_LEN`.
    pub items: Option<Vec<Value>>,
}

impl Array {
    /// The items, decoded from the file's bytes (the same bytes given to
    /// [`parse_gguf`](super::parse_gguf)) when they were not decoded while parsing. `key` names the
    /// array in errors.
    pub fn read_items(&self, bytes: &[u8], key: &str) -> Result<Vec<Value>, GgufError> {
        if let Some(items) = &self.items {
            return Ok(items.clone());
        }
        let mut cursor = Cursor::at(bytes, self.range.start);
        let mut items = Vec::with_capacity(self.len.min(MAX_ARRAY_LEN) as usize);
        for _ in 0..self.len {
            items.push(cursor.value(key, self.item_type, 2, true)?);
        }
        Ok(items)
    }

    /// The items as strings, when they were decoded and are all strings.
    pub fn strings(&self) -> Option<Vec<&str>> {
        self.items.as_ref()?.iter().map(Value::as_str).collect()
    }
}

/// The metadata key-value pairs, in file order, with lookup by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// The pairs in file order.
    pub fn entries(&self) -> &[(String, Value)] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Any integer type, when non-negative.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    /// Any integer type that fits an `i64`.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_i64()
    }

    /// Any numeric type.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    pub fn get_array(&self, key: &str) -> Option<&Array> {
        self.get(key)?.as_array()
    }

    /// Length of an array value, however long (the token list is never decoded for this).
    pub fn array_len(&self, key: &str) -> Option<u64> {
        Some(self.get_array(key)?.len)
    }

    /// An array of strings, when it was short enough to be decoded while parsing.
    pub fn get_str_array(&self, key: &str) -> Option<Vec<&str>> {
        self.get_array(key)?.strings()
    }

    pub(super) fn insert(&mut self, key: String, value: Value) -> Result<(), GgufError> {
        if self.index.contains_key(&key) {
            return Err(GgufError::DuplicateKey { key });
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        Ok(())
    }
}

/// Reading values: the cursor's primitives (in `cursor.rs`) composed into typed values.
impl Cursor<'_> {
    /// One value of type `ty` belonging to `key`, at nesting `depth` (arrays inside it are at
    /// `depth + 1`). `eager` decodes arrays of any length (used by [`Array::read_items`]).
    pub(super) fn value(
        &mut self,
        key: &str,
        ty: ValueType,
        depth: u32,
        eager: bool,
    ) -> Result<Value, GgufError> {
        let what = || format!("the value of `{key}`");
        Ok(match ty {
            ValueType::U8 => Value::U8(self.array::<1>(what)?[0]),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::Bool => Value::Bool(self.array::<1>(what)?[0] != 0),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            ValueType::String => {
                let b = self.string_bytes(&what, MAX_STRING_LEN)?;
                Value::String(String::from_utf8_lossy(b).into_owned())
            }
            ValueType::Array => Value::Array(self.array_value(key, depth, eager)?),
        })
    }

    fn array_value(&mut self, key: &str, depth: u32, eager: bool) -> Result<Array, GgufError> {
        if depth > MAX_DEPTH {
            return Err(GgufError::NestingTooDeep {
                key: key.to_owned(),
                max: MAX_DEPTH,
            });
        }
        let type_id = self.u32(|| format!("the item type of `{key}`"))?;
        let item_type = ValueType::from_id(type_id).ok_or_else(|| GgufError::UnknownValueType {
            key: key.to_owned(),
            type_id,
        })?;
        let len = self.u64(|| format!("the length of `{key}`"))?;
        if len > MAX_ARRAY_LEN {
            return Err(GgufError::ArrayTooLong {
                key: key.to_owned(),
                len,
                max: MAX_ARRAY_LEN,
            });
        }
        let item_len = item_type.min_len();
        if len.saturating_mul(item_len) > self.remaining() {
            return Err(GgufError::ArrayPastEnd {
                key: key.to_owned(),
                len,
                item_len,
                remaining: self.remaining(),
            });
        }
        let start = self.pos;
        let items = if eager || len <= EAGER_ARRAY_LEN {
            let mut items = Vec::with_capacity(len as usize);
            for _ in 0..len {
                items.push(self.value(key, item_type, depth + 1, eager)?);
            }
            Some(items)
        } else {
            match item_type.fixed_len() {
                // Checked against the remaining bytes above.
                Some(n) => self.pos += len * n,
                None => {
                    for _ in 0..len {
                        self.skip_value(key, item_type, depth + 1)?;
                    }
                }
            }
            None
        };
        Ok(Array {
            item_type,
            len,
            range: start..self.pos,
            items,
        })
    }

    /// Moves past one value without keeping it (the items of long arrays).
    fn skip_value(&mut self, key: &str, ty: ValueType, depth: u32) -> Result<(), GgufError> {
        match ty {
            ValueType::String => {
                let what = || format!("an item of `{key}`");
                self.string_bytes(&what, MAX_STRING_LEN)?;
            }
            ValueType::Array => {
                self.array_value(key, depth, false)?;
            }
            fixed => {
                let n = fixed.fixed_len().expect("fixed-size type");
                self.take(n, || format!("an item of `{key}`"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bytes::B;
    use super::super::*;

    #[test]
    fn every_value_type_and_nested_arrays() {
        let mut b = B::header(2, 0, 14);
        b.str("u8").u32(0).raw(&[200]);
        b.str("i8").u32(1).raw(&[0xFF]);
        b.str("u16").u32(2).raw(&500u16.to_le_bytes());
        b.str("i16").u32(3).raw(&(-500i16).to_le_bytes());
        b.str("u32").u32(4).u32(70000);
        b.str("i32").u32(5).raw(&(-70000i32).to_le_bytes());
        b.str("f32").u32(6).raw(&1.5f32.to_le_bytes());
        b.str("bool").u32(7).raw(&[1]);
        b.str("string").u32(8).str("héllo");
        b.str("u64").u32(10).u64(1 << 40);
        b.str("i64").u32(11).raw(&(-1i64).to_le_bytes());
        b.str("f64").u32(12).raw(&0.25f64.to_le_bytes());
        // [[1, 2], [3]] of u32
        b.str("nested").u32(9).u32(9).u64(2);
        b.u32(4).u64(2).u32(1).u32(2);
        b.u32(4).u64(1).u32(3);
        b.str("strings").u32(9).u32(8).u64(2).str("a").str("bc");
        let g = b.parse().unwrap();
        let m = &g.metadata;
        assert_eq!(g.version, 2);
        assert_eq!(m.get("u8"), Some(&Value::U8(200)));
        assert_eq!(m.get("i8"), Some(&Value::I8(-1)));
        assert_eq!(m.get_u64("u16"), Some(500));
        assert_eq!(m.get_i64("i16"), Some(-500));
        assert_eq!(m.get_u64("i16"), None);
        assert_eq!(m.get_u64("u32"), Some(70000));
        assert_eq!(m.get_i64("i32"), Some(-70000));
        assert_eq!(m.get_f64("f32"), Some(1.5));
        assert_eq!(m.get_bool("bool"), Some(true));
        assert_eq!(m.get_str("string"), Some("héllo"));
        assert_eq!(m.get_u64("u64"), Some(1 << 40));
        assert_eq!(m.get_i64("i64"), Some(-1));
        assert_eq!(m.get_f64("f64"), Some(0.25));
        assert_eq!(m.get_f64("u32"), Some(70000.0));
        let nested = m.get_array("nested").unwrap();
        assert_eq!((nested.item_type, nested.len), (ValueType::Array, 2));
        let inner: Vec<Vec<u64>> = nested
            .items
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_array()
                    .unwrap()
                    .items
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(inner, vec![vec![1, 2], vec![3]]);
        assert_eq!(m.get_str_array("strings"), Some(vec!["a", "bc"]));
        assert_eq!(m.entries().len(), 14);
        assert_eq!(m.entries()[0].0, "u8");
    }

    #[test]
    fn long_arrays_are_kept_lazily() {
        let n = EAGER_ARRAY_LEN + 5;
        let mut b = B::header(3, 0, 2);
        b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(n);
        for i in 0..n {
            b.str(&format!("t{i}"));
        }
        b.str("tokenizer.ggml.scores").u32(9).u32(6).u64(n);
        for i in 0..n {
            b.raw(&(i as f32).to_le_bytes());
        }
        let g = b.parse().unwrap();
        let tokens = g.metadata.get_array("tokenizer.ggml.tokens").unwrap();
        assert_eq!((tokens.len, tokens.items.is_none()), (n, true));
        assert_eq!(g.tokenizer().tokens, Some(n));
        let items = tokens.read_items(&b.0, "tokenizer.ggml.tokens").unwrap();
        assert_eq!(items.len() as u64, n);
        assert_eq!(items[1000].as_str(), Some("t1000"));
        let scores = g.metadata.get_array("tokenizer.ggml.scores").unwrap();
        assert_eq!(scores.read_items(&b.0, "s").unwrap()[7], Value::F32(7.0));
    }
}

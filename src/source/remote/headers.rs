//! Reading a weight file's header over HTTP, fetching no tensor data: a safetensors file's 8-byte
//! length then exactly its JSON header; a GGUF file's header, metadata and tensor infos in
//! growing ranges (64 KiB, doubling) until the parser has what it needs. Both stop at the caps
//! the local readers have.

use super::http::Client;
use crate::format::gguf::parse_gguf_prefix;
use crate::format::safetensors::MAX_HEADER_SIZE;
use crate::source::SourceError;

/// The first GGUF range; a model's header with its tokenizer vocabulary is a few MiB.
const GGUF_FIRST: u64 = 64 << 10;
/// Largest GGUF header read (metadata strings and arrays are capped at 256 Mi elements locally;
/// no real header comes near this).
pub const MAX_GGUF_HEADER: u64 = 512 << 20;

/// A weight file's first bytes (its whole header) and its length.
#[derive(Debug, Clone)]
pub struct Head {
    pub bytes: Vec<u8>,
    pub len: u64,
}

/// The file's length from the first range's `Content-Range`.
fn total(url: &str, total: Option<u64>) -> Result<u64, SourceError> {
    total.ok_or_else(|| {
        SourceError::remote(
            url,
            "the server did not say the file's length (no Content-Range): it must support range requests",
        )
    })
}

/// The 8-byte length and the JSON header of a remote safetensors file.
pub fn safetensors_head(client: &Client, url: &str) -> Result<Head, SourceError> {
    let first = client.get_range(url, 0, 8)?;
    let len = total(url, first.total)?;
    let bad = |why: String| SourceError::remote(url, why);
    let Ok(prefix) = <[u8; 8]>::try_from(first.body.as_slice()) else {
        return Err(bad(format!(
            "the file is {len} bytes, too short for a safetensors header"
        )));
    };
    let header_len = u64::from_le_bytes(prefix);
    if header_len > MAX_HEADER_SIZE || header_len > len.saturating_sub(8) {
        return Err(bad(format!(
            "header length {header_len} is over the {MAX_HEADER_SIZE}-byte cap or past the end of the file ({len} bytes)"
        )));
    }
    let rest = client.get_range(url, 8, 8 + header_len)?;
    if rest.body.len() as u64 != header_len {
        return Err(bad(format!(
            "asked for {header_len} header bytes, received {}",
            rest.body.len()
        )));
    }
    let mut bytes = first.body;
    bytes.extend_from_slice(&rest.body);
    Ok(Head { bytes, len })
}

/// The header, metadata and tensor infos of a remote GGUF file, read in growing ranges.
pub fn gguf_head(client: &Client, url: &str) -> Result<Head, SourceError> {
    let first = client.get_range(url, 0, GGUF_FIRST)?;
    let len = total(url, first.total)?;
    let mut bytes = first.body;
    loop {
        let have = bytes.len() as u64;
        match parse_gguf_prefix(&bytes, len) {
            Ok(_) => return Ok(Head { bytes, len }),
            // The whole file (or all the cap allows) is here: the error is the file's.
            Err(e) if have >= len || have >= MAX_GGUF_HEADER => {
                let why = if have >= len {
                    format!("not a readable GGUF file: {e}")
                } else {
                    format!("the GGUF header is larger than the {MAX_GGUF_HEADER}-byte cap ({e})")
                };
                return Err(SourceError::remote(url, why));
            }
            Err(_) => {
                let next = (have * 2).min(len).min(MAX_GGUF_HEADER);
                let more = client.get_range(url, have, next)?;
                if more.body.is_empty() {
                    return Err(SourceError::remote(
                        url,
                        format!("the server sent no bytes at offset {have} of {len}"),
                    ));
                }
                bytes.extend_from_slice(&more.body);
            }
        }
    }
}

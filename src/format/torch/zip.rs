//! Just enough of the zip format to find where each entry's bytes are: the end-of-central-directory
//! record (and its zip64 form, which `torch.save` writes for files past 4 GiB), the central
//! directory, and each entry's local header, whose name and extra field sit between the header and
//! the data. Nothing is decompressed: PyTorch stores every entry uncompressed (and aligned to 64
//! bytes), so a stored tensor can be mapped in place.

use super::TorchError;

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    /// 0 = stored; anything else is compressed.
    pub method: u16,
    /// Absolute offset of the entry's first data byte.
    pub data_offset: u64,
    /// Bytes the entry occupies in the file.
    pub compressed_size: u64,
    /// Bytes once decompressed (equal to `compressed_size` when stored).
    pub size: u64,
}

impl ZipEntry {
    /// The entry's bytes in the file (validated to lie inside it).
    pub fn data<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        let start = self.data_offset as usize;
        &file[start..start + self.compressed_size as usize]
    }
}

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

fn bad(why: impl Into<String>) -> TorchError {
    TorchError::Zip(why.into())
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, TorchError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| {
            bad(format!(
                "record at byte {at} is cut off by the end of the file"
            ))
        })
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, TorchError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
        .ok_or_else(|| {
            bad(format!(
                "record at byte {at} is cut off by the end of the file"
            ))
        })
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, TorchError> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
        .ok_or_else(|| {
            bad(format!(
                "record at byte {at} is cut off by the end of the file"
            ))
        })
}

/// Reads the central directory of the zip archive `file`.
pub fn read_entries(file: &[u8]) -> Result<Vec<ZipEntry>, TorchError> {
    let len = file.len();
    if len < 22 {
        return Err(bad("file is too short for a zip archive"));
    }
    // The end record is the last 22 bytes plus a comment of at most 65,535 bytes.
    let lowest = len.saturating_sub(22 + 65_535);
    let eocd = (lowest..=len - 22)
        .rev()
        .find(|&i| u32_at(file, i).is_ok_and(|s| s == EOCD))
        .ok_or_else(|| bad("no end-of-central-directory record"))?;
    let mut count = u16_at(file, eocd + 10)? as u64;
    let mut cd_size = u32_at(file, eocd + 12)? as u64;
    let mut cd_offset = u32_at(file, eocd + 16)? as u64;
    if (count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff) && eocd >= 20 {
        let locator = eocd - 20;
        if u32_at(file, locator)? == ZIP64_LOCATOR {
            let at = usize::try_from(u64_at(file, locator + 8)?)
                .map_err(|_| bad("zip64 record offset is outside the file"))?;
            if u32_at(file, at)? != ZIP64_EOCD {
                return Err(bad("zip64 locator does not point at a zip64 end record"));
            }
            count = u64_at(file, at + 32)?;
            cd_size = u64_at(file, at + 40)?;
            cd_offset = u64_at(file, at + 48)?;
        }
    }
    let cd_end = cd_offset
        .checked_add(cd_size)
        .filter(|&e| e <= len as u64)
        .ok_or_else(|| {
            bad(format!(
                "central directory [{cd_offset}, +{cd_size}) lies outside the file ({len} bytes)"
            ))
        })?;
    // Every central record is at least 46 bytes: a count beyond that is a lie, not an allocation.
    if count > cd_size / 46 {
        return Err(bad(format!(
            "central directory declares {count} entries in {cd_size} bytes"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = cd_offset as usize;
    for _ in 0..count {
        if at as u64 + 46 > cd_end || u32_at(file, at)? != CENTRAL {
            return Err(bad(format!("bad central directory record at byte {at}")));
        }
        let flags = u16_at(file, at + 8)?;
        let method = u16_at(file, at + 10)?;
        let mut compressed_size = u32_at(file, at + 20)? as u64;
        let mut size = u32_at(file, at + 24)? as u64;
        let name_len = u16_at(file, at + 28)? as usize;
        let extra_len = u16_at(file, at + 30)? as usize;
        let comment_len = u16_at(file, at + 32)? as usize;
        let mut local = u32_at(file, at + 42)? as u64;
        let name_bytes = file
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("entry name runs past the end of the file"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let extra = file
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(|| bad("entry extra field runs past the end of the file"))?;
        read_zip64_extra(extra, &mut size, &mut compressed_size, &mut local)?;
        if flags & 1 != 0 {
            return Err(bad(format!("entry `{name}` is encrypted")));
        }
        let data_offset = local_data_offset(file, local, &name)?;
        let inside = data_offset
            .checked_add(compressed_size)
            .is_some_and(|e| e <= len as u64);
        if !inside {
            return Err(bad(format!(
                "entry `{name}` ([{data_offset}, +{compressed_size})) lies outside the file ({len} bytes)"
            )));
        }
        entries.push(ZipEntry {
            name,
            method,
            data_offset,
            compressed_size,
            size,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// Replaces the 32-bit fields saturated at `0xffffffff` by their zip64 extra-field values, which
/// come in this order: size, compressed size, local header offset.
fn read_zip64_extra(
    extra: &[u8],
    size: &mut u64,
    compressed: &mut u64,
    local: &mut u64,
) -> Result<(), TorchError> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at)?;
        let len = u16_at(extra, at + 2)? as usize;
        let body = extra
            .get(at + 4..at + 4 + len)
            .ok_or_else(|| bad("zip extra field runs past its record"))?;
        if id == 1 {
            let mut field = 0;
            for value in [&mut *size, &mut *compressed, &mut *local] {
                if *value == 0xffff_ffff {
                    *value = u64_at(body, field)?;
                    field += 8;
                }
            }
        }
        at += 4 + len;
    }
    Ok(())
}

/// Where an entry's data starts: after its local header, name and (local) extra field.
fn local_data_offset(file: &[u8], local: u64, name: &str) -> Result<u64, TorchError> {
    let at = usize::try_from(local)
        .ok()
        .filter(|&a| a < file.len())
        .ok_or_else(|| bad(format!("entry `{name}` points outside the file")))?;
    if u32_at(file, at)? != LOCAL {
        return Err(bad(format!(
            "entry `{name}` points at byte {at}, which is not a local file header"
        )));
    }
    let name_len = u16_at(file, at + 26)? as u64;
    let extra_len = u16_at(file, at + 28)? as u64;
    Ok(local + 30 + name_len + extra_len)
}

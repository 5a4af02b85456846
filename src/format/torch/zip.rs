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

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-entry archive in the zip64 form `torch.save` writes past 4 GiB: every 32-bit size and
    /// offset saturated, the real values in zip64 extra fields, a zip64 end record and locator.
    /// Built by hand from the APPNOTE layout.
    fn zip64_archive(data: &[u8]) -> Vec<u8> {
        let name = b"archive/data/0";
        let mut z = Vec::new();
        let put16 = |z: &mut Vec<u8>, v: u16| z.extend_from_slice(&v.to_le_bytes());
        let put32 = |z: &mut Vec<u8>, v: u32| z.extend_from_slice(&v.to_le_bytes());
        let put64 = |z: &mut Vec<u8>, v: u64| z.extend_from_slice(&v.to_le_bytes());
        // Local header.
        put32(&mut z, LOCAL);
        for v in [45, 0, 0, 0, 0] {
            put16(&mut z, v);
        }
        put32(&mut z, 0); // crc
        put32(&mut z, u32::MAX);
        put32(&mut z, u32::MAX);
        put16(&mut z, name.len() as u16);
        put16(&mut z, 20);
        z.extend_from_slice(name);
        put16(&mut z, 1);
        put16(&mut z, 16);
        put64(&mut z, data.len() as u64);
        put64(&mut z, data.len() as u64);
        z.extend_from_slice(data);
        // Central directory.
        let cd = z.len() as u64;
        put32(&mut z, CENTRAL);
        for v in [45, 45, 0, 0, 0, 0] {
            put16(&mut z, v);
        }
        put32(&mut z, 0);
        put32(&mut z, u32::MAX);
        put32(&mut z, u32::MAX);
        put16(&mut z, name.len() as u16);
        put16(&mut z, 28);
        for v in [0, 0, 0] {
            put16(&mut z, v);
        }
        put32(&mut z, 0);
        put32(&mut z, u32::MAX);
        z.extend_from_slice(name);
        put16(&mut z, 1);
        put16(&mut z, 24);
        put64(&mut z, data.len() as u64);
        put64(&mut z, data.len() as u64);
        put64(&mut z, 0);
        let cd_size = z.len() as u64 - cd;
        // Zip64 end record, locator, end record.
        let end64 = z.len() as u64;
        put32(&mut z, ZIP64_EOCD);
        put64(&mut z, 44);
        put16(&mut z, 45);
        put16(&mut z, 45);
        put32(&mut z, 0);
        put32(&mut z, 0);
        put64(&mut z, 1);
        put64(&mut z, 1);
        put64(&mut z, cd_size);
        put64(&mut z, cd);
        put32(&mut z, ZIP64_LOCATOR);
        put32(&mut z, 0);
        put64(&mut z, end64);
        put32(&mut z, 1);
        put32(&mut z, EOCD);
        for v in [0, 0, 0xffff, 0xffff] {
            put16(&mut z, v);
        }
        put32(&mut z, u32::MAX);
        put32(&mut z, u32::MAX);
        put16(&mut z, 0);
        z
    }

    #[test]
    fn zip64_sizes_and_offsets_come_from_the_extra_fields() {
        let z = zip64_archive(b"hello");
        let entries = read_entries(&z).unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.name, "archive/data/0");
        assert_eq!((e.method, e.size, e.compressed_size), (0, 5, 5));
        // 30-byte header, 14-byte name, 20-byte extra.
        assert_eq!(e.data_offset, 64);
        assert_eq!(e.data(&z), b"hello");
    }

    #[test]
    fn records_that_lie_are_errors() {
        let z = zip64_archive(b"hello");
        // Every truncation: an error, never a panic.
        for cut in 0..z.len() {
            assert!(read_entries(&z[..cut]).is_err(), "cut at {cut}");
        }
        // A data size past the end of the file (the central zip64 extra's compressed size).
        let mut big = z.clone();
        let at = big
            .windows(4)
            .position(|w| w == CENTRAL.to_le_bytes())
            .unwrap()
            + 46
            + 14
            + 12;
        big[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let err = read_entries(&big).unwrap_err().to_string();
        assert!(err.contains("lies outside the file"), "{err}");
        assert!(read_entries(b"PK\x03\x04 not really").is_err());
    }
}

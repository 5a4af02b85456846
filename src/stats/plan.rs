//! Cutting the tensors into fixed-size chunks of work.
//!
//! Each tensor is cut into pieces of at most `chunk_bytes`, at offsets that depend only on the tensor
//! and `chunk_bytes`; the pieces are packed into chunks in order, so small tensors share one. A cut
//! inside a tensor falls on a whole storage block and, for a 2-D tensor whose row fits in a chunk,
//! on a row boundary. The plan never depends on the number of threads, nor a tensor's cuts on the
//! other tensors measured with it, which is what makes results reproducible.

use std::ops::Range;

use super::TensorSlice;

/// A byte range of one tensor, processed as a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    pub tensor: usize,
    /// Bytes within the tensor.
    pub bytes: Range<usize>,
}

/// The unit of parallel work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Chunk {
    pub pieces: Vec<Piece>,
    pub bytes: u64,
}

/// The bytes of a tensor that hold whole blocks (a trailing partial block is ignored).
pub(super) fn usable_bytes(t: &TensorSlice<'_>) -> usize {
    let block = t.dtype.block_bytes() as usize;
    t.bytes.len() / block * block
}

/// The values the engine reads from `t`: its whole blocks' elements, twice for complex types
/// (real and imaginary parts are separate values).
pub(super) fn value_count(t: &TensorSlice<'_>) -> u64 {
    usable_bytes(t) as u64 / t.dtype.block_bytes()
        * t.dtype.block_elements()
        * crate::decode::values_per_element(t.dtype)
}

/// Rows and columns when the tensor is a matrix the row/column checks apply to (2-D, at least two
/// rows and two columns, shape agreeing with the bytes).
///
/// Not for ggml block quantisations: their zeros are not visible in the stored bytes (a zero
/// weight is a quant code times a scale), so dead rows and columns are not checked on them.
pub(super) fn matrix(t: &TensorSlice<'_>) -> Option<(u64, u64)> {
    if t.dtype.is_ggml_only() {
        return None;
    }
    let &[rows, cols] = t.shape else { return None };
    let elements = usable_bytes(t) as u64 / t.dtype.block_bytes() * t.dtype.block_elements();
    (rows >= 2 && cols >= 2 && rows.checked_mul(cols) == Some(elements)).then_some((rows, cols))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The step in bytes that cuts inside the tensor must be a multiple of.
fn granularity(t: &TensorSlice<'_>, chunk_bytes: usize) -> usize {
    let (be, bb) = (t.dtype.block_elements(), t.dtype.block_bytes());
    if let Some((_, cols)) = matrix(t) {
        // Rows of whole blocks: lcm(cols, block_elements) elements.
        let elements = cols / gcd(cols, be) * be;
        if let Some(bytes) = (elements / be).checked_mul(bb)
            && bytes <= chunk_bytes as u64
        {
            return bytes as usize;
        }
    }
    bb as usize
}

/// Cuts `tensors` into chunks of at most `chunk_bytes` (a chunk exceeds it only when a single block
/// does). Returns the chunks and the number of pieces of each tensor (0 for an empty tensor).
///
/// Each tensor is cut on its own, at the same offsets wherever it stands in the list: pieces of
/// `chunk_bytes` rounded down to its granularity, the last one shorter. Pieces are then packed into
/// chunks in order, a piece that does not fit in the room left starting a new chunk. So a tensor's
/// statistics (whose last bits depend on where it is cut) are the same whether it is measured with
/// the whole model or in a small batch of a few tensors, as the streaming run does.
pub(super) fn plan(tensors: &[TensorSlice<'_>], chunk_bytes: usize) -> (Vec<Chunk>, Vec<usize>) {
    let cap = chunk_bytes.max(1);
    let mut chunks = Vec::new();
    let mut pieces = vec![0; tensors.len()];
    let mut cur = Chunk::default();
    for (i, t) in tensors.iter().enumerate() {
        let len = usable_bytes(t);
        let step = granularity(t, cap);
        let block = t.dtype.block_bytes() as usize;
        // A block larger than a chunk is a piece of its own.
        let piece = (cap / step * step).max(block);
        let mut pos = 0;
        while pos < len {
            let take = piece.min(len - pos);
            if cur.bytes as usize + take > cap && !cur.pieces.is_empty() {
                chunks.push(std::mem::take(&mut cur));
            }
            cur.pieces.push(Piece {
                tensor: i,
                bytes: pos..pos + take,
            });
            cur.bytes += take as u64;
            pieces[i] += 1;
            pos += take;
            if cur.bytes as usize >= cap {
                chunks.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.pieces.is_empty() {
        chunks.push(cur);
    }
    (chunks, pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn slice<'a>(dtype: DType, shape: &'a [u64], bytes: &'a [u8]) -> TensorSlice<'a> {
        TensorSlice {
            dtype,
            shape,
            bytes,
        }
    }

    #[test]
    fn small_tensors_share_a_chunk_and_big_ones_split_on_rows() {
        let data = vec![0u8; 4096];
        let tensors = [
            slice(DType::F32, &[4], &data[..16]),
            slice(DType::F32, &[10, 10], &data[..400]),
            slice(DType::BF16, &[3], &data[..6]),
            slice(DType::F32, &[0], &data[..0]),
        ];
        let (chunks, pieces) = plan(&tensors, 128);
        assert_eq!(pieces, vec![1, 4, 1, 0]);
        // Three rows (120 bytes) of tensor 1 do not fit beside tensor 0's 16 bytes: a new chunk.
        // Its last row shares a chunk with tensor 2.
        let cuts: Vec<Vec<(usize, Range<usize>)>> = chunks
            .iter()
            .map(|c| {
                c.pieces
                    .iter()
                    .map(|p| (p.tensor, p.bytes.clone()))
                    .collect()
            })
            .collect();
        assert_eq!(
            cuts,
            vec![
                vec![(0, 0..16)],
                vec![(1, 0..120)],
                vec![(1, 120..240)],
                vec![(1, 240..360)],
                vec![(1, 360..400), (2, 0..6)],
            ]
        );
        let total: u64 = chunks.iter().map(|c| c.bytes).sum();
        assert_eq!(total, 16 + 400 + 6);
        assert!(chunks.iter().all(|c| c.bytes <= 128));
    }

    #[test]
    fn a_tensor_is_cut_at_the_same_offsets_whatever_precedes_it() {
        let data = vec![0u8; 4096];
        let alone = [slice(DType::F32, &[25, 10], &data[..1000])];
        let after = [
            slice(DType::BF16, &[7], &data[..14]),
            slice(DType::F32, &[25, 10], &data[..1000]),
        ];
        let cuts = |tensors: &[TensorSlice<'_>], t: usize| -> Vec<Range<usize>> {
            let (chunks, _) = plan(tensors, 128);
            chunks
                .iter()
                .flat_map(|c| c.pieces.iter())
                .filter(|p| p.tensor == t)
                .map(|p| p.bytes.clone())
                .collect()
        };
        let want: Vec<Range<usize>> = (0..1000)
            .step_by(120)
            .map(|s| s..(s + 120).min(1000))
            .collect();
        assert_eq!(cuts(&alone, 0), want);
        assert_eq!(cuts(&after, 1), want);
    }

    #[test]
    fn rows_longer_than_a_chunk_split_on_blocks() {
        let data = vec![0u8; 300];
        let tensors = [slice(DType::F6_E2M3, &[2, 100], &data[..150])];
        let (chunks, pieces) = plan(&tensors, 16);
        assert_eq!(pieces[0], chunks.len());
        for c in &chunks {
            for p in &c.pieces {
                assert_eq!(p.bytes.start % 3, 0);
                assert!(p.bytes.len() <= 16);
            }
        }
    }

    #[test]
    fn tiny_chunks_still_make_progress() {
        let data = vec![0u8; 64];
        let tensors = [slice(DType::F64, &[8], &data)];
        let (chunks, _) = plan(&tensors, 1);
        assert_eq!(chunks.len(), 8);
        assert!(chunks.iter().all(|c| c.bytes == 8));
    }

    #[test]
    fn matrices_need_two_rows_two_columns_and_a_matching_shape() {
        let data = vec![0u8; 64];
        assert_eq!(matrix(&slice(DType::F32, &[4, 4], &data)), Some((4, 4)));
        assert_eq!(matrix(&slice(DType::F32, &[1, 16], &data)), None);
        assert_eq!(matrix(&slice(DType::F32, &[4, 5], &data)), None);
        assert_eq!(matrix(&slice(DType::F32, &[16], &data)), None);
        let q8 = DType::Ggml(crate::dtype::GgmlType::Q8_0);
        let blocks = vec![0u8; 68];
        assert_eq!(matrix(&slice(q8, &[2, 32], &blocks)), None);
    }

    #[test]
    fn quantised_tensors_split_on_whole_blocks() {
        let q4k = DType::Ggml(crate::dtype::GgmlType::Q4_K);
        let data = vec![0u8; 144 * 8];
        let tensors = [slice(q4k, &[4, 512], &data)];
        let (chunks, pieces) = plan(&tensors, 300);
        assert_eq!(pieces[0], chunks.len());
        for c in &chunks {
            for p in &c.pieces {
                assert_eq!(p.bytes.start % 144, 0);
                assert_eq!(p.bytes.len() % 144, 0);
            }
        }
    }
}

//! A pointer hidden from the optimiser, for vector loops whose loads LLVM would otherwise rewrite.
//!
//! The F32 kernels load a step's sixteen values as one 512-bit vector (extremes, window, equal
//! bits) and again as two halves of eight (widened to f64). Seeing the same bytes loaded twice,
//! LLVM rebuilt the upper half from two 128-bit loads and four `vinsertps`: five shuffles a step
//! where one load was written, on the shuffle ports the widening already saturates. Loading the
//! half through a pointer LLVM cannot relate to the whole keeps the load as written.

/// `p`, unchanged, but opaque to the optimiser.
#[inline(always)]
// The asm block only hands the address back; it never reads or writes through it.
#[allow(clippy::pointers_in_nomem_asm_block)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) fn opaque<T>(mut p: *const T) -> *const T {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: an empty asm block that hands its input back unchanged: it reads and writes no
    // memory, uses no stack and leaves the flags alone.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) p, options(pure, nomem, nostack, preserves_flags))
    };
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pointer_is_unchanged() {
        let x = [1.0f32, 2.0];
        let p = x.as_ptr().wrapping_add(1);
        assert_eq!(super::opaque(p), p);
    }
}

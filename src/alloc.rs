//! Allocator tuning for the training loop (DESIGN §7).
//!
//! The binary and the benches use mimalloc as the global allocator. By default mimalloc gives
//! freed memory back to the OS after 10 ms; a training step frees and re-allocates the same
//! activation and gradient buffers every few milliseconds, so each step would fault in fresh
//! (kernel-zeroed, huge) pages again — measured on workload W: ~9% of the samples in
//! `clear_page_erms`. [`keep_freed_memory`] turns purging off, so the process keeps its peak
//! working set for reuse (W: 3.3 → 3.7 train steps/s).

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (the 16th option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Stops mimalloc from returning freed memory to the OS. Call once, at start-up, in a program
/// whose global allocator is `mimalloc::MiMalloc` (harmless otherwise).
pub fn keep_freed_memory() {
    // SAFETY: mi_option_set only stores an integer option; any value is valid for this one
    // (-1 = never purge).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

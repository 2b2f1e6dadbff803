//! The allocator's settings, applied once when the binary starts, before any other thread:
//! the crate's one `unsafe` block. glibc raises its mmap threshold to the size of each large
//! block freed (up to 32 MiB), so after the first page body (1-3 MB) is freed, later bodies and
//! parses come from the heap arenas, whose freed space mostly stays resident; peak RSS then grew
//! with the run's length and with the stores synced at once (BENCHMARKS.md, "Target 4:
//! memory"). A fixed threshold of 128 KiB (glibc's initial one) gives every block of that size
//! or more its own mapping, returned to the system when freed. And glibc gives threads up to
//! 8 arenas per core, each keeping its own freed space: two arenas are enough for a process
//! whose work is one writer thread and a few page parses (the 100,000-product run's sitemap
//! phase had spread over five, about 1 MB each). Elsewhere: nothing to do.

/// The threshold: glibc's default before it starts moving it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Arenas threads allocate from.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 2;

/// Fixes the allocator's mmap threshold and arena count (glibc on Linux; nothing elsewhere).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets allocator parameters; it takes no pointer and is called at
    // the start of main, before any other thread allocates. A refusal (0) leaves the default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
}

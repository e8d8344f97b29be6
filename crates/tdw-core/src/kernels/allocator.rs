//! Allocator settings (see [`crate::memory`] for why).

/// Keeps blocks up to 32 MB (glibc's largest allowed mmap threshold) on malloc's heaps and never
/// trims them, so a freed block is reused by the next allocation of its size. The process keeps
/// its peak heap for its lifetime, which for the `tdw` commands is a few hundred MB at most.
/// A no-op where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called before any thread
        // that allocates is started by the caller (the binary's first statement).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}

//! Memory that goes back to the system (issue 18).
//!
//! Brook keeps glibc's allocator and tunes it; the alternatives (jemalloc,
//! mimalloc) are cargo features (`--features jemalloc|mimalloc`) for the
//! comparison recorded in `BENCHMARKS.md`, where the measurements that chose
//! this setting are.
//!
//! glibc raises its mmap threshold dynamically, up to 32 MiB, each time a
//! mapped block is freed. After the first 19 MiB argon2 buffer was freed every
//! later one came from the per-thread arenas and stayed there: 64 sign-ins at
//! once left 4.4 GB behind. Fixing the threshold at 1 MiB (which turns the
//! dynamic adjustment off) makes every large buffer a mapping of its own,
//! returned on free. Small allocations (a burst of streams) fragment the arenas
//! instead, so a low-priority task hands free pages back with `malloc_trim(0)`
//! once per [`TRIM_EVERY`].

use std::time::Duration;

/// Blocks of at least this many bytes get their own mapping (glibc default:
/// 128 KiB, rising dynamically to 32 MiB).
pub const MMAP_THRESHOLD: usize = 1024 * 1024;
/// Free memory at the top of a heap beyond this is returned at once.
pub const TRIM_THRESHOLD: usize = 8 * 1024 * 1024;
/// How often free pages inside the heaps are handed back.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Tunes glibc's allocator. Call once, first thing in `main`, before threads
/// start. Does nothing with another allocator or another C library.
pub fn tune() {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        not(feature = "jemalloc"),
        not(feature = "mimalloc")
    ))]
    {
        if std::env::var_os("BROOK_MALLOC_UNTUNED").is_some() {
            return;
        }
        // SAFETY: mallopt only changes allocator parameters; it is called
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
        }
    }
}

/// Spawns the periodic trim (glibc only).
pub fn spawn_trimmer() {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        not(feature = "jemalloc"),
        not(feature = "mimalloc")
    ))]
    {
        if std::env::var_os("BROOK_MALLOC_UNTUNED").is_some() {
            return;
        }
        tokio::spawn(async {
            let mut every = tokio::time::interval(TRIM_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // SAFETY: malloc_trim is thread-safe; it only returns free pages.
                let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
            }
        });
    }
}

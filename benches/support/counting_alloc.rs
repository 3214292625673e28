//! The one counting allocator of the tests and the benchmarks: the system
//! allocator, counting the bytes and the allocations of each thread while
//! counting is on for that thread. Other threads (a test running beside, a
//! runtime's workers) pay one thread-local read per allocation and are not
//! counted.
//!
//! Including this file installs it as the global allocator:
//! `tests/all/main.rs`, `benches/decode.rs` and `benches/success_path.rs` do,
//! with `#[path = ".../benches/support/counting_alloc.rs"] mod counting;`.
//!
//! ```ignore
//! let (output, counts) = counting::counted(|| work());
//! let per_call = counting::allocations_per_call(1_000, || work());
//! ```

// Each includer uses part of it: the tests read bytes, the benches averages.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

/// The system allocator, counting for the threads that asked (with [`counted`]).
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNTS: Cell<Counts> = const { Cell::new(Counts { bytes: 0, allocations: 0 }) };
}

/// What a thread allocated while counting was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Bytes allocated (growth only for a reallocation): an upper bound of
    /// what was held in memory at any time.
    pub bytes: u64,
    /// Allocations and reallocations.
    pub allocations: u64,
}

fn count(bytes: usize) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNTS.try_with(|c| {
                let Counts {
                    bytes: b,
                    allocations: n,
                } = c.get();
                c.set(Counts {
                    bytes: b + bytes as u64,
                    allocations: n + 1,
                });
            });
        }
    });
}

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size.saturating_sub(layout.size()));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its output with what this thread allocated meanwhile.
pub fn counted<T>(f: impl FnOnce() -> T) -> (T, Counts) {
    COUNTS.with(|c| {
        c.set(Counts {
            bytes: 0,
            allocations: 0,
        })
    });
    COUNTING.with(|on| on.set(true));
    let output = f();
    COUNTING.with(|on| on.set(false));
    (output, COUNTS.with(Cell::get))
}

/// The allocations this thread makes in a call of `f`, averaged over `runs`
/// calls, after one call outside the count to warm up any lazy state.
pub fn allocations_per_call<T>(runs: u64, mut f: impl FnMut() -> T) -> f64 {
    black_box(f());
    let ((), counts) = counted(|| {
        for _ in 0..runs {
            black_box(f());
        }
    });
    counts.allocations as f64 / runs as f64
}

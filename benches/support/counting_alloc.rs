//! A global allocator that forwards every call unchanged to `System` and counts the
//! allocations (reallocations included) made while its [`Gate`] is open. The benches
//! differ only in the gate: one for the whole process, or one per thread.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: Counting<MyGate> = Counting::new();
//! let per_call = GLOBAL.allocations_per_call(1_000, || work());
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// When allocations are counted.
pub trait Gate {
    /// Whether this allocation counts; asked on every allocation, so keep it cheap.
    fn is_open() -> bool;
    /// Opens or closes the gate for the code about to run.
    fn set(open: bool);
}

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// `System`, counting the allocations made while `G` is open.
pub struct Counting<G>(PhantomData<G>);

impl<G> Counting<G> {
    pub const fn new() -> Self {
        Counting(PhantomData)
    }
}

impl<G: Gate> Counting<G> {
    fn count() {
        if G::is_open() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Allocations counted while `f` runs, averaged over `runs` calls.
    pub fn allocations_per_call<T>(&self, runs: u64, mut f: impl FnMut() -> T) -> f64 {
        black_box(f()); // warm up any lazy state outside the count
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        G::set(true);
        for _ in 0..runs {
            black_box(f());
        }
        G::set(false);
        (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / runs as f64
    }
}

// SAFETY: every call is forwarded unchanged to `System`.
unsafe impl<G: Gate> GlobalAlloc for Counting<G> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

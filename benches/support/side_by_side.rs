//! Side-by-side medians: criterion measures one benchmark after another, so a change of
//! load on a shared machine between two of them shows up in their ratio. Here the cases
//! take turns, round after round (the first case of a round rotating), and each case's
//! median over the rounds is compared with the first case's, measured in the same minutes.
//!
//! Both the wall-clock time and the CPU time of the measuring thread are taken: the
//! second leaves out the time the thread waits (for the server, or for a core another
//! process holds), so it is the steadier measure of the work a client adds.

use std::time::Instant;

/// Whether the binary runs as a benchmark (`cargo bench`), not as a test
/// (`cargo test --benches`), and its filter, if any, selects `name`.
pub fn wanted(name: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let filter = args.iter().find(|a| !a.starts_with('-'));
    bench && filter.is_none_or(|f| name.contains(f.as_str()))
}

/// The CPU time this thread has used, in seconds.
pub fn thread_cpu_time() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid `timespec` to write to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Runs `rounds` rounds; in each, `run(case)` runs every case once and returns the
/// number of operations it made. Prints a markdown table, headed by `title`, of the
/// median wall-clock and CPU time of an operation, and their ratios to the first case.
pub fn compare(title: &str, cases: &[&str], rounds: usize, mut run: impl FnMut(usize) -> u32) {
    let mut wall = vec![Vec::with_capacity(rounds); cases.len()];
    let mut cpu = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        for turn in 0..cases.len() {
            let case = (round + turn) % cases.len();
            let (start, start_cpu) = (Instant::now(), thread_cpu_time());
            let ops = f64::from(run(case));
            wall[case].push(start.elapsed().as_secs_f64() / ops);
            cpu[case].push((thread_cpu_time() - start_cpu) / ops);
        }
    }
    let wall: Vec<f64> = wall.iter_mut().map(|s| median(s)).collect();
    let cpu: Vec<f64> = cpu.iter_mut().map(|s| median(s)).collect();
    println!("\n{title}: medians of {rounds} rounds, side by side\n");
    println!("| case | wall | ratio | CPU | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, case) in cases.iter().enumerate() {
        println!(
            "| {case} | {} | {:.3} | {} | {:.3} |",
            human(wall[i]),
            wall[i] / wall[0],
            human(cpu[i]),
            cpu[i] / cpu[0],
        );
    }
    println!();
}

/// The median of `samples` (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `seconds` in ns, µs or ms.
pub fn human(seconds: f64) -> String {
    match seconds {
        s if s < 1e-6 => format!("{:.1} ns", s * 1e9),
        s if s < 1e-3 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.3} ms", s * 1e3),
    }
}

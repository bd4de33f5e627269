//! The overhead target as a ratio that survives a busy machine: plain and redacted `fmt`
//! subscribers take turns, 100 events each, a few thousand times, and the ratio is taken of
//! like statistics (fastest batch, 10th percentile, median) of the two. Criterion's `overhead`
//! bench measures one subscriber after the other, so a build starting halfway through skews it.
//!
//! `cargo bench -p hush-tracing --bench ratio` (`-- --rounds N` for more or fewer turns)

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use hush_tracing::Shield;

mod common;
use common::{dispatch, emit, token};

/// Events per timed batch: long enough to time, short enough that most batches run undisturbed.
const BATCH: u32 = 100;

fn main() {
    let mut rounds = 4000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--rounds takes a number");
        }
    }
    let shield = Shield::builtin().expect("the built-in rules compile");
    let tok = token();
    println!("ns/event, redacted/plain, {rounds} alternating batches of {BATCH} events");
    for json in [false, true] {
        for secret in [false, true] {
            let subscribers = [
                dispatch(json, false, &shield),
                dispatch(json, true, &shield),
            ];
            let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..rounds {
                for (d, t) in subscribers.iter().zip(times.iter_mut()) {
                    tracing::dispatcher::with_default(d, || {
                        let start = Instant::now();
                        for _ in 0..BATCH {
                            emit(black_box(secret), &tok);
                        }
                        t.push(start.elapsed().as_nanos() as f64 / f64::from(BATCH));
                    });
                }
            }
            for t in &mut times {
                t.sort_by(f64::total_cmp);
            }
            let at = |q: f64| {
                let i = (q * (rounds - 1) as f64) as usize;
                let (plain, redacted) = (times[0][i], times[1][i]);
                format!("{redacted:.0}/{plain:.0} = {:.2}x", redacted / plain)
            };
            println!(
                "{:4} {:11}  min {}   p10 {}   median {}",
                if json { "json" } else { "text" },
                if secret { "with-secret" } else { "no-secret" },
                at(0.0),
                at(0.1),
                at(0.5)
            );
        }
    }
}

//! Two-thread throughput and round-trip latency of the ring's queue against rtrb and
//! crossbeam's ArrayQueue, with the same message (an 80-byte `Descriptor`) and the same
//! capacity, after rtrb's own `push_pop` benchmark. Ends by printing the ratios.
//!
//! `cargo bench -p syscall-ring --bench ring`

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use syscall_ring::{Call, Descriptor, HeapQueue, HeapRegion, Opcode, RingConfig, RingError};

/// Capacity of the streaming and round-trip cases (rtrb's eager-push/pop use 4096).
const CAPACITY: usize = 1024;
/// rtrb's "small" case: two slots, so the threads contend on every message.
const SMALL: usize = 2;
/// Batch size of the batched variant.
const BATCH: usize = 32;

fn message(i: u64) -> Descriptor {
    Descriptor {
        id: i,
        opcode: Opcode::Syscall as u32,
        args: [i; 6],
        ..Descriptor::default()
    }
}

/// Waits a little after a Full/Empty. Spins first (the normal case: the peer is
/// running on the other core), then yields, so that on a loaded host, where the peer
/// thread may not be running, the wait costs a time slice at most once. Every
/// implementation uses the same loops, so this treats them alike.
#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 256 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// One SPSC channel under test: how to make it and how to try a push or a pop.
/// Each implementation is driven by the same loops below.
trait Channel: Sized {
    type Producer<'a>: Send
    where
        Self: 'a;
    type Consumer<'a>: Send
    where
        Self: 'a;
    const NAME: &'static str;
    fn with_capacity(capacity: usize) -> Self;
    fn ends(&mut self) -> (Self::Producer<'_>, Self::Consumer<'_>);
    fn push(producer: &mut Self::Producer<'_>, message: Descriptor) -> bool;
    fn pop(consumer: &mut Self::Consumer<'_>) -> Option<Descriptor>;
}

/// Boxed: the real queue lives in its own mapping, not on a thread's stack (and rtrb
/// keeps its indices on the heap too).
struct Ring(Box<HeapQueue>);

impl Channel for Ring {
    type Producer<'a> = syscall_ring::Producer<'a>;
    type Consumer<'a> = syscall_ring::Consumer<'a>;
    const NAME: &'static str = "ring";
    fn with_capacity(capacity: usize) -> Self {
        Ring(Box::new(HeapQueue::new(capacity)))
    }
    fn ends(&mut self) -> (Self::Producer<'_>, Self::Consumer<'_>) {
        self.0.ends().unwrap()
    }
    #[inline]
    fn push(producer: &mut Self::Producer<'_>, message: Descriptor) -> bool {
        producer.push(&message).is_ok()
    }
    #[inline]
    fn pop(consumer: &mut Self::Consumer<'_>) -> Option<Descriptor> {
        consumer.pop().ok()
    }
}

struct Rtrb(Option<(rtrb::Producer<Descriptor>, rtrb::Consumer<Descriptor>)>);

impl Channel for Rtrb {
    type Producer<'a> = rtrb::Producer<Descriptor>;
    type Consumer<'a> = rtrb::Consumer<Descriptor>;
    const NAME: &'static str = "rtrb";
    fn with_capacity(capacity: usize) -> Self {
        Rtrb(Some(rtrb::RingBuffer::new(capacity)))
    }
    fn ends(&mut self) -> (Self::Producer<'_>, Self::Consumer<'_>) {
        self.0.take().unwrap()
    }
    #[inline]
    fn push(producer: &mut Self::Producer<'_>, message: Descriptor) -> bool {
        producer.push(message).is_ok()
    }
    #[inline]
    fn pop(consumer: &mut Self::Consumer<'_>) -> Option<Descriptor> {
        consumer.pop().ok()
    }
}

struct Crossbeam(Arc<ArrayQueue<Descriptor>>);

impl Channel for Crossbeam {
    type Producer<'a> = Arc<ArrayQueue<Descriptor>>;
    type Consumer<'a> = Arc<ArrayQueue<Descriptor>>;
    const NAME: &'static str = "ArrayQueue";
    fn with_capacity(capacity: usize) -> Self {
        Crossbeam(Arc::new(ArrayQueue::new(capacity)))
    }
    fn ends(&mut self) -> (Self::Producer<'_>, Self::Consumer<'_>) {
        (Arc::clone(&self.0), Arc::clone(&self.0))
    }
    #[inline]
    fn push(producer: &mut Self::Producer<'_>, message: Descriptor) -> bool {
        producer.push(message).is_ok()
    }
    #[inline]
    fn pop(consumer: &mut Self::Consumer<'_>) -> Option<Descriptor> {
        consumer.pop()
    }
}

/// `iters` messages from one thread to the other through a queue of `capacity`;
/// each side spins on Full/Empty. The time is from start until the last pop.
fn stream<C: Channel>(capacity: usize, iters: u64) -> Duration {
    let mut channel = C::with_capacity(capacity);
    let (mut producer, mut consumer) = channel.ends();
    // Both threads start together: thread start-up is not part of the measurement.
    let ready = &Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            ready.wait();
            for i in 0..iters {
                let mut spins = 0;
                while !C::push(&mut producer, black_box(message(i))) {
                    backoff(&mut spins);
                }
            }
        });
        ready.wait();
        let start = Instant::now();
        for i in 0..iters {
            let mut spins = 0;
            loop {
                if let Some(m) = C::pop(&mut consumer) {
                    debug_assert_eq!(m.id, i);
                    black_box(m);
                    break;
                }
                backoff(&mut spins);
            }
        }
        start.elapsed()
    })
}

/// `iters` round trips: send one message, wait for the echo thread to send it back.
fn round_trip<C: Channel>(iters: u64) -> Duration {
    let mut there = C::with_capacity(CAPACITY);
    let mut back = C::with_capacity(CAPACITY);
    let (mut to_echo, mut at_echo) = there.ends();
    let (mut from_echo, mut echoed) = back.ends();
    // Both threads start together: thread start-up is not part of the measurement.
    let ready = &Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            ready.wait();
            for _ in 0..iters {
                let mut spins = 0;
                let m = loop {
                    if let Some(m) = C::pop(&mut at_echo) {
                        break m;
                    }
                    backoff(&mut spins);
                };
                while !C::push(&mut from_echo, m) {
                    backoff(&mut spins);
                }
            }
        });
        ready.wait();
        let start = Instant::now();
        for i in 0..iters {
            let mut spins = 0;
            while !C::push(&mut to_echo, message(i)) {
                backoff(&mut spins);
            }
            loop {
                if let Some(m) = C::pop(&mut echoed) {
                    debug_assert_eq!(m.id, i);
                    break;
                }
                backoff(&mut spins);
            }
        }
        start.elapsed()
    })
}

/// The ring with `push_batch`/`pop_batch` of up to `BATCH` messages.
fn stream_batched(iters: u64) -> Duration {
    let mut queue = Box::new(HeapQueue::new(CAPACITY));
    let (mut producer, mut consumer) = queue.ends().unwrap();
    // Both threads start together: thread start-up is not part of the measurement.
    let ready = &Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            ready.wait();
            let mut batch = [Descriptor::default(); BATCH];
            let mut sent = 0;
            while sent < iters {
                let n = (iters - sent).min(BATCH as u64) as usize;
                for (k, slot) in batch[..n].iter_mut().enumerate() {
                    *slot = message(sent + k as u64);
                }
                let (mut done, mut spins) = (0, 0);
                while done < n {
                    done += producer.push_batch(&batch[done..n]).unwrap();
                    if done < n {
                        backoff(&mut spins);
                    }
                }
                sent += n as u64;
            }
        });
        ready.wait();
        let start = Instant::now();
        let mut out = [Descriptor::default(); BATCH];
        let (mut received, mut spins) = (0, 0);
        while received < iters {
            let n = consumer.pop_batch(&mut out).unwrap();
            if n == 0 {
                backoff(&mut spins);
            } else {
                spins = 0;
            }
            black_box(&out[..n]);
            received += n as u64;
        }
        start.elapsed()
    })
}

/// rtrb's chunk API with the same batch size, to compare batching with batching.
fn stream_batched_rtrb(iters: u64) -> Duration {
    let (mut producer, mut consumer) = rtrb::RingBuffer::<Descriptor>::new(CAPACITY);
    // Both threads start together: thread start-up is not part of the measurement.
    let ready = &Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            ready.wait();
            let mut batch = [Descriptor::default(); BATCH];
            let (mut sent, mut spins) = (0, 0);
            while sent < iters {
                let n = producer.slots().min(BATCH).min((iters - sent) as usize);
                if n == 0 {
                    backoff(&mut spins);
                    continue;
                }
                spins = 0;
                // Same input as the ring's `push_batch`: a slice of descriptors.
                for (k, slot) in batch[..n].iter_mut().enumerate() {
                    *slot = message(sent + k as u64);
                }
                let chunk = producer.write_chunk_uninit(n).unwrap();
                chunk.fill_from_iter(batch[..n].iter().copied());
                sent += n as u64;
            }
        });
        ready.wait();
        let start = Instant::now();
        let mut out = [Descriptor::default(); BATCH];
        let (mut received, mut spins) = (0, 0);
        while received < iters {
            let n = consumer.slots().min(BATCH);
            if n == 0 {
                backoff(&mut spins);
                continue;
            }
            spins = 0;
            let chunk = consumer.read_chunk(n).unwrap();
            // Copy out, as `pop_batch` does: a consumer has to read what it receives.
            let (first, second) = chunk.as_slices();
            out[..first.len()].copy_from_slice(first);
            out[first.len()..n].copy_from_slice(second);
            black_box(&out[..n]);
            chunk.commit_all();
            received += n as u64;
        }
        start.elapsed()
    })
}

/// The whole forwarding path: `Client::submit` → `Server::next_request` →
/// `Server::respond` → `Client::poll` (matching included), one request in flight.
fn syscall_round_trip(iters: u64) -> Duration {
    syscall_round_trip_with_payload(iters, 0)
}

/// As `syscall_round_trip`, with a `write`-like request carrying `payload` bytes that
/// the daemon copies out of its buffer and back in (a `read`-like answer of the same size).
fn syscall_round_trip_with_payload(iters: u64, payload: usize) -> Duration {
    let mut region = HeapRegion::new(RingConfig {
        capacity: CAPACITY as u32,
        payload_slot_size: 4096,
    })
    .unwrap();
    let data = vec![0x5a_u8; payload];
    let mut shared = region.attach().unwrap();
    let (mut client, mut server) = shared.split().unwrap();
    // Both threads start together: thread start-up is not part of the measurement.
    let ready = &Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut buffer = vec![0u8; 4096];
            ready.wait();
            for _ in 0..iters {
                let mut spins = 0;
                let request = loop {
                    match server.next_request() {
                        Ok(request) => break request,
                        Err(RingError::Empty) => backoff(&mut spins),
                        Err(error) => panic!("{error}"),
                    }
                };
                let n = server.read_payload(&request, &mut buffer).unwrap();
                server
                    .respond(&request, request.call.args[0] as i64, &buffer[..n])
                    .unwrap();
            }
        });
        let mut answer = vec![0u8; 4096];
        ready.wait();
        let start = Instant::now();
        for i in 0..iters {
            client.submit(Call::syscall(1, 1, [i; 6]), &data).unwrap();
            let mut spins = 0;
            loop {
                match client.poll(&mut answer) {
                    Ok(done) => {
                        debug_assert_eq!(done.ret, i as i64);
                        break;
                    }
                    Err(RingError::Empty) => backoff(&mut spins),
                    Err(error) => panic!("{error}"),
                }
            }
        }
        start.elapsed()
    })
}

/// One thread pushes a batch of 32 and pops it again: no contention, so this measures
/// the code itself (copies, checks), not the cache-line traffic.
fn single_thread<C: Channel>(iters: u64) -> Duration {
    let mut channel = C::with_capacity(CAPACITY);
    let (mut producer, mut consumer) = channel.ends();
    let start = Instant::now();
    for round in 0..iters {
        for i in 0..BATCH as u64 {
            assert!(C::push(&mut producer, black_box(message(round + i))));
        }
        for _ in 0..BATCH {
            black_box(C::pop(&mut consumer));
        }
    }
    start.elapsed() / BATCH as u32
}

/// One scenario for the three implementations back to back, so that they see the
/// same machine load (the host is shared and has two cores).
fn scenario(c: &mut Criterion, group: &str, elements: bool, run: [fn(u64) -> Duration; 3]) {
    let mut group = c.benchmark_group(group);
    if elements {
        group.throughput(Throughput::Elements(1));
    }
    for (name, run) in [Ring::NAME, Rtrb::NAME, Crossbeam::NAME]
        .into_iter()
        .zip(run)
    {
        group.bench_function(name, |b| b.iter_custom(run));
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    scenario(
        c,
        "throughput",
        true,
        [
            |n| stream::<Ring>(CAPACITY, n),
            |n| stream::<Rtrb>(CAPACITY, n),
            |n| stream::<Crossbeam>(CAPACITY, n),
        ],
    );
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ring_batched", |b| b.iter_custom(stream_batched));
    group.bench_function("rtrb_batched", |b| b.iter_custom(stream_batched_rtrb));
    group.finish();
    scenario(
        c,
        "small",
        true,
        [
            |n| stream::<Ring>(SMALL, n),
            |n| stream::<Rtrb>(SMALL, n),
            |n| stream::<Crossbeam>(SMALL, n),
        ],
    );
    scenario(
        c,
        "single_thread",
        true,
        [
            single_thread::<Ring>,
            single_thread::<Rtrb>,
            single_thread::<Crossbeam>,
        ],
    );
    scenario(
        c,
        "round_trip",
        false,
        [
            round_trip::<Ring>,
            round_trip::<Rtrb>,
            round_trip::<Crossbeam>,
        ],
    );
    let mut group = c.benchmark_group("round_trip");
    group.bench_function("ring_client_server", |b| b.iter_custom(syscall_round_trip));
    group.bench_function("ring_client_server_4k", |b| {
        b.iter_custom(|n| syscall_round_trip_with_payload(n, 4096))
    });
    group.finish();
}

/// Where criterion writes its estimates (set explicitly so this program can read them).
fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("criterion")
}

/// Time per message in ns from criterion's raw samples: the median sample, and the
/// best one. On a shared two-core host a sample in which a thread was descheduled is far
/// off the rest, so the mean is useless; the best sample is the undisturbed speed, the
/// median the typical one. Both are printed.
#[derive(Clone, Copy)]
struct Estimate {
    median: f64,
    best: f64,
}

fn estimate(dir: &std::path::Path, group: &str, name: &str) -> Option<Estimate> {
    let path = dir.join(group).join(name).join("new/sample.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let numbers = |key: &str| -> Option<Vec<f64>> {
        json.get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_f64())
            .collect()
    };
    let mut per_iteration: Vec<f64> = numbers("times")?
        .iter()
        .zip(numbers("iters")?)
        .map(|(time, iters)| time / iters)
        .collect();
    per_iteration.sort_by(f64::total_cmp);
    Some(Estimate {
        median: *per_iteration.get(per_iteration.len() / 2)?,
        best: *per_iteration.first()?,
    })
}

/// `a / b` for the median and the best sample, as "1.23x (best 1.10x)".
fn ratio(a: Estimate, b: Estimate) -> String {
    format!(
        "{:.2}x (best samples: {:.2}x)",
        a.median / b.median,
        a.best / b.best
    )
}

fn rate(e: Estimate) -> String {
    format!("{:.1} Mmsg/s", 1e3 / e.median)
}

fn print_ratios(dir: &std::path::Path) {
    println!();
    println!("== syscall-ring vs rtrb and ArrayQueue: 80-byte messages, median samples ==");
    for (group, what) in [
        ("throughput", "throughput, capacity 1024"),
        ("small", "throughput, capacity 2"),
    ] {
        let get = |name| estimate(dir, group, name);
        if let (Some(ring), Some(rtrb), Some(aq)) = (get("ring"), get("rtrb"), get("ArrayQueue")) {
            println!(
                "{what}: ring {}, rtrb {}, ArrayQueue {}",
                rate(ring),
                rate(rtrb),
                rate(aq)
            );
            println!("  throughput vs rtrb: {}", ratio(rtrb, ring));
            println!("  throughput vs ArrayQueue: {}", ratio(aq, ring));
        }
    }
    let get = |name| estimate(dir, "throughput", name);
    if let (Some(batched), Some(rtrb_batched), Some(aq)) =
        (get("ring_batched"), get("rtrb_batched"), get("ArrayQueue"))
    {
        println!(
            "throughput, batches of {BATCH}: ring {}, rtrb chunks {}",
            rate(batched),
            rate(rtrb_batched)
        );
        println!(
            "  batched throughput vs rtrb chunks: {}",
            ratio(rtrb_batched, batched)
        );
        println!(
            "  batched throughput vs ArrayQueue (unbatched): {}",
            ratio(aq, batched)
        );
    }
    let get = |name| estimate(dir, "round_trip", name);
    if let (Some(ring), Some(rtrb), Some(aq)) = (get("ring"), get("rtrb"), get("ArrayQueue")) {
        println!(
            "round trip: ring {:.0} ns, rtrb {:.0} ns, ArrayQueue {:.0} ns",
            ring.median, rtrb.median, aq.median
        );
        println!(
            "  round-trip time vs rtrb (<= 1 is no slower): {}",
            ratio(ring, rtrb)
        );
        println!("  round-trip time vs ArrayQueue: {}", ratio(ring, aq));
    }
    if let Some(full) = get("ring_client_server") {
        println!(
            "round trip through Client/Server (validation, matching, payload tag): {:.0} ns (best {:.0} ns)",
            full.median, full.best
        );
    }
    if let Some(full) = get("ring_client_server_4k") {
        println!(
            "  the same with 4 KiB of payload each way: {:.0} ns (best {:.0} ns)",
            full.median, full.best
        );
    }
}

/// The same comparisons again, interleaved: many short trials that rotate through
/// the implementations, so that a change in machine load (the host is shared) hits all
/// of them alike. The ratios of the medians are the figures to trust on a busy host.
fn interleaved_ratios(rounds: usize) {
    type Trial = (&'static str, fn(u64) -> Duration);
    let scenarios: [(&str, u64, bool, Vec<Trial>); 4] = [
        (
            "throughput, capacity 1024",
            200_000,
            true,
            vec![
                ("ring", |n| stream::<Ring>(CAPACITY, n)),
                ("rtrb", |n| stream::<Rtrb>(CAPACITY, n)),
                ("ArrayQueue", |n| stream::<Crossbeam>(CAPACITY, n)),
            ],
        ),
        (
            "throughput, capacity 2",
            50_000,
            true,
            vec![
                ("ring", |n| stream::<Ring>(SMALL, n)),
                ("rtrb", |n| stream::<Rtrb>(SMALL, n)),
                ("ArrayQueue", |n| stream::<Crossbeam>(SMALL, n)),
            ],
        ),
        (
            "throughput, batches of 32",
            200_000,
            true,
            vec![
                ("ring", stream_batched),
                ("rtrb", stream_batched_rtrb),
                ("ArrayQueue", |n| stream::<Crossbeam>(CAPACITY, n)),
            ],
        ),
        (
            "round trip",
            20_000,
            false,
            vec![
                ("ring", round_trip::<Ring>),
                ("rtrb", round_trip::<Rtrb>),
                ("ArrayQueue", round_trip::<Crossbeam>),
            ],
        ),
    ];
    println!();
    println!(
        "== interleaved: {rounds} rounds of short trials, ns per message: median (best..worst) =="
    );
    for (what, messages, is_throughput, trials) in scenarios {
        let mut samples = vec![Vec::with_capacity(rounds); trials.len()];
        for round in 0..rounds {
            for k in 0..trials.len() {
                let which = (round + k) % trials.len();
                let elapsed = (trials[which].1)(messages);
                samples[which].push(elapsed.as_secs_f64() * 1e9 / messages as f64);
            }
        }
        for s in &mut samples {
            s.sort_by(f64::total_cmp);
        }
        let median: Vec<f64> = samples.iter().map(|s| s[s.len() / 2]).collect();
        let line: Vec<String> = trials
            .iter()
            .zip(&samples)
            .map(|((name, _), s)| {
                let (low, mid, high) = (s[0], s[s.len() / 2], s[s.len() - 1]);
                format!("{name} {mid:.1} ns ({low:.1}..{high:.1})")
            })
            .collect();
        println!("{what}: {}", line.join(", "));
        let best: Vec<f64> = samples.iter().map(|s| s[0]).collect();
        let ratio = |a: usize, b: usize| {
            format!(
                "{:.2}x (best rounds: {:.2}x)",
                median[a] / median[b],
                best[a] / best[b]
            )
        };
        let (ring, rtrb, aq) = (0, 1, 2);
        if is_throughput {
            println!("  throughput vs rtrb: {}", ratio(rtrb, ring));
            println!("  throughput vs ArrayQueue: {}", ratio(aq, ring));
        } else {
            println!(
                "  round-trip time vs rtrb (<= 1 is no slower): {}",
                ratio(ring, rtrb)
            );
            println!("  round-trip time vs ArrayQueue: {}", ratio(ring, aq));
        }
    }
}

/// The conditions of the run, printed with the figures: on a shared host they matter.
fn print_machine(when: &str) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!(
        "machine {when}: {cpus} CPUs, load average {}",
        load.join(" ")
    );
}

fn main() {
    print_machine("at start");
    let dir = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    print_ratios(&dir);
    // RING_BENCH_ROUNDS=0 skips the interleaved comparison.
    let rounds = std::env::var("RING_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31);
    if rounds > 0 {
        interleaved_ratios(rounds);
    }
    print_machine("at end");
}

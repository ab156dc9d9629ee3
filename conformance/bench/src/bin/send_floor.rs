//! The floor under fan-out: what one small write per recipient costs the
//! sending thread on this machine, with no Socket.IO in the way.
//!
//! Opens `n` loopback TCP connections; the accepting ends stay in this
//! process, whose main thread is pinned to CPU 0 and writes one WebSocket
//! text frame (`bytes` long, default 30) to each of them, `rounds` times
//! per repetition. The connecting ends live in a child process (this binary
//! again, `--readers`) pinned to the last CPU, which drains them with an
//! epoll loop, as the load generator does for the bench (one process per
//! side also keeps each under its open-files limit). Between rounds the
//! sender sleeps so the readers empty every socket, as the fan-out bench
//! waits for the last `tick`. The figure is the sending thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, user and system split by
//! `getrusage(RUSAGE_THREAD)`) per write; median of the repetitions.
//!
//! Variants, each on the same connections:
//! - `write`: blocking `write()`, Nagle on / `TCP_NODELAY`;
//! - `send`: blocking `send(MSG_NOSIGNAL)` (what std and mio call);
//! - `writev`: blocking `writev()` of header and payload as two buffers;
//! - `epoll`: nonblocking `write()` with every socket registered in an
//!   edge-triggered epoll set for in and out (as tokio registers them), one
//!   `epoll_wait` per round and EAGAIN retried on EPOLLOUT;
//! - `tokio-task`: a task per socket on a current-thread tokio runtime,
//!   woken by a `Notify` per round and writing once: the wake, poll and
//!   write of a runtime with a task per connection, still without
//!   Socket.IO (the whole runtime runs on the measured thread).
//!
//! `send_floor [n=1000,10000] [rounds=20] [reps=3] [bytes=30]`
//!
//! On loopback a `write()` also runs the receiving side's TCP input and
//! wakes the reader, in the sender's context: that is part of the floor
//! any server with a socket per client pays here.
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use sio_bench::runner::{median, Error};

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) -> Result<(), Error> {
    set_affinity(cpu..=cpu)
}

/// Lets this thread run on every CPU again.
fn pin_any() -> Result<(), Error> {
    set_affinity(0..=last_cpu())
}

/// Lets the calling thread run on `cpus` only.
fn set_affinity(cpus: std::ops::RangeInclusive<usize>) -> Result<(), Error> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus.clone() {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
            return Err(format!("sched_setaffinity({cpus:?}) failed").into());
        }
    }
    Ok(())
}

/// Raises the soft open-files limit to the hard one.
fn raise_open_files() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// This thread's CPU time so far: (total ns, user µs, system µs).
fn thread_cpu() -> (u64, u64, u64) {
    // SAFETY: both calls fill local structs.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        (
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
            us(ru.ru_utime),
            us(ru.ru_stime),
        )
    }
}

/// CPU spent by this thread in one measured stretch.
#[derive(Default, Clone, Copy)]
struct Spent {
    ns: u64,
    user_us: u64,
    sys_us: u64,
}

impl Spent {
    fn measure(f: impl FnOnce()) -> Spent {
        let before = thread_cpu();
        f();
        let after = thread_cpu();
        Spent {
            ns: after.0 - before.0,
            user_us: after.1 - before.1,
            sys_us: after.2 - before.2,
        }
    }

    fn add(&mut self, other: Spent) {
        self.ns += other.ns;
        self.user_us += other.user_us;
        self.sys_us += other.sys_us;
    }
}

/// A server WebSocket text frame (unmasked) `len` bytes long in all.
fn frame(len: usize) -> Vec<u8> {
    let body = len.saturating_sub(2).min(125);
    let mut f = vec![0x81, body as u8];
    f.extend(std::iter::repeat_n(b'x', body));
    f
}

/// The child: connects `n` sockets to `addr`, then drains them forever.
fn readers(addr: SocketAddr, n: usize) -> Result<(), Error> {
    raise_open_files();
    pin(last_cpu())?;
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let s = TcpStream::connect(addr)?;
        s.set_nonblocking(true)?;
        streams.push(s);
    }
    // SAFETY: plain epoll calls on fds this process owns.
    let epfd = unsafe { libc::epoll_create1(0) };
    for (i, s) in streams.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: as above.
        unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 65536];
    loop {
        // SAFETY: `events` outlives the call and holds its length.
        let ready = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), 1024, -1) };
        for ev in events.iter().take(ready.max(0) as usize) {
            let Some(mut s) = streams.get(ev.u64 as usize) else {
                continue;
            };
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
    }
}

fn last_cpu() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
}

/// Opens `n` connections: the child process connects, this one accepts.
fn open(n: usize) -> Result<(Child, Vec<TcpStream>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["--readers", &addr.to_string(), &n.to_string()])
        .stdin(Stdio::null())
        .spawn()?;
    let mut accepted = Vec::with_capacity(n);
    for _ in 0..n {
        accepted.push(listener.accept()?.0);
    }
    Ok((child, accepted))
}

fn set_nodelay(streams: &[TcpStream], on: bool) -> Result<(), Error> {
    for s in streams {
        s.set_nodelay(on)?;
    }
    Ok(())
}

/// Lets the readers empty every socket before the next round.
fn settle(n: usize) {
    std::thread::sleep(Duration::from_millis(5 + n as u64 / 500));
}

/// Blocking `write()` of the frame to every socket, `rounds` times.
fn blocking_write(streams: &[TcpStream], frame: &[u8], rounds: usize) -> Spent {
    let mut total = Spent::default();
    for _ in 0..rounds {
        total.add(Spent::measure(|| {
            for s in streams {
                // SAFETY: a write of a live buffer to an open fd.
                let _ = unsafe { libc::write(s.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
            }
        }));
        settle(streams.len());
    }
    total
}

/// Blocking `send(MSG_NOSIGNAL)`, as std's and mio's `TcpStream::write`.
fn blocking_send(streams: &[TcpStream], frame: &[u8], rounds: usize) -> Spent {
    let mut total = Spent::default();
    for _ in 0..rounds {
        total.add(Spent::measure(|| {
            for s in streams {
                // SAFETY: a send of a live buffer on an open socket.
                let _ = unsafe {
                    libc::send(
                        s.as_raw_fd(),
                        frame.as_ptr().cast(),
                        frame.len(),
                        libc::MSG_NOSIGNAL,
                    )
                };
            }
        }));
        settle(streams.len());
    }
    total
}

/// Blocking `writev()` of the frame's header and payload.
fn blocking_writev(streams: &[TcpStream], frame: &[u8], rounds: usize) -> Spent {
    let (head, body) = frame.split_at(2);
    let iov = [
        libc::iovec {
            iov_base: head.as_ptr() as *mut _,
            iov_len: head.len(),
        },
        libc::iovec {
            iov_base: body.as_ptr() as *mut _,
            iov_len: body.len(),
        },
    ];
    let mut total = Spent::default();
    for _ in 0..rounds {
        total.add(Spent::measure(|| {
            for s in streams {
                // SAFETY: iovecs over live buffers, an open fd.
                let _ = unsafe { libc::writev(s.as_raw_fd(), iov.as_ptr(), 2) };
            }
        }));
        settle(streams.len());
    }
    total
}

/// Nonblocking `write()`s with the sockets in an edge-triggered epoll set;
/// returns the CPU and how many writes met EAGAIN.
fn epoll_write(
    streams: &[TcpStream],
    frame: &[u8],
    rounds: usize,
) -> Result<(Spent, usize), Error> {
    // SAFETY: plain epoll calls on fds this process owns.
    let epfd = unsafe { libc::epoll_create1(0) };
    for (i, s) in streams.iter().enumerate() {
        s.set_nonblocking(true)?;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET | libc::EPOLLRDHUP) as u32,
            u64: i as u64,
        };
        // SAFETY: as above.
        unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut blocked = 0;
    let mut total = Spent::default();
    for _ in 0..rounds {
        total.add(Spent::measure(|| {
            // What a runtime's turn starts with.
            // SAFETY: `events` outlives the call and holds its length.
            unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), 1024, 0) };
            let mut pending = Vec::new();
            for (i, s) in streams.iter().enumerate() {
                // SAFETY: a write of a live buffer to an open fd.
                let n = unsafe { libc::write(s.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
                if n < 0 {
                    pending.push(i);
                }
            }
            blocked += pending.len();
            while !pending.is_empty() {
                // SAFETY: as above.
                unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), 1024, 10) };
                pending.retain(|&i| {
                    let fd = streams[i].as_raw_fd();
                    // SAFETY: as above.
                    unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) < 0 }
                });
            }
        }));
        settle(streams.len());
    }
    // SAFETY: closes the epoll fd made above.
    unsafe { libc::close(epfd) };
    for s in streams {
        s.set_nonblocking(false)?;
    }
    Ok((total, blocked))
}

/// A tokio task per socket, woken once per round, writing once. Takes the
/// streams (a clone would double the open files) and gives them back.
fn tokio_tasks(
    streams: Vec<TcpStream>,
    frame: &[u8],
    rounds: usize,
) -> Result<(Spent, Vec<TcpStream>), Error> {
    use std::cell::Cell;
    use tokio::io::AsyncWriteExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let frame: Rc<[u8]> = frame.into();
    let n = streams.len();
    let settle = Duration::from_millis(5 + n as u64 / 500);
    local.block_on(&rt, async {
        let stop = Rc::new(Cell::new(false));
        // Writes done this round, and a wake for the last one.
        let written = Rc::new(Cell::new(0usize));
        let all_written = Rc::new(tokio::sync::Notify::new());
        let mut wakers = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for s in streams {
            s.set_nonblocking(true)?;
            let mut stream = tokio::net::TcpStream::from_std(s)?;
            let notify = Rc::new(tokio::sync::Notify::new());
            let (frame, woken, stop) = (frame.clone(), notify.clone(), stop.clone());
            let (written, all_written) = (written.clone(), all_written.clone());
            tasks.push(tokio::task::spawn_local(async move {
                loop {
                    woken.notified().await;
                    if stop.get() || stream.write_all(&frame).await.is_err() {
                        return stream.into_std();
                    }
                    written.set(written.get() + 1);
                    if written.get() == n {
                        all_written.notify_one();
                    }
                }
            }));
            wakers.push(notify);
        }
        tokio::task::yield_now().await;
        let mut total = Spent::default();
        for _ in 0..rounds {
            written.set(0);
            let before = thread_cpu();
            for w in &wakers {
                w.notify_one();
            }
            all_written.notified().await;
            let after = thread_cpu();
            total.add(Spent {
                ns: after.0 - before.0,
                user_us: after.1 - before.1,
                sys_us: after.2 - before.2,
            });
            tokio::time::sleep(settle).await;
        }
        stop.set(true);
        for w in &wakers {
            w.notify_one();
        }
        let mut back = Vec::with_capacity(n);
        for t in tasks {
            let s = t.await??;
            s.set_nonblocking(false)?;
            back.push(s);
        }
        Ok::<_, Error>((total, back))
    })
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--readers") {
        let addr = args.get(1).ok_or("--readers ADDR N")?.parse()?;
        let n = args.get(2).ok_or("--readers ADDR N")?.parse()?;
        return readers(addr, n);
    }
    let opt = |key: &str, default: &str| -> String {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{key}=")).map(String::from))
            .unwrap_or_else(|| default.into())
    };
    let ns: Vec<usize> = opt("n", "1000,10000")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let rounds: usize = opt("rounds", "20").parse()?;
    let reps: usize = opt("reps", "3").parse()?;
    let frame = frame(opt("bytes", "30").parse()?);
    raise_open_files();
    println!(
        "send_floor: {}-byte frame, {rounds} rounds x {reps} reps, sender on CPU 0, readers on CPU {}",
        frame.len(),
        last_cpu()
    );
    println!(
        "{:>6}  {:<22} {:>9} {:>8} {:>8}  note",
        "n", "variant", "µs/write", "user %", "sys %"
    );
    for &n in &ns {
        let (mut child, mut streams) = open(n)?;
        pin(0)?;
        let variants = [
            "write",
            "write+nodelay",
            "send+nodelay",
            "writev+nodelay",
            "epoll+nodelay",
            "tokio-task+nodelay",
        ];
        // results[variant] = (µs per write of each rep, last rep's split, note)
        let mut results: Vec<(Vec<f64>, Spent, String)> = variants
            .iter()
            .map(|_| (Vec::new(), Spent::default(), String::new()))
            .collect();
        // Interleaved: each repetition runs every variant once.
        for _ in 0..reps {
            for (v, name) in variants.iter().enumerate() {
                set_nodelay(&streams, name.contains("nodelay"))?;
                let spent = match *name {
                    "write" | "write+nodelay" => blocking_write(&streams, &frame, rounds),
                    "send+nodelay" => blocking_send(&streams, &frame, rounds),
                    "writev+nodelay" => blocking_writev(&streams, &frame, rounds),
                    "epoll+nodelay" => {
                        let (spent, blocked) = epoll_write(&streams, &frame, rounds)?;
                        results[v].2 = format!("{blocked} EAGAIN");
                        spent
                    }
                    _ => {
                        let (spent, back) = tokio_tasks(streams, &frame, rounds)?;
                        streams = back;
                        spent
                    }
                };
                results[v]
                    .0
                    .push(spent.ns as f64 / 1000.0 / (n * rounds) as f64);
                results[v].1 = spent;
            }
        }
        for (name, (mut per_write, split, note)) in variants.iter().zip(results) {
            let cpu = (split.user_us + split.sys_us).max(1) as f64;
            println!(
                "{n:>6}  {name:<22} {:>9.2} {:>8.0} {:>8.0}  {note}",
                median(&mut per_write).unwrap_or(0.0),
                100.0 * split.user_us as f64 / cpu,
                100.0 * split.sys_us as f64 / cpu,
            );
        }
        drop(streams);
        let _ = child.wait();
        // Unpinned again, for the next child to inherit nothing.
        pin_any()?;
    }
    Ok(())
}

//! The event fan-out benchmark's client, run by `bench/events.py` (not part of the
//! library): raw HTTP/1.1 over TCP on one thread, so that the client costs little and
//! the same client measures the mock's streams and its plain GET baseline.
//!
//! ```text
//! bench-events ADDR latency N P      N streams; P publishes, one at a time, each timed from
//!                                    the request's first byte to its arrival on every
//!                                    stream; interleaved with P plain GETs (baseline)
//! bench-events ADDR throughput N B   N streams; B publishes back to back: deliveries per
//!                                    second; then N*B/10 plain GETs on 16 connections
//! bench-events ADDR idle-stream N PID  N idle streams: the server's RSS growth
//! bench-events ADDR idle-get N PID     N idle keep-alive connections after one GET each
//! ```
//!
//! Each prints one JSON line.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::LocalSet;

use http1::complete_message;

#[path = "http1.rs"]
mod http1;

const TOKEN: &str = "1111111111111111111111111111111111111111";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: bench-events ADDR latency|throughput|idle-stream|idle-get N [P|B|PID]");
        std::process::exit(2)
    };
    if args.len() < 5 {
        usage();
    }
    let addr = args[1].clone();
    let n: usize = args[3].parse().unwrap_or_else(|_| usage());
    let extra: u64 = args[4].parse().unwrap_or_else(|_| usage());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = LocalSet::new();
    let line = local.block_on(&runtime, async move {
        match args[2].as_str() {
            "latency" => latency(&addr, n, extra as usize).await,
            "throughput" => throughput(&addr, n, extra as usize).await,
            "idle-stream" => idle(&addr, n, extra as u32, true).await,
            "idle-get" => idle(&addr, n, extra as u32, false).await,
            _ => usage(),
        }
    });
    println!("{}", line.expect("benchmark run"));
}

/// What the streams saw: one arrival time per frame, and a wake-up for the waiter.
#[derive(Default)]
struct Arrivals {
    times: RefCell<Vec<Instant>>,
    notify: Notify,
}

/// Opens one stream of the caller's devices and reads its headers and `:ok`.
async fn open_stream(addr: &str) -> io::Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "GET /v1/devices/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !contains(&seen, b":ok") {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::other(format!(
                "stream refused: {}",
                String::from_utf8_lossy(&seen)
            )));
        }
        seen.extend_from_slice(&buf[..n]);
    }
    if !seen.starts_with(b"HTTP/1.1 200") {
        return Err(io::Error::other("stream not 200"));
    }
    Ok(tcp)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a stream forever, recording the arrival of each `event:` frame. The last bytes
/// of a read are carried over so that a marker split between two reads still counts.
async fn read_frames(mut tcp: TcpStream, arrivals: Rc<Arrivals>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = Instant::now();
        carry.extend_from_slice(&buf[..n]);
        let frames = carry.windows(7).filter(|w| w == b"event: ").count();
        if frames > 0 {
            let mut times = arrivals.times.borrow_mut();
            times.extend(std::iter::repeat_n(now, frames));
            drop(times);
            arrivals.notify.notify_one();
        }
        let keep = carry.len().min(6);
        carry.drain(..carry.len() - keep);
    }
}

/// One request on a keep-alive connection; answers the status once the body is read.
async fn request(tcp: &mut TcpStream, raw: &[u8], buf: &mut Vec<u8>) -> io::Result<u16> {
    tcp.write_all(raw).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::other("connection closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, _, _)) = complete_message(buf) {
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            return Ok(status);
        }
    }
}

fn publish_request(i: usize) -> Vec<u8> {
    let body = format!("name=bench&data={i}");
    format!(
        "POST /v1/devices/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get_request() -> Vec<u8> {
    format!("GET /v1/user HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\r\n")
        .into_bytes()
}

/// Opens `n` streams (200 at a time) and starts reading them.
async fn open_streams(addr: &str, n: usize, arrivals: &Rc<Arrivals>) -> io::Result<()> {
    let mut left = n;
    while left > 0 {
        let batch = left.min(200);
        let opened = futures_util::future::join_all((0..batch).map(|_| open_stream(addr))).await;
        for tcp in opened {
            tokio::task::spawn_local(read_frames(tcp?, arrivals.clone()));
        }
        left -= batch;
    }
    Ok(())
}

/// Waits until `want` arrivals are recorded (or 30 s passed).
async fn wait_for(arrivals: &Arrivals, want: usize) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while arrivals.times.borrow().len() < want {
        if tokio::time::timeout_at(deadline, arrivals.notify.notified())
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn latency(addr: &str, n: usize, publishes: usize) -> io::Result<String> {
    let arrivals = Rc::new(Arrivals::default());
    open_streams(addr, n, &arrivals).await?;
    let mut publisher = TcpStream::connect(addr).await?;
    publisher.set_nodelay(true)?;
    let mut getter = TcpStream::connect(addr).await?;
    getter.set_nodelay(true)?;
    let get = get_request();
    let mut buf = Vec::new();
    let (mut fanout, mut plain) = (Vec::new(), Vec::new());
    let mut missing = 0;
    for i in 0..publishes {
        arrivals.times.borrow_mut().clear();
        let raw = publish_request(i);
        let t0 = Instant::now();
        let status = request(&mut publisher, &raw, &mut buf).await?;
        if status != 200 {
            return Err(io::Error::other(format!("publish answered {status}")));
        }
        if !wait_for(&arrivals, n).await {
            missing += n - arrivals.times.borrow().len();
        }
        fanout.extend(
            arrivals
                .times
                .borrow()
                .iter()
                .map(|t| t.duration_since(t0).as_secs_f64() * 1e6),
        );
        // The baseline, interleaved: one plain GET, request to response.
        let t0 = Instant::now();
        request(&mut getter, &get, &mut buf).await?;
        plain.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    fanout.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    Ok(format!(
        "{{\"streams\":{n},\"publishes\":{publishes},\"deliveries\":{},\"missing\":{missing},\
         \"p50_us\":{:.1},\"p99_us\":{:.1},\"get_p50_us\":{:.1},\"get_p99_us\":{:.1}}}",
        fanout.len(),
        percentile(&fanout, 50.0),
        percentile(&fanout, 99.0),
        percentile(&plain, 50.0),
        percentile(&plain, 99.0)
    ))
}

async fn throughput(addr: &str, n: usize, publishes: usize) -> io::Result<String> {
    let arrivals = Rc::new(Arrivals::default());
    open_streams(addr, n, &arrivals).await?;
    let mut publisher = TcpStream::connect(addr).await?;
    publisher.set_nodelay(true)?;
    let mut buf = Vec::new();
    let t0 = Instant::now();
    for i in 0..publishes {
        let status = request(&mut publisher, &publish_request(i), &mut buf).await?;
        if status != 200 {
            return Err(io::Error::other(format!("publish answered {status}")));
        }
    }
    let complete = wait_for(&arrivals, n * publishes).await;
    let delivered = arrivals.times.borrow().len();
    let last = arrivals.times.borrow().iter().max().copied().unwrap_or(t0);
    let deliveries_per_sec = delivered as f64 / last.duration_since(t0).as_secs_f64();
    // Baseline: plain GETs per second on 16 keep-alive connections (a tenth as many
    // requests as deliveries, so that both runs last a comparable time).
    let gets = (n * publishes / 10).max(16);
    let get = Rc::new(get_request());
    let t0 = Instant::now();
    let workers = (0..16).map(|w| {
        let get = get.clone();
        let addr = addr.to_string();
        async move {
            let mut tcp = TcpStream::connect(&addr).await?;
            tcp.set_nodelay(true)?;
            let mut buf = Vec::new();
            for _ in (w..gets).step_by(16) {
                request(&mut tcp, &get, &mut buf).await?;
            }
            io::Result::Ok(())
        }
    });
    for done in futures_util::future::join_all(workers).await {
        done?;
    }
    let gets_per_sec = gets as f64 / t0.elapsed().as_secs_f64();
    Ok(format!(
        "{{\"streams\":{n},\"publishes\":{publishes},\"delivered\":{delivered},\
         \"complete\":{complete},\"deliveries_per_sec\":{deliveries_per_sec:.0},\
         \"gets\":{gets},\"gets_per_sec\":{gets_per_sec:.0}}}"
    ))
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

async fn idle(addr: &str, n: usize, pid: u32, streams: bool) -> io::Result<String> {
    let before = rss_kib(pid);
    let mut held = Vec::with_capacity(n);
    let get = get_request();
    let mut left = n;
    while left > 0 {
        let batch = left.min(200);
        let opened = futures_util::future::join_all((0..batch).map(|_| async {
            if streams {
                open_stream(addr).await
            } else {
                let mut tcp = TcpStream::connect(addr).await?;
                let mut buf = Vec::new();
                request(&mut tcp, &get, &mut buf).await?;
                Ok(tcp)
            }
        }))
        .await;
        for tcp in opened {
            held.push(tcp?);
        }
        left -= batch;
    }
    // Let the server settle (its tasks parked, buffers at rest) before reading its RSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before) as f64 * 1024.0) / n as f64;
    Ok(format!(
        "{{\"connections\":{},\"streams\":{streams},\"rss_before_kib\":{before},\
         \"rss_after_kib\":{after},\"bytes_per_connection\":{per:.0}}}",
        held.len()
    ))
}

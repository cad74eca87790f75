//! The fan-out floor, run by `bench/events.py` (not part of the library): the least a
//! server can do to deliver one event to N streams over TCP, one write per stream and
//! nothing else, so that the mock's fan-out figures stand beside what this machine's
//! kernel costs for the same sockets and bytes.
//!
//! It speaks just enough HTTP/1.1 for `bench-events`: `GET /v1/devices/events` opens a
//! chunked `text/event-stream` (headers and the `:ok` comment at once), `POST
//! /v1/devices/events` writes one chunked frame the size of the mock's to every open
//! stream (one `write` each, in the request's task) and then answers `200`, and any
//! other request gets a small `200` JSON answer. One thread, no parsing beyond the head.
//!
//! ```text
//! bench-floor ADDR
//! ```

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::LocalSet;

use http1::complete_message;

#[path = "http1.rs"]
mod http1;

/// The open streams: written to by every publish.
type Streams = Rc<RefCell<Vec<TcpStream>>>;

fn main() {
    let Some(addr) = std::env::args().nth(1) else {
        eprintln!("usage: bench-floor ADDR");
        std::process::exit(2)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = LocalSet::new();
    local
        .block_on(&runtime, serve(&addr))
        .expect("bench-floor serves");
}

async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let streams: Streams = Rc::default();
    let published = Rc::new(RefCell::new(0u64));
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        tokio::task::spawn_local(connection(tcp, streams.clone(), published.clone()));
    }
}

/// Serves one connection until it closes or becomes a stream.
async fn connection(mut tcp: TcpStream, streams: Streams, seq: Rc<RefCell<u64>>) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let (head_end, length) = loop {
            if let Some((_, end, length)) = complete_message(&buf) {
                break (end, length);
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let is = |prefix: &[u8]| buf.starts_with(prefix);
        if is(b"GET /v1/devices/events") {
            let opening = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                            Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n\
                            5\r\n:ok\n\n\r\n";
            if tcp.write_all(opening).await.is_ok() {
                streams.borrow_mut().push(tcp);
            }
            return;
        }
        if is(b"POST /v1/devices/events") {
            let n = {
                let mut seq = seq.borrow_mut();
                *seq += 1;
                *seq
            };
            let wire = frame(n);
            // One write per stream, in this task, as the mock's publish fans out: a
            // stream whose socket would block is skipped (the client reads at once).
            streams.borrow().iter().for_each(|s| {
                let _ = s.try_write(&wire);
            });
        }
        let body = b"{\"ok\":true}";
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let mut out = answer.into_bytes();
        out.extend_from_slice(body);
        if tcp.write_all(&out).await.is_err() {
            return;
        }
        buf.drain(..head_end + 4 + length);
    }
}

/// One event as the mock frames it for a stream of the caller's devices (the same
/// size), in one HTTP chunk.
fn frame(seq: u64) -> Vec<u8> {
    let event = format!(
        "event: bench\ndata: {{\"data\":\"{seq}\",\"ttl\":60,\
         \"published_at\":\"2026-12-03T12:00:00.000Z\",\"coreid\":\"api\"}}\n\n"
    );
    let mut wire = format!("{:x}\r\n", event.len()).into_bytes();
    wire.extend_from_slice(event.as_bytes());
    wire.extend_from_slice(b"\r\n");
    wire
}

//! What the fan-out benchmark's client (`bench/events.rs`) and its floor server
//! (`bench/floor.rs`) both read of an HTTP/1.1 message: its head and where it ends.

/// A whole message at the start of `buf`, once all of it has arrived: its head in lower
/// case, the index where the head ends (its blank line) and the body's length
/// (`Content-Length`, else 0).
pub fn complete_message(buf: &[u8]) -> Option<(String, usize, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (buf.len() >= end + 4 + length).then_some((head, end, length))
}

//! The JSON-lines loop of `algen label` and `algen rasp` (DESIGN §4): exactly
//! one output line per input line, in order, each flushed as soon as it is
//! written (so that answers already computed are never lost).
//!
//! A line that cannot be answered gets an error line of the one shape both
//! commands use ([`jsonl::error_line`]): a line over [`MAX_LINE_BYTES`]
//! (`algen::jsonl::line_too_long`; the rest of the line is skipped, reading
//! goes on), a line that is not UTF-8 (`algen::jsonl::not_utf8`; its
//! `"input"` is the line's text with invalid bytes as U+FFFD), an empty line
//! (`algen::jsonl::invalid_json`).

use algen::rasp::jsonl;
use serde_json::Value as Json;
use std::io::{self, BufRead, ErrorKind, Write};

/// The longest input line read (1 MiB, without its line end).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Answers every line of `input` with `answer`, writing one line each to
/// `out`. Stops quietly at the end of the input or when `out` is closed (a
/// broken pipe); other read or write errors are returned.
pub fn serve(mut input: impl BufRead, mut out: impl Write, mut answer: impl FnMut(&str) -> String) -> io::Result<()> {
    let mut buf = Vec::new();
    while let Some(len) = read_line(&mut input, &mut buf, MAX_LINE_BYTES)? {
        let reply = if len > MAX_LINE_BYTES {
            let msg = format!("the line has {len} bytes, over the limit of {MAX_LINE_BYTES} bytes per line");
            jsonl::error_line(&Json::Null, "algen::jsonl::line_too_long", &msg)
        } else {
            match std::str::from_utf8(&buf) {
                Ok(line) if line.trim().is_empty() => jsonl::error_line(
                    &Json::Null,
                    "algen::jsonl::invalid_json",
                    "an empty line (expected an object with an \"input\" field)",
                ),
                Ok(line) => answer(line),
                Err(_) => not_utf8(&buf),
            }
        };
        let written = out.write_all(reply.as_bytes()).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush());
        match written {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
            r => r?,
        }
    }
    Ok(())
}

/// The error line for a line that is not UTF-8: its `"input"` when the lossy
/// text is JSON with one, else the lossy text itself.
fn not_utf8(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let input = match serde_json::from_str::<Json>(&text) {
        Ok(Json::Object(mut o)) if o.contains_key("input") => o.remove("input").unwrap_or(Json::Null),
        _ => Json::String(text.into_owned()),
    };
    let msg = "the line is not valid UTF-8 (the input shows invalid bytes as U+FFFD)";
    jsonl::error_line(&input, "algen::jsonl::not_utf8", msg)
}

/// Reads one line into `buf` (without `\n` or `\r\n`), keeping at most `max`
/// bytes; returns the line's full length (over `max`: the line was cut), or
/// `None` at the end of the input.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break; // end of input
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], true),
            None => (chunk, false),
        };
        let room = (max + 1).saturating_sub(buf.len()); // one byte more than `max` marks a cut line
        buf.extend_from_slice(&part[..part.len().min(room)]);
        len = len.saturating_add(part.len());
        let used = part.len() + usize::from(done);
        input.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') && len <= max {
        buf.pop();
        len -= 1;
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max: usize) -> Vec<(usize, Vec<u8>)> {
        let mut r = io::BufReader::with_capacity(4, text);
        let mut buf = vec![];
        let mut out = vec![];
        while let Some(n) = read_line(&mut r, &mut buf, max).unwrap() {
            out.push((n, buf.clone()));
        }
        out
    }

    #[test]
    fn lines_are_cut_at_the_limit_and_reading_goes_on() {
        let got = lines(b"ab\r\n\n0123456789\nxyz", 5);
        assert_eq!(got, [(2, b"ab".to_vec()), (0, vec![]), (10, b"012345".to_vec()), (3, b"xyz".to_vec())]);
    }
}

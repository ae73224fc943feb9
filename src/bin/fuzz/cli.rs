//! The JSON-lines protocols end to end: runs the `algen` binary (`label` or `rasp`) on the
//! case's lines and checks exit 0 and exactly one well-formed answer line per input line.

use crate::exec::{answer_ok, Ctx, Fail};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `sh -c 'ulimit -v KB; exec "$0" "$@"' PROGRAM ARGS…`: a command under a memory bound.
pub fn bounded(program: &std::path::Path, mem_mb: u64) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", mem_mb * 1024)).arg(program);
    c
}

pub fn check(ctx: &Ctx, args: &[&str], lines: &[Vec<u8>]) -> Result<(), Fail> {
    let Some(algen) = &ctx.algen else { return Ok(()) };
    let mut child = bounded(algen, ctx.mem_mb)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ("cannot start algen".to_string(), e.to_string()))?;
    let mut input = vec![];
    for l in lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = vec![];
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut out = vec![];
        let _ = stderr.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_millis(ctx.timeout_ms);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err((format!("algen {} hangs", args[0]), format!("over {} ms", ctx.timeout_ms)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(("cannot wait for algen".to_string(), e.to_string())),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        return Err((format!("algen {} exits with {status}: {}", args[0], crate::normalize(&first)), err));
    }
    let out = String::from_utf8_lossy(&out);
    let answers: Vec<&str> = out.lines().collect();
    if answers.len() != lines.len() {
        return Err((
            format!(
                "algen {}: {} answer lines",
                args[0],
                if answers.len() < lines.len() { "missing" } else { "extra" }
            ),
            format!("{} input lines, {} answers; stderr: {}", lines.len(), answers.len(), err.trim()),
        ));
    }
    for (l, a) in lines.iter().zip(&answers) {
        answer_ok(&String::from_utf8_lossy(l), a).map_err(|(s, d)| (format!("algen {}: {s}", args[0]), d))?;
    }
    Ok(())
}

//! Progress bars for `algen run` (hidden when stderr is not a terminal or under CI).

use algen::report::results::Evaluation;
use algen::train::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    acc: Option<f64>,
}

pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

impl Bar {
    pub fn new(steps: usize, title: String) -> Bar {
        let bar = if enabled() {
            ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_prefix(title);
        Bar { bar, started: Instant::now(), acc: None }
    }
}

impl Observer for Bar {
    fn step(&mut self, step: usize, loss: f64, acc: Option<f64>) {
        if acc.is_some() {
            self.acc = acc;
        }
        if step % 5 == 0 || acc.is_some() {
            let rate = step as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            let acc = self.acc.map(|a| format!(" acc {a:.3}")).unwrap_or_default();
            self.bar.set_message(format!("loss {loss:.4}{acc} {rate:.1} steps/s"));
        }
        self.bar.set_position(step as u64);
    }
    fn evaluated(&mut self, e: &Evaluation) {
        self.bar.println(format!(
            "  step {}: train seq acc {:.3}, test seq acc {:.3}, test token acc {:.3}",
            e.step, e.train.sequence_accuracy, e.test.sequence_accuracy, e.test.token_accuracy
        ));
    }
    fn resumed(&mut self, step: usize) {
        self.say(format!("{}: continuing from its checkpoint at step {step}", self.bar.prefix()));
    }
}

impl Bar {
    /// A line above the bar, or on stderr when the bar is hidden (a log file, CI).
    fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

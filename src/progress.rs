//! Progress of `algen run` on stderr: a progress bar on a terminal; one log line per
//! evaluation when stderr is a file, a pipe or CI (step, loss, accuracies, steps/s, ETA);
//! nothing with `--quiet`.

use algen::report::results::Evaluation;
use algen::train::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

/// The mode for this process: `--quiet` wins; a terminal (outside CI) gets the bar.
pub fn mode(quiet: bool) -> Mode {
    if quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        Mode::Bar
    } else {
        Mode::Lines
    }
}

pub struct Bar {
    bar: ProgressBar,
    mode: Mode,
    title: String,
    steps: usize,
    started: Instant,
    /// The step this process started from (a resumed run starts past 0): rates and ETA
    /// count only the steps trained here.
    first_step: usize,
    last_step: usize,
    acc: Option<f64>,
}

impl Bar {
    pub fn new(steps: usize, title: String, mode: Mode) -> Bar {
        let bar = if mode == Mode::Bar {
            ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_prefix(title.clone());
        Bar { bar, mode, title, steps, started: Instant::now(), first_step: 0, last_step: 0, acc: None }
    }

    /// Steps per second trained by this process so far.
    fn rate(&self) -> f64 {
        self.last_step.saturating_sub(self.first_step) as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    /// A line above the bar, or on stderr in log mode; nothing when quiet.
    fn say(&self, line: String) {
        match self.mode {
            Mode::Bar => self.bar.println(line),
            Mode::Lines => eprintln!("{line}"),
            Mode::Quiet => {}
        }
    }
}

/// `secs` as `1h02m`, `3m05s` or `42s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The log line of one evaluation.
pub fn eval_line(title: &str, e: &Evaluation, steps: usize, rate: f64) -> String {
    let eta = if e.step >= steps || rate <= 0.0 { "0s".into() } else { duration((steps - e.step) as f64 / rate) };
    let loss = if e.train_loss.is_finite() { format!("{:.4}", e.train_loss) } else { "n/a".into() };
    // Step 0 is the untrained model: no speed or ETA to tell yet.
    let speed = if e.step == 0 { "(untrained)".to_string() } else { format!("{rate:.1} steps/s ETA {eta}") };
    format!(
        "{title}: step {}/{steps} loss {loss} train seq acc {:.3} test seq acc {:.3} test tok acc {:.3} {speed}",
        e.step, e.train.sequence_accuracy, e.test.sequence_accuracy, e.test.token_accuracy
    )
}

impl Observer for Bar {
    fn step(&mut self, step: usize, loss: f64, acc: Option<f64>) {
        self.last_step = step;
        if self.mode != Mode::Bar {
            return;
        }
        if acc.is_some() {
            self.acc = acc;
        }
        if step % 5 == 0 || acc.is_some() {
            let acc = self.acc.map(|a| format!(" acc {a:.3}")).unwrap_or_default();
            self.bar.set_message(format!("loss {loss:.4}{acc} {:.1} steps/s", self.rate()));
        }
        self.bar.set_position(step as u64);
    }
    fn evaluated(&mut self, e: &Evaluation) {
        let line = match self.mode {
            Mode::Bar => format!(
                "  step {}: train seq acc {:.3}, test seq acc {:.3}, test token acc {:.3}",
                e.step, e.train.sequence_accuracy, e.test.sequence_accuracy, e.test.token_accuracy
            ),
            _ => eval_line(&self.title, e, self.steps, self.rate()),
        };
        self.say(line);
    }
    fn resumed(&mut self, step: usize) {
        self.first_step = step;
        self.last_step = step;
        self.bar.set_position(step as u64);
        self.say(format!("{}: continuing from its checkpoint at step {step}", self.title));
    }
    fn note(&mut self, line: &str) {
        self.say(format!("{}: {line}", self.title));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(3720.0), "1h02m");
        assert_eq!(duration(f64::NAN), "?");
    }
}

//! Tiny training runs of experiments checked from spec text, and the check that two runs
//! with one seed agree bit for bit while the loss falls (DESIGN §5).

use algen::model::Kernels;
use algen::train::{self, Observer, RunSpec};
use algen::{check, syntax};

/// Every step's training loss.
#[derive(Default)]
pub struct Losses(pub Vec<f64>);
impl Observer for Losses {
    fn step(&mut self, _: usize, loss: f64, _: Option<f64>) {
        self.0.push(loss);
    }
}

/// Trains the first variant of experiment `exp` of `text` (optionally for `steps` steps) with
/// `seed`; returns the losses and the run's results as JSON, timings zeroed.
pub fn train_spec(text: &str, exp: &str, seed: u64, kernels: Kernels, steps: Option<usize>) -> (Vec<f64>, String) {
    let l = syntax::load::load_str("test.alg", text);
    assert!(l.diags.is_empty());
    let spec = check::check(&l.files).spec.expect("spec checks");
    let e = spec.experiment(exp).unwrap();
    let mut variant = e.variants[0].clone();
    variant.train.steps = steps.unwrap_or(variant.train.steps);
    let rs = RunSpec {
        task: spec.task(&e.task).unwrap(),
        split: spec.split(&e.split).unwrap(),
        variant: &variant,
        eval: &e.eval,
        seed,
        kernels,
    };
    let mut obs = Losses::default();
    let mut r = train::run(&rs, &mut obs).expect("run");
    r.timing = Default::default();
    (obs.0, serde_json::to_string(&r).unwrap())
}

/// For each experiment: two runs give bit-identical losses and results, and the mean loss of
/// the last 5 steps is below 0.8× that of the first 5.
pub fn assert_deterministic_and_learns(exps: &[&str], run: impl Fn(&str) -> (Vec<f64>, String)) {
    for exp in exps {
        let (a, ra) = run(exp);
        let (b, rb) = run(exp);
        assert_eq!(a, b, "{exp}: losses differ between identical runs");
        assert_eq!(ra, rb, "{exp}: results differ between identical runs");
        let first: f64 = a[..5].iter().sum::<f64>() / 5.0;
        let last: f64 = a[a.len() - 5..].iter().sum::<f64>() / 5.0;
        assert!(last < 0.8 * first, "{exp}: loss did not fall: {first} -> {last}");
    }
}

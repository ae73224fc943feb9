//! The plan of a spec: every run (variant × seed of each experiment) in plan order, with its
//! stable id ([`crate::runs`]), size and cost.
//!
//! **Plan order** is the order `algen run` trains in: experiments as the spec lists them
//! (or the one `-e` names), each experiment's variants in sweep order, each variant's seeds
//! in order. `--shard K/N` takes the runs at positions i (from 0) with i mod N = K − 1;
//! `--only` takes runs by id.
//!
//! `algen run` stores the plan of each experiment it touches as `OUT/<experiment>/plan.json`
//! ([`ExperimentPlan`]), so that `algen report OUT` and `algen status OUT` know which runs are
//! missing without the spec.

use crate::ir::{self, Expect, ScoreReduce, Spec};
use crate::model::{self, ModelIo};
use crate::report::results::{Chance, UniverseInfo};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One planned run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    pub experiment: String,
    pub variant: String,
    pub seed: u64,
    pub id: String,
    pub params: usize,
    /// At the variant's batch size and the longest training length.
    pub flops_per_step: u64,
    pub steps: usize,
}

/// What `OUT/<experiment>/plan.json` holds: the experiment's header (what `results.json`
/// says besides its runs) and its planned runs in plan order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentPlan {
    pub experiment: String,
    pub task: String,
    pub split: String,
    pub train_lengths: Vec<usize>,
    pub test_lengths: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<UniverseInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce: Option<ScoreReduce>,
    /// `eval { grok_threshold }` (absent: the report's default, 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grok_threshold: Option<f64>,
    /// The experiment's `note`, for the top of the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The chance level of the task's accuracies (absent in plans of an older algen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance: Option<Chance>,
    /// The experiment's `expect` lines, checked again at every merge.
    pub expects: Vec<Expect>,
    pub runs: Vec<PlannedRun>,
}

/// The parameter count and FLOPs per training step of `variant` (as `algen compile` says).
pub fn cost(task: &ir::Task, split: &ir::Split, variant: &ir::Variant) -> (usize, u64) {
    let v = crate::task::vocab(task);
    let io = ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
    let longest = split.train.lengths().iter().max().copied().unwrap_or(1);
    let seq = crate::train::seq_len(task, &v, longest);
    let arch = &variant.model.arch;
    (model::param_count(arch, io), model::flops_per_step(arch, io, variant.train.batch, seq))
}

/// What uniform guessing over the task's outputs scores ([`Chance`]).
pub fn chance(task: &ir::Task) -> Chance {
    let one_output = matches!(task.format, ir::Format::Classify | ir::Format::Universe);
    Chance { outputs: task.outputs.len(), one_output }
}

/// `variant` with `--steps` applied.
pub fn with_steps(variant: &ir::Variant, steps: Option<usize>) -> ir::Variant {
    let mut v = variant.clone();
    if let Some(s) = steps {
        v.train.steps = s;
    }
    v
}

/// The runs of one experiment in plan order (`steps` overrides every variant's step count,
/// as `--steps` does, and so enters the ids).
pub fn experiment_runs(spec: &Spec, exp: &ir::Experiment, steps: Option<usize>) -> Vec<PlannedRun> {
    let (Some(task), Some(split)) = (spec.task(&exp.task), spec.split(&exp.split)) else { return vec![] };
    let mut out = vec![];
    for variant in &exp.variants {
        let variant = with_steps(variant, steps);
        let (params, flops_per_step) = cost(task, split, &variant);
        for &seed in &variant.train.seeds {
            out.push(PlannedRun {
                experiment: exp.name.clone(),
                variant: variant.label.clone(),
                seed,
                id: crate::runs::run_id(task, split, &variant, &exp.eval, seed),
                params,
                flops_per_step,
                steps: variant.train.steps,
            });
        }
    }
    out
}

/// The runs of `exps` in plan order.
pub fn plan(spec: &Spec, exps: &[&ir::Experiment], steps: Option<usize>) -> Vec<PlannedRun> {
    exps.iter().flat_map(|e| experiment_runs(spec, e, steps)).collect()
}

/// `K/N` of `--shard`: 1 ≤ K ≤ N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write K/N with 1 ≤ K ≤ N (e.g. `--shard 1/4`)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

/// The ids of the runs of `plan` that `shard` and `only` select (all when both are absent),
/// or the ids of `only` that the plan lacks.
pub fn select(
    plan: &[PlannedRun],
    shard: Option<Shard>,
    only: Option<&[String]>,
) -> Result<HashSet<String>, Vec<String>> {
    if let Some(only) = only {
        let unknown: Vec<String> = only.iter().filter(|id| !plan.iter().any(|r| &r.id == *id)).cloned().collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
    }
    let in_shard = |i: usize| shard.is_none_or(|s| i % s.n == s.k - 1);
    let in_only = |id: &str| only.is_none_or(|o| o.iter().any(|x| x == id));
    Ok(plan.iter().enumerate().filter(|(i, r)| in_shard(*i) && in_only(&r.id)).map(|(_, r)| r.id.clone()).collect())
}

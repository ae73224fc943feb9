//! Training traces (`algen run --trace DIR`, `src/train/trace.rs`): what the PyTorch parity
//! harness (`benches/parity/`) replays. A traced run writes its initial parameters, every
//! batch and its losses, and reaches exactly the numbers of an untraced run.

mod common;

use algen::ir::Spec;
use algen::model::{self, ModelIo};
use algen::train::{self, trace, Batches, RunSpec};
use algen::{check, syntax, task};
use candle_core::{safetensors, Device, Tensor};
use common::spec_run::Losses;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Mixed lengths, so batches are padded (`pad_S` is written).
const SPEC: &str = r#"
task reverse { alphabet = "abc", input = string(alphabet), target = reverse(input), format = transduce }
split tiny { train = len 2..=5, test = len 6..=6, count = 4 }
model m = transformer { kind = encoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = rope }
experiment r {
  task = reverse, model = m, split = tiny
  train { steps = 6, batch = 4, optimizer = adamw(lr = 1e-2, weight_decay = 0.1),
          schedule = warmup_cosine(warmup = 2), mixed_lengths = true }
}
"#;

fn spec() -> Spec {
    let l = syntax::load::load_str("trace.alg", SPEC);
    assert!(l.diags.is_empty(), "parse errors");
    check::check(&l.files).spec.expect("spec checks")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-trace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Trains experiment `r` with seed 3, traced into `dir` when given: (losses, result JSON
/// without timings).
fn train(s: &Spec, dir: Option<&Path>) -> (Vec<f64>, String) {
    let e = s.experiment("r").unwrap();
    let rs = RunSpec {
        task: s.task(&e.task).unwrap(),
        split: s.split(&e.split).unwrap(),
        variant: &e.variants[0],
        eval: &e.eval,
        seed: 3,
        kernels: Default::default(),
    };
    let mut obs = Losses::default();
    let mut r = train::run_with(&rs, &mut obs, None, dir).expect("run");
    r.timing = Default::default();
    (obs.0, serde_json::to_string(&r).unwrap())
}

fn load(path: &Path) -> HashMap<String, Tensor> {
    safetensors::load(path, &Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_dtype(candle_core::DType::F64).unwrap().to_vec1().unwrap()
}

#[test]
fn a_traced_run_writes_its_parameters_batches_and_losses_and_changes_nothing() {
    let s = spec();
    let dir = temp("files");
    let (losses, result) = train(&s, Some(&dir));
    let (plain_losses, plain_result) = train(&s, None);
    assert_eq!(losses, plain_losses, "tracing changed the losses");
    assert_eq!(result, plain_result, "tracing changed the results");

    let runs: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "one folder per run: {runs:?}");
    let run = &runs[0];
    let id = serde_json::from_str::<serde_json::Value>(&result).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(run.file_name().unwrap().to_string_lossy(), id, "the folder is named by the run id");

    // init.safetensors: exactly the model's parameters, by name and shape, before step 1.
    let e = s.experiment("r").unwrap();
    let t = s.task(&e.task).unwrap();
    let vocab = task::vocab(t);
    let io = ModelIo { vocab_in: vocab.input.len(), vocab_out: vocab.output.len() };
    let (_, params) = model::build(&e.variants[0].model.arch, io, 3).unwrap();
    let init = load(&run.join(trace::INIT));
    let mut names: Vec<_> = init.keys().cloned().collect();
    names.sort();
    let mut expected: Vec<_> = params.list().into_iter().map(|(n, _)| n).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, var) in params.named() {
        assert_eq!(init[name].dims(), var.dims(), "{name}");
        assert_eq!(values(&init[name]), values(var.as_tensor()), "{name} is not the initial value");
    }

    // batches.safetensors: 6 steps of tokens, targets and mask, and `pad_S` exactly for the
    // padded batches; the first batch is what a fresh stream of the same run draws.
    let batches = load(&run.join(trace::BATCHES));
    let mut padded = 0;
    for step in 1..=6 {
        for what in ["tokens", "targets", "mask"] {
            assert!(batches.contains_key(&format!("{what}_{step}")), "{what}_{step} missing");
        }
        if let Some(p) = batches.get(&format!("pad_{step}")) {
            assert!(values(p).contains(&0.0), "pad_{step} is written for a batch without padding");
            padded += 1;
        }
    }
    assert!(padded > 0, "mixed lengths pad some batch");
    assert_eq!(batches.len(), 6 * 3 + padded, "{:?}", batches.keys());
    let lengths = s.split(&e.split).unwrap().train.lengths();
    let first = Batches::new(t, &vocab, lengths, 3, true).next(4).unwrap();
    assert_eq!(batches["tokens_1"].dims(), [first.b, first.t]);
    assert_eq!(batches["tokens_1"].flatten_all().unwrap().to_vec1::<u32>().unwrap(), first.tokens);
    assert_eq!(batches["targets_1"].flatten_all().unwrap().to_vec1::<u32>().unwrap(), first.targets);
    assert_eq!(batches["mask_1"].flatten_all().unwrap().to_vec1::<f32>().unwrap(), first.loss_mask);
    assert_eq!(batches.contains_key("pad_1"), first.pad.contains(&0.0));

    // trace.json: the losses the run reported, the schedule's multipliers, the parameters.
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join(trace::TRACE)).unwrap()).unwrap();
    let traced: Vec<f64> = j["loss"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(traced, losses, "the traced losses are the reported ones");
    let scales: Vec<f64> = j["lr_scale"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(scales.len(), 6);
    assert_eq!(&scales[..2], &[0.5, 1.0], "warm-up over 2 steps");
    assert_eq!(j["steps"], 6);
    assert_eq!(j["id"], id.as_str());
    assert_eq!(j["variant"]["train"]["optimizer"]["kind"], "adam_w");
    let listed: Vec<(String, Vec<usize>)> = serde_json::from_value(j["params"].clone()).unwrap();
    assert_eq!(listed, params.list(), "parameters in creation (optimizer) order");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn algen_run_trace_writes_a_folder_per_run_and_refuses_resume() {
    let dir = temp("cli");
    let spec = dir.join("t.alg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&spec, SPEC).unwrap();
    let (out, traced) = (dir.join("out"), dir.join("trace"));
    let args =
        ["run", spec.to_str().unwrap(), "-q", "--out", out.to_str().unwrap(), "--trace", traced.to_str().unwrap()];
    let o = common::cli::algen_with_stdin(&args, "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs: Vec<PathBuf> = std::fs::read_dir(&traced).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1);
    for f in [trace::INIT, trace::BATCHES, trace::TRACE] {
        assert!(runs[0].join(f).is_file(), "{f} missing");
    }
    let run_folder = out.join("r").join("runs").join(runs[0].file_name().unwrap());
    assert!(run_folder.is_dir(), "the trace folder is named by the run's id ({})", run_folder.display());
    let mut resume = args.to_vec();
    resume.push("--resume");
    let o = common::cli::algen_with_stdin(&resume, "");
    assert_eq!(o.status.code(), Some(2), "--trace with --resume is a usage error");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The parity harness's spec (`benches/parity/parity.alg`, run by `benches/parity/run.sh`
/// outside `cargo test`) checks cleanly and asks only for what `parity.py` replays: no
/// dropout, and 18 distinct runs of 50 steps (two of them with Grokfast's gradient filters,
/// which `parity.py` replays).
#[test]
fn the_parity_spec_checks_and_stays_replayable() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/parity/parity.alg");
    let Ok(loaded) = algen::pipeline::load(&path) else { panic!("{} does not load and check", path.display()) };
    assert!(loaded.warnings.is_empty(), "parity.alg has warnings");
    let s = loaded.spec;
    let mut ids = std::collections::HashSet::new();
    for e in &s.experiments {
        for r in algen::plan::experiment_runs(&s, e, None) {
            ids.insert(r.id);
        }
        for v in &e.variants {
            assert_eq!(v.train.steps, 50, "{} {}", e.name, v.label);
            if let algen::ir::Arch::Transformer(c) = &v.model.arch {
                assert_eq!(c.dropout, 0.0, "{} {}: parity.py cannot replay dropout", e.name, v.label);
            }
        }
    }
    assert_eq!(ids.len(), 18, "docs/parity.md's table lists 18 runs");
}

//! `model m = rasp_compiled { }` (issue 21): a model initialised from the weights that the
//! RASP compiler makes of the task's target. Oracles: the compiler's own verification (the
//! weights agree with the interpreter on every input up to the compiled length, so step 0 must
//! score exactly 1.0 there), and finite differences for the gradients.

mod common;

use algen::model::{self, Net};
use candle_core::{DType, Device, Tensor, Var};

fn checked(text: &str) -> algen::ir::Spec {
    let l = algen::syntax::load::load_str("t.alg", text);
    let c = algen::check::check(&l.files);
    let msgs: Vec<String> = c.diags.iter().filter(|d| !d.warning).map(|d| d.message.clone()).collect();
    assert!(msgs.is_empty(), "{msgs:?}");
    c.spec.expect("checks")
}

/// The shipped spec: accuracy 1.0 (token and sequence) at every training length at step 0,
/// i.e. on every length ≤ the compiled max_len, before any update.
#[test]
fn step_zero_is_exact_on_every_compiled_length() {
    let spec = checked(&std::fs::read_to_string("specs/rasp_compiled.alg").expect("spec"));
    let exp = &spec.experiments[0];
    let mut variant = exp.variants[0].clone();
    variant.train.steps = 2;
    let algen::ir::Arch::RaspCompiled(cfg) = &variant.model.arch else { panic!("a compiled model") };
    assert_eq!(cfg.max_len, 5);
    let run = algen::train::RunSpec {
        task: &spec.tasks[0],
        split: &spec.splits[0],
        variant: &variant,
        eval: &exp.eval,
        seed: 0,
        kernels: Default::default(),
    };
    let r = algen::train::run(&run, &mut algen::train::Quiet).expect("runs");
    let step0 = &r.periodic[0];
    assert_eq!(step0.step, 0);
    let lens: Vec<usize> = step0.train_by_length.iter().map(|l| l.len).collect();
    assert_eq!(lens, vec![1, 2, 3, 4, 5]);
    for l in &step0.train_by_length {
        assert_eq!((l.scores.token_accuracy, l.scores.sequence_accuracy), (1.0, 1.0), "length {}", l.len);
    }
}

const SMALL: &str = r#"
rasp hist {
  def _with_bos_selector_width(s) {
    s = s or select(indices,0,==);
    return round((1/aggregate(s,indicator(indices==0))))-1;
  }
  hist_bos = _with_bos_selector_width( select(tokens_str,tokens_str,==));
}
task h { alphabet = "ab", input = string(alphabet), target = rasp hist.hist_bos, bos = "§", format = tag, outputs = [1, 2, 3, 4] }
split s { train = len 1..=2, test = len 3..=4 }
model m = rasp_compiled {}
experiment e { task = h, model = m, split = s, train { steps = 1 } }
"#;

fn small_net(dtype: DType) -> (algen::ir::Spec, Net, model::Params) {
    let spec = checked(SMALL);
    let task = &spec.tasks[0];
    let v = algen::task::vocab(task);
    let arch = spec.experiments[0].variants[0].model.arch.clone();
    let (net, params) = model::build_task(&arch, task, &v.input, &v.output, 0, dtype).expect("builds");
    let io = model::ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
    assert_eq!(params.count(), model::param_count(&arch, io), "param_count formula");
    (spec, net, params)
}

/// The candle model computes the compiled program: on every input of length ≤ 2 the argmax
/// at each input position is the interpreter's label (ids through `task::vocab`), also past
/// the compiled positions' rows nothing breaks (length 4 runs).
#[test]
fn forward_matches_the_interpreter() {
    let (spec, net, _) = small_net(DType::F32);
    let task = &spec.tasks[0];
    let v = algen::task::vocab(task);
    let labeler = algen::task::Labeler::new(task);
    let bos = v.input.iter().position(|t| t == "§").expect("bos") as u32;
    for input in [vec![0u32], vec![1], vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]] {
        let mut ids = vec![bos];
        ids.extend(&input);
        let t = Tensor::from_vec(ids.clone(), (1, ids.len()), &Device::Cpu).unwrap();
        let logits = net.forward(&t, None, None).unwrap(); // (1, T, O)
        let got: Vec<u32> = logits.argmax(2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(&got[1..], labeler.label(&input).unwrap().as_slice(), "{input:?}");
    }
    let t = Tensor::from_vec(vec![bos, 0, 1, 0, 0], (1, 5), &Device::Cpu).unwrap();
    assert_eq!(net.forward(&t, None, None).unwrap().dims(), &[1, 5, 4]);
}

/// Gradients of a masked cross-entropy through the whole model (embeddings, sink, positions,
/// attention, MLP, unembedding) against central differences in f64, with padding. Every
/// weight becomes 0.1 × its compiled value + U(−0.5, 0.5) first: the compiled weights
/// saturate the attention (scores of 60: gradients below 1e-12) and put ReLU units exactly at
/// their kink (where finite differences do not apply).
#[test]
fn gradients_match_finite_differences() {
    let (_, net, params) = small_net(DType::F64);
    let mut rng = 1u64;
    for (_, var) in params.named() {
        let x: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let x: Vec<f64> = x
            .iter()
            .map(|v| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v * 0.1 + ((rng >> 33) as f64 / (1u64 << 31) as f64 - 0.5)
            })
            .collect();
        var.set(&Tensor::from_vec(x, var.dims(), &Device::Cpu).unwrap()).unwrap();
    }
    let tokens = Tensor::from_vec(vec![3u32, 0, 1, 3, 1, 0], (2, 3), &Device::Cpu).unwrap();
    let pad = Tensor::from_vec(vec![1f64, 1.0, 1.0, 1.0, 1.0, 0.0], (2, 3), &Device::Cpu).unwrap();
    let targets = Tensor::from_vec(vec![0u32, 1, 0, 0, 2, 0], (2, 3), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(vec![0f64, 1.0, 1.0, 0.0, 1.0, 0.0], (2, 3), &Device::Cpu).unwrap();
    let loss = || {
        let logits = net.forward(&tokens, Some(&pad), None)?;
        model::cross_entropy_masked_ref(&logits, &targets, &mask)
    };
    let vars: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
    common::grad_check(&vars, &loss, 6);
}

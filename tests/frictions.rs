//! Issue 19's smaller frictions, checked through the library: a `step` that skips the end
//! of a length range warns and names the lengths used, `every = 0` warns, and the
//! `learned(max_len)` help suggests a size that then checks.

use algen::diag::Diag;

/// Every diagnostic of `text` (parse, check and the data-stage validation).
fn diags(text: &str) -> Vec<Diag> {
    let l = algen::syntax::load::load_str("t.alg", text);
    let mut d = l.diags;
    let c = algen::check::check(&l.files);
    d.extend(c.diags);
    if let Some(s) = &c.spec {
        d.extend(algen::pipeline::validate(s));
    }
    d
}

const TASK: &str =
    "task rev { alphabet = \"01\", input = string(alphabet), target = reverse(input), format = transduce }\n";

fn spec(split: &str, position: &str, eval: &str) -> String {
    format!(
        "{TASK}split s {{ {split} }}\n\
         model m = transformer {{ layers = 1, d_model = 16, heads = 2, ffn = 32, position = {position} }}\n\
         experiment e {{ task = rev, model = m, split = s, train {{ steps = 10 }}{eval} }}\n"
    )
}

#[test]
fn a_step_that_skips_the_end_warns_with_the_lengths_used() {
    let d = diags(&spec("train = len 1..=8, test = len 13..=30 step 3", "none", ""));
    assert_eq!(d.len(), 1, "{:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>());
    assert!(d[0].warning && d[0].code == "algen::check::step_end");
    assert!(d[0].message.contains("13, 16, 19, 22, 25, 28") && d[0].message.contains("30"), "{}", d[0].message);
    for ok in ["test = len 13..=28 step 3", "test = len 13..=31 step 3", "test = len 13..=30"] {
        assert!(diags(&spec(&format!("train = len 1..=8, {ok}"), "none", "")).is_empty(), "{ok}");
    }
}

#[test]
fn eval_every_zero_warns_with_a_help_line() {
    let d = diags(&spec("train = len 1..=8, test = len 9..=12", "none", ", eval { every = 0 }"));
    assert_eq!(d.len(), 1);
    assert!(d[0].warning && d[0].code == "algen::check::eval_off", "{}", d[0].code);
    assert!(d[0].help.as_deref().unwrap_or("").contains("every = N"));
}

#[test]
fn the_suggested_learned_table_size_checks() {
    let split = "train = len 1..=8, test = len 9..=40";
    let d = diags(&spec(split, "learned(max_len = 48)", ""));
    assert_eq!(d.len(), 1, "{:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>());
    assert_eq!(d[0].code, "algen::check::position_len");
    let help = d[0].help.clone().unwrap_or_default();
    let n: usize = help
        .split("learned(max_len = ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a size in the help: {help}"));
    assert!(diags(&spec(split, &format!("learned(max_len = {n})"), "")).is_empty(), "max_len = {n} checks");
    let smaller = diags(&spec(split, &format!("learned(max_len = {})", n / 2), ""));
    assert_eq!(smaller.len(), 1, "half the suggestion is too small (the help is not wasteful)");
}

/// A universe split whose train part is empty (the checker rejects one; here the IR is
/// changed after checking, as a library user could) fails with an error naming the split and
/// the part, not with a tensor-shape error inside the model.
#[test]
fn an_empty_universe_train_part_is_a_clear_run_error() {
    let text = "task add { input = (a: 0..3, b: 0..3), target = (a + b) % 3, format = [a, \"+\", b, \"=\"] }\n\
                split half { train = fraction 0.5, test = rest }\n\
                model m = transformer { kind = decoder, layers = 1, d_model = 16, heads = 2, ffn = 32 }\n\
                experiment e { task = add, model = m, split = half, train { steps = 2 } }\n";
    let l = algen::syntax::load::load_str("t.alg", text);
    let mut spec = algen::check::check(&l.files).spec.expect("checks");
    spec.splits[0].train.select = algen::ir::Selector::Fraction { fraction: 0.0, corrupt: 0.0 };
    let exp = &spec.experiments[0];
    let run = algen::train::RunSpec {
        task: &spec.tasks[0],
        split: &spec.splits[0],
        variant: &exp.variants[0],
        eval: &exp.eval,
        seed: 0,
        kernels: Default::default(),
    };
    let Err(e) = algen::train::run(&run, &mut algen::train::Quiet) else { panic!("an empty train part must fail") };
    let err = e.to_string();
    assert!(err.contains("train part of split `half` is empty"), "{err}");
    assert!(!err.contains("tensor"), "{err}");
}

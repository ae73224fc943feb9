//! `Evaluator::eval_batch` gives, for every input, exactly what `Evaluator::eval`
//! gives for it alone: the same atoms (floats bit for bit, ints as ints) or the
//! same error message. Oracle: `eval` itself, whose results the corpus tests
//! check against the original interpreter. The inputs are seeded random token
//! lists over each program's kind of alphabet, of lengths that cross a selector
//! word (64), mixing kinds (strings, ints, floats, booleans) so that some inputs
//! fail and some batches hold kinds that no single input holds.

use algen::rasp::{self, Evaluator, Val};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;

/// An atom as text that tells kinds apart and floats by their bits.
fn exact(ev: &Evaluator, v: &Val) -> String {
    match *v {
        Val::Float(f) => format!("f{:x}", f.to_bits()),
        Val::Int(i) => format!("i{i}"),
        Val::Bool(b) => format!("b{b}"),
        Val::Str(s) => format!("s{}", ev.strings.string(s)),
    }
}

fn one(ev: &Evaluator, r: Result<&[Val], String>) -> Result<Vec<String>, String> {
    r.map(|vals| vals.iter().map(|v| exact(ev, v)).collect())
}

/// A random input of `n` tokens: characters of `alphabet`, or (with `mixed`) any kinds.
fn input(ev: &mut Evaluator, rng: &mut impl Rng, n: usize, alphabet: &[&str], mixed: bool) -> Vec<Val> {
    (0..n)
        .map(|_| match rng.gen_range(0..if mixed { 8 } else { 4 }) {
            4 => Val::Int(rng.gen_range(-3..5)),
            5 => Val::Float(rng.gen_range(-4..4) as f64 * 0.5),
            6 => Val::Bool(rng.gen()),
            7 => Val::Int(1 << 60),
            _ => Val::Str(ev.strings.intern(alphabet[rng.gen_range(0..alphabet.len())])),
        })
        .collect()
}

fn check_program(path: &Path, rng: &mut impl Rng, mismatches: &mut Vec<String>) -> usize {
    let text: Arc<str> = std::fs::read_to_string(path).unwrap().into();
    let Ok(program) = rasp::compile(0, &text, 0, text.clone()) else { return 0 };
    let alphabets: [&[&str]; 4] =
        [&["a", "b", "c"], &["(", ")", "{", "}"], &["§", "a", "1", "2", "+"], &["e", "o", "x", "long_token"]];
    let mut checked = 0;
    for sop in program.sops() {
        let mut ev = program.evaluator(sop, None).unwrap();
        for round in 0..12 {
            let alphabet = alphabets[round % alphabets.len()];
            let mixed = round % 3 == 2;
            // Runs of one length (batched together) and a few other lengths between them.
            let lengths: Vec<usize> = (0..40)
                .map(|k| if k % 9 == 8 { rng.gen_range(0..5) } else { [1, 7, 40, 63, 64, 65, 100][round % 7] })
                .collect();
            let inputs: Vec<Vec<Val>> = lengths.iter().map(|&n| input(&mut ev, rng, n, alphabet, mixed)).collect();
            let singles: Vec<_> = inputs
                .iter()
                .map(|x| {
                    let r = ev.eval(x).map(|v| v.to_vec()).map_err(|e| e.message);
                    one(&ev, r.as_deref().map_err(|e| e.clone()))
                })
                .collect();
            let batch: Vec<_> = {
                let b = ev.eval_batch(&inputs);
                b.iter().map(|r| r.map(|v| v.to_vec()).map_err(|e| e.message.clone())).collect()
            };
            assert_eq!(batch.len(), inputs.len());
            for (k, (s, b)) in singles.iter().zip(&batch).enumerate() {
                let b = one(&ev, b.as_deref().map_err(|e| e.clone()));
                if *s != b {
                    mismatches
                        .push(format!("{} {sop} round {round} input {k}: alone {s:?}, batched {b:?}", path.display()));
                }
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn batches_give_what_single_inputs_give() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let (mut mismatches, mut checked) = (vec![], 0);
    for dir in ["rasp", "rasplib"] {
        let mut files: Vec<_> =
            std::fs::read_dir(root.join(dir)).unwrap().filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rasp")) {
            checked += check_program(f, &mut rng, &mut mismatches);
        }
    }
    assert!(checked > 10_000, "only {checked} inputs checked");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}

/// Edge cases of the batch API: no inputs, empty inputs and inputs over the length limit
/// among good ones (each gets its own error), and an error in one input of a run of equal
/// lengths (the others still get their values).
#[test]
fn batch_errors_stay_with_their_inputs() {
    let text: Arc<str> = "x = 6 / tokens_int;".into();
    let p = rasp::compile(0, &text, 0, text.clone()).unwrap();
    let mut ev = p.evaluator("x", None).unwrap();
    assert!(ev.eval_batch::<Vec<Val>>(&[]).is_empty());
    let inputs = vec![
        vec![Val::Int(3), Val::Int(2)],
        vec![],
        vec![Val::Int(1), Val::Int(0)],
        vec![Val::Int(6), Val::Int(-3)],
        vec![Val::Int(1); rasp::MAX_INPUT_TOKENS + 1],
    ];
    let b = ev.eval_batch(&inputs);
    assert_eq!(b.len(), 5);
    assert_eq!(b.get(0).unwrap().unwrap(), [Val::Float(2.0), Val::Float(3.0)]);
    assert!(b.get(1).unwrap().unwrap_err().message.contains("empty"));
    assert!(b.get(2).unwrap().unwrap_err().message.contains("division by zero"));
    assert_eq!(b.get(3).unwrap().unwrap(), [Val::Float(1.0), Val::Float(-2.0)]);
    assert!(b.get(4).unwrap().unwrap_err().message.contains("limit"));
    assert!(b.get(5).is_none());
}

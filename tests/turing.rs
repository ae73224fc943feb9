//! Turing machines (issue 5): runs against hand traces and integer arithmetic, scratchpads
//! parsed back and replayed against the machine's own rule table, per-input run errors,
//! the `lm` layout with a scratchpad, and the `label`/`sample` commands.

use algen::ir::{Machine, Output, Spec, Style, Task};
use algen::task::{self, vocab::SEP};
use algen::turing::{self, scratch, Exec};
mod common;

const LIB: &str = "specs/lib/turing.alg";

fn lib() -> Spec {
    match algen::pipeline::load(std::path::Path::new(LIB)) {
        Ok(l) => l.spec,
        Err(_) => panic!("{LIB} does not check"),
    }
}

fn machine<'s>(s: &'s Spec, name: &str) -> &'s Machine {
    s.machines.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no machine {name}"))
}

fn task<'s>(s: &'s Spec, name: &str) -> &'s Task {
    s.task(name).unwrap_or_else(|| panic!("no task {name}"))
}

fn syms(m: &Machine, text: &str) -> Vec<u32> {
    turing::ids(m, &text.chars().map(String::from).collect::<Vec<_>>()).expect("known symbols")
}

fn names(m: &Machine, ids: &[u32]) -> String {
    ids.iter().map(|&i| m.symbols[i as usize].as_str()).collect()
}

/// Binary increment of 1011, step by step. Oracle: a hand trace of the rules in
/// specs/lib/turing.alg — `right` walks to the blank after the number (4 steps), turns back
/// (step 5), `carry` turns the two trailing 1s into 0s (steps 6, 7) and the 0 into 1 (step 8):
/// 1011 + 1 = 1100 (11 + 1 = 12).
#[test]
fn binary_increment_of_1011_follows_the_hand_trace() {
    let s = lib();
    let m = machine(&s, "binary_increment");
    let want = [
        ("right", "1011", 0),
        ("right", "1011", 1),
        ("right", "1011", 2),
        ("right", "1011", 3),
        ("right", "1011_", 4),
        ("carry", "1011_", 3),
        ("carry", "1010_", 2),
        ("carry", "1000_", 1),
        ("done", "1100_", 0),
    ];
    let mut e = Exec::new(m, &syms(m, "1011"));
    for (step, (state, tape, head)) in want.iter().enumerate() {
        let (cells, h) = e.window();
        assert_eq!(
            (m.states[e.state as usize].as_str(), names(m, cells).as_str(), h),
            (*state, *tape, *head),
            "step {step}"
        );
        if step + 1 < want.len() {
            e.step().expect("a rule applies");
        }
    }
    assert!(e.halted());
    assert_eq!(names(m, &e.output().expect("output")), "1100");
    assert_eq!(e.steps, 8);
}

fn decimal(x: u64) -> String {
    x.to_string()
}

/// A small deterministic generator (splitmix64) for test operands.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// decimal_addition computes a + b. Oracle: integer addition; all a, b < 150 plus 300 random
/// pairs of up to 18 digits (unequal lengths included).
#[test]
fn decimal_addition_adds() {
    let s = lib();
    let m = machine(&s, "add");
    let mut pairs: Vec<(u64, u64)> = (0..150).flat_map(|a| (0..150).map(move |b| (a, b))).collect();
    let mut st = 7;
    for _ in 0..300 {
        let (da, db) = (next(&mut st) % 18 + 1, next(&mut st) % 18 + 1);
        pairs.push((next(&mut st) % 10u64.pow(da as u32), next(&mut st) % 10u64.pow(db as u32)));
    }
    for (a, b) in pairs {
        let out = turing::run(m, &syms(m, &format!("{a}+{b}"))).expect("halts");
        assert_eq!(names(m, &out), decimal(a + b), "{a}+{b}");
    }
}

/// multiply_digit computes a·d with |a| or |a|+1 digits. Oracle: integer multiplication.
#[test]
fn multiply_digit_multiplies() {
    let s = lib();
    let m = machine(&s, "times_digit");
    for a in 0..1000u64 {
        for d in 0..10u64 {
            let text = a.to_string();
            let out = names(m, &turing::run(m, &syms(m, &format!("{text}*{d}"))).expect("halts"));
            assert_eq!(out.parse::<u64>().expect("digits"), a * d, "{a}*{d}");
            let n = (a * d).to_string().len();
            assert!(out.len() == text.len().max(n), "{a}*{d} gave {out}");
        }
    }
}

/// copy writes w#w and outputs the copy. Oracle: the input itself, all binary words up to 7.
#[test]
fn copy_copies_every_short_word() {
    let s = lib();
    let m = machine(&s, "copy");
    for len in 0..=7u32 {
        for w in 0..(1u32 << len) {
            let word: String = (0..len).map(|i| if w >> i & 1 == 1 { '1' } else { '0' }).collect();
            let out = turing::run(m, &syms(m, &word)).expect("halts");
            assert_eq!(names(m, &out), word);
        }
    }
}

/// A parsed `turing_program` snapshot: state (if written), cells, head index.
#[derive(Debug, PartialEq)]
struct Snap {
    state: Option<u32>,
    cells: Vec<u32>,
    head: usize,
}

/// Splits a scratchpad into its steps (each ended by `<sep>`; the answer is not part of it).
fn steps(toks: &[String]) -> Vec<&[String]> {
    assert_eq!(toks.last().map(String::as_str), Some(SEP), "every step ends with <sep>");
    toks[..toks.len() - 1].split(|t| t == SEP).collect()
}

/// Parses a `turing_program` snapshot with the marked-variant rule of the docs (independent of
/// the writer: digits a..j, other symbols ^s).
fn parse_tp(m: &Machine, step: &[String]) -> Snap {
    let shows = m.halting.iter().filter(|h| !**h).count() > 1;
    let (state, cells) = if shows {
        (Some(m.states.iter().position(|q| *q == step[0]).expect("a state first") as u32), &step[1..])
    } else {
        (None, step)
    };
    let (mut out, mut head) = (vec![], None);
    for (i, t) in cells.iter().enumerate() {
        if let Some(id) = m.symbol_id(t) {
            out.push(id);
            continue;
        }
        let plain = match t.as_bytes() {
            [c @ b'a'..=b'j'] => ((b'0' + (c - b'a')) as char).to_string(),
            _ => t.strip_prefix('^').expect("a marked symbol").to_string(),
        };
        assert!(head.is_none(), "one head per snapshot: {step:?}");
        head = Some(i);
        out.push(m.symbol_id(&plain).expect("marked symbol of the alphabet"));
    }
    Snap { state, cells: out, head: head.expect("a head in every snapshot") }
}

/// One rule of `m` applied to a parsed configuration, growing the window as the docs say.
fn apply(m: &Machine, c: &(u32, Vec<u32>, usize)) -> (u32, Vec<u32>, usize) {
    let (q, mut cells, mut head) = c.clone();
    let a = m.rule(q, cells[head]).expect("the machine has a rule here");
    cells[head] = a.write;
    match a.mv {
        algen::ir::Move::L if head == 0 => cells.insert(0, 0),
        algen::ir::Move::L => head -= 1,
        algen::ir::Move::R => {
            head += 1;
            if head == cells.len() {
                cells.push(0);
            }
        }
        algen::ir::Move::S => {}
    }
    (a.next, cells, head)
}

/// Checks one `turing_program` scratchpad of task `t` on `input`: parsing every snapshot back
/// and replaying the machine's rules from each to the next (one rule for every step, or up to
/// the next state in `at`), and the answer after the last `<sep>` against the label.
fn replay(t: &Task, input: &[u32]) {
    let mt = t.machine().expect("machine task");
    let (m, sp) = (&mt.machine, mt.scratchpad.as_ref().expect("scratchpad"));
    let toks = task::machine::scratchpad(t, input).expect("scratchpad");
    let label = task::label(t, input).expect("label");
    let snaps = steps(&toks);
    let parsed: Vec<Snap> = snaps.iter().map(|s| parse_tp(m, s)).collect();
    let mut cur = (m.start, parsed[0].cells.clone(), parsed[0].head);
    assert_eq!(parsed[0].state.unwrap_or(m.start), m.start);
    for (k, want) in parsed.iter().enumerate().skip(1) {
        let mut n = 0;
        loop {
            cur = apply(m, &cur);
            n += 1;
            let kept = m.halting[cur.0 as usize] || (n % sp.every == 0 && (sp.at.is_empty() || sp.at.contains(&cur.0)));
            if kept {
                break;
            }
            assert!(n < 100_000, "snapshot {k} never reached");
        }
        assert_eq!((want.state.unwrap_or(cur.0), &want.cells, want.head), (cur.0, &cur.1, cur.2), "snapshot {k}");
    }
    assert!(m.halting[cur.0 as usize], "the last snapshot halts");
    // The answer is the last snapshot's tape read by the machine's output rule.
    let cells = &cur.1;
    let part: Vec<u32> = match m.output {
        Output::Nonblank => cells.clone(),
        Output::RightOf(x) => cells[cells.iter().rposition(|&c| c == x).expect("marker") + 1..].to_vec(),
        Output::LeftOf(x) => cells[..cells.iter().position(|&c| c == x).expect("marker")].to_vec(),
    };
    let answer: Vec<&str> = part.iter().filter(|&&c| c != 0).map(|&c| m.symbols[c as usize].as_str()).collect();
    let want: Vec<&str> = label.iter().map(|&i| t.outputs[i as usize].as_str()).collect();
    assert_eq!(answer, want, "the halting snapshot holds the answer");
}

#[test]
fn turing_program_scratchpads_replay_the_machine() {
    let s = lib();
    for name in ["increment_tp", "copy_tp", "addition_tp", "addition_tp_full", "multiply_tp", "random_tp"] {
        let t = task(&s, name);
        for len in 0..=5 {
            let numbers =
                matches!(t.kind, algen::ir::TaskKind::Machine { input: algen::ir::MachineInput::Numbers { .. }, .. });
            let lens = if numbers { len.max(1) } else { len };
            for ex in task::generate(t, "replay", lens, 3, 6).unwrap_or_else(|e| panic!("{name}: {e}")) {
                replay(t, &ex.input);
            }
        }
    }
}

/// The `tail` style replayed on a tape the test keeps itself: each step's operands are the
/// state and the symbol under the head, its action and next state are the machine's rule.
#[test]
fn tail_steps_state_the_operands_and_the_rule() {
    let s = lib();
    let t = task(&s, "addition_tail");
    let m = &t.machine().expect("machine").machine;
    for ex in task::generate(t, "tail", 3, 0, 4).expect("examples") {
        let toks = task::machine::scratchpad(t, &ex.input).expect("scratchpad");
        let body = steps(&toks);
        let cells: Vec<u32> = ex.input.iter().map(|&i| m.symbol_id(&t.alphabet[i as usize]).expect("symbol")).collect();
        let mut cur = (m.start, cells, 0usize);
        for st in body {
            assert_eq!(st.len(), 6, "state read : write move next");
            assert_eq!(
                (st[0].as_str(), st[1].as_str(), st[2].as_str()),
                (m.states[cur.0 as usize].as_str(), m.symbols[cur.1[cur.2] as usize].as_str(), ":")
            );
            let a = m.rule(cur.0, cur.1[cur.2]).expect("rule");
            assert_eq!(
                [st[3].as_str(), st[4].as_str(), st[5].as_str()],
                [m.symbols[a.write as usize].as_str(), a.mv.name(), m.states[a.next as usize].as_str()]
            );
            cur = apply(m, &cur);
        }
        assert!(m.halting[cur.0 as usize]);
    }
}

/// Scratchpad strings of small inputs in every style (read and checked by hand against the
/// module docs of src/turing/scratch.rs and the machines' rules).
#[test]
fn scratchpad_snapshots() {
    let s = lib();
    let mut out = String::new();
    for (name, input) in [
        ("increment_tp", "1011"),
        ("copy_tp", "10"),
        ("addition_tp", "57+68"),
        ("addition_trace", "57+68"),
        ("addition_tail", "5+7"),
        ("multiply_tp", "12*3"),
    ] {
        let t = task(&s, name);
        let ids: Vec<u32> = input
            .chars()
            .map(|c| t.alphabet.iter().position(|a| *a == c.to_string()).expect("alphabet") as u32)
            .collect();
        let toks = task::machine::scratchpad(t, &ids).expect("scratchpad");
        let label = task::label(t, &ids).expect("label");
        let answer: Vec<&str> = label.iter().map(|&i| t.outputs[i as usize].as_str()).collect();
        out.push_str(&format!("{name} {input} -> {}\n", answer.concat()));
        for st in steps(&toks) {
            out.push_str(&format!("  {}\n", st.join(" ")));
        }
    }
    insta::assert_snapshot!("turing_scratchpads", out);
}

/// The marked variants: digits become letters a..j; other symbols get a `^` prefix.
#[test]
fn marked_variants_follow_the_docs() {
    let s = lib();
    let m = machine(&s, "add");
    let marks = scratch::marked(m);
    assert_eq!(marks[m.symbol_id("0").expect("0") as usize], "a");
    assert_eq!(marks[m.symbol_id("9").expect("9") as usize], "j");
    assert_eq!(marks[m.symbol_id("+").expect("+") as usize], "^+");
    assert_eq!(marks[0], "^_");
    let inc = machine(&s, "binary_increment");
    assert!(scratch::shows_state(inc), "two working states");
    assert!(scratch::tokens(inc, Style::TuringProgram).contains(&"carry".to_string()));
}

/// Run errors are per input, with the reason: no rule (an addition input without `+`), and a
/// step limit (a machine that never halts).
#[test]
fn run_errors_name_the_input_and_the_reason() {
    let s = lib();
    let t = task(&s, "addition_plain");
    let e = task::label_tokens(t, &["1", "2"]).expect_err("no `+`");
    assert!(e.to_string().contains("has no rule for state `go2` reading `_`"), "{e}");
    let src = r#"
        machine loop { symbols = "01", states = [q, h], halt = [h], max_steps = 2 * n + 3,
                       rules { (q, *) -> (*, S, q) } }
        task t { alphabet = "01", input = string(alphabet), target = run(loop), format = lm }
    "#;
    let spec = check_text(src).expect("checks");
    let t = spec.task("t").expect("t");
    let e = task::label_tokens(t, &["0", "1"]).expect_err("loops");
    assert!(e.to_string().contains("did not halt within 7 steps"), "{e}");
    assert!(task::label_tokens(t, &["0", "1", "1"]).expect_err("loops").to_string().contains("within 9 steps"));
}

fn check_text(src: &str) -> Option<Spec> {
    let file = algen::syntax::parse_file(0, src).ok()?;
    algen::check::check(&[(0, file)]).spec
}

/// The `lm` layout with a scratchpad: `input <sep> scratchpad answer <eos>`, loss from the
/// separator on, score on the answer and `<eos>` only.
#[test]
fn lm_layout_scores_only_the_answer() {
    let s = lib();
    let t = task(&s, "addition_tp");
    let v = task::vocab(t);
    let ex = task::generate(t, "layout", 2, 0, 1).expect("example").remove(0);
    let enc = task::encode(t, &v, &ex);
    let scratch = task::machine::scratchpad(t, &ex.input).expect("scratchpad");
    let n = ex.input.len();
    assert_eq!(enc.tokens.len(), n + 1 + scratch.len() + ex.target.len());
    assert_eq!(enc.tokens[n], v.sep.expect("sep"));
    let scored: Vec<u32> =
        (0..enc.targets.len()).filter(|&i| enc.score_mask[i] > 0.0).map(|i| enc.targets[i]).collect();
    let mut want: Vec<u32> = ex.target.iter().map(|&o| v.model_output(o).expect("output")).collect();
    want.push(v.eos.expect("eos"));
    assert_eq!(scored, want);
    assert_eq!(enc.first_loss(), Some(n));
}

fn algen(args: &[&str], stdin: &str) -> (i32, String) {
    let o = common::cli::algen_with_stdin(args, stdin);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `algen label` gives the machine's final answers (oracle: 1011 + 1 = 1100, 999 + 1 = 1000,
/// 57 + 68 = 125); `algen sample` prints the scratchpad one step per line.
#[test]
fn label_and_sample_commands() {
    let (code, out) = algen(&["label", LIB, "-t", "increment"], "{\"input\":\"1011\"}\n{\"input\":\"111\"}\n");
    assert_eq!(code, 0);
    // A string input is answered with a string (README: `label` answers in the input's form).
    assert_eq!(out, "{\"input\":\"1011\",\"output\":\"1100\"}\n{\"input\":\"111\",\"output\":\"1000\"}\n");
    let (code, out) = algen(&["label", LIB, "-t", "addition_tp"], "{\"input\":\"57+68\"}\n");
    assert_eq!(code, 0);
    assert_eq!(out, "{\"input\":\"57+68\",\"output\":\"125\"}\n");
    let (code, out) = algen(&["sample", LIB, "-t", "addition_tp", "--len", "3", "-n", "2"], "");
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 * (1 + 6), "two examples, six snapshots each:\n{out}");
    assert!(lines[0].contains('+') && lines[0].contains(" -> "), "{out}");
    assert!(lines[1].starts_with("  | right "), "{out}");
}

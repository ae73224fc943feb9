//! Tests of `algen::task`: expression evaluation, labelling, streams,
//! vocabularies and model layouts. Every expected value is a hand
//! computation or Python 3's result for the same expression (cited inline).

use algen::ir::{BinOp, Builtin, Expr, ExprKind, Format, Task, TaskKind, UnOp};
use algen::source::Span;
use algen::task::eval::py_slice;
use algen::task::format::Batch;
use algen::task::*;

// ---- expression builders -------------------------------------------------

fn x(kind: ExprKind) -> Expr {
    Expr { kind, span: Span::default() }
}
fn int(n: i64) -> Expr {
    x(ExprKind::Int(n))
}
fn tok(s: &str) -> Expr {
    x(ExprKind::Tok(s.into()))
}
fn input() -> Expr {
    x(ExprKind::Input)
}
fn list(items: Vec<Expr>) -> Expr {
    x(ExprKind::List(items))
}
fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    x(ExprKind::Binary(op, Box::new(a), Box::new(b)))
}
fn un(op: UnOp, a: Expr) -> Expr {
    x(ExprKind::Unary(op, Box::new(a)))
}
fn call(b: Builtin, args: Vec<Expr>) -> Expr {
    x(ExprKind::Call(b, args))
}
fn index(s: Expr, i: Expr) -> Expr {
    x(ExprKind::Index(Box::new(s), Box::new(i)))
}
fn slice(s: Expr, a: Option<Expr>, b: Option<Expr>, c: Option<Expr>) -> Expr {
    x(ExprKind::Slice(Box::new(s), a.map(Box::new), b.map(Box::new), c.map(Box::new)))
}
fn ints_expr(ns: &[i64]) -> Expr {
    list(ns.iter().map(|&n| int(n)).collect())
}
fn spanned(mut e: Expr, start: usize, end: usize) -> Expr {
    e.span = Span::new(0, start, end);
    e
}

fn chars(s: &str) -> Vec<String> {
    s.chars().map(|c| c.to_string()).collect()
}

fn task(name: &str, alphabet: &str, target: Expr, format: Format, outputs: &str) -> Task {
    Task {
        name: name.into(),
        alphabet: chars(alphabet),
        kind: TaskKind::Expr { target },
        format,
        outputs: chars(outputs),
        score_until: None,
        span: Span::default(),
    }
}

/// Evaluates `e` with the input tokens `inp` (one token per character).
fn ev(e: &Expr, inp: &str) -> Result<Value, EvalError> {
    let values: Vec<Value> = chars(inp).iter().map(|t| Value::tok(t)).collect();
    eval(e, &values)
}
fn ev_ok(e: &Expr) -> Value {
    ev(e, "").unwrap_or_else(|err| panic!("{err}"))
}
fn ev_err(e: &Expr) -> String {
    match ev(e, "") {
        Err(err) => err.message,
        Ok(v) => panic!("expected an error, got {v}"),
    }
}
fn lab(t: &Task, inp: &str) -> String {
    label_tokens(t, &chars(inp)).unwrap_or_else(|e| panic!("{e}")).concat()
}

// ---- the standard tasks ----------------------------------------------------

#[test]
fn copy_reverse_duplicate() {
    let copy = task("copy", "01", input(), Format::Transduce, "01");
    assert_eq!(lab(&copy, "0110"), "0110");
    let rev = task("reverse", "abc", call(Builtin::Reverse, vec![input()]), Format::Transduce, "abc");
    assert_eq!(lab(&rev, "aabc"), "cbaa"); // by hand
    let dup = task("dup", "ab", bin(BinOp::Concat, input(), input()), Format::Transduce, "ab");
    assert_eq!(lab(&dup, "abb"), "abbabb");
    assert_eq!(lab(&dup, ""), "");
}

fn parity() -> Task {
    let t = bin(BinOp::Mod, call(Builtin::Sum, vec![input()]), int(2));
    task("parity", "01", t, Format::Classify, "01")
}

#[test]
fn parity_classify() {
    let t = parity();
    assert_eq!(lab(&t, "1101"), "1"); // three ones
    assert_eq!(lab(&t, "1001"), "0");
    assert_eq!(lab(&t, ""), "0"); // sum([]) = 0
                                  // Every generated example agrees with counting ones by hand.
    for ex in Stream::new(&t, "train", 13, 7).take(200).unwrap() {
        let ones = ex.input.iter().filter(|&&i| i == 1).count() as u32;
        assert_eq!(ex.target, vec![ones % 2]);
    }
}

#[test]
fn sort_task() {
    let t = task("sort", "0123", call(Builtin::Sort, vec![input()]), Format::Transduce, "0123");
    assert_eq!(lab(&t, "3121"), "1123");
    // Non-numeric tokens sort by their text.
    assert_eq!(ev(&call(Builtin::Sort, vec![input()]), "cab").unwrap(), Value::toks(&["a", "b", "c"]));
    // Integers sort numerically (10 after 9), not by text.
    assert_eq!(ev_ok(&call(Builtin::Sort, vec![ints_expr(&[10, 9, -1])])), Value::ints(&[-1, 9, 10]));
    // Mixing numbers and non-numeric tokens is an error.
    let mixed = call(Builtin::Sort, vec![list(vec![tok("a"), int(1)])]);
    assert!(ev_err(&mixed).contains("cannot mix"), "{}", ev_err(&mixed));
}

/// `to_binary(from_binary(input[:len(input)/2]) + from_binary(input[len(input)/2:]))`
fn binary_add() -> Task {
    let half = || bin(BinOp::Div, call(Builtin::Len, vec![input()]), int(2));
    let lo = call(Builtin::FromBinary, vec![slice(input(), None, Some(half()), None)]);
    let hi = call(Builtin::FromBinary, vec![slice(input(), Some(half()), None, None)]);
    let target = call(Builtin::ToBinary, vec![bin(BinOp::Add, lo, hi)]);
    task("binary_add", "01", target, Format::Transduce, "01")
}

#[test]
fn binary_addition_of_halves() {
    let t = binary_add();
    assert_eq!(lab(&t, "1011"), "101"); // 0b10 + 0b11 = 2 + 3 = 5
    assert_eq!(lab(&t, "0000"), "0"); // to_binary(0) = "0"
    assert_eq!(lab(&t, "111"), "100"); // 0b1 + 0b11 = 4
    assert_eq!(lab(&t, "1"), "1"); // from_binary([]) = 0, + 1
    for ex in Stream::new(&t, "train", 12, 1).take(100).unwrap() {
        let num = |bits: &[u32]| bits.iter().fold(0u64, |a, &b| 2 * a + b as u64);
        let sum = num(&ex.input[..6]) + num(&ex.input[6..]);
        let expect: Vec<u32> = format!("{sum:b}").chars().map(|c| c as u32 - '0' as u32).collect();
        assert_eq!(ex.target, expect, "input {:?}", ex.input);
    }
}

// ---- evaluation ------------------------------------------------------------

#[test]
fn python_slicing_table() {
    let s = || ints_expr(&(0..10).collect::<Vec<_>>());
    let o = |n: i64| Some(int(n));
    // (start, stop, step, Python 3's list(range(10))[start:stop:step])
    type Row<'a> = (Option<Expr>, Option<Expr>, Option<Expr>, &'a [i64]);
    let table: &[Row] = &[
        (None, None, o(-1), &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
        (o(1), None, o(2), &[1, 3, 5, 7, 9]),
        (o(-3), None, None, &[7, 8, 9]),
        (o(5), o(2), None, &[]),
        (None, None, o(-2), &[9, 7, 5, 3, 1]),
        (o(-100), o(100), None, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (o(8), o(1), o(-3), &[8, 5, 2]),
        (o(2), o(-2), None, &[2, 3, 4, 5, 6, 7]),
        (o(-1), o(-5), o(-1), &[9, 8, 7, 6]),
        (o(100), None, None, &[]),
        (None, o(-100), None, &[]),
        (None, None, o(3), &[0, 3, 6, 9]),
        (o(-2), None, o(-4), &[8, 4, 0]),
    ];
    for (a, b, c, want) in table {
        let e = slice(s(), a.clone(), b.clone(), c.clone());
        assert_eq!(ev_ok(&e), Value::ints(want), "{a:?}:{b:?}:{c:?}");
    }
    // The same slices of the (borrowed) input sequence.
    let e = slice(input(), o(1), None, o(2));
    assert_eq!(ev(&e, "abcdef").unwrap(), Value::toks(&["b", "d", "f"]));
    assert!(ev_err(&slice(s(), None, None, o(0))).contains("zero"));
}

/// Python's slice rule written as a loop (Python reference manual, "Sequence
/// Types": indices i + n*k, negative bounds count from the end, clamped).
fn reference_slice(len: i64, a: Option<i64>, b: Option<i64>, k: i64) -> Vec<i64> {
    let norm = |v: i64| if v < 0 { v + len } else { v };
    let mut out = vec![];
    if k > 0 {
        let mut i = a.map_or(0, norm).clamp(0, len);
        let stop = b.map_or(len, norm).clamp(0, len);
        while i < stop {
            out.push(i);
            i += k;
        }
    } else {
        let mut i = a.map_or(len - 1, norm).clamp(-1, len - 1);
        let stop = b.map_or(-1, norm).clamp(-1, len - 1);
        while i > stop {
            out.push(i);
            i += k;
        }
    }
    out
}

#[test]
fn py_slice_matches_reference_exhaustively() {
    let bounds: Vec<Option<i64>> = std::iter::once(None).chain((-8..=8).map(Some)).collect();
    for len in 0..6usize {
        for &a in &bounds {
            for &b in &bounds {
                for k in [-3, -2, -1, 1, 2, 3] {
                    let (start, step, count) = py_slice(len, a, b, Some(k)).unwrap();
                    let got: Vec<i64> = (0..count as i64).map(|n| start as i64 + n * step).collect();
                    assert_eq!(got, reference_slice(len as i64, a, b, k), "len {len} [{a:?}:{b:?}:{k}]");
                }
            }
        }
    }
    // Extreme bounds and steps neither panic nor overflow.
    assert_eq!(py_slice(5, Some(i64::MIN), Some(i64::MAX), Some(i64::MAX)), Some((0, i64::MAX, 1)));
    assert_eq!(py_slice(5, Some(i64::MAX), Some(i64::MIN), Some(i64::MIN)), Some((4, i64::MIN, 1)));
}

#[test]
fn floor_division_and_modulo() {
    let d = |a, b| ev_ok(&bin(BinOp::Div, int(a), int(b)));
    let m = |a, b| ev_ok(&bin(BinOp::Mod, int(a), int(b)));
    // Python 3: -7 // 2 == -4, -7 % 2 == 1, 7 % -2 == -1, 7 // -2 == -4,
    // -7 // -2 == 3, -7 % -2 == -1, 0 // -3 == 0, 7 // 2 == 3.
    assert_eq!(d(-7, 2), Value::Int(-4));
    assert_eq!(m(-7, 2), Value::Int(1));
    assert_eq!(m(7, -2), Value::Int(-1));
    assert_eq!(d(7, -2), Value::Int(-4));
    assert_eq!(d(-7, -2), Value::Int(3));
    assert_eq!(m(-7, -2), Value::Int(-1));
    assert_eq!(d(0, -3), Value::Int(0));
    assert_eq!(d(7, 2), Value::Int(3));
    assert_eq!(m(i64::MIN, -1), Value::Int(0)); // Python: 0
    assert!(ev_err(&bin(BinOp::Div, int(1), int(0))).contains("division by zero"));
    assert!(ev_err(&bin(BinOp::Mod, int(1), int(0))).contains("division by zero"));
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    let cases = [
        bin(BinOp::Add, int(i64::MAX), int(1)),
        bin(BinOp::Sub, int(i64::MIN), int(1)),
        bin(BinOp::Mul, int(i64::MAX), int(2)),
        bin(BinOp::Div, int(i64::MIN), int(-1)),
        un(UnOp::Neg, int(i64::MIN)),
        call(Builtin::Abs, vec![int(i64::MIN)]),
        call(Builtin::Sum, vec![ints_expr(&[i64::MAX, 1])]),
        call(Builtin::FromBinary, vec![ints_expr(&[1; 64])]),
    ];
    for e in &cases {
        assert!(ev_err(e).contains("overflow"), "{e:?}: {}", ev_err(e));
    }
    // 63 ones is i64::MAX and fits.
    assert_eq!(ev_ok(&call(Builtin::FromBinary, vec![ints_expr(&[1; 63])])), Value::Int(i64::MAX));
    // Absurd sizes are refused instead of exhausting memory.
    assert!(ev_err(&call(Builtin::Repeat, vec![int(1), int(i64::MAX)])).contains("longer"));
    assert!(ev_err(&call(Builtin::ToBinary, vec![int(1), int(i64::MAX)])).contains("out of range"));
}

#[test]
fn indexing() {
    let s = || ints_expr(&[10, 20, 30]);
    assert_eq!(ev_ok(&index(s(), int(0))), Value::Int(10));
    assert_eq!(ev_ok(&index(s(), int(-1))), Value::Int(30));
    assert_eq!(ev_ok(&index(s(), int(-3))), Value::Int(10));
    assert_eq!(ev(&index(input(), int(1)), "xyz").unwrap(), Value::tok("y"));
    let e = spanned(index(s(), int(3)), 4, 9);
    let err = ev(&e, "").unwrap_err();
    assert_eq!(err.message, "index 3 is out of range for a sequence of length 3");
    assert_eq!(err.span, Span::new(0, 4, 9));
    assert!(ev_err(&index(s(), int(-4))).contains("out of range"));
    assert!(ev_err(&index(int(5), int(0))).contains("needs a sequence"));
}

#[test]
fn builtins_and_operators() {
    // Integer tokens count as integers: "0110" has two 1s and sums to 2.
    assert_eq!(ev(&call(Builtin::Count, vec![input(), int(1)]), "0110").unwrap(), Value::Int(2));
    assert_eq!(ev(&call(Builtin::Count, vec![input(), tok("0")]), "0110").unwrap(), Value::Int(2));
    assert_eq!(ev(&call(Builtin::Len, vec![input()]), "0110").unwrap(), Value::Int(4));
    assert_eq!(ev(&call(Builtin::Sum, vec![input()]), "0110").unwrap(), Value::Int(2));
    assert_eq!(ev(&call(Builtin::Max, vec![input()]), "0320").unwrap(), Value::Int(3));
    assert_eq!(ev_ok(&call(Builtin::Min, vec![int(4), int(-2)])), Value::Int(-2));
    assert!(ev_err(&call(Builtin::Min, vec![ints_expr(&[])])).contains("empty"));
    assert_eq!(ev_ok(&call(Builtin::Abs, vec![int(-5)])), Value::Int(5));
    // to_binary: 6 = 0b110; width 5 pads to 00110; 8 needs 4 bits.
    assert_eq!(ev_ok(&call(Builtin::ToBinary, vec![int(6)])), Value::ints(&[1, 1, 0]));
    assert_eq!(ev_ok(&call(Builtin::ToBinary, vec![int(6), int(5)])), Value::ints(&[0, 0, 1, 1, 0]));
    assert_eq!(ev_ok(&call(Builtin::ToBinary, vec![int(0)])), Value::ints(&[0]));
    assert!(ev_err(&call(Builtin::ToBinary, vec![int(8), int(3)])).contains("does not fit"));
    assert!(ev_err(&call(Builtin::ToBinary, vec![int(-1)])).contains("negative"));
    assert!(ev_err(&call(Builtin::FromBinary, vec![ints_expr(&[1, 2])])).contains("bits"));
    // split like Python's "a+b++c".split("+") == ["a", "b", "", "c"].
    let parts = ev(&call(Builtin::Split, vec![input(), tok("+")]), "a+b++c").unwrap();
    let want =
        Value::Seq(vec![Value::toks(&["a"]), Value::toks(&["b"]), Value::toks::<&str>(&[]), Value::toks(&["c"])]);
    assert_eq!(parts, want);
    assert_eq!(ev(&call(Builtin::Repeat, vec![input(), int(3)]), "ab").unwrap(), Value::toks(&chars("ababab")));
    assert_eq!(ev_ok(&call(Builtin::Repeat, vec![tok("z"), int(2)])), Value::toks(&["z", "z"]));
    let cat = call(Builtin::Concat, vec![input(), tok("-"), list(vec![int(7)])]);
    assert_eq!(
        ev(&cat, "ab").unwrap(),
        Value::Seq(vec![Value::tok("a"), Value::tok("b"), Value::tok("-"), Value::Int(7)])
    );
    // ++ with atoms on either side.
    assert_eq!(ev_ok(&bin(BinOp::Concat, int(1), int(2))), Value::ints(&[1, 2]));
    // Comparisons: "1" == 1; tokens by text; sequences elementwise; ordering on integers only.
    assert_eq!(ev_ok(&bin(BinOp::Eq, tok("1"), int(1))), Value::Bool(true));
    assert_eq!(ev_ok(&bin(BinOp::Ne, tok("a"), tok("b"))), Value::Bool(true));
    assert_eq!(ev(&bin(BinOp::Eq, input(), list(vec![tok("a"), tok("b")])), "ab").unwrap(), Value::Bool(true));
    assert_eq!(ev_ok(&bin(BinOp::Lt, tok("2"), int(10))), Value::Bool(true));
    assert!(ev_err(&bin(BinOp::Lt, tok("a"), tok("b"))).contains("expected an integer"));
    // if / and / or / not; `or` short-circuits past an erroring operand.
    let cond = bin(BinOp::And, bin(BinOp::Ge, int(3), int(3)), un(UnOp::Not, x(ExprKind::Bool(false))));
    let e = x(ExprKind::If(Box::new(cond), Box::new(tok("yes")), Box::new(tok("no"))));
    assert_eq!(ev_ok(&e), Value::tok("yes"));
    let sc = bin(BinOp::Or, x(ExprKind::Bool(true)), bin(BinOp::Eq, bin(BinOp::Div, int(1), int(0)), int(0)));
    assert_eq!(ev_ok(&sc), Value::Bool(true));
    assert!(ev_err(&bin(BinOp::And, int(1), x(ExprKind::Bool(true)))).contains("boolean"));
}

#[test]
fn to_token_renders_atoms() {
    assert_eq!(to_token(&Value::Int(-12)).as_deref(), Some("-12"));
    assert_eq!(to_token(&Value::tok("ab")).as_deref(), Some("ab"));
    assert_eq!(to_token(&Value::Bool(true)).as_deref(), Some("true"));
    assert_eq!(to_token(&Value::ints(&[1])), None);
}

// ---- streams ----------------------------------------------------------------

#[test]
fn stream_seed_is_a_fixed_function() {
    // Computed independently in Python 3: FNV-1a 64 over
    // b"reverse" + b"\xff" + b"train" + b"\xff" + (5).to_bytes(8, "little") + (0).to_bytes(8, "little"),
    // then splitmix64's finalizer.
    assert_eq!(stream_seed("reverse", "train", 5, 0), 0xe338_7c69_5752_5971);
    assert_eq!(stream_seed("parity", "test", 41, 3), 0x9931_87eb_0c24_f185);
}

#[test]
fn streams_are_deterministic_and_distinct() {
    let t = task("reverse", "abcd", call(Builtin::Reverse, vec![input()]), Format::Transduce, "abcd");
    let a = generate(&t, "train", 20, 0, 50).unwrap();
    assert_eq!(a, generate(&t, "train", 20, 0, 50).unwrap());
    assert_eq!(a.len(), 50);
    for ex in &a {
        assert_eq!(ex.input.len(), 20);
        assert!(ex.input.iter().all(|&i| i < 4));
        let rev: Vec<u32> = ex.input.iter().rev().copied().collect();
        assert_eq!(ex.target, rev);
    }
    assert_ne!(a, generate(&t, "test", 20, 0, 50).unwrap());
    assert_ne!(a, generate(&t, "train", 20, 1, 50).unwrap());
    let other_len = generate(&t, "train", 21, 0, 50).unwrap();
    assert_ne!(
        a.iter().map(|e| &e.input[..20]).collect::<Vec<_>>(),
        other_len.iter().map(|e| &e.input[..20]).collect::<Vec<_>>()
    );
    // A stream continues: two takes of 25 are the one take of 50.
    let mut s = Stream::new(&t, "train", 20, 0);
    let mut two = s.take(25).unwrap();
    two.extend(s.take(25).unwrap());
    assert_eq!(two, a);
    // Every token occurs (uniform draws over 4 tokens, 1000 draws).
    let mut seen = [0usize; 4];
    a.iter().flat_map(|e| &e.input).for_each(|&i| seen[i as usize] += 1);
    assert!(seen.iter().all(|&c| c > 150), "{seen:?}");
}

#[test]
fn empty_alphabet_is_an_error() {
    let t = task("empty", "", input(), Format::Transduce, "");
    assert!(matches!(generate(&t, "train", 3, 0, 1), Err(LabelError::EmptyAlphabet { .. })));
    assert_eq!(generate(&t, "train", 0, 0, 1).unwrap(), vec![Example { input: vec![], target: vec![] }]);
}

// ---- labelling errors ---------------------------------------------------------

#[test]
fn label_errors() {
    // The target emits "2", which is not an output token; the error points at the target.
    let target = spanned(call(Builtin::Sum, vec![input()]), 10, 20);
    let t = task("sum", "01", target, Format::Classify, "01");
    let err = label_tokens(&t, &chars("11")).unwrap_err();
    assert!(matches!(&err, LabelError::UnknownOutput { token, .. } if token == "2"), "{err}");
    assert_eq!(err.span(), Span::new(0, 10, 20));
    assert!(err.to_string().contains("`2`"), "{err}");
    // As a diagnostic: coded, at the target, with a help line.
    let d = err.to_diag();
    assert_eq!((d.code, d.span.as_ref().map(|s| s.0)), ("algen::task::unknown_output", Some(Span::new(0, 10, 20))));
    assert!(d.help.is_some() && d.message == err.to_string(), "{d:?}");
    // Unknown input token: the message lists the alphabet.
    let err = label_tokens(&t, &["0", "x"]).unwrap_err();
    assert_eq!(err.to_string(), "task `sum`: `x` is not in the alphabet (`0`, `1`)");
    // Input ids outside the alphabet.
    assert!(matches!(label(&t, &[0, 2]), Err(LabelError::InputId { id: 2, .. })));
    // tag: the target must have the input's length.
    let t = task("dup", "ab", bin(BinOp::Concat, input(), input()), Format::Tag, "ab");
    let err = label(&t, &[0, 1]).unwrap_err();
    assert!(matches!(err, LabelError::TagLength { input_len: 2, target_len: 4, .. }), "{err}");
    // classify: more than one token.
    let t = task("two", "ab", input(), Format::Classify, "ab");
    assert!(matches!(label(&t, &[0, 1]), Err(LabelError::Shape { .. })));
    assert_eq!(label(&t, &[1]).unwrap(), vec![1]); // a one-element sequence is fine
                                                   // transduce: an atom is not a sequence.
    let t = task("atom", "ab", tok("a"), Format::Transduce, "ab");
    assert!(matches!(label(&t, &[0]), Err(LabelError::Shape { .. })));
    // An evaluation error keeps the failing sub-expression's span.
    let bad = spanned(index(input(), int(5)), 3, 8);
    let t = task("idx", "ab", list(vec![bad]), Format::Transduce, "ab");
    let err = label(&t, &[0, 1]).unwrap_err();
    assert_eq!(err.span(), Span::new(0, 3, 8));
    assert!(err.to_string().contains("input `a b`") && err.to_string().contains("out of range"), "{err}");
}

// ---- vocabularies and layouts --------------------------------------------------

fn with_format(mut t: Task, f: Format) -> Task {
    t.format = f;
    t
}

#[test]
fn vocab_layouts() {
    let t = task("t", "ab", input(), Format::Transduce, "bc");
    let v = vocab(&t);
    assert_eq!(v.input, ["a", "b", "<q>"]);
    assert_eq!(v.output, ["b", "c"]);
    assert_eq!((v.query, v.sep, v.eos), (Some(2), None, None));
    let v = vocab(&with_format(t, Format::Lm));
    // alphabet, then outputs not in it ("c"), then <sep>, <eos>
    assert_eq!(v.input, ["a", "b", "c", "<sep>", "<eos>"]);
    assert_eq!(v.output, v.input);
    assert_eq!((v.query, v.sep, v.eos), (None, Some(3), Some(4)));
    assert_eq!(v.output_ids, [1, 2]); // "b" -> 1, "c" -> 2
    assert_eq!(v.task_output(2), Some(1));
    assert_eq!(v.task_output(0), None);
}

/// Input "ab" (ids 0 1) with target ids given per format; outputs "xyz".
fn layout(f: Format, target: Vec<u32>) -> (Encoded, Vocab) {
    let t = task("t", "ab", input(), f, "xyz");
    let v = vocab(&t);
    (encode(&t, &v, &Example { input: vec![0, 1], target }), v)
}

#[test]
fn encode_layouts() {
    // transduce: a b <q> <q> <q>; targets at the three queries.
    let (e, _) = layout(Format::Transduce, vec![2, 0, 1]);
    assert_eq!(e.tokens, [0, 1, 2, 2, 2]);
    assert_eq!(e.targets, [0, 0, 2, 0, 1]);
    assert_eq!(e.loss_mask, [0., 0., 1., 1., 1.]);
    assert_eq!(e.score_mask, e.loss_mask);
    // tag: a b; target i at position i.
    let (e, _) = layout(Format::Tag, vec![2, 1]);
    assert_eq!((e.tokens, e.targets), (vec![0, 1], vec![2, 1]));
    assert_eq!(e.loss_mask, [1., 1.]);
    // classify: a b <q>; one scored position.
    let (e, _) = layout(Format::Classify, vec![1]);
    assert_eq!((e.tokens, e.targets), (vec![0, 1, 2], vec![0, 0, 1]));
    assert_eq!(e.score_mask, [0., 0., 1.]);
    // lm: shared vocab a b x y z <sep>=5 <eos>=6; S = a b <sep> z x <eos>.
    let (e, v) = layout(Format::Lm, vec![2, 0]);
    assert_eq!(v.input, ["a", "b", "x", "y", "z", "<sep>", "<eos>"]);
    assert_eq!(e.tokens, [0, 1, 5, 4, 2]);
    assert_eq!(e.targets, [1, 5, 4, 2, 6]);
    assert_eq!(e.loss_mask, [0., 0., 1., 1., 1.]);
    assert_eq!(e.score_mask, e.loss_mask);
    let t = task("t", "ab", input(), Format::Lm, "xyz");
    assert_eq!(prompt(&t, &v, &[1, 0]), [1, 0, 5]);
}

#[test]
fn score_until_masks_the_score_only() {
    // Delétang et al. (2023) style: score up to and including the first "z".
    let mut t = task("t", "ab", input(), Format::Transduce, "xyz");
    t.score_until = Some("z".into());
    let v = vocab(&t);
    let e = encode(&t, &v, &Example { input: vec![0, 1], target: vec![0, 2, 1, 2] });
    assert_eq!(e.tokens, [0, 1, 2, 2, 2, 2]);
    assert_eq!(e.targets, [0, 0, 0, 2, 1, 2]);
    assert_eq!(e.loss_mask, [0., 0., 1., 1., 1., 1.]);
    assert_eq!(e.score_mask, [0., 0., 1., 1., 0., 0.]);
    // lm: S = a b <sep> x z y z <eos> (ids 0 1 5 2 4 3 4 6); the score stops
    // at position 3, whose next token is the first z.
    let t = Task { format: Format::Lm, ..t };
    let v = vocab(&t);
    let e = encode(&t, &v, &Example { input: vec![0, 1], target: vec![0, 2, 1, 2] });
    assert_eq!(e.targets, [1, 5, 2, 4, 3, 4, 6]);
    assert_eq!(e.loss_mask, [0., 0., 1., 1., 1., 1., 1.]);
    assert_eq!(e.score_mask, [0., 0., 1., 1., 0., 0., 0.]);
    // Without the token in the target, everything stays scored.
    let e = encode(&t, &v, &Example { input: vec![0], target: vec![0] });
    assert_eq!(e.score_mask, [0., 1., 1.]);
}

#[test]
fn batching_pads_with_zero_masks() {
    let (a, _) = layout(Format::Classify, vec![1]); // length 3
    let t = task("t", "ab", input(), Format::Classify, "xyz");
    let b = encode(&t, &vocab(&t), &Example { input: vec![1], target: vec![2] }); // length 2
    let Batch { tokens, targets, loss_mask, score_mask, pad, positions, b: rows, t: cols, source } = batch(&[a, b]);
    assert_eq!(positions, None); // no example has position ids
    assert_eq!(source, None); // no example has a source (only `seq2seq` ones do)
    assert_eq!((rows, cols), (2, 3));
    assert_eq!(tokens, [0, 1, 2, 1, 2, 0]);
    assert_eq!(targets, [0, 0, 1, 0, 2, 0]);
    assert_eq!(loss_mask, [0., 0., 1., 0., 1., 0.]);
    assert_eq!(score_mask, loss_mask);
    assert_eq!(pad, [1., 1., 1., 1., 1., 0.]);
    let empty = batch::<algen::task::Encoded>(&[]);
    assert_eq!((empty.b, empty.t, empty.tokens.len()), (0, 0, 0));
}

#[test]
fn labelling_is_fast_enough() {
    // 4096 examples of length 64 through reverse/parity/binary addition:
    // a sanity bound (seconds, not minutes) for the training data path.
    let start = std::time::Instant::now();
    for t in [binary_add(), parity()] {
        assert_eq!(Stream::new(&t, "train", 64, 0).take(4096).unwrap().len(), 4096);
    }
    assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
}

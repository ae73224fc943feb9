//! Case generation: seeds (the repository's specs, RASP programs and JSON lines), a
//! grammar-derived token dictionary, and mutators. A case is a pure function of
//! `(seed, index)`, so the driver can regenerate any case a worker reports.

use crate::case::{Case, Kind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// The inputs every case starts from.
pub struct Seeds {
    /// `(path, text)` of every spec seed (the path resolves its imports).
    pub specs: Vec<(String, String)>,
    pub rasps: Vec<(String, String)>,
    /// Sample JSON lines (the RASP conformance corpus).
    pub lines: Vec<String>,
    pub spec_dict: Vec<String>,
    pub rasp_dict: Vec<String>,
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(ext));
    v.sort();
    v
}

/// Quoted literals of a pest grammar: its keywords and punctuation.
fn grammar_literals(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = vec![];
    for part in text.split('"').skip(1).step_by(2) {
        if !part.is_empty() && part.len() < 12 && !part.contains('\\') {
            out.push(part.to_string());
        }
    }
    out
}

impl Seeds {
    /// Reads the seeds under the repository root `root` plus `extra` directories.
    pub fn load(root: &Path, extra: &[PathBuf]) -> Seeds {
        let mut spec_dirs: Vec<PathBuf> = ["parse/ok", "parse/err", "check/ok", "check/err"]
            .iter()
            .map(|d| root.join("tests/fixtures").join(d))
            .collect();
        spec_dirs.extend(["specs", "specs/lib", "specs/bench", "tests/fuzz_corpus"].map(|d| root.join(d)));
        let mut rasp_dirs = vec![root.join("tests/fixtures/rasp"), root.join("tests/data/rasp")];
        rasp_dirs.push(root.join("tests/fuzz_corpus"));
        rasp_dirs.extend(extra.iter().cloned());
        spec_dirs.extend(extra.iter().cloned());
        let read = |dirs: &[PathBuf], ext: &str| -> Vec<(String, String)> {
            let mut v = vec![];
            for d in dirs {
                for p in files(d, ext) {
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        v.push((p.to_string_lossy().into_owned(), t));
                    }
                }
            }
            v
        };
        let specs = read(&spec_dirs, ".alg");
        let rasps = read(&rasp_dirs, ".rasp");
        let mut lines = vec![];
        for (p, _) in read(&rasp_dirs[..2], ".jsonl") {
            if let Ok(t) = std::fs::read_to_string(&p) {
                lines.extend(t.lines().filter(|l| l.starts_with("{\"input\"")).take(40).map(String::from));
            }
        }
        let spec_dict = dictionary(&specs, &grammar_literals(&root.join("grammar/algen.pest").to_string_lossy()));
        let rasp_dict = dictionary(&rasps, &grammar_literals(&root.join("grammar/rasp.pest").to_string_lossy()));
        Seeds { specs, rasps, lines, spec_dict, rasp_dict }
    }
}

fn dictionary(seeds: &[(String, String)], literals: &[String]) -> Vec<String> {
    let mut d: Vec<String> = literals.to_vec();
    for (_, t) in seeds {
        d.extend(tokenize(t).into_iter().filter(|t| !t.trim().is_empty() && t.len() < 40));
    }
    d.sort();
    d.dedup();
    d
}

/// Splits text into identifier, number, string, whitespace and punctuation tokens.
pub fn tokenize(text: &str) -> Vec<String> {
    let b: Vec<char> = text.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_alphanumeric() || c == '_' {
            while i < b.len()
                && (b[i].is_alphanumeric()
                    || b[i] == '_'
                    || (b[i] == '.' && c.is_ascii_digit() && b.get(i + 1).is_some_and(|x| x.is_ascii_digit())))
            {
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' && b[i] != '\n' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
        } else if c.is_whitespace() {
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
        } else if b[i..].starts_with(&['.', '.', '=']) {
            i += 3;
        } else if b[i..].starts_with(&['.', '.']) {
            i += 2;
        } else {
            i += 1;
        }
        out.push(b[start..i.min(b.len())].iter().collect());
    }
    out
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "255",
    "65536",
    "1000000000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551616",
    "1e309",
    "1e-400",
    "-9e18",
    "9e18",
    "8000000000000000",
    "0.0",
    "1.5",
    "1e-3",
    "10k",
    "99999999M",
    "1_000",
    "00",
    "0x10",
];

const SPEC_SNIPPETS: &[&str] = &[
    "let big = 9223372036854775807;",
    "task t2 { input = (a: -9e18..9e18), target = a, format = [a, \"=\"] }",
    "split s2 { train = len 1..=8000000000000000, test = len 5..=1000000000 }",
    "split s3 { train = len 5..=1, test = len 0..0 }",
    "split s4 { train = len 9223372036854775807..=9223372036854775807, test = len 1..=2 }",
    "let x = (-9223372036854775807 - 1) / -1;",
    "let y = (-9223372036854775807 - 1) % -1;",
    "let z = -(-9223372036854775807 - 1);",
    "model m4 = transformer { layers = (-9223372036854775807 - 1) / -1, heads = (-9223372036854775807 - 1) % -1 }",
    "experiment e2 { task = nosuch, split = nosuch, model = nosuch, train { optimizer = adam(lr = 1e309), seeds = [1, 1] } }",
    "import \"nosuch.alg\";",
    "import \"/dev/null\";",
    "task t3 { alphabet = \"ab\", input = string(alphabet), target = len(input) / (len(input) - len(input)) }",
    "model m2 = transformer { layers = 0, heads = 3, d_model = 5, position = sinusodial }",
];

const RASP_SNIPPETS: &[&str] = &[
    "s = \"ab\"; s = s + s; s = s + s; s = s + s; s = s + s; s = s + s; s = s + s; s = s + s; s = s + s;",
    "big = tokens * 2000000;",
    "l = [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]];",
    "d = {1: {1: {1: {1: {1: {1: 1}}}}}};",
    "q = select(indices, indices, ==); w = aggregate(q, tokens);",
    "z = 9223372036854775807 + 1;",
    "f = 1.0 / 0;",
    "for x in [1, 2, 3] { y = x; }",
    "def r(x) { return r(x); } rr = r(1);",
];

pub fn pick<'a, T>(rng: &mut ChaCha8Rng, v: &'a [T]) -> &'a T {
    &v[rng.gen_range(0..v.len())]
}

/// A nesting depth: mostly small, sometimes deep, rarely very deep.
pub fn depth(rng: &mut ChaCha8Rng) -> usize {
    match rng.gen_range(0..100) {
        0..=59 => rng.gen_range(1..8),
        60..=84 => rng.gen_range(8..64),
        _ => rng.gen_range(64..6000),
    }
}

/// Wraps `x` in deep structure of a kind that suits `rasp` or spec syntax.
fn nest(rng: &mut ChaCha8Rng, x: &str, rasp: bool) -> String {
    // Nest a short token only: nesting a 100k-character name 6000 times makes gigabytes.
    let x = if x.len() > 64 { "x" } else { x };
    let d = depth(rng);
    match rng.gen_range(0..6) {
        0 => format!("{}{x}{}", "(".repeat(d), ")".repeat(d)),
        1 => format!("{}{x}{}", "[".repeat(d), "]".repeat(d)),
        2 => format!("{}{x}", "-".repeat(d)),
        3 => vec![x; d.max(2) * 7].join(" + "),
        4 if rasp => format!("{}{x}{}", "{1: ".repeat(d), "}".repeat(d)),
        4 => format!("{}{x}", "not ".repeat(d)),
        _ if rasp => format!("{}{x}", format!("{x} if {x} else ").repeat(d)),
        _ => format!("{}{x}{}", "if true then ".repeat(d), " else 0".repeat(d)),
    }
}

fn long_name(rng: &mut ChaCha8Rng) -> String {
    let n = if rng.gen_bool(0.9) { rng.gen_range(1..200) } else { rng.gen_range(60_000..120_000) };
    (0..n).map(|_| *pick(rng, &['a', 'b', 'x', '_', '1'])).collect::<String>().replacen('1', "a", 1)
}

/// One token-level mutation of `toks`.
fn mutate_tokens(
    rng: &mut ChaCha8Rng,
    toks: &mut Vec<String>,
    dict: &[String],
    rasp: bool,
    others: &[(String, String)],
) {
    let n = toks.len().max(1);
    let at = rng.gen_range(0..n).min(toks.len());
    match rng.gen_range(0..13) {
        0 if !toks.is_empty() => {
            let k = rng.gen_range(1..=4.min(toks.len() - at).max(1));
            toks.drain(at..(at + k).min(toks.len()));
        }
        1 if !toks.is_empty() => {
            let k = rng.gen_range(1..=8).min(toks.len() - at.min(toks.len() - 1));
            let chunk: Vec<String> = toks[at..(at + k).min(toks.len())].to_vec();
            for (j, t) in chunk.into_iter().enumerate() {
                toks.insert(at + j, t);
            }
        }
        2 | 3 => {
            let t = pick(rng, dict).clone();
            toks.insert(at, format!(" {t} "));
        }
        4 => {
            if let Some(i) = find(rng, toks, |t| t.starts_with(|c: char| c.is_ascii_digit())) {
                toks[i] = pick(rng, NUMBERS).to_string();
            }
        }
        5 => {
            if let Some(i) = find(rng, toks, |t| t.starts_with(|c: char| c.is_alphabetic())) {
                toks[i] = long_name(rng);
            }
        }
        6 => {
            if let Some(i) = find(rng, toks, |t| t.starts_with(|c: char| c.is_alphanumeric() || c == '"')) {
                toks[i] = nest(rng, &toks[i].clone(), rasp);
            }
        }
        7 => {
            if let Some(i) = find(rng, toks, |t| t == "..=" || t == "..") {
                if i > 0 && i + 1 < toks.len() {
                    toks.swap(i - 1, i + 1);
                }
            }
        }
        8 => {
            let snip = if rasp { pick(rng, RASP_SNIPPETS) } else { pick(rng, SPEC_SNIPPETS) };
            let i = find(rng, toks, |t| t.contains('\n')).unwrap_or(toks.len());
            toks.insert(i, format!("\n{snip}\n"));
        }
        9 if !others.is_empty() => {
            let (_, other) = pick(rng, others);
            let lines: Vec<&str> = other.lines().collect();
            if !lines.is_empty() {
                let s = rng.gen_range(0..lines.len());
                let e = (s + rng.gen_range(1..6)).min(lines.len());
                toks.insert(at, format!("\n{}\n", lines[s..e].join("\n")));
            }
        }
        10 => {
            if let Some(i) = find(rng, toks, |t| t.starts_with(|c: char| c.is_alphabetic())) {
                let mut cs: Vec<char> = toks[i].chars().collect();
                if cs.len() > 1 {
                    let j = rng.gen_range(0..cs.len() - 1);
                    cs.swap(j, j + 1);
                } else {
                    cs.push('q');
                }
                toks[i] = cs.into_iter().collect();
            }
        }
        11 => toks.truncate(at),
        _ => {
            if let Some(i) = find(rng, toks, |t| t.starts_with('"')) {
                let s = pick(rng, &["\"\"", "\"around right\"", "\"\\u{0}\"", "\"é\"", "\"\\\""]);
                toks[i] = s.to_string();
            } else {
                toks.insert(at, " x ".into());
            }
        }
    }
}

fn find(rng: &mut ChaCha8Rng, toks: &[String], f: impl Fn(&str) -> bool) -> Option<usize> {
    let idx: Vec<usize> = (0..toks.len()).filter(|&i| f(&toks[i])).collect();
    idx.choose(rng).copied()
}

/// Byte-level damage: BOM, invalid UTF-8, NULs, long lines, CRLF.
fn mutate_bytes(rng: &mut ChaCha8Rng, b: &mut Vec<u8>) {
    let at = rng.gen_range(0..=b.len());
    match rng.gen_range(0..6) {
        0 => b.splice(0..0, [0xEF, 0xBB, 0xBF]).for_each(drop),
        1 => b.splice(at..at, [0xFF, 0xC3]).for_each(drop),
        2 => b.insert(at, 0),
        3 => b.splice(at..at, b"\r\n".iter().copied()).for_each(drop),
        4 => {
            let n = rng.gen_range(65_530..70_000);
            let filler = if rng.gen_bool(0.5) { b"x" } else { b" " };
            b.splice(at..at, filler.repeat(n)).for_each(drop);
        }
        _ => {
            if !b.is_empty() {
                let i = rng.gen_range(0..b.len());
                b[i] ^= 1 << rng.gen_range(0..8);
            }
        }
    }
}

/// The size past which a program stops growing by mutation.
const MAX_PROGRAM_BYTES: usize = 4 << 20;

/// A mutated program text from `seeds` (specs or RASP programs).
fn program(rng: &mut ChaCha8Rng, seeds: &[(String, String)], dict: &[String], rasp: bool) -> (String, Vec<u8>) {
    let (name, text) = pick(rng, seeds).clone();
    let mut toks = tokenize(&text);
    for _ in 0..rng.gen_range(1..=4) {
        mutate_tokens(rng, &mut toks, dict, rasp, seeds);
        if toks.iter().map(String::len).sum::<usize>() > MAX_PROGRAM_BYTES {
            break; // a case is bounded (the spec reader refuses files over 16 MiB anyway)
        }
    }
    let mut bytes = toks.concat().into_bytes();
    if rng.gen_bool(0.08) {
        mutate_bytes(rng, &mut bytes);
    }
    (name, bytes)
}

/// The RNG of case `index` under `seed`.
pub fn rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

/// Case `index` under `seed`. `targets` lists `(spec path, task names)` and
/// `(program path, s-op names)` that checked cleanly, for the JSON-lines cases.
pub fn case(seeds: &Seeds, t: &crate::case::Targets, seed: u64, index: u64, cli_every: u32) -> Case {
    let mut rng = rng(seed, index);
    let roll = rng.gen_range(0..100);
    let cli = cli_every > 0 && rng.gen_range(0..cli_every) == 0;
    let lines = |rng: &mut ChaCha8Rng, alphabet: &[String]| -> Vec<Vec<u8>> {
        let n = rng.gen_range(1..12);
        (0..n).map(|_| crate::lines::json_line(rng, alphabet, &seeds.lines)).collect()
    };
    // A huge line goes through the CLI, where the per-line size limit lives.
    let cli = |lines: &[Vec<u8>]| cli || lines.iter().any(|l| l.len() > crate::exec::HUGE_LINE);
    if roll < 15 && !t.tasks.is_empty() {
        let (path, task, alphabet) = pick(&mut rng, &t.tasks).clone();
        let lines = lines(&mut rng, &alphabet);
        let cli = cli(&lines);
        return Case { kind: Kind::Label { spec: path, task }, lines, cli, bytes: vec![], name: String::new() };
    }
    if roll < 30 && !t.sops.is_empty() {
        let (path, sop) = pick(&mut rng, &t.sops).clone();
        let alphabet: Vec<String> = "abcdefghij0123456789()[]<>+ ".chars().map(String::from).collect();
        let lines = lines(&mut rng, &alphabet);
        let cli = cli(&lines);
        return Case {
            kind: Kind::RaspLines { program: path, eval: sop },
            lines,
            cli,
            bytes: vec![],
            name: String::new(),
        };
    }
    if roll < 55 && !seeds.rasps.is_empty() {
        let (name, bytes) = program(&mut rng, &seeds.rasps, &seeds.rasp_dict, true);
        return Case { kind: Kind::Rasp, name, bytes, lines: vec![], cli: false };
    }
    let (name, bytes) = program(&mut rng, &seeds.specs, &seeds.spec_dict, false);
    Case { kind: Kind::Spec, name, bytes, lines: vec![], cli: false }
}

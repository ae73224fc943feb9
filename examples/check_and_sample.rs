//! Using algen as a library: check a spec, then sample and label examples of
//! its first task, and size the models of its experiments.
//!
//! `cargo run --release --example check_and_sample [-- specs/reverse.alg]`

use algen::{diag, model, pipeline, task};
use std::path::PathBuf;

fn main() {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| "specs/reverse.alg".into());
    let loaded = match pipeline::load(&path) {
        Ok(l) => l,
        Err(pipeline::LoadError::Io(p, e)) => {
            eprintln!("cannot read {}: {e}", p.display());
            std::process::exit(2);
        }
        Err(pipeline::LoadError::Diags(sources, diags)) => {
            let diags: Vec<_> = diags.into_iter().map(|d| d.with_source(&sources)).collect();
            eprint!("{}", diag::render(&diags, 80, false));
            std::process::exit(1);
        }
    };
    let spec = &loaded.spec;
    let Some(t) = spec.tasks.first() else {
        println!("{} defines no task", path.display());
        return;
    };
    println!("task `{}`: alphabet {:?}, outputs {:?}", t.name, t.alphabet, t.outputs);
    for ex in task::generate(t, "example", 6, 0, 3).expect("the task labels its own samples") {
        let show =
            |ids: &[u32], toks: &[String]| ids.iter().map(|&i| toks[i as usize].as_str()).collect::<Vec<_>>().join("");
        println!("  {} -> {}", show(&ex.input, &t.alphabet), show(&ex.target, &t.outputs));
    }
    for exp in &spec.experiments {
        let t = spec.task(&exp.task).expect("checked");
        let v = task::vocab(t);
        let io = model::ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
        for var in &exp.variants {
            println!(
                "experiment `{}` variant `{}`: {} parameters",
                exp.name,
                var.label,
                model::param_count(&var.model.arch, io)
            );
        }
    }
}

//! `algen compile-rasp`: a RASP s-op compiled into transformer weights (see `algen::rasp_compile`).

use crate::commands::{print_diags, Failure};
use std::path::Path;

/// `--vocab abc` is three tokens; `--vocab 1,2,10` (with a comma) three too.
pub fn parse_vocab(v: &str) -> Vec<String> {
    if v.contains(',') {
        v.split(',').map(|t| t.trim().to_string()).collect()
    } else {
        v.chars().map(String::from).collect()
    }
}

/// `algen compile-rasp FILE --sop NAME ...`: compile, verify, print a summary (or the layout), write.
pub fn compile_rasp(
    file: &Path,
    sop: &str,
    opts: algen::rasp_compile::Opts,
    out: Option<&Path>,
    explain: bool,
) -> Result<(), Failure> {
    let (sources, program) = rasp_program(file)?;
    let compiled = algen::rasp_compile::compile(&program, sop, opts).map_err(|d| {
        print_diags(&sources, vec![d]);
        Failure::Spec
    })?;
    if explain {
        print!("{}", algen::rasp_compile::export::explain(&compiled));
    } else {
        let s = compiled.sizes();
        println!(
            "`{sop}`: {} layers, residual {}, MLP hidden {}, {} heads, {} parameters; agrees with the interpreter on all {} inputs",
            s.layers, s.residual, s.mlp_hidden, s.heads, s.params, compiled.verified
        );
    }
    if let Some(path) = out {
        algen::rasp_compile::export::write(&compiled, path).map_err(Failure::Failed)?;
    }
    Ok(())
}

/// Reads and compiles a stand-alone RASP file (diagnostics printed on failure); `algen rasp`
/// and `algen compile-rasp` both start here.
pub fn rasp_program(file: &Path) -> Result<(algen::source::SourceMap, algen::rasp::Program), Failure> {
    let mut sources = algen::source::SourceMap::new();
    let text = algen::source::read_source(file).map_err(|e| match e.diag(file) {
        Some(d) => {
            print_diags(&sources, vec![d]);
            Failure::Spec
        }
        None => Failure::Usage(format!("cannot read `{}`: {e}", file.display())),
    })?;
    let id = sources.add(file.display().to_string(), text.as_str());
    let text: std::sync::Arc<str> = text.into();
    let program = algen::rasp::compile(id, &text, 0, text.clone()).map_err(|diags| {
        print_diags(&sources, diags);
        Failure::Spec
    })?;
    Ok((sources, program))
}

//! Longer explanations of diagnostic codes, for `algen explain CODE` (as `rustc --explain`).
//!
//! Every code of [`crate::diag::CODES`] is either in [`EXPLAINED`] (a paragraph and an
//! example) or in [`TODO`] (not written yet; `explain` says so and prints the one-line
//! meaning). A test keeps the three lists consistent.

mod texts;
pub use texts::EXPLAINED;

/// Codes whose explanation is not written yet: `algen explain` prints their one-line meaning
/// and says so.
pub const TODO: &[&str] = &[
    "algen::import::not_utf8",
    "algen::jsonl::not_utf8",
    "algen::parse::too_deep",
    "algen::import::too_large",
    "algen::check::let_cycle",
    "algen::check::per_layer_draw",
    "algen::check::haiku_lstm_embed",
    "algen::check::duplicate_seed",
    "algen::check::too_large",
    "algen::check::overflow",
    "algen::check::target_vocab",
    "algen::check::target_fails",
    "algen::check::unbounded_output",
    "algen::check::target_type",
    "algen::check::unsweepable",
    "algen::check::fixed_by_format",
    "algen::check::unknown_builtin",
    "algen::check::fixed_by_builtin",
    "algen::check::format_split",
    "algen::check::position_fit",
    "algen::check::rasp_unknown_name",
    "algen::check::rasp_reserved_name",
    "algen::check::rasp_type",
    "algen::check::rasp_value",
    "algen::check::rasp_unsupported",
    "algen::check::rasp_output",
    "algen::rasp::eval",
    "algen::jsonl::invalid_json",
    "algen::jsonl::invalid_input",
    "algen::jsonl::line_too_long",
    "algen::check::split_kind",
    "algen::check::universe_only",
    "algen::check::unknown_token",
    "algen::check::split_eval",
    "algen::check::split_task",
    "algen::check::empty_universe",
    "algen::check::universe_size",
    "algen::check::universe_format",
    "algen::check::universe_split",
    "algen::check::unknown_rule",
    "algen::check::unproductive_rule",
    "algen::check::template_child",
    "algen::check::machine_unknown_symbol",
    "algen::check::machine_unknown_state",
    "algen::check::machine_nondeterministic",
    "algen::check::machine_rule",
    "algen::check::machine_missing_rule",
    "algen::check::machine_unreachable",
    "algen::check::scratchpad",
    "algen::run::label",
    "algen::task::not_in_universe",
    "algen::run::locked",
    "algen::run::config_changed",
    "algen::run::resume_steps",
    "algen::run::checkpoint_corrupt",
    "algen::run::resume_results",
    "algen::run::io",
    "algen::run::checkpoint",
    "algen::run::preempted",
    "algen::run::model",
    "algen::task::eval",
    "algen::task::unknown_output",
    "algen::task::target_shape",
    "algen::task::tag_length",
    "algen::task::unknown_input",
    "algen::task::input_id",
    "algen::task::grammar",
    "algen::task::invalid_input",
    "algen::task::empty_alphabet",
    "algen::task::not_position",
];

/// What `algen explain CODE` prints, or `Err` with a usage message (unknown code, with a
/// did-you-mean). The `algen::` prefix may be left out.
pub fn explain(code: &str) -> Result<String, String> {
    let full = if code.starts_with("algen::") { code.to_string() } else { format!("algen::{code}") };
    // `split_empty` alone names the code when exactly one code ends so.
    let tail = format!("::{}", code.trim_start_matches("algen::"));
    let by_tail: Vec<_> = crate::diag::CODES.iter().filter(|(c, _)| c.ends_with(&tail)).collect();
    let found = crate::diag::CODES.iter().find(|(c, _)| *c == full).or(match by_tail.as_slice() {
        [one] => Some(*one),
        _ => None,
    });
    let Some((code, meaning)) = found else {
        let codes = crate::diag::CODES.iter().map(|(c, _)| *c);
        let hint = match crate::diag::did_you_mean(&full, codes) {
            Some(c) => format!("did you mean `{c}`?"),
            None => "codes look like `algen::check::unknown_name`; every diagnostic shows its code".into(),
        };
        return Err(format!("no diagnostic has the code `{code}`: {hint}"));
    };
    Ok(match EXPLAINED.iter().find(|(c, _)| c == code) {
        Some((_, text)) => format!("{code}: {meaning}\n\n{text}\n"),
        None => format!("{code}: {meaning}\n\n(No longer explanation has been written for this code yet.)\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::CODES;

    #[test]
    fn a_unique_last_segment_names_its_code() {
        assert!(explain("split_empty").unwrap().starts_with("algen::check::split_empty: "));
        assert!(explain("check::split_empty").unwrap().starts_with("algen::check::split_empty: "));
        // `not_utf8` ends two codes (import, jsonl): no guess.
        assert!(explain("not_utf8").is_err());
    }

    #[test]
    fn every_code_is_explained_or_listed_as_todo() {
        for (c, _) in CODES {
            let e = EXPLAINED.iter().any(|(x, _)| x == c);
            let t = TODO.contains(c);
            assert!(e ^ t, "{c}: explained {e}, todo {t}: exactly one");
        }
        for c in EXPLAINED.iter().map(|(c, _)| *c).chain(TODO.iter().copied()) {
            assert!(CODES.iter().any(|(x, _)| *x == c), "{c} is not a registered code");
        }
        assert!(EXPLAINED.len() >= 20, "the most common codes are explained");
        for (c, text) in EXPLAINED {
            assert!(text.contains("Example") || text.contains("Fix"), "{c}: an example or a fix");
        }
    }

    #[test]
    fn explain_answers_known_codes_and_suggests_for_unknown_ones() {
        let t = explain("algen::check::step_end").unwrap();
        assert!(t.starts_with("algen::check::step_end: ") && t.contains("13..=28 step 3"), "{t}");
        assert_eq!(explain("check::step_end").unwrap(), t, "the prefix may be left out");
        let todo = explain(TODO[0]).unwrap();
        assert!(todo.contains("not been written") || todo.contains("No longer explanation"), "{todo}");
        let e = explain("check::unknown_nme").unwrap_err(); // (no literal code: the scan in tests/fixtures.rs)
        assert!(e.contains("did you mean `algen::check::unknown_name`?"), "{e}");
    }
}

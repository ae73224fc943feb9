//! What hover says about a field: one line of meaning, and its default with the reason given
//! in `src/ir/defaults.rs` (read from that file's doc comments, so there is one place for both).

/// `(context, field, meaning, default)`: the context is an item kind, an experiment block or
/// a model constructor (as in [`crate::check::field_names`]); the default names a constant of
/// `src/ir/defaults.rs`.
pub const FIELD_DOCS: &[(&str, &str, &str, Option<&str>)] = &[
    ("task", "alphabet", "The input tokens: a string of one-character tokens or a list of tokens.", None),
    ("task", "input", "How inputs are drawn: `string(alphabet)`, a universe `(a: 0..p, ...)`, a builtin `chomsky(NAME)`, ...", None),
    ("task", "target", "The label: an expression over `input`, `rasp PROG.sop`, `run(machine)`.", None),
    ("task", "format", "How input and target become a sequence: `transduce`, `tag`, `classify`, `lm`, `pointer`, `seq2seq`, `addition`, `multiplication`.", None),
    ("task", "grammar", "A grammar's examples in another format: `task t { grammar = scan, format = seq2seq }`.", None),
    ("task", "outputs", "The output tokens (default: those the target can emit).", None),
    ("task", "score_until", "Only outputs up to and including the first such token are scored.", None),
    ("task", "bos", "A token put before the input.", None),
    ("task", "scratchpad", "Intermediate steps written before the answer (`lm` format), e.g. `trace(machine)`.", None),
    ("split", "train", "The training part: `len a..=b [step s] [count n]`, `where P`, `fraction F`, `rest`.", None),
    ("split", "test", "The evaluated part, in the same forms as `train`.", None),
    ("split", "count", "Examples per evaluated length.", Some("COUNT")),
    ("experiment", "task", "The task to learn (a `task` or `grammar` name).", None),
    ("experiment", "model", "The model: a model name, with overrides `{ ... }` and `sweep [...]`.", None),
    ("experiment", "split", "The split: which examples train and which test.", None),
    ("experiment", "note", "A line quoted under the title of report.md.", None),
    ("train", "steps", "Optimizer steps.", Some("STEPS")),
    ("train", "batch", "Sequences per step.", Some("BATCH")),
    ("train", "optimizer", "`adam(lr, betas, eps)`, `adamw(..., weight_decay)` or `sgd(lr)`.", Some("LR")),
    ("train", "schedule", "Learning-rate schedule: `constant` or `warmup_cosine(warmup = N)`.", None),
    ("train", "clip", "Gradient-norm clipping.", Some("CLIP")),
    ("train", "seeds", "Seeds to run (a count or a list of seeds).", Some("SEEDS")),
    ("train", "mixed_lengths", "Batches mix input lengths.", None),
    ("train", "grad_filter", "A gradient filter: `grokfast_ema(alpha, lamb)` or `grokfast_ma(window, lamb)`.", Some("GROKFAST_ALPHA")),
    ("train", "checkpoint_every", "Write a checkpoint every N steps (`--resume` continues from it).", None),
    ("train", "batching", "How batches are drawn from a finite universe (e.g. full batch).", None),
    ("eval", "every", "Evaluate every N steps (0: only after training).", Some("EVAL_EVERY")),
    ("eval", "metrics", "Metrics to compute: `token_accuracy`, `sequence_accuracy`, ...", None),
    ("eval", "count", "Examples per length in periodic evaluations.", Some("PERIODIC_COUNT")),
    ("eval", "batch", "Sequences per evaluation batch.", Some("EVAL_BATCH")),
    ("eval", "reduce", "How per-seed results are combined in the report.", None),
    ("eval", "grok_threshold", "The accuracy that counts as grokked in the report.", None),
    ("transformer", "kind", "`encoder` (bidirectional), `decoder` (causal) or `seq2seq` (encoder–decoder).", None),
    ("transformer", "layers", "Transformer blocks.", Some("LAYERS")),
    ("transformer", "d_model", "Model width.", Some("D_MODEL")),
    ("transformer", "heads", "Attention heads (d_model must be a multiple).", Some("HEADS")),
    ("transformer", "ffn", "Feed-forward width.", Some("FFN_FACTOR")),
    ("transformer", "norm", "Where the norm goes: `pre`, `post`, ...", None),
    ("transformer", "norm_type", "`layer_norm` or `rms_norm`.", None),
    ("transformer", "dropout", "Dropout probability.", Some("DROPOUT")),
    ("transformer", "position", "The positional encoding: `none`, `sinusoidal`, `learned`, `rope`, `alibi`, `relative`, `t5`, `randomized(...)`, `hard_alibi(...)`, `coupled`.", None),
    ("transformer", "embed_scale", "Multiply token embeddings by sqrt(d_model).", Some("EMBED_SCALE")),
    ("transformer", "embed_init", "Token embeddings start truncated N(0, σ²).", Some("EMBED_INIT")),
    ("transformer", "activation", "The feed-forward nonlinearity (`relu`, `gelu`, ...).", None),
    ("transformer", "final_norm", "A norm after the last block.", None),
    ("transformer", "head_bias", "The output head has a bias.", None),
    ("transformer", "attn_bias_init", "Initial attention projection biases (`zero`, `none`, ...).", None),
    ("transformer", "attn_weight_init", "Initial attention projection weights (`xavier`, ...).", None),
    ("transformer", "head", "The output head: `vocab` (linear) or `pointer` (attention over the input positions).", None),
    ("transformer", "encoder_layers", "Encoder blocks of a `kind = seq2seq` model (default: `layers`).", Some("LAYERS")),
    ("transformer", "decoder_layers", "Decoder blocks of a `kind = seq2seq` model (default: `layers`).", Some("LAYERS")),
    ("transformer", "cross_attention", "The decoder's attention over the source (`kind = seq2seq`): `standard`, `relative`, `bi_relative`, `location`, `mix_location`, `onestep`, `mix_onestep`, `monotonic`, `mix_monotonic`.", None),
    ("lstm", "layers", "Stacked LSTM layers.", Some("LSTM_LAYERS")),
    ("lstm", "hidden", "LSTM width.", Some("LSTM_HIDDEN")),
    ("lstm", "embed", "Token embedding width (default: `hidden`).", Some("LSTM_HIDDEN")),
    ("lstm", "style", "`torch` (nn.LSTM) or `haiku` (hk.LSTM, one-hot tokens).", None),
    ("lstm", "kind", "`lm` (one stack, every format) or `seq2seq` (encoder–decoder with attention).", None),
    ("lstm", "attention", "Decoder attention of a `kind = seq2seq` lstm: `bahdanau` (default), `luong` or `none`.", None),
    ("lstm", "input_feeding", "Luong's input feeding (`attention = luong`; default true).", None),
    ("lstm", "cross_attention", "A location variant in place of `attention` (`kind = seq2seq`): `relative`, `bi_relative`, `location`, `onestep`, `monotonic`, `mix_*`; `standard` (default) leaves `attention`.", None),
    ("rnn", "hidden", "Controller width.", Some("RNN_HIDDEN")),
    ("rnn", "activation", "The cell nonlinearity.", Some("RNN_ACTIVATION")),
    ("stack_rnn", "hidden", "Controller width.", Some("RNN_HIDDEN")),
    ("stack_rnn", "activation", "The cell nonlinearity.", Some("RNN_ACTIVATION")),
    ("stack_rnn", "cell", "Stack cell width.", Some("STACK_CELL")),
    ("stack_rnn", "depth", "Stack depth.", Some("STACK_DEPTH")),
    ("tape_rnn", "hidden", "Controller width.", Some("RNN_HIDDEN")),
    ("tape_rnn", "activation", "The cell nonlinearity.", Some("RNN_ACTIVATION")),
    ("tape_rnn", "cell", "Tape cell width.", Some("TAPE_CELL")),
    ("tape_rnn", "size", "Tape length.", Some("TAPE_SIZE")),
    ("machine", "symbols", "The tape alphabet.", None),
    ("machine", "blank", "The blank symbol.", None),
    ("machine", "states", "The machine's states.", None),
    ("machine", "start", "The start state.", None),
    ("machine", "halt", "The halting states.", None),
    ("machine", "output", "What the run's result is (the tape, ...).", None),
    ("machine", "max_steps", "The step limit of one run.", Some("MACHINE_STEPS")),
    ("machine", "partial", "Whether missing rules are allowed (the machine halts there).", None),
];

const DEFAULTS_RS: &str = include_str!("../ir/defaults.rs");

/// The value and the reason of the constant `name` of `src/ir/defaults.rs`: its initializer as
/// written, and its doc comment joined into one paragraph.
pub fn default_of(name: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = DEFAULTS_RS.lines().collect();
    let at = lines.iter().position(|l| l.starts_with(&format!("pub const {name}:")))?;
    let value = lines[at].split_once(" = ")?.1.trim_end_matches(';').trim().to_string();
    let mut doc: Vec<&str> = lines[..at].iter().rev().take_while(|l| l.starts_with("///")).copied().collect();
    doc.reverse();
    let doc = doc.iter().map(|l| l.trim_start_matches('/').trim()).collect::<Vec<_>>().join(" ");
    Some((value, doc))
}

/// Hover text for the field `field` in `context`, or `None` when the table lacks it.
pub fn field_hover(context: &str, field: &str) -> Option<String> {
    let (_, _, doc, default) = FIELD_DOCS.iter().find(|(c, f, ..)| *c == context && *f == field)?;
    let mut out = format!("**{field}** ({context})\n\n{doc}");
    if let Some((value, reason)) = default.and_then(default_of) {
        out.push_str(&format!("\n\nDefault: `{value}` ({}). {reason}", default.unwrap_or_default()));
    }
    Some(out)
}

//! The explanation texts of `algen explain` (see the parent module for the rules they follow).

/// A code's explanation: what it means, why, and an example spec with the fix.
pub const EXPLAINED: &[(&str, &str)] = &[
    (
        "algen::parse::syntax",
        "The text does not follow the grammar (grammar/algen.pest). The diagnostic points at the
first character the parser could not use and lists what it expected there.

Example:
    task t { alphabet = \"01\" input = string(alphabet) }
Fields of a block are separated by a comma or a line break:
    task t { alphabet = \"01\", input = string(alphabet) }",
    ),
    (
        "algen::import::missing_file",
        "An `import` names a file that cannot be read. Import paths are relative to the folder
of the file that imports them, not to the working directory. A path `std/NAME.alg` names
the spec library shipped with algen (specs/lib/NAME.alg) when no such local file exists.

Example:
    import \"lib/chomsky.alg\";     // read next to this spec
    import \"std/chomsky.alg\";     // the shipped copy, from any directory",
    ),
    (
        "algen::import::unknown_std",
        "`import \"std/NAME.alg\"` names the spec library shipped inside the binary, and the
library has no file NAME.alg (and no local file has that path either: a local
`std/NAME.alg` next to the importing spec is read first). The help lists the closest name.

Example:
    import \"std/grokking.alg\";    // the modular-arithmetic universes of Power et al. 2022
    split s { train = fraction 0.5, test = rest }
    experiment e { task = mod_add, model = m, split = s }",
    ),
    (
        "algen::import::cycle",
        "Files import each other in a cycle (a.alg imports b.alg, which imports a.alg). Each
file is loaded once; a cycle has no first file to load.

Fix: move the definitions both files need into a third file that both import.",
    ),
    (
        "algen::check::duplicate_name",
        "Two items (tasks, models, splits, experiments, lets ...) share a name, in one file or
across imported files. Names are global to a spec and its imports.

Example:
    task rev { ... }
    task rev { ... }        // error: rename one, e.g. `task rev_long`",
    ),
    (
        "algen::check::unknown_name",
        "A name that no item or `let` defines: a task, model or split named in an experiment, or
a variable in an expression. The help suggests the closest defined name.

Example:
    experiment e { task = reverze, model = m, split = s }   // did you mean `reverse`?",
    ),
    (
        "algen::check::unknown_field",
        "A block has a field it does not know, often a typo. The help suggests the closest field
or lists the allowed ones.

Example:
    train { stpes = 1000 }     // did you mean `steps`?",
    ),
    (
        "algen::check::duplicate_field",
        "A field is given twice in one block; algen does not pick one silently.

Example:
    train { steps = 1000, steps = 2000 }   // keep one",
    ),
    (
        "algen::check::missing_field",
        "A required field is absent, such as an experiment without `task`, `model` or `split`,
or a task without `input`.

Example:
    experiment e { task = t, model = m }             // error: no split
    experiment e { task = t, model = m, split = s }",
    ),
    (
        "algen::check::wrong_type",
        "A value of the wrong kind for its field: a string where a number is needed, a list
where one value is expected, a block where a value is expected, and so on.

Example:
    train { steps = \"1000\" }     // a number: `steps = 1000`",
    ),
    (
        "algen::check::bad_range",
        "A range that is empty, reversed or starts below its minimum. `a..b` excludes b, `a..=b`
includes it; lengths start at 1.

Example:
    split s { train = len 10..=1, test = len 11..=20 }   // reversed: `len 1..=10`",
    ),
    (
        "algen::check::out_of_range",
        "A number outside the interval its field allows (a learning rate of 0, a negative count,
a fraction over 1). The label states the interval.

Example:
    train { batch = 0 }      // at least 1",
    ),
    (
        "algen::check::step_end",
        "A warning: `len A..=B step S` lists A, A+S, A+2S, ... and stops at the last one not
past B, so B itself is left out when S does not divide B-A. The warning lists the lengths
used.

Example:
    test = len 13..=30 step 3     // lengths 13, 16, 19, 22, 25, 28: 30 is not tested
    test = len 13..=28 step 3     // says so
    test = len 13..=31 step 3     // goes one step further, to 31",
    ),
    (
        "algen::check::eval_off",
        "A warning: `eval { every = 0 }` does not mean \"every step\": it turns periodic
evaluation off, as leaving `every` out does. Only the evaluation after the last training
step runs, so curves.svg has one point and grokking-style curves are lost. Give a step
interval to see the curves, or leave `every` out to say \"at the end only\".

Example:
    eval { every = 500 }     // evaluate every 500 steps, and after the last",
    ),
    (
        "algen::check::unknown_value",
        "A value not among the ones the field allows (an optimizer, a schedule, a format ...).
The help suggests the closest allowed value or lists them.

Example:
    train { optimizer = adma(lr = 1e-3) }     // did you mean `adam`?",
    ),
    (
        "algen::check::unknown_position",
        "An unknown positional encoding. The encodings are none, sinusoidal, learned, rope,
alibi, relative, t5, randomized(..), hard_alibi and coupled(..).

Example:
    model m = transformer { position = rotary }    // did you mean `rope`?",
    ),
    (
        "algen::check::unknown_function",
        "A call to a function that does not exist in task expressions (see the README's list
of builtins: reverse, sort, len, count, inv, ...). The help suggests the closest one.

Example:
    target = revers(input)     // did you mean `reverse`?",
    ),
    (
        "algen::check::arity",
        "A function or encoding called with the wrong number or names of arguments.

Example:
    target = reverse(input, input)     // `reverse` takes one argument",
    ),
    (
        "algen::check::heads_divide",
        "A transformer's `d_model` must be a multiple of `heads`: each head gets d_model/heads
dimensions.

Example:
    model m = transformer { d_model = 64, heads = 3 }    // use heads = 2, 4 or 8",
    ),
    (
        "algen::check::position_len",
        "A learned position table (or a randomized range, or a coupled table) is shorter than
the longest sequence the model reads. The model reads more tokens than the input: query
slots or the target, depending on the format. The help names a size that passes.

Example:
    model m = transformer { position = learned(max_len = 16) }
    split s { train = len 1..=8, test = len 9..=40 }     // needs a longer table",
    ),
    (
        "algen::check::format_model",
        "The task's format does not fit the model kind: a decoder format (`lm`, the arithmetic
formats, a universe layout) needs `kind = decoder`; `transduce`, `tag` and `classify` need
an encoder; `seq2seq` needs an encoder–decoder (`kind = seq2seq`), and a seq2seq transformer
needs a `seq2seq` task. An LSTM fits every format except `seq2seq`.

Example:
    task t { ..., format = lm }
    model m = transformer { kind = decoder, ... }
    task s { grammar = scan, format = seq2seq }   // a grammar's examples for an encoder–decoder
    model e = transformer { kind = seq2seq, encoder_layers = 2, decoder_layers = 2, ... }",
    ),
    (
        "algen::check::seq2seq_field",
        "`encoder_layers` and `decoder_layers` give the depths of an encoder–decoder
(`kind = seq2seq`); an encoder-only or decoder-only transformer has one stack, whose depth
is `layers`. `cross_attention` picks how the decoder attends to the encoder's output, so it
exists only in an encoder–decoder too: `standard` (content), `relative`, `bi_relative`,
`location`, `mix_location`, `onestep`, `mix_onestep`, `monotonic`, `mix_monotonic` (the
location-based variants of Ray Chowdhury & Caragea 2023).

Example:
    model m = transformer { kind = decoder, encoder_layers = 2 }   // error
    model m = transformer { kind = decoder, cross_attention = onestep }   // error
    model m = transformer { kind = decoder, layers = 2 }
    model s = transformer { kind = seq2seq, encoder_layers = 2, decoder_layers = 2 }
    model l = transformer { kind = seq2seq, cross_attention = onestep }",
    ),
    (
        "algen::check::lstm_seq2seq_field",
        "`attention` and `input_feeding` configure the decoder of a recurrent encoder–decoder
(`lstm { kind = seq2seq }`); a language-model lstm (`kind = lm`, the default) has no decoder.
`input_feeding` (Luong et al. 2015: the previous attentional vector joins the decoder input)
belongs to `attention = luong`: Bahdanau's decoder already reads the context, and without
attention there is nothing to feed. A seq2seq lstm uses PyTorch's wiring, not `style = haiku`.
`cross_attention` (a location variant of Ray Chowdhury & Caragea 2023: `relative`,
`bi_relative`, `location`, `onestep`, `monotonic`, their `mix_` forms) replaces the `attention`
scorer, so the two cannot both be given unless `cross_attention = standard`.

Example:
    model m = lstm { attention = luong }                                   // error
    model m = lstm { kind = seq2seq, attention = bahdanau, input_feeding = true }   // error
    model m = lstm { kind = seq2seq, attention = luong, cross_attention = onestep } // error
    model m = lstm { kind = seq2seq, attention = luong, input_feeding = false }
    model m = lstm { kind = seq2seq, cross_attention = onestep }",
    ),
    (
        "algen::check::seq2seq_position",
        "A seq2seq transformer gives each side its own instance of the position scheme (the
encoder bidirectional, the decoder causal; cross-attention has no positions) and decodes with
key/value caches, which the schemes none, sinusoidal, learned, rope and alibi support.
Relative, t5, randomized, hard_alibi, coupled and reversed sinusoidal positions are not
implemented for it.

Example:
    model s = transformer { kind = seq2seq, position = relative }   // error
    model s = transformer { kind = seq2seq, position = rope }",
    ),
    (
        "algen::check::pointer_head",
        "A pointer network (Vinyals et al. 2015) outputs positions of its input: its output head
attends over the input's positions, so its classes are those positions and their number grows
with the input. `format = pointer` (targets are 0-based input positions, e.g.
`argsort(input)`) needs a transformer encoder with `head = pointer`, and a pointer head
needs that format: any other format has an output vocabulary, which a pointer head cannot
produce.

Example:
    task order { alphabet = \"0123456789\", input = string(alphabet), target = argsort(input), format = pointer }
    model ptr = transformer { kind = encoder, layers = 2, d_model = 64, heads = 4, head = pointer }",
    ),
    (
        "algen::check::compiled_task",
        "`model m = rasp_compiled { }` starts training from the weights that the RASP compiler
(`algen compile-rasp`, docs/rasp_compiler.md) makes of the task's target. The task must have
`target = rasp P.sop` and `format = tag` (one output per input position), and the split must
give training lengths: the s-op is compiled over the task's alphabet up to the longest one.

Example:
    task t { alphabet = \"abcd\", input = string(alphabet), target = rasp hist.hist_bos,
             bos = \"§\", format = tag, outputs = [1, 2, 3, 4, 5] }
    split s { train = len 1..=5, test = len 6..=10 }
    model m = rasp_compiled { }",
    ),
    (
        "algen::check::compiled_fails",
        "The task's RASP target does not compile to weights over the task's alphabet up to the
split's longest training length; the message carries the compiler's own code (`algen explain`
it). Most often there are too many inputs: the compiler enumerates every input (at most
100,000), so alphabet size ^ longest length must stay small.

Fix: shorten the training lengths, e.g. for a 10-letter alphabet
    split s { train = len 1..=4, test = len 5..=8 }     // 11,110 inputs, not 1,111,110",
    ),
    (
        "algen::check::compiled_outputs",
        "The compiled model reads its output as the argmax over the s-op's values, which must be
classes of the task: every value the s-op takes on the compiled inputs must be listed in the
task's `outputs`, and the s-op must not be a numerical mean (read by nearness).

Fix: list the values (a histogram up to length 5 takes 1..5), or `round(...)` a mean to make
it categorical:
    task t { ..., target = rasp hist.hist, format = tag, outputs = [1, 2, 3, 4, 5] }",
    ),
    (
        "algen::rasp_compile::options",
        "`algen compile-rasp` was given options it cannot compile with: an empty vocabulary, a
token that is empty, listed twice or the reserved BOS sink `<bos>`, or `--max-len 0`. The
vocabulary and the longest length fix the inputs the compiler enumerates, so both must be
non-empty.

Example:
    algen compile-rasp prog.rasp --sop hist --vocab abc --max-len 5 --bos §",
    ),
    (
        "algen::rasp_compile::too_many_inputs",
        "The compiler infers every s-op's value set by running the program on every input over
the vocabulary up to `--max-len`, and afterwards checks the compiled model on every one of
them; both are exact only because the enumeration is complete. It refuses more than 100,000
inputs (or more than 20,000,000 selector entries) rather than guessing from a sample.

Fix: a smaller vocabulary or a shorter `--max-len`:
    --vocab abc --max-len 8      # 9,840 inputs
    --vocab abcdef --max-len 8   # 2,015,538 inputs: refused",
    ),
    (
        "algen::rasp_compile::fails_on_input",
        "The RASP interpreter fails on one of the enumerated inputs (a division by zero, an index
out of range, a missing dictionary key ...). A compiled model must give a value on every
input up to `--max-len`, so the program is refused; the label points at the s-op without a
value and the message names the input.

Fix: make the program total (guard the division), or restrict `--vocab`/`--max-len` to the
inputs it is defined on.",
    ),
    (
        "algen::rasp_compile::not_causal",
        "With `--causal` the compiled attention is masked as in a decoder: a query sees only itself
and earlier positions. A selector that selects a later position on some input (or an s-op such
as `length` that reads every position) cannot be computed under that mask, so the compiler
refuses instead of making a model that is silently wrong.

Example:
    prevs = select(indices, indices, <=);   # keys at or before the query: compiles causally
    nexts = select(indices, indices, >);    # a later key: not with --causal",
    ),
    (
        "algen::rasp_compile::mean_default",
        "A numerical `aggregate` compiles as an attention average, whose result is a number: a
query that selects nothing reads the default, so the default must be a number too.

Example:
    prevs = select(indices, indices, <=);
    frac = aggregate(prevs, indicator(tokens == \"a\"));           # default 0: compiles
    frac = aggregate(prevs, indicator(tokens == \"a\"), \"none\");   # refused",
    ),
    (
        "algen::rasp_compile::precision",
        "A numerical mean is read from the residual stream by nearness to its known values. Two of
the values this mean takes on the enumerated inputs are closer than 1e-4 of their scale, so an
f32 attention average could not tell them apart and the read-out could be wrong.

Fix: average values of similar size (rescale large ones), or compile with a smaller
`--max-len` (fewer distinct fractions).",
    ),
    (
        "algen::rasp_compile::too_large",
        "One compiled block (an MLP lookup table, a categorical s-op's residual dimensions) would
need more than 50,000 residual dimensions or hidden units. Lookup MLPs grow with the number of
distinct input combinations the enumeration found.

Fix: compile with a smaller `--vocab` or `--max-len`.",
    ),
    (
        "algen::rasp_compile::disagrees",
        "After compiling, the compiler runs the model on every enumerated input and compares its
output with the interpreter's. A disagreement means the compiler made a wrong model: it is a
bug in algen (the compiler must refuse what it cannot compile exactly), never a property of
your program. The message names the first failing input, and a label names the first s-op
whose read-out from the residual stream differs.

Fix: report the program with the command line; until it is fixed, `algen rasp` runs the
program exactly (the interpreter), and a smaller `--max-len` may avoid the failing input.",
    ),
    (
        "algen::rasp_compile::internal",
        "An internal invariant of the RASP compiler failed (the message says which). It is a bug in
algen, not in the program.

Fix: report the program and the command line; `algen rasp` still runs the program exactly.",
    ),
    (
        "algen::check::unknown_metric",
        "An unknown metric or scope in `eval { metrics }` or in an `expect` line. Metrics are
token_accuracy and sequence_accuracy; scopes are train and test.

Example:
    expect all test.seq_accuracy >= 0.9     // did you mean `sequence_accuracy`?",
    ),
    (
        "algen::check::split_empty",
        "A split part over a finite universe that selects no example: its predicate or fraction
keeps nothing, so that part could neither train nor test.

Example:
    split s { train = where a > 200, test = rest }    // a ranges over 0..97",
    ),
    (
        "algen::run::expect",
        "An `expect` line of the experiment does not hold for the trained runs. Results,
report and plots are written anyway; the exit status is 1.

Example:
    expect all test.sequence_accuracy >= 0.99     // `all`: every variant and seed",
    ),
    (
        "algen::run::diverged",
        "The training loss became NaN or infinite. Lower the learning rate, add `clip`, or
use a warmup schedule.

Example:
    train { optimizer = adam(lr = 3e-4), clip = 1.0, schedule = warmup_cosine(warmup = 200) }",
    ),
];

//! Training traces (`algen run --trace DIR`): what another implementation needs to replay a
//! run step by step and compare its losses (the PyTorch parity harness, `benches/parity/`).
//!
//! Each traced run writes `DIR/<run id>/`:
//! - `init.safetensors`: every parameter by its algen name ([`crate::model::Params::list`]),
//!   as it stands before the first step (f32, the model's dtype);
//! - `batches.safetensors`: for every step `s` (from 1) what the forward pass and the loss
//!   consumed: `tokens_s` and `targets_s` (u32, `(B, T)`), `mask_s` (f32 loss mask, `(B, T)`),
//!   and `pad_s` (f32, 1 = real token; only for padded batches) and `ids_s` (u32 position ids,
//!   `(B, T)`; only for models that read coupled ids);
//! - `trace.json`: the run id, seed, the variant as algen resolved it (model and train
//!   configuration), the vocabulary sizes, the parameter names and shapes in creation order
//!   (the optimizer's order), and per step the learning-rate multiplier and the training loss
//!   algen computed (`lr_scale[s − 1]`, `loss[s − 1]`).
//!
//! The tracer only reads what the loop computes, so a traced run reaches the same numbers as
//! an untraced one (tested in `tests/trace.rs`). It keeps every batch in memory until the run
//! ends: it is meant for short runs. Files are written to a temporary name and renamed.

use super::{schedule, RunSpec, TrainError};
use crate::model::{ModelIo, Params};
use candle_core::{DType, Device, Tensor};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const INIT: &str = "init.safetensors";
pub const BATCHES: &str = "batches.safetensors";
pub const TRACE: &str = "trace.json";

/// Collects one run's batches and losses; writes the initial parameters at once.
pub struct Tracer {
    dir: PathBuf,
    params: Vec<(String, Vec<usize>)>,
    io: ModelIo,
    batches: HashMap<String, Tensor>,
    lr_scale: Vec<f64>,
    loss: Vec<f64>,
}

impl Tracer {
    /// Creates `root/<run id>/` and writes `init.safetensors` from `params` (before step 1).
    pub fn start(root: &Path, spec: &RunSpec, params: &Params, io: ModelIo) -> Result<Tracer, TrainError> {
        let id = crate::runs::run_id(spec.task, spec.split, spec.variant, spec.eval, spec.seed);
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).map_err(|err| TrainError::Io { path: dir.clone(), err })?;
        let init = params
            .named()
            .iter()
            .map(|(n, v)| Ok((n.clone(), v.as_tensor().to_dtype(DType::F32)?)))
            .collect::<candle_core::Result<HashMap<_, _>>>()?;
        save(&init, &dir.join(INIT))?;
        let (batches, lr_scale, loss) = (HashMap::new(), vec![], vec![]);
        Ok(Tracer { dir, params: params.list(), io, batches, lr_scale, loss })
    }

    /// Records step `step`'s batch, its learning-rate multiplier and its loss.
    pub(super) fn step(&mut self, spec: &RunSpec, step: usize, b: &super::Step, loss: f64) -> Result<(), TrainError> {
        let cfg = &spec.variant.train;
        let mut put = |name: &str, t: Tensor| self.batches.insert(format!("{name}_{step}"), t);
        put("tokens", b.tokens.clone());
        put("targets", b.targets.clone());
        put("mask", b.mask.to_dtype(DType::F32)?);
        if let Some(p) = &b.pad {
            put("pad", p.to_dtype(DType::F32)?);
        }
        if let Some(ids) = &b.ids {
            put("ids", Tensor::from_vec(ids.clone(), b.tokens.dims(), &Device::Cpu)?);
        }
        self.lr_scale.push(schedule::lr_scale(&cfg.schedule, step, cfg.steps));
        self.loss.push(loss);
        Ok(())
    }

    /// Writes `batches.safetensors` and `trace.json` (the steps recorded so far).
    pub fn finish(self, spec: &RunSpec) -> Result<PathBuf, TrainError> {
        save(&self.batches, &self.dir.join(BATCHES))?;
        let trace = json!({
            "id": self.dir.file_name().map(|n| n.to_string_lossy().into_owned()),
            "task": spec.task.name,
            "seed": spec.seed,
            "steps": self.loss.len(),
            "vocab_in": self.io.vocab_in,
            "vocab_out": self.io.vocab_out,
            "variant": spec.variant,
            "params": self.params,
            "lr_scale": self.lr_scale,
            "loss": self.loss,
        });
        let text = serde_json::to_string_pretty(&trace).expect("a trace serializes");
        let path = self.dir.join(TRACE);
        crate::report::write_atomic(&path, text.as_bytes()).map_err(|err| TrainError::Io { path, err })?;
        Ok(self.dir)
    }
}

/// `tensors` to `path` in the safetensors format, through a temporary file renamed over it.
fn save(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<(), TrainError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    candle_core::safetensors::save(tensors, &tmp)?;
    std::fs::rename(&tmp, path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        TrainError::Io { path: path.to_path_buf(), err }
    })
}

//! `checkpoint.safetensors`: everything a run needs to continue bit for bit — the model's
//! parameters, AdamW's f64 state (parameters, moments, step count), the gradient filter's
//! state, the batch sampler's RNG position and the training-loss accumulators.
//!
//! Tensor names: `param.<name>` (the model, its own dtype), `adam.theta.<i>`, `adam.m.<i>`,
//! `adam.v.<i>` (f64), `filter.ema.<i>` (f64, absent before the first step),
//! `filter.ma.<i>` (f64, `(k, n)`: the ring of raw gradients), and `meta.*` scalars (i64:
//! step, adam_t, loss_n, ma_seen, rng_hi/rng_lo; f64: loss_sum; u8: `meta.config`, the run's
//! resolved configuration as canonical JSON, see [`crate::runs`]). Written to a temporary file
//! in the same directory and renamed over the old checkpoint, so a kill leaves the previous
//! checkpoint or the new one, never a partial file.
//!
//! `meta.streams` (u8: JSON of [`Streams`]) holds the positions of the run's other random
//! streams: the training batches ([`super::batches::DataState`]), dropout and randomized
//! positions. A checkpoint without it (an older universe-task checkpoint) continues those
//! streams from their seeds, as before.

use super::batches::DataState;
use super::filter::Filter;
use super::optim::Adam;
use candle_core::{DType, Device, Result, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The file name inside a run's directory.
pub const FILE: &str = "checkpoint.safetensors";

/// The loop's own position: the last finished step, loss accumulators, the universe
/// sampler's RNG word position, and the other streams' positions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    pub step: usize,
    pub loss_sum: f64,
    pub loss_n: usize,
    pub rng_word_pos: u128,
    pub streams: Streams,
}

/// The positions (words drawn) of a run's random streams besides the universe sampler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Streams {
    /// The training batches of a generated or listed task.
    pub data: Option<DataState>,
    pub dropout: u128,
    /// The randomized-position stream, for a model that randomizes.
    pub positions: Option<u128>,
    /// `batching = epochs`, inside an epoch: examples served from it (`rng_word_pos` is then
    /// the sampler's position before the epoch's shuffle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_served: Option<usize>,
}

fn f64s(v: &[f64]) -> Result<Tensor> {
    Tensor::from_vec(v.to_vec(), v.len(), &Device::Cpu)
}

fn text(s: &str) -> Result<Tensor> {
    Tensor::from_vec(s.as_bytes().to_vec(), s.len(), &Device::Cpu)
}

fn i64s(v: i64) -> Result<Tensor> {
    Tensor::from_vec(vec![v], 1, &Device::Cpu)
}

/// Writes the checkpoint of a run at `meta.step` to `path` atomically.
/// `config` is the run's canonical configuration ([`crate::runs::config_json`]).
pub fn save(
    path: &Path,
    params: &[(String, Var)],
    opt: &Adam,
    filter: Option<&Filter>,
    meta: &Meta,
    config: &str,
) -> Result<()> {
    let mut t: HashMap<String, Tensor> = HashMap::new();
    t.insert("meta.config".into(), text(config)?);
    let streams = serde_json::to_string(&meta.streams).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    t.insert("meta.streams".into(), text(&streams)?);
    for (name, var) in params {
        t.insert(format!("param.{name}"), var.as_tensor().clone());
    }
    let (theta, m, v) = opt.state();
    for i in 0..theta.len() {
        t.insert(format!("adam.theta.{i}"), f64s(&theta[i])?);
        t.insert(format!("adam.m.{i}"), f64s(&m[i])?);
        t.insert(format!("adam.v.{i}"), f64s(&v[i])?);
    }
    match filter {
        Some(Filter::Ema { mu, .. }) => {
            for (i, m) in mu.iter().enumerate() {
                if let Some(m) = m {
                    t.insert(format!("filter.ema.{i}"), f64s(m)?);
                }
            }
        }
        Some(Filter::Ma { ring, seen, .. }) => {
            for (i, r) in ring.iter().enumerate() {
                if let Some(n) = r.first().map(|x| x.len()) {
                    let flat: Vec<f64> = r.iter().flatten().copied().collect();
                    t.insert(format!("filter.ma.{i}"), Tensor::from_vec(flat, (r.len(), n), &Device::Cpu)?);
                }
            }
            t.insert("meta.ma_seen".into(), i64s(*seen as i64)?);
        }
        None => {}
    }
    t.insert("meta.step".into(), i64s(meta.step as i64)?);
    t.insert("meta.adam_t".into(), i64s(opt.t as i64)?);
    t.insert("meta.loss_n".into(), i64s(meta.loss_n as i64)?);
    t.insert("meta.loss_sum".into(), f64s(&[meta.loss_sum])?);
    t.insert("meta.rng_hi".into(), i64s((meta.rng_word_pos >> 64) as u64 as i64)?);
    t.insert("meta.rng_lo".into(), i64s(meta.rng_word_pos as u64 as i64)?);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    let written = candle_core::safetensors::save(&t, &tmp).and_then(|_| {
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path).map_err(candle_core::Error::from)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The step a checkpoint was written at and the configuration it records (`None` when an
/// older algen wrote it). Fails when the file is not a readable checkpoint.
pub fn peek(path: &Path) -> Result<(usize, Option<String>)> {
    let t = candle_core::safetensors::load(path, &Device::Cpu)?;
    let step = match t.get("meta.step") {
        Some(s) => s.to_vec1::<i64>()?.first().copied().unwrap_or(-1),
        None => candle_core::bail!("it lacks `meta.step`"),
    };
    if step < 0 {
        candle_core::bail!("its step is {step}")
    }
    let config = match t.get("meta.config") {
        Some(c) => Some(
            String::from_utf8(c.to_vec1::<u8>()?)
                .map_err(|_| candle_core::Error::Msg("its configuration is not UTF-8".into()))?,
        ),
        None => None,
    };
    Ok((step as usize, config))
}

/// Reads the checkpoint at `path` into the run's parameters, optimizer and filter; returns
/// the loop's position. Every tensor must fit the model the spec builds.
pub fn load(path: &Path, params: &[(String, Var)], opt: &mut Adam, filter: Option<&mut Filter>) -> Result<Meta> {
    let t = candle_core::safetensors::load(path, &Device::Cpu)?;
    let get = |k: &str| t.get(k).ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks `{k}`")));
    let int = |k: &str| -> Result<i64> {
        get(k)?.to_vec1::<i64>()?.first().copied().ok_or_else(|| candle_core::Error::Msg(k.into()))
    };
    let vec = |k: &str| -> Result<Vec<f64>> { get(k)?.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>() };
    let n = params.len();
    let (mut theta, mut m, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        theta.push(vec(&format!("adam.theta.{i}"))?);
        m.push(vec(&format!("adam.m.{i}"))?);
        v.push(vec(&format!("adam.v.{i}"))?);
    }
    opt.restore(theta, m, v, int("meta.adam_t")? as usize)?;
    for (name, var) in params {
        let saved = get(&format!("param.{name}"))?;
        if saved.shape() != var.as_tensor().shape() {
            candle_core::bail!(
                "checkpoint parameter `{name}` has shape {:?}, the model {:?}",
                saved.shape(),
                var.shape()
            )
        }
        var.set(&saved.to_dtype(var.dtype())?)?;
    }
    match filter {
        Some(Filter::Ema { mu, .. }) => {
            for (i, m) in mu.iter_mut().enumerate() {
                *m = t.contains_key(&format!("filter.ema.{i}")).then(|| vec(&format!("filter.ema.{i}"))).transpose()?;
            }
        }
        Some(Filter::Ma { ring, seen, .. }) => {
            for (i, r) in ring.iter_mut().enumerate() {
                *r = match t.get(&format!("filter.ma.{i}")) {
                    Some(x) => x.to_dtype(DType::F64)?.to_vec2::<f64>()?,
                    None => vec![],
                };
            }
            *seen = int("meta.ma_seen")? as usize;
        }
        None => {}
    }
    let rng_word_pos = ((int("meta.rng_hi")? as u64 as u128) << 64) | int("meta.rng_lo")? as u64 as u128;
    let streams = match t.get("meta.streams") {
        Some(s) => serde_json::from_slice(&s.to_vec1::<u8>()?)
            .map_err(|e| candle_core::Error::Msg(format!("its stream positions do not read: {e}")))?,
        None => Streams::default(),
    };
    Ok(Meta {
        step: int("meta.step")? as usize,
        loss_sum: vec("meta.loss_sum")?.first().copied().unwrap_or(0.0),
        loss_n: int("meta.loss_n")? as usize,
        rng_word_pos,
        streams,
    })
}

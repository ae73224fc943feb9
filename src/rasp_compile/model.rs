//! The compiled model as plain dense matrices, and its forward pass in f32.
//!
//! Architecture (no layer norm, no biases; constants come from the residual's
//! `one` direction): `x = tok[id] + pos[t]`; per layer `x += Σ_h softmax(q·kᵀ) v W_O`
//! (scores unscaled, a causal mask when compiled `--causal`), then
//! `x += relu(x W1) W2`; the output is `x W_U` at every position after BOS.

/// One head: `wq`, `wk` are D×dh, `wv` is D×dv, `wo` is dv×D (row-major).
#[derive(Clone, Debug)]
pub struct HeadW {
    pub dh: usize,
    pub dv: usize,
    pub wq: Vec<f32>,
    pub wk: Vec<f32>,
    pub wv: Vec<f32>,
    pub wo: Vec<f32>,
}

/// One layer: heads, then an MLP with `hidden` units (`w1` D×H, `w2` H×D).
#[derive(Clone, Debug)]
pub struct LayerW {
    pub heads: Vec<HeadW>,
    pub hidden: usize,
    pub w1: Vec<f32>,
    pub w2: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct Model {
    /// Residual width.
    pub d: usize,
    /// Token names; id 0 is the BOS sink.
    pub vocab: Vec<String>,
    /// Positions the position embedding covers (BOS included).
    pub max_pos: usize,
    /// V×D and P×D.
    pub tok: Vec<f32>,
    pub pos: Vec<f32>,
    pub layers: Vec<LayerW>,
    /// D×O.
    pub unembed: Vec<f32>,
    pub n_out: usize,
    pub causal: bool,
}

/// `a` (n×k) times `b` (k×m).
pub fn matmul(a: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * m];
    for i in 0..n {
        for p in 0..k {
            let x = a[i * k + p];
            if x == 0.0 {
                continue;
            }
            let row = &b[p * m..(p + 1) * m];
            for (o, w) in out[i * m..(i + 1) * m].iter_mut().zip(row) {
                *o += x * w;
            }
        }
    }
    out
}

impl Model {
    /// The final residual stream (T×D) for token ids (the first must be BOS, id 0), or
    /// `None` for an input longer than the model's positions or with an unknown id.
    pub fn residual(&self, ids: &[usize]) -> Option<Vec<f32>> {
        let (t, d) = (ids.len(), self.d);
        if t > self.max_pos || ids.iter().any(|&i| i >= self.vocab.len()) {
            return None;
        }
        let mut x = vec![0f32; t * d];
        for (p, &id) in ids.iter().enumerate() {
            for j in 0..d {
                x[p * d + j] = self.tok[id * d + j] + self.pos[p * d + j];
            }
        }
        for layer in &self.layers {
            let mut add = vec![0f32; t * d];
            for h in &layer.heads {
                let o = self.head(h, &x, t);
                add.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            }
            x.iter_mut().zip(&add).for_each(|(a, b)| *a += b);
            if layer.hidden > 0 {
                let mut hid = matmul(&x, &layer.w1, t, d, layer.hidden);
                hid.iter_mut().for_each(|v| *v = v.max(0.0));
                let o = matmul(&hid, &layer.w2, t, layer.hidden, d);
                x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            }
        }
        Some(x)
    }

    fn head(&self, h: &HeadW, x: &[f32], t: usize) -> Vec<f32> {
        let d = self.d;
        let q = matmul(x, &h.wq, t, d, h.dh);
        let k = matmul(x, &h.wk, t, d, h.dh);
        let v = matmul(x, &h.wv, t, d, h.dv);
        let mut mixed = vec![0f32; t * h.dv];
        for i in 0..t {
            let keys = if self.causal { i + 1 } else { t };
            let scores: Vec<f32> =
                (0..keys).map(|j| (0..h.dh).map(|c| q[i * h.dh + c] * k[j * h.dh + c]).sum::<f32>()).collect();
            let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let w: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
            let z: f32 = w.iter().sum();
            for (j, wj) in w.iter().enumerate() {
                for c in 0..h.dv {
                    mixed[i * h.dv + c] += wj / z * v[j * h.dv + c];
                }
            }
        }
        matmul(&mixed, &h.wo, t, h.dv, d)
    }

    /// The output scores (T×O) of a residual stream.
    pub fn logits(&self, x: &[f32]) -> Vec<f32> {
        matmul(x, &self.unembed, x.len() / self.d, self.d, self.n_out)
    }

    /// Parameters (every weight matrix entry).
    pub fn params(&self) -> usize {
        let mut n = self.tok.len() + self.pos.len() + self.unembed.len();
        for l in &self.layers {
            n += l.w1.len() + l.w2.len();
            n += l.heads.iter().map(|h| h.wq.len() + h.wk.len() + h.wv.len() + h.wo.len()).sum::<usize>();
        }
        n
    }
}

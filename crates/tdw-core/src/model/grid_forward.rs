//! The forward pass over the full (a, b) grid probe, computed from per-token tables.
//!
//! Every analysis runs the same probe: all p² sequences `[a, b, =]`. In a one-layer model the
//! keys, values and queries at positions 0 and 1 depend on one token each, and everything at the
//! "=" position starts from the same vector W_E[p] + W_pos[2]. So the attention is computed from
//! p-row tables instead of p²·3 rows, and the MLP and unembedding only at the "=" position —
//! the only position analyzers read. The results are the same numbers TransformerLens' forward
//! produces (checked against the burn forward in the tests), at a fraction of the cost.

use indexmap::IndexMap;
use ndarray::{Array1, Array2, Array4, ArrayView2, Axis, s};

use crate::kernels::linalg;
use crate::model::bundle::{ActivationBundle, DeferredTail, transformer_weights};
use crate::model::state::{HostTensor, StateDict};
use crate::model::transformer::Transformer;

fn matrix(t: &HostTensor) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((t.shape[0], t.shape[1]), &t.data).expect("2-d state tensor")
}

fn vector(t: &HostTensor) -> Array1<f32> {
    Array1::from(t.data.clone())
}

/// `x @ W[h] + b[h]` for every head: `[rows, d_model]` → `[rows, heads·d_head]`.
fn project(x: &Array2<f32>, w: &HostTensor, b: &HostTensor) -> Array2<f32> {
    let (h, d, dh) = (w.shape[0], w.shape[1], w.shape[2]);
    let w = ndarray::ArrayView3::from_shape((h, d, dh), &w.data).expect("3-d");
    let w = w
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((d, h * dh))
        .expect("contiguous");
    linalg::dot(&x.view(), &w.view()) + &Array1::from(b.data.clone())
}

/// The bundle of a one-layer model on the full grid probe of modulus `p`.
pub fn grid_bundle(model: &Transformer, p: usize) -> ActivationBundle {
    let config = model.config();
    let (h, dh, d) = (config.n_heads, config.d_head, config.d_model);
    let state: StateDict = model.to_state();
    let get = |name: &str| {
        state
            .get(name)
            .unwrap_or_else(|| panic!("a one-layer model has `{name}`"))
    };
    let w_e = matrix(get("embed.W_E"));
    let w_pos = matrix(get("pos_embed.W_pos"));
    let scale = (dh as f32).sqrt();

    // Residual stream at each position, per token: x0[a], x1[b], and the constant x2.
    let tokens = w_e.slice(s![..p, ..]);
    let x0 = &tokens + &w_pos.row(0);
    let x1 = &tokens + &w_pos.row(1);
    let x2: Array2<f32> = (&w_e.row(p) + &w_pos.row(2)).insert_axis(Axis(0));
    let table = |x: &Array2<f32>, w: &str, b: &str| project(x, get(w), get(b));
    let (q1, k0, k1) = (
        table(&x1, "blocks.0.attn.W_Q", "blocks.0.attn.b_Q"),
        table(&x0, "blocks.0.attn.W_K", "blocks.0.attn.b_K"),
        table(&x1, "blocks.0.attn.W_K", "blocks.0.attn.b_K"),
    );
    let (v0, v1) = (
        table(&x0, "blocks.0.attn.W_V", "blocks.0.attn.b_V"),
        table(&x1, "blocks.0.attn.W_V", "blocks.0.attn.b_V"),
    );
    let q2 = table(&x2, "blocks.0.attn.W_Q", "blocks.0.attn.b_Q");
    let k2 = table(&x2, "blocks.0.attn.W_K", "blocks.0.attn.b_K");
    let v2 = table(&x2, "blocks.0.attn.W_V", "blocks.0.attn.b_V");
    let dot = |a: ndarray::ArrayView1<f32>, b: ndarray::ArrayView1<f32>| a.dot(&b) / scale;

    let rows = p * p;
    let mut pattern = Array4::<f32>::zeros((rows, h, 3, 3));
    let mut z = Array2::<f32>::zeros((rows, h * dh));
    for head in 0..h {
        let hs = head * dh..(head + 1) * dh;
        let q2h = q2.slice(s![0, hs.clone()]);
        let s22 = dot(q2h, k2.slice(s![0, hs.clone()]));
        let s20: Vec<f32> = (0..p)
            .map(|a| dot(q2h, k0.slice(s![a, hs.clone()])))
            .collect();
        let s21: Vec<f32> = (0..p)
            .map(|b| dot(q2h, k1.slice(s![b, hs.clone()])))
            .collect();
        for (a, &t0) in s20.iter().enumerate() {
            for (b, &t1) in s21.iter().enumerate() {
                let row = a * p + b;
                pattern[[row, head, 0, 0]] = 1.0;
                // Query at b's position attends to a and to itself.
                let (s10, s11) = (
                    dot(q1.slice(s![b, hs.clone()]), k0.slice(s![a, hs.clone()])),
                    dot(q1.slice(s![b, hs.clone()]), k1.slice(s![b, hs.clone()])),
                );
                let m = s10.max(s11);
                let (e0, e1) = ((s10 - m).exp(), (s11 - m).exp());
                pattern[[row, head, 1, 0]] = e0 / (e0 + e1);
                pattern[[row, head, 1, 1]] = e1 / (e0 + e1);
                // The "=" query attends to a, b and itself.
                let m = t0.max(t1).max(s22);
                let (e0, e1, e2) = ((t0 - m).exp(), (t1 - m).exp(), (s22 - m).exp());
                let sum = e0 + e1 + e2;
                let (w0, w1, w2) = (e0 / sum, e1 / sum, e2 / sum);
                pattern[[row, head, 2, 0]] = w0;
                pattern[[row, head, 2, 1]] = w1;
                pattern[[row, head, 2, 2]] = w2;
                let mut zr = z.slice_mut(s![row, hs.clone()]);
                zr.assign(&v0.slice(s![a, hs.clone()]));
                zr *= w0;
                zr.scaled_add(w1, &v1.slice(s![b, hs.clone()]));
                zr.scaled_add(w2, &v2.slice(s![0, hs.clone()]));
            }
        }
    }
    let w_o = get("blocks.0.attn.W_O");
    let w_o = ArrayView2::from_shape((h * dh, d), &w_o.data).expect("W_O");
    let attn_out = linalg::dot(&z.view(), &w_o) + &vector(get("blocks.0.attn.b_O"));
    let resid_mid = &attn_out + &x2.row(0);
    let pre = linalg::dot(&resid_mid.view(), &matrix(get("blocks.0.mlp.W_in")))
        + &vector(get("blocks.0.mlp.b_in"));
    let post = pre.mapv_into(|v| v.max(0.0));
    let resid_pre = x2.broadcast((rows, d)).expect("broadcast a row").to_owned();

    // resid_post = resid_mid + post·W_out + b_out and logits = resid_post·W_U + b_U, on first use.
    let (w_out, b_out) = (
        matrix(get("blocks.0.mlp.W_out")).to_owned(),
        vector(get("blocks.0.mlp.b_out")),
    );
    let (w_u, b_u) = (
        matrix(get("unembed.W_U")).to_owned(),
        vector(get("unembed.b_U")),
    );
    let tail_resid_mid = resid_mid;
    let tail = DeferredTail(std::sync::Arc::new(move |post: &Array2<f32>| {
        let mlp_out = linalg::dot(&post.view(), &w_out.view()) + &b_out;
        let resid_post = &tail_resid_mid + &mlp_out;
        let logits = linalg::dot(&resid_post.view(), &w_u.view()) + &b_u;
        (resid_post, logits)
    }));

    let mut residual = IndexMap::new();
    residual.insert("resid_pre", resid_pre);
    residual.insert("attn_out", attn_out);
    ActivationBundle {
        weights: transformer_weights(model),
        mlp_post: Some(post),
        residual,
        attention_pattern: Some(pattern),
        logits: None,
        tail: Some(tail),
        model: Some(model.clone()),
        ..Default::default()
    }
}

//! The vector kernels of the per-row work (gathers of table rows, scores, scatters, the loss):
//! `gather`, `axpy`, `dot`, `relu_back` and `cross_entropy`, compiled for AVX-512 and for
//! AVX2 + FMA and chosen at run time, with a portable fallback. Without this the default x86-64
//! target would vectorise them with SSE2 only. Every version computes the same bits: the kernels
//! fix their summation order in their lanes, whatever width the compiler maps them to.

/// Runs the widest compiled version of kernel `$name` that the CPU supports, else falls through
/// to the portable code after it.
macro_rules! dispatch {
    ($name:ident($($arg:expr),*)) => {
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: the CPU supports the module's target features (checked by `level`).
            Level::Avx512 => return unsafe { avx512::$name($($arg),*) },
            Level::Avx2 => return unsafe { avx2::$name($($arg),*) },
            Level::Portable => {}
        }
    };
}

/// `y += alpha · x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    dispatch!(axpy(alpha, x, y));
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `out = base + Σ_i a_i · x_i`, summed in the order of `terms` (the same bits as a copy and
/// one [`axpy`] per term), with each block of `out` kept in registers across all terms instead
/// of loaded and stored once per term; with `relu`, `max(0, ·)` of that.
#[inline]
pub fn gather(out: &mut [f32], base: &[f32], terms: &[(f32, &[f32])], relu: bool) {
    debug_assert!(base.len() == out.len() && terms.iter().all(|(_, x)| x.len() == out.len()));
    dispatch!(gather(out, base, terms, relu));
    gather_lanes(out, base, terms, relu, |a, x, y| a * x + y)
}

#[inline(always)]
fn gather_lanes(
    out: &mut [f32],
    base: &[f32],
    terms: &[(f32, &[f32])],
    relu: bool,
    fma: impl Fn(f32, f32, f32) -> f32 + Copy,
) {
    let floor = if relu { 0.0 } else { f32::NEG_INFINITY };
    // 128 lanes keep eight AVX-512 FMA chains in flight (the FMA latency is 4 cycles, two
    // issue per cycle; 64 lanes left the gather ~25% slower); the 16- and 8-lane passes and the
    // scalar tail take the rest. Each element's sum is the same whatever pass computes it.
    let c = gather_blocks::<128>(out, base, terms, floor, fma, 0);
    let c = gather_blocks::<16>(out, base, terms, floor, fma, c);
    let c = gather_blocks::<8>(out, base, terms, floor, fma, c);
    for c in c..out.len() {
        let mut acc = base[c];
        for &(a, x) in terms {
            acc = fma(a, x[c], acc);
        }
        out[c] = acc.max(floor);
    }
}

/// [`gather_lanes`] on the whole blocks of `LANES` elements from `start`; returns where they end.
#[inline(always)]
fn gather_blocks<const LANES: usize>(
    out: &mut [f32],
    base: &[f32],
    terms: &[(f32, &[f32])],
    floor: f32,
    fma: impl Fn(f32, f32, f32) -> f32,
    start: usize,
) -> usize {
    let mut c = start;
    while c + LANES <= out.len() {
        let mut acc = [0.0f32; LANES];
        acc.copy_from_slice(&base[c..c + LANES]);
        for &(a, x) in terms {
            let x = &x[c..c + LANES];
            for l in 0..LANES {
                acc[l] = fma(a, x[l], acc[l]);
            }
        }
        for (o, a) in out[c..c + LANES].iter_mut().zip(acc) {
            *o = a.max(floor);
        }
        c += LANES;
    }
    c
}

/// `total += block` in f64, then `block = 0`.
#[inline]
pub fn drain_into_f64(block: &mut [f32], total: &mut [f64]) {
    debug_assert_eq!(block.len(), total.len());
    dispatch!(drain_into_f64(block, total));
    drain_lanes(block, total)
}

#[inline(always)]
fn drain_lanes(block: &mut [f32], total: &mut [f64]) {
    for (t, b) in total.iter_mut().zip(block.iter_mut()) {
        *t += *b as f64;
        *b = 0.0;
    }
}

/// Zeroes `grad` wherever the ReLU output `act` is 0 (its input was not positive).
#[inline]
pub fn relu_back(grad: &mut [f32], act: &[f32]) {
    dispatch!(relu_back(grad, act));
    relu_back_lanes(grad, act)
}

#[inline(always)]
fn relu_back_lanes(grad: &mut [f32], act: &[f32]) {
    for (g, &x) in grad.iter_mut().zip(act) {
        *g = if x > 0.0 { *g } else { 0.0 };
    }
}

/// Cross-entropy of one row, `-log softmax(z)[label]`, with the log-softmax in f64 (MIScope's
/// `compute_loss` casts the logits to float64); with `grad`, also `(softmax(z) - onehot(label))
/// · scale` from the same exponentials, kept in f64 in `exps` (in f32 the label's p - 1 would
/// cancel). The exponentials are [`exp_nonpositive_with`], which vectorises; the loss and gradient
/// agree with the libm `exp` version to ~1e-15 relative.
#[inline]
pub fn cross_entropy(
    z: &[f32],
    label: usize,
    scale: f64,
    exps: &mut [f64],
    grad: Option<&mut [f32]>,
) -> f64 {
    dispatch!(cross_entropy(z, label, scale, exps, grad));
    cross_entropy_lanes(z, label, scale, exps, grad, |a, b, c| a * b + c)
}

/// [`cross_entropy`] of consecutive rows of `logits` (`classes` each): each row's loss into
/// `losses` and, with `grads`, its gradient row; `label(i)` is row i's class.
pub fn cross_entropy_rows(
    logits: &[f32],
    classes: usize,
    label: impl Fn(usize) -> usize,
    scale: f64,
    losses: &mut [f64],
    grads: Option<&mut [f32]>,
) {
    let mut exps = vec![0.0; classes];
    let mut grads = grads.map(|g| g.chunks_mut(classes));
    for (i, (loss, z)) in losses.iter_mut().zip(logits.chunks(classes)).enumerate() {
        let grad = grads.as_mut().and_then(Iterator::next);
        *loss = cross_entropy(z, label(i), scale, &mut exps, grad);
    }
}

#[inline(always)]
fn cross_entropy_lanes(
    z: &[f32],
    label: usize,
    scale: f64,
    exps: &mut [f64],
    grad: Option<&mut [f32]>,
    fma: impl Fn(f64, f64, f64) -> f64 + Copy,
) -> f64 {
    // The max in f32 is the max in f64: the conversion is exact and monotone. Taken in 8
    // lanes (a scalar fold of f32::max does not vectorise).
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = z.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
    }
    let max = lanes
        .iter()
        .chain(tail)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max) as f64;
    for (e, &x) in exps.iter_mut().zip(z) {
        *e = exp_nonpositive_with(x as f64 - max, fma);
    }
    // Summed in 8 lanes, then folded: one chain of 113 dependent adds took longer than the
    // exponentials.
    let mut lanes = [0.0f64; 8];
    let chunks = exps.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (s, e) in lanes.iter_mut().zip(chunk) {
            *s += e;
        }
    }
    let sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
        + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
        + tail;
    if let Some(grad) = grad {
        let inv = scale / sum;
        // Probabilities below f32's smallest normal are written as 0, not as subnormals: late in
        // training most classes' probabilities are that small, and subnormal operands make every
        // product they enter ~5x slower on x86 (microcode assists). They change no update: a
        // gradient entry of < 1.2e-38 is below f32's resolution of any weight.
        for (g, e) in grad.iter_mut().zip(exps.iter()) {
            let v = e * inv;
            *g = if v < f32::MIN_POSITIVE as f64 {
                0.0
            } else {
                v as f32
            };
        }
        grad[label] = ((exps[label] / sum - 1.0) * scale) as f32;
    }
    sum.ln() + max - z[label] as f64
}

/// `e^x` for `x ≤ 0` in f64, branch-free so that loops over it vectorise: `x = k·ln 2 + r` with
/// `|r| ≤ ln 2 / 2`, `e^r` by its Taylor series to `r^13` (truncation under 2e-16 relative), and
/// `2^k` written into the exponent bits. Below -700 it returns `e^-700` (~1e-304): such a term
/// vanishes next to the softmax's largest term, which is 1.
/// The polynomial's multiply-adds are done by `fma` (fused where the CPU has it).
#[inline(always)]
fn exp_nonpositive_with(x: f64, fma: impl Fn(f64, f64, f64) -> f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5·2^52: adding it rounds to an integer and leaves that integer in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let x = x.max(-700.0);
    let shifted = x * std::f64::consts::LOG2_E + SHIFTER;
    let k = shifted - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for inv_factorial in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = fma(p, r, inv_factorial);
    }
    // k lies in [-1010, 0]: its two's complement sits in the low bits of `shifted`.
    let k_bits = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    p * scale
}

/// `Σ x·y`, summed in 32 lanes (four independent FMA chains) then across them (a fixed order: deterministic per machine).
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    debug_assert_eq!(x.len(), y.len());
    dispatch!(dot(x, y));
    dot_lanes::<false>(x, y, 0.0, &mut [], |a, b, c| a * b + c)
}

/// `acc += alpha · x` and `x·y` (as [`dot`]) in one pass: `x` is read once for both, which is
/// what the backward scatter needs of each data row and the table rows it read.
#[inline]
pub fn axpy_dot(alpha: f32, x: &[f32], acc: &mut [f32], y: &[f32]) -> f32 {
    debug_assert!(x.len() == y.len() && x.len() == acc.len());
    dispatch!(axpy_dot(alpha, x, acc, y));
    dot_lanes::<true>(x, y, alpha, acc, |a, b, c| a * b + c)
}

/// `x·y` in 32 lanes; with `AXPY`, also `out += alpha · x`, elementwise. The remainder past
/// the 32-lane blocks goes in 8 lanes, then one by one (at 113 classes: 3·32 + 2·8 + 1), each
/// in its own accumulators: one array updated at several widths is kept in memory by LLVM.
#[inline(always)]
fn dot_lanes<const AXPY: bool>(
    x: &[f32],
    y: &[f32],
    alpha: f32,
    out: &mut [f32],
    fma: impl Fn(f32, f32, f32) -> f32 + Copy,
) -> f32 {
    let n = x.len();
    let (y, out) = (&y[..n], if AXPY { &mut out[..n] } else { out });
    let wide = n / 32 * 32;
    let narrow = wide + (n - wide) / 8 * 8;
    let mut acc = [0.0f32; 32];
    for c in (0..wide).step_by(32) {
        lanes_step::<32, AXPY>(&mut acc, x, y, alpha, out, c, fma);
    }
    let mut acc8 = [0.0f32; 8];
    for c in (wide..narrow).step_by(8) {
        lanes_step::<8, AXPY>(&mut acc8, x, y, alpha, out, c, fma);
    }
    let mut tail = 0.0;
    for c in narrow..n {
        tail = fma(x[c], y[c], tail);
        if AXPY {
            out[c] = fma(alpha, x[c], out[c]);
        }
    }
    // Folded in halves, a vector add per step, instead of 31 dependent scalar adds.
    fold(&mut acc) + fold(&mut acc8) + tail
}

/// `W` lanes of [`dot_lanes`] from element `c`: `acc += x·y` lane by lane and, with `AXPY`,
/// `out += alpha · x`.
#[inline(always)]
fn lanes_step<const W: usize, const AXPY: bool>(
    acc: &mut [f32; W],
    x: &[f32],
    y: &[f32],
    alpha: f32,
    out: &mut [f32],
    c: usize,
    fma: impl Fn(f32, f32, f32) -> f32,
) {
    let (xs, ys): (&[f32; W], &[f32; W]) = (chunk(x, c), chunk(y, c));
    for l in 0..W {
        acc[l] = fma(xs[l], ys[l], acc[l]);
    }
    if AXPY {
        let os: &mut [f32; W] = chunk_mut(out, c);
        for l in 0..W {
            os[l] = fma(alpha, xs[l], os[l]);
        }
    }
}

/// The sum of `lanes` by halving: a fixed order that vectorises.
#[inline(always)]
fn fold<const N: usize>(lanes: &mut [f32; N]) -> f32 {
    let mut width = N / 2;
    while width > 0 {
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
        width /= 2;
    }
    lanes[0]
}

#[inline(always)]
fn chunk<const N: usize>(x: &[f32], at: usize) -> &[f32; N] {
    x[at..at + N].try_into().expect("N elements")
}

#[inline(always)]
fn chunk_mut<const N: usize>(x: &mut [f32], at: usize) -> &mut [f32; N] {
    (&mut x[at..at + N]).try_into().expect("N elements")
}

/// The widest kernel set this CPU runs.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Level {
    Avx512,
    Avx2,
    Portable,
}

#[cfg(target_arch = "x86_64")]
fn level() -> Level {
    use std::arch::is_x86_feature_detected as has;
    use std::sync::OnceLock;
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        if has!("avx512f") && has!("avx2") && has!("fma") {
            Level::Avx512
        } else if has!("avx2") && has!("fma") {
            Level::Avx2
        } else {
            Level::Portable
        }
    })
}

/// The kernels compiled for one set of target features (the callers check the CPU has them).
/// `$dots`: the module's `dot` and `axpy_dot`.
macro_rules! kernels {
    ($module:ident, $features:literal, { $($dots:item)* }) => {
        #[cfg(target_arch = "x86_64")]
        mod $module {
            #[target_feature(enable = $features)]
            pub unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
                for (y, x) in y.iter_mut().zip(x) {
                    *y = alpha.mul_add(*x, *y);
                }
            }

            #[target_feature(enable = $features)]
            pub unsafe fn gather(
                out: &mut [f32],
                base: &[f32],
                terms: &[(f32, &[f32])],
                relu: bool,
            ) {
                super::gather_lanes(out, base, terms, relu, |a, x, y| a.mul_add(x, y))
            }

            #[target_feature(enable = $features)]
            pub unsafe fn relu_back(grad: &mut [f32], act: &[f32]) {
                super::relu_back_lanes(grad, act)
            }

            #[target_feature(enable = $features)]
            pub unsafe fn drain_into_f64(block: &mut [f32], total: &mut [f64]) {
                super::drain_lanes(block, total)
            }

            #[target_feature(enable = $features)]
            pub unsafe fn cross_entropy(
                z: &[f32],
                label: usize,
                scale: f64,
                exps: &mut [f64],
                grad: Option<&mut [f32]>,
            ) -> f64 {
                super::cross_entropy_lanes(z, label, scale, exps, grad, f64::mul_add)
            }


            $($dots)*
        }
    };
}

kernels!(avx2, "avx2,fma", {
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
        super::dot_lanes::<false>(x, y, 0.0, &mut [], |a, b, c| a.mul_add(b, c))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy_dot(alpha: f32, x: &[f32], acc: &mut [f32], y: &[f32]) -> f32 {
        super::dot_lanes::<true>(x, y, alpha, acc, |a, b, c| a.mul_add(b, c))
    }
});

kernels!(avx512, "avx512f,avx2,fma", {
    // LLVM maps `dot_lanes`' 32-lane array to 2-wide vectors and spills it, so at this level the
    // same lanes, remainder and fold are written out in intrinsics: the same bits, ~4x faster.
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
        // SAFETY: the caller checked the CPU's features; `lanes` checks the lengths.
        unsafe { lanes::<false>(x, y, 0.0, &mut []) }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn axpy_dot(alpha: f32, x: &[f32], acc: &mut [f32], y: &[f32]) -> f32 {
        // SAFETY: as in `dot`.
        unsafe { lanes::<true>(x, y, alpha, acc) }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn lanes<const AXPY: bool>(x: &[f32], y: &[f32], alpha: f32, out: &mut [f32]) -> f32 {
        let n = x.len();
        assert!(y.len() == n && (!AXPY || out.len() == n), "lengths differ");
        let wide = n / 32 * 32;
        let narrow = wide + (n - wide) / 8 * 8;
        let (xp, yp, op) = (x.as_ptr(), y.as_ptr(), out.as_mut_ptr());
        // SAFETY: every offset read or written below is under n, the length of all three.
        unsafe {
            let va = _mm512_set1_ps(alpha);
            let (mut low, mut high) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            for c in (0..wide).step_by(32) {
                let (x0, x1) = (_mm512_loadu_ps(xp.add(c)), _mm512_loadu_ps(xp.add(c + 16)));
                low = _mm512_fmadd_ps(x0, _mm512_loadu_ps(yp.add(c)), low);
                high = _mm512_fmadd_ps(x1, _mm512_loadu_ps(yp.add(c + 16)), high);
                if AXPY {
                    let (o0, o1) = (op.add(c), op.add(c + 16));
                    _mm512_storeu_ps(o0, _mm512_fmadd_ps(va, x0, _mm512_loadu_ps(o0)));
                    _mm512_storeu_ps(o1, _mm512_fmadd_ps(va, x1, _mm512_loadu_ps(o1)));
                }
            }
            let va8 = _mm256_set1_ps(alpha);
            let mut acc8 = _mm256_setzero_ps();
            for c in (wide..narrow).step_by(8) {
                let x8 = _mm256_loadu_ps(xp.add(c));
                acc8 = _mm256_fmadd_ps(x8, _mm256_loadu_ps(yp.add(c)), acc8);
                if AXPY {
                    let o8 = op.add(c);
                    _mm256_storeu_ps(o8, _mm256_fmadd_ps(va8, x8, _mm256_loadu_ps(o8)));
                }
            }
            let mut tail = 0.0f32;
            for c in narrow..n {
                tail = x[c].mul_add(y[c], tail);
                if AXPY {
                    out[c] = alpha.mul_add(x[c], out[c]);
                }
            }
            // The fold of `dot_lanes`: lane l + 16 onto l, then + 8, + 4, + 2, + 1.
            let sum16 = _mm512_add_ps(low, high);
            let upper8 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sum16), 1));
            let sum8 = _mm256_add_ps(_mm512_castps512_ps256(sum16), upper8);
            fold8(sum8) + fold8(acc8) + tail
        }
    }

    /// Lanes 4..8 onto 0..4, then 2..4 onto 0..2, then 1 onto 0.
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn fold8(v: __m256) -> f32 {
        let sum4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let sum2 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        _mm_cvtss_f32(_mm_add_ss(sum2, _mm_shuffle_ps(sum2, sum2, 1)))
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_with_is_libm_exp_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..=200_000 {
            let x = -700.0 * (i as f64 / 200_000.0).powi(3);
            let (ours, libm) = (exp_nonpositive_with(x, f64::mul_add), x.exp());
            worst = worst.max(((ours - libm) / libm).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_nonpositive_with(0.0, |a, b, c| a * b + c), 1.0);
        assert!(exp_nonpositive_with(f64::NEG_INFINITY, |a, b, c| a * b + c) < 1e-300);
    }

    #[test]
    fn cross_entropy_matches_its_definition() {
        let z: Vec<f32> = (0..113).map(|i| 30.0 * (i as f32 * 0.37).sin()).collect();
        let label = 17;
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = z.iter().map(|&x| (x as f64 - max).exp()).sum();
        let want = sum.ln() + max - z[label] as f64;
        let (mut exps, mut grad) = (vec![0.0; 113], vec![0.0; 113]);
        let got = cross_entropy(&z, label, 0.5, &mut exps, Some(&mut grad));
        assert!(((got - want) / want).abs() < 1e-14, "{got} vs {want}");
        for (c, (&g, &x)) in grad.iter().zip(&z).enumerate() {
            let p = (x as f64 - max).exp() / sum;
            let target = if c == label { 1.0 } else { 0.0 };
            assert!((g as f64 - (p - target) * 0.5).abs() < 1e-7, "class {c}");
        }
    }

    #[test]
    fn axpy_and_dot_agree_with_their_definitions_at_every_length() {
        for n in [0, 1, 15, 16, 17, 33, 128, 515] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
            let mut y: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
            let want_dot: f64 = x.iter().zip(&y).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!(
                (dot(&x, &y) as f64 - want_dot).abs() < 1e-4,
                "dot at n = {n}"
            );
            let base: Vec<f32> = (0..n).map(|i| (i as f32 * 0.9).sin()).collect();
            let mut summed = vec![0.0; n];
            gather(&mut summed, &base, &[(0.5, &x), (-1.5, &y)], false);
            let mut stepwise = base.clone();
            axpy(0.5, &x, &mut stepwise);
            axpy(-1.5, &y, &mut stepwise);
            assert_eq!(
                summed, stepwise,
                "gather at n = {n}: the same bits as axpys"
            );
            let mut fused = stepwise.clone();
            let d = axpy_dot(0.25, &x, &mut fused, &y);
            assert_eq!(d, dot(&x, &y), "axpy_dot's dot at n = {n}");
            let portable = dot_lanes::<false>(&x, &y, 0.0, &mut [], f32::mul_add);
            assert_eq!(d, portable, "dot's lanes and fold at n = {n}");
            axpy(0.25, &x, &mut stepwise);
            assert_eq!(fused, stepwise, "axpy_dot's axpy at n = {n}");
            let before = y.clone();
            axpy(-2.5, &x, &mut y);
            for i in 0..n {
                assert!(
                    (y[i] - (before[i] - 2.5 * x[i])).abs() < 1e-5,
                    "axpy at n = {n}"
                );
            }
        }
    }
}

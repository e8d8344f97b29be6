//! The two vector kernels of the per-row work (gathers of table rows, scores, scatters): `axpy`
//! and `dot`, compiled once for AVX2 + FMA and chosen at run time, with a portable fallback.
//! Without this the default x86-64 target would vectorise them with SSE2 only.

/// `y += alpha · x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { avx2::axpy(alpha, x, y) };
    }
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `Σ x·y`, summed in 16 lanes then across them (a fixed order: deterministic per machine).
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    debug_assert_eq!(x.len(), y.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { avx2::dot(x, y) };
    }
    dot_lanes(x, y, |a, b, c| a * b + c)
}

#[inline(always)]
fn dot_lanes(x: &[f32], y: &[f32], fma: impl Fn(f32, f32, f32) -> f32) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for l in 0..LANES {
            acc[l] = fma(xs[l], ys[l], acc[l]);
        }
    }
    let mut tail = 0.0;
    for (a, b) in xr.iter().zip(yr) {
        tail = fma(*a, *b, tail);
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = alpha.mul_add(*x, *y);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
        super::dot_lanes(x, y, |a, b, c| a.mul_add(b, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

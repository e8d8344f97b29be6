//! PyTorch's CPU random stream, reproduced so that a seed means the same thing here as in MIScope.
//!
//! MIScope draws the initial weights with `torch.manual_seed(seed)` + `Tensor.normal_` and the
//! train/test split with `torch.manual_seed(data_seed)` + `torch.randperm`. Both consume torch's
//! default CPU generator, a plain 32-bit MT19937 (`std::mt19937(seed)`, *not* numpy's
//! `init_by_array`). Reproducing the stream is what lets a variant trained here and one trained in
//! Python start from the same weights and see the same split (spec §2.4, §3.2).
//!
//! This module only produces numbers; it knows nothing of models or datasets.

/// The 32-bit Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998), seeded like `std::mt19937`.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; Self::N],
    index: usize,
}

impl Mt19937 {
    const N: usize = 624;
    const M: usize = 397;
    const MATRIX_A: u32 = 0x9908_b0df;
    const UPPER_MASK: u32 = 0x8000_0000;
    const LOWER_MASK: u32 = 0x7fff_ffff;

    /// Seeds the generator as `torch.manual_seed(seed)` does for the CPU generator: torch keeps
    /// the low 32 bits of the seed and calls `init_genrand`.
    pub fn new(seed: u64) -> Self {
        let mut state = [0u32; Self::N];
        state[0] = seed as u32;
        for i in 1..Self::N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 {
            state,
            index: Self::N,
        }
    }

    fn twist(&mut self) {
        for i in 0..Self::N {
            let y = (self.state[i] & Self::UPPER_MASK)
                | (self.state[(i + 1) % Self::N] & Self::LOWER_MASK);
            let mut next = self.state[(i + Self::M) % Self::N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= Self::MATRIX_A;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// The next 32-bit output (torch's `generator->random()`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= Self::N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform f32 in [0, 1) as torch's `uniform_real_distribution<float>` makes it: the low 24
    /// bits of one draw, scaled by 2⁻²⁴.
    fn uniform_f32(&mut self) -> f32 {
        ((self.next_u32() & 0x00ff_ffff) as f64 * (1.0 / 16_777_216.0)) as f32
    }

    /// Fills `out` like `torch.Tensor.uniform_(low, high)` on a contiguous f32 CPU tensor: one
    /// 32-bit draw per element in memory order, its low 24 bits scaled to [0, 1) in double, then
    /// `x·(high − low) + low` with the bounds first narrowed to f32 (ATen's `uniform_kernel`).
    pub fn fill_uniform(&mut self, out: &mut [f32], low: f64, high: f64) {
        let (low, high) = (low as f32, high as f32);
        let range = (high - low) as f64;
        for value in out.iter_mut() {
            let x = (self.next_u32() & 0x00ff_ffff) as f64 * (1.0 / 16_777_216.0);
            *value = (x * range + low as f64) as f32;
        }
    }

    /// Fills a `Linear(fan_in, ·)` weight as `torch.nn.Linear.reset_parameters` does:
    /// `kaiming_uniform_(a = √5)`, i.e. U(−b, b) with `b = √3 · (√(2 / (1 + 5)) / √fan_in)`,
    /// computed in double as Python computes it.
    pub fn fill_linear_weight(&mut self, out: &mut [f32], fan_in: usize) {
        let gain = (2.0f64 / (1.0 + 5.0)).sqrt();
        let std = gain / (fan_in as f64).sqrt();
        let bound = 3.0f64.sqrt() * std;
        self.fill_uniform(out, -bound, bound);
    }

    /// Fills `out` like `torch.Tensor.normal_(mean, std)` on a contiguous f32 CPU tensor.
    ///
    /// torch first fills the whole tensor with uniforms, then turns each block of 16 values into
    /// 16 normals with Box–Muller, pairing value `j` with value `j + 8` of the block. Tensors with
    /// fewer than 16 elements take a scalar path that this workbench never needs.
    ///
    /// # Panics
    /// If `out.len()` is not at least 16: every weight of the supported families is larger, and
    /// silently drawing a different stream would break the seed contract.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f64, std: f64) {
        assert!(
            out.len() >= 16,
            "torch's scalar normal_ path (fewer than 16 values) is not reproduced"
        );
        for value in out.iter_mut() {
            *value = self.uniform_f32();
        }
        let blocks = out.len() / 16;
        for block in 0..blocks {
            box_muller_16(&mut out[block * 16..block * 16 + 16], mean, std);
        }
        if !out.len().is_multiple_of(16) {
            // torch redraws the last 16 values and transforms them again.
            let start = out.len() - 16;
            for value in &mut out[start..] {
                *value = self.uniform_f32();
            }
            box_muller_16(&mut out[start..], mean, std);
        }
    }

    /// `torch.randperm(n)` on the CPU for `n < 2³²/20`: a Fisher–Yates shuffle driven by 32-bit draws.
    pub fn randperm(&mut self, n: usize) -> Vec<usize> {
        assert!(
            (n as u64) < (1u64 << 32) / 20,
            "torch switches to 64-bit draws for n >= 2^32/20"
        );
        let mut perm: Vec<usize> = (0..n).collect();
        for i in 0..n.saturating_sub(1) {
            let z = self.next_u32() as usize % (n - i);
            perm.swap(i, i + z);
        }
        perm
    }
}

/// torch's `normal_fill_16_AVX2` (the path taken on x86 CPUs with AVX2): Box–Muller on 16
/// uniforms in place, in f32 arithmetic with an f32 2π. Computing θ in f64 instead shifts the
/// mean of the cosine half by ~2.5e-9, which shows up as a 1e-5 drift in a weight's sum.
fn box_muller_16(data: &mut [f32], mean: f64, std: f64) {
    const TWO_PI: f32 = 2.0 * std::f32::consts::PI;
    let (mean, std) = (mean as f32, std as f32);
    for j in 0..8 {
        let u1 = 1.0f32 - data[j];
        let u2 = data[j + 8];
        let radius = (-2.0f32 * u1.ln()).sqrt();
        let theta = TWO_PI * u2;
        data[j] = radius * theta.cos() * std + mean;
        data[j + 8] = radius * theta.sin() * std + mean;
    }
}

#[cfg(test)]
// Reference values are quoted verbatim from the spec, with the digits it gives.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_standard_test_vector() {
        // The C++ standard requires the 10000th output of a default-seeded mt19937 (seed 5489).
        let mut rng = Mt19937::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = rng.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn randperm_is_a_permutation() {
        let mut rng = Mt19937::new(1);
        let mut perm = rng.randperm(1000);
        perm.sort_unstable();
        assert_eq!(perm, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn randperm_matches_torch_for_the_canonical_split() {
        // spec §3.2: torch.manual_seed(598); torch.randperm(113 * 113)
        let perm = Mt19937::new(598).randperm(113 * 113);
        assert_eq!(
            &perm[..20],
            &[
                2404, 3488, 5321, 9739, 11270, 1804, 6289, 3838, 2621, 1976, 6515, 5515, 11573,
                7278, 3673, 4061, 3883, 7619, 10458, 8380
            ]
        );
        assert_eq!(&perm[perm.len() - 5..], &[9644, 12501, 4665, 6145, 3091]);
    }

    #[test]
    fn normal_matches_torch_first_values() {
        // spec §2.4: seed 999, first tensor W_E (114 x 128), std 0.8/sqrt(128).
        let mut rng = Mt19937::new(999);
        let mut w_e = vec![0f32; 114 * 128];
        rng.fill_normal(&mut w_e, 0.0, 0.8 / 128f64.sqrt());
        let expected = [-0.0178755708f32, 0.0995050147, 0.0205803141, 0.0732893422];
        for (got, want) in w_e.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}

use std::time::Instant;
fn main() {
    let shapes = [(12769usize, 113usize, 512usize), (3830, 512, 113), (512, 113, 3830), (3830, 512, 128), (114 * 12, 512, 128)];
    for threads in [1usize, 2] {
        for &(m, n, k) in &shapes {
            let a = vec![0.5f32; m * k];
            let b = vec![0.25f32; k * n];
            let mut c = vec![0f32; m * n];
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                unsafe {
                    gemm::gemm(m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize, b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false,
                        if threads == 1 { gemm::Parallelism::None } else { gemm::Parallelism::Rayon(threads) });
                }
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("threads {threads} {m}x{k} * {k}x{n}: {:.3} ms, {:.1} GFLOP/s", best * 1e3, 2.0 * (m * n * k) as f64 / best / 1e9);
        }
    }
}

//! Dense f32 matrix products on strided views, through the `gemm` crate (burn flex's own GEMM:
//! AVX2/AVX-512 micro-kernels, rayon over output blocks). Strides make a transpose free, so every
//! product is written as it reads in the math (`Rᵀ·dV`, `dP·W_inᵀ`, ...). The fused training
//! engine uses the views directly; analysis goes through [`dot`] on ndarray views (2-4x
//! `ndarray::dot`'s matrixmultiply on AVX-512 machines).

use ndarray::{Array2, ArrayView2};

/// A read-only matrix: `rows × cols` elements of `data` at `row * rs + col * cs`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// Rows `row_stride` apart (a column block of a wider matrix, or interleaved rows).
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        let view = View {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: 1,
        };
        view.check();
        view
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "matrix view {}×{} (strides {}, {}) overruns a buffer of {}",
                self.rows,
                self.cols,
                self.rs,
                self.cs,
                self.data.len()
            );
        }
    }
}

/// `a · b` for ndarray matrices of any layout, on all rayon threads for large products.
pub fn dot(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((a.nrows(), b.ncols()));
    let (rows, cols) = out.dim();
    // Operands with gaps or negative strides are copied to standard layout first.
    let copy = |x: &ArrayView2<'_, f32>| {
        view_of(x)
            .is_none()
            .then(|| x.as_standard_layout().into_owned())
    };
    let (a_copy, b_copy) = (copy(a), copy(b));
    let a_view = a_copy
        .as_ref()
        .map_or_else(|| view_of(a), |c| view_of(&c.view()));
    let b_view = b_copy
        .as_ref()
        .map_or_else(|| view_of(b), |c| view_of(&c.view()));
    let (a_view, b_view) = (a_view.expect("contiguous"), b_view.expect("contiguous"));
    let data = out
        .as_slice_mut()
        .expect("fresh arrays are standard layout");
    matmul(ViewMut::new(data, rows, cols), a_view, b_view, false);
    out
}

/// `aᵀ` in standard layout, copied tile by tile: ndarray's element-order copy of a transposed
/// view strides through memory a row apart on every read (0.05 s for the 26 MB activation grid at
/// p = 113; tiles of 32×32 keep both sides in cache).
pub fn transpose(a: &ArrayView2<'_, f32>) -> Array2<f32> {
    const TILE: usize = 32;
    let (rows, cols) = a.dim();
    let mut out = Array2::<f32>::zeros((cols, rows));
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[[c, r]] = a[[r, c]];
                }
            }
        }
    }
    out
}

/// An ndarray matrix whose elements fill one slice, in either order, as a [`View`] (no copy).
fn view_of<'a>(x: &ArrayView2<'a, f32>) -> Option<View<'a>> {
    let (rows, cols) = x.dim();
    let strides = x.strides();
    let (rs, cs) = (
        usize::try_from(strides[0]).ok()?,
        usize::try_from(strides[1]).ok()?,
    );
    let data = x.to_slice_memory_order()?;
    let view = View {
        data,
        rows,
        cols,
        rs: if rows > 1 { rs } else { cols.max(1) },
        cs: if cols > 1 { cs } else { 1 },
    };
    view.check();
    Some(view)
}

/// A writable matrix, laid out as [`View`].
pub struct ViewMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
}

impl<'a> ViewMut<'a> {
    /// A contiguous row-major matrix.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// Rows `row_stride` apart.
    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        if rows > 0 && cols > 0 {
            assert!(
                (rows - 1) * row_stride + cols <= data.len(),
                "matrix view {rows}×{cols} (row stride {row_stride}) overruns a buffer of {}",
                data.len()
            );
        }
        ViewMut {
            data,
            rows,
            cols,
            rs: row_stride,
        }
    }
}

/// `out = a·b`, or `out += a·b` when `accumulate`; large products split across the rayon pool.
pub fn matmul(out: ViewMut<'_>, a: View<'_>, b: View<'_>, accumulate: bool) {
    product(out, a, b, accumulate, true);
}

/// [`matmul`] on the calling thread only: for the small per-block products inside a parallel
/// loop, where splitting again would only add fork-join overhead.
pub fn matmul_here(out: ViewMut<'_>, a: View<'_>, b: View<'_>, accumulate: bool) {
    product(out, a, b, accumulate, false);
}

fn product(out: ViewMut<'_>, a: View<'_>, b: View<'_>, accumulate: bool, may_split: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions differ");
    assert_eq!((out.rows, out.cols), (a.rows, b.cols), "output shape");
    let (m, n, k) = (out.rows, out.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                out.data[r * out.rs..r * out.rs + n].fill(0.0);
            }
        }
        return;
    }
    // Small products are faster on one thread than split across the pool.
    let threads = rayon::current_num_threads();
    let parallelism = if may_split && threads > 1 && m * n * k >= 1 << 18 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three views were bounds-checked on construction for exactly these shapes and
    // strides, `out` is borrowed mutably (so it aliases neither input), and gemm reads the
    // destination only when `read_dst` is set.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.data.as_mut_ptr(),
            1,
            out.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn products_with_transposes_and_strides_match_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);

        let mut c = vec![9.0; m * n];
        matmul(
            ViewMut::new(&mut c, m, n),
            View::new(&a, m, k),
            View::new(&b, k, n),
            false,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        // (bᵀ·aᵀ)ᵀ = a·b, written into every other column of a wider buffer, accumulated.
        let mut wide = vec![1.0; n * (2 * m)];
        matmul(
            ViewMut::strided(&mut wide, n, m, 2 * m),
            View::new(&b, k, n).t(),
            View::new(&a, m, k).t(),
            true,
        );
        for i in 0..m {
            for j in 0..n {
                assert!((wide[j * 2 * m + i] - 1.0 - want[i * n + j]).abs() < 1e-5);
            }
        }
        assert!(
            wide[m..2 * m].iter().all(|&x| x == 1.0),
            "columns beyond the view untouched"
        );
    }

    #[test]
    fn ndarray_products_of_any_layout_match_ndarray_dot() {
        let a = Array2::from_shape_fn((7, 5), |(i, j)| ((i * 5 + j) as f32 * 0.3).sin());
        let b = Array2::from_shape_fn((5, 4), |(i, j)| ((i * 4 + j) as f32 * 0.7).cos());
        let want = a.dot(&b);
        let bt = b.t().as_standard_layout().into_owned();
        let a_sliced = a.slice(ndarray::s![.., ..;1]);
        for got in [
            dot(&a.view(), &b.view()),
            dot(&a_sliced, &bt.t()),
            dot(&a.t().as_standard_layout().t(), &b.view()),
            dot(&a.slice(ndarray::s![..;2, ..]), &b.view()),
        ] {
            let rows = got.nrows();
            let want = if rows == 7 {
                want.clone()
            } else {
                a.slice(ndarray::s![..;2, ..]).dot(&b)
            };
            for (x, y) in got.iter().zip(want.iter()) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
            assert_eq!(got.dim(), want.dim());
        }
    }

    #[test]
    fn transpose_matches_ndarray_at_sizes_around_the_tile() {
        for (rows, cols) in [(1, 1), (31, 33), (64, 5), (70, 129)] {
            let a = Array2::from_shape_fn((rows, cols), |(i, j)| (i * 1000 + j) as f32);
            assert_eq!(
                transpose(&a.view()),
                a.t().as_standard_layout().into_owned()
            );
        }
    }

    #[test]
    #[should_panic(expected = "overruns")]
    fn a_view_larger_than_its_buffer_is_refused() {
        let data = vec![0.0; 5];
        let _ = View::new(&data, 2, 3);
    }
}

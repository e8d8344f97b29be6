//! Every `unsafe` of the crate, in one place: the crate root denies `unsafe_code` and only this
//! module allows it. What is here and why it needs `unsafe`:
//! - [`linalg`]: dense f32 products through `gemm`'s raw-pointer interface; its views check
//!   their shape and strides against the buffer when they are made, which is what makes the
//!   call sound.
//! - [`simd`]: the fused engine's per-row vector kernels compiled for AVX-512 and AVX2 + FMA and
//!   chosen at run time (`#[target_feature]` functions are `unsafe` to call); each has a
//!   portable version beside it that computes the same bits, and the tests compare them.
//! - [`allocator`]: glibc's `mallopt`, so freed blocks stay in the process.
//!
//! Everything else (engines, analyzers, views) is safe Rust over these.

#![allow(unsafe_code)]

pub mod allocator;
pub mod linalg;
pub mod simd;

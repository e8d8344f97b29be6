//! Where burn computes: chosen by name on the command line (`--device`, `TDW_DEVICE`) so that one
//! binary serves a laptop and a GPU node.
//!
//! - `cpu` (default): burn's flex backend; training takes the fused CPU engine where it applies;
//! - `cuda` or `cuda:N`: an NVIDIA GPU through libtorch (burn-tch with the PyPI wheel's CUDA
//!   libtorch), built with `--features tch`;
//! - `tch`: libtorch on the CPU, same build.
//!
//! burn's own CUDA backend (CubeCL) is not offered: its build downloads LLVM from GitHub.

use burn::tensor::Device;

use crate::error::{Error, Result};

/// The device named by `name`.
pub fn parse(name: &str) -> Result<Device> {
    let (kind, index) = match name.split_once(':') {
        Some((kind, index)) => {
            let index = index
                .parse::<usize>()
                .map_err(|_| bad(name, "the index after ':' must be a number"))?;
            (kind, index)
        }
        None => (name, 0),
    };
    match kind {
        "cpu" | "flex" => Ok(Device::flex()),
        "cuda" | "tch-cuda" => tch(Some(index), name),
        "tch" => tch(None, name),
        _ => Err(bad(name, "expected cpu, cuda[:N] or tch")),
    }
}

fn bad(name: &str, reason: &str) -> Error {
    Error::InvalidSetting {
        setting: "device".into(),
        value: name.into(),
        reason: reason.into(),
    }
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 deprecates burn-tch; it is still the way to reach libtorch
fn tch(cuda_index: Option<usize>, _name: &str) -> Result<Device> {
    Ok(match cuda_index {
        Some(index) => Device::libtorch_cuda(index),
        None => Device::libtorch(),
    })
}

#[cfg(not(feature = "tch"))]
fn tch(_cuda_index: Option<usize>, name: &str) -> Result<Device> {
    Err(bad(
        name,
        "this tdw was built without libtorch (the GPU backend); build it with \
         `source scripts/tch-env.sh && cargo build --release --features tch`, or run \
         scripts/gpu-check.sh",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_the_default_device_and_bad_names_are_explained() {
        assert_eq!(parse("cpu").unwrap(), crate::default_device());
        let message = parse("gpu").unwrap_err().to_string();
        assert!(
            message.contains("gpu") && message.contains("cuda"),
            "{message}"
        );
        assert!(parse("cuda:x").unwrap_err().to_string().contains("index"));
        #[cfg(not(feature = "tch"))]
        assert!(
            parse("cuda")
                .unwrap_err()
                .to_string()
                .contains("--features tch")
        );
    }
}

//! Where burn computes: chosen by name on the command line (`--device`, `TDW_DEVICE`) so that one
//! binary serves a laptop and a GPU node.
//!
//! - `cpu` (default): burn's flex backend; training takes the fused CPU engine where it applies;
//! - `cuda` or `cuda:N`: burn's CUDA backend (CubeCL), built with `--features cuda`;
//! - `tch` / `tch-cuda[:N]`: libtorch through burn-tch, built with `--features tch`.

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
        "cuda" => cuda(index, name),
        "tch" => tch(None, name),
        "tch-cuda" => tch(Some(index), name),
        _ => Err(bad(name, "expected cpu, cuda[:N], tch or tch-cuda[:N]")),
    }
}

fn bad(name: &str, reason: &str) -> Error {
    Error::InvalidSetting {
        setting: "device".into(),
        value: name.into(),
        reason: reason.into(),
    }
}

#[cfg(feature = "cuda")]
fn cuda(index: usize, _name: &str) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize, name: &str) -> Result<Device> {
    Err(bad(
        name,
        "this tdw was built without CUDA; build it with `cargo build --release --features cuda` \
         (or run scripts/gpu-check.sh)",
    ))
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
        "this tdw was built without libtorch; build it with `--features tch` (see the README)",
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
        #[cfg(not(feature = "cuda"))]
        assert!(
            parse("cuda")
                .unwrap_err()
                .to_string()
                .contains("--features cuda")
        );
    }
}

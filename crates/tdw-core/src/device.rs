//! Where burn computes: chosen by name on the command line (`--device`, `TDW_DEVICE`) so that one
//! binary serves a laptop and a GPU node.
//!
//! - `cpu` (default): burn's flex backend; training takes the fused CPU engine where it applies;
//! - `cuda` or `cuda:N`: an NVIDIA GPU through libtorch (burn-tch with the PyPI wheel's CUDA
//!   libtorch), built with `--features tch`;
//! - `tch`: libtorch on the CPU, same build.
//!
//! burn's own CUDA backend (CubeCL) is not offered: its build downloads LLVM from GitHub.

use burn_tensor::Device;

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
fn tch(cuda_index: Option<usize>, name: &str) -> Result<Device> {
    let device = match cuda_index {
        Some(index) => Device::libtorch_cuda(index),
        None => Device::libtorch(),
    };
    // libtorch reports a missing driver or GPU by panicking at the first tensor; turn that into
    // an error here, once, rather than a backtrace in the middle of a run.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = burn_tensor::Tensor::<1>::zeros([1], &device).into_data();
    }));
    std::panic::set_hook(hook);
    opened.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown error");
        // tch's message is a Debug-printed error: keep its first line, unescaped.
        let message = message
            .split_once("Torch(\"")
            .map_or(message, |(_, rest)| rest);
        let first = message.split(['\n']).next().unwrap_or(message);
        let first = first.split("\\n").next().unwrap_or(first);
        bad(name, &format!("libtorch cannot open it: {first}"))
    })?;
    Ok(device)
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

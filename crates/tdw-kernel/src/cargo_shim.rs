//! The crate graph rust-analyzer sees: the crates cargo builds, not every crate `cargo metadata`
//! lists.
//!
//! evcxr asks rust-analyzer for the type of every `let` a cell binds, and rust-analyzer's first
//! answer builds the def map (name resolution, macro expansion) of every crate in the graph that
//! `cargo metadata` reports for the cells' crate. That graph is inflated by cargo#10801: an
//! optional dependency that a weak feature (`dep?/feature`) names is listed in `resolve` although
//! it is never activated. Through burn's backend matrix (burn-tch, burn-cubecl, wgpu, cudarc, four
//! glam versions...) the workbench's graph lists 634 crates with 287 MB of source, while cargo
//! builds 245 of them. rust-analyzer spent ~28 s of a fresh kernel's first result on the
//! difference.
//!
//! rust-analyzer runs cargo as `$CARGO_HOME/bin/cargo` (ra_ap_toolchain's `prefer_proxy`), so the
//! kernel points `CARGO_HOME` at a directory of its own whose `bin/cargo` is a link to this
//! binary; invoked under that name, it is this shim:
//! - `cargo metadata` (with dependencies) of a manifest under the build slots: run the real one,
//!   then `cargo tree` with the same manifest, target, features and `-Z` flags, which resolves
//!   features as a build does, and drop every package (and every `resolve` edge to one) that the
//!   tree does not contain. If the tree fails, the metadata goes out unchanged (rust-analyzer is
//!   then only slower, never wrong).
//! - anything else: the real cargo, with the real `CARGO_HOME`, in place of this process.
//!
//! Dropping packages cargo does not build cannot change what rust-analyzer infers: a cell can only
//! name items of crates that are compiled. The kernel's own builds (evcxr's `cargo build`) run with
//! the real `CARGO_HOME` (`:build_env`), so their paths and fingerprints are a stock kernel's.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The real cargo this shim stands in for (a path).
pub const REAL_CARGO_ENV: &str = "TDW_KERNEL_REAL_CARGO";
/// The `CARGO_HOME` the kernel was started with; absent when it was unset.
pub const REAL_CARGO_HOME_ENV: &str = "TDW_KERNEL_REAL_CARGO_HOME";
/// Manifests under this directory (the build slots) get the pruned graph.
pub const PRUNE_UNDER_ENV: &str = "TDW_KERNEL_PRUNE_UNDER";

/// Whether this process was started as the shim (`.../bin/cargo` linking to the kernel).
pub fn invoked_as_cargo() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "cargo"))
        .unwrap_or(false)
}

/// What the kernel sets up so that rust-analyzer finds the shim.
pub struct ShimHome {
    /// The directory to put in `CARGO_HOME` for this process (rust-analyzer reads it).
    pub cargo_home: PathBuf,
    /// The cargo home cargo builds must use (the one the kernel was started with, or cargo's
    /// default `$HOME/.cargo`).
    pub real_cargo_home: PathBuf,
    /// The real cargo binary.
    pub real_cargo: PathBuf,
}

/// Creates `<root>/cargo-home/bin/cargo` → this executable (atomically: a link under a temporary
/// name, then renamed over), and finds the real cargo and cargo home.
pub fn prepare(root: &Path) -> std::io::Result<ShimHome> {
    let original_home = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty());
    let real_cargo_home = match &original_home {
        Some(home) => PathBuf::from(home),
        None => std::env::home_dir()
            .map(|h| h.join(".cargo"))
            .ok_or_else(|| std::io::Error::other("no home directory to find cargo's home in"))?,
    };
    let real_cargo = real_cargo(&real_cargo_home);
    let cargo_home = root.join("cargo-home");
    let bin = cargo_home.join("bin");
    std::fs::create_dir_all(&bin)?;
    // The one build that runs before the kernel can set `:build_env` (evcxr's start-up `42`, no
    // dependencies) reads cargo's configuration from here.
    for config in ["config.toml", "config"] {
        let (real, here) = (real_cargo_home.join(config), cargo_home.join(config));
        if real.is_file() && std::fs::symlink_metadata(&here).is_err() {
            std::os::unix::fs::symlink(&real, &here)?;
        }
    }
    let exe = std::env::current_exe()?;
    let link = bin.join("cargo");
    if std::fs::read_link(&link).ok().as_deref() != Some(exe.as_path()) {
        let tmp = bin.join(format!("cargo.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&exe, &tmp)?;
        std::fs::rename(&tmp, &link)?;
    }
    Ok(ShimHome {
        cargo_home,
        real_cargo_home,
        real_cargo,
    })
}

/// The cargo rust-analyzer would have run: the proxy in the real cargo home, else `cargo` on PATH.
fn real_cargo(real_cargo_home: &Path) -> PathBuf {
    let proxy = real_cargo_home.join("bin").join("cargo");
    if proxy.is_file() {
        proxy
    } else {
        PathBuf::from("cargo")
    }
}

/// Runs as `cargo`; returns the exit status (only when it did not replace itself by the real one).
pub fn run() -> i32 {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(real) = std::env::var_os(REAL_CARGO_ENV).map(PathBuf::from) else {
        eprintln!("tdw-kernel cargo shim: {REAL_CARGO_ENV} is not set (run by the kernel only)");
        return 101;
    };
    let mut command = Command::new(&real);
    command.args(&args);
    match std::env::var_os(REAL_CARGO_HOME_ENV) {
        Some(home) => command.env("CARGO_HOME", home),
        None => command.env_remove("CARGO_HOME"),
    };
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let prune_under = std::env::var_os(PRUNE_UNDER_ENV).map(PathBuf::from);
    match metadata_to_prune(&text, prune_under.as_deref()) {
        Some(request) => pruned_metadata(command, &request),
        None => {
            let e = command.exec();
            eprintln!("tdw-kernel cargo shim: {}: {e}", real.display());
            101
        }
    }
}

/// A `cargo metadata` call whose answer is pruned, with what `cargo tree` must repeat of it.
#[derive(Debug, PartialEq)]
struct MetadataRequest {
    /// `--manifest-path`, `--filter-platform` (as `--target`), feature and `-Z` flags, offline.
    tree_args: Vec<String>,
}

/// Recognises `cargo metadata` with dependencies for a manifest under `prune_under`.
fn metadata_to_prune(args: &[String], prune_under: Option<&Path>) -> Option<MetadataRequest> {
    let prune_under = prune_under?;
    if args.first().map(String::as_str) != Some("metadata") || args.iter().any(|a| a == "--no-deps")
    {
        return None;
    }
    let mut tree_args = vec![
        "tree".to_string(),
        "-e".into(),
        "normal,build,dev".into(),
        "--prefix".into(),
        "none".into(),
        "--format".into(),
        "{p}".into(),
    ];
    let mut manifest = None;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--manifest-path" => {
                let path = rest.next()?;
                manifest = Some(PathBuf::from(path));
                tree_args.extend(["--manifest-path".into(), path.clone()]);
            }
            "--filter-platform" => tree_args.extend(["--target".into(), rest.next()?.clone()]),
            "--features" | "-F" | "--config" => {
                tree_args.extend([arg.clone(), rest.next()?.clone()]);
            }
            "-Z" => tree_args.extend([arg.clone(), rest.next()?.clone()]),
            "--format-version" | "--color" => {
                rest.next()?;
            }
            a if a.starts_with("-Z")
                || a.starts_with("--features=")
                || a.starts_with("--config=")
                || matches!(
                    a,
                    "--all-features"
                        | "--no-default-features"
                        | "--locked"
                        | "--offline"
                        | "--frozen"
                ) =>
            {
                tree_args.push(a.to_string())
            }
            _ => {}
        }
    }
    manifest.filter(|m| m.starts_with(prune_under))?;
    Some(MetadataRequest { tree_args })
}

fn pruned_metadata(mut metadata: Command, request: &MetadataRequest) -> i32 {
    let output = match metadata.stdout(Stdio::piped()).output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("tdw-kernel cargo shim: running cargo metadata: {e}");
            return 101;
        }
    };
    if !output.status.success() {
        return output.status.code().unwrap_or(101);
    }
    let mut tree = Command::new(metadata.get_program());
    tree.args(&request.tree_args);
    for (key, value) in metadata.get_envs() {
        match value {
            Some(v) => tree.env(key, v),
            None => tree.env_remove(key),
        };
    }
    let built = tree
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| built_packages(&String::from_utf8_lossy(&o.stdout)));
    let pruned = built.and_then(|built| {
        let mut doc: Value = serde_json::from_slice(&output.stdout).ok()?;
        prune(&mut doc, &built).then_some(doc)
    });
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = match pruned {
        Some(doc) => serde_json::to_writer(&mut out, &doc).map_err(std::io::Error::from),
        None => out.write_all(&output.stdout),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 101,
    }
}

/// `(name, version)` of every package a `cargo tree --prefix none --format {p}` lists
/// (`serde v1.0.229`, `tdw-core v0.1.0 (/path)`, `foo v1.0.0 (*)`).
fn built_packages(tree: &str) -> HashSet<(String, String)> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// Keeps the packages (and `resolve` nodes and edges) whose name and version `built` holds.
/// Returns false, leaving `doc` as it was, when the document is not what cargo writes or when
/// the pruned graph would lose its root (then the tree and the metadata disagree).
fn prune(doc: &mut Value, built: &HashSet<(String, String)>) -> bool {
    let Some(packages) = doc.get("packages").and_then(Value::as_array) else {
        return false;
    };
    let keep: HashSet<String> = packages
        .iter()
        .filter(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let version = p.get("version").and_then(Value::as_str).unwrap_or_default();
            built.contains(&(name.to_string(), version.to_string()))
        })
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let root = doc
        .pointer("/resolve/root")
        .and_then(Value::as_str)
        .map(str::to_string);
    let members_kept = doc
        .get("workspace_members")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            m.iter()
                .all(|id| id.as_str().is_some_and(|id| keep.contains(id)))
        });
    if keep.is_empty() || !members_kept || root.is_some_and(|r| !keep.contains(&r)) {
        return false;
    }
    let kept = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .is_some_and(|id| keep.contains(id))
    };
    if let Some(packages) = doc.get_mut("packages").and_then(Value::as_array_mut) {
        packages.retain(|p| kept(p, "id"));
    }
    if let Some(nodes) = doc
        .pointer_mut("/resolve/nodes")
        .and_then(Value::as_array_mut)
    {
        nodes.retain(|n| kept(n, "id"));
        for node in nodes.iter_mut() {
            if let Some(deps) = node.get_mut("deps").and_then(Value::as_array_mut) {
                deps.retain(|d| kept(d, "pkg"));
            }
            if let Some(deps) = node.get_mut("dependencies").and_then(Value::as_array_mut) {
                deps.retain(|d| d.as_str().is_some_and(|id| keep.contains(id)));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_full_metadata_of_a_slot_manifest_is_pruned() {
        let slots = Path::new("/p/target/evcxr/slots");
        let ra = strings(&[
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            "/p/target/evcxr/slots/slot-0/Cargo.toml",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
            "-Zlockfile-path",
            "-Zunstable-options",
        ]);
        let request = metadata_to_prune(&ra, Some(slots)).expect("pruned");
        assert_eq!(
            request.tree_args[7..],
            strings(&[
                "--manifest-path",
                "/p/target/evcxr/slots/slot-0/Cargo.toml",
                "--target",
                "x86_64-unknown-linux-gnu",
                "-Zlockfile-path",
                "-Zunstable-options",
            ])
        );
        let mut no_deps = ra.clone();
        no_deps.push("--no-deps".into());
        assert_eq!(metadata_to_prune(&no_deps, Some(slots)), None);
        let mut sysroot = ra.clone();
        sysroot[4] = "/rust/library/Cargo.toml".into();
        assert_eq!(metadata_to_prune(&sysroot, Some(slots)), None);
        assert_eq!(metadata_to_prune(&ra, None), None);
        let build = strings(&["build", "--manifest-path", "/p/target/evcxr/slots/x"]);
        assert_eq!(metadata_to_prune(&build, Some(slots)), None);
    }

    #[test]
    fn tree_lines_name_packages_by_name_and_version() {
        let tree = "ctx v1.0.0 (/slots/slot-0)\nserde v1.0.229\nserde v1.0.229 (*)\n\
                    tdw-core v0.1.0 (/work/crates/tdw-core)\nbytemuck_derive v1.12.1 (proc-macro)\n";
        let built = built_packages(tree);
        assert_eq!(built.len(), 4);
        assert!(built.contains(&("tdw-core".into(), "0.1.0".into())));
        assert!(built.contains(&("bytemuck_derive".into(), "1.12.1".into())));
    }

    fn package(id: &str, name: &str, version: &str) -> Value {
        json!({"id": id, "name": name, "version": version})
    }

    #[test]
    fn packages_cargo_does_not_build_leave_the_graph_with_their_edges() {
        let mut doc = json!({
            "packages": [package("ctx", "ctx", "1.0.0"), package("burn", "burn", "0.22.1"),
                         package("tch", "burn-tch", "0.22.1"), package("glam2", "glam", "0.2.0"),
                         package("glam3", "glam", "0.3.0")],
            "workspace_members": ["ctx"],
            "resolve": {"root": "ctx", "nodes": [
                {"id": "ctx", "deps": [{"pkg": "burn"}], "dependencies": ["burn"]},
                {"id": "burn", "deps": [{"pkg": "tch"}, {"pkg": "glam3"}], "dependencies": ["tch", "glam3"]},
                {"id": "tch", "deps": [{"pkg": "glam2"}], "dependencies": ["glam2"]},
                {"id": "glam2", "deps": [], "dependencies": []},
                {"id": "glam3", "deps": [], "dependencies": []},
            ]},
        });
        let built = built_packages("ctx v1.0.0 (/s)\nburn v0.22.1\nglam v0.3.0\n");
        assert!(prune(&mut doc, &built));
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&doc["packages"]), ["ctx", "burn", "glam3"]);
        assert_eq!(ids(&doc["resolve"]["nodes"]), ["ctx", "burn", "glam3"]);
        assert_eq!(
            doc["resolve"]["nodes"][1]["deps"],
            json!([{"pkg": "glam3"}])
        );
        assert_eq!(doc["resolve"]["nodes"][1]["dependencies"], json!(["glam3"]));
    }

    #[test]
    fn a_tree_that_disagrees_with_the_metadata_changes_nothing() {
        let original = json!({
            "packages": [package("ctx", "ctx", "1.0.0"), package("burn", "burn", "0.22.1")],
            "workspace_members": ["ctx"],
            "resolve": {"root": "ctx", "nodes": [{"id": "ctx", "deps": [], "dependencies": []}]},
        });
        for tree in ["", "burn v0.22.1\n", "ctx v9.9.9\n"] {
            let mut doc = original.clone();
            assert!(!prune(&mut doc, &built_packages(tree)), "{tree:?}");
            assert_eq!(doc, original);
        }
    }
}

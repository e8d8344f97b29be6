//! The crate's modules import in one direction, the direction of the data (the table in
//! `src/lib.rs`): no module imports one that imports it back, directly or through others, and
//! no layer imports a layer above it.
//!
//! The module graph is read from the sources: every `crate::…` and `super::…` path in code (not
//! in comments, not in `#[cfg(test)]` modules) is an edge from the file that names it to the
//! deepest module file the path reaches. A name re-exported at the crate root (`crate::Variant`)
//! counts as an edge to the module that defines it, since the root re-exports everything. Module
//! declarations (`mod x;`) are not edges, and neither is a path into the module's own subtree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by layer, lowest first. A module may import its own layer and those below.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "support",
        &[
            "error",
            "atomic_file",
            "json_file",
            "lock",
            "paths",
            "memory",
            "shipped",
            "kernels",
            "torch_rng",
            "device",
            "formats",
        ],
    ),
    ("data", &["dataset"]),
    ("model", &["model", "checkpoint"]),
    ("train", &["train"]),
    ("family", &["family"]),
    ("analysis", &["analysis", "intervention"]),
    ("implementations", &["families", "analyzers"]),
    ("variant", &["variant", "viability", "init_sweep"]),
    ("views", &["views", "sweep", "bench"]),
];

type Module = Vec<String>;

/// Every module file of `src/`, by module path (`lib.rs` is the empty path).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<Module, String>) {
        for entry in std::fs::read_dir(dir).expect("readable src/") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(src)
                    .expect("under src/")
                    .with_extension("");
                let mut module: Module = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if module.last().is_some_and(|m| m == "mod") || module == ["lib"] {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.insert(module, code_only(&text));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The source without comments, string literals and `#[cfg(test)]` items.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(bytes.len(), |end| i + end + 2);
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if text[i..].starts_with("#[cfg(test)]") {
            // Skip the attribute and the item it guards (to its closing brace or semicolon).
            i += "#[cfg(test)]".len();
            let mut depth = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b';' if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The paths named after `prefix::` in `code`, with `{a, b::c}` groups expanded.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    fn expand(text: &str, base: &[String], out: &mut Vec<Vec<String>>) {
        // `text` starts right after `prefix::`: segments, then the end or a `{…}` group.
        let mut path = base.to_vec();
        let mut rest = text;
        loop {
            rest = rest.trim_start();
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 || (c == ',' && depth == 1) {
                        expand(item.trim(), &path, out);
                        item.clear();
                        if depth == 0 {
                            break;
                        }
                    } else {
                        item.push(c);
                    }
                }
                return;
            }
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                if !path.is_empty() {
                    out.push(path);
                }
                return;
            }
            rest = &rest[ident.len()..];
            path.push(ident);
            match rest.strip_prefix("::") {
                Some(after) => rest = after,
                None => {
                    out.push(path);
                    return;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find(prefix) {
        let start = from + found;
        let end = start + prefix.len();
        from = end;
        let boundary = start == 0 || {
            let before = code[..start].chars().next_back().expect("not at 0");
            !(before.is_alphanumeric() || before == '_')
        };
        if boundary && code[end..].starts_with("::") {
            expand(&code[end + 2..], &[], &mut out);
        }
    }
    out
}

/// Names the crate root re-exports (`pub use a::b::{C, D}`), with the module each comes from.
fn root_reexports(root: &str, modules: &BTreeMap<Module, String>) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    for statement in root.split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        for path in paths_after(&format!("crate::{used}"), "crate") {
            if let (Some(name), Some(module)) = (path.last(), deepest_module(&path, modules)) {
                out.insert(name.clone(), module);
            }
        }
    }
    out
}

/// The deepest module file a path reaches.
fn deepest_module(path: &[String], modules: &BTreeMap<Module, String>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| modules.contains_key(m))
}

fn is_within(module: &[String], ancestor: &[String]) -> bool {
    module.len() >= ancestor.len() && module[..ancestor.len()] == *ancestor
}

/// Edges between module files.
fn module_graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules(src);
    let reexports = root_reexports(&modules[&Vec::new()], &modules);
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, code) in &modules {
        if module.is_empty() {
            continue;
        }
        let mut targets = Vec::new();
        for path in paths_after(code, "crate") {
            match deepest_module(&path, &modules) {
                Some(target) => targets.push(target),
                None => {
                    if let Some(target) = path.first().and_then(|name| reexports.get(name)) {
                        targets.push(target.clone());
                    }
                }
            }
        }
        // `super::` in `a/b.rs` (module a::b) means a; in `a/mod.rs` (module a) the parent of a.
        for path in paths_after(code, "super") {
            let mut full: Module = module[..module.len() - 1].to_vec();
            let mut rest = path.as_slice();
            while rest.first().is_some_and(|s| s == "super") {
                full.pop();
                rest = &rest[1..];
            }
            full.extend(rest.iter().cloned());
            if let Some(target) = deepest_module(&full, &modules) {
                targets.push(target);
            }
        }
        let edges = graph.entry(module.clone()).or_default();
        for target in targets {
            if !target.is_empty() && !is_within(&target, module) && !is_within(module, &target) {
                edges.insert(target);
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().expect("v is on the stack");
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

fn name(module: &[String]) -> String {
    module.join("::")
}

fn src_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = module_graph(&src_dir());
    assert!(graph.len() > 100, "the scan found {} modules", graph.len());
    let found = cycles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|component| {
            let members: BTreeSet<&Module> = component.iter().collect();
            component
                .iter()
                .map(|m| {
                    let back: Vec<String> = graph[m]
                        .iter()
                        .filter(|t| members.contains(t))
                        .map(|t| name(t))
                        .collect();
                    format!("{} -> {}", name(m), back.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", described.join("\n"));
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let layer_of = |top: &str| {
        LAYERS
            .iter()
            .position(|(_, members)| members.contains(&top))
            .unwrap_or_else(|| panic!("module {top} is in no layer of tests/layers.rs"))
    };
    let mut upward = Vec::new();
    for (module, targets) in module_graph(&src_dir()) {
        let from = layer_of(&module[0]);
        for target in targets {
            let to = layer_of(&target[0]);
            if to > from {
                upward.push(format!(
                    "{} ({}) -> {} ({})",
                    name(&module),
                    LAYERS[from].0,
                    name(&target),
                    LAYERS[to].0
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn the_scan_sees_imports_grouped_reexported_and_through_super() {
    let code = code_only(
        "use crate::{a::{b, c::D}, e};\n// crate::commented\nfn f() { super::g::h(); \"crate::quoted\"; }\n#[cfg(test)]\nmod tests { use crate::tested; }\n",
    );
    let crate_paths = paths_after(&code, "crate");
    assert_eq!(
        crate_paths,
        vec![
            vec!["a".to_string(), "b".into()],
            vec!["a".into(), "c".into(), "D".into()],
            vec!["e".into()],
        ]
    );
    assert_eq!(
        paths_after(&code, "super"),
        vec![vec!["g".to_string(), "h".into()]]
    );
    // The real graph: a name re-exported at the root counts as its module (bench.rs names
    // `crate::Variant`), grouped imports reach their modules, and the analysis run names no
    // variant (it is handed a `TrainedRun`).
    let graph = module_graph(&src_dir());
    let module = |s: &str| s.split("::").map(String::from).collect::<Module>();
    assert!(graph[&module("bench")].contains(&module("variant")));
    assert!(graph[&module("variant::analysis")].contains(&module("analysis")));
    assert!(graph[&module("analysis::run")].contains(&module("analysis::trained")));
    assert!(
        !graph[&module("analysis::run")]
            .iter()
            .any(|t| t[0] == "variant")
    );
}

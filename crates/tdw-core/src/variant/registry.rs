//! Discovery of families (`model_families/*/family.json`) and of their variants
//! (`results/{family}/{variant}/`), with no bookkeeping beyond the files themselves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::families;
use crate::family::ModelFamily;
use crate::family::pattern::NameParser;
use crate::family::{Family, FamilySpec, ParamValue, Params};
use crate::variant::Variant;

/// All families found under a `model_families/` directory, plus where their results live.
pub struct FamilyRegistry {
    families: IndexMap<String, Arc<Family>>,
    /// The implementations declarations are paired with, by family name.
    implementations: IndexMap<String, Arc<dyn ModelFamily>>,
    load_errors: Vec<Error>,
    families_dir: PathBuf,
    results_dir: PathBuf,
    /// True when `families_dir` does not exist and the shipped families were loaded instead.
    builtin: bool,
}

impl FamilyRegistry {
    /// Scans `families_dir` for `*/family.json` and pairs each with this build's implementation
    /// ([`families::builtin`]); see [`FamilyRegistry::open_with`].
    pub fn open(families_dir: &Path, results_dir: &Path) -> Result<Self> {
        Self::open_with(families_dir, results_dir, families::builtin())
    }

    /// Scans `families_dir` for `*/family.json`, pairing each with its entry of
    /// `implementations`. A file that fails to parse does not stop the scan: it is skipped and
    /// its error kept in [`FamilyRegistry::load_errors`] (MIScope prints a warning and skips
    /// it). A missing `families_dir` gives the families this build ships with.
    pub fn open_with(
        families_dir: &Path,
        results_dir: &Path,
        implementations: Vec<(String, Arc<dyn ModelFamily>)>,
    ) -> Result<Self> {
        let mut registry = FamilyRegistry {
            families: IndexMap::new(),
            implementations: implementations.into_iter().collect(),
            load_errors: Vec::new(),
            families_dir: families_dir.to_path_buf(),
            results_dir: results_dir.to_path_buf(),
            builtin: false,
        };
        let entries = match std::fs::read_dir(families_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No model_families/ here (outside the checkout, an installed binary): the
                // families this build ships with.
                registry.builtin = true;
                for (name, text) in crate::shipped::FAMILIES {
                    let origin = crate::shipped::origin("model_families", name, "family.json");
                    match FamilySpec::from_json_str(text, &origin) {
                        Ok(spec) => registry.register(spec),
                        Err(e) => registry.load_errors.push(e),
                    }
                }
                return Ok(registry);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(Error::io(
                    families_dir,
                    std::io::Error::new(
                        e.kind(),
                        "is a file, not the model_families directory (set --families-dir or TDW_MODEL_FAMILIES_DIR)",
                    ),
                ));
            }
            Err(e) => return Err(Error::io(families_dir, e)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path().join("family.json"))
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for path in files {
            match FamilySpec::from_file(&path) {
                Ok(spec) => registry.register(spec),
                Err(e) => registry.load_errors.push(e),
            }
        }
        Ok(registry)
    }

    /// Adds a family declared in code (tests, notebooks), with this build's implementation if
    /// it has one. A family of the same name is replaced.
    pub fn register(&mut self, spec: FamilySpec) {
        let implementation = self.implementations.get(&spec.name).cloned();
        let implemented = self.implementations.keys().cloned().collect();
        self.families.insert(
            spec.name.clone(),
            Arc::new(Family::new(spec, implementation, implemented)),
        );
    }

    /// Adds a family with an implementation supplied by the caller (a family defined outside
    /// this crate, e.g. in a test or a downstream crate). A family of the same name is replaced.
    pub fn register_with(&mut self, spec: FamilySpec, implementation: Arc<dyn ModelFamily>) {
        self.implementations
            .insert(spec.name.clone(), implementation.clone());
        let implemented = self.implementations.keys().cloned().collect();
        self.families.insert(
            spec.name.clone(),
            Arc::new(Family::new(spec, Some(implementation), implemented)),
        );
    }

    /// Errors of family.json files that could not be loaded.
    pub fn load_errors(&self) -> &[Error] {
        &self.load_errors
    }

    /// The scanned `model_families/` directory.
    pub fn families_dir(&self) -> &Path {
        &self.families_dir
    }

    /// The `results/` directory.
    pub fn results_dir(&self) -> &Path {
        &self.results_dir
    }

    /// All families, in scan order (sorted by directory).
    pub fn families(&self) -> impl Iterator<Item = &Arc<Family>> {
        self.families.values()
    }

    /// Family names, in scan order.
    pub fn names(&self) -> Vec<String> {
        self.families.keys().cloned().collect()
    }

    /// The family called `name`, or an error listing the known names.
    pub fn family(&self, name: &str) -> Result<&Arc<Family>> {
        self.families.get(name).ok_or_else(|| Error::UnknownFamily {
            name: name.to_string(),
            known: self.names(),
            searched: if self.builtin {
                format!(
                    "{} (absent, so the families built into tdw were used)",
                    self.families_dir.display()
                )
            } else {
                self.families_dir.display().to_string()
            },
        })
    }

    /// A variant of `family` with validated parameters (defaults fill the gaps); creates nothing.
    pub fn create_variant(
        &self,
        family: &str,
        params: IndexMap<String, ParamValue>,
    ) -> Result<Variant> {
        let family = self.family(family)?;
        let params = Params::new(family.spec(), params)?;
        Variant::new(family.clone(), params, &self.results_dir)
    }

    /// A variant from CLI-style `name=value` pairs.
    pub fn create_variant_from_text<'a>(
        &self,
        family: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Variant> {
        let family = self.family(family)?;
        let params = family.params_from_text(pairs)?;
        Variant::new(family.clone(), params, &self.results_dir)
    }

    /// Every directory under `results/{family}` whose name matches the family's pattern, with
    /// its parameters parsed back, sorted by name. Directories whose parameters fail validation
    /// (say, `p4`) are not variants and are skipped.
    pub fn variants(&self, family: &str) -> Result<Vec<Variant>> {
        let family = self.family(family)?;
        let spec = family.spec();
        let parser =
            NameParser::new(&spec.variant_pattern, &spec.domain_parameters).map_err(|reason| {
                Error::FamilyField {
                    path: spec.path.clone(),
                    field: "variant_pattern".into(),
                    reason,
                }
            })?;
        let dir = self.results_dir.join(family.name());
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut variants = Vec::new();
        for name in names {
            let Some(values) = parser.parse(&name) else {
                continue;
            };
            let Ok(params) = Params::new(spec, values) else {
                continue;
            };
            let variant = Variant::new(family.clone(), params, &self.results_dir)?;
            // A name like p113 vs p0113 parses to the same params but is another directory.
            if variant.name() == name {
                variants.push(variant);
            }
        }
        Ok(variants)
    }

    /// Finds a variant by directory name in any family, or an error listing the known ones. An
    /// intervened variant is named by its path below the family's results,
    /// `{parent}/interventions/{name}`.
    pub fn find_variant(&self, name: &str) -> Result<Variant> {
        let marker = format!("/{}/", crate::intervention::INTERVENTIONS_DIR);
        if let Some((parent, child)) = name.trim_end_matches('/').split_once(&marker) {
            let parent = self.find_variant(parent)?;
            let known = || {
                parent
                    .interventions()
                    .unwrap_or_default()
                    .iter()
                    .map(|v| v.name().to_string())
                    .collect()
            };
            return match parent.open_intervention(child) {
                Ok(variant) => Ok(variant),
                Err(Error::MissingFile { .. }) => Err(Error::UnknownVariant {
                    name: name.to_string(),
                    results_dir: self.results_dir.clone(),
                    known: known(),
                }),
                Err(other) => Err(other),
            };
        }
        let mut known = Vec::new();
        for family in self.families.keys() {
            for variant in self.variants(family)? {
                if variant.name() == name {
                    return Ok(variant);
                }
                known.push(variant.name().to_string());
            }
        }
        Err(Error::UnknownVariant {
            name: name.to_string(),
            results_dir: self.results_dir.clone(),
            known,
        })
    }
}

//! `family.json`: the declaration of a model family, parsed and validated once.
//!
//! The schema is MIScope's (spec §1.1), so the same file serves both tools. Parsing goes through a
//! `serde_json::Value` first and then field by field, so that every error names the file and the
//! field that is wrong; keys we do not know are kept in [`FamilySpec::extra`], never rejected.
//! This module checks the file; it does not build models or touch `results/`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::family::parameter::{ParamType, ParamValue, ParameterSpec};
use crate::train::{TrainingConfig, schedule};

/// Training hyper-parameters a family declares (our extension of the schema: the optional
/// `training` object of family.json; MIScope keeps these in its Python family class and ignores
/// the key). Anything not given falls back to the family implementation's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingSpec {
    /// AdamW learning rate.
    pub learning_rate: Option<f64>,
    /// AdamW decoupled weight decay.
    pub weight_decay: Option<f64>,
    /// AdamW (β1, β2).
    pub betas: Option<(f64, f64)>,
    /// Number of full-batch optimizer steps.
    pub num_epochs: Option<u64>,
    /// Fraction of all pairs used for training.
    pub training_fraction: Option<f64>,
    /// Default checkpoint epochs as `[start, stop, step]` ranges (Python `range` semantics).
    pub checkpoint_ranges: Option<Vec<(u64, u64, u64)>>,
}

impl TrainingSpec {
    /// The implementation's defaults with what family.json declares laid over them.
    pub fn apply_to(&self, config: &mut TrainingConfig) {
        if let Some(v) = self.learning_rate {
            config.learning_rate = v;
        }
        if let Some(v) = self.weight_decay {
            config.weight_decay = v;
        }
        if let Some(v) = self.betas {
            config.betas = v;
        }
        if let Some(v) = self.num_epochs {
            config.num_epochs = v;
        }
        if let Some(v) = self.training_fraction {
            config.training_fraction = v;
        }
        if let Some(ranges) = &self.checkpoint_ranges {
            config.checkpoint_epochs = schedule::from_ranges(ranges);
        }
    }
}

/// A parsed and validated `family.json`.
#[derive(Debug, Clone)]
pub struct FamilySpec {
    /// Unique id; also the directory name under `model_families/` and `results/`.
    pub name: String,
    /// UI label.
    pub display_name: String,
    /// Free text.
    pub description: String,
    /// Architecture hyper-parameters, free-form per family, read by the family's model constructor.
    pub architecture: Map<String, Value>,
    /// Domain parameters in declaration order: the order of variant names and of `Params`.
    pub domain_parameters: IndexMap<String, ParameterSpec>,
    /// Per-epoch analyzers, in run order.
    pub analyzers: Vec<String>,
    /// Analyzers that derive per-epoch artifacts from other artifacts.
    pub secondary_analyzers: Vec<String>,
    /// Cross-epoch analyzers, in dependency order.
    pub cross_epoch_analyzers: Vec<String>,
    /// Informational description of the analysis probe.
    pub analysis_dataset: Map<String, Value>,
    /// `str.format` template of variant directory names (placeholders = parameter names).
    pub variant_pattern: String,
    /// Whether UIs may train this family.
    pub ui_trainable: bool,
    /// Training defaults declared in the file (see [`TrainingSpec`]).
    pub training: TrainingSpec,
    /// Keys this version does not interpret (`class_type`, `probes`, ...), kept verbatim.
    pub extra: IndexMap<String, Value>,
    /// Where the spec was read from (for error messages).
    pub path: PathBuf,
}

const KNOWN_KEYS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "architecture",
    "domain_parameters",
    "analyzers",
    "secondary_analyzers",
    "cross_epoch_analyzers",
    "analysis_dataset",
    "variant_pattern",
    "ui_trainable",
    "training",
];

impl FamilySpec {
    /// Reads and validates a `family.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, path)
    }

    /// Parses a `family.json` held in memory; `path` is only used in error messages.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|cause| Error::Json {
            path: path.to_path_buf(),
            cause,
        })?;
        let fields = FieldReader { path };
        let Value::Object(object) = value else {
            return Err(fields.error("<root>", "expected a JSON object"));
        };

        let name = fields.required_str(&object, "name")?;
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(fields.error("name", "must be a non-empty directory name"));
        }
        let domain_parameters = fields.domain_parameters(&object)?;
        let variant_pattern = fields.required_str(&object, "variant_pattern")?;
        check_pattern(&fields, &variant_pattern, &domain_parameters)?;

        let spec = FamilySpec {
            display_name: fields.required_str(&object, "display_name")?,
            description: fields.required_str(&object, "description")?,
            architecture: fields.required_object(&object, "architecture")?,
            analyzers: fields.string_list(&object, "analyzers", true)?,
            secondary_analyzers: fields.string_list(&object, "secondary_analyzers", false)?,
            cross_epoch_analyzers: fields.string_list(&object, "cross_epoch_analyzers", false)?,
            analysis_dataset: fields.optional_object(&object, "analysis_dataset")?,
            ui_trainable: match object.get("ui_trainable") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(other) => return Err(fields.wrong_type("ui_trainable", "a boolean", other)),
            },
            training: fields.training(&object)?,
            extra: object
                .iter()
                .filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            path: path.to_path_buf(),
            name,
            domain_parameters,
            variant_pattern,
        };
        Ok(spec)
    }

    /// `{name: default}` for every parameter with a default, in declaration order.
    pub fn default_params(&self) -> IndexMap<String, ParamValue> {
        self.domain_parameters
            .iter()
            .filter_map(|(name, spec)| spec.default.clone().map(|d| (name.clone(), d)))
            .collect()
    }
}

/// Reads typed fields out of a JSON object, naming the file and field in every error.
struct FieldReader<'a> {
    path: &'a Path,
}

impl FieldReader<'_> {
    fn error(&self, field: &str, reason: impl Into<String>) -> Error {
        Error::FamilyField {
            path: self.path.to_path_buf(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Value) -> Error {
        self.error(
            field,
            format!("expected {expected}, found {}", json_kind(found)),
        )
    }

    fn required<'v>(&self, object: &'v Map<String, Value>, field: &str) -> Result<&'v Value> {
        object
            .get(field)
            .ok_or_else(|| self.error(field, "required field is missing"))
    }

    fn required_str(&self, object: &Map<String, Value>, field: &str) -> Result<String> {
        match self.required(object, field)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn required_object(
        &self,
        object: &Map<String, Value>,
        field: &str,
    ) -> Result<Map<String, Value>> {
        match self.required(object, field)? {
            Value::Object(map) => Ok(map.clone()),
            other => Err(self.wrong_type(field, "an object", other)),
        }
    }

    fn optional_object(
        &self,
        object: &Map<String, Value>,
        field: &str,
    ) -> Result<Map<String, Value>> {
        match object.get(field) {
            None => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(other) => Err(self.wrong_type(field, "an object", other)),
        }
    }

    fn string_list(
        &self,
        object: &Map<String, Value>,
        field: &str,
        required: bool,
    ) -> Result<Vec<String>> {
        let value = match object.get(field) {
            None if required => return Err(self.error(field, "required field is missing")),
            None => return Ok(Vec::new()),
            Some(value) => value,
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(field, "a list of strings", value));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(self.wrong_type(&format!("{field}[{i}]"), "a string", other)),
            })
            .collect()
    }

    fn domain_parameters(
        &self,
        object: &Map<String, Value>,
    ) -> Result<IndexMap<String, ParameterSpec>> {
        let field = "domain_parameters";
        let value = self.required(object, field)?;
        let Value::Object(params) = value else {
            return Err(self.wrong_type(field, "an object", value));
        };
        let mut out = IndexMap::new();
        for (name, spec) in params {
            let here = format!("{field}.{name}");
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(self.error(&here, "parameter names must be [A-Za-z0-9_]+"));
            }
            let Value::Object(spec) = spec else {
                return Err(self.wrong_type(&here, "an object", spec));
            };
            let ty = match spec.get("type") {
                None => {
                    return Err(self.error(&format!("{here}.type"), "required field is missing"));
                }
                Some(Value::String(t)) => ParamType::parse(t).ok_or_else(|| {
                    self.error(
                        &format!("{here}.type"),
                        format!("unknown type '{t}' (expected \"int\", \"float\" or \"str\")"),
                    )
                })?,
                Some(other) => {
                    return Err(self.wrong_type(&format!("{here}.type"), "a string", other));
                }
            };
            let description = match spec.get("description") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(self.wrong_type(&format!("{here}.description"), "a string", other));
                }
            };
            let default = match spec.get("default") {
                None | Some(Value::Null) => None,
                Some(value) => {
                    let parsed = ParamValue::from_json(value, ty)
                        .map_err(|reason| self.error(&format!("{here}.default"), reason))?;
                    parsed
                        .check_domain(name)
                        .map_err(|reason| self.error(&format!("{here}.default"), reason))?;
                    Some(parsed)
                }
            };
            out.insert(
                name.clone(),
                ParameterSpec {
                    ty,
                    description,
                    default,
                },
            );
        }
        Ok(out)
    }

    fn training(&self, object: &Map<String, Value>) -> Result<TrainingSpec> {
        let field = "training";
        let training = match object.get(field) {
            None => return Ok(TrainingSpec::default()),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(self.wrong_type(field, "an object", other)),
        };
        let number = |key: &str| -> Result<Option<f64>> {
            match training.get(key) {
                None => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(other) => Err(self.wrong_type(&format!("{field}.{key}"), "a number", other)),
            }
        };
        let positive = |key: &str| -> Result<Option<f64>> {
            let value = number(key)?;
            match value {
                Some(v) if !(v.is_finite() && v >= 0.0) => Err(self.error(
                    &format!("{field}.{key}"),
                    format!("{v} must be a finite number >= 0"),
                )),
                _ => Ok(value),
            }
        };
        let learning_rate = positive("learning_rate")?;
        let weight_decay = positive("weight_decay")?;
        let betas = match training.get("betas") {
            None => None,
            Some(Value::Array(items)) if items.len() == 2 => {
                let beta = |i: usize| -> Result<f64> {
                    match items[i].as_f64() {
                        Some(b) if (0.0..1.0).contains(&b) => Ok(b),
                        _ => Err(self.error(
                            &format!("{field}.betas[{i}]"),
                            format!("{} must be a number in [0, 1)", items[i]),
                        )),
                    }
                };
                Some((beta(0)?, beta(1)?))
            }
            Some(other) => {
                return Err(self.wrong_type(
                    &format!("{field}.betas"),
                    "a list of two numbers",
                    other,
                ));
            }
        };
        let num_epochs = match training.get("num_epochs") {
            None => None,
            Some(value) => match value.as_u64() {
                Some(0) => {
                    return Err(self.error(&format!("{field}.num_epochs"), "0 must be at least 1"));
                }
                Some(n) => Some(n),
                None => {
                    return Err(self.wrong_type(
                        &format!("{field}.num_epochs"),
                        "a positive integer",
                        value,
                    ));
                }
            },
        };
        let training_fraction = number("training_fraction")?;
        if let Some(f) = training_fraction
            && !(f > 0.0 && f < 1.0)
        {
            return Err(self.error(
                &format!("{field}.training_fraction"),
                format!("{f} must lie strictly between 0 and 1"),
            ));
        }
        let checkpoint_ranges = match training.get("checkpoint_ranges") {
            None => None,
            Some(Value::Array(ranges)) => {
                let mut out = Vec::with_capacity(ranges.len());
                for (i, range) in ranges.iter().enumerate() {
                    let here = format!("{field}.checkpoint_ranges[{i}]");
                    let triple = range
                        .as_array()
                        .filter(|items| items.len() == 3)
                        .and_then(|items| {
                            Some((items[0].as_u64()?, items[1].as_u64()?, items[2].as_u64()?))
                        })
                        .ok_or_else(|| {
                            self.error(
                                &here,
                                "expected [start, stop, step] of non-negative integers",
                            )
                        })?;
                    if triple.2 == 0 {
                        return Err(self.error(&here, "step must be at least 1"));
                    }
                    out.push(triple);
                }
                Some(out)
            }
            Some(other) => {
                return Err(self.wrong_type(
                    &format!("{field}.checkpoint_ranges"),
                    "a list of [start, stop, step]",
                    other,
                ));
            }
        };
        Ok(TrainingSpec {
            learning_rate,
            weight_decay,
            betas,
            num_epochs,
            training_fraction,
            checkpoint_ranges,
        })
    }
}

/// Every `{placeholder}` of the pattern must be a declared parameter, and every parameter must
/// appear, or names could not be parsed back into parameters.
fn check_pattern(
    fields: &FieldReader<'_>,
    pattern: &str,
    params: &IndexMap<String, ParameterSpec>,
) -> Result<()> {
    let placeholders = crate::family::pattern::placeholders(pattern)
        .map_err(|reason| fields.error("variant_pattern", reason))?;
    for placeholder in &placeholders {
        if !params.contains_key(placeholder) {
            return Err(fields.error(
                "variant_pattern",
                format!("placeholder {{{placeholder}}} is not a domain parameter"),
            ));
        }
    }
    for name in params.keys() {
        if !placeholders.contains(name) {
            return Err(fields.error(
                "variant_pattern",
                format!("domain parameter '{name}' does not appear in the pattern, so two variants could share a directory"),
            ));
        }
    }
    Ok(())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

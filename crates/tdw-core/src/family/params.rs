//! Domain parameters of a variant (`prime`, `seed`, `data_seed`, ...), typed and validated.
//!
//! Parameters come from users (CLI `k=v`, notebook calls) and from directory names under
//! `results/`; both are checked once here against the family's [`ParameterSpec`]s, so code
//! downstream can trust a [`Params`] (ripgrep's low-args → high-args habit).

use std::fmt;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::family::spec::FamilySpec;

/// The declared type of a domain parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Float,
    Str,
}

impl ParamType {
    /// Parses the `type` string of family.json.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "int" => Some(ParamType::Int),
            "float" => Some(ParamType::Float),
            "str" => Some(ParamType::Str),
            _ => None,
        }
    }
}

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Str(String),
}

impl ParamValue {
    /// Converts a JSON value to the declared type (an integer is accepted for a float).
    pub fn from_json(value: &Value, ty: ParamType) -> std::result::Result<Self, String> {
        match (ty, value) {
            (ParamType::Int, Value::Number(n)) => n
                .as_i64()
                .map(ParamValue::Int)
                .ok_or_else(|| format!("{n} is not an integer")),
            (ParamType::Float, Value::Number(n)) => n
                .as_f64()
                .map(ParamValue::Float)
                .ok_or_else(|| format!("{n} is not a number")),
            (ParamType::Str, Value::String(s)) => Ok(ParamValue::Str(s.clone())),
            (ParamType::Int, other) => Err(format!("expected an integer, found {other}")),
            (ParamType::Float, other) => Err(format!("expected a number, found {other}")),
            (ParamType::Str, other) => Err(format!("expected a string, found {other}")),
        }
    }

    /// Parses text (a CLI value or a piece of a directory name) as the declared type.
    pub fn parse_text(text: &str, ty: ParamType) -> std::result::Result<Self, String> {
        match ty {
            ParamType::Int => text
                .trim()
                .parse::<i64>()
                .map(ParamValue::Int)
                .map_err(|e| match e.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        format!("beyond the integer range ±{}", i64::MAX)
                    }
                    _ => "expected an integer".to_string(),
                }),
            ParamType::Float => match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(ParamValue::Float(v)),
                _ => Err("expected a finite number".to_string()),
            },
            ParamType::Str if text.is_empty() => Err("expected a non-empty string".to_string()),
            ParamType::Str => Ok(ParamValue::Str(text.to_string())),
        }
    }

    /// Domain rules that hold in every family: a `prime` is a prime ≥ 3 (the modulus of the
    /// task), and seeds are non-negative (torch's generator takes them as unsigned).
    pub fn check_domain(&self, name: &str) -> std::result::Result<(), String> {
        match (name, self) {
            ("prime", ParamValue::Int(p)) if *p < 3 => Err(format!("{p} must be a prime >= 3")),
            ("prime", ParamValue::Int(p)) if *p > MAX_PRIME => Err(format!(
                "{p} is beyond the largest supported modulus {MAX_PRIME}: for p² ≥ 2³²/20 torch.randperm draws 64-bit numbers, which this port does not reproduce (and such a run needs far more memory than a machine has)"
            )),
            ("prime", ParamValue::Int(p)) if !is_prime(*p as u64) => {
                Err(format!("{p} is not prime"))
            }
            (name, ParamValue::Int(s)) if name.ends_with("seed") && *s < 0 => {
                Err(format!("{s} must be >= 0"))
            }
            _ => Ok(()),
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ParamValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as JSON (for config.json and manifests).
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Int(v) => Value::from(*v),
            ParamValue::Float(v) => Value::from(*v),
            ParamValue::Str(v) => Value::from(v.clone()),
        }
    }
}

/// Splits one `NAME=VALUE` assignment (a `--param`, a view `--option`, a piece of a notebook's
/// `"prime=59 seed=1"`); `setting` names where it came from in the error. The one parser of this
/// form for the CLI and the notebook layer alike.
pub fn split_assignment<'a>(
    text: &'a str,
    setting: &str,
) -> crate::error::Result<(&'a str, &'a str)> {
    text.split_once('=')
        .ok_or_else(|| crate::error::Error::InvalidSetting {
            setting: setting.into(),
            value: text.into(),
            reason: "expected NAME=VALUE".into(),
        })
}

/// The largest modulus whose split torch draws with 32-bit numbers (p² < 2³²/20), the only path
/// of `torch.randperm` this port reproduces.
pub const MAX_PRIME: i64 = 14_653;

/// Formats like Python's `str()`, because MIScope builds directory names with `str.format`.
impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) if v.fract() == 0.0 && v.abs() < 1e16 => write!(f, "{v:.1}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Str(v) => f.write_str(v),
        }
    }
}

/// Trial division: primes here are moduli of a p²-sized dataset, so they are small.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// A complete, validated set of domain parameters, in the family's declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    values: IndexMap<String, ParamValue>,
}

impl Params {
    /// Validates typed values against the family: unknown names, wrong types, missing values
    /// without default and domain rules are errors naming the parameter. Missing values take
    /// their defaults.
    pub fn new(spec: &FamilySpec, given: IndexMap<String, ParamValue>) -> Result<Self> {
        for name in given.keys() {
            if !spec.domain_parameters.contains_key(name) {
                return Err(Error::UnknownParameter {
                    family: spec.name.clone(),
                    name: name.clone(),
                    known: spec.domain_parameters.keys().cloned().collect(),
                });
            }
        }
        let mut values = IndexMap::new();
        for (name, param) in &spec.domain_parameters {
            let value = match given.get(name) {
                Some(value) => coerce(name, value, param.ty)?,
                None => param
                    .default
                    .clone()
                    .ok_or_else(|| Error::MissingParameter {
                        family: spec.name.clone(),
                        name: name.clone(),
                    })?,
            };
            value
                .check_domain(name)
                .map_err(|reason| Error::invalid_parameter(name, &value, reason))?;
            values.insert(name.clone(), value);
        }
        Ok(Params { values })
    }

    /// Validates `name=value` text pairs (CLI arguments) against the family.
    pub fn from_text_pairs<'a>(
        spec: &FamilySpec,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut given = IndexMap::new();
        for (name, text) in pairs {
            let Some(param) = spec.domain_parameters.get(name) else {
                return Err(Error::UnknownParameter {
                    family: spec.name.clone(),
                    name: name.to_string(),
                    known: spec.domain_parameters.keys().cloned().collect(),
                });
            };
            let value = ParamValue::parse_text(text, param.ty)
                .map_err(|reason| Error::invalid_parameter(name, text, reason))?;
            given.insert(name.to_string(), value);
        }
        Self::new(spec, given)
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }

    /// An integer parameter, or an error naming it.
    pub fn int(&self, name: &str) -> Result<i64> {
        match self.values.get(name) {
            Some(ParamValue::Int(v)) => Ok(*v),
            Some(other) => Err(Error::invalid_parameter(name, other, "expected an integer")),
            None => Err(Error::invalid_parameter(
                name,
                "<absent>",
                "this family needs it",
            )),
        }
    }

    /// Iterates in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// As a JSON object, in declaration order.
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(" "))
    }
}

fn coerce(name: &str, value: &ParamValue, ty: ParamType) -> Result<ParamValue> {
    match (ty, value) {
        (ParamType::Int, ParamValue::Int(_))
        | (ParamType::Float, ParamValue::Float(_))
        | (ParamType::Str, ParamValue::Str(_)) => Ok(value.clone()),
        (ParamType::Float, ParamValue::Int(v)) => Ok(ParamValue::Float(*v as f64)),
        (ParamType::Int, _) => Err(Error::invalid_parameter(name, value, "expected an integer")),
        (ParamType::Float, _) => Err(Error::invalid_parameter(name, value, "expected a number")),
        (ParamType::Str, _) => Err(Error::invalid_parameter(name, value, "expected a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes() {
        let primes: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    }

    #[test]
    fn floats_print_like_python() {
        assert_eq!(ParamValue::Float(0.3).to_string(), "0.3");
        assert_eq!(ParamValue::Float(2.0).to_string(), "2.0");
        assert_eq!(ParamValue::Int(113).to_string(), "113");
    }

    #[test]
    fn domain_rules() {
        assert!(ParamValue::Int(113).check_domain("prime").is_ok());
        assert!(ParamValue::Int(2).check_domain("prime").is_err());
        assert!(ParamValue::Int(91).check_domain("prime").is_err());
        assert!(ParamValue::Int(-1).check_domain("data_seed").is_err());
        assert!(ParamValue::Int(91).check_domain("seed").is_ok());
    }
}

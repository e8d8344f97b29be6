//! Domain parameters of a variant (`prime`, `seed`, `data_seed`, ...), typed and validated.
//!
//! Parameters come from users (CLI `k=v`, notebook calls) and from directory names under
//! `results/`; both are checked once here against the family's [`ParameterSpec`]s, so code
//! downstream can trust a [`Params`] (ripgrep's low-args → high-args habit).

use std::fmt;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::family::parameter::{ParamType, ParamValue};
use crate::family::spec::FamilySpec;

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
    use crate::family::parameter::is_prime;

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

//! One domain parameter: its declared type, a value of it, and its declaration in family.json
//! ([`ParameterSpec`]). The bottom of the family layer: the spec, the name pattern and the
//! validated [`crate::family::Params`] all build on these.

use std::fmt;

use serde_json::Value;

/// One domain parameter of a family (a `ParameterSpec` in MIScope).
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSpec {
    /// Value type; decides how variant directory names are parsed back.
    pub ty: ParamType,
    /// Free text shown to users.
    pub description: String,
    /// Value used when a variant does not give one; `None` makes the parameter required.
    pub default: Option<ParamValue>,
}

/// The declared type of a domain parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// An integer (JSON number without a fraction).
    Int,
    /// A float.
    Float,
    /// A string.
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
    /// An integer value.
    Int(i64),
    /// A float value.
    Float(f64),
    /// A string value.
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

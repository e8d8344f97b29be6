//! The `intervention` block, as MIScope writes it into an intervened variant's config.json, and
//! the name of the variant it makes (spec: miscope-dashboard.md §3).
//!
//! ```json
//! {"type": "frequency_gain", "target_heads": "all", "target_frequencies": [4, 10, 12, 17, 22],
//!  "gain": {"4": 0.3, "10": 0.3, "12": 0.3, "17": 0.3, "22": 0.3},
//!  "epoch_start": 1500, "epoch_end": 6500, "ramp_epochs": 200, "label": "damp_late"}
//! ```
//!
//! The block is kept as given (the variant's config.json stores it unchanged, so MIScope reads
//! the same block); [`FrequencyGain`] is its checked meaning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// MIScope's default ramp length, in epochs.
pub const DEFAULT_RAMP_EPOCHS: u64 = 50;

/// A frequency-gain intervention: the attention output's components along the target
/// frequencies' embedding directions scaled by their gains over an epoch window.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyGain {
    /// The block as given (stored in config.json and hashed for the name).
    pub raw: serde_json::Map<String, Value>,
    /// Target frequencies k (1-based, k ≤ p/2).
    pub target_frequencies: Vec<usize>,
    /// Gain per frequency as given; a target without one has gain 1.
    pub gain: BTreeMap<usize, f64>,
    /// First epoch of the window (the ramp starts at 0 there).
    pub epoch_start: u64,
    /// End of the window (exclusive).
    pub epoch_end: u64,
    /// Epochs of the linear ramp in and out.
    pub ramp_epochs: u64,
    /// The variant's name when given.
    pub label: Option<String>,
}

impl FrequencyGain {
    /// Parses and checks an `intervention` block; `origin` (the file it came from) is named in
    /// errors.
    pub fn from_json(value: &Value, origin: &Path) -> Result<Self> {
        let bad = |field: &str, reason: String| Error::InterventionField {
            origin: origin.to_path_buf(),
            field: field.into(),
            reason,
        };
        let raw = value
            .as_object()
            .ok_or_else(|| bad("intervention", "must be a JSON object".into()))?
            .clone();
        let kind = raw.get("type").and_then(Value::as_str);
        if kind != Some("frequency_gain") {
            return Err(bad(
                "type",
                format!(
                    "{} is not an intervention this build knows (expected \"frequency_gain\")",
                    raw.get("type").map_or("missing".into(), Value::to_string)
                ),
            ));
        }
        if let Some(heads) = raw.get("target_heads")
            && heads.as_str() != Some("all")
        {
            return Err(bad(
                "target_heads",
                format!("{heads} unsupported: the summed attention output is hooked (\"all\")"),
            ));
        }
        let target_frequencies: Vec<usize> = match raw.get("target_frequencies") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|k| match k.as_u64() {
                    Some(k) if k >= 1 => Ok(k as usize),
                    _ => Err(bad(
                        "target_frequencies",
                        format!("{k} is not a frequency (an integer ≥ 1)"),
                    )),
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(bad(
                    "target_frequencies",
                    format!("{other} must be a non-empty list of frequencies"),
                ));
            }
            None => return Err(bad("target_frequencies", "missing".into())),
        };
        let gain = match raw.get("gain") {
            // One number: every target gets it (a shorthand; MIScope's blocks give a map).
            Some(Value::Number(g)) => {
                let g = finite(g.as_f64(), "gain", &bad)?;
                target_frequencies.iter().map(|&k| (k, g)).collect()
            }
            Some(Value::Object(map)) => {
                let mut gain = BTreeMap::new();
                for (key, g) in map {
                    let k: usize = key
                        .trim()
                        .parse()
                        .map_err(|_| bad("gain", format!("key \"{key}\" is not a frequency")))?;
                    gain.insert(k, finite(g.as_f64(), &format!("gain.{key}"), &bad)?);
                }
                gain
            }
            Some(other) => {
                return Err(bad(
                    "gain",
                    format!("{other} must be a number or a map from frequency to gain"),
                ));
            }
            None => return Err(bad("gain", "missing".into())),
        };
        let epoch = |field: &str| match raw.get(field) {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| bad(field, format!("{v} is not an epoch (an integer ≥ 0)"))),
            None => Err(bad(field, "missing".into())),
        };
        let epoch_start = epoch("epoch_start")?;
        let epoch_end = epoch("epoch_end")?;
        if epoch_end <= epoch_start {
            return Err(bad(
                "epoch_end",
                format!("{epoch_end} must come after epoch_start {epoch_start}"),
            ));
        }
        let ramp_epochs = match raw.get("ramp_epochs") {
            None => DEFAULT_RAMP_EPOCHS,
            Some(_) => epoch("ramp_epochs")?,
        };
        let label = match raw.get("label") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => {
                check_label(s).map_err(|reason| bad("label", reason))?;
                Some(s.clone())
            }
            Some(other) => return Err(bad("label", format!("{other} must be a string"))),
        };
        Ok(FrequencyGain {
            raw,
            target_frequencies,
            gain,
            epoch_start,
            epoch_end,
            ramp_epochs,
            label,
        })
    }

    /// Reads a block from a JSON file (`tdw intervene --config FILE`): the file holds the block
    /// itself, or an object with an `intervention` key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| Error::InterventionField {
            origin: path.to_path_buf(),
            field: "intervention".into(),
            reason: format!("not valid JSON: {e}"),
        })?;
        let block = value.get("intervention").unwrap_or(&value);
        Self::from_json(block, path)
    }

    /// The directory name under `{parent}/interventions/`: the `label`, else the first 8 hex
    /// digits of SHA-256 of the block as Python's `json.dumps(config, sort_keys=True,
    /// separators=(",", ":"))` writes it. A block read from JSON has string keys and hashes as
    /// MIScope hashes it after reloading; a block MIScope built in Python with integer `gain`
    /// keys sorts those numerically and so hashes differently (its quirk) — give a `label`
    /// where both tools must agree on the name.
    pub fn name(&self) -> String {
        match &self.label {
            Some(label) => label.clone(),
            None => {
                let canonical = python_json(&Value::Object(self.raw.clone()));
                let digest = Sha256::digest(canonical.as_bytes());
                digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
            }
        }
    }

    /// Checks the block against the model: every target frequency is one of Z/p's, k ≤ p/2
    /// (MIScope ignores a larger one silently; here it is refused, since it would do nothing).
    pub fn check_prime(&self, prime: usize, origin: &Path) -> Result<()> {
        let n = prime / 2;
        match self.target_frequencies.iter().find(|&&k| k > n) {
            Some(k) => Err(Error::InterventionField {
                origin: origin.to_path_buf(),
                field: "target_frequencies".into(),
                reason: format!("frequency {k} is beyond p/2 = {n} for p = {prime}"),
            }),
            None => Ok(()),
        }
    }
}

fn finite<E>(
    value: Option<f64>,
    field: &str,
    bad: &impl Fn(&str, String) -> E,
) -> std::result::Result<f64, E> {
    match value {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(bad(field, "must be a finite number".into())),
    }
}

/// A label names a directory: one path component, no separators or dot names.
fn check_label(label: &str) -> std::result::Result<(), String> {
    if label == "." || label == ".." || label.starts_with('.') {
        return Err(format!(
            "\"{label}\" cannot name a directory (no leading dot)"
        ));
    }
    match label
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '\0') || c.is_control())
    {
        Some(c) => Err(format!(
            "\"{label}\" cannot name a directory (it contains {c:?})"
        )),
        None => Ok(()),
    }
}

/// `value` as Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))` writes it:
/// keys sorted by code point, no spaces, non-ASCII escaped (`ensure_ascii`), floats in Python's
/// `repr` (`0.3`, `1.0`, `1e-05`, `1e+16`), integers as integers.
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(value, &mut out);
    out
}

fn write_python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&python_float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_python_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            // Python compares str by code point; Rust's str order is byte order of UTF-8,
            // which is the same order.
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_python_string(key, out);
                out.push(':');
                write_python_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn write_python_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for decimal
/// exponents −4 ≤ e < 16 (always with a fractional part), scientific otherwise with a signed,
/// at least two-digit exponent.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` prints the shortest round-trip digits too: "1.5e-5", "3e-1".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let mantissa = if digits.len() == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    }
}

/// `{parent_dir}/interventions/{name}`.
pub fn dir_of(parent_dir: &Path, name: &str) -> PathBuf {
    parent_dir.join(INTERVENTIONS_DIR).join(name)
}

/// The config.json key of an intervened variant's block.
pub const INTERVENTION_KEY: &str = "intervention";

/// The directory under a variant that holds its interventions.
pub const INTERVENTIONS_DIR: &str = "interventions";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FrequencyGain> {
        FrequencyGain::from_json(&serde_json::from_str(text).unwrap(), Path::new("test.json"))
    }

    #[test]
    fn python_float_repr_matches_python() {
        // Values and what CPython 3.11 prints for repr(x).
        for (x, repr) in [
            (0.3, "0.3"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (123456789012345.6, "123456789012345.6"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(python_float_repr(x), repr, "{x}");
        }
    }

    #[test]
    fn the_name_is_the_label_or_the_hash_of_pythons_canonical_json() {
        let block = r#"{"type": "frequency_gain", "target_heads": "all",
            "target_frequencies": [4, 10, 12, 17, 22],
            "gain": {"4": 0.3, "10": 0.3, "12": 0.3, "17": 0.3, "22": 0.3},
            "epoch_start": 1500, "epoch_end": 6500, "ramp_epochs": 200}"#;
        let config = parse(block).unwrap();
        let canonical = python_json(&Value::Object(config.raw.clone()));
        // What json.dumps(json.loads(block), sort_keys=True, separators=(",", ":")) prints.
        assert_eq!(
            canonical,
            r#"{"epoch_end":6500,"epoch_start":1500,"gain":{"10":0.3,"12":0.3,"17":0.3,"22":0.3,"4":0.3},"ramp_epochs":200,"target_frequencies":[4,10,12,17,22],"target_heads":"all","type":"frequency_gain"}"#
        );
        // hashlib.sha256(canonical.encode()).hexdigest()[:8], computed with CPython 3.11.
        assert_eq!(config.name(), "0c51abda");
        let labelled =
            parse(&block.replace("\"ramp_epochs\"", "\"label\": \"damp\", \"ramp_epochs\""))
                .unwrap();
        assert_eq!(labelled.name(), "damp");
        assert_eq!(
            python_json(&serde_json::json!({"é": "ü\n"})),
            r#"{"\u00e9":"\u00fc\n"}"#
        );
    }

    #[test]
    fn bad_blocks_are_refused_naming_the_field() {
        let ok = r#"{"type":"frequency_gain","target_frequencies":[3],"gain":{"3":2},"epoch_start":0,"epoch_end":10}"#;
        let config = parse(ok).unwrap();
        assert_eq!(config.ramp_epochs, DEFAULT_RAMP_EPOCHS);
        assert_eq!(config.gain[&3], 2.0);
        for (edit, field) in [
            (ok.replace("frequency_gain", "other"), "type"),
            (ok.replace("[3]", "[]"), "target_frequencies"),
            (ok.replace("[3]", "[0]"), "target_frequencies"),
            (ok.replace("{\"3\":2}", "\"x\""), "gain"),
            (ok.replace("{\"3\":2}", "{\"x\":2}"), "gain"),
            (
                ok.replace("\"epoch_end\":10", "\"epoch_end\":0"),
                "epoch_end",
            ),
            (
                format!("{},\"label\":\"a/b\"}}", &ok[..ok.len() - 1]),
                "label",
            ),
            (
                format!("{},\"target_heads\":[0]}}", &ok[..ok.len() - 1]),
                "target_heads",
            ),
        ] {
            let err = parse(&edit).expect_err(&edit).to_string();
            assert!(err.contains(&format!("field `{field}`")), "{err}");
            assert!(err.starts_with("test.json: "), "{err}");
        }
        let err = config
            .check_prime(5, Path::new("x.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("frequency 3 is beyond p/2 = 2"), "{err}");
    }
}

//! Variant directory names: `variant_pattern` formatted with params, and parsed back (spec §1.3).
//!
//! MIScope formats names with Python's `str.format` and parses them with an anchored regex whose
//! groups depend on the parameter type (int `\d+`, float `\d+\.?\d*`, str `[^_]+`). Both
//! directions live here so that they cannot drift apart.

use indexmap::IndexMap;
use regex::Regex;

use crate::family::parameter::{ParamType, ParamValue, ParameterSpec};

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Placeholder(String),
}

fn pieces(pattern: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("unclosed '{{' in pattern '{pattern}'")),
                    }
                }
                if name.is_empty() || name.contains([':', '!']) {
                    return Err(format!(
                        "placeholder '{{{name}}}' must be a bare parameter name (no format spec)"
                    ));
                }
                if !literal.is_empty() {
                    out.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                out.push(Piece::Placeholder(name));
            }
            '}' => return Err(format!("single '}}' in pattern '{pattern}'")),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        out.push(Piece::Literal(literal));
    }
    Ok(out)
}

/// The placeholder names of a pattern, in order.
pub fn placeholders(pattern: &str) -> Result<Vec<String>, String> {
    Ok(pieces(pattern)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder(name) => Some(name),
            Piece::Literal(_) => None,
        })
        .collect())
}

/// Formats a variant name. The pattern was checked at parse time to use only known parameters.
pub fn format_name<'a>(
    pattern: &str,
    lookup: impl Fn(&str) -> Option<&'a ParamValue>,
) -> Result<String, String> {
    let mut name = String::new();
    for piece in pieces(pattern)? {
        match piece {
            Piece::Literal(text) => name.push_str(&text),
            Piece::Placeholder(param) => {
                let value = lookup(&param).ok_or_else(|| format!("no value for {{{param}}}"))?;
                name.push_str(&value.to_string());
            }
        }
    }
    Ok(name)
}

/// The anchored regex MIScope uses to recognise variant directories of a family.
pub struct NameParser {
    regex: Regex,
    params: IndexMap<String, ParamType>,
}

impl NameParser {
    /// Builds the parser for a family's pattern.
    pub fn new(pattern: &str, specs: &IndexMap<String, ParameterSpec>) -> Result<Self, String> {
        let mut source = String::from("^");
        for piece in pieces(pattern)? {
            match piece {
                Piece::Literal(text) => source.push_str(&regex::escape(&text)),
                Piece::Placeholder(name) => {
                    let group = match specs.get(&name).map(|s| s.ty) {
                        Some(ParamType::Int) => r"\d+",
                        Some(ParamType::Float) => r"\d+\.?\d*",
                        _ => r"[^_]+",
                    };
                    source.push_str(&format!("(?P<{name}>{group})"));
                }
            }
        }
        source.push('$');
        let regex = Regex::new(&source).map_err(|e| e.to_string())?;
        let params = specs.iter().map(|(k, v)| (k.clone(), v.ty)).collect();
        Ok(NameParser { regex, params })
    }

    /// Parses a directory name into typed values in declaration order, or `None` if it is not a
    /// name of this family.
    pub fn parse(&self, name: &str) -> Option<IndexMap<String, ParamValue>> {
        let captures = self.regex.captures(name)?;
        let mut values = IndexMap::new();
        for (param, ty) in &self.params {
            let text = captures.name(param)?.as_str();
            values.insert(param.clone(), ParamValue::parse_text(text, *ty).ok()?);
        }
        Some(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> IndexMap<String, ParameterSpec> {
        let spec = |ty| ParameterSpec {
            ty,
            description: String::new(),
            default: None,
        };
        [
            ("prime".to_string(), spec(ParamType::Int)),
            ("frac".to_string(), spec(ParamType::Float)),
            ("tag".to_string(), spec(ParamType::Str)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn name_round_trip() {
        let pattern = "fam_p{prime}_f{frac}_{tag}";
        let values: IndexMap<String, ParamValue> = [
            ("prime".to_string(), ParamValue::Int(113)),
            ("frac".to_string(), ParamValue::Float(0.5)),
            ("tag".to_string(), ParamValue::Str("x-1".into())),
        ]
        .into_iter()
        .collect();
        let name = format_name(pattern, |k| values.get(k)).unwrap();
        assert_eq!(name, "fam_p113_f0.5_x-1");
        let parser = NameParser::new(pattern, &specs()).unwrap();
        assert_eq!(parser.parse(&name), Some(values));
        assert_eq!(parser.parse("fam_p113_f0.5_x_1"), None);
        assert_eq!(parser.parse("fam_pXX_f0.5_x"), None);
    }

    #[test]
    fn bad_patterns() {
        assert!(placeholders("a_{prime").is_err());
        assert!(placeholders("a_{prime:03}").is_err());
        assert_eq!(placeholders("a{{b}}_{p}").unwrap(), vec!["p".to_string()]);
    }
}

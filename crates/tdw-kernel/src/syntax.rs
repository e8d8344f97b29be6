//! `is_complete_request`: whether a console should run what was typed or wait for more lines.
//! evcxr has no such query, and parsing Rust for it would be more than the answer needs: a cell
//! is incomplete while a bracket, block comment or string is still open, invalid when a bracket
//! closes that never opened, complete otherwise.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    Incomplete,
    Invalid,
}

pub fn completeness(code: &str) -> Completeness {
    let chars: Vec<char> = code.chars().collect();
    let mut stack = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    match (chars.get(i), chars.get(i + 1)) {
                        (None, _) => return Completeness::Incomplete,
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 1;
                        }
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                continue;
            }
            'r' if matches!(next, Some('#') | Some('"')) && !is_ident_char(i, &chars) => {
                // Raw string r#"…"#: ends at a quote followed by as many hashes.
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    j += 1;
                    loop {
                        match chars.get(j) {
                            None => return Completeness::Incomplete,
                            Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                                i = j + hashes;
                                break;
                            }
                            _ => j += 1,
                        }
                    }
                }
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Completeness::Incomplete,
                        Some('\\') => i += 2,
                        Some('"') => break,
                        _ => i += 1,
                    }
                }
            }
            // A char literal ('a', '\n', '{'); a lifetime ('a) has no closing quote in reach.
            '\'' => {
                if next == Some('\\') {
                    if let Some(end) = (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
                    {
                        i = end;
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if stack.is_empty() {
        Completeness::Complete
    } else {
        Completeness::Incomplete
    }
}

fn is_ident_char(i: usize, chars: &[char]) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

#[cfg(test)]
mod tests {
    use super::Completeness::*;
    use super::completeness;

    #[test]
    fn open_brackets_wait_for_more_and_stray_ones_are_invalid() {
        assert_eq!(completeness("let x = 1;"), Complete);
        assert_eq!(completeness("fn f() {"), Incomplete);
        assert_eq!(completeness("vec![1, 2"), Incomplete);
        assert_eq!(completeness("f(1))"), Invalid);
        assert_eq!(completeness("let s = \"a { b"), Incomplete);
        assert_eq!(completeness("let s = \"a { b\";"), Complete);
        assert_eq!(completeness("let c = '{'; let d = '\\'';"), Complete);
        assert_eq!(completeness("fn f<'a>(x: &'a str) {}"), Complete);
        assert_eq!(completeness("// {\nlet x = 1;"), Complete);
        assert_eq!(completeness("/* { */ 1"), Complete);
        assert_eq!(completeness("/* unfinished"), Incomplete);
        assert_eq!(completeness("let r = r#\"a \" { \"#;"), Complete);
        assert_eq!(completeness("let r = r#\"a \" {"), Incomplete);
        assert_eq!(completeness("let raw = 1; (raw)"), Complete);
    }
}

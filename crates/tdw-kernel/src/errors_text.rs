//! Cell errors as the notebook shows them, and the character/byte positions Jupyter and
//! rust-analyzer each count in.
//!
//! A compile error is shown as rustc would show it against the cell's own lines (not evcxr's
//! generated wrapper): the message, `--> cell:LINE:COL`, the line, carets under the span with
//! its label, then rustc's help lines.

use evcxr::Error;

/// (ename, evalue, traceback lines) for an `error` output.
pub fn error_traceback(error: &Error, code: &str) -> (String, String, Vec<String>) {
    match error {
        Error::CompilationErrors(errors) => {
            let mut lines = Vec::new();
            for error in errors {
                lines.extend(compilation_error_lines(error, code));
                lines.push(String::new());
            }
            let first = errors
                .first()
                .map(|e| e.message())
                .unwrap_or_else(|| "compilation failed".into());
            ("Error".into(), first, lines)
        }
        Error::SubprocessTerminated(message) => (
            "SubprocessTerminated".into(),
            message.clone(),
            vec![
                message.clone(),
                "The cell process stopped: its variables are gone; the next cell starts a new one."
                    .into(),
            ],
        ),
        Error::TypeRedefinedVariablesLost(variables) => {
            let text = format!(
                "a type was redefined, so these variables were dropped: {}",
                variables.join(", ")
            );
            ("TypeRedefined".into(), text.clone(), vec![text])
        }
        Error::Message(message) => (
            "Error".into(),
            message.clone(),
            message.lines().map(str::to_string).collect(),
        ),
    }
}

fn compilation_error_lines(error: &evcxr::CompilationError, code: &str) -> Vec<String> {
    let code_lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let heading = match error.code() {
        Some(code) => format!("\x1b[31merror[{code}]\x1b[0m: {}", error.message()),
        None => format!("\x1b[31m{}\x1b[0m: {}", error.level(), error.message()),
    };
    out.push(heading);
    let mut spanned = false;
    for message in error.spanned_messages() {
        let Some(span) = &message.span else { continue };
        let Some(line) = code_lines.get(span.start_line.wrapping_sub(1)) else {
            continue;
        };
        spanned = true;
        out.push(format!(
            "  --> cell:{}:{}",
            span.start_line, span.start_column
        ));
        out.push(format!("   | {line}"));
        let start = span.start_column.saturating_sub(1);
        let width = if span.end_line == span.start_line {
            span.end_column.saturating_sub(span.start_column).max(1)
        } else {
            line.chars().count().saturating_sub(start).max(1)
        };
        let mark = if message.is_primary { '^' } else { '-' };
        out.push(format!(
            "   | {}{} {}",
            " ".repeat(start),
            mark.to_string().repeat(width),
            message.label
        ));
    }
    if !spanned {
        // Not located in the cell (generated code, a dependency): rustc's own rendering.
        out.extend(error.rendered().lines().map(str::to_string));
    }
    for help in error.help() {
        out.push(format!("   = help: {help}"));
    }
    if let Some(hint) = error.evcxr_extra_hint() {
        out.push(format!("   = hint: {hint}"));
    }
    out
}

/// Converts between Jupyter's cursor positions (Unicode code points) and byte offsets.
pub struct TextPositions {
    /// Byte offset of each char, plus the length at the end.
    offsets: Vec<usize>,
}

pub fn text_positions(text: &str) -> TextPositions {
    let mut offsets: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    offsets.push(text.len());
    TextPositions { offsets }
}

impl TextPositions {
    pub fn byte_of_char(&self, char_pos: usize) -> usize {
        self.offsets[char_pos.min(self.offsets.len() - 1)]
    }

    pub fn char_of_byte(&self, byte: usize) -> usize {
        self.offsets.partition_point(|&b| b < byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_code_points_not_bytes() {
        let p = text_positions("é = 1; x");
        assert_eq!(p.byte_of_char(0), 0);
        assert_eq!(p.byte_of_char(1), 2);
        assert_eq!(p.char_of_byte(2), 1);
        assert_eq!(p.char_of_byte(9), 8);
        assert_eq!(p.byte_of_char(99), 9, "past the end clamps");
    }

    #[test]
    fn a_lost_process_says_what_was_lost() {
        let (name, _, lines) =
            error_traceback(&Error::SubprocessTerminated("signal: 9".into()), "");
        assert_eq!(name, "SubprocessTerminated");
        assert!(lines[1].contains("variables are gone"));
    }
}

//! HTML tables shown inline (escaping and the plain-text alternative come from tdw-core).

pub use tdw_core::views::text::{escape, text_table};

/// A table with a header row; cells are escaped.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<table class=\"tdw\"><thead><tr>");
    for h in header {
        html.push_str(&format!("<th>{}</th>", escape(h)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_and_align() {
        let rows = vec![vec!["a<b".to_string(), "1".to_string()]];
        assert!(table(&["name", "n"], &rows).contains("<td>a&lt;b</td>"));
    }
}

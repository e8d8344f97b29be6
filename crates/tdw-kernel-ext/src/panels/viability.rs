//! `viability_panel()`: MIScope's Viability Certificate page. Type a prime, a frequency set and
//! the embedding's W_E participation ratio (or pick an analysed variant, which fills in its
//! learned frequencies and its PR at the crossover), press Certify, and read the regime, the
//! summary, the hard pairs and the charts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tdw_core::{Certificate, CertificateInput, Result, Variant};

use crate::display::{EvcxrDisplay, certificate_html};
use crate::html::escape;
use crate::notebook::registry;
use crate::widgets::{self, Widget};

/// What the inputs hold when the panel opens: MIScope's example (p = 59, F = {5, 15, 21}, PR 18.3).
const EXAMPLE: (i64, &str, f64) = (59, "5, 15, 21", 18.3);
/// The drop-down's first entry: inputs typed by hand.
const BY_HAND: &str = "(by hand)";

/// The viability panel; shown by ending a cell with it.
#[derive(Clone)]
pub struct ViabilityPanel {
    inner: Arc<Inner>,
}

struct Inner {
    root: Widget,
    variant: Widget,
    prime: Widget,
    frequencies: Widget,
    pr: Widget,
    certify: Widget,
    line: Widget,
    result: Widget,
    variants: Mutex<Vec<Variant>>,
    running: AtomicBool,
}

impl std::fmt::Debug for ViabilityPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViabilityPanel({})", self.widget().id())
    }
}

impl EvcxrDisplay for ViabilityPanel {
    fn evcxr_display(&self) {
        self.inner.root.evcxr_display();
    }
}

/// Every analysed variant of a family with a prime, sorted by name.
fn analysed_variants() -> Result<Vec<Variant>> {
    let registry = registry()?;
    let mut all = Vec::new();
    for family in registry.names() {
        all.extend(registry.variants(&family)?.into_iter().filter(|v| {
            v.params().int("prime").is_ok() && v.artifacts_dir().join("manifest.json").is_file()
        }));
    }
    all.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(all)
}

/// `"5, 15, 21"` (commas and/or spaces) as frequencies, or the entry that is not one.
fn parse_frequencies(text: &str) -> std::result::Result<Vec<usize>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<usize>().map_err(|_| t.to_string()))
        .collect()
}

/// The Viability Certificate panel.
pub fn viability_panel() -> Result<ViabilityPanel> {
    let (prime, frequencies, pr) = EXAMPLE;
    let variant = widgets::dropdown("Variant", &[BY_HAND.to_string()], Some(0));
    let prime = widgets::int_text("Prime", prime);
    let frequencies = widgets::text("Frequencies", frequencies);
    let pr = widgets::float_text("W_E PR", pr);
    let certify = widgets::button("Certify", "primary");
    let line = widgets::html("");
    let result = widgets::html("");
    let title = widgets::html("<h3 style=\"margin:4px 0\">Viability certificate</h3>");
    let inputs = widgets::hbox(&[&prime, &frequencies, &pr]);
    let root = widgets::vbox(&[&title, &variant, &inputs, &certify, &line, &result]);
    let panel = ViabilityPanel {
        inner: Arc::new(Inner {
            root,
            variant,
            prime,
            frequencies,
            pr,
            certify,
            line,
            result,
            variants: Mutex::new(Vec::new()),
            running: AtomicBool::new(false),
        }),
    };
    panel.list_variants();
    let me = panel.clone();
    panel
        .inner
        .variant
        .observe("index", move |_, _| me.fill_from_variant());
    let me = panel.clone();
    panel.inner.certify.on_click(move |_| me.start());
    Ok(panel)
}

impl ViabilityPanel {
    /// The panel's root widget (what the cell displays).
    pub fn widget(&self) -> &Widget {
        &self.inner.root
    }

    fn list_variants(&self) {
        let variants = analysed_variants().unwrap_or_default();
        let names: Vec<String> = std::iter::once(BY_HAND.to_string())
            .chain(variants.iter().map(|v| v.name().to_string()))
            .collect();
        *self
            .inner
            .variants
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = variants;
        self.inner
            .variant
            .set("_options_labels", serde_json::json!(names));
    }

    /// A chosen variant fills the inputs with its own (or says why it cannot).
    fn fill_from_variant(&self) {
        let index = self.inner.variant.get("index").as_u64().unwrap_or(0) as usize;
        let Some(variant) = index.checked_sub(1).and_then(|i| {
            self.inner
                .variants
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(i)
                .cloned()
        }) else {
            return;
        };
        match CertificateInput::of_variant(&variant) {
            Ok(input) => {
                let list: Vec<String> = input.frequencies.iter().map(|k| k.to_string()).collect();
                self.inner.prime.set("value", input.prime);
                self.inner.frequencies.set("value", list.join(", "));
                self.inner.pr.set("value", input.w_e_pr);
                self.inner.line.set(
                    "value",
                    format!("inputs from {}", escape(&input.source_text())),
                );
            }
            Err(error) => {
                if let Ok(p) = variant.params().int("prime") {
                    self.inner.prime.set("value", p);
                }
                self.inner.line.set("value", escape(&error.to_string()));
            }
        }
    }

    /// The inputs as they stand, checked.
    fn input(&self) -> std::result::Result<CertificateInput, String> {
        let prime = self.inner.prime.get("value").as_i64().unwrap_or(0);
        let prime =
            u64::try_from(prime).map_err(|_| format!("prime = {prime}: must be an odd prime"))?;
        let text = self.inner.frequencies.get("value");
        let frequencies = parse_frequencies(text.as_str().unwrap_or(""))
            .map_err(|bad| format!("frequencies: '{bad}' is not a frequency (1-based k)"))?;
        let pr = self.inner.pr.get("value").as_f64().unwrap_or(f64::NAN);
        CertificateInput::new(prime, frequencies, pr).map_err(|e| e.to_string())
    }

    /// Certifies the inputs on a thread of its own (an ideal set not in the table is searched).
    fn start(&self) {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let input = match self.input() {
            Ok(input) => input,
            Err(message) => {
                self.inner.line.set("value", escape(&message));
                self.inner.running.store(false, Ordering::SeqCst);
                return;
            }
        };
        self.inner.certify.set("disabled", true);
        self.inner.line.set("value", "certifying…");
        let me = self.clone();
        std::thread::spawn(move || {
            match Certificate::of(input) {
                Ok(certificate) => {
                    me.inner.result.set("value", certificate_html(&certificate));
                    me.inner
                        .line
                        .set("value", format!("certified: <b>{}</b>", certificate.regime));
                }
                Err(error) => me.inner.line.set("value", escape(&error.to_string())),
            }
            me.inner.certify.set("disabled", false);
            me.inner.running.store(false, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::parse_frequencies;

    #[test]
    fn frequencies_parse_with_commas_or_spaces_and_name_a_bad_entry() {
        assert_eq!(parse_frequencies("5, 15,21  3"), Ok(vec![5, 15, 21, 3]));
        assert_eq!(parse_frequencies("5, x"), Err("x".to_string()));
        assert_eq!(parse_frequencies(""), Ok(vec![]));
    }
}

//! `artifacts/manifest.json`: per primary analyzer, the completed epochs and the keys' shapes and
//! dtypes (spec §1.8). Entries of analyzers that did not run are preserved; the file is written
//! atomically.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::family::Params;
use crate::formats::artifact::DType;

/// The manifest as JSON, kept in file order.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    root: Map<String, Value>,
}

impl Manifest {
    /// Reads `manifest.json`; absent → empty. A corrupt manifest is an error naming the file
    /// (it is rebuilt only by a run that rewrites the entries).
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let root = serde_json::from_str(&text).map_err(|cause| Error::Json {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Manifest { root })
    }

    /// Records one analyzer's completed epochs and its first epoch's shapes and dtypes.
    pub fn update_analyzer(
        &mut self,
        name: &str,
        epochs_completed: &[u64],
        layout: &[(String, Vec<usize>, DType)],
    ) {
        let shapes: Map<String, Value> = layout
            .iter()
            .map(|(k, shape, _)| (k.clone(), json!(shape)))
            .collect();
        let dtypes: Map<String, Value> = layout
            .iter()
            .map(|(k, _, dtype)| (k.clone(), json!(dtype.numpy_name())))
            .collect();
        let analyzers = self
            .root
            .entry("analyzers")
            .or_insert_with(|| Value::Object(Map::new()));
        if !analyzers.is_object() {
            *analyzers = Value::Object(Map::new());
        }
        analyzers
            .as_object_mut()
            .expect("made an object above")
            .insert(
                name.to_string(),
                json!({
                    "epochs_completed": epochs_completed,
                    "shapes": shapes,
                    "dtypes": dtypes,
                    "updated_at": utc_now(),
                }),
            );
    }

    /// Sets the variant fields rewritten on every run.
    pub fn set_variant(&mut self, family: &str, params: &Params) {
        self.root
            .entry("analyzers")
            .or_insert_with(|| Value::Object(Map::new()));
        self.root
            .insert("variant_params".into(), Value::Object(params.to_json()));
        self.root.insert("family_name".into(), Value::from(family));
    }

    /// The entry of one analyzer.
    pub fn analyzer(&self, name: &str) -> Option<&Value> {
        self.root.get("analyzers")?.get(name)
    }

    /// Writes the manifest atomically, indented as MIScope writes it.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::json_file::write_json(path, &self.root, true)
    }
}

/// Current UTC time as ISO-8601 with offset (`2026-11-22T01:24:23.616755+00:00`).
pub fn utc_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}

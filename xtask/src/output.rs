//! Results for scripts: with `--format json`, stdout is exactly one JSON document, failures
//! included, and every document carries `"schema": 1` so that a later, incompatible shape can be
//! told apart.

use serde_json::{Value, json};

use crate::error::TaskError;
use crate::ui::Ui;

/// The version of the JSON documents' shape.
pub const SCHEMA: u64 = 1;

/// Prints `document` (an object) on stdout with the schema field added.
pub fn json(ui: &Ui, mut document: Value) {
    if let Value::Object(fields) = &mut document {
        fields.insert("schema".into(), json!(SCHEMA));
    }
    let text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".into());
    ui.out(format!("{text}\n"));
}

/// The JSON document of a task that failed before it could print its own: `ok` false and the
/// error's message and help, so a script reading stdout always gets one document.
pub fn json_error(ui: &Ui, err: &TaskError) {
    json(
        ui,
        json!({ "ok": false, "error": { "message": err.what(), "help": err.help(), "exit_code": err.exit_code() } }),
    );
}

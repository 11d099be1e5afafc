//! `{"schema": 1, "settings": {KEY: value}}`, the settings in the configuration's order.

use lumigator_conf::ResolvedConfig;

use crate::output::SCHEMA;

/// The configuration as one JSON document (with a final newline).
pub fn render(config: &ResolvedConfig) -> String {
    // Written by hand rather than through a map, which would sort the keys: the order is the
    // configuration's, as in every other format.
    let mut out = format!("{{\n  \"schema\": {SCHEMA},\n  \"settings\": {{");
    for (i, entry) in config.entries.iter().enumerate() {
        let separator = if i == 0 { "\n" } else { ",\n" };
        out.push_str(&format!("{separator}    {}: {}", string(&entry.key), string(&entry.value)));
    }
    if !config.entries.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("}\n}\n");
    out
}

fn string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::config;

    #[test]
    fn a_document_with_the_settings_in_order() {
        let text = render(&config(&[("B", "x\"\n"), ("A", "1")]));
        assert_eq!(
            text,
            "{\n  \"schema\": 1,\n  \"settings\": {\n    \"B\": \"x\\\"\\n\",\n    \"A\": \"1\"\n  }\n}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed["settings"]["B"], "x\"\n");
        let empty: serde_json::Value = serde_json::from_str(&render(&config(&[]))).expect("JSON");
        assert_eq!(empty["settings"], serde_json::json!({}));
    }
}

//! Plain-text rendering of a tool's report: one `key: value` line per field that says
//! something (empty strings, empty lists, `null` and unset flags are left out), nested values
//! indented under their key.

use serde::Serialize;
use serde_json::Value;

/// Render a report for a person: the same content as the JSON, without the noise.
pub fn human<T: Serialize>(report: &T) -> String {
    let value = serde_json::to_value(report).unwrap_or_else(|e| Value::String(e.to_string()));
    let mut out = String::new();
    write_value(&mut out, &value, 0);
    out
}

/// Render a report as pretty JSON (for `--json`).
pub fn json<T: Serialize>(report: &T) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        Value::Number(_) => false,
    }
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if is_empty(v) {
                    continue;
                }
                let key = key.replace('_', " ");
                match v {
                    Value::Object(inner) if inner.values().all(|x| x.is_boolean()) => {
                        // A flag set: name the flags that are on.
                        let on: Vec<String> = inner
                            .iter()
                            .filter(|(_, x)| x.as_bool() == Some(true))
                            .map(|(k, _)| k.replace('_', " "))
                            .collect();
                        out.push_str(&format!("{pad}{key}: {}\n", on.join(", ")));
                    }
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_value(out, v, depth + 1);
                    }
                    Value::Array(items) if items.iter().all(|x| !x.is_object()) => {
                        let parts: Vec<String> = items.iter().map(scalar).collect();
                        if parts.iter().map(String::len).sum::<usize>() < 60 {
                            out.push_str(&format!("{pad}{key}: {}\n", parts.join(", ")));
                        } else {
                            out.push_str(&format!("{pad}{key}:\n"));
                            for p in parts {
                                out.push_str(&format!("{pad}  - {p}\n"));
                            }
                        }
                    }
                    Value::Array(items) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        for item in items {
                            out.push_str(&format!("{pad}  -\n"));
                            write_value(out, item, depth + 2);
                        }
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(v))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Flags {
        card_lost: bool,
        too_many_items: bool,
    }

    #[derive(Serialize)]
    struct Report {
        message: &'static str,
        ok: bool,
        renewal_ok: bool,
        title_id: &'static str,
        empty: &'static str,
        screen_messages: Vec<&'static str>,
        patron_status: Flags,
        fee: Option<u32>,
        count: u32,
    }

    #[test]
    fn human_leaves_out_what_says_nothing() {
        let text = human(&Report {
            message: "checkout_response",
            ok: true,
            renewal_ok: false,
            title_id: "Il nome della rosa",
            empty: "",
            screen_messages: vec!["Due back in 3 weeks"],
            patron_status: Flags {
                card_lost: true,
                too_many_items: false,
            },
            fee: None,
            count: 0,
        });
        assert_eq!(
            text,
            "message: checkout_response\nok: yes\ntitle id: Il nome della rosa\n\
             screen messages: Due back in 3 weeks\npatron status: card lost\ncount: 0\n"
        );
    }

    #[test]
    fn json_is_the_whole_report() {
        let text = json(&serde_json::json!({"a": 1, "b": ""}));
        let back: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(back["b"], "");
    }
}

//! Getting results out: JSONL (the outcome schema), CSV, or JUnit XML so that a CI
//! system shows a batch of API checks as tests.

use std::io::Write;

use crate::store::{Results, Row};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON outcome per line, with `id` and `line`.
    Jsonl,
    /// A header and one row per item.
    Csv,
    /// JUnit XML: one test case per item.
    Junit,
}

/// Writes the rows of `store` (filtered by outcome) to `out`.
///
/// # Errors
/// When the database cannot be read or `out` written.
pub fn export(
    store: &mut dyn Results,
    format: Format,
    only: Option<bool>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let mut io_error: Option<std::io::Error> = None;
    let mut write = |out: &mut dyn Write, text: &str| {
        if io_error.is_none() {
            if let Err(e) = out.write_all(text.as_bytes()) {
                io_error = Some(e);
            }
        }
    };
    match format {
        Format::Jsonl => {
            store.rows(only, &mut |row| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&row.outcome).unwrap_or_default();
                if let serde_json::Value::Object(map) = &mut v {
                    map.insert("id".into(), row.id.clone().into());
                    map.insert("line".into(), row.line.into());
                    map.insert("started_at".into(), row.started_at.clone().into());
                    map.insert("finished_at".into(), row.finished_at.clone().into());
                    map.insert("resumable".into(), row.resumable.into());
                }
                write(out, &format!("{v}\n"));
            })?;
        }
        Format::Csv => {
            write(out, "id,line,method,url,ok,layer,status,attempts,elapsed_ms,error_kind,error_message,server_message,source,started_at,finished_at,resumable\n");
            store.rows(only, &mut |r| {
                let fields = [
                    r.id.clone(),
                    r.line.to_string(),
                    r.method.clone(),
                    r.url.clone(),
                    r.ok.to_string(),
                    r.layer.clone().unwrap_or_default(),
                    r.status.map(|s| s.to_string()).unwrap_or_default(),
                    r.attempts.to_string(),
                    r.elapsed_ms.to_string(),
                    r.error_kind.clone().unwrap_or_default(),
                    r.error_message.clone().unwrap_or_default(),
                    r.server_message.clone().unwrap_or_default(),
                    r.source.clone(),
                    r.started_at.clone(),
                    r.finished_at.clone(),
                    r.resumable.to_string(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                write(out, &format!("{}\n", line.join(",")));
            })?;
        }
        Format::Junit => {
            let (total, _, failed) = store.counts()?;
            let mut cases = String::new();
            let mut total_ms = 0u64;
            store.rows(only, &mut |r| {
                total_ms += r.elapsed_ms;
                cases.push_str(&junit_case(&r));
            })?;
            write(
                out,
                &format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"steady batch\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
                    if only.is_some() { cases.matches("<testcase").count() as u64 } else { total },
                    if only == Some(true) { 0 } else { failed },
                    total_ms as f64 / 1000.0
                ),
            );
        }
    }
    match io_error {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

fn junit_case(r: &Row) -> String {
    let name = xml(&format!("{} {} {}", r.id, r.method, r.url));
    let time = r.elapsed_ms as f64 / 1000.0;
    if r.ok {
        return format!(
            "    <testcase classname=\"steady.batch\" name=\"{name}\" time=\"{time:.3}\"/>\n"
        );
    }
    let kind = xml(r.error_kind.as_deref().unwrap_or("failure"));
    let message = xml(r.error_message.as_deref().unwrap_or(""));
    let detail = xml(&format!(
        "layer: {}\nstatus: {}\nattempts: {}\nserver said: {}",
        r.layer.as_deref().unwrap_or("-"),
        r.status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into()),
        r.attempts,
        r.server_message.as_deref().unwrap_or("-")
    ));
    format!(
        "    <testcase classname=\"steady.batch\" name=\"{name}\" time=\"{time:.3}\">\n      <failure type=\"{kind}\" message=\"{message}\">{detail}</failure>\n    </testcase>\n"
    )
}

fn xml(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(xml("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}

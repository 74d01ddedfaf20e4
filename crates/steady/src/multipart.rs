//! Request bodies for HTML forms: `application/x-www-form-urlencoded` and
//! `multipart/form-data` (RFC 7578), for `steady post -f name=value file@photo.jpg`.
//!
//! Hand-written rather than reqwest's `multipart::Form`: that one streams, and a
//! streamed body cannot be sent again. steady's bodies are buffered so a retry (or a
//! redirect that keeps the body) resends exactly the same bytes; a form is built once,
//! with its boundary, into one buffer.

use std::path::Path;

use bytes::Bytes;

use crate::Error;

/// A `multipart/form-data` body: text fields and files, in order.
///
/// ```
/// let form = steady::multipart::Multipart::new()
///     .text("title", "Holidays")
///     .bytes("photo", "beach.jpg", "image/jpeg", vec![0xff, 0xd8]);
/// assert!(form.content_type().starts_with("multipart/form-data; boundary="));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Multipart {
    boundary: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart::new()
    }
}

impl Multipart {
    /// An empty form with a random boundary.
    pub fn new() -> Self {
        let mut rng = fastrand::Rng::new();
        let boundary: String = (0..32)
            .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
            .collect();
        Multipart {
            boundary: format!("steady-{boundary}"),
            parts: Vec::new(),
        }
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts.push(Part {
            name: name.to_owned(),
            filename: None,
            content_type: None,
            data: Bytes::copy_from_slice(value.as_bytes()),
        });
        self
    }

    /// A file field from memory.
    pub fn bytes(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        data: impl Into<Bytes>,
    ) -> Self {
        self.parts.push(Part {
            name: name.to_owned(),
            filename: Some(filename.to_owned()),
            content_type: Some(content_type.to_owned()),
            data: data.into(),
        });
        self
    }

    /// A file field read from `path` now, its type guessed from the extension.
    ///
    /// # Errors
    /// When the file cannot be read (the error names it).
    pub fn file(self, name: &str, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        Ok(self.bytes(name, &filename, guess_type(path), data))
    }

    /// `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The whole body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        for part in &self.parts {
            out.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quote(&part.name)
            );
            if let Some(filename) = &part.filename {
                disposition.push_str(&format!("; filename=\"{}\"", quote(filename)));
            }
            out.extend_from_slice(disposition.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let Some(content_type) = &part.content_type {
                out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part.data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        Bytes::from(out)
    }
}

/// A name inside a quoted header parameter: quotes and line breaks percent-encoded,
/// as browsers do (RFC 7578 section 2).
fn quote(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn urlencoded<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    // The URL crate's query serializer is this encoding (spaces as `+`).
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a valid URL");
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k.as_ref(), v.as_ref());
        }
    }
    url.query().unwrap_or("").to_owned()
}

/// The media type of a file, from its extension.
pub fn guess_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => "application/json",
        Some("txt") | Some("md") => "text/plain",
        Some("csv") => "text/csv",
        Some("html") | Some("htm") => "text/html",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_a_text_and_a_file_field() {
        let mut form = Multipart::new().text("title", "a \"quoted\" name").bytes(
            "photo",
            "beach.jpg",
            "image/jpeg",
            b"JPEG".to_vec(),
        );
        form.boundary = "B".into();
        let body = String::from_utf8(form.to_bytes().to_vec()).unwrap();
        assert_eq!(
            body,
            "--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\na \"quoted\" name\r\n\
             --B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--B--\r\n"
        );
        assert_eq!(form.content_type(), "multipart/form-data; boundary=B");
    }

    #[test]
    fn urlencoded_pairs() {
        assert_eq!(
            urlencoded(&[("q", "rust lang"), ("a&b", "=")]),
            "q=rust+lang&a%26b=%3D"
        );
    }
}

//! How a page says where the next one is.

use std::fmt;
use std::str::FromStr;

use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::Url;

/// How to find the next page.
///
/// | spec | the next page |
/// |---|---|
/// | `link` | the `Link` header's `rel="next"` (RFC 8288; GitHub, GitLab) |
/// | `$.next` | the URL at this JSONPath, absolute or relative to the page's |
/// | `cursor=$.meta.next_cursor` | this URL with query parameter `cursor` set to the value at the path |
/// | `after=$.paging.after` | ... any parameter name: `PARAM=JSONPATH` |
/// | `page=page` | parameter `page` counted up from its value (or 1) until a page has no records |
/// | `offset=offset` | parameter `offset` advanced by the records received |
///
/// ```
/// let spec: steady::paginate::NextSpec = "cursor=$.meta.cursor".parse().unwrap();
/// assert_eq!(spec.to_string(), "cursor=$.meta.cursor");
/// assert!("page=$.x.y".parse::<steady::paginate::NextSpec>().is_ok());
/// assert!("sideways".parse::<steady::paginate::NextSpec>().unwrap_err().contains("expected link"));
/// ```
#[derive(Clone)]
pub struct NextSpec {
    kind: Kind,
    text: String,
}

#[derive(Clone)]
enum Kind {
    Link,
    Url(JsonPath),
    Param { param: String, path: JsonPath },
    Page { param: String },
    Offset { param: String },
}

impl fmt::Debug for NextSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NextSpec({})", self.text)
    }
}

impl fmt::Display for NextSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for NextSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let path = |p: &str| {
            JsonPath::parse(p)
                .map_err(|e| format!("next spec '{text}': '{p}' is not a JSONPath: {e}"))
        };
        let kind = match text.split_once('=') {
            None if text == "link" => Kind::Link,
            None if text.starts_with('$') => Kind::Url(path(text)?),
            Some((param, value)) if !param.is_empty() && value.starts_with('$') => Kind::Param {
                param: param.to_owned(),
                path: path(value)?,
            },
            Some(("page", param)) if !param.is_empty() => Kind::Page {
                param: param.to_owned(),
            },
            Some(("offset", param)) if !param.is_empty() => Kind::Offset {
                param: param.to_owned(),
            },
            _ => {
                return Err(format!(
                    "next spec '{text}': expected link, a JSONPath to the next URL ($.next), PARAM=JSONPATH (cursor=$.meta.cursor), page=PARAM or offset=PARAM"
                ))
            }
        };
        Ok(NextSpec {
            kind,
            text: text.to_owned(),
        })
    }
}

impl NextSpec {
    /// The first page's URL: `url` as given.
    pub(crate) fn first_url(&self, url: Url) -> Url {
        url
    }

    /// The page after the one at `url` (with `headers`, `body` and `records` records),
    /// or why there is none.
    pub(crate) fn next_url(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        records: usize,
    ) -> Result<Url, &'static str> {
        match &self.kind {
            Kind::Link => headers
                .get_all(LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(link_next)
                .and_then(|target| url.join(&target).ok())
                .ok_or("no Link header with rel=\"next\""),
            Kind::Url(path) => match path.query(body).first() {
                Some(Value::String(next)) if !next.is_empty() => {
                    url.join(next).map_err(|_| "a next URL that is not a URL")
                }
                _ => Err("no next URL"),
            },
            Kind::Param { param, path } => {
                let value = match path.query(body).first() {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return Err("no next cursor"),
                };
                Ok(with_param(url, param, &value))
            }
            Kind::Page { param } => {
                let page = current(url, param).unwrap_or(1);
                Ok(with_param(url, param, &(page + 1).to_string()))
            }
            Kind::Offset { param } => {
                let offset = current(url, param).unwrap_or(0);
                Ok(with_param(
                    url,
                    param,
                    &(offset + records as u64).to_string(),
                ))
            }
        }
    }
}

/// The number in query parameter `param` of `url`.
fn current(url: &Url, param: &str) -> Option<u64> {
    url.query_pairs()
        .find(|(k, _)| k == param)
        .and_then(|(_, v)| v.parse().ok())
}

/// `url` with query parameter `param` set to `value` (replaced where it was, added
/// at the end otherwise).
fn with_param(url: &Url, param: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    {
        let mut query = next.query_pairs_mut();
        query.clear();
        let mut set = false;
        for (k, v) in &pairs {
            if k == param {
                if !set {
                    query.append_pair(k, value);
                    set = true;
                }
            } else {
                query.append_pair(k, v);
            }
        }
        if !set {
            query.append_pair(param, value);
        }
    }
    next
}

/// The target of a `rel="next"` link in one `Link` header value (RFC 8288: links
/// separated by commas, parameters by semicolons, `rel` a space-separated list).
/// Hand-written: a few lines, and the crates for it parse far more than this needs.
fn link_next(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let end = after.find('<').unwrap_or(after.len());
        let params = &after[..end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',');
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("rel") => v
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next")),
                _ => false,
            }
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &after[end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_as_github_and_gitlab_send_them() {
        let github = r#"<https://api.github.com/repos/x/y/issues?page=2>; rel="next", <https://api.github.com/repos/x/y/issues?page=5>; rel="last""#;
        assert_eq!(
            link_next(github).as_deref(),
            Some("https://api.github.com/repos/x/y/issues?page=2")
        );
        assert_eq!(
            link_next(r#"</items?after=9>; rel="prev next""#).as_deref(),
            Some("/items?after=9")
        );
        assert_eq!(link_next(r#"<https://x/1>; rel="prev""#), None);
        assert_eq!(link_next("garbage"), None);
    }

    #[test]
    fn params_are_replaced_or_added() {
        let url = Url::parse("http://h/items?limit=10&page=3").unwrap();
        assert_eq!(
            with_param(&url, "page", "4").as_str(),
            "http://h/items?limit=10&page=4"
        );
        assert_eq!(
            with_param(&url, "cursor", "a b").as_str(),
            "http://h/items?limit=10&page=3&cursor=a+b"
        );
    }
}

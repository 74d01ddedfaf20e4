//! Paginated APIs: every page of a listing, one steady call each, until the last.
//!
//! Hand-writing pagination is where sync jobs go wrong: a `next` link that points back
//! at an earlier page loops for ever, a relative link is joined to the wrong base, an
//! error page wrapped in a 200 (`{"error": "rate limited"}`) is taken for an empty last
//! page, and the job "finishes" with half the data. A [`Paginate`] fetches each page as
//! an ordinary call (timeouts, retries, guards and semantic checks all apply), finds
//! the records with a JSONPath, finds the next page with one of five styles
//! ([`NextSpec`]), and stops only for a reason it can name ([`Stop`]):
//!
//! - a missing or `null` next (or cursor), a page with no records, or `has_more:
//!   false` at the top of the body: the listing is complete;
//! - `max_pages`: a bound the caller set;
//! - a next page already fetched: an error (a pagination loop), never a silent stop;
//! - a page whose records path matches nothing, or is not a list: a semantic error.
//!
//! ```no_run
//! # async fn run(client: steady::Client) -> Result<(), steady::Error> {
//! use steady::paginate::Paginate;
//! let mut pages = Paginate::new(&client, "https://api.example.com/users", "$.data", "link")?;
//! while let Some(page) = pages.next_page().await? {
//!     for user in &page.records {
//!         println!("{}", user["id"]);
//!     }
//! }
//! println!("done: {:?}", pages.stopped());
//! # Ok(()) }
//! ```

mod next;

pub use next::NextSpec;

use std::collections::HashMap;

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::error::Kind;
use crate::{Client, Error, RequestBuilder, Url};

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1 for the first page this pager fetched (or the number it resumed at).
    pub number: u32,
    /// The page's URL (credentials in it redacted).
    pub url: String,
    /// The records the records path found.
    pub records: Vec<Value>,
    /// The whole body.
    pub body: Value,
    /// The next page's URL, when there is one (what a checkpoint keeps).
    pub next: Option<Url>,
}

/// Why a listing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// The last page said so: no next, `null`, no records, or `has_more: false`.
    Complete(&'static str),
    /// The `max_pages` bound.
    MaxPages(u32),
}

/// Fetches the pages of a listing in order. See the [module docs](self).
pub struct Paginate {
    client: Client,
    next_url: Option<Url>,
    records: JsonPath,
    records_text: String,
    next: NextSpec,
    max_pages: Option<u32>,
    number: u32,
    fetched: u32,
    seen: HashMap<String, u32>,
    stopped: Option<Stop>,
    prepare: Option<Box<dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync>>,
}

impl std::fmt::Debug for Paginate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginate")
            .field("records", &self.records_text)
            .field("next", &self.next)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl Paginate {
    /// A pager starting at `url`, finding records at `records` (a JSONPath, `$.data`)
    /// and the next page with `next` ([`NextSpec`]: `link`, `$.next`,
    /// `cursor=$.meta.cursor`, `after=$.paging.after`, `page=page`, `offset=offset`).
    ///
    /// # Errors
    /// A usage error naming the bad URL, path or spec.
    pub fn new(client: &Client, url: &str, records: &str, next: &str) -> Result<Self, Error> {
        let first = Url::parse(url)
            .map_err(|e| Error::usage(format!("'{url}' is not a valid URL: {e}")))?;
        let records_path = JsonPath::parse(records).map_err(|e| {
            Error::usage(format!(
                "the records path '{records}' is not a JSONPath: {e}"
            ))
        })?;
        let next: NextSpec = next.parse().map_err(Error::usage)?;
        Ok(Paginate {
            client: client.clone(),
            next_url: Some(next.first_url(first)),
            records: records_path,
            records_text: records.to_owned(),
            next,
            max_pages: None,
            number: 0,
            fetched: 0,
            seen: HashMap::new(),
            stopped: None,
            prepare: None,
        })
    }

    /// Stops after `n` pages (default: no bound).
    pub fn max_pages(mut self, n: u32) -> Self {
        self.max_pages = Some(n);
        self
    }

    /// Continues from a checkpoint: `url` is the next page to fetch and `number` the
    /// number of the page before it (what [`Page::next`] and [`Page::number`] said).
    pub fn resume_at(mut self, url: Url, number: u32) -> Self {
        self.next_url = Some(url);
        self.number = number;
        self
    }

    /// Applies `prepare` to each page's request (credentials, headers, checks).
    pub fn prepare(
        mut self,
        prepare: impl Fn(RequestBuilder) -> RequestBuilder + Send + Sync + 'static,
    ) -> Self {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// The pages as a [`Stream`](futures_util::Stream), ending after the last one or
    /// with the first error.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Page, Error>> {
        futures_util::stream::unfold(Some(self), |pager| async move {
            let mut pager = pager?;
            match pager.next_page().await {
                Ok(Some(page)) => Some((Ok(page), Some(pager))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Why the listing ended, once it has.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stopped.as_ref()
    }

    /// The next page, or `None` when the listing has ended ([`Paginate::stopped`] says
    /// why).
    ///
    /// # Errors
    /// The page's call failed (after its retries), its body is not JSON or has no
    /// records at the records path (semantic layer), or its next page was fetched
    /// already (a pagination loop).
    pub async fn next_page(&mut self) -> Result<Option<Page>, Error> {
        let Some(url) = self.next_url.take() else {
            return Ok(None);
        };
        if self.max_pages.is_some_and(|max| self.fetched >= max) {
            self.stopped = Some(Stop::MaxPages(self.fetched));
            return Ok(None);
        }
        self.number += 1;
        self.fetched += 1;
        self.seen.insert(url.as_str().to_owned(), self.number);
        let mut request = self.client.request_url(reqwest::Method::GET, url.clone());
        if let Some(prepare) = &self.prepare {
            request = prepare(request);
        }
        let resp = request.send().await?;
        let shown = crate::redact::redact_url(resp.url());
        let body: Value = serde_json::from_slice(resp.bytes()).map_err(|e| {
            resp.semantic_error(
                crate::ErrorKind::Pagination,
                format!("page {} ({shown}) is not JSON: {e}", self.number),
            )
        })?;
        let records = match self.records.query(&body).all().as_slice() {
            [Value::Array(items)] => items.clone(),
            [] => {
                return Err(resp.semantic_error(
                    crate::ErrorKind::Pagination,
                    format!(
                        "page {} ({shown}): the records path {} matches nothing in the body",
                        self.number, self.records_text
                    ),
                ))
            }
            [other] if !other.is_array() => {
                return Err(resp.semantic_error(
                    crate::ErrorKind::Pagination,
                    format!(
                        "page {} ({shown}): the records path {} is {}, not a list",
                        self.number,
                        self.records_text,
                        kind_of(other)
                    ),
                ))
            }
            many => many.iter().map(|v| (*v).clone()).collect(),
        };
        let next = if records.is_empty() {
            self.stopped = Some(Stop::Complete("a page with no records"));
            None
        } else if body.get("has_more") == Some(&Value::Bool(false)) {
            self.stopped = Some(Stop::Complete("has_more: false"));
            None
        } else {
            match self
                .next
                .next_url(resp.url(), resp.headers(), &body, records.len())
            {
                Ok(next) => Some(next),
                Err(why) => {
                    self.stopped = Some(Stop::Complete(why));
                    None
                }
            }
        };
        if let Some(next) = &next {
            if let Some(page) = self.seen.get(next.as_str()) {
                return Err(pagination_loop(format!(
                    "pagination loop: page {} ({shown}) points to {}, already fetched as page {page}",
                    self.number,
                    crate::redact::redact_url(next)
                )));
            }
        }
        self.next_url = next.clone();
        Ok(Some(Page {
            number: self.number,
            url: shown,
            records,
            body,
            next,
        }))
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn pagination_loop(message: String) -> Error {
    Error::new(Kind::Semantic(crate::ErrorKind::PaginationLoop, message))
}

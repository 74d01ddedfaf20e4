//! Pagination against a local paginated API: each next style, the stop rules, loops,
//! bounds, a page that fails once, and a page without records. The server counts the
//! pages it served.

mod support;

use futures_util::StreamExt;
use serde_json::{json, Value};
use steady::paginate::{Paginate, Stop};
use steady::ErrorKind;
use steady_chaos::{Recorded, Reply, ScriptServer};
use support::client;

const USERS: u64 = 25;

fn param(req: &Recorded, name: &str) -> Option<u64> {
    req.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

/// Users `from..from+10` (at most up to `USERS`).
fn users(from: u64) -> Vec<Value> {
    (from..(from + 10).min(USERS))
        .map(|i| json!({"id": i}))
        .collect()
}

fn api(style: &'static str) -> ScriptServer {
    ScriptServer::builder()
        .route_fn("/users", move |req| {
            let after = param(req, "after").or(param(req, "offset")).unwrap_or(0);
            let page = param(req, "page").unwrap_or(1);
            match style {
                "link" => {
                    let from = (page - 1) * 10;
                    let mut reply = Reply::json(200, json!({"data": users(from)}).to_string());
                    if from + 10 < USERS {
                        reply = reply.header("Link", format!("</users?page={}>; rel=\"next\", </users?page=3>; rel=\"last\"", page + 1));
                    }
                    reply
                }
                "next" => {
                    let next = (after + 10 < USERS).then(|| format!("/users?after={}", after + 10));
                    Reply::json(200, json!({"data": users(after), "next": next}).to_string())
                }
                "cursor" => {
                    let cursor = (after + 10 < USERS).then(|| (after + 10).to_string());
                    Reply::json(200, json!({"data": users(after), "meta": {"cursor": cursor}}).to_string())
                }
                "page" => Reply::json(200, json!({"data": users((page - 1) * 10)}).to_string()),
                "offset" => Reply::json(200, json!({"data": users(after)}).to_string()),
                "has_more" => Reply::json(200, json!({"data": users(after), "has_more": after + 10 < USERS, "next": format!("/users?after={}", after + 10)}).to_string()),
                "loop" => Reply::json(200, json!({"data": users(0), "next": "/users?page=1"}).to_string()),
                _ => Reply::json(200, json!({"items": []}).to_string()),
            }
        })
        .start()
}

async fn all(pager: &mut Paginate) -> Vec<u64> {
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        ids.extend(page.records.iter().map(|r| r["id"].as_u64().unwrap()));
    }
    ids
}

#[tokio::test]
async fn every_next_style_gets_every_record_once() {
    for (style, next, pages, why) in [
        ("link", "link", 3, "no Link header with rel=\"next\""),
        ("next", "$.next", 3, "no next URL"),
        ("cursor", "after=$.meta.cursor", 3, "no next cursor"),
        ("page", "page=page", 4, "a page with no records"),
        ("offset", "offset=offset", 4, "a page with no records"),
        ("has_more", "$.next", 3, "has_more: false"),
    ] {
        let server = api(style);
        let mut pager = Paginate::new(&client(), &server.url("/users"), "$.data", next).unwrap();
        let ids = all(&mut pager).await;
        assert_eq!(ids, (0..USERS).collect::<Vec<_>>(), "{style}");
        assert_eq!(server.hits("/users"), pages, "{style}: pages fetched");
        assert_eq!(pager.stopped(), Some(&Stop::Complete(why)), "{style}");
    }
}

#[tokio::test]
async fn a_next_page_already_fetched_is_a_loop_error_not_a_silent_stop() {
    let server = api("loop");
    let mut pager = Paginate::new(&client(), &server.url("/users"), "$.data", "$.next").unwrap();
    assert_eq!(pager.next_page().await.unwrap().unwrap().number, 1);
    let err = pager.next_page().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PaginationLoop);
    assert!(
        err.what().contains("page 2 (http://127.0.0.1:")
            && err.what().contains("already fetched as page 2"),
        "{}",
        err.what()
    );
    assert_eq!(server.hits("/users"), 2);
}

#[tokio::test]
async fn max_pages_bounds_the_listing() {
    let server = api("page");
    let mut pager = Paginate::new(&client(), &server.url("/users"), "$.data", "page=page")
        .unwrap()
        .max_pages(2);
    assert_eq!(all(&mut pager).await.len(), 20);
    assert_eq!(pager.stopped(), Some(&Stop::MaxPages(2)));
    assert_eq!(server.hits("/users"), 2);
}

#[tokio::test]
async fn a_page_without_the_records_path_is_a_semantic_error() {
    let server = api("none");
    let mut pager = Paginate::new(&client(), &server.url("/users"), "$.data", "link").unwrap();
    let err = pager.next_page().await.unwrap_err();
    assert_eq!(err.layer(), steady::Layer::Semantic);
    assert!(
        err.what()
            .contains("the records path $.data matches nothing"),
        "{}",
        err.what()
    );
}

#[tokio::test]
async fn a_page_that_fails_once_is_retried_and_the_listing_resumes_at_a_checkpoint() {
    let page2 = [
        Reply::status(503),
        Reply::json(
            200,
            json!({"data": users(10), "next": "/more?after=20"}).to_string(),
        ),
    ];
    let server = ScriptServer::builder()
        .route(
            "/start",
            [Reply::json(
                200,
                json!({"data": users(0), "next": "/two"}).to_string(),
            )],
        )
        .route("/two", page2)
        .route(
            "/more",
            [Reply::json(
                200,
                json!({"data": users(20), "next": null}).to_string(),
            )],
        )
        .start();
    let mut pager = Paginate::new(&client(), &server.url("/start"), "$.data", "$.next").unwrap();
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first.next.as_ref().map(|u| u.path()), Some("/two"));
    // A checkpoint after page 1: a new pager continues from its next URL.
    let mut resumed = Paginate::new(&client(), &server.url("/start"), "$.data", "$.next")
        .unwrap()
        .resume_at(first.next.clone().unwrap(), first.number);
    let pages = pages_of(&mut resumed).await;
    assert_eq!(pages, [(2, 10), (3, 5)]);
    assert_eq!(server.hits("/start"), 1, "not fetched again");
    assert_eq!(server.hits("/two"), 2, "the 503, then the page");
}

/// (page number, records) of every page left.
async fn pages_of(pager: &mut Paginate) -> Vec<(u32, usize)> {
    let mut out = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        out.push((page.number, page.records.len()));
    }
    out
}

#[tokio::test]
async fn the_pages_as_a_stream() {
    let server = api("cursor");
    let pages: Vec<_> = Paginate::new(
        &client(),
        &server.url("/users"),
        "$.data",
        "after=$.meta.cursor",
    )
    .unwrap()
    .into_stream()
    .map(|p| p.unwrap().records.len())
    .collect()
    .await;
    assert_eq!(pages, [10, 10, 5]);
}

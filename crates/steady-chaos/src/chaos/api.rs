//! The built-in JSON API served when there is no upstream: enough to exercise a client
//! (an index, paginated collections, single resources, a create) with stable data.

use serde_json::{json, Value};

use crate::reply::Reply;
use crate::script::Recorded;

const ITEMS: u64 = 100;
const USERS: u64 = 30;
const NAMES: [&str; 8] = [
    "anvil", "bolt", "cog", "dynamo", "gear", "lever", "pulley", "spring",
];

/// The built-in API's answer to `request`.
pub(crate) fn answer(request: &Recorded) -> Reply {
    let path = request.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method.as_str();
    match (method, segments.as_slice()) {
        ("GET" | "HEAD", []) => ok(json!({
            "name": "steady chaos built-in API",
            "resources": {
                "/items": "100 items, paginated: ?page=N&per_page=M (default 20, max 100)",
                "/items/{id}": "one item (1 to 100)",
                "/users": "30 users, paginated",
                "/users/{id}": "one user (1 to 30)",
                "/orders": "POST a JSON object to create an order",
                "/health": "always ok",
                "/__chaos/stats": "what this server received and injected",
            }
        })),
        ("GET" | "HEAD", ["health"]) => ok(json!({"status": "ok"})),
        ("GET" | "HEAD", ["items"]) => page(request, "items", ITEMS, item),
        ("GET" | "HEAD", ["items", id]) => one(id, ITEMS, "item", item),
        ("GET" | "HEAD", ["users"]) => page(request, "users", USERS, user),
        ("GET" | "HEAD", ["users", id]) => one(id, USERS, "user", user),
        ("POST", ["orders"]) => {
            let body: Value = match serde_json::from_slice(&request.body) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return error(
                        400,
                        "the body must be a JSON object, e.g. {\"item\": 1, \"qty\": 2}",
                    )
                }
            };
            let id = 1000 + (fastrand::u64(..) % 9000);
            Reply::json(
                201,
                json!({"id": id, "status": "created", "order": body}).to_string(),
            )
            .header("Location", format!("/orders/{id}"))
        }
        ("GET" | "HEAD", ["orders", id]) => match id.parse::<u64>() {
            Ok(id) => ok(json!({"id": id, "status": "shipped"})),
            Err(_) => error(404, &format!("no order '{id}'")),
        },
        (_, ["items" | "users" | "orders" | "health"]) | (_, ["items" | "users" | "orders", _]) => {
            error(405, &format!("{method} is not allowed on {path}"))
        }
        _ => error(404, &format!("no such resource: {}", request.path())),
    }
}

fn item(id: u64) -> Value {
    json!({
        "id": id,
        "name": format!("{} {id}", NAMES[(id % NAMES.len() as u64) as usize]),
        "price": (id * 37 % 1000) as f64 / 10.0 + 1.0,
        "in_stock": !id.is_multiple_of(7),
    })
}

fn user(id: u64) -> Value {
    json!({"id": id, "login": format!("user{id}"), "active": !id.is_multiple_of(5)})
}

fn one(id: &str, count: u64, what: &str, make: fn(u64) -> Value) -> Reply {
    match id.parse::<u64>() {
        Ok(n) if (1..=count).contains(&n) => ok(make(n)),
        _ => error(404, &format!("{what} '{id}' does not exist")),
    }
}

fn page(request: &Recorded, name: &str, count: u64, make: fn(u64) -> Value) -> Reply {
    let param = |key: &str| {
        request.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        })
    };
    let per_page = param("per_page").unwrap_or(20).clamp(1, 100);
    let pages = count.div_ceil(per_page);
    let page = param("page").unwrap_or(1).max(1);
    let first = (page - 1) * per_page + 1;
    let data: Vec<Value> = (first..=count).take(per_page as usize).map(make).collect();
    let next = (page < pages).then(|| format!("/{name}?page={}&per_page={per_page}", page + 1));
    let mut reply = ok(json!({
        name: data,
        "page": page,
        "per_page": per_page,
        "total": count,
        "next": next,
    }));
    if let Some(next) = next {
        reply = reply.header("Link", format!("<{next}>; rel=\"next\""));
    }
    reply
}

fn ok(value: Value) -> Reply {
    Reply::json(200, value.to_string())
}

/// A JSON error body in the most common shape.
pub(crate) fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, json!({"error": {"message": message}}).to_string())
}

//! Reverse-proxy mode: forward each request to the upstream, then inject faults into
//! what comes back.

use std::sync::OnceLock;
use std::time::Duration;

use crate::reply::Reply;
use crate::script::Recorded;

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
];

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .build()
            .expect("proxy client")
    })
}

/// Forwards `request` to `upstream` (a base URL) and turns the answer into a reply; an
/// unreachable upstream is a `502`.
pub(crate) async fn forward(upstream: &str, request: &Recorded) -> Reply {
    let url = format!("{}{}", upstream.trim_end_matches('/'), request.target);
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return super::api::error(400, "bad method");
    };
    let mut builder = client().request(method, &url).body(request.body.clone());
    for (name, value) in &request.headers {
        if !HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            builder = builder.header(name, value);
        }
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            return super::api::error(502, &format!("upstream unreachable: {}", e.without_url()))
        }
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(n, _)| !HOP_BY_HOP.contains(&n.as_str()))
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    match response.bytes().await {
        Ok(body) => {
            let mut reply = Reply::status(status).body(body);
            reply.headers = headers;
            reply
        }
        Err(e) => super::api::error(502, &format!("upstream body failed: {}", e.without_url())),
    }
}

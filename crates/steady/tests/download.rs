//! Downloads (`save_to`): the body streamed to a file that appears whole or not at all.

mod support;

use std::io::Write;
use std::path::Path;

use steady::classify::Fault;
use steady::ErrorKind;
use steady::{Client, Error, Layer, Response};
use steady_chaos::{Reply, ScriptServer};
use support::{client, fast};

/// A body of `len` bytes that is not one byte repeated (a misplaced chunk shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn binary(body: Vec<u8>) -> Reply {
    Reply::status(200)
        .header("Content-Type", "application/octet-stream")
        .body(body)
}

/// `GET url`, saved to `dest`.
async fn download(c: &Client, url: &str, dest: &Path) -> Result<Response, Error> {
    c.get(url).save_to(dest).send().await
}

/// The files in `dir`, sorted: no temporary file may be left behind.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn body_is_streamed_to_the_file_not_to_memory() {
    let body = pattern(3 * 1024 * 1024 + 17);
    let server = ScriptServer::builder()
        .route("/export", [binary(body.clone())])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    let resp = download(&client(), &server.url("/export"), &dest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(resp.bytes().is_empty(), "the body is in the file only");
    assert_eq!(resp.saved_to(), Some(dest.as_path()));
    assert_eq!(resp.saved_bytes(), Some(body.len() as u64));
    assert_eq!(files(dir.path()), ["export.bin"]);
    assert_eq!(server.hits("/export"), 1);
}

#[tokio::test]
async fn no_size_limit_applies_to_a_download_unless_asked() {
    let body = pattern(64 * 1024);
    let server = ScriptServer::builder()
        .fallback(binary(body.clone()))
        .start();
    let c = fast().0.max_body(1024).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.bin");
    c.get(server.url("/a")).save_to(&dest).send().await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap().len(), body.len());

    let limited = dir.path().join("limited.bin");
    let err = c
        .get(server.url("/b"))
        .save_to(&limited)
        .max_body(1000)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));
    assert!(!limited.exists());
    assert_eq!(files(dir.path()), ["big.bin"]);
}

#[tokio::test]
async fn a_download_cut_short_is_retried_from_the_start() {
    let body = pattern(200_000);
    let server = ScriptServer::builder()
        .route(
            "/export",
            [
                binary(body.clone()).reset_after(70_000),
                binary(body.clone()).truncate_at(150_000),
                binary(body.clone()),
            ],
        )
        .start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    let resp = download(&client(), &server.url("/export"), &dest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body, "whole, not appended");
    assert_eq!(resp.attempts(), 3);
    assert_eq!(server.hits("/export"), 3);
    assert_eq!(files(dir.path()), ["export.bin"]);
}

#[tokio::test]
async fn a_failed_download_leaves_the_destination_as_it_was() {
    let server = ScriptServer::builder()
        .route("/export", [binary(pattern(100_000)).reset_after(10_000)])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    std::fs::write(&dest, b"yesterday's export").unwrap();
    let err = download(&client(), &server.url("/export"), &dest)
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(err.attempts(), 4);
    assert_eq!(server.hits("/export"), 4);
    assert_eq!(std::fs::read(&dest).unwrap(), b"yesterday's export");
    assert_eq!(files(dir.path()), ["export.bin"]);
}

#[tokio::test]
async fn an_error_answer_is_never_written_to_the_file() {
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::json(404, r#"{"error": "no such export"}"#)],
        )
        .start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.json");
    let err = download(&client(), &server.url("/export"), &dest)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.server_message(), Some("no such export"));
    assert!(!dest.exists());
    assert!(files(dir.path()).is_empty());
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn an_error_in_a_200_json_body_is_caught_and_not_saved() {
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::json(200, r#"{"error": "quota exceeded"}"#)],
        )
        .route("/items", [Reply::json(200, r#"{"items": [1, 2]}"#)])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let dest = dir.path().join("export.json");
    let err = download(&c, &server.url("/export"), &dest)
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Semantic);
    assert_eq!(err.kind(), ErrorKind::ErrorInBody);
    assert!(!dest.exists());

    // Expectations run on the saved body, read back.
    let items = dir.path().join("items.json");
    let err = c
        .get(server.url("/items"))
        .save_to(&items)
        .expect("$.items count > 5")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpectationFailed);
    assert!(!items.exists());
    c.get(server.url("/items"))
        .save_to(&items)
        .expect("$.items count == 2")
        .send()
        .await
        .unwrap();
    assert_eq!(std::fs::read(&items).unwrap(), br#"{"items": [1, 2]}"#);
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn expectations_on_a_body_larger_than_the_limit_are_refused_not_skipped() {
    let server = ScriptServer::builder()
        .fallback(Reply::json(
            200,
            format!(r#"{{"pad": "{}"}}"#, "x".repeat(5000)),
        ))
        .start();
    let c = fast().0.max_body(1024).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.json");
    let err = c
        .get(server.url("/a"))
        .save_to(&dest)
        .expect("$.pad exists")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Semantic);
    assert!(
        err.what().contains("the checks were not run"),
        "{}",
        err.what()
    );
    assert!(!dest.exists());
    // Without expectations, a JSON body too large to parse is saved as it is.
    c.get(server.url("/b")).save_to(&dest).send().await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap().len(), 5011);
}

#[tokio::test]
async fn an_encoded_body_is_saved_decoded() {
    let body = pattern(500_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&body).unwrap();
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::status(200)
                .header("Content-Encoding", "gzip")
                .body(gz.finish().unwrap())],
        )
        .start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    let resp = download(&client(), &server.url("/export"), &dest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(resp.saved_bytes(), Some(500_000));
}

#[tokio::test]
async fn a_folder_that_cannot_hold_the_file_fails_before_anything_is_sent() {
    let server = ScriptServer::builder()
        .fallback(binary(pattern(10)))
        .start();
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let missing = dir.path().join("no/such/folder/out.bin");
    let err = download(&c, &server.url("/a"), &missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Save);
    assert_eq!(err.layer(), Layer::Usage);
    assert!(
        err.what().contains("the folder does not exist"),
        "{}",
        err.what()
    );
    let err = c
        .get(server.url("/a"))
        .save_to(dir.path())
        .send()
        .await
        .unwrap_err();
    assert!(err.what().ends_with("it is a folder"), "{}", err.what());
    assert_eq!(server.total_hits(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_download_cannot_have_fallbacks() {
    let server = ScriptServer::builder()
        .fallback(binary(pattern(10)))
        .start();
    let err = client()
        .get(server.url("/a"))
        .save_to("out.bin")
        .fallback(steady::Fallback::json(serde_json::json!({})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Usage);
    assert_eq!(server.total_hits(), 0);
}

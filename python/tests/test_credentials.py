"""Credentials never show: not in messages, explanations, logs or reprs."""

import logging

import pytest

import steady
from conftest import Reply

SECRETS = ("pa55word", "key-123", "tok-456", "q-789")


def shown(*texts):
    return [s for s in SECRETS for t in texts if s in t]


def test_a_failed_call_never_shows_a_credential(closed_port):
    client = steady.Client(retries=0)
    with pytest.raises(steady.ConnectionError) as info:
        client.get(
            f"http://127.0.0.1:{closed_port}/x?api_key=q-789",
            auth=("ann", "pa55word"),
            headers={"X-Api-Key": "key-123", "Authorization": "Bearer tok-456"},
        )
    e = info.value
    assert shown(str(e), repr(e), e.explain(), repr(e.attempt_log)) == []
    assert "****" in str(e)


def test_raise_for_status_never_shows_a_credential(server, fast):
    url = server.route("/me", Reply.json(401, {"error": "token tok-456 expired"}))
    r = fast.get(url + "?api_key=q-789", headers={"Authorization": "Bearer tok-456"})
    with pytest.raises(steady.HTTPError) as info:
        r.raise_for_status()
    e = info.value
    assert shown(str(e), e.explain(), e.server_message or "", r.explain()) == []
    assert "****" in str(e)
    # The server did get them.
    (seen,) = server.requests("/me")
    assert seen.headers["authorization"] == "Bearer tok-456"
    assert seen.path.endswith("api_key=q-789")


def test_logs_go_to_the_steady_logger_with_credentials_as_stars(server, caplog):
    url = server.route("/flaky", Reply.json(503, {}), Reply.json(200, {}))
    client = steady.Client(backoff=0.001)
    with caplog.at_level(logging.DEBUG, logger="steady"):
        r = client.get(url + "?api_key=q-789", headers={"X-Api-Key": "key-123"}, auth=("ann", "pa55word"))
    assert r.status_code == 200
    records = [rec for rec in caplog.records if rec.name == "steady"]
    text = "\n".join(rec.getMessage() for rec in records)
    assert "attempt 1/4: 503 Service Unavailable" in text
    assert "attempt 2/4: 200 OK" in text
    assert "api_key=****" in text
    assert shown(text) == []
    levels = {rec.getMessage().split(": ", 2)[1]: rec.levelno for rec in records if "attempt " in rec.getMessage()}
    assert levels["attempt 1/4"] == logging.INFO
    assert levels["attempt 2/4"] == logging.DEBUG


def test_nothing_is_logged_below_the_loggers_level(server, caplog):
    url = server.route("/ok", Reply.json(200, {}))
    with caplog.at_level(logging.WARNING, logger="steady"):
        steady.get(url)
    assert [r for r in caplog.records if r.name == "steady"] == []


def test_a_successful_calls_explanation_never_shows_a_credential(server):
    url = server.route("/ok", Reply.json(200, {}))
    r = steady.get(url + "?api_key=q-789", auth=("ann", "pa55word"))
    assert "api_key=****" in r.explain()
    assert shown(r.explain(), repr(r.attempt_log)) == []
    assert r.url.endswith("api_key=q-789")  # the URL itself is the caller's, as requests gives it


def test_call_on_a_body_that_is_not_json_never_shows_a_credential(server, fast):
    url = server.route("/html", Reply(200, b"<html>", {"Content-Type": "text/html"}))
    with pytest.raises(steady.SemanticError) as info:
        fast.call(url + "?api_key=q-789")
    assert "api_key=****" in str(info.value)
    assert shown(str(info.value), info.value.explain()) == []
    assert info.value.layer == "semantic" and info.value.attempts == 1


def _tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate made by openssl;
    returns (url, the certificate's PEM path, the server)."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"secure": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"https://127.0.0.1:{httpd.server_address[1]}/x", str(cert), httpd


def test_verify_names_a_private_ca_bundle(tmp_path):
    url, cert, httpd = _tls_server(tmp_path)
    try:
        with pytest.raises(steady.SSLError) as refused:
            steady.Client(retries=0).get(url)
        assert 'verify="ca.pem"' in refused.value.explain()
        r = steady.Client(verify=cert).get(url, auth=("ann", "pw"))
        assert r.json() == {"secure": True}
        with pytest.raises(ValueError, match="CA bundle cannot be read"):
            steady.Client(verify=str(tmp_path / "missing.pem"))
    finally:
        httpd.shutdown()

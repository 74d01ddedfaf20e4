//! curl's flags that steady does not take, answered with steady's equivalent (or a
//! plain "steady does not do this, do that instead") rather than clap's "unexpected
//! argument" and its tip about `--`, which sends a curl user the wrong way.
//!
//! Hand-written: which of steady's flags does what a curl flag does is steady's own
//! knowledge, kept in one table.

/// What to type instead of a curl flag steady does not take.
enum Instead {
    /// steady's equivalent: the message says "use ...".
    Use(&'static str),
    /// steady has none: the message says why, and what to do instead.
    Not(&'static str),
    /// steady does it already, or has no need of it: the message says why.
    Needless(&'static str),
}

use Instead::{Needless, Not, Use};

/// curl's flags (long and short forms) and what steady says about each.
const CURL_ONLY: &[(&[&str], Instead)] = &[
    // Retries and failures.
    (&["--retry"], Use("--retries N (default 3, with backoff, jitter and Retry-After honoured)")),
    (&["--retry-max-time"], Use("--timeout DURATION: one deadline covers every attempt and wait")),
    (&["--retry-delay"], Use("--backoff DURATION (the first wait; it grows exponentially, with jitter)")),
    (&["--retry-connrefused", "--retry-all-errors"], Needless("steady retries what can succeed (refused, reset, timeouts, 408, 429, 5xx) by default; --retries N sets how often")),
    (&["--fail", "--fail-with-body", "--fail-early"], Needless("an HTTP error is a non-zero exit code by default (4 for 4xx, 5 for 5xx), with what the server said on stderr; -f in steady sends a form")),
    // Redirects, limits and speed.
    (&["--max-redirs"], Use("--max-redirects N")),
    (&["--location-trusted"], Not("steady strips credentials when a redirect leaves the origin, on purpose; call the new location with them directly")),
    (&["--post301", "--post302", "--post303"], Not("steady keeps POST on 307/308 and turns it into GET on 301/302/303, as browsers do")),
    (&["--proto", "--proto-redir", "--proto-default"], Needless("steady speaks http and https only, and follows redirects to those schemes alone (--no-follow follows none)")),
    (&["--max-filesize"], Use("--max-body SIZE (512k, 10MB, 1GiB)")),
    (&["--limit-rate"], Not("steady does not limit bytes per second; --rate 10/s limits requests per second")),
    (&["--speed-time", "--speed-limit"], Use("--read-timeout DURATION (the longest silence) and --timeout DURATION (one deadline)")),
    // Request: method, URL, body.
    (&["-X", "--request"], Use("the subcommand: steady post URL, steady put URL, ..., or steady request -X METHOD URL")),
    (&["--url"], Use("the URL as the first argument after the subcommand: steady get URL")),
    (&["-G", "--get"], Use("steady get URL name==value (query parameters are request items)")),
    (&["--url-query"], Use("name==value request items")),
    (&["-g", "--globoff"], Needless("steady does no URL globbing: [ ] and { } are sent as they are")),
    (&["--path-as-is"], Not("steady sends the path as the URL standard reads it, with ./ and ../ segments resolved")),
    (&["-F"], Use("-f/--form with name=value and name@file request items (multipart with a file)")),
    (&["--form-string"], Use("-f/--form with name=value request items")),
    (&["--data-urlencode"], Use("-f/--form with name=value request items (percent-encoded for you)")),
    (&["--data-ascii"], Use("-d DATA")),
    (&["-T", "--upload-file"], Use("steady put URL @FILE")),
    (&["--crlf"], Not("steady sends a body byte for byte; convert the file first (unix2dos) and send it with --data-binary @FILE")),
    (&["-r", "--range"], Use("a request item: Range:bytes=0-99")),
    (&["-z", "--time-cond"], Use("a request item: If-Modified-Since:'Wed, 21 Oct 2026 07:28:00 GMT' (a 304 exits 0)")),
    // Output.
    (&["-D", "--dump-header"], Use("-i/--include (the head before the body) or -v (both heads on stderr)")),
    (&["--show-headers"], Use("-i/--include")),
    (&["-J", "--remote-header-name"], Use("-o FILE (the name is yours to choose)")),
    (&["-R", "--remote-time"], Not("a file saved with -o or -O has the time it was written; -i shows the server's Last-Modified")),
    (&["--output-dir"], Use("-o DIR/FILE")),
    (&["--create-dirs"], Not("steady refuses a folder that does not exist rather than guess: mkdir -p it first")),
    (&["-C", "--continue-at"], Not("steady does not resume yet: a download cut short is retried from the start")),
    (&["--trace", "--trace-ascii", "--trace-time"], Use("-v or -vv (each attempt, decision and head on stderr), or RUST_LOG=trace")),
    (&["--stderr"], Use("2> FILE (steady writes its messages to stderr)")),
    (&["-#", "--progress-bar"], Not("steady shows no progress bar for a call; steady batch shows progress, and a download to -o prints its size when done")),
    (&["--no-progress-meter"], Needless("steady shows no progress meter for a call")),
    (&["-N", "--no-buffer"], Needless("a piped body already goes out as it arrives")),
    (&["--raw", "--tr-encoding"], Not("steady asks for gzip, deflate, br and zstd and decodes the body itself; -H 'Accept-Encoding:' asks for it unencoded")),
    // Several calls.
    (&["-Z", "--parallel"], Use("steady batch FILE (a JSONL file of requests, resumable, bounded concurrency)")),
    (&["--parallel-max"], Use("steady batch FILE --concurrency N")),
    (&["-K", "--config"], Not("steady has no config file for calls: use a shell alias or script")),
    (&["-q", "--disable"], Needless("steady reads no .curlrc")),
    // Credentials and cookies.
    (&["--oauth2-bearer"], Use("--bearer-env VAR or --bearer-file PATH (the token stays out of ps and shell history)")),
    (&["-n", "--netrc", "--netrc-file", "--netrc-optional"], Use("--basic-env VAR or --bearer-env VAR (credentials from the environment)")),
    (&["--basic"], Use("-a USER (Basic auth)")),
    (&["--digest", "--ntlm", "--negotiate", "--anyauth"], Not("steady does Basic (-a) and Bearer (--bearer-env) auth only; for another scheme, pass its header with --header-env NAME=VAR")),
    (&["--aws-sigv4"], Not("steady does not sign requests; sign them elsewhere and pass the headers as request items or with --header-env NAME=VAR")),
    (&["-j", "--junk-session-cookies"], Not("a -b FILE's session cookies are sent; to start a new session, start from a new file")),
    // TLS.
    (&["-E", "--cert", "--key", "--cert-type", "--key-type", "--pass"], Not("client certificates are not supported by the command line yet (--cacert FILE sets the CAs to trust)")),
    (&["--capath"], Use("--cacert FILE (a PEM file of CA certificates)")),
    (&["--pinnedpubkey"], Use("--cacert FILE to trust only that CA's certificates (steady pins no keys)")),
    (&["--ssl-reqd", "--ssl"], Needless("an https:// URL always uses TLS, and steady speaks no protocol that upgrades to it")),
    (&["--ciphers", "--tls13-ciphers", "--curves"], Not("steady uses rustls' safe defaults, which cannot be chosen")),
    (&["-1", "--tlsv1", "--tlsv1.0", "--tlsv1.1", "--tlsv1.2", "-2", "--sslv2", "-3", "--sslv3"], Needless("steady speaks TLS 1.2 and 1.3 (rustls), never anything older")),
    (&["--tlsv1.3", "--tls-max"], Not("steady offers TLS 1.2 and 1.3 and the server picks; the versions cannot be narrowed")),
    // Connections.
    (&["--http1.1", "--http2", "--http2-prior-knowledge", "-0", "--http1.0", "--http3", "--http3-only"], Not("steady speaks HTTP/2 over TLS when the server offers it, HTTP/1.1 otherwise; the version cannot be chosen")),
    (&["-4", "--ipv4", "-6", "--ipv6"], Not("steady uses the addresses the name resolves to; call an IP address to pick one")),
    (&["--resolve", "--connect-to"], Not("steady resolves names itself; over plain HTTP, call the address and set a Host:NAME request item")),
    (&["--doh-url", "--dns-servers"], Not("steady resolves names with the system's resolver")),
    (&["--interface", "--local-port"], Not("steady connects from the address and port the system picks")),
    (&["--unix-socket", "--abstract-unix-socket"], Not("steady connects over TCP only; expose the socket on a port (socat TCP-LISTEN:8080,fork UNIX-CONNECT:PATH) and call :8080/...")),
    (&["--expect100-timeout", "--tcp-nodelay", "--keepalive-time", "--no-keepalive"], Not("steady's connection settings are fixed (TCP_NODELAY on, connections kept alive and reused)")),
    // Proxies.
    (&["--noproxy"], Use("--no-proxy LIST")),
    (&["-U", "--proxy-user"], Use("--proxy http://USER:PASSWORD@HOST:PORT")),
    (&["--socks5", "--socks5-hostname", "--socks4", "--socks4a", "--preproxy"], Not("steady's proxies are HTTP proxies (-x http://HOST:PORT); SOCKS is not supported")),
    // Other protocols.
    (&["-l", "--list-only", "-t", "--telnet-option", "-P", "--ftp-port", "--ftp-pasv"], Not("steady speaks HTTP and HTTPS only (no FTP, no TELNET)")),
];

/// A hint for `arg`, a flag clap did not know, when it is one of curl's.
pub fn hint(arg: &str) -> Option<String> {
    let flag = arg.split('=').next().unwrap_or(arg);
    // `-XPOST`, `-sj` and the like: the first letter names the flag.
    let short = (flag.len() > 2 && flag.starts_with('-') && !flag.starts_with("--"))
        .then(|| flag.get(..2))
        .flatten();
    CURL_ONLY.iter().find_map(|(names, instead)| {
        names
            .iter()
            .any(|n| *n == flag || Some(*n) == short)
            .then(|| match instead {
                Use(what) => format!("curl's {flag} is not a steady flag; use {what}"),
                Not(why) => format!("curl's {flag} is not a steady flag: {why}"),
                Needless(why) => format!("curl's {flag} is not a steady flag, nor needed: {why}"),
            })
    })
}

/// A hint for a word typed where the subcommand goes: a URL (as curl and HTTPie take
/// it), or a method in capitals.
pub fn subcommand_hint(word: &str) -> Option<String> {
    let methods = ["get", "head", "post", "put", "patch", "delete", "options"];
    if methods.contains(&word.to_ascii_lowercase().as_str()) {
        return Some(format!(
            "'{word}' is not a subcommand; the method is one, in lower case: steady {} URL",
            word.to_ascii_lowercase()
        ));
    }
    if word.chars().all(|c| c.is_ascii_uppercase()) && !word.is_empty() {
        return Some(format!(
            "'{word}' is not a subcommand; for any other method: steady request {word} URL"
        ));
    }
    let url = word.contains("://")
        || word.starts_with(':')
        || word.starts_with("localhost")
        || word.split('/').next().is_some_and(|h| h.contains('.'));
    url.then(|| {
        format!(
            "steady takes the method first: steady get {word} (or post, put, patch, delete, ...)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_flags_get_steady_equivalents() {
        let h = hint("--retry").unwrap();
        assert!(h.contains("--retries N"), "{h}");
        assert!(hint("--retry-max-time").unwrap().contains("--timeout"));
        assert!(hint("--fail").unwrap().contains("exit code"));
        assert!(hint("-XPOST")
            .unwrap()
            .contains("steady request -X METHOD URL"));
        assert!(hint("--max-redirs=3").unwrap().contains("--max-redirects"));
        assert!(hint("-jsS").unwrap().starts_with("curl's -jsS"));
        assert_eq!(hint("--frobnicate"), None);
    }

    #[test]
    fn no_hint_stands_for_a_flag_a_call_takes() {
        let cmd = crate::cli::command();
        let calls = cmd.get_subcommands().filter(|s| {
            [
                "get", "head", "post", "put", "patch", "delete", "options", "request",
            ]
            .contains(&s.get_name())
        });
        for sub in calls {
            for arg in sub.get_arguments() {
                let shorts = arg
                    .get_short()
                    .into_iter()
                    .chain(arg.get_all_short_aliases().into_iter().flatten());
                let longs = arg
                    .get_long()
                    .into_iter()
                    .chain(arg.get_all_aliases().into_iter().flatten());
                let names = shorts
                    .map(|c| format!("-{c}"))
                    .chain(longs.map(|l| format!("--{l}")));
                for name in names {
                    assert!(
                        !CURL_ONLY
                            .iter()
                            .any(|(curl, _)| curl.contains(&name.as_str())),
                        "steady {} takes {name}: no hint for it",
                        sub.get_name()
                    );
                }
            }
        }
    }

    #[test]
    fn a_url_or_a_method_where_the_subcommand_goes_gets_the_command_meant() {
        assert!(subcommand_hint("https://api.test/x")
            .unwrap()
            .contains("steady get https://api.test/x"));
        assert!(subcommand_hint(":8080/x")
            .unwrap()
            .contains("steady get :8080/x"));
        assert!(subcommand_hint("GET").unwrap().contains("steady get URL"));
        assert!(subcommand_hint("PURGE")
            .unwrap()
            .contains("steady request PURGE URL"));
        assert_eq!(subcommand_hint("bach"), None);
    }
}

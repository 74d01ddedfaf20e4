//! A raw HTTP/1.1 server that writes each connection's answer in parts, the next
//! part only when the test opens the gate: proof that a client hands over what came
//! before the rest was even sent, with no timing involved.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// One connection's script: the parts written in turn (the first at once), and
/// whether the connection then closes (`true`) or hangs open.
pub struct Script {
    pub parts: Vec<Vec<u8>>,
    pub close: bool,
}

pub struct Gated {
    addr: std::net::SocketAddr,
    gate: Sender<()>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Gated {
    /// Serves `scripts` to the connections in order (one request per connection).
    pub fn start(scripts: Vec<Script>) -> Gated {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (gate, opened) = channel::<()>();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for script in scripts {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let head = read_head(&mut conn);
                seen.lock().unwrap().push(head);
                serve(&mut conn, &script, &opened);
                if !script.close {
                    held.push(conn);
                }
            }
            // Keep hanging connections open until the test ends.
            let _ = opened.recv();
            drop(held);
        });
        Gated { addr, gate, heads }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Lets the next part out.
    pub fn open(&self) {
        let _ = self.gate.send(());
    }

    /// The request heads received, in order (lower-cased header names as sent).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn read_head(conn: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn serve(conn: &mut TcpStream, script: &Script, opened: &Receiver<()>) {
    for (i, part) in script.parts.iter().enumerate() {
        if i > 0 && opened.recv().is_err() {
            return;
        }
        if conn.write_all(part).and_then(|()| conn.flush()).is_err() {
            return;
        }
    }
}

/// A chunk of a chunked body.
pub fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

/// The head of a 200 with a chunked body of `content_type`.
pub fn chunked_head(content_type: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// The end of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

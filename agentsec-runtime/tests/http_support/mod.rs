//! The one tiny HTTP/1.1 server of these tests, on 127.0.0.1: it records
//! every request and answers what the test decides — a scripted list of
//! replies (model clients), or a status per request (webhook and OTLP
//! receivers).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The largest request the server reads.
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header called `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the client sent JSON")
    }
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with a status, extra headers and a body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Answers nothing for this long, then closes the connection.
    Stall(Duration),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn raw(status: u16, body: &str) -> Self {
        Reply::Respond {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn status(status: u16) -> Self {
        Self::raw(status, "")
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// Decides the reply to a request; gets the request and its index (from 0).
type Respond = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The server; stops when dropped.
pub struct TestServer {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// A server answering each request with what `respond` returns.
    pub async fn start(
        respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Respond> = Arc::new(respond);
        let state = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, state.clone(), respond.clone()));
            }
        });
        Self {
            base,
            requests,
            task,
        }
    }

    /// A server answering the n-th request with `replies[n]`, and with 599
    /// once none is left.
    pub async fn scripted(replies: Vec<Reply>) -> Self {
        Self::start(move |_, index| {
            replies
                .get(index)
                .cloned()
                .unwrap_or_else(|| Reply::raw(599, "the test server has no reply left"))
        })
        .await
    }

    /// A server answering each request with an empty body and the status
    /// `status` returns.
    pub async fn with_status(
        status: impl Fn(&Recorded, usize) -> u16 + Send + Sync + 'static,
    ) -> Self {
        Self::start(move |request, index| Reply::status(status(request, index))).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, requests: Arc<Mutex<Vec<Recorded>>>, respond: Arc<Respond>) {
    // Keep-alive: answer requests on this connection until the client closes it.
    while let Some(request) = read_request(&mut stream).await {
        let reply = {
            let mut requests = requests.lock().unwrap();
            let index = requests.len();
            let reply = respond(&request, index);
            requests.push(request);
            reply
        };
        match reply {
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} Test\r\ncontent-length: {}\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(&body).await.is_err()
                {
                    return;
                }
            }
            Reply::Stall(wait) => {
                tokio::time::sleep(wait).await;
                return;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_REQUEST_BYTES {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_owned();
    let target = start.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length && body.len() <= MAX_REQUEST_BYTES {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

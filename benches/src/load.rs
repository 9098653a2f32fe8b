//! The load generator, the same for every scenario and both servers:
//! keep-alive HTTP/1.1 connections (hyper's client connection, no pooling
//! or retries in the way), pre-built requests, latencies in an HDR
//! histogram.
//!
//! Three modes:
//! - closed loop: each connection sends its next request as soon as the
//!   previous answer is in, for maximum throughput;
//! - open loop at a constant rate: each request has a scheduled send time,
//!   and when a connection falls behind schedule the latency is counted from
//!   the scheduled time, so a slow server is not excused by sending less
//!   (coordinated omission);
//! - one pass: every request of a list exactly once (warming a cache, the
//!   cold scenario, the RSS scenario).

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;

use crate::stats::RunStats;

/// The form body of every token request; client authentication is in the
/// `Authorization: Basic` header (`client_secret_basic`), for the floor and
/// Tessera alike.
pub const TOKEN_BODY: &str = "grant_type=client_credentials";

/// A request that gets no answer in this long counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to send, and from which loopback address.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The server's main listener.
    pub addr: SocketAddr,
    /// Local address to connect from (the flood uses another loopback
    /// address, as an attacker elsewhere would), or the system's choice.
    pub source: Option<IpAddr>,
}

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// Path of the introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";

/// Form-encoded POST requests to one path: token requests (each a
/// pre-encoded `Authorization` header, the body [`TOKEN_BODY`]) or
/// introspection requests (one resource server's `Authorization`, each body
/// a `token=…`).
#[derive(Clone)]
pub struct RequestSet {
    host: HeaderValue,
    path: &'static str,
    authorizations: Arc<[HeaderValue]>,
    bodies: Arc<[Bytes]>,
}

impl std::fmt::Debug for RequestSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers hold client secrets.
        f.debug_struct("RequestSet")
            .field("len", &self.authorizations.len())
            .finish_non_exhaustive()
    }
}

impl RequestSet {
    /// Requests authenticating as each `(client_id, secret)` in turn.
    pub fn new<'a>(
        addr: SocketAddr,
        credentials: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> anyhow::Result<Self> {
        let host = HeaderValue::from_str(&addr.to_string()).context("Failed to build Host")?;
        let authorizations = credentials
            .into_iter()
            .map(|(id, secret)| basic_authorization(id, secret))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!authorizations.is_empty(), "a request set needs a request");
        Ok(Self {
            host,
            path: TOKEN_PATH,
            authorizations: authorizations.into(),
            bodies: [Bytes::from_static(TOKEN_BODY.as_bytes())].into(),
        })
    }

    /// Introspection requests of each of `tokens` in turn, authenticated as
    /// the resource server `(client_id, secret)`.
    pub fn introspections<'a>(
        addr: SocketAddr,
        (client_id, secret): (&str, &str),
        tokens: impl IntoIterator<Item = &'a str>,
    ) -> anyhow::Result<Self> {
        let host = HeaderValue::from_str(&addr.to_string()).context("Failed to build Host")?;
        let bodies: Vec<Bytes> = tokens
            .into_iter()
            .map(|token| Bytes::from(format!("token={}", form_encode(token))))
            .collect();
        anyhow::ensure!(!bodies.is_empty(), "a request set needs a request");
        Ok(Self {
            host,
            path: INTROSPECTION_PATH,
            authorizations: [basic_authorization(client_id, secret)?].into(),
            bodies: bodies.into(),
        })
    }

    /// How many distinct requests.
    pub fn len(&self) -> usize {
        self.authorizations.len().max(self.bodies.len())
    }

    fn request(&self, index: usize) -> Request<Full<Bytes>> {
        let auth = &self.authorizations[index % self.authorizations.len()];
        let body = self.bodies[index % self.bodies.len()].clone();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = hyper::Uri::from_static(self.path);
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(AUTHORIZATION, auth.clone());
        request
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
pub fn basic_authorization(client_id: &str, secret: &str) -> anyhow::Result<HeaderValue> {
    use base64::Engine as _;
    let encode = |s: &str| -> String { form_encode(s) };
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
    .context("Failed to build an Authorization header")?;
    value.set_sensitive(true);
    Ok(value)
}

/// `application/x-www-form-urlencoded` encoding of one component.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn connect(target: Target) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .context("Failed to create a socket")?;
    if let Some(source) = target.source {
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("Failed to bind to {source}"))?;
    }
    socket
        .set_nodelay(true)
        .context("Failed to set TCP_NODELAY")?;
    let stream = socket
        .connect(target.addr)
        .await
        .with_context(|| format!("Failed to connect to {}", target.addr))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("Failed the HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole answer; the status, or an error
/// when the connection failed.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<u16> {
    let exchange = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        Ok::<_, hyper::Error>(status)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("no answer within {REQUEST_TIMEOUT:?}"),
    }
}

/// One keep-alive connection for requests sent one at a time, such as
/// polling a server until it refuses a credential.
#[derive(Debug)]
pub struct Single(Connection);

impl Single {
    /// Connects to `target`.
    pub async fn open(target: Target) -> anyhow::Result<Self> {
        Ok(Self(Connection::open(target).await?))
    }

    /// Sends the first request of `set`: its status, or `None` when no
    /// answer came (the connection is opened again for the next one).
    pub async fn status(&mut self, set: &RequestSet) -> Option<u16> {
        self.0.exchange(set.request(0)).await
    }
}

/// One connection that reconnects after a failure.
#[derive(Debug)]
struct Connection {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn open(target: Target) -> anyhow::Result<Self> {
        Ok(Self {
            target,
            sender: Some(connect(target).await?),
        })
    }

    /// The status, or `None` when no answer came (counted as an I/O error).
    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Option<u16> {
        if self.sender.is_none() {
            self.sender = connect(self.target).await.ok();
        }
        let sender = self.sender.as_mut()?;
        match send(sender, request).await {
            Ok(status) => Some(status),
            Err(_) => {
                self.sender = None;
                None
            }
        }
    }
}

fn record(stats: &mut RunStats, status: Option<u16>, latency: Duration) {
    match status {
        Some(status) => *stats.statuses.entry(status).or_default() += 1,
        None => stats.io_errors += 1,
    }
    let micros = u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    // Saturate rather than fail on an absurd latency.
    let _ = stats.latencies.record(micros.min(stats.latencies.high()));
}

async fn open_all(target: Target, connections: usize) -> anyhow::Result<Vec<Connection>> {
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(target).await?);
    }
    Ok(opened)
}

async fn join_all(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<RunStats>>>,
    started: Instant,
) -> anyhow::Result<RunStats> {
    let mut total = RunStats::new()?;
    for task in tasks {
        let stats = task.await.context("A load connection failed")??;
        total.merge(&stats)?;
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// Closed loop: `connections` connections send back to back for `warmup`
/// (not recorded), then for `duration`. Requests go round-robin over the set.
pub async fn closed_loop(
    target: Target,
    requests: &RequestSet,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<RunStats> {
    let opened = open_all(target, connections).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for mut connection in opened {
        let requests = requests.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = RunStats::new()?;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let request = requests.request(next.fetch_add(1, Ordering::Relaxed));
                let status = connection.exchange(request).await;
                if sent >= measure_from {
                    record(&mut stats, status, sent.elapsed());
                }
            }
            Ok(stats)
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    join_all(tasks, measure_from).await
}

/// Open loop: `rate` requests a second in total, spread evenly over the
/// connections, for `duration` (after an unrecorded `warmup` at the same
/// rate).
///
/// A connection that is idle sleeps until the next scheduled send; tokio's
/// timer wakes it up to a millisecond late, which is the generator's delay,
/// not the server's, so the latency then counts from the actual send. A
/// connection still waiting for an answer at the scheduled time is behind
/// because of the server: its next latency counts from the scheduled time.
pub async fn open_loop(
    target: Target,
    requests: &RequestSet,
    connections: usize,
    rate: f64,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<RunStats> {
    anyhow::ensure!(rate > 0.0, "the open-loop rate must be positive");
    let opened = open_all(target, connections).await?;
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let period = Duration::from_secs_f64(connections as f64 / rate);
    let mut tasks = Vec::with_capacity(connections);
    for (i, mut connection) in opened.into_iter().enumerate() {
        let requests = requests.clone();
        // Stagger the connections across one period.
        let offset = period.mul_f64(i as f64 / connections as f64);
        tasks.push(tokio::spawn(async move {
            let mut stats = RunStats::new()?;
            let mut scheduled = start + offset;
            let mut index = i;
            while scheduled < end {
                let counted_from = if Instant::now() < scheduled {
                    tokio::time::sleep_until(scheduled.into()).await;
                    Instant::now()
                } else {
                    scheduled
                };
                let status = connection.exchange(requests.request(index)).await;
                if scheduled >= measure_from {
                    record(&mut stats, status, counted_from.elapsed());
                }
                index += connections;
                scheduled += period;
            }
            Ok(stats)
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    join_all(tasks, measure_from).await
}

/// Every request of the set exactly once, over `connections` connections.
/// The elapsed time covers the whole pass.
pub async fn one_pass(
    target: Target,
    requests: &RequestSet,
    connections: usize,
) -> anyhow::Result<RunStats> {
    let opened = open_all(target, connections.min(requests.len())).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(opened.len());
    for mut connection in opened {
        let requests = requests.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = RunStats::new()?;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= requests.len() {
                    break;
                }
                let sent = Instant::now();
                let status = connection.exchange(requests.request(index)).await;
                record(&mut stats, status, sent.elapsed());
            }
            Ok(stats)
        }));
    }
    join_all(tasks, started).await
}

/// `GET` on the operations listener, for `/healthz` and `/metrics`: the
/// status and the body.
pub async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .context("Failed to build a GET request")?;
    exchange_once(addr, path, request).await
}

/// Request `index` of `requests`, alone on a connection of its own: the
/// status and the body (a token, to introspect later).
pub async fn answer(
    addr: SocketAddr,
    requests: &RequestSet,
    index: usize,
) -> anyhow::Result<(u16, String)> {
    exchange_once(addr, requests.path, requests.request(index)).await
}

async fn exchange_once(
    addr: SocketAddr,
    path: &str,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(u16, String)> {
    let mut sender = connect(Target { addr, source: None }).await?;
    sender.ready().await.context("Connection closed")?;
    let response = sender
        .send_request(request)
        .await
        .with_context(|| format!("Failed to GET {path}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .with_context(|| format!("Failed to read {path}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        use base64::Engine as _;
        let value = basic_authorization("id 1", "a+b:c").unwrap();
        let text = value.to_str().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"id+1:a%2Bb%3Ac");
        assert!(value.is_sensitive());
    }

    #[test]
    fn requests_go_round_robin_over_the_set() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let set = RequestSet::new(addr, [("a", "x"), ("b", "y")]).unwrap();
        let auth = |i| set.request(i).headers()[AUTHORIZATION].clone();
        assert_eq!(auth(0), auth(2));
        assert_ne!(auth(0), auth(1));
        assert_eq!(set.request(0).uri(), "/oauth2/token");
    }

    #[test]
    fn introspections_go_round_robin_over_the_tokens_as_one_server() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let set = RequestSet::introspections(addr, ("rs", "s"), ["t1", "t+2"]).unwrap();
        assert_eq!(set.len(), 2);
        let request = set.request(1);
        assert_eq!(request.uri(), "/oauth2/introspect");
        assert_eq!(
            request.headers()[AUTHORIZATION],
            set.request(0).headers()[AUTHORIZATION]
        );
        assert_eq!(set.bodies[1], Bytes::from_static(b"token=t%2B2"));
    }
}

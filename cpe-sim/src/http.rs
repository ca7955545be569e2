//! A plain HTTP/1.1 client connection (hyper), one per CWMP session or transfer, kept alive
//! for the whole exchange. Only loopback addresses are reached unless allowed otherwise.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

static ALLOW_REMOTE: AtomicBool = AtomicBool::new(false);

/// Lets the simulator reach addresses other than loopback (off by default).
pub fn allow_remote(allow: bool) {
    ALLOW_REMOTE.store(allow, Ordering::Relaxed);
}

/// Where an `http://host:port/path` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The resolved address.
    pub address: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Path and query.
    pub path: String,
}

impl Endpoint {
    /// Parses and resolves an `http://` URL (its fragment is ignored).
    pub async fn parse(url: &str) -> Result<Endpoint, String> {
        let url = url.split('#').next().unwrap_or_default();
        let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("only http:// URLs are supported, not {url:?}"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("no host in {url:?}"))?;
        let port = authority.port_u16().unwrap_or(80);
        let address = tokio::net::lookup_host((authority.host(), port))
            .await
            .map_err(|e| format!("resolving {}: {e}", authority.host()))?
            .next()
            .ok_or_else(|| format!("{} has no address", authority.host()))?;
        if !address.ip().is_loopback() && !ALLOW_REMOTE.load(Ordering::Relaxed) {
            return Err(format!(
                "{address} is not a loopback address (pass --allow-remote to reach it)"
            ));
        }
        Ok(Endpoint {
            address,
            host: authority.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string()),
        })
    }
}

/// A loopback source address of its own for device `index` (`127.1.0.0` onwards), so that
/// devices are told apart by address like real ones and connections never compete for the
/// ephemeral ports of one source address.
pub fn loopback_source(index: u32) -> IpAddr {
    let [_, b, c, d] = index.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(127, 1 + b % 254, c, d))
}

async fn connect(address: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source.filter(|_| address.ip().is_loopback() && address.is_ipv4()) else {
        return TcpStream::connect(address).await;
    };
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(address).await
}

/// An open HTTP/1.1 connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connects (from `source` when given) and performs the HTTP/1.1 handshake; the
    /// connection is driven by a task that ends when it closes.
    pub async fn open(address: SocketAddr, source: Option<IpAddr>) -> Result<Connection, String> {
        let stream = connect(address, source)
            .await
            .map_err(|e| format!("connecting to {address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {address}: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender })
    }

    /// Whether the peer closed the connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends a request and reads the whole response.
    pub async fn send(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(hyper::http::response::Parts, Bytes), String> {
        use http_body_util::BodyExt;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection closed: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the response: {e}"))?
            .to_bytes();
        Ok((parts, body))
    }

    /// Sends a request and hands the response body to `chunk` (with the status) as it
    /// streams in.
    pub async fn stream(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
        mut chunk: impl FnMut(hyper::StatusCode, &[u8]),
    ) -> Result<hyper::http::response::Parts, String> {
        use http_body_util::BodyExt;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection closed: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let (parts, mut body) = response.into_parts();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("reading the response: {e}"))?;
            if let Some(data) = frame.data_ref() {
                chunk(parts.status, data);
            }
        }
        Ok(parts)
    }
}

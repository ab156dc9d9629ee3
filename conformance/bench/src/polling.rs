//! The handshake socket.io-client makes by default: Engine.IO open over
//! HTTP long-polling, Socket.IO CONNECT by POST with its answer by GET,
//! then the upgrade to WebSocket with the sid (`2probe`, `3probe`, `5`).
//! Plain HTTP/1.1 with keep-alive on one TCP connection for the polling
//! requests; the WebSocket is a second connection, as in a browser.
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use sio_core::engine::packet::Packet as EnginePacket;
use sio_core::engine::payload::decode_payload;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{invalid, open_tcp, parse_response_head, Client};

/// The Engine.IO polling endpoint, as the reference client asks for it.
const POLLING: &str = "/socket.io/?EIO=4&transport=polling";
/// Largest HTTP response (head and body) accepted.
const MAX_RESPONSE: usize = 64 * 1024;
/// Packets accepted in one polling response.
const MAX_PACKETS: usize = 64;
/// Polls for the CONNECT answer before giving up.
const MAX_POLLS: usize = 8;
/// How long the long-poll left open during the upgrade may take to be
/// released (the server answers it with a noop once probed).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// One keep-alive HTTP/1.1 connection for the polling requests.
struct Http {
    stream: TcpStream,
    host: String,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl Http {
    async fn send(&mut self, method: &str, path: &str, body: &str) -> io::Result<()> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\nAccept: */*\r\n",
            self.host
        );
        if method == "POST" {
            request.push_str(&format!(
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.stream.write_all(request.as_bytes()).await
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.len() > MAX_RESPONSE {
            return Err(invalid("HTTP response too long"));
        }
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the polling connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Reads one response; its body if the status is 200.
    async fn receive(&mut self) -> io::Result<Bytes> {
        let end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let (status, headers) = parse_response_head(&self.buf[..end])?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let body = if let Some(length) = header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
            if length > MAX_RESPONSE {
                return Err(invalid("HTTP body too long"));
            }
            while self.buf.len() < end + length {
                self.fill().await?;
            }
            let body = Bytes::copy_from_slice(&self.buf[end..end + length]);
            self.buf.drain(..end + length);
            body
        } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            self.buf.drain(..end);
            self.read_chunked().await?
        } else {
            return Err(invalid("polling response without a length"));
        };
        if status != 200 {
            return Err(invalid(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body)
    }

    async fn read_chunked(&mut self) -> io::Result<Bytes> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break pos;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[..line_end])
                .map_err(|_| invalid("bad chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
            if size > MAX_RESPONSE || body.len() + size > MAX_RESPONSE {
                return Err(invalid("HTTP body too long"));
            }
            // The chunk and its CRLF (the last chunk: no trailers expected).
            let need = line_end + 2 + size + 2;
            while self.buf.len() < need {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..need);
            if size == 0 {
                return Ok(body.into());
            }
        }
    }

    async fn get(&mut self, path: &str) -> io::Result<Vec<EnginePacket>> {
        self.send("GET", path, "").await?;
        self.packets().await
    }

    /// The packets of the next response.
    async fn packets(&mut self) -> io::Result<Vec<EnginePacket>> {
        let body = self.receive().await?;
        decode_payload(body, MAX_PACKETS).map_err(|e| invalid(format!("{e:?}")))
    }
}

/// The `sid` of the Engine.IO open packet's JSON.
fn sid_of(open: &str) -> io::Result<String> {
    let json: serde_json::Value =
        serde_json::from_str(open).map_err(|e| invalid(format!("open packet: {e}")))?;
    json.get("sid")
        .and_then(|sid| sid.as_str())
        .map(str::to_owned)
        .ok_or_else(|| invalid(format!("no sid in {open}")))
}

impl Client {
    /// One whole handshake the way socket.io-client makes it by default,
    /// done in order: open by polling, CONNECT by POST and its answer by
    /// GET, then (with the next long-poll pending, as the client keeps
    /// one) the WebSocket probe and upgrade. Returns once `5` is sent; the
    /// polling connection is closed then, as the client drops it.
    pub async fn connect_polling(addr: SocketAddr, seed: u32) -> io::Result<Client> {
        let mut http = Http {
            stream: open_tcp(addr).await?,
            host: addr.to_string(),
            buf: Vec::with_capacity(1024),
        };
        let sid = match http.get(POLLING).await?.as_slice() {
            [EnginePacket::Open(json)] => sid_of(json)?,
            other => return Err(invalid(format!("expected open, got {other:?}"))),
        };
        let with_sid = format!("{POLLING}&sid={sid}");
        http.send("POST", &with_sid, "40").await?;
        let ok = http.receive().await?;
        if &ok[..] != b"ok" {
            return Err(invalid(format!("POST answered {ok:?}")));
        }
        let mut connected = false;
        for _ in 0..MAX_POLLS {
            let packets = http.get(&with_sid).await?;
            // Socket.IO CONNECT (`0`) to `/` inside an Engine.IO message.
            connected = packets
                .iter()
                .any(|p| matches!(p, EnginePacket::Message(text) if text.starts_with('0')));
            if connected {
                break;
            }
        }
        if !connected {
            return Err(invalid("no CONNECT answer by polling"));
        }
        // The long-poll the client keeps open; the probe releases it.
        http.send("GET", &with_sid, "").await?;
        let ws_path = format!("/socket.io/?EIO=4&transport=websocket&sid={sid}");
        let mut client = Client::open_websocket(addr, seed, &ws_path).await?;
        client
            .send_engine(&EnginePacket::Ping(ByteString::from_static("probe")))
            .await?;
        match client.next_engine_packet().await? {
            EnginePacket::Pong(data) if data == "probe" => {}
            other => return Err(invalid(format!("expected 3probe, got {other:?}"))),
        }
        tokio::time::timeout(RELEASE_TIMEOUT, http.packets())
            .await
            .map_err(|_| invalid("pending poll not released after the probe"))??;
        client.send_engine(&EnginePacket::Upgrade).await?;
        Ok(client)
    }
}

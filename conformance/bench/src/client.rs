//! One Socket.IO client over a raw WebSocket on a tokio `TcpStream`, built
//! on sio-core's codecs: the WebSocket handshake and frames (client role,
//! masked), Engine.IO packets and Socket.IO packets. Only what the bench
//! needs: connect to `/`, send events, read packets, answer pings.
use std::io;
use std::net::SocketAddr;

use bytes::BytesMut;
use bytestring::ByteString;
use sio_core::engine::packet::Packet as EnginePacket;
use sio_core::packet::{self, Packet, PacketType, RawJson};
use sio_core::wire::ws::{self, frame::encode_frame, Message, OpCode, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The Engine.IO WebSocket endpoint, as the reference client asks for it.
const PATH: &str = "/socket.io/?EIO=4&transport=websocket";
/// Largest HTTP response head accepted during the upgrade.
const MAX_HEAD: usize = 16 * 1024;

/// A connected Socket.IO client (namespace `/`).
pub struct Client {
    stream: TcpStream,
    frames: ws::Decoder,
    packets: packet::Decoder,
    read_buf: Vec<u8>,
    write_buf: BytesMut,
    /// xorshift state for the frame masks a client must send.
    mask_state: u32,
}

pub(crate) fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl Client {
    /// Opens a TCP connection, upgrades it to WebSocket, reads the Engine.IO
    /// open packet and connects to the main namespace: one whole handshake.
    pub async fn connect(addr: SocketAddr, seed: u32) -> io::Result<Client> {
        let mut client = Client::open_websocket(addr, seed, PATH).await?;
        match client.next_engine_packet().await? {
            EnginePacket::Open(_) => {}
            other => return Err(invalid(format!("expected open, got {other:?}"))),
        }
        client
            .send_packet(&Packet::connect(ByteString::from_static("/"), None))
            .await?;
        let connected = client.next_packet().await?;
        if connected.kind != PacketType::Connect {
            return Err(invalid(format!("expected CONNECT, got {connected:?}")));
        }
        Ok(client)
    }

    /// Opens a TCP connection to `addr` and upgrades it to WebSocket at
    /// `path`; nothing read or sent on the WebSocket yet.
    pub(crate) async fn open_websocket(
        addr: SocketAddr,
        seed: u32,
        path: &str,
    ) -> io::Result<Client> {
        let stream = open_tcp(addr).await?;
        let mut client = Client {
            stream,
            frames: ws::Decoder::new(Role::Client, ws::Limits::default()),
            packets: packet::Decoder::new(packet::Limits::default()),
            read_buf: vec![0; 16 * 1024],
            write_buf: BytesMut::with_capacity(256),
            mask_state: seed | 1,
        };
        client.upgrade(&addr.to_string(), seed, path).await?;
        Ok(client)
    }

    async fn upgrade(&mut self, host: &str, seed: u32, path: &str) -> io::Result<()> {
        let nonce: [u8; 16] =
            core::array::from_fn(|i| (seed.rotate_left(i as u32 * 5) as u8) ^ i as u8);
        let key = ws::handshake::client_key(nonce);
        let head = ws::handshake::client_request_head(host, path, &key);
        self.stream.write_all(head.as_bytes()).await?;
        let mut head = Vec::with_capacity(512);
        let end = loop {
            let n = self.stream.read(&mut self.read_buf).await?;
            if n == 0 {
                return Err(invalid("closed during the upgrade"));
            }
            head.extend_from_slice(&self.read_buf[..n]);
            if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            if head.len() > MAX_HEAD {
                return Err(invalid("upgrade response head too long"));
            }
        };
        let (status, headers) = parse_response_head(&head[..end])?;
        ws::handshake::check_server_response(status, &headers, &key)
            .map_err(|e| invalid(format!("upgrade refused: {e:?}")))?;
        // Frames the server sent right behind its response.
        self.frames.feed(&head[end..]);
        Ok(())
    }

    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_ne_bytes()
    }

    /// Sends one Engine.IO text packet in one masked frame.
    pub(crate) async fn send_engine(&mut self, packet: &EnginePacket) -> io::Result<()> {
        let mut text = BytesMut::with_capacity(packet.encoded_len());
        packet.encode_text(&mut text);
        let mask = self.next_mask();
        self.write_buf.clear();
        encode_frame(&mut self.write_buf, true, OpCode::Text, &text, Some(mask));
        self.stream.write_all(&self.write_buf).await
    }

    /// Sends one Socket.IO packet (no attachments).
    pub async fn send_packet(&mut self, packet: &Packet) -> io::Result<()> {
        let text = packet::encode_text(packet);
        self.send_engine(&EnginePacket::Message(text)).await
    }

    /// Sends `event` with the JSON `args` array (`[...]` without the name)
    /// and, with `ack_id`, asks for an acknowledgement.
    pub async fn emit(
        &mut self,
        event: &str,
        args_json: &str,
        ack_id: Option<u64>,
    ) -> io::Result<()> {
        let data = format!("[\"{event}\",{}", &args_json[1..]);
        let data = RawJson::parse(data.into()).map_err(|e| invalid(format!("{e:?}")))?;
        let mut packet = Packet::event(ByteString::from_static("/"), data, Vec::new());
        if let Some(id) = ack_id {
            packet = packet.with_id(id);
        }
        self.send_packet(&packet).await
    }

    /// The next Engine.IO packet, answering pings on the way.
    pub(crate) async fn next_engine_packet(&mut self) -> io::Result<EnginePacket> {
        loop {
            match self.frames.poll_message() {
                Ok(Some(Message::Text(text))) => {
                    let packet =
                        EnginePacket::decode_text(text).map_err(|e| invalid(format!("{e:?}")))?;
                    if let EnginePacket::Ping(data) = packet {
                        self.send_engine(&EnginePacket::Pong(data)).await?;
                        continue;
                    }
                    return Ok(packet);
                }
                Ok(Some(Message::Close(frame))) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("closed: {frame:?}"),
                    ))
                }
                Ok(Some(Message::Ping(data))) => {
                    let mask = self.next_mask();
                    self.write_buf.clear();
                    encode_frame(&mut self.write_buf, true, OpCode::Pong, &data, Some(mask));
                    self.stream.write_all(&self.write_buf).await?;
                }
                Ok(Some(Message::Binary(_) | Message::Pong(_))) => {}
                Ok(None) => {
                    let n = self.stream.read(&mut self.read_buf).await?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "server closed",
                        ));
                    }
                    self.frames.feed(&self.read_buf[..n]);
                }
                Err(e) => return Err(invalid(format!("{e:?}"))),
            }
        }
    }

    /// The next Socket.IO packet.
    pub async fn next_packet(&mut self) -> io::Result<Packet> {
        loop {
            match self.next_engine_packet().await? {
                EnginePacket::Message(text) => {
                    if let Some(packet) = self
                        .packets
                        .decode_text(text)
                        .map_err(|e| invalid(format!("{e:?}")))?
                    {
                        return Ok(packet);
                    }
                }
                EnginePacket::Close => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "engine close",
                    ))
                }
                _ => {}
            }
        }
    }
}

/// A TCP connection to `addr`, closed with a reset and without Nagle.
pub(crate) async fn open_tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    // Closing with a reset leaves no TIME_WAIT behind, so tens of
    // thousands of connections per run do not exhaust loopback ports.
    #[allow(deprecated)]
    socket.set_linger(Some(std::time::Duration::ZERO))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Status and headers of an HTTP/1.1 response head.
pub(crate) fn parse_response_head(head: &[u8]) -> io::Result<(u16, Vec<(String, String)>)> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

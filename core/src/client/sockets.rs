//! The Socket.IO side of the client: namespaces' connects, incoming
//! packets (connect replies, events, acks) and writing packets out.

use super::*;

impl Client {
    // ----- namespaces -----

    pub(super) fn namespace_index(&self, nsp: &str) -> Option<usize> {
        self.namespaces.iter().position(|ns| &*ns.name == nsp)
    }

    pub(super) fn namespace(&self, nsp: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| &*ns.name == nsp)
    }

    /// Sends the CONNECT of namespace `index`, or first asks the
    /// application for its auth when it gives one per attempt.
    pub(super) fn send_connect(&mut self, index: usize) {
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if ns.auth_per_attempt {
            ns.auth_request = ns.auth_request.wrapping_add(1);
            ns.state = NsState::AwaitingAuth;
            let event = ClientEvent::AuthNeeded {
                nsp: ns.name.clone(),
                request: ns.auth_request,
            };
            self.event(event);
            return;
        }
        self.write_connect(index);
    }

    pub(super) fn write_connect(&mut self, index: usize) {
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        ns.state = NsState::Connecting;
        ns.early.clear();
        // As the reference client does: the recovery fields first, the
        // auth's own keys after them (a JSON parser keeps the last).
        let auth = match &ns.pid {
            Some(pid) => Some(recovery_auth(
                pid,
                ns.last_offset.as_deref(),
                ns.auth.as_ref(),
            )),
            None => ns.auth.clone(),
        };
        let packet = Packet::connect(ns.name.clone(), auth);
        self.send_packet(&packet);
    }

    /// Makes a namespace dormant (the reference socket's `destroy`): the
    /// acks of events that went out are cancelled, and with `reason` a
    /// connected one hears it; what is buffered stays for a later
    /// [`Client::connect`], as in the reference. With no active namespace
    /// left, the manager closes.
    pub(super) fn drop_namespace(&mut self, index: usize, reason: Option<DisconnectReason>) {
        let retries = self.config.retries;
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        let was_connected = ns.is_connected();
        ns.state = NsState::Dormant;
        let mut events = Vec::new();
        cancel_sent_acks(ns, retries, &mut events);
        if let Some(reason) = reason.filter(|_| was_connected) {
            let nsp = ns.name.clone();
            events.push(ClientEvent::Disconnected { nsp, reason });
        }
        for event in events {
            self.event(event);
        }
        if !self.namespaces.iter().any(Namespace::is_active) {
            self.close_manager(DisconnectReason::ForcedClose);
        }
    }

    pub(super) fn decoder(&mut self) -> Option<&mut packet::AnyDecoder> {
        self.link.as_mut().map(|link| &mut link.decoder)
    }

    pub(super) fn on_decoded(
        &mut self,
        now: Instant,
        decoded: Option<Result<Option<Packet>, packet::PacketError>>,
    ) {
        match decoded {
            Some(Ok(Some(packet))) => self.on_packet(now, packet),
            Some(Ok(None)) | None => {}
            Some(Err(_)) => {
                self.send_close_frame(1000);
                self.lose_link(now, DisconnectReason::ParseError, true);
            }
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        let Some(index) = self.namespace_index(&packet.nsp) else {
            return;
        };
        if !self.namespaces.get(index).is_some_and(Namespace::is_active) {
            // Left (or refused) meanwhile: whatever the server still says is stale.
            return;
        }
        match packet.kind {
            PacketType::Connect => self.on_connect_reply(now, index, packet),
            PacketType::ConnectError => self.on_connect_error(index, packet),
            PacketType::Disconnect => {
                self.drop_namespace(index, Some(DisconnectReason::IoServerDisconnect));
            }
            PacketType::Event | PacketType::BinaryEvent => self.on_event(now, index, packet),
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(now, index, packet),
        }
    }

    fn on_connect_reply(&mut self, now: Instant, index: usize, packet: Packet) {
        let reply = packet.data.as_ref().and_then(connect_reply);
        let Some((sid, pid)) = reply else {
            // The reference client's words for a v2 server's answer.
            let message = String::from(
                "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)",
            );
            let nsp = packet.nsp;
            self.drop_namespace(index, None);
            self.event(ClientEvent::ConnectError {
                nsp,
                message,
                data: None,
            });
            return;
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if ns.is_connected() {
            return;
        }
        ns.state = NsState::Connected { sid: sid.clone() };
        // Recovered: the server knew the pid we sent (the reference's test).
        let recovered = pid.is_some() && pid == ns.pid;
        ns.pid = pid;
        let early = core::mem::take(&mut ns.early);
        let buffered: Vec<Packet> = ns.buffer.drain(..).collect();
        for id in buffered.iter().filter_map(|packet| packet.id) {
            if let Some(ack) = ns.acks.get_mut(&id) {
                ack.sent = true;
            }
        }
        let nsp = ns.name.clone();
        self.event(ClientEvent::Connected {
            nsp,
            sid,
            recovered,
        });
        for packet in early {
            self.on_event(now, index, packet);
        }
        for packet in &buffered {
            self.send_packet(packet);
        }
        self.drain_queue(now, index, true);
    }

    fn on_connect_error(&mut self, index: usize, packet: Packet) {
        let (message, data) = match &packet.data {
            Some(data) => connect_error_fields(data),
            None => (String::new(), None),
        };
        self.drop_namespace(index, None);
        self.event(ClientEvent::ConnectError {
            nsp: packet.nsp,
            message,
            data,
        });
    }

    fn on_event(&mut self, now: Instant, index: usize, packet: Packet) {
        let max_early = self.config.max_buffered_emits;
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if ns.state == NsState::Connecting {
            // A recovering server sends what was missed before its reply.
            if ns.early.len() >= max_early {
                self.send_close_frame(1000);
                self.lose_link(now, DisconnectReason::ParseError, true);
                return;
            }
            ns.early.push(packet);
            return;
        }
        let Some(mut data) = packet.data.filter(|_| ns.is_connected()) else {
            return;
        };
        // With recovery on, the server appends an offset to every event
        // that waits for no ack: kept for the next CONNECT, not shown.
        if ns.pid.is_some() && packet.id.is_none() {
            if let Some((args, offset)) = data.split_last_string() {
                data = args;
                ns.last_offset = Some(offset);
            }
        }
        self.event(ClientEvent::Event {
            nsp: packet.nsp,
            data,
            attachments: packet.attachments,
            ack: packet.id,
        });
    }

    fn on_ack(&mut self, now: Instant, index: usize, packet: Packet) {
        let Some(id) = packet.id else {
            return;
        };
        let Some(ns) = self.namespaces.get_mut(index) else {
            return;
        };
        if let Some(queued) = ns.retry.acked(id) {
            ns.acks.remove(&id);
            if queued.wants_ack {
                let data = packet
                    .data
                    .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
                self.event(ClientEvent::Ack {
                    nsp: packet.nsp,
                    id: queued.user_id(),
                    data,
                    attachments: packet.attachments,
                });
            }
            self.drain_queue(now, index, false);
            return;
        }
        if ns.acks.remove(&id).is_none() {
            return;
        }
        let data = packet
            .data
            .unwrap_or_else(|| RawJson::from_trusted(ByteString::from_static("[]")));
        self.event(ClientEvent::Ack {
            nsp: packet.nsp,
            id,
            data,
            attachments: packet.attachments,
        });
    }

    // ----- writing -----

    pub(super) fn event(&mut self, event: ClientEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    pub(super) fn send_packet(&mut self, packet: &Packet) {
        let mut messages = core::mem::take(&mut self.scratch);
        messages.clear();
        self.config.parser.encode(packet, &mut messages);
        self.send_engine(&messages);
        messages.clear();
        self.scratch = messages;
    }

    /// Engine.IO packets on the carrier: masked frames in one transmit, or
    /// the next POST; held while an upgrade completes.
    pub(super) fn send_engine(&mut self, packets: &[engine::Packet]) {
        let max_held = self.config.max_buffered_emits;
        let Client {
            link,
            outputs,
            next_conn,
            headers,
            ..
        } = self;
        let Some(link) = link.as_mut() else {
            return;
        };
        if link.upgrading {
            // With the probe gone (see `drop_probe`) nothing held is ever
            // sent: past the bound, later packets are dropped at once
            // rather than at the ping timeout.
            let frozen = link.probe.is_none();
            if !frozen || link.held.len() < max_held {
                link.held.extend_from_slice(packets);
            }
            return;
        }
        if let Some(polling) = link.polling() {
            polling.write(
                packets,
                &mut Io {
                    outputs,
                    next_conn,
                    headers,
                },
            );
            return;
        }
        let Some(conn) = self.upgraded_conn() else {
            return;
        };
        let mut out = BytesMut::new();
        for packet in packets {
            let mask = self.rng.next_u32().to_ne_bytes();
            let Some(ws) = self.upgraded_ws_mut() else {
                return;
            };
            match packet {
                engine::Packet::Binary(data) => {
                    ws.write_message(&mut out, OpCode::Binary, data, mask)
                }
                text => ws.write_message(&mut out, OpCode::Text, &text.to_text(), mask),
            }
        }
        self.outputs.push_back(Output::Transmit {
            conn,
            data: out.freeze(),
        });
    }

    pub(super) fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        if let Some(conn) = self.upgraded_conn() {
            self.send_frame_on(conn, opcode, payload);
        }
    }

    pub(super) fn send_frame_on(&mut self, conn: ConnId, opcode: OpCode, payload: &[u8]) {
        let mut out = BytesMut::new();
        write_frame(&mut out, opcode, payload, self.rng.next_u32().to_ne_bytes());
        self.outputs.push_back(Output::Transmit {
            conn,
            data: out.freeze(),
        });
    }

    pub(super) fn send_close_frame(&mut self, code: u16) {
        let payload = websocket::frame::close_payload(code, "");
        self.send_frame(OpCode::Close, &payload);
    }

    /// The WebSocket, once it is up.
    fn upgraded_ws_mut(&mut self) -> Option<&mut WsLink> {
        match &mut self.link.as_mut()?.carrier {
            Carrier::Ws { ws: Some(ws), .. } if ws.is_upgraded() => Some(ws),
            _ => None,
        }
    }

    /// The connection, once its WebSocket is up.
    pub(super) fn upgraded_conn(&self) -> Option<ConnId> {
        match &self.link.as_ref()?.carrier {
            Carrier::Ws { conn, ws: Some(ws) } if ws.is_upgraded() => Some(*conn),
            _ => None,
        }
    }
}

/// Cancels the acks of `ns`'s events that went out: no answer will come.
/// Under `retries`, the attempt out fails as on a lost connection.
pub(super) fn cancel_sent_acks(ns: &mut Namespace, retries: u32, events: &mut Vec<ClientEvent>) {
    for id in ns.take_sent_acks() {
        let cancelled = match ns.retry.failed(id, Failure::Disconnected, retries) {
            None => Some(id),
            Some(AfterFailure::Dropped { user_id }) => user_id,
            Some(_) => None,
        };
        if let Some(id) = cancelled {
            events.push(ClientEvent::AckCancelled {
                nsp: ns.name.clone(),
                id,
            });
        }
    }
}

/// The `sid` of a CONNECT reply `{"sid":"..."}`, and its `pid` when the
/// server has connection state recovery on.
fn connect_reply(data: &RawJson) -> Option<(ByteString, Option<ByteString>)> {
    #[derive(Deserialize)]
    struct Reply {
        sid: String,
        #[serde(default)]
        pid: Option<String>,
    }
    let reply: Reply = serde_json::from_str(data.as_str()).ok()?;
    Some((ByteString::from(reply.sid), reply.pid.map(ByteString::from)))
}

/// The CONNECT payload of a client with a pid: `{"pid":..,"offset":..}`
/// (no offset before the first event), merged with `auth` (an object).
fn recovery_auth(pid: &str, offset: Option<&str>, auth: Option<&RawJson>) -> RawJson {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""));
    let mut out = String::from("{\"pid\":");
    out.push_str(&quote(pid));
    if let Some(offset) = offset {
        out.push_str(",\"offset\":");
        out.push_str(&quote(offset));
    }
    let rest = auth
        .map(|auth| auth.as_str().trim())
        .and_then(|auth| auth.strip_prefix('{'))
        .map(str::trim_start)
        .unwrap_or("}");
    if !rest.starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    RawJson::from_trusted(ByteString::from(out))
}

/// A CONNECT_ERROR's message and data: `{"message":..., "data":...}`, or a
/// bare string (older servers).
fn connect_error_fields(data: &RawJson) -> (String, Option<RawJson>) {
    #[derive(Deserialize)]
    struct ErrorJson<'a> {
        #[serde(default)]
        message: Option<String>,
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
    }
    if let Ok(message) = serde_json::from_str::<String>(data.as_str()) {
        return (message, None);
    }
    let Ok(error) = serde_json::from_str::<ErrorJson<'_>>(data.as_str()) else {
        return (String::new(), None);
    };
    let text = data.clone().into_inner();
    let extra = error
        .data
        .map(|raw| RawJson::from_trusted(text.slice_ref(raw.get())));
    (error.message.unwrap_or_default(), extra)
}

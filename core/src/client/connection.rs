//! The Engine.IO connection of the client: its timers, the transports
//! (polling, WebSocket, the upgrade), the open packet, faults and
//! reconnection.

use super::sockets::cancel_sent_acks;
use super::*;

impl Client {
    // ----- timers -----

    /// Fires every timer due at `now`, once each: a timer set by what
    /// fires (a zero delay) waits for the next call, so this never loops.
    pub(super) fn advance(&mut self, now: Instant) {
        self.headers.set_now(now);
        self.fire_open_deadline(now);
        self.fire_ping_deadline(now);
        self.fire_reconnect(now);
        self.fire_ack_deadlines(now);
    }

    fn fire_open_deadline(&mut self, now: Instant) {
        let due = self
            .link
            .as_ref()
            .and_then(|link| link.open_deadline)
            .is_some_and(|at| at <= now);
        if due {
            self.fail_open(now, "timeout");
        }
    }

    fn fire_ping_deadline(&mut self, now: Instant) {
        let due = self
            .link
            .as_ref()
            .and_then(|link| link.session.as_ref())
            .is_some_and(|session| session.ping_deadline <= now);
        if due {
            self.lose_link(now, DisconnectReason::PingTimeout, true);
        }
    }

    fn fire_reconnect(&mut self, now: Instant) {
        if self.reconnect_at.is_none_or(|at| at > now) {
            return;
        }
        self.reconnect_at = None;
        if self.skip_reconnect {
            return;
        }
        let attempt = self.backoff.attempts();
        self.event(ClientEvent::Reconnecting { attempt });
        self.start_link(now);
    }

    fn fire_ack_deadlines(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        for (index, ns) in self.namespaces.iter_mut().enumerate() {
            for id in ns.take_due_acks(now) {
                timed_out.push((index, ns.name.clone(), id));
            }
        }
        for (index, nsp, id) in timed_out {
            if !self.retry_failed(now, index, id, Failure::TimedOut) {
                self.event(ClientEvent::AckTimeout { nsp, id });
            }
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let link = self.link.as_ref();
        let ping = link
            .and_then(|link| link.session.as_ref())
            .map(|session| session.ping_deadline);
        let open = link.and_then(|link| link.open_deadline);
        let acks = self.namespaces.iter().filter_map(Namespace::next_deadline);
        [ping, open, self.reconnect_at]
            .into_iter()
            .flatten()
            .chain(acks)
            .min()
    }

    // ----- the connection -----

    pub(super) fn is_open(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|link| link.session.is_some())
    }

    /// `/socket.io/?EIO=4&transport=<name>[&query][&sid=<sid>]` (polling
    /// adds its cache-buster to each request).
    pub(super) fn request_target(&self, transport: Transport, sid: Option<&str>) -> String {
        let mut target = format!(
            "{}?EIO=4&transport={}",
            self.config.path,
            transport.as_str()
        );
        if !self.config.query.is_empty() {
            target.push('&');
            target.push_str(&self.config.query);
        }
        if let Some(sid) = sid {
            target.push_str("&sid=");
            target.push_str(sid);
        }
        target
    }

    pub(super) fn start_link(&mut self, now: Instant) {
        let id = ConnId(self.next_conn);
        let remembered = self.config.remember_upgrade
            && self.prior_websocket_success
            && self.config.transports.contains(&Transport::WebSocket);
        let first = match remembered {
            true => Transport::WebSocket,
            false => self
                .config
                .transports
                .first()
                .copied()
                .unwrap_or(Transport::Polling),
        };
        let carrier = match first {
            Transport::WebSocket => {
                self.next_conn = self.next_conn.wrapping_add(1);
                self.outputs.push_back(Output::Connect { conn: id });
                Carrier::Ws { conn: id, ws: None }
            }
            Transport::Polling => {
                let target = self.request_target(Transport::Polling, None);
                let mut polling = PollingLink::new(
                    self.config.host.clone(),
                    target,
                    self.rng.next_u64(),
                    self.config.http_limits,
                    self.config.max_payload_packets,
                    self.config.accept_compressed_polling,
                );
                polling.poll(&mut Io {
                    outputs: &mut self.outputs,
                    next_conn: &mut self.next_conn,
                    headers: &mut self.headers,
                });
                Carrier::Polling(alloc::boxed::Box::new(polling))
            }
        };
        self.link = Some(Link {
            id,
            carrier,
            session: None,
            probe: None,
            upgrading: false,
            held: Vec::new(),
            open_deadline: now.checked_add(self.config.timeout),
            decoder: self.config.parser.decoder(self.config.packet_limits),
        });
    }

    /// Runs `f` on the link's polling transport with the outputs; gives
    /// the link's id with its result, or `None` without a polling link.
    pub(super) fn on_polling<R>(
        &mut self,
        f: impl FnOnce(&mut PollingLink, &mut Io<'_>) -> R,
    ) -> Option<(ConnId, R)> {
        let Client {
            link,
            outputs,
            next_conn,
            headers,
            ..
        } = self;
        let link = link.as_mut()?;
        let link_id = link.id;
        let polling = link.polling()?;
        Some((
            link_id,
            f(
                polling,
                &mut Io {
                    outputs,
                    next_conn,
                    headers,
                },
            ),
        ))
    }

    /// Handles what the polling transport of link `link_id` produced.
    pub(super) fn on_polled(&mut self, now: Instant, link_id: ConnId, results: Vec<Polled>) {
        for polled in results {
            let current = |client: &Self| client.link.as_ref().is_some_and(|l| l.id == link_id);
            if !current(self) {
                return;
            }
            match polled {
                Polled::Packets(packets) => {
                    for packet in packets {
                        if !current(self) {
                            return;
                        }
                        self.on_engine_packet(now, packet);
                    }
                    let Client {
                        link,
                        outputs,
                        next_conn,
                        headers,
                        ..
                    } = self;
                    let Some(link) = link.as_mut().filter(|link| link.id == link_id) else {
                        return;
                    };
                    if !link.upgrading && link.session.is_some() {
                        if let Some(polling) = link.polling() {
                            polling.poll(&mut Io {
                                outputs,
                                next_conn,
                                headers,
                            });
                        }
                    }
                    self.finish_upgrade();
                }
                Polled::Drained => self.finish_upgrade(),
                Polled::Fault(message) => {
                    if self.is_open() {
                        self.lose_link(now, DisconnectReason::TransportError, true);
                    } else {
                        self.fail_open(now, message);
                    }
                    return;
                }
            }
        }
    }

    // ----- the upgrade -----

    /// After the open packet on polling: probe a WebSocket when the server
    /// offers one and the options allow it.
    fn maybe_probe(&mut self, upgrades: &[String]) {
        let wanted = self.config.upgrade
            && self.config.transports.contains(&Transport::WebSocket)
            && upgrades.iter().any(|name| name == "websocket");
        let Some(link) = self.link.as_mut() else {
            return;
        };
        if !wanted || link.probe.is_some() || !matches!(link.carrier, Carrier::Polling(_)) {
            return;
        }
        let conn = ConnId(self.next_conn);
        self.next_conn = self.next_conn.wrapping_add(1);
        link.probe = Some(Probe { conn, ws: None });
        self.prior_websocket_success = false;
        self.outputs.push_back(Output::Connect { conn });
    }

    pub(super) fn probe_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        let Some(Some(ws)) = self
            .link
            .as_mut()
            .and_then(|link| link.probe.as_mut())
            .map(|probe| probe.ws.as_mut())
        else {
            return;
        };
        let mut cookies = Vec::new();
        let fed = ws.feed(data, &mut cookies);
        self.headers.on_cookies(&self.config.path, &cookies);
        match fed {
            Err(_) => {
                self.drop_probe();
                return;
            }
            Ok(true) => {
                let probe = engine::Packet::Ping(ByteString::from_static("probe"));
                self.send_frame_on(conn, OpCode::Text, &probe.to_text());
            }
            Ok(false) => {}
        }
        loop {
            let Some(Some(ws)) = self
                .link
                .as_mut()
                .and_then(|link| link.probe.as_mut())
                .map(|probe| probe.ws.as_mut())
            else {
                // Upgraded: the rest is the carrier's.
                if self.upgraded_conn() == Some(conn) {
                    self.read_messages(now, conn);
                }
                return;
            };
            match ws.poll() {
                Ok(None) => return,
                Ok(Some(Message::Text(text))) if &*text == "3probe" => {
                    if let Some(link) = self.link.as_mut() {
                        link.upgrading = true;
                    }
                    self.prior_websocket_success = true;
                    self.finish_upgrade();
                }
                Ok(Some(Message::Ping(payload))) => {
                    self.send_frame_on(conn, OpCode::Pong, &payload);
                }
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(_)) | Err(_) => {
                    self.drop_probe();
                    return;
                }
            }
        }
    }

    /// Once the probe is answered and polling is idle: `5` on the
    /// WebSocket, which carries everything from then on (the reference's
    /// `pause` callback).
    fn finish_upgrade(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let idle = link.polling().is_some_and(|polling| polling.is_idle());
        let probe_up = matches!(link.probe, Some(Probe { ws: Some(_), .. }));
        if !link.upgrading || !idle || !probe_up {
            return;
        }
        let Some(Probe { conn, ws: Some(ws) }) = link.probe.take() else {
            return;
        };
        let old = core::mem::replace(&mut link.carrier, Carrier::Ws { conn, ws: Some(ws) });
        if let Carrier::Polling(polling) = old {
            for conn in polling.conns() {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        link.upgrading = false;
        let held = core::mem::take(&mut link.held);
        self.send_engine(&[engine::Packet::Upgrade]);
        if !held.is_empty() {
            self.send_engine(&held);
        }
        self.event(ClientEvent::Upgraded);
    }

    /// The probe failed. Before `3probe` polling goes on. After it, as
    /// engine.io-client (whose `upgrading` stays set and whose polling stays
    /// paused): no new request, writes stay held, and the ping deadline
    /// ends the connection ("ping timeout"), then reconnection.
    pub(super) fn drop_probe(&mut self) {
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
        let Some(probe) = link.probe.take() else {
            return;
        };
        outputs.push_back(Output::Close { conn: probe.conn });
        if link.upgrading {
            return;
        }
        let held = core::mem::take(&mut link.held);
        if let Some(polling) = link.polling() {
            if !held.is_empty() {
                polling.write(
                    &held,
                    &mut Io {
                        outputs,
                        next_conn,
                        headers,
                    },
                );
            }
        }
    }

    /// Reads every whole message the link holds.
    pub(super) fn read_messages(&mut self, now: Instant, conn: ConnId) {
        loop {
            let Some(Link {
                carrier:
                    Carrier::Ws {
                        conn: carrier,
                        ws: Some(ws),
                    },
                ..
            }) = self.link.as_mut()
            else {
                return;
            };
            if *carrier != conn {
                return;
            }
            let polled = ws.poll();
            match polled {
                Ok(None) => return,
                Ok(Some(message)) => self.on_ws_message(now, message),
                Err(err) => {
                    self.send_close_frame(err.close_code());
                    self.on_transport_fault(now, DisconnectReason::TransportError);
                }
            }
        }
    }

    fn on_ws_message(&mut self, now: Instant, message: Message) {
        match message {
            Message::Text(text) => match engine::Packet::decode_text(text) {
                Ok(packet) => self.on_engine_packet(now, packet),
                Err(_) => self.on_transport_fault(now, DisconnectReason::TransportError),
            },
            Message::Binary(data) => self.on_engine_packet(now, engine::Packet::Binary(data)),
            Message::Ping(payload) => self.send_frame(OpCode::Pong, &payload),
            Message::Pong(_) => {}
            Message::Close(frame) => {
                let code = frame.map_or(1000, |frame| frame.code);
                self.send_close_frame(code);
                self.on_transport_fault(now, DisconnectReason::TransportClose);
            }
        }
    }

    fn on_engine_packet(&mut self, now: Instant, packet: engine::Packet) {
        if !self.is_open() {
            self.on_first_packet(now, packet);
            return;
        }
        match packet {
            engine::Packet::Ping(_) => {
                if let Some(session) = self.link.as_mut().and_then(|link| link.session.as_mut()) {
                    session.ping_deadline = now + session.ping_window;
                }
                // A bare `3`, as the reference client answers.
                self.send_engine(&[engine::Packet::Pong(ByteString::new())]);
            }
            engine::Packet::Message(text) if self.raw.is_some() => {
                self.event(ClientEvent::Message { text });
            }
            engine::Packet::Binary(data) if self.raw.is_some() => {
                self.event(ClientEvent::BinaryMessage { data });
            }
            engine::Packet::Message(text) => {
                let decoded = self.decoder().map(|d| d.decode_text(text));
                self.on_decoded(now, decoded);
            }
            engine::Packet::Binary(data) => {
                let decoded = self.decoder().map(|d| d.decode_binary(data));
                self.on_decoded(now, decoded);
            }
            engine::Packet::Close => {
                self.on_transport_fault(now, DisconnectReason::TransportClose);
            }
            engine::Packet::Open(_)
            | engine::Packet::Pong(_)
            | engine::Packet::Upgrade
            | engine::Packet::Noop => {}
        }
    }

    /// The first Engine.IO packet must be the open packet.
    fn on_first_packet(&mut self, now: Instant, packet: engine::Packet) {
        let engine::Packet::Open(json) = packet else {
            self.fail_open(now, "transport error");
            return;
        };
        let Ok(handshake) = OpenPacket::from_json(&json) else {
            self.fail_open(now, "parse error");
            return;
        };
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let ping_window = Duration::from_millis(handshake.ping_interval)
            .saturating_add(Duration::from_millis(handshake.ping_timeout));
        if let Some(polling) = link.polling() {
            polling.set_session(&handshake.sid, handshake.max_payload);
        }
        let sid = handshake.sid.clone();
        let upgrades = handshake.upgrades.clone();
        link.session = Some(Session {
            open: handshake,
            ping_deadline: now + ping_window,
            ping_window,
        });
        link.open_deadline = None;
        self.prior_websocket_success = matches!(link.carrier, Carrier::Ws { .. });
        self.on_open(sid);
        self.maybe_probe(&upgrades);
    }

    /// The manager's `onopen` then, for a reconnection, `onreconnect`.
    fn on_open(&mut self, sid: String) {
        self.event(ClientEvent::Open { sid });
        self.flush_raw();
        for index in 0..self.namespaces.len() {
            if self.namespaces.get(index).is_some_and(Namespace::is_active) {
                self.send_connect(index);
            }
        }
        if self.reconnecting {
            let attempt = self.backoff.attempts();
            self.reconnecting = false;
            self.backoff.reset();
            self.event(ClientEvent::Reconnected { attempt });
        }
    }

    /// An attempt failed before its open packet.
    pub(super) fn fail_open(&mut self, now: Instant, message: &'static str) {
        // As engine.io-client's `onError`: the next attempt starts on the
        // first transport again.
        self.prior_websocket_success = false;
        if let Some(link) = self.link.take() {
            for conn in link.conns() {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        self.event(ClientEvent::OpenError { message });
        if self.raw.is_some() {
            // engine.io-client's socket closes after its `error`.
            self.close_raw(DisconnectReason::TransportError);
            return;
        }
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect(now);
        } else if self.backoff.attempts() == 0 {
            self.reconnect(now);
        }
    }

    /// A fault on the link: before the open packet the attempt fails, after
    /// it the connection is lost.
    fn on_transport_fault(&mut self, now: Instant, reason: DisconnectReason) {
        if self.is_open() {
            self.lose_link(now, reason, true);
        } else {
            self.fail_open(now, reason.as_str());
        }
    }

    /// The open connection is gone (the manager's `onclose`). `close_conn`:
    /// the driver must still close the TCP connection.
    pub(super) fn lose_link(&mut self, now: Instant, reason: DisconnectReason, close_conn: bool) {
        let Some(link) = self.link.take() else {
            return;
        };
        let carrier_conn = match &link.carrier {
            Carrier::Ws { conn, .. } => Some(*conn),
            Carrier::Polling(_) => None,
        };
        for conn in link.conns() {
            if close_conn || Some(conn) != carrier_conn {
                self.outputs.push_back(Output::Close { conn });
            }
        }
        self.event(ClientEvent::Closed { reason });
        self.reset_namespaces(reason);
        self.backoff.reset();
        if reason.reconnects() {
            self.reconnect(now);
        }
    }

    /// Every namespace waits for the next connection; the connected ones
    /// hear why they are not any more.
    fn reset_namespaces(&mut self, reason: DisconnectReason) {
        let mut events = Vec::new();
        let retries = self.config.retries;
        for ns in self.namespaces.iter_mut().filter(|ns| ns.is_active()) {
            let was_connected = ns.is_connected();
            ns.state = NsState::Waiting;
            cancel_sent_acks(ns, retries, &mut events);
            if was_connected {
                events.push(ClientEvent::Disconnected {
                    nsp: ns.name.clone(),
                    reason,
                });
            }
        }
        for event in events {
            self.event(event);
        }
    }

    /// The manager's `reconnect`: schedules the next attempt, or gives up.
    fn reconnect(&mut self, now: Instant) {
        if self.reconnecting || self.skip_reconnect || !self.config.reconnection {
            return;
        }
        let exhausted = self
            .config
            .reconnection_attempts
            .is_some_and(|max| self.backoff.attempts() >= max);
        if exhausted {
            self.backoff.reset();
            self.event(ClientEvent::ReconnectFailed);
            return;
        }
        let delay = self.backoff.duration(&mut self.rng);
        self.reconnecting = true;
        self.reconnect_at = Some(now + delay);
    }

    /// The manager's `_close`: no more reconnection, the link closed.
    pub(super) fn close_manager(&mut self, reason: DisconnectReason) {
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.reconnect_at = None;
        self.backoff.reset();
        let was_open = self.is_open();
        self.send_close_frame(1000);
        let Client {
            link,
            outputs,
            next_conn,
            headers,
            ..
        } = self;
        let mut pending_get = None;
        if let Some(link) = link.as_mut() {
            // Closing abandons an upgrade: what waited for it goes on the
            // polling POST, ahead of the close.
            let held = core::mem::take(&mut link.held);
            if let Some(polling) = link.polling() {
                polling.write_close(
                    &held,
                    &mut Io {
                        outputs,
                        next_conn,
                        headers,
                    },
                );
                pending_get = polling.pending_get();
            }
        }
        let Some(link) = self.link.take() else {
            return;
        };
        for conn in link.conns() {
            self.outputs.push_back(if Some(conn) == pending_get {
                Output::Linger {
                    conn,
                    grace: CLOSE_LINGER,
                }
            } else {
                Output::Close { conn }
            });
        }
        if was_open || self.raw.is_some() {
            self.event(ClientEvent::Closed { reason });
            self.reset_namespaces(reason);
        }
        if let Some(buffer) = self.raw.as_mut() {
            buffer.clear();
        }
    }
}

//! The `client-eio-*` rows: the sio Engine.IO client (`engine_io::client`)
//! against the reference Engine.IO server (npm `engine.io` 6.6.x,
//! `node-server/engine-io-server.js`, an echo server started per row):
//! text and binary echo on each transport, and the close reasons.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use async_channel::Receiver;
use serde_json::{json, Value};
use sio_driver::engine_io::{ClientCloseReason, EngineClient, EngineClientEvent, Message};
use sio_driver::{ClientConfig, ClientTransport};

use super::{check, free_port, lock, recv, Ctx, Outcome};

/// The Node Engine.IO server of one row; killed when dropped.
struct EioNode {
    child: Child,
    port: u16,
    /// Its `CLOSE <reason>` lines, as they come.
    closes: Receiver<String>,
}

impl EioNode {
    fn start(dir: &Path) -> Result<EioNode, String> {
        let port = free_port()?;
        let mut child = Command::new("node")
            .arg("node-server/engine-io-server.js")
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .next()
            .and_then(Result::ok)
            .is_some_and(|l| l.starts_with("LISTENING"));
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the node engine.io server did not start".into());
        }
        let (tx, closes) = async_channel::unbounded();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(reason) = line.strip_prefix("CLOSE ") {
                    let _ = tx.send_blocking(reason.to_owned());
                }
            }
        });
        Ok(EioNode {
            child,
            port,
            closes,
        })
    }
}

impl Drop for EioNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of `node` on `transports`, its events on a channel.
fn client(
    ctx: &Ctx,
    node: &EioNode,
    transports: &[ClientTransport],
) -> Result<(EngineClient, Receiver<EngineClientEvent>), String> {
    let mut config = ClientConfig::default();
    config.engine.transports = transports.to_vec();
    let url = format!("http://127.0.0.1:{}/engine.io/", node.port);
    let client = (ctx.engine)(&url, config).map_err(|e| e.to_string())?;
    let (tx, rx) = async_channel::unbounded();
    client.on_event(move |_, event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event).await;
        }
    });
    Ok((client, rx))
}

/// The next event that is not an upgrade (`upgrades` counts those).
async fn next(
    rx: &Receiver<EngineClientEvent>,
    upgrades: &mut usize,
) -> Result<EngineClientEvent, String> {
    loop {
        match recv(rx, "engine.io client event").await? {
            EngineClientEvent::Upgrade => *upgrades += 1,
            event => return Ok(event),
        }
    }
}

async fn opened(rx: &Receiver<EngineClientEvent>, upgrades: &mut usize) -> Outcome {
    match next(rx, upgrades).await? {
        EngineClientEvent::Open(open) if !open.sid.is_empty() => Ok(()),
        other => Err(format!("first event: got {other:?}, want open")),
    }
}

/// Echo of text and binary, what the server says carried the session,
/// then a forced close the server sees as "transport close".
pub(super) async fn echo(ctx: &Ctx, transports: &[ClientTransport]) -> Outcome {
    let node = EioNode::start(&lock(&ctx.server).dir)?;
    let (client, events) = client(ctx, &node, transports)?;
    // Sent before the open packet: it waits for it.
    client.send_text("hello é").map_err(|e| e.to_string())?;
    client.connect();
    let mut upgrades = 0;
    opened(&events, &mut upgrades).await?;
    let blob: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
    client.send_binary(&blob).map_err(|e| e.to_string())?;
    check(
        "text echo",
        next(&events, &mut upgrades).await?,
        EngineClientEvent::Message(Message::Text("hello é".into())),
    )?;
    // Compared, not printed: a 60 kB blob would drown the report.
    match next(&events, &mut upgrades).await? {
        EngineClientEvent::Message(Message::Binary(data)) if data[..] == blob[..] => {}
        EngineClientEvent::Message(Message::Binary(data)) => {
            return Err(format!(
                "binary echo: {} bytes, not the 60000 sent",
                data.len()
            ))
        }
        other => return Err(format!("binary echo: got {:.200}", format!("{other:?}"))),
    }
    let upgrade = transports.len() > 1;
    if upgrade && upgrades == 0 {
        // The upgrade may finish after the echoes: wait for it.
        match recv(&events, "upgrade").await? {
            EngineClientEvent::Upgrade => upgrades += 1,
            other => return Err(format!("got {other:?}, want upgrade")),
        }
    }
    check("upgrades", upgrades, usize::from(upgrade))?;
    client.send_text("transport").map_err(|e| e.to_string())?;
    let info = match next(&events, &mut upgrades).await? {
        EngineClientEvent::Message(Message::Text(text)) => {
            serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())?
        }
        other => return Err(format!("transport info: got {other:?}")),
    };
    let name = |t: ClientTransport| t.as_str();
    let first = name(transports[0]);
    let last = name(transports[transports.len() - 1]);
    let upgraded = if upgrade { json!(last) } else { Value::Null };
    check(
        "server transports",
        info,
        json!({"initial": first, "current": last, "upgraded": upgraded}),
    )?;
    check("client transport", client.transport().map(name), Some(last))?;
    client.close();
    check(
        "client close",
        next(&events, &mut upgrades).await?,
        EngineClientEvent::Close(ClientCloseReason::ForcedClose),
    )?;
    check(
        "server's close reason",
        recv(&node.closes, "server close").await?,
        "transport close".to_owned(),
    )
}

/// The server closing the session ("transport close" on each transport)
/// and a server that stops its heartbeat ("ping timeout").
pub(super) async fn close_reasons(ctx: &Ctx) -> Outcome {
    let node = EioNode::start(&lock(&ctx.server).dir)?;
    for transport in [ClientTransport::WebSocket, ClientTransport::Polling] {
        let (client, events) = client(ctx, &node, &[transport])?;
        client.connect();
        let mut upgrades = 0;
        opened(&events, &mut upgrades).await?;
        client.send_text("close-me").map_err(|e| e.to_string())?;
        check(
            &format!("server close over {}", transport.as_str()),
            next(&events, &mut upgrades).await?,
            EngineClientEvent::Close(ClientCloseReason::TransportClose),
        )?;
        check(
            "server's reason",
            recv(&node.closes, "server close").await?,
            "forced close".to_owned(),
        )?;
    }
    let (client, events) = client(ctx, &node, &[ClientTransport::WebSocket])?;
    client.connect();
    let mut upgrades = 0;
    opened(&events, &mut upgrades).await?;
    client.send_text("stall").map_err(|e| e.to_string())?;
    // pingInterval 300 + pingTimeout 400 after the last ping.
    check(
        "stalled server",
        next(&events, &mut upgrades).await?,
        EngineClientEvent::Close(ClientCloseReason::PingTimeout),
    )?;
    check("closed", client.is_closed(), true)
}

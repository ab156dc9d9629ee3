//! A `rust_socketio` async client whose every event is recorded, and the
//! helpers the scenarios share (steps, checks, waits, acks).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use tokio::sync::Notify;

/// How long a wait for an event or an ack may take.
pub const WAIT: Duration = Duration::from_secs(5);

pub type Outcome = Result<(), String>;

/// The scenario's URL and its current step (for failure reports).
pub struct Run {
    pub url: String,
    step: Mutex<String>,
}

impl Run {
    pub fn new(url: String) -> Self {
        Run {
            url,
            step: Mutex::new("start".into()),
        }
    }

    pub fn step(&self, name: &str) {
        *self.step.lock().unwrap_or_else(|p| p.into_inner()) = name.to_owned();
    }

    pub fn current_step(&self) -> String {
        self.step.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub fn note(text: &str) {
    println!("NOTE {text}");
}

pub fn known(text: &str) {
    println!("KNOWN {text}");
}

pub fn check(condition: bool, what: impl FnOnce() -> String) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(what())
    }
}

pub fn same<T: PartialEq + std::fmt::Debug>(actual: T, expected: T, what: &str) -> Outcome {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// What a client received: event name and payload, in order of arrival.
#[derive(Default)]
pub struct Inbox {
    events: Mutex<Vec<(String, Payload)>>,
    arrived: Notify,
}

impl Inbox {
    fn push(&self, event: String, payload: Payload) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((event, payload));
        self.arrived.notify_waiters();
    }

    /// Every payload of `event` received so far.
    pub fn received(&self, event: &str) -> Vec<Payload> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events
            .iter()
            .filter(|(e, _)| e == event)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Every event name received so far.
    pub fn names(&self) -> Vec<String> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.iter().map(|(e, _)| e.clone()).collect()
    }

    /// Takes the first payload of `event` (waits for it).
    pub async fn next(&self, event: &str) -> Result<Payload, String> {
        let what = format!("\"{event}\"");
        let index = self
            .until(&what, |events| events.iter().position(|(e, _)| e == event))
            .await?;
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        Ok(events.remove(index).1)
    }

    /// Waits until `find` finds something in the events (`what` names
    /// the wait in the error).
    pub async fn until<T>(
        &self,
        what: &str,
        find: impl Fn(&[(String, Payload)]) -> Option<T>,
    ) -> Result<T, String> {
        let found = self.find(find);
        tokio::time::timeout(WAIT, found).await.map_err(|_| {
            format!(
                "{what}: not within {} s (received: {:?}; errors: {:?})",
                WAIT.as_secs(),
                self.names(),
                self.received("error")
            )
        })
    }

    async fn find<T>(&self, find: impl Fn(&[(String, Payload)]) -> Option<T>) -> T {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(found) = find(&events) {
                    return found;
                }
            }
            arrived.await;
        }
    }
}

/// A connected client and what it received.
pub struct Conn {
    pub client: Client,
    pub inbox: Arc<Inbox>,
}

/// Options of a connection.
pub struct Options<'a> {
    pub namespace: &'a str,
    pub auth: Option<Value>,
    pub transport: TransportType,
    pub query: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            namespace: "/",
            auth: None,
            transport: TransportType::Any,
            query: "",
        }
    }
}

/// Connects with every event recorded: custom events under their name,
/// `message`, and the client's own `error`, `close` and `open`.
pub async fn connect(run: &Run, options: Options<'_>) -> Result<Conn, String> {
    let inbox = Arc::new(Inbox::default());
    let mut builder = ClientBuilder::new(format!("{}/{}", run.url, options.query))
        .namespace(options.namespace)
        .transport_type(options.transport)
        .reconnect(false);
    if let Some(auth) = options.auth {
        builder = builder.auth(auth);
    }
    let any = inbox.clone();
    builder = builder.on_any(move |event, payload, _| {
        let inbox = any.clone();
        async move { inbox.push(String::from(event), payload) }.boxed()
    });
    for event in [Event::Error, Event::Close, Event::Connect] {
        let own = inbox.clone();
        builder = builder.on(event.clone(), move |payload, _| {
            let inbox = own.clone();
            let name = String::from(event.clone());
            async move { inbox.push(name, payload) }.boxed()
        });
    }
    let client = builder
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    Ok(Conn { client, inbox })
}

impl Conn {
    /// Connects and waits for the namespace's CONNECT (`open`).
    pub async fn open(run: &Run, options: Options<'_>) -> Result<Conn, String> {
        let conn = connect(run, options).await?;
        conn.inbox.next("open").await?;
        Ok(conn)
    }

    pub async fn emit(&self, event: &str, payload: impl Into<Payload>) -> Outcome {
        self.client
            .emit(event, payload.into())
            .await
            .map_err(|e| format!("emit {event}: {e}"))
    }

    /// Emits with an ack; the first payload the ack callback gets.
    pub async fn call(&self, event: &str, payload: impl Into<Payload>) -> Result<Payload, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        self.client
            .emit_with_ack(event, payload.into(), WAIT, move |payload, _| {
                let _ = tx.send(payload);
                async {}.boxed()
            })
            .await
            .map_err(|e| format!("emit {event}: {e}"))?;
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(payload)) => Ok(payload),
            _ => Err(format!(
                "no ack for \"{event}\" within {} s",
                WAIT.as_secs()
            )),
        }
    }

    /// The arguments of an ack: rust_socketio hands the ack's JSON array
    /// as one value.
    pub async fn call_args(&self, event: &str, args: Vec<Value>) -> Result<Vec<Value>, String> {
        match self.call(event, args).await? {
            Payload::Text(values) => match values.as_slice() {
                [Value::Array(args)] => Ok(args.clone()),
                _ => Err(format!(
                    "ack of \"{event}\": {values:?}, expected one JSON array"
                )),
            },
            other => Err(format!("ack of \"{event}\": {other:?}, expected JSON")),
        }
    }

    /// The JSON arguments of the next `event`.
    pub async fn next_text(&self, event: &str) -> Result<Vec<Value>, String> {
        match self.inbox.next(event).await? {
            Payload::Text(values) => Ok(values),
            other => Err(format!("\"{event}\" came as {other:?}, expected JSON")),
        }
    }
}

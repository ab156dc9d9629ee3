//! What the load generators (`loadgen`, `loadgen_redis`) share: their
//! `key=value` arguments, the payload they send, connecting many clients
//! at once, and the sender's side of a `fanout` round.

use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use serde_json::Value;
use sio_core::packet::PacketType;
use tokio::sync::Semaphore;

use crate::client::Client;
use crate::runner::Error;

/// The payload of every echo and fanout: one object, keys in sorted order
/// (socketioxide's `serde_json::Value` re-sorts them).
pub fn payload(seq: u64) -> String {
    format!(r#"[{{"data":"{}","seq":{seq}}}]"#, "x".repeat(64))
}

/// A load generator's `key=value` arguments.
pub struct Args(HashMap<String, String>);

impl Args {
    /// Reads `args`, each of them `key=value`.
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Args, Error> {
        let opts = args
            .map(|a| {
                a.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| format!("not key=value: {a}").into())
            })
            .collect::<Result<_, Error>>()?;
        Ok(Args(opts))
    }

    /// The value of `key`, or `default` when it is not given.
    pub fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, Error> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("bad {key}={v}").into()),
        }
    }

    /// The value of `key`, which must be given.
    pub fn required<T: std::str::FromStr>(&self, key: &str) -> Result<T, Error> {
        let v = self.0.get(key).ok_or_else(|| format!("missing {key}="))?;
        v.parse().map_err(|_| format!("bad {key}={v}").into())
    }
}

/// Makes `count` connections with `dial` (given each one's index and a
/// seed for its WebSocket key), at most `parallel` at a time, on the
/// current `LocalSet`.
pub async fn dial_many<T, F, Fut>(count: usize, parallel: usize, dial: F) -> Result<Vec<T>, Error>
where
    T: 'static,
    F: Fn(usize, u32) -> Fut,
    Fut: Future<Output = Result<T, Error>> + 'static,
{
    let gate = Rc::new(Semaphore::new(parallel));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let gate = gate.clone();
        let seed = (i as u32).wrapping_mul(2_654_435_761) ^ 0x9e37_79b9;
        let dialing = dial(i, seed);
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire().await;
            dialing.await
        }));
    }
    let mut connected = Vec::with_capacity(count);
    for task in tasks {
        connected.push(task.await??);
    }
    Ok(connected)
}

/// Emits `fanout` with `body` from `sender`, which is in the room too,
/// and waits for its own `tick`, checked against `body`.
pub async fn send_fanout(sender: &mut Client, body: &str) -> Result<(), Error> {
    sender.emit("fanout", body, None).await?;
    loop {
        let p = sender.next_packet().await?;
        if p.kind == PacketType::Event {
            let got: Value =
                serde_json::from_str(p.data.as_ref().map(|d| d.as_str()).unwrap_or(""))?;
            let want: Value = serde_json::from_str(&format!(r#"["tick",{}"#, &body[1..]))?;
            if got != want {
                return Err(format!("tick {got} != {want}").into());
            }
            return Ok(());
        }
    }
}

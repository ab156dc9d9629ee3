//! The observability rows of the conformance runner (issue 20): the
//! official Admin UI's page in Chromium against a scenario server
//! (`admin-ui`, every runtime), and the chat example's /metrics
//! (`chat-metrics`, tokio).

use std::path::Path;
use std::time::Instant;

use super::process::{Client, Server};
use super::{
    chat_binary, chat_example, chromium_path, new_outcome, start_chat, start_scenario_server,
    Outcome, BROWSER_RUNTIME, BROWSER_TIMEOUT, CLIENT_TIMEOUT,
};

/// The Admin UI row (every runtime): the UI's static build in Chromium,
/// logged in to `scenario-server <runtime> admin-protocol`.
pub(crate) const ADMIN_UI: &str = "admin-ui";
/// The chat example's /metrics and Admin UI namespace (tokio).
pub(crate) const CHAT_METRICS: &str = "chat-metrics";
/// The Admin UI password the chat example gets in that row.
const CHAT_ADMIN_PASSWORD: &str = "sio-chat-admin";

/// The Admin UI row: `scenario-server <runtime> admin-protocol` and
/// `clients/admin-ui-browser.js`, which drives the UI's page in Chromium.
pub(crate) fn run_admin_ui(dir: &Path, binary: &Path, runtime: &str) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(ADMIN_UI, runtime);
    let chromium = chromium_path();
    let prepared = if chromium.is_file() {
        start_scenario_server(binary, runtime, "admin-protocol", None, None, &[])
    } else {
        Err(format!(
            "Chromium is missing: {} not found",
            chromium.display()
        ))
    };
    match prepared {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, "admin-ui-browser", port, BROWSER_TIMEOUT);
            let artifacts = dir.join("artifacts");
            client.args = vec![artifacts.display().to_string(), runtime.to_owned()];
            client.env = vec![
                (
                    "CLIENT_TIMEOUT_MS",
                    (BROWSER_TIMEOUT.as_millis() - 5000).to_string(),
                ),
                ("SIO_CHROMIUM", chromium.display().to_string()),
            ];
            let mut no_restart =
                |_: &mut Server| Err("the browser runs cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// The chat example (tokio) with its Admin UI on, and
/// `clients/chat-metrics.js`, which checks its /metrics against what it did.
pub(crate) fn run_chat_metrics(dir: &Path, sibling: &Path) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(CHAT_METRICS, BROWSER_RUNTIME);
    let password = ("ADMIN_PASSWORD", CHAT_ADMIN_PASSWORD.to_owned());
    let prepared = chat_binary(sibling, chat_example(BROWSER_RUNTIME))
        .and_then(|chat| start_chat(&chat, std::slice::from_ref(&password)));
    match prepared {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, CHAT_METRICS, port, CLIENT_TIMEOUT);
            client.env = vec![password];
            client.label = "chat";
            let mut no_restart =
                |_: &mut Server| Err("the chat runs cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

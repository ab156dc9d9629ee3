//! The live firmware (`firmware/board/src/bin/live.rs`) in QEMU with user
//! networking, a loopback port forwarded to the board's port 80, and the
//! npm socket.io-client (conformance/package.json's) running
//! `firmware/record/session.js` against it: long-polling with the upgrade,
//! then WebSocket only. The script checks every answer.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::{build_firmware, firmware_dir, flash_total, qemu};

/// How long the firmware may take to print `listening`.
const BOOT_LIMIT: Duration = Duration::from_secs(30);

/// Ends QEMU however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// conformance/node_modules, installed from its lockfile when missing.
fn node_modules() -> PathBuf {
    let conformance = firmware_dir()
        .parent()
        .expect("firmware/ has a parent")
        .join("conformance");
    let modules = conformance.join("node_modules");
    if !modules.join("socket.io-client").is_dir() {
        let status = Command::new("npm")
            .arg("ci")
            .current_dir(&conformance)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci in conformance/ failed");
    }
    modules
}

/// A loopback port nothing listens on now (QEMU binds it next).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

#[test]
fn the_npm_client_talks_to_the_firmware_over_qemus_network() {
    let elf = build_firmware("live");
    println!(
        "figure flash-total-live {} bytes (arm-none-eabi-size: .vector_table+.text+.rodata+.data)",
        flash_total(&elf)
    );
    let modules = node_modules();
    let port = free_port();
    // restrict=on: the guest reaches nothing; only the forwarded port reaches it.
    let nic = format!("user,model=lan9118,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:80");
    let mut child = qemu(&elf)
        .args(["-nic", &nic])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("qemu-system-arm is installed (scripts/install-qemu)");
    let stdout = child.stdout.take().expect("piped");
    let _qemu = Running(child);
    let (lines, console) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let first = console
        .recv_timeout(BOOT_LIMIT)
        .expect("the firmware printed nothing (or QEMU ended)");
    assert_eq!(first, "listening 10.0.2.15:80");
    let session = firmware_dir().join("record").join("session.js");
    for mode in ["polling-upgrade", "websocket"] {
        let status = Command::new("node")
            .env("NODE_PATH", &modules)
            .arg(&session)
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(mode)
            .status()
            .expect("node runs");
        assert!(
            status.success(),
            "the {mode} session against the firmware failed"
        );
    }
    let printed: Vec<String> = console.try_iter().collect();
    assert!(
        !printed.iter().any(|l| l.starts_with("FAIL")),
        "the firmware reported: {printed:?}"
    );
}

//! The live firmware (`firmware/board/src/bin/live.rs`) in QEMU with user
//! networking, a loopback port forwarded to the board's port 80, and the
//! npm socket.io-client (conformance/package.json's) running
//! `firmware/record/session.js` against it: long-polling with the upgrade,
//! then WebSocket only. The script checks every answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
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

/// Sends `request` on a new connection; the status line of the answer.
fn status_line(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the forwarded port accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout can be set");
    stream.write_all(request).expect("the request goes out");
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
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
    // Hostile input is answered, and the board keeps serving.
    let garbage = status_line(port, b"NOT HTTP AT ALL\r\n\r\n");
    let refused = |line: &str| line.starts_with("HTTP/1.1 4") || line.starts_with("HTTP/1.1 5");
    assert!(refused(&garbage), "garbage got {garbage:?}");
    let oversize = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024
    );
    let oversize = status_line(port, oversize.as_bytes());
    assert!(
        oversize.starts_with("HTTP/1.1 413"),
        "a 1 MB body got {oversize:?}"
    );
    let again = Command::new("node")
        .env("NODE_PATH", &modules)
        .arg(&session)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("websocket")
        .status()
        .expect("node runs");
    assert!(
        again.success(),
        "the board stopped serving after hostile input"
    );
    let printed: Vec<String> = console.try_iter().collect();
    assert!(
        !printed.iter().any(|l| l.starts_with("FAIL")),
        "the firmware reported: {printed:?}"
    );
}

//! The firmware in QEMU: builds `firmware/board` for thumbv7em-none-eabihf,
//! runs it on QEMU's mps2-an386 (Debian's qemu-system-arm; `.ci/run`
//! installs it with scripts/install-qemu), and compares the log of every
//! replay, each input and every byte the core produced, line for line with
//! the host's run of the same code at the recorded times. Prints the
//! figures: the firmware's (heap, stack, instructions) and the flash sizes
//! (arm-none-eabi-size and -nm from Debian's binutils-arm-none-eabi).

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sio_replay::replay::replay_at_recorded_times;
use sio_replay::TRANSCRIPTS;

mod common;

use common::{build_firmware, flash_total, qemu, tool};

/// QEMU's own limit: the firmware takes well under a second.
const QEMU_LIMIT: Duration = Duration::from_secs(120);

/// Runs the ELF in QEMU; returns its exit status and stdout.
fn run_qemu(elf: &Path) -> (i32, String) {
    let mut child = qemu(elf)
        // One instruction per virtual nanosecond, and no real-time sleeps:
        // deterministic, and SysTick counts instructions.
        .args(["-icount", "shift=0,sleep=off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("qemu-system-arm is installed (scripts/install-qemu)");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("qemu can be waited for") {
            break status;
        }
        if started.elapsed() > QEMU_LIMIT {
            let _ = child.kill();
            panic!("QEMU ran past {QEMU_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().expect("reader").expect("utf-8 output");
    (status.code().unwrap_or(-1), text)
}

/// The lines between `== replay NAME` and `== end NAME`.
fn section<'a>(output: &'a str, name: &str) -> Option<&'a str> {
    let start = output.find(&format!("== replay {name}\n"))? + name.len() + 11;
    let end = output[start..].find(&format!("== end {name}\n"))?;
    Some(&output[start..start + end])
}

/// Flash: the loadable sections; the core's share: sio-core's code and
/// constants by symbol (what LTO inlined elsewhere counts there).
fn flash_figures(elf: &Path) {
    let flash = flash_total(elf);
    let symbols = tool("arm-none-eabi-nm", &["--print-size", "-C"], elf);
    let mut by_crate = std::collections::BTreeMap::<&str, u64>::new();
    for line in symbols.lines() {
        let mut words = line.splitn(4, ' ');
        let (_, size, kind, name) = match (words.next(), words.next(), words.next(), words.next()) {
            (Some(a), Some(s), Some(k), Some(n)) => (a, s, k, n),
            _ => continue,
        };
        if !matches!(kind, "t" | "T" | "r" | "R") {
            continue;
        }
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        let owner = [
            "sio_core",
            "sio_replay",
            "serde_json",
            "embassy",
            "cortex_m",
            "embedded_alloc",
            "hashbrown",
            "httparse",
            "sha1",
            "base64",
            "bytes",
            "alloc",
            "core",
            "compiler_builtins",
        ]
        .into_iter()
        .find(|c| name.contains(&format!("{c}::")) || name.contains(&format!("{c}_")))
        .unwrap_or("other");
        *by_crate.entry(owner).or_default() += size;
    }
    let transcripts: usize = TRANSCRIPTS.iter().map(|(_, t)| t.len()).sum();
    println!(
        "figure flash-total {flash} bytes (arm-none-eabi-size: .vector_table+.text+.rodata+.data)"
    );
    println!("figure flash-transcripts {transcripts} bytes (the recorded sessions, in .rodata)");
    for (owner, size) in &by_crate {
        println!("figure flash-symbols-{owner} {size} bytes (arm-none-eabi-nm, by symbol name)");
    }
    assert!(
        by_crate.get("sio_core").copied().unwrap_or(0) > 10_000,
        "no sio-core code found"
    );
}

#[test]
fn the_firmware_replays_every_session_as_the_host_does() {
    let elf = build_firmware("sio-firmware");
    let started = Instant::now();
    let (status, output) = run_qemu(&elf);
    let took = started.elapsed();
    for (name, text) in TRANSCRIPTS {
        let mut host = String::new();
        replay_at_recorded_times(text, &mut host).unwrap_or_else(|e| panic!("host, {name}: {e}"));
        let target = section(&output, name)
            .unwrap_or_else(|| panic!("no replay of {name} in the firmware's output:\n{output}"));
        for (i, (h, t)) in host.lines().zip(target.lines()).enumerate() {
            assert_eq!(
                t,
                h,
                "{name}: line {} of the replay differs (firmware, host)",
                i + 1
            );
        }
        assert_eq!(
            target.lines().count(),
            host.lines().count(),
            "{name}: the firmware's replay has another number of lines"
        );
        println!(
            "replay {name}: {} lines, the same on the firmware and the host",
            host.lines().count()
        );
    }
    for line in output
        .lines()
        .filter(|l| l.starts_with("figure ") || l.starts_with("FAIL"))
    {
        println!("{line}");
    }
    println!("qemu ran {:.2} s", took.as_secs_f64());
    flash_figures(&elf);
    assert!(
        output.contains("== done ok"),
        "the firmware reported a failure:\n{output}"
    );
    assert_eq!(status, 0, "the firmware's exit status");
}

//! Building the firmware and starting QEMU, for the QEMU tests.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "thumbv7em-none-eabihf";

/// The firmware workspace.
pub fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("replay/ is inside firmware/")
        .to_path_buf()
}

/// Builds the firmware's program `bin` in a target directory of its own
/// (the test's cargo holds the lock of its own), returns the ELF's path.
pub fn build_firmware(bin: &str) -> PathBuf {
    let outer = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| firmware_dir().join("target"));
    let target_dir = outer.join("qemu-firmware");
    let status = Command::new(env!("CARGO"))
        .current_dir(firmware_dir())
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "sio-firmware",
            "--bin",
            bin,
            "--target",
            TARGET,
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the firmware build failed");
    target_dir.join(TARGET).join("release").join(bin)
}

/// QEMU's mps2-an386 with semihosting (stdout, exit status) running `elf`.
pub fn qemu(elf: &Path) -> Command {
    let mut command = Command::new("qemu-system-arm");
    command
        .args([
            "-M",
            "mps2-an386",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
        ])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(elf);
    command
}

/// Runs a binutils tool on `elf`; its stdout.
pub fn tool(name: &str, args: &[&str], elf: &Path) -> String {
    let out = Command::new(name)
        .args(args)
        .arg(elf)
        .output()
        .unwrap_or_else(|e| panic!("{name} (binutils-arm-none-eabi, scripts/install-qemu): {e}"));
    assert!(out.status.success(), "{name} failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Flash the firmware takes: its loadable sections (arm-none-eabi-size).
pub fn flash_total(elf: &Path) -> u64 {
    let sizes = tool("arm-none-eabi-size", &["-A"], elf);
    let section = |name: &str| -> u64 {
        sizes
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    section(".vector_table") + section(".text") + section(".rodata") + section(".data")
}

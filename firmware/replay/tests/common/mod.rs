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

//! The client direction of the conformance suite alone: the sio client, on
//! every runtime, against the reference Node server (see
//! `sio_conformance::client_scenarios`; the `conformance` runner runs the
//! same scenarios as its `client-*` rows).
//!
//! ```text
//! client-scenarios [--runtime <name>]... [client-scenario]...
//! ```
//!
//! It runs `npm ci` in `conformance/` when `node_modules/socket.io` is
//! missing, and ends with a table and `N passed, N failed`; the exit status
//! is non-zero when anything failed.
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use sio_conformance::client_scenarios::{self, ClientOutcome};
use sio_conformance::RUNTIMES;

fn main() -> ExitCode {
    let mut runtimes = Vec::new();
    let mut wanted = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runtime" {
            runtimes.extend(args.next());
        } else if arg == "--list" {
            client_scenarios::names().for_each(|name| println!("{name}"));
            return ExitCode::SUCCESS;
        } else {
            wanted.push(arg);
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !dir.join("node_modules/socket.io").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            eprintln!("client-scenarios: `npm ci` failed in {}", dir.display());
            return ExitCode::from(2);
        }
    }
    let mut rows = Vec::new();
    for runtime in RUNTIMES {
        if !runtimes.is_empty() && !runtimes.iter().any(|r| r == runtime) {
            continue;
        }
        let ran = client_scenarios::run(&dir, runtime, &wanted, |row| {
            let mark = if row.outcome.is_ok() { "ok  " } else { "FAIL" };
            eprintln!(
                "{mark} {:<26} {:<10} {:.2}s",
                row.scenario, row.runtime, row.secs
            );
        });
        match ran {
            Ok(ran) => rows.extend(ran),
            Err(e) => {
                eprintln!("client-scenarios: {e}");
                return ExitCode::from(2);
            }
        }
    }
    print_table(&rows)
}

fn print_table(rows: &[ClientOutcome]) -> ExitCode {
    println!();
    println!(
        "{:<26} {:<10} {:<6} {:>6}  why",
        "scenario", "runtime", "result", "secs"
    );
    for row in rows {
        let (result, why) = match &row.outcome {
            Ok(()) => ("pass", String::new()),
            Err(e) => ("FAIL", e.clone()),
        };
        println!(
            "{:<26} {:<10} {:<6} {:>6.2}  {why}",
            row.scenario, row.runtime, result, row.secs
        );
    }
    let passed = rows.iter().filter(|r| r.outcome.is_ok()).count();
    let failed = rows.len() - passed;
    println!("{passed} passed, {failed} failed");
    if failed == 0 && !rows.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

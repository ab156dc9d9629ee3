//! One runtime's rows, in the suite's order: the runtimes run side by
//! side (one thread each), and a row that must run alone takes its turn.

use std::path::Path;
use std::sync::RwLock;

use super::*;

/// Taken shared by a row that may run beside others, exclusively by one
/// that must run alone (see `run_runtime`).
static EXCLUSIVE: RwLock<()> = RwLock::new(());

/// Every row of one runtime, in the suite's order (`record` reports and
/// keeps each outcome).
pub(crate) fn run_runtime(
    dir: &Path,
    server: &Path,
    clients: &other_clients::Clients,
    runtime: &str,
    options: &Options,
    record: &(dyn Fn(&mut Vec<Outcome>, Outcome) + Sync),
) -> Result<Vec<Outcome>, String> {
    let mut outcomes = Vec::new();
    // Rows that load the machine (attack bursts, Chromium) or hold a
    // latency bound run alone; the others share the machine.
    let shared = || EXCLUSIVE.read().unwrap_or_else(|e| e.into_inner());
    let alone = || EXCLUSIVE.write().unwrap_or_else(|e| e.into_inner());
    let wanted =
        |name: &str| options.scenarios.is_empty() || options.scenarios.iter().any(|s| s == name);
    for scenario in scenarios::ALL.iter().filter(|s| wanted(s.name)) {
        let outcome = {
            let _turn = shared();
            run_one(dir, server, runtime, scenario.name)
        };
        record(&mut outcomes, outcome);
    }
    for case in hostile::CASES.iter().filter(|c| wanted(c.name)) {
        let outcome = {
            let _turn = alone();
            run_hostile(dir, server, runtime, case)
        };
        record(&mut outcomes, outcome);
    }
    let turn = shared();
    run_client_direction(dir, runtime, options, |outcome| {
        record(&mut outcomes, outcome)
    })?;
    for (name, mode) in CHAT_CONTRACT_RUNS.iter().filter(|(n, _)| wanted(n)) {
        let outcome = run_chat_contract(dir, server, runtime, name, mode);
        record(&mut outcomes, outcome);
    }
    for (name, mode) in ENGINE_IO_RUNS.iter().filter(|(n, _)| wanted(n)) {
        let outcome = run_engine_io(dir, server, runtime, name, mode);
        record(&mut outcomes, outcome);
    }
    let selected = &options.scenarios;
    other_clients::run(dir, server, clients, runtime, selected, |outcome| {
        record(&mut outcomes, outcome)
    });
    drop(turn);
    if wanted(ADMIN_UI) {
        let outcome = {
            let _turn = alone();
            run_admin_ui(dir, server, runtime)
        };
        record(&mut outcomes, outcome);
    }
    Ok(outcomes)
}

//! CPU time and resident memory of another process, from `/proc`.
use std::fs;

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`,
/// 100 on every mainstream Linux build).
const CLOCK_TICKS_PER_SEC: u64 = 100;

/// CPU time a process has used so far, two ways.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    /// utime + stime of `/proc/PID/stat`, in ns (10 ms resolution).
    pub stat_ns: u64,
    /// Sum over the live threads of `/proc/PID/task/*/schedstat` run time,
    /// in ns (ns resolution; a thread that exited is no longer counted).
    pub sched_ns: Option<u64>,
}

impl CpuTime {
    /// Reads both for `pid`.
    pub fn read(pid: u32) -> CpuTime {
        CpuTime {
            stat_ns: stat_cpu_ns(pid).unwrap_or(0),
            sched_ns: sched_cpu_ns(pid),
        }
    }

    /// CPU ns used between `earlier` and `self`: the precise sum when both
    /// have it and it agrees with the coarse one within 20 ms plus 10 %
    /// (a thread exiting would break it), else the coarse one.
    pub fn since(&self, earlier: &CpuTime) -> u64 {
        let coarse = self.stat_ns.saturating_sub(earlier.stat_ns);
        match (self.sched_ns, earlier.sched_ns) {
            (Some(now), Some(then)) if now >= then => {
                let fine = now - then;
                let slack = 20_000_000 + coarse / 10;
                if fine.abs_diff(coarse) <= slack {
                    fine
                } else {
                    coarse
                }
            }
            _ => coarse,
        }
    }
}

fn stat_cpu_ns(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields start after its ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line; the name was field 2.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * (1_000_000_000 / CLOCK_TICKS_PER_SEC))
}

fn sched_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread may exit between the listing and the read.
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// `VmRSS` of `/proc/PID/status`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

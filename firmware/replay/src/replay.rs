//! Feeding a transcript's inputs to a fresh [`Machine`] one at a time, at
//! whatever instant the caller's clock says, checking each input's
//! effects against the recorded ones and logging them.

use alloc::vec::Vec;
use core::fmt;

use sio_core::time::Instant;

use crate::machine::{Effect, Input, Machine};
use crate::transcript::{self, BadLine, Line, Lines};

/// Why a replay stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// The transcript is not in the format.
    BadLine(BadLine),
    /// The transcript does not start with its seed.
    NoSeed,
    /// The machine's effects for the input at `at` differ from the
    /// recording's: the first that differs, on each side.
    Mismatch {
        /// The input's time in the recording.
        at: u64,
        /// What the recording has.
        recorded: Option<Effect>,
        /// What the machine did.
        replayed: Option<Effect>,
    },
    /// Writing the log failed.
    Log,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::BadLine(bad) => bad.fmt(f),
            ReplayError::NoSeed => f.write_str("the transcript does not start with its seed"),
            ReplayError::Mismatch {
                at,
                recorded,
                replayed,
            } => write!(
                f,
                "effects differ at @{at}: recorded {recorded:?}, replayed {replayed:?}"
            ),
            ReplayError::Log => f.write_str("the log could not be written"),
        }
    }
}

impl From<fmt::Error> for ReplayError {
    fn from(_: fmt::Error) -> Self {
        ReplayError::Log
    }
}

/// A transcript being replayed.
pub struct Replay<'t> {
    lines: Lines<'t>,
    machine: Machine,
    next: Option<(u64, Input)>,
    /// Inputs fed so far.
    pub inputs: usize,
}

impl<'t> Replay<'t> {
    /// A replay of `text` on a machine seeded as the recording's was.
    pub fn new(text: &'t str) -> Result<Self, ReplayError> {
        let mut lines = transcript::lines(text);
        let seed = match lines.next() {
            Some(Ok(Line::Seed(seed))) => seed,
            Some(Err(bad)) => return Err(ReplayError::BadLine(bad)),
            _ => return Err(ReplayError::NoSeed),
        };
        let mut replay = Replay {
            lines,
            machine: Machine::new(seed),
            next: None,
            inputs: 0,
        };
        replay.next = match replay.lines.next() {
            Some(Ok(Line::Input(at, input))) => Some((at, input)),
            None => None,
            Some(Err(bad)) => return Err(ReplayError::BadLine(bad)),
            Some(Ok(_)) => return Err(ReplayError::BadLine(BadLine(2))),
        };
        Ok(replay)
    }

    /// When the next input is due (milliseconds since the start), if any.
    pub fn next_at(&self) -> Option<u64> {
        self.next.as_ref().map(|(at, _)| *at)
    }

    /// The machine (for measurements once the replay is done).
    pub fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }

    /// Feeds the next input at `now`, logs it and its effects to `log`
    /// (one line each) and checks the effects against the recording's.
    pub fn step(&mut self, now: Instant, log: &mut impl fmt::Write) -> Result<(), ReplayError> {
        let Some((at, input)) = self.next.take() else {
            return Ok(());
        };
        transcript::write_input(log, now.since_epoch().as_millis() as u64, &input, false)?;
        log.write_char('\n')?;
        let mut replayed = Vec::new();
        self.machine.handle(now, &input, &mut |e| replayed.push(e));
        self.inputs += 1;
        let mut recorded = Vec::new();
        for line in self.lines.by_ref() {
            match line.map_err(ReplayError::BadLine)? {
                Line::Effect(effect) => recorded.push(effect),
                Line::Input(at, input) => {
                    self.next = Some((at, input));
                    break;
                }
                Line::Seed(_) => return Err(ReplayError::NoSeed),
            }
        }
        for effect in &replayed {
            transcript::write_effect(log, effect)?;
            log.write_char('\n')?;
        }
        if replayed != recorded {
            let differs = (0..replayed.len().max(recorded.len()))
                .find(|&i| replayed.get(i) != recorded.get(i))
                .unwrap_or(0);
            return Err(ReplayError::Mismatch {
                at,
                recorded: recorded.get(differs).cloned(),
                replayed: replayed.get(differs).cloned(),
            });
        }
        Ok(())
    }
}

/// Replays all of `text` with the recording's own times as the clock (the
/// host's run), logging to `log`.
pub fn replay_at_recorded_times(
    text: &str,
    log: &mut impl fmt::Write,
) -> Result<usize, ReplayError> {
    let mut replay = Replay::new(text)?;
    while let Some(at) = replay.next_at() {
        replay.step(Instant::from_millis(at), log)?;
    }
    Ok(replay.inputs)
}

//! The host half: each recorded session replayed at its recorded times
//! reproduces the recording server's effects byte for byte, and the
//! figures' steps hold together.

use sio_core::time::Instant;
use sio_replay::figures::{self, Figure, Meter};
use sio_replay::replay::{replay_at_recorded_times, ReplayError};
use sio_replay::TRANSCRIPTS;

#[test]
fn every_transcript_replays_as_recorded() {
    for (name, text) in TRANSCRIPTS {
        let mut log = String::new();
        let inputs =
            replay_at_recorded_times(text, &mut log).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(inputs > 20, "{name}: only {inputs} inputs");
        assert!(log.contains("> write"), "{name}: no output");
    }
}

#[test]
fn a_changed_recording_is_a_mismatch() {
    let (_, text) = TRANSCRIPTS[1];
    // The recorded 101 response gets two bytes the replay does not write.
    let tampered = text.replacen("> write 1 ", "> write 1 00", 1);
    let error = replay_at_recorded_times(&tampered, &mut String::new()).unwrap_err();
    assert!(matches!(error, ReplayError::Mismatch { .. }), "{error}");
}

/// No heap or instruction counter on the host: zeros, to run the steps.
struct NoMeter;

impl Meter for NoMeter {
    fn heap_used(&self) -> usize {
        0
    }
    fn heap_peak(&self) -> usize {
        0
    }
    fn reset_peak(&self) {}
    fn instructions(&self) -> Option<u64> {
        None
    }
}

#[test]
fn the_figures_steps_succeed_on_the_host() {
    let mut names = Vec::new();
    figures::measure(&NoMeter, Instant::from_millis(5), &mut |f: Figure| {
        names.push(f.name)
    })
    .expect("every step does what it should");
    assert!(names.contains(&"heap-per-pending-ack"), "{names:?}");
}

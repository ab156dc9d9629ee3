//! The transcript format: what a recorded session fed the machine, line by
//! line, each input followed by the effects the recording machine
//! produced for it.
//!
//! ```text
//! # comment
//! seed <64 hex digits>        the seed of the recording server's ids
//! @<ms> open <conn>           an input, at <ms> after the recording started
//! @<ms> in <conn> <hex>
//! @<ms> flushed <conn>
//! @<ms> closed <conn>
//! @<ms> tick
//! > write <conn> <hex>        an effect of the input above
//! > close <conn>
//! > abort <conn>
//! ```

use core::fmt;

use bytes::Bytes;

use crate::hex;
use crate::machine::{Effect, Input};

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The recording server's seed.
    Seed([u8; 32]),
    /// An input at a time (milliseconds since the start).
    Input(u64, Input),
    /// An effect of the last input.
    Effect(Effect),
}

/// A line that is not in the format, with its number (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine(pub usize);

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transcript line {} is not in the format", self.0)
    }
}

/// The lines of `text`, blank lines and comments skipped.
pub fn lines(text: &str) -> Lines<'_> {
    Lines {
        inner: text.lines().enumerate(),
    }
}

/// The parsed lines of a transcript, in order.
pub struct Lines<'t> {
    inner: core::iter::Enumerate<core::str::Lines<'t>>,
}

impl Iterator for Lines<'_> {
    type Item = Result<Line, BadLine>;

    fn next(&mut self) -> Option<Self::Item> {
        let (i, line) = self
            .inner
            .by_ref()
            .find(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))?;
        Some(parse(line).ok_or(BadLine(i + 1)))
    }
}

fn parse(line: &str) -> Option<Line> {
    let mut words = line.split(' ');
    let first = words.next()?;
    let conn = |w: Option<&str>| w?.parse::<u64>().ok();
    let parsed = if let Some(at) = first.strip_prefix('@') {
        let at = at.parse().ok()?;
        let input = match words.next()? {
            "open" => Input::Open(conn(words.next())?),
            "in" => Input::Data(conn(words.next())?, hex::decode(words.next()?)?),
            "flushed" => Input::Flushed(conn(words.next())?),
            "closed" => Input::Closed(conn(words.next())?),
            "tick" => Input::Tick,
            _ => return None,
        };
        Line::Input(at, input)
    } else if first == ">" {
        Line::Effect(match words.next()? {
            "write" => {
                let c = conn(words.next())?;
                Effect::Write(c, Bytes::from(hex::decode(words.next()?)?))
            }
            "close" => Effect::Close(conn(words.next())?),
            "abort" => Effect::Abort(conn(words.next())?),
            _ => return None,
        })
    } else if first == "seed" {
        Line::Seed(hex::decode(words.next()?)?.try_into().ok()?)
    } else {
        return None;
    };
    words.next().is_none().then_some(parsed)
}

/// Writes an input line; `with_data` false leaves out the bytes (the
/// firmware's log, where only the effects matter).
pub fn write_input(
    out: &mut impl fmt::Write,
    at: u64,
    input: &Input,
    with_data: bool,
) -> fmt::Result {
    write!(out, "@{at} ")?;
    match input {
        Input::Open(c) => write!(out, "open {c}"),
        Input::Data(c, data) if with_data => {
            write!(out, "in {c} ")?;
            hex::write(out, data)
        }
        Input::Data(c, data) => write!(out, "in {c} ({} bytes)", data.len()),
        Input::Flushed(c) => write!(out, "flushed {c}"),
        Input::Closed(c) => write!(out, "closed {c}"),
        Input::Tick => write!(out, "tick"),
    }
}

/// Writes an effect line.
pub fn write_effect(out: &mut impl fmt::Write, effect: &Effect) -> fmt::Result {
    match effect {
        Effect::Write(c, data) => {
            write!(out, "> write {c} ")?;
            hex::write(out, data)
        }
        Effect::Close(c) => write!(out, "> close {c}"),
        Effect::Abort(c) => write!(out, "> abort {c}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn lines_round_trip() {
        let inputs = [
            Input::Open(1),
            Input::Data(1, b"GET /".to_vec()),
            Input::Flushed(2),
            Input::Closed(3),
            Input::Tick,
        ];
        for input in inputs {
            let mut text = String::new();
            write_input(&mut text, 17, &input, true).unwrap();
            assert_eq!(parse(&text), Some(Line::Input(17, input)));
        }
        let effects = [
            Effect::Write(4, Bytes::from_static(b"\x81\x01x")),
            Effect::Close(5),
            Effect::Abort(6),
        ];
        for effect in effects {
            let mut text = String::new();
            write_effect(&mut text, &effect).unwrap();
            assert_eq!(parse(&text), Some(Line::Effect(effect)));
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        for bad in [
            "@x open 1",
            "@1 open",
            "@1 in 1 abc",
            "> write 1",
            "seed 00",
            "@1 tick 3",
            "what",
        ] {
            assert_eq!(lines(bad).next(), Some(Err(BadLine(1))), "{bad}");
        }
    }
}

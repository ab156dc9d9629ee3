//! Lines to the host's stdout through semihosting, a line per call (each
//! call traps into QEMU), from a fixed buffer (no heap: it would count in
//! the figures).

use core::fmt;

use cortex_m_semihosting::hio::{self, HostStream};

/// Bytes buffered before a write to the host.
const BUFFER: usize = 512;

/// Buffered semihosting stdout.
pub struct Console {
    host: HostStream,
    buf: [u8; BUFFER],
    len: usize,
}

impl Console {
    /// The host's stdout; `None` without a debugger (or QEMU's -semihosting).
    pub fn open() -> Option<Console> {
        Some(Console {
            host: hio::hstdout().ok()?,
            buf: [0; BUFFER],
            len: 0,
        })
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        let _ = self.host.write_all(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            if self.len == BUFFER {
                self.flush();
            }
            self.buf[self.len] = byte;
            self.len += 1;
            if byte == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

//! The board's Ethernet controller, an SMSC LAN9118 (QEMU emulates it on
//! the mps2 boards at 0x4020_0000), as a smoltcp device: FIFOs polled, no
//! interrupts, 32-bit access. The MMIO reads and writes are the `unsafe`
//! here.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

const BASE: usize = 0x4020_0000;
const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const BYTE_TEST: usize = 0x64;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7c;
const TX_FIFO_INF: usize = 0x80;
const PMT_CTRL: usize = 0x84;
const MAC_CSR_CMD: usize = 0xa4;
const MAC_CSR_DATA: usize = 0xa8;

/// MAC registers, reached through MAC_CSR_CMD/DATA.
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_FDPX: u32 = 1 << 20;
const CSR_BUSY: u32 = 1 << 31;
const TX_ON: u32 = 1 << 1;
const SOFT_RESET: u32 = 1;
/// TX command A: first and last segment of a frame.
const TX_FIRST_LAST: u32 = (1 << 13) | (1 << 12);
/// RX status: the frame had an error.
const RX_ERROR: u32 = 1 << 15;

/// A whole Ethernet frame (and the controller's CRC word after it).
const FRAME: usize = 1536;

fn read(offset: usize) -> u32 {
    // SAFETY: a 32-bit register of the LAN9118's block, mapped at BASE on
    // this board; reading has no effect beyond the device's FIFO pops.
    unsafe { core::ptr::read_volatile((BASE + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`; nothing else owns the controller.
    unsafe { core::ptr::write_volatile((BASE + offset) as *mut u32, value) }
}

fn mac_write(register: u32, value: u32) {
    while read(MAC_CSR_CMD) & CSR_BUSY != 0 {}
    write(MAC_CSR_DATA, value);
    write(MAC_CSR_CMD, CSR_BUSY | register);
    while read(MAC_CSR_CMD) & CSR_BUSY != 0 {}
}

/// The controller, reset and running, with a frame buffer each way.
pub struct Lan9118 {
    rx: [u8; FRAME],
    tx: [u8; FRAME],
}

impl Lan9118 {
    /// Resets the controller and starts it with `mac` as its address;
    /// `None` when there is no LAN9118 at its address.
    pub fn new(mac: [u8; 6]) -> Option<Lan9118> {
        if read(BYTE_TEST) != 0x8765_4321 {
            return None;
        }
        write(HW_CFG, SOFT_RESET);
        while read(HW_CFG) & SOFT_RESET != 0 {}
        while read(PMT_CTRL) & 1 == 0 {}
        mac_write(
            MAC_ADDRL,
            u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        );
        mac_write(MAC_ADDRH, u32::from(mac[4]) | u32::from(mac[5]) << 8);
        mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX);
        write(TX_CFG, TX_ON);
        Some(Lan9118 {
            rx: [0; FRAME],
            tx: [0; FRAME],
        })
    }

    /// Takes the next received frame into `rx`; its length without the CRC.
    fn receive_frame(&mut self) -> Option<usize> {
        if (read(RX_FIFO_INF) >> 16) & 0xff == 0 {
            return None;
        }
        let status = read(RX_STATUS_FIFO);
        let len = ((status >> 16) & 0x3fff) as usize;
        for i in 0..len.div_ceil(4) {
            let word = read(RX_DATA_FIFO).to_le_bytes();
            if let Some(slot) = self.rx.get_mut(i * 4..i * 4 + 4) {
                slot.copy_from_slice(&word);
            }
        }
        let fits = (18..=FRAME).contains(&len);
        (status & RX_ERROR == 0 && fits).then_some(len - 4)
    }
}

/// Queues `frame` for sending: two command words, then the data.
fn send_frame(frame: &[u8]) {
    let len = frame.len() as u32;
    while read(TX_FIFO_INF) & 0xffff < len + 8 {}
    write(TX_DATA_FIFO, TX_FIRST_LAST | len);
    write(TX_DATA_FIFO, len);
    for chunk in frame.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        write(TX_DATA_FIFO, u32::from_le_bytes(word));
    }
    // Its status is not needed; popping it keeps that FIFO from filling.
    let _ = read(TX_STATUS_FIFO);
}

/// A received frame, for smoltcp.
pub struct RxToken<'a>(&'a [u8]);
/// A frame to send, for smoltcp.
pub struct TxToken<'a>(&'a mut [u8; FRAME]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.0[..len.min(FRAME)];
        let result = f(frame);
        send_frame(frame);
        result
    }
}

impl Device for Lan9118 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let len = self.receive_frame()?;
        Some((RxToken(&self.rx[..len]), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps.max_burst_size = Some(1);
        caps
    }
}

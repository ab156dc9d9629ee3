//! Decimal digits of an integer without `core::fmt`, for the encoders'
//! hot paths (ack ids, attachment counts, Content-Length).

/// The digits of one `u64`, held on the stack.
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(crate) fn new(mut value: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn digits() {
        for value in [0u64, 7, 10, 404, 65535, u64::MAX] {
            assert_eq!(
                Decimal::new(value).as_bytes(),
                alloc::format!("{value}").as_bytes()
            );
        }
    }
}

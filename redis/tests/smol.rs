//! The bus tests on smol.

#[macro_use]
mod common;

bus_tests!(smol::block_on, "Smol");

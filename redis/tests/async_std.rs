//! The bus tests on async-std (served by the redis crate's smol support:
//! both run on async-io).

#[macro_use]
mod common;

bus_tests!(async_std::task::block_on, "AsyncStd");

//! sio-conformance: the scenario suite run against every runtime with the
//! npm reference clients. Scenarios land with the conformance issue.
#![forbid(unsafe_code)]

pub mod api_tests;
pub mod testclient;

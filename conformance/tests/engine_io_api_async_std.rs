//! The Engine.IO API tests (server and client) on sio-async-std.
sio_conformance::engine_io_api_tests!(sio_conformance::engine_io_api_tests::AsyncStd);

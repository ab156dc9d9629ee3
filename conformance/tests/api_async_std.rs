//! The API tests on sio-async-std.
sio_conformance::api_tests!(sio_conformance::api_tests::AsyncStdRuntime);

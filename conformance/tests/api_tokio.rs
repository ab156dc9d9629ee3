//! The API tests on sio-tokio.
sio_conformance::api_tests!(sio_conformance::api_tests::TokioRuntime);

//! The API tests on sio-smol.
sio_conformance::api_tests!(sio_conformance::api_tests::SmolRuntime);

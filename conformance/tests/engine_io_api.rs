//! The Engine.IO API tests (server and client) on every runtime, in one
//! test binary (one link instead of three).
mod tokio {
    sio_conformance::engine_io_api_tests!(sio_conformance::engine_io_api_tests::Tokio);
}

mod smol {
    sio_conformance::engine_io_api_tests!(sio_conformance::engine_io_api_tests::Smol);
}

mod async_std {
    sio_conformance::engine_io_api_tests!(sio_conformance::engine_io_api_tests::AsyncStd);
}

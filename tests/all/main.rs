//! Integration tests: one binary, one module a concern. Every server is a
//! wiremock server or a raw `TcpListener` on 127.0.0.1.

mod budget;
mod catalogue;
// The counting allocator the benchmarks use too (it installs itself).
#[path = "../../benches/support/counting_alloc.rs"]
mod counting;
mod deadline_whole_call;
mod deadlines;
mod decode;
#[cfg(unix)] // its non-UTF-8 arguments are made from bytes
mod explain;
mod fault_server;
mod fuzz;
mod gateway;
mod middleware;
mod no_timers;
mod outside_tokio;
mod per_code;
mod retry_rules;
mod secrets;
#[cfg(feature = "signing")]
mod signing;
#[cfg(feature = "signing")]
mod signing_gateway;
#[cfg(feature = "signing")]
mod signing_providers;
mod soak;
mod sts;
mod support;
mod throttle;
mod transport;

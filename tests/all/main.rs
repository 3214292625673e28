//! Integration tests: one binary, one module a concern. Every server is a
//! wiremock server or a raw `TcpListener` on 127.0.0.1.

mod budget;
mod catalogue;
mod counting;
mod deadline_whole_call;
mod deadlines;
mod decode;
mod fault_server;
mod fuzz;
mod gateway;
mod middleware;
mod no_timers;
mod per_code;
mod retry_rules;
mod secrets;
mod soak;
mod support;
mod throttle;
mod transport;

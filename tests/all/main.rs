//! Integration tests: one binary, one module a concern.

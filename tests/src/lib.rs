//! End-to-end tests of the release-check binary live in `tests/`.

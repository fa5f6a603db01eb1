//! End-to-end test support lives in `tests/tests/common/`; this library is intentionally empty.

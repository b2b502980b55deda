//! The agentsec integration tests. The library part compiles the guide's
//! code: each chapter of `book/` is included as documentation, so its code
//! blocks run as doctests.

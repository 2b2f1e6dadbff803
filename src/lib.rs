//! shopmirror

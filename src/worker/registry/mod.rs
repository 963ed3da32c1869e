//! The credential and listing objects: `Client` (one per login: its secret hash,
//! permissions and credential generation) and `Registry` (the lists behind
//! `GET /v1/clients` and `GET /v1/topics`). Touched by admin calls and credential
//! lookups, never by a publish.

pub mod clients;

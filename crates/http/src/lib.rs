//! The HTTP layer of the Monetro passkey service (actix-web) and its wiring.
//!
//! Handlers parse requests, call the use cases of `monetro-app` and map
//! their errors to the contract's JSON answers; nothing else happens here.

pub mod admin;
mod client_ip;
pub mod config;
mod dto;
mod error;
mod extract;
mod limits;
mod metrics;
mod notify;
mod openapi;
mod pages;
pub mod routes;
mod secrets;
mod security;
mod slow_clients;
pub mod startup;
pub mod telemetry;

pub use client_ip::TrustedProxies;
pub use error::ApiError;
pub use limits::RateLimits;
pub use metrics::Metrics;

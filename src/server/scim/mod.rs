//! SCIM 2.0 (RFC 7643, RFC 7644): the service provider identity providers and HR systems
//! provision into (issue 14). The filter grammar is parsed here; the endpoints build on it.
pub mod filter;

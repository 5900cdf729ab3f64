//! leadwire-mcp: the MCP (Model Context Protocol) tool server for AI assistants.
//!
//! Not yet served: issue 5 builds the rmcp tool server at `/mcp` on the same `Core`
//! handles REST and GraphQL use. This crate exists so the workspace has its final shape.

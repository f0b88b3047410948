// Package app holds gitopsd's subcommands: it parses flags and environment once,
// validates them, and wires the packages under pkg/ together. cmd/gitopsd only
// sets up signals and calls Main.
package app

// Package results holds what the benchmark commands share in their reports:
// where and when they ran, the targets table, how durations and ratios
// are printed, the machine's load, and
// RESULTS.md, in which each command owns one section (from its level-one
// heading to the next) and replaces only that one.
//
//	md := "# Drift benchmark\n\n..."
//	err := results.WriteSection("RESULTS.md", md)
package results

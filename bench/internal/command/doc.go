// Package command holds what every benchmark command does around its
// measurement: run its Main under SIGINT and SIGTERM with the exit status
// of its error, parse and check the -n sizes, build the gitopsd binary,
// start a control plane, and publish the report to stdout and to its
// section of RESULTS.md.
//
//	func main() { command.Run("driftbench", Main) }
//
//	env, version, err := command.StartPlane(ctx, testenv.API)
//	...
//	return command.Publish(stdout, opts.Out, report.Markdown())
package command

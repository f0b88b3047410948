// Package image builds gitopsd's container image without a Docker engine:
// the static linux binary (CGO off, -trimpath, time zone data embedded,
// version and commit stamped in), a CA bundle, a nonroot user, and the
// image config (user 65532, entrypoint gitopsd, default command run, OCI
// labels), assembled with go-containerregistry into a tarball that docker
// load, kind load image-archive and crane push accept.
//
// The same files can be written to a directory instead, which is how the
// Dockerfile makes the same layout:
//
//	opts := image.DefaultOptions()
//	opts.Version, opts.Commit = "v1.2.0", sha
//	bin, err := image.BuildBinary(ctx, opts)
//	...
//	img, err := image.New(bin, opts)
//	...
//	err = image.WriteTarball("bin/gitopsd-image.tar", "ghcr.io/gitopsd/gitopsd:v1.2.0", img)
//
// Everything in the image is reproducible from the commit: the CA bundle
// is Mozilla's, embedded in a pinned Go module rather than taken from the
// build machine, and every file and the config carry Options.Created.
package image

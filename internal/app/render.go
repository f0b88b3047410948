package app

import (
	"context"
	"fmt"
	"io"

	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

func runRender(ctx context.Context, args []string, out, errOut io.Writer) error {
	var sel selection
	fs := newFlagSet("render", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME]", errOut)
	sel.register(fs, "render")
	if err := sel.parse(fs, args); err != nil {
		return err
	}
	return sel.each(ctx, cliLogger(errOut), func(inst config.Installation, _ source.Snapshot, set *render.ObjectSet) error {
		data, err := set.YAML()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "# installation: %s (%s, %d objects)\n%s", inst.Name, inst.Path, len(set.Objects), data)
		return err
	})
}

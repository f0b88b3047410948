package app

import (
	"context"
	"fmt"
	"io"

	"github.com/gitopsd/gitopsd/pkg/render"
)

func runRender(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		src          sourceFlags
		installation string
	)
	fs := newFlagSet("render", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME]", errOut)
	src.register(fs)
	fs.StringVar(&installation, "installation", "", "render only this installation (default all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := src.validate(); err != nil {
		return err
	}
	f, err := loadFleet(ctx, &src, cliLogger(errOut))
	if err != nil {
		return err
	}
	insts, err := f.installations(installation)
	if err != nil {
		return err
	}
	r := render.NewRenderer(render.DefaultOptions())
	for _, inst := range insts {
		set, err := f.render(ctx, r, inst)
		if err != nil {
			return err
		}
		data, err := set.YAML()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "# installation: %s (%s, %d objects)\n%s", inst.Name, inst.Path, len(set.Objects), data); err != nil {
			return err
		}
	}
	return nil
}

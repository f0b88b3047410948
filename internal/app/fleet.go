package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// fleet is one snapshot of a repository and its installations.
type fleet struct {
	snapshot source.Snapshot
	config   *config.Config
}

// loadFleet fetches the repository (or reads the directory) once and parses
// its gitopsd.yaml.
func loadFleet(ctx context.Context, s *sourceFlags, log *slog.Logger) (*fleet, error) {
	snap, dir, err := loadSnapshot(ctx, s, log)
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(snap.Files, s.name(), dir)
	if err != nil {
		return nil, err
	}
	return &fleet{snapshot: snap, config: cfg}, nil
}

// loadSnapshot fetches the repository or reads --dir. A --dir is a fleet's
// root (with gitopsd.yaml, whose installations are chosen as in a
// repository), or one kustomization (or directory of manifests) built as
// `kustomize build` builds it: within the Git work tree that holds it, or
// the file system outside one, so that it reaches its bases in parent
// directories. Then dir is its path in the snapshot; otherwise it is empty.
func loadSnapshot(ctx context.Context, s *sourceFlags, log *slog.Logger) (snap source.Snapshot, dir string, err error) {
	if s.dir == "" {
		poller, err := source.NewPoller(s.options(), log, source.NewMetrics())
		if err != nil {
			return source.Snapshot{}, "", err
		}
		snap, err := poller.Poll(ctx)
		return snap, "", err
	}
	if snap, err = source.DirSnapshot(s.dir); err != nil {
		return source.Snapshot{}, "", err
	}
	if _, err := fs.Stat(snap.Files, config.FileName); err == nil {
		return snap, "", nil
	}
	return source.WorkTreeSnapshot(s.dir)
}

// loadConfig reads gitopsd.yaml, or makes the one installation at dir when
// dir is not empty.
func loadConfig(files fs.FS, name, dir string) (*config.Config, error) {
	if dir == "" {
		return config.Load(files, name)
	}
	cfg := config.Implicit(name)
	cfg.Installations[0].Path = dir
	return cfg, nil
}

// installations returns the installation called name, or all when name is empty.
func (f *fleet) installations(name string) ([]config.Installation, error) {
	if name == "" {
		return f.config.Installations, nil
	}
	inst, ok := f.config.Installation(name)
	if !ok {
		return nil, fmt.Errorf("no installation %q; the repository has %v", name, f.config.Names())
	}
	return []config.Installation{inst}, nil
}

// render renders one installation.
func (f *fleet) render(ctx context.Context, r *render.Renderer, inst config.Installation) (*render.ObjectSet, error) {
	set, err := r.Render(ctx, f.snapshot.Files, f.snapshot.Commit, inst.Path)
	if err != nil {
		return nil, fmt.Errorf("installation %s: %w", inst.Name, err)
	}
	return set, nil
}

// selection is the repository and the installations a command works on.
type selection struct {
	src          sourceFlags
	installation string
}

func (s *selection) register(fs *flag.FlagSet, verb string) {
	s.src.register(fs)
	fs.StringVar(&s.installation, "installation", "", verb+" only this installation (default all)")
}

// parse parses the command line and checks the selection.
func (s *selection) parse(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	return s.src.validate()
}

// each fetches the repository once and calls fn with every chosen
// installation, rendered, in gitopsd.yaml's order.
func (s *selection) each(ctx context.Context, log *slog.Logger, fn func(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) error) error {
	f, err := loadFleet(ctx, &s.src, log)
	if err != nil {
		return err
	}
	insts, err := f.installations(s.installation)
	if err != nil {
		return err
	}
	r := render.NewRenderer(s.src.render, log)
	for _, inst := range insts {
		set, err := f.render(ctx, r, inst)
		if err != nil {
			return err
		}
		if err := fn(inst, f.snapshot, set); err != nil {
			return err
		}
	}
	return nil
}

// cliLogger logs warnings and errors to w; commands report results on stdout.
func cliLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

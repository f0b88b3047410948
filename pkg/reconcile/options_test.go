package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/render"
)

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("DefaultOptions: %v", err)
	}
	tests := []struct {
		name  string
		tweak func(*Options)
		want  string
	}{
		{"no retry base", func(o *Options) { o.RetryBase = 0 }, "RetryBase"},
		{"cap below base", func(o *Options) { o.MaxBackoff = time.Second }, "MaxBackoff"},
		{"no clock", func(o *Options) { o.Now = nil }, "Now"},
		{"no concurrency", func(o *Options) { o.Apply.Concurrency = 0 }, "Concurrency"},
	}
	for _, tt := range tests {
		opts := DefaultOptions()
		tt.tweak(&opts)
		if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := New(Deps{Renderer: render.NewRenderer(render.DefaultOptions(), nil)}, DefaultOptions()); err == nil {
		t.Error("New without its dependencies: no error")
	}
	dopts := drift.DefaultOptions()
	dopts.Workers = 0
	if _, err := drift.NewDetector(drift.Deps{}, dopts); err == nil || !strings.Contains(err.Error(), "Workers") {
		t.Errorf("a detector without workers: %v", err)
	}
}

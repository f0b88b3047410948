package apply

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// interloper makes the fixture's manager meet another writer: before each
// of its JSON patches (the take-over of kubectl's fields), while writes is
// above zero, edit runs first, as a kubectl edit between gitopsd's read and
// its patch would.
type interloper struct {
	writes atomic.Int32
	edit   func()
}

func (f *fixture) interlope(edit func()) *interloper {
	f.t.Helper()
	il := &interloper{edit: edit}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && req.Header.Get("Content-Type") == "application/json-patch+json" && il.writes.Add(-1) >= 0 {
				il.edit()
			}
			return rt.RoundTrip(req)
		})
	})
	m, err := NewManager(cfg, f.store, f.manager.log)
	if err != nil {
		f.t.Fatal(err)
	}
	f.manager = m
	return il
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// kubectlEdit sets data[key] of ConfigMap name as kubectl edit does.
func (f *fixture) kubectlEdit(name, key, value string) {
	f.t.Helper()
	if err := f.editData(name, key, value); err != nil {
		f.t.Fatal(err)
	}
}

// editData is kubectlEdit for any goroutine: it returns the error.
func (f *fixture) editData(name, key, value string) error {
	cm, err := f.get(configMaps, f.ns, name)
	if err != nil {
		return err
	}
	cm.Object["data"].(map[string]any)[key] = value
	_, err = f.dynamic.Resource(configMaps).Namespace(f.ns).Update(context.Background(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	return err
}

// TestTakeOverMeetsAnotherWriter edits an object by hand, then again while
// gitopsd takes kubectl's fields over: the take-over starts again from a
// fresh read and Git wins. When the other writer never stops, the object
// fails with the cause, never silently.
func TestTakeOverMeetsAnotherWriter(t *testing.T) {
	f := newFixture(t)
	set := f.objects(configMap("settings", "mode: git"))
	f.apply(set, DefaultOptions())
	f.kubectlEdit("settings", "extra", "by-hand")

	var edits atomic.Int32
	il := f.interlope(func() {
		if err := f.editData("settings", "late", fmt.Sprint("edit-", edits.Add(1))); err != nil {
			t.Error(err)
		}
	})
	il.writes.Store(1)
	cs := f.apply(set, DefaultOptions())
	if err := cs.Err(); err != nil || actions(cs)["ConfigMap/settings"] != Configured {
		t.Fatalf("a take-over that met another writer once: %v, %v", actions(cs), err)
	}
	cm, _ := f.get(configMaps, f.ns, "settings")
	if data := cm.Object["data"].(map[string]any); len(data) != 1 || data["mode"] != "git" {
		t.Errorf("data = %v, want only Git's mode", data)
	}

	f.kubectlEdit("settings", "extra", "by-hand")
	il.writes.Store(100)
	cs = f.apply(set, DefaultOptions())
	if actions(cs)["ConfigMap/settings"] != Failed {
		t.Fatalf("a take-over against a writer that never stops: %v", actions(cs))
	}
	t.Logf("reason: %s", cs.Changes[0].Reason)
	if reason := cs.Changes[0].Reason; !strings.Contains(reason, "take over fields of ConfigMap/"+f.ns+"/settings from kubectl-edit") || !strings.Contains(reason, "another writer changed the object during each of 3 attempts") {
		t.Errorf("the reason does not give the cause: %q", reason)
	}
	if cs.Err() == nil {
		t.Error("the failed take-over is not in the ChangeSet's error")
	}
}

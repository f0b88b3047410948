package inventory

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	store := NewStore(env.Client, env.Namespace(t))
	inv, err := store.Load(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Entries) != 0 || inv.Installation != "web" {
		t.Fatalf("a never-saved inventory = %+v, want empty", inv)
	}
	inv.Commit, inv.Prune = "abc123", true
	inv.Entries = []Entry{
		{Version: "v1", Kind: "Service", Namespace: "shop", Name: "web", Digest: "d2", Fields: "f2"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web", Digest: "d1", Fields: "f1"},
	}
	if err := store.Save(ctx, inv); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != "abc123" || !got.Prune || len(got.Entries) != 2 {
		t.Fatalf("loaded %+v", got)
	}
	if e := got.Index()[inv.Entries[1].Key()]; e.Digest == "" || e.Fields == "" {
		t.Errorf("entries lost their digests: %+v", got.Entries)
	}
	names, err := store.List(ctx)
	if err != nil || len(names) != 1 || names[0] != "web" {
		t.Errorf("List = %v, %v", names, err)
	}
	if err := store.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if again, err := store.Load(ctx, "web"); err != nil || len(again.Entries) != 0 {
		t.Errorf("after Delete: %+v, %v", again, err)
	}
}

func TestSaveCreatesNamespace(t *testing.T) {
	ctx := context.Background()
	ns := "inventory-" + strings.ToLower(fmt.Sprint(len(t.Name())))
	store := NewStore(env.Client, ns)
	if err := store.Save(ctx, &Inventory{Installation: "db"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentWritersConflict(t *testing.T) {
	ctx := context.Background()
	store := NewStore(env.Client, env.Namespace(t))
	if err := store.Save(ctx, &Inventory{Installation: "web"}); err != nil {
		t.Fatal(err)
	}
	a, _ := store.Load(ctx, "web")
	b, _ := store.Load(ctx, "web")
	a.Commit = "from-a"
	if err := store.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.Commit = "from-b"
	if err := store.Save(ctx, b); !apierrors.IsConflict(err) {
		t.Errorf("second writer of a stale inventory: %v, want a conflict", err)
	}
}

func TestTenThousandObjectsFit(t *testing.T) {
	ctx := context.Background()
	store := NewStore(env.Client, env.Namespace(t))
	inv := &Inventory{Installation: "big"}
	for i := range 10000 {
		inv.Entries = append(inv.Entries, Entry{
			Group: "apps", Version: "v1", Kind: "Deployment", Namespace: fmt.Sprintf("team-%03d", i%100),
			Name: fmt.Sprintf("service-%05d", i), Digest: fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15), Fields: fmt.Sprintf("%016x", uint64(i)*0xbf58476d1ce4e5b9),
		})
	}
	if err := store.Save(ctx, inv); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(ctx, "big")
	if err != nil || len(got.Entries) != 10000 {
		t.Fatalf("loaded %d entries, %v", len(got.Entries), err)
	}
}

package apply

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The apply tests run on a full plane: health waits need Deployments to roll
// out and aggregated ClusterRoles need their controller.
var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.Full, &env) }

// fixture is a Manager with counted requests, its own inventory namespace,
// and a test namespace for objects.
type fixture struct {
	t        *testing.T
	ns       string
	manager  *Manager
	store    *inventory.Store
	requests *testenv.Requests
	dynamic  dynamic.Interface
	admin    *Manager // the unrestricted manager while denyDeletes is in force
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ns := env.Namespace(t)
	cfg, requests := testenv.CountRequests(env.Config)
	store := inventory.NewStore(env.Client, ns)
	m, err := NewManager(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ns: ns, manager: m, store: store, requests: requests, dynamic: dyn}
}

// objects renders manifests (YAML documents, "NS" replaced by the test
// namespace) into an ObjectSet.
func (f *fixture) objects(manifests ...string) *render.ObjectSet {
	f.t.Helper()
	repo := fstest.MapFS{}
	for i, m := range manifests {
		repo[fmt.Sprintf("m%03d.yaml", i)] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(m, "NS", f.ns))}
	}
	set, err := render.NewRenderer(render.DefaultOptions(), nil).Render(context.Background(), repo, "", ".")
	if err != nil {
		f.t.Fatal(err)
	}
	return set
}

// apply applies set as installation "app" and fails the test on an error
// of the whole apply.
func (f *fixture) apply(set *render.ObjectSet, opts Options) *ChangeSet {
	f.t.Helper()
	cs, err := f.manager.Apply(context.Background(), Request{Installation: "app", Namespace: f.ns, Commit: "c1", Objects: set}, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

// actions maps "Kind/name" to its action.
func actions(cs *ChangeSet) map[string]Action {
	out := map[string]Action{}
	for _, c := range cs.Changes {
		out[c.Key.Kind+"/"+c.Key.Name] = c.Action
	}
	return out
}

func (f *fixture) get(gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
	return f.dynamic.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
}

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	services    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	jobs        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

func configMap(name string, data string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: NS}\ndata: {%s}\n", name, data)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
`

const service = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`

const secret = `apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: hunter2-very-secret}
`

// renderObjectSet builds sets without rendering files.
type renderObjectSet struct{ objs []render.Object }

func (r *renderObjectSet) set() *render.ObjectSet {
	set, err := render.NewObjectSet(r.objs)
	if err != nil {
		panic(err)
	}
	return set
}

var clusterRoles = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}

func unstructuredInt(obj map[string]any, fields ...string) (int64, bool, error) {
	return unstructured.NestedInt64(obj, fields...)
}

// denyDeletes makes the fixture's manager act as a user who may do all but
// delete ConfigMaps.
func (f *fixture) denyDeletes() {
	f.t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-no-delete"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"delete"}, ResourceNames: []string{"inventory-app"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-no-delete"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: f.ns + "-restricted"}},
	}
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: f.ns + "-restricted"}
	m, err := NewManager(cfg, f.store, f.manager.log)
	if err != nil {
		f.t.Fatal(err)
	}
	f.admin, f.manager = f.manager, m
}

func (f *fixture) allowDeletes() { f.manager = f.admin }

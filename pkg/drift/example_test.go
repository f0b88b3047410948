package drift

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
)

// A detector tracks what each apply left in the cluster and reports an
// out-of-band edit as it happens. With drift: report (ReportDrift) it only
// reports; with a Corrector passed to Run, it has the drift corrected.
func ExampleDetector() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := exampleNamespace(ctx)

	// The apply engine applies and confirms drift; a metadata client
	// watches.
	manager, err := apply.NewManager(env.Config, inventory.NewStore(env.Client, ns), nil)
	if err != nil {
		panic(err)
	}
	meta, err := metadata.NewForConfig(env.Config)
	if err != nil {
		panic(err)
	}
	reports := make(chan Report, 1)
	opts := DefaultOptions()
	opts.OnReport = func(_ string, r Report) { reports <- r }
	d, err := NewDetector(Deps{Metadata: meta, Mapper: manager, Checker: manager}, opts)
	if err != nil {
		panic(err)
	}
	go func() { _ = d.Run(ctx, nil) }()

	// Apply an installation and track it.
	files := fstest.MapFS{"cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: git}\n")}}
	set, err := render.NewRenderer(render.DefaultOptions(), nil).Render(ctx, files, "", ".")
	if err != nil {
		panic(err)
	}
	req := apply.Request{Installation: "web", Namespace: ns, Objects: set}
	aopts := apply.DefaultOptions()
	aopts.ReportDrift = true
	cs, err := manager.Apply(ctx, req, aopts)
	if err != nil {
		panic(err)
	}
	d.Track(Applied{Request: req, Options: aopts, Owned: cs.Owned})

	// Someone edits the ConfigMap by hand.
	cms := env.Client.CoreV1().ConfigMaps(ns)
	cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		panic(err)
	}
	cm.Data["mode"] = "by-hand"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		panic(err)
	}
	r := <-reports
	fmt.Printf("%s %s: %s changed by %s; %s\n", r.Key.Kind, r.Key.Name, r.Fields[0], r.Managers[0], r.Action)
	// Output: ConfigMap settings: data.mode changed by kubectl-edit; reported
}

func exampleNamespace(ctx context.Context) string {
	ns, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "example-"}}, metav1.CreateOptions{})
	if err != nil {
		panic(err)
	}
	return ns.Name
}

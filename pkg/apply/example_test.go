package apply_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
)

const manifests = `apiVersion: v1
kind: ConfigMap
metadata: {name: example-web}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: example-web}
spec:
  selector: {app: example-web}
  ports: [{port: 80}]
`

// Example applies an installation, waits until its objects are healthy,
// applies it again (nothing is sent), and removes it.
func Example() {
	ctx := context.Background()
	restConfig, clientset := apply.Plane() // any cluster's rest.Config and clientset

	repo := fstest.MapFS{"web.yaml": {Data: []byte(manifests)}}
	set, err := render.NewRenderer(render.DefaultOptions(), nil).Render(ctx, repo, "c0ffee", ".")
	if err != nil {
		log.Fatal(err)
	}
	m, err := apply.NewManager(restConfig, inventory.NewStore(clientset, "example-inventories"), nil)
	if err != nil {
		log.Fatal(err)
	}
	req := apply.Request{Installation: "example-web", Namespace: "default", Commit: "c0ffee", Objects: set}
	cs, err := m.Apply(ctx, req, apply.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cs.Summary())
	if err := m.Wait(ctx, cs, time.Minute); err != nil {
		log.Fatal(err)
	}
	fmt.Println("healthy")

	cs, err = m.Apply(ctx, req, apply.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cs.Summary())

	// A render that comes back empty prunes everything only when allowed.
	if req.Objects, err = render.NewObjectSet(nil); err != nil {
		log.Fatal(err)
	}
	opts := apply.DefaultOptions()
	opts.AllowEmpty = true
	if cs, err = m.Apply(ctx, req, opts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cs.Summary())
	// Output:
	// 2 created
	// healthy
	// 2 unchanged
	// 2 deleted
}

package app

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/plan"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// oneBlueGreenFleet writes blueGreenFiles in repo.
func oneBlueGreenFleet(t *testing.T, repo, ns, image, replicas string) {
	t.Helper()
	for name, data := range blueGreenFiles(ns, image, replicas) {
		write(t, repo, name, data)
	}
}

// blueGreenFiles are a fleet of one blue/green installation, named after
// the namespace ns it runs in, whose Deployment web runs image and
// replicas; the gate is off, so that gitopsd apply cuts over.
func blueGreenFiles(ns, image, replicas string) map[string]string {
	return map[string]string{"gitopsd.yaml": `installations:
  - name: ` + ns + `
    path: app
    namespace: ` + ns + `
    blueGreen:
      deployment: web
      services: [web]
      previewService: web-preview
      preCutover: web-check
      requireMergedPR: false
`,
		"app/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ` + image + `}]
`,
		"app/service.yaml": `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-preview}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`,
		"app/job.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: web-check}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: check, image: ` + image + `}]
`,
	}
}

// TestDiffPlansBlueGreenAsTheDaemonApplies diffs a blue/green installation
// at each turn of its life, applying it with gitopsd apply in between: the
// plan shows the coloured objects the daemon applies (never the plain
// Deployment or the pre-cutover Job), leaves the Services alone when only
// the Deployment changes, shows the template change on the idle colour,
// and says what happens to the colours.
func TestDiffPlansBlueGreenAsTheDaemonApplies(t *testing.T) {
	ns := env.Namespace(t)
	repo := t.TempDir()
	args := []string{"--dir", repo, "--kubeconfig", env.Kubeconfig}
	diff := func(wantCode int) plan.Installation {
		t.Helper()
		out, stderr, code := gitopsd(t, append([]string{"diff", "-o", "json"}, args...)...)
		var p plan.Plan
		if err := json.Unmarshal([]byte(out), &p); err != nil || code != wantCode || len(p.Installations) != 1 || p.Installations[0].BlueGreen == nil {
			t.Fatalf("diff: exit %d, want %d; %v\n%s%s", code, wantCode, err, out, stderr)
		}
		return p.Installations[0]
	}
	apply := func(want string) {
		t.Helper()
		out, stderr, code := gitopsd(t, append([]string{"apply", "--timeout", "60s"}, args...)...)
		if code != 0 || !strings.Contains(out, ns+": blue/green: "+want) {
			t.Fatalf("apply: exit %d, want 0 and %q\n%s%s", code, want, out, stderr)
		}
	}

	// First apply: blue goes live directly.
	oneBlueGreenFleet(t, repo, ns, "example/web:1", "2")
	in := diff(1)
	wantBlueGreen(t, in, bluegreen.FirstApply, "first apply: blue goes live directly")
	wantObjects(t, in, map[string]plan.Action{"Deployment.apps/" + ns + "/web-blue": plan.Create, "Service/" + ns + "/web": plan.Create, "Service/" + ns + "/web-preview": plan.Create})
	for _, o := range in.Objects {
		want := map[string]string{"web-blue": "gitopsd.io/colour: blue", "web": "gitopsd.io/colour: blue", "web-preview": "gitopsd.io/colour: green"}[o.Name]
		if !strings.Contains(o.Diff, want) {
			t.Errorf("%s does not have %q:\n%s", o.Key(), want, o.Diff)
		}
	}
	text, _, _ := gitopsd(t, append([]string{"diff"}, args...)...)
	if !strings.Contains(text, "# "+ns+": blue/green: first apply: blue goes live directly\n") {
		t.Errorf("the text plan does not say what happens to the colours:\n%s", text)
	}
	apply("Ready, live blue")
	if in := diff(0); in.BlueGreen.Change != bluegreen.NoChange || len(in.Objects) != 0 {
		t.Errorf("diff after the first apply: %+v", in)
	}

	// A new image: a cutover to green, which gets the template; the
	// Services switch later, so they do not change now.
	oneBlueGreenFleet(t, repo, ns, "example/web:2", "2")
	in = diff(1)
	wantBlueGreen(t, in, bluegreen.StartCutover, "a cutover from blue to green would start: web-green gets the new template at 2 replica(s), pre-cutover Job web-check-1 runs, then Service(s) web switch to green")
	wantObjects(t, in, map[string]plan.Action{"Deployment.apps/" + ns + "/web-green": plan.Create})
	if !strings.Contains(in.Objects[0].Diff, "image: example/web:2") {
		t.Errorf("web-green does not get the new image:\n%s", in.Objects[0].Diff)
	}
	md, _, _ := gitopsd(t, append([]string{"plan", "-o", "markdown"}, args...)...)
	if !strings.Contains(md, "🔀 Blue/green: a cutover from blue to green would start") {
		t.Errorf("the Markdown plan does not say what happens to the colours:\n%s", md)
	}
	out, stderr, code := gitopsd(t, append([]string{"apply", "--dry-run"}, args...)...)
	if code != 0 || !strings.Contains(out, ns+": blue/green: a cutover from blue to green would start") || !strings.Contains(out, "1 created, 3 unchanged (dry run)") {
		t.Errorf("apply --dry-run: exit %d\n%s%s", code, out, stderr)
	}
	apply("Ready, live green")
	svc, err := env.Client.CoreV1().Services(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector[bluegreen.LabelColour] != "green" {
		t.Fatalf("Service web after the cutover: %v %v", svc.Spec.Selector, err)
	}
	if in := diff(0); len(in.Objects) != 0 {
		t.Errorf("diff after the cutover: %+v", in.Objects)
	}

	// Only replicas: in place, on the live colour.
	oneBlueGreenFleet(t, repo, ns, "example/web:2", "3")
	in = diff(1)
	wantBlueGreen(t, in, bluegreen.Resize, "replicas change in place on the live colour green: 2 to 3")
	wantObjects(t, in, map[string]plan.Action{"Deployment.apps/" + ns + "/web-green": plan.Change})
	if !strings.Contains(in.Objects[0].Diff, "+  replicas: 3") {
		t.Errorf("web-green's diff does not change its replicas:\n%s", in.Objects[0].Diff)
	}

	// Another image: back to blue, which is kept and changes template.
	oneBlueGreenFleet(t, repo, ns, "example/web:3", "2")
	in = diff(1)
	wantBlueGreen(t, in, bluegreen.StartCutover, "a cutover from green to blue would start")
	wantObjects(t, in, map[string]plan.Action{"Deployment.apps/" + ns + "/web-blue": plan.Change})
	if d := in.Objects[0].Diff; !strings.Contains(d, "\n-      - image: example/web:1\n") || !strings.Contains(d, "\n+      - image: example/web:3\n") {
		t.Errorf("web-blue's diff does not change its image from 1 to 3:\n%s", d)
	}
}

func wantBlueGreen(t *testing.T, in plan.Installation, change bluegreen.Change, message string) {
	t.Helper()
	if in.BlueGreen.Change != change || !strings.HasPrefix(in.BlueGreen.Message, message) {
		t.Errorf("blue/green: %s %q, want %s %q", in.BlueGreen.Change, in.BlueGreen.Message, change, message)
	}
}

// wantObjects checks that exactly the objects of want would change, as
// want says.
func wantObjects(t *testing.T, in plan.Installation, want map[string]plan.Action) {
	t.Helper()
	got := map[string]plan.Action{}
	for _, o := range in.Objects {
		got[o.Key().String()] = o.Action
	}
	if len(got) != len(want) {
		t.Errorf("objects %v, want %v", got, want)
		return
	}
	for k, a := range want {
		if got[k] != a {
			t.Errorf("objects %v, want %v", got, want)
			return
		}
	}
}

// TestDiffPlansTurningBlueGreenOn plans the blueGreen block added to an
// installation whose plain Deployment serves: blue is created from it,
// the plain Deployment is kept (not pruned) until blue is available, and
// the Service that follows the live colour stays on it meanwhile.
func TestDiffPlansTurningBlueGreenOn(t *testing.T) {
	ns := env.Namespace(t)
	repo := t.TempDir()
	args := []string{"--dir", repo, "--kubeconfig", env.Kubeconfig}
	oneBlueGreenFleet(t, repo, ns, "example/web:1", "2")
	write(t, repo, "gitopsd.yaml", "installations:\n  - name: "+ns+"\n    path: app\n    namespace: "+ns+"\n")
	if out, stderr, code := gitopsd(t, append([]string{"apply"}, args...)...); code != 0 {
		t.Fatalf("apply of the plain installation: exit %d\n%s%s", code, out, stderr)
	}

	oneBlueGreenFleet(t, repo, ns, "example/web:1", "2")
	out, stderr, code := gitopsd(t, append([]string{"diff", "-o", "json"}, args...)...)
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 1 || len(p.Installations) != 1 || p.Installations[0].BlueGreen == nil {
		t.Fatalf("diff: exit %d, want 1; %v\n%s%s", code, err, out, stderr)
	}
	in := p.Installations[0]
	wantBlueGreen(t, in, bluegreen.StartCutover, "a cutover from the plain Deployment web to blue would start")
	wantObjects(t, in, map[string]plan.Action{
		"Deployment.apps/" + ns + "/web-blue": plan.Create,
		"Deployment.apps/" + ns + "/web":      plan.Keep,
		"Service/" + ns + "/web-preview":      plan.Change,
		// It runs apart, once per cutover, as web-check-1.
		"Job.batch/" + ns + "/web-check": plan.Delete,
	})
	for _, o := range in.Objects {
		if o.Name == "web" && !strings.Contains(o.Reason, "serves until the blue colour that replaces it is available") {
			t.Errorf("the plain Deployment is kept for no reason said: %q", o.Reason)
		}
	}
}

// TestDaemonPlansBlueGreenPullRequests: a pull request that changes a
// blue/green installation's image gets a plan check saying a cutover would
// start, with the idle colour created and the Services left alone.
func TestDaemonPlansBlueGreenPullRequests(t *testing.T) {
	f := newServedFleet(t)
	f.main = f.commit("main", blueGreenFiles(f.ns, "example/web:1", "2"))
	gh := githubtest.NewServer(githubtest.Options{})
	defer gh.Close()
	dir := t.TempDir()
	write(t, dir, "token", gh.Token()+"\n")
	write(t, dir, "secret", "s3cret\n")
	d := startDaemon(t, "--repo", f.url, "--interval", "1h", "--cache-dir", filepath.Join(dir, "cache"),
		"--webhook-secret-file", filepath.Join(dir, "secret"),
		"--github-token-file", filepath.Join(dir, "token"), "--github-api-url", gh.URL, "--github-repository", gh.Repository())
	d.waitFor(60*time.Second, "the initial sync", allAt(f.main))

	head := f.commit("change", map[string]string{"app/deployment.yaml": blueGreenFiles(f.ns, "example/web:2", "2")["app/deployment.yaml"]})
	if err := f.repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPR(githubtest.PR{HeadRef: "change", HeadSHA: head, BaseRef: "main", BaseSHA: f.main})
	if err != nil {
		t.Fatal(err)
	}
	d.pullRequest(f.url, "opened", pr)
	if err := pollUntil(30*time.Second, func() bool {
		list := gh.Statuses(head)
		return len(list) > 0 && list[len(list)-1].GetState() != "pending"
	}); err != nil {
		t.Fatalf("no status on the head: %v", gh.Statuses(head))
	}
	if st := gh.Statuses(head); st[len(st)-1].GetState() != "success" || st[len(st)-1].GetDescription() != "1 to create, 0 to change, 0 to delete" {
		t.Errorf("status %s %q, want success: 1 to create, 0 to change, 0 to delete", st[len(st)-1].GetState(), st[len(st)-1].GetDescription())
	}
	cs := gh.Comments(1)
	if len(cs) != 1 {
		t.Fatalf("%d comments, want 1", len(cs))
	}
	body := cs[0].GetBody()
	for _, part := range []string{
		"🔀 Blue/green: a cutover from blue to green would start: web-green gets the new template at 2 replica(s)",
		"➕ create <code>Deployment.apps/" + f.ns + "/web-green</code>",
	} {
		if !strings.Contains(body, part) {
			t.Errorf("the comment has no %q:\n%s", part, body)
		}
	}
}

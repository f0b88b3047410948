package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPagesFollowTheDaemon runs the daemon against a repository of two
// installations and reads its pages after an apply, a drift made by hand
// and a commit that does not render.
func TestPagesFollowTheDaemon(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	suffix := ns[strings.LastIndex(ns, "-")+1:]
	shop, jobs := "shop-"+suffix, "jobs-"+suffix
	const secretInGit, secretByHand = "hunter2-in-git", "changed-by-hand"
	repo := newGitRepo(t, map[string]string{
		"gitopsd.yaml": fmt.Sprintf("installations:\n"+
			"  - name: %s\n    path: shop\n    namespace: %s\n    drift: report\n"+
			"  - name: %s\n    path: jobs\n    namespace: %s\n", shop, ns, jobs, ns),
		"shop/kustomization.yaml": "resources: [settings.yaml, db.yaml, web.yaml]\n",
		"shop/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: live\n",
		"shop/db.yaml":            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + secretInGit + "\n",
		"shop/web.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
		"jobs/kustomization.yaml": "resources: [queue.yaml]\n",
		"jobs/queue.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: queue\ndata:\n  size: \"10\"\n",
	})
	head := git(t, repo.work, "rev-parse", "HEAD")
	d := startDaemon(t, repo.url)
	d.waitStatus(60*time.Second, "both installations applied", func(s web.Status) bool {
		return len(s.Installations) == 2 && s.Installations[0].Phase == reconcile.Ready && s.Installations[1].Phase == reconcile.Ready &&
			s.Installations[1].Changes != nil && s.Installations[1].Changes[0].Health != ""
	})

	// After the apply: the fleet lists both Ready at the commit, with their
	// objects; an installation's page lists what the apply did to each.
	fleet := d.waitPage(5*time.Second, "/",
		fmt.Sprintf(`<tr data-installation="%s" data-phase="Ready">`, shop),
		fmt.Sprintf(`<tr data-installation="%s" data-phase="Ready">`, jobs),
		fmt.Sprintf(`title="%s">%s</code>`, head, head[:7]),
		repo.url, "Leader")
	if !strings.Contains(fleet, `<td data-label="Objects" class="num">3</td>`) {
		t.Errorf("the fleet does not count shop's 3 objects:\n%s", fleet)
	}
	d.waitPage(5*time.Second, "/installations/"+shop,
		fmt.Sprintf(`<tr data-object="ConfigMap/%s/settings">`, ns),
		fmt.Sprintf(`<tr data-object="Secret/%s/db">`, ns),
		fmt.Sprintf(`<tr data-object="Service/%s/web">`, ns),
		`<span class="badge action-created">created</span>`,
		`<span class="badge health-current">Current</span>`,
		"None: the cluster matches Git.")

	// A drift by hand: reported (shop's policy), with the field and the
	// manager, on both pages.
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["mode"] = "maintenance"
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	secret, err := env.Client.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["password"] = []byte(secretByHand)
	if _, err := env.Client.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	page := d.waitPage(10*time.Second, "/installations/"+shop,
		fmt.Sprintf(`<tr data-drift="ConfigMap/%s/settings">`, ns),
		fmt.Sprintf(`<tr data-drift="Secret/%s/db">`, ns),
		`<code class="field">data.mode</code>`,
		`<code class="field">kubectl-edit</code>`,
		`<span class="badge drift-reported">reported</span>`,
		`href="#drift">drifted</a>`)
	fleet = d.waitPage(5*time.Second, "/", `<span class="drift-count">2</span>`)

	// No Secret data on any page or in the JSON, in Git's value or the
	// one set by hand, plain or encoded.
	_, js := d.get("/api/v1/installations")
	_, jsOne := d.get("/api/v1/installations/" + shop)
	for _, value := range []string{secretInGit, secretByHand} {
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
			for what, body := range map[string]string{"fleet page": fleet, "shop's page": page, "JSON status": js, "shop's JSON": jsOne} {
				if strings.Contains(body, form) {
					t.Errorf("%s shows the Secret's data %q", what, form)
				}
			}
		}
	}

	// A commit that does not render: jobs fails with the reason, shop
	// stays Ready.
	broken := repo.commit("jobs: a resource that is not there", map[string]string{"jobs/kustomization.yaml": "resources: [queue.yaml, missing.yaml]\n"})
	fleet = d.waitPage(30*time.Second, "/",
		fmt.Sprintf(`<tr data-installation="%s" data-phase="Failed">`, jobs),
		fmt.Sprintf(`<tr data-installation="%s" data-phase="Ready">`, shop),
		"missing.yaml", "(1 failed)")
	if !strings.Contains(fleet, fmt.Sprintf(`title="%s">%s</code>`, broken, broken[:7])) {
		t.Errorf("the fleet does not show the commit in Git, %s, beside the applied one", broken[:7])
	}
	d.waitPage(5*time.Second, "/installations/"+jobs, "Last error", "missing.yaml", "not applied yet", `<span class="badge phase-failed">`)

	// The JSON API names the installation the page shows, and both say
	// when one does not exist.
	if code, _ := d.get("/api/v1/installations/" + jobs); code != http.StatusOK {
		t.Errorf("GET /api/v1/installations/%s: %d", jobs, code)
	}
	if code, body := d.get("/installations/nope"); code != http.StatusNotFound || !strings.Contains(body, "No installation “nope”") {
		t.Errorf("GET /installations/nope: %d\n%s", code, body)
	}
}

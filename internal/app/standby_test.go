package app

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

// ready asks the daemon's readiness probe.
func (d *daemonProcess) ready() bool {
	res, err := http.Get("http://" + d.addr + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// TestWebhookToTheStandbyReachesTheLeader runs a leader and a standby that
// poll once an hour: a signed push delivered to the standby is applied by
// the leader within 2 s. The standby never fetches the repository, and it
// is ready all the same.
func TestWebhookToTheStandbyReachesTheLeader(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	repo.write("gitopsd.yaml", "installations:\n  - name: forwarded\n    path: app\n")
	repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: forwarded, namespace: default}\ndata: {v: '1'}\n")
	head := repo.commit("v1")
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	write(t, filepath.Dir(secretFile), "webhook-secret", "s3cret\n")
	args := []string{"--repo", repo.dir, "--interval", "1h", "--webhook-secret-file", secretFile,
		"--leader-elect", "--leader-election-lease-duration", "2s", "--leader-election-id", "test-forward"}
	leader, standby := leaderAndStandby(t, startDaemon(t, args...), startDaemon(t, args...), head)

	for i, v := range []string{"2", "3"} {
		repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: forwarded, namespace: default}\ndata: {v: '"+v+"'}\n")
		head = repo.commit("v" + v)
		start := time.Now()
		standby.push("s3cret", repo.dir, "main", head)
		leader.waitFor(5*time.Second, "the commit pushed to the standby", allAt(head))
		took := time.Since(start)
		t.Logf("push %d to the standby applied by the leader in %s", i+1, took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("push %d to the standby took %s to apply, want within 2s", i+1, took)
		}
	}

	s := standby.status()
	if s == nil || s.Leading || len(s.Installations) != 0 || s.Source == nil || s.Source.Commit != "" || s.Source.LastSuccess != nil {
		t.Errorf("the standby keeps a copy of the work: %+v, source %+v", s, s.Source)
	}
	if !standby.ready() {
		t.Error("the standby is not ready")
	}
}

// leaderAndStandby waits until one of a and b leads with every
// installation applied at head, the other stands by, and both are ready.
func leaderAndStandby(t *testing.T, a, b *daemonProcess, head string) (leader, standby *daemonProcess) {
	t.Helper()
	err := pollUntil(60*time.Second, func() bool {
		sa, sb := a.status(), b.status()
		switch {
		case sa != nil && sb != nil && sa.Leading && !sb.Leading && allAt(head)(sa):
			leader, standby = a, b
		case sa != nil && sb != nil && sb.Leading && !sa.Leading && allAt(head)(sb):
			leader, standby = b, a
		}
		return leader != nil
	})
	if err != nil {
		t.Fatalf("no single leader applied: %+v / %+v", a.status(), b.status())
	}
	if err := pollUntil(10*time.Second, func() bool { return leader.ready() && standby.ready() }); err != nil {
		t.Fatalf("ready: leader %v, standby %v; want both", leader.ready(), standby.ready())
	}
	return leader, standby
}

// TestPullRequestToTheStandbyReachesTheLeader runs a leader and a standby
// with plan checks against githubtest, both polling Git and GitHub once an
// hour: a signed pull_request delivered to the standby is handed to the
// leader, whose plan module posts the check's first status within 2 s and
// then its plan. The standby lists no pull requests and plans none.
func TestPullRequestToTheStandbyReachesTheLeader(t *testing.T) {
	f := newServedFleet(t)
	gh := githubtest.NewServer(githubtest.Options{})
	defer gh.Close()
	dir := t.TempDir()
	write(t, dir, "token", gh.Token()+"\n")
	write(t, dir, "secret", "s3cret\n")
	args := func(cache string) []string {
		return []string{"--repo", f.url, "--interval", "1h", "--cache-dir", filepath.Join(dir, cache),
			"--webhook-secret-file", filepath.Join(dir, "secret"),
			"--github-token-file", filepath.Join(dir, "token"), "--github-api-url", gh.URL, "--github-repository", gh.Repository(),
			"--cluster-name", "test", "--leader-elect", "--leader-election-lease-duration", "2s", "--leader-election-id", "test-forward-pr"}
	}
	leader, standby := leaderAndStandby(t, startDaemon(t, args("a")...), startDaemon(t, args("b")...), f.main)

	// The leader's plan module lists the open pull requests as it starts;
	// the one opened after that list reaches it by the webhook alone.
	listed := func() int {
		n := 0
		for _, r := range gh.Requests() {
			if r.Method == http.MethodGet && r.Path == "/repos/"+gh.Repository()+"/pulls" {
				n++
			}
		}
		return n
	}
	if err := pollUntil(30*time.Second, func() bool { return listed() > 0 }); err != nil {
		t.Fatal("the leader never listed the open pull requests")
	}
	head := f.commit("change", map[string]string{"web/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"})
	if err := f.repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPR(githubtest.PR{HeadRef: "change", HeadSHA: head, BaseRef: "main", BaseSHA: f.main})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	code, reply := standby.deliver("pull_request", map[string]any{
		"action": "opened", "pull_request": pr,
		"repository": map[string]any{"clone_url": f.url, "full_name": gh.Repository()},
	})
	if code != http.StatusAccepted || reply.Result != "planned" || reply.ForwardedTo != leader.addr {
		t.Errorf("pull_request to the standby: %d %+v; want 202 planned, forwarded to the leader at %s", code, reply, leader.addr)
	}
	if err := pollUntil(10*time.Second, func() bool { return len(gh.Statuses(head)) > 0 }); err != nil {
		t.Fatal("no status on the pull request's head")
	}
	took := time.Since(start)
	t.Logf("pull_request to the standby: the leader's first status after %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("a pull_request to the standby took %s to reach the leader's plan checks, want within 2s", took)
	}
	var final string
	if err := pollUntil(30*time.Second, func() bool {
		list := gh.Statuses(head)
		last := list[len(list)-1]
		final = last.GetState() + " " + last.GetDescription()
		return last.GetState() != "pending"
	}); err != nil {
		t.Fatalf("the check stays %q", final)
	}
	if want := "success 1 to create, 0 to change, 0 to delete"; final != want {
		t.Errorf("status %q, want %q", final, want)
	}

	var onLeader, onStandby web.PullRequests
	getJSON(t, "http://"+leader.addr+"/api/v1/plans", &onLeader)
	getJSON(t, "http://"+standby.addr+"/api/v1/plans", &onStandby)
	if len(onLeader.Pulls) != 1 || onLeader.Pulls[0].Head != head {
		t.Errorf("the leader's plans: %+v", onLeader.Pulls)
	}
	if len(onStandby.Pulls) != 0 {
		t.Errorf("the standby keeps plans of its own: %+v", onStandby.Pulls)
	}
	if n := listed(); n != 1 {
		t.Errorf("open pull requests listed %d times, want once (by the leader only)", n)
	}
}

// webhookReply is the JSON body of a webhook answer.
type webhookReply struct {
	Result, Reason string
	ForwardedTo    string `json:"forwardedTo"`
}

// deliver posts a GitHub delivery of event with payload, signed with the
// tests' secret, and returns the answer.
func (d *daemonProcess) deliver(event string, payload any) (int, webhookReply) {
	d.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		d.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	var rep webhookReply
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		d.t.Errorf("%s webhook answer: %v", event, err)
	}
	return res.StatusCode, rep
}

func TestAdvertiseAddr(t *testing.T) {
	for _, tc := range []struct{ flag, httpAddr, podIP, want string }{
		{"", ":8080", "10.1.2.3", "10.1.2.3:8080"},
		{"", ":8080", "fd00::3", "[fd00::3]:8080"},
		{"gitopsd-0.gitopsd:9090", ":8080", "10.1.2.3", "gitopsd-0.gitopsd:9090"},
		{"", "127.0.0.1:18080", "", "127.0.0.1:18080"},
		{"", ":8080", "", ""},
		{"", "0.0.0.0:8080", "", ""},
		{"", "[::]:8080", "", ""},
	} {
		if got := advertiseAddr(tc.flag, tc.httpAddr, tc.podIP); got != tc.want {
			t.Errorf("advertiseAddr(%q, %q, %q) = %q, want %q", tc.flag, tc.httpAddr, tc.podIP, got, tc.want)
		}
	}
}

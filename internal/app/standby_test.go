package app

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"
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
	a, b := startDaemon(t, args...), startDaemon(t, args...)

	var leader, standby *daemonProcess
	err := pollUntil(30*time.Second, func() bool {
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

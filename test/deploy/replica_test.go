package deploy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/image"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replica is gitopsd run as one Pod of the Deployment would run it.
type replica struct {
	t    *testing.T
	pod  *corev1.Pod
	spec corev1.Container
	addr string
	// mounts maps each mount path of the container to a local directory.
	mounts map[string]string
	cmd    *exec.Cmd
	logs   *daemontest.Buffer
	done   chan struct{}
	err    error
}

// startReplica runs the binary with the arguments and environment of pod's
// container: the ConfigMap it names, the Downward API fields it asks for,
// the image's own environment, and a kubeconfig holding only a
// ServiceAccount token. Volumes become temporary directories and the HTTP
// port a free loopback one.
func startReplica(t *testing.T, pod *corev1.Pod, kubeconfig string) *replica {
	t.Helper()
	return start(t, pod, func(r *replica) *exec.Cmd {
		cmd := exec.Command(gitopsd, r.args()...)
		cmd.Env = append(r.env(), "GITOPSD_KUBECONFIG="+kubeconfig)
		return cmd
	})
}

// start runs the command that command makes of the replica of pod.
func start(t *testing.T, pod *corev1.Pod, command func(*replica) *exec.Cmd) *replica {
	t.Helper()
	spec := pod.Spec.Containers[0]
	if len(spec.Command) != 0 {
		t.Fatalf("container %s sets a command %q; the image's entrypoint is gitopsd", spec.Name, spec.Command)
	}
	r := &replica{t: t, pod: pod, spec: spec, addr: daemontest.FreeAddr(t), logs: &daemontest.Buffer{}, done: make(chan struct{})}
	r.mountVolumes()
	r.cmd = command(r)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("%s logs:\n%s", pod.Name, r.logs.String())
		}
	})
	return r
}

// mountVolumes gives each volume mount a directory, holding the Secret's
// keys as files for a Secret volume, as the kubelet does.
func (r *replica) mountVolumes() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.mounts = map[string]string{}
	for _, m := range r.spec.VolumeMounts {
		dir := r.t.TempDir()
		r.mounts[m.MountPath] = dir
		i := slices.IndexFunc(r.pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			r.t.Fatalf("container %s mounts volume %s, which the Pod does not have", r.spec.Name, m.Name)
		}
		src := r.pod.Spec.Volumes[i].Secret
		if src == nil {
			continue
		}
		secret, err := env.Client.CoreV1().Secrets(r.pod.Namespace).Get(ctx, src.SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && src.Optional != nil && *src.Optional {
			continue
		}
		if err != nil {
			r.t.Fatalf("volume %s: %v", m.Name, err)
		}
		for k, v := range secret.Data {
			if err := os.WriteFile(filepath.Join(dir, k), v, 0o644); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// local moves a path under a mount path to this machine.
func (r *replica) local(s string) string {
	for path, dir := range r.mounts {
		if s == path || strings.HasPrefix(s, path+"/") {
			return dir + strings.TrimPrefix(s, path)
		}
	}
	return s
}

// args are the container's arguments with mount paths and the HTTP port
// moved to this machine.
func (r *replica) args() []string {
	args := slices.Clone(r.spec.Args)
	for i, arg := range args {
		if strings.HasPrefix(arg, "--http-addr=") {
			args[i] = "--http-addr=" + r.addr
			continue
		}
		if flag, value, ok := strings.Cut(arg, "="); ok {
			args[i] = flag + "=" + r.local(value)
		}
	}
	return args
}

// env is the container's environment as the kubelet builds it: the image's
// variables, then envFrom, then env, each overriding the one before.
func (r *replica) env() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vars := image.Config(image.DefaultOptions()).Env
	for i, v := range vars {
		if strings.HasPrefix(v, "HOME=") {
			vars[i] = "HOME=" + r.t.TempDir()
		}
	}
	for _, from := range r.spec.EnvFrom {
		if from.ConfigMapRef == nil {
			r.t.Fatalf("container %s: envFrom other than a ConfigMap", r.spec.Name)
		}
		cm, err := env.Client.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			r.t.Fatalf("container %s: envFrom ConfigMap: %v", r.spec.Name, err)
		}
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			vars = append(vars, k+"="+r.local(cm.Data[k]))
		}
	}
	for _, e := range r.spec.Env {
		vars = append(vars, e.Name+"="+r.local(r.value(e)))
	}
	return vars
}

// value resolves one env entry; the Downward API fields are the only
// references deploy/ uses.
func (r *replica) value(e corev1.EnvVar) string {
	switch {
	case e.ValueFrom == nil:
		return e.Value
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
		return r.pod.Name
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
		return r.pod.Namespace
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
		// The Pods' network is this machine's loopback, where each
		// replica listens on the port args moved it to.
		return "127.0.0.1"
	}
	r.t.Fatalf("container %s: env %s refers to something this test cannot resolve", r.spec.Name, e.Name)
	return ""
}

// probe asks what the kubelet would ask; it returns the HTTP status, or 0
// when the replica does not answer.
func (r *replica) probe(p *corev1.Probe) int {
	r.t.Helper()
	if p == nil || p.HTTPGet == nil {
		r.t.Fatalf("container %s: want an HTTP probe, have %+v", r.spec.Name, p)
	}
	client := http.Client{Timeout: time.Duration(max(p.TimeoutSeconds, 1)) * time.Second}
	res, err := client.Get("http://" + r.addr + p.HTTPGet.Path)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// get fetches path from the replica's HTTP port and returns the body of
// a 200 answer.
func (r *replica) get(path string) (string, error) {
	res, err := http.Get("http://" + r.addr + path)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return string(body), err
}

// errExited ends a wait: a replica that exited does not come back.
var errExited = errors.New("exited")

// status is the replica's status API answer, decoded loosely.
type status struct {
	Leading bool `json:"leading"`
	Source  struct {
		Commit              string `json:"commit"`
		ConsecutiveFailures int    `json:"consecutiveFailures"`
	} `json:"source"`
	Installations []struct {
		Name, Phase, AppliedCommit, Message, LastError string
	} `json:"installations"`
}

func (r *replica) status() (*status, error) {
	select {
	case <-r.done:
		return nil, fmt.Errorf("%s %w (%v)", r.pod.Name, errExited, r.err)
	default:
	}
	res, err := http.Get("http://" + r.addr + "/api/v1/installations")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var s status
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s status: %w", r.pod.Name, err)
	}
	return &s, nil
}

// ping delivers a GitHub ping signed with secret and returns the HTTP status.
func (r *replica) ping(secret string) int {
	return r.deliver("ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), secret)
}

// push delivers a GitHub push of commit to main of repoURL, signed with
// secret, and returns the HTTP status.
func (r *replica) push(secret, repoURL, commit string) int {
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "after": commit,
		"repository": map[string]any{"clone_url": repoURL, "html_url": repoURL, "full_name": "example/fleet"},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return r.deliver("push", body, secret)
}

// deliver posts a GitHub webhook delivery of event signed with secret and
// returns the HTTP status.
func (r *replica) deliver(event string, body []byte, secret string) int {
	r.t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+r.addr+"/hooks/github", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// stop sends SIGTERM, as the kubelet does, and waits for the exit.
func (r *replica) stop(grace time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-r.done:
		return time.Since(start), r.err
	case <-time.After(grace):
		return grace, fmt.Errorf("%s still running %s after SIGTERM; the kubelet would kill it", r.pod.Name, grace)
	}
}

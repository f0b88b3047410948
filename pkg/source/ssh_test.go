package source

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer is a minimal Git SSH server: it accepts one client key and runs
// the real git-upload-pack for exec requests, as a Git host does.
type sshServer struct {
	addr    string
	hostKey ssh.PublicKey
}

func newSSHServer(t *testing.T, root string, clientKey ssh.PublicKey) *sshServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveSSH(c, cfg, root) })
		}
	})
	return &sshServer{addr: l.Addr().String(), hostKey: signer.PublicKey()}
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig, root string) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go serveSession(ch, requests, root)
	}
}

func serveSession(ch ssh.Channel, requests <-chan *ssh.Request, root string) {
	defer ch.Close()
	for req := range requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		// go-git sends: git-upload-pack '/fleet.git'
		service, arg, _ := strings.Cut(payload.Command, " ")
		if service != "git-upload-pack" {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git-upload-pack", filepath.Join(root, strings.Trim(arg, "'")))
		cmd.Env = gitEnv(root)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// writeClientKey writes a new OpenSSH private key and returns its path and
// public half.
func writeClientKey(t *testing.T, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return p, sshPub
}

func TestPollSSH(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	dir := t.TempDir()
	keyFile, clientPub := writeClientKey(t, dir, "id_ed25519")
	otherKey, _ := writeClientKey(t, dir, "id_other")
	srv := newSSHServer(t, root, clientPub)
	url := fmt.Sprintf("ssh://git@%s/fleet.git", srv.addr)

	knownHosts := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey)
	if err := os.WriteFile(knownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, wrongHostKey := writeClientKey(t, dir, "not_the_host")
	wrongHosts := filepath.Join(dir, "wrong_known_hosts")
	wrongLine := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, wrongHostKey)
	if err := os.WriteFile(wrongHosts, []byte(wrongLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withAuth := func(a Auth) Options {
		o := testOptions(url, "main", t.TempDir())
		o.Auth = a
		return o
	}

	t.Run("known host", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{SSHKeyFile: keyFile, KnownHostsFile: knownHosts}), nil)
		if s := mustPoll(t, p); s.Commit != repo.head() || s.URL != url {
			t.Fatalf("snapshot %s from %s, want %s", s.Commit, s.URL, repo.head())
		}
		want := repo.commit("over ssh", map[string]string{"ssh.yaml": "ok: true\n"})
		if s := mustPoll(t, p); s.Commit != want || readFile(t, s, "ssh.yaml") != "ok: true\n" {
			t.Fatalf("snapshot %s, want %s", s.Commit, want)
		}
	})

	t.Run("host key mismatch", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{SSHKeyFile: keyFile, KnownHostsFile: wrongHosts}), nil)
		_, err := p.Poll(context.Background())
		t.Logf("error: %v", err)
		if ReasonOf(err) != ReasonHostKey || !strings.Contains(err.Error(), "host key verification failed for "+url) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("explicitly ignored host key", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{SSHKeyFile: keyFile, InsecureIgnoreHostKey: true}), nil)
		mustPoll(t, p)
	})

	t.Run("key the server does not know", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{SSHKeyFile: otherKey, KnownHostsFile: knownHosts}), nil)
		_, err := p.Poll(context.Background())
		t.Logf("error: %v", err)
		if ReasonOf(err) != ReasonAuth || !strings.Contains(err.Error(), "authentication failed for "+url) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("unreadable key", func(t *testing.T) {
		bad := filepath.Join(dir, "garbage")
		if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := newTestPoller(t, withAuth(Auth{SSHKeyFile: bad, KnownHostsFile: knownHosts}), nil)
		_, err := p.Poll(context.Background())
		if ReasonOf(err) != ReasonConfig || !strings.Contains(err.Error(), "SSH key file "+bad) {
			t.Fatalf("err = %v", err)
		}
	})
}

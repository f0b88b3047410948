package source

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// DefaultTokenUsername is sent with a password or token when Auth.Username
// is empty. GitHub accepts any username with a token and asks for this one
// with app installation tokens.
const DefaultTokenUsername = "x-access-token"

// Auth says how to authenticate to the repository. Secrets are never held
// in the options themselves: they are read from the named file or
// environment variable at each poll, so a rotated token (a re-mounted
// Secret, a refreshed app token) is picked up without a restart, and so a
// secret never sits in a flag value, a log line or an error.
type Auth struct {
	// Username for HTTPS basic auth; DefaultTokenUsername when empty.
	Username string
	// PasswordFile holds an HTTPS password or token (trailing newlines ignored).
	PasswordFile string
	// PasswordEnv names an environment variable holding an HTTPS password or token.
	PasswordEnv string

	// SSHKeyFile is an unencrypted private key in OpenSSH or PEM format.
	SSHKeyFile string
	// KnownHostsFile is an OpenSSH known_hosts file used to check the server.
	KnownHostsFile string
	// InsecureIgnoreHostKey accepts any SSH host key. Only for tests and
	// throw-away setups: it lets anyone on the path impersonate the server.
	InsecureIgnoreHostKey bool
}

// Validate checks that the fields make one coherent method. It does not read
// the secret: that is done at each poll.
func (a Auth) Validate() error {
	var errs []error
	if a.PasswordFile != "" && a.PasswordEnv != "" {
		errs = append(errs, errors.New("auth: set only one of password file and password environment variable"))
	}
	basic := a.PasswordFile != "" || a.PasswordEnv != ""
	if a.Username != "" && !basic {
		errs = append(errs, errors.New("auth: a username needs a password file or password environment variable"))
	}
	if a.SSHKeyFile != "" && basic {
		errs = append(errs, errors.New("auth: set either an SSH key or an HTTPS password, not both"))
	}
	if a.SSHKeyFile == "" && (a.KnownHostsFile != "" || a.InsecureIgnoreHostKey) {
		errs = append(errs, errors.New("auth: known hosts settings need an SSH key file"))
	}
	if a.SSHKeyFile != "" && a.KnownHostsFile == "" && !a.InsecureIgnoreHostKey {
		errs = append(errs, errors.New("auth: an SSH key needs a known hosts file to check the server (or the explicit insecure-ignore-host-key opt-in)"))
	}
	if a.KnownHostsFile != "" && a.InsecureIgnoreHostKey {
		errs = append(errs, errors.New("auth: set either a known hosts file or insecure-ignore-host-key, not both"))
	}
	return errors.Join(errs...)
}

func (a Auth) isZero() bool { return a == Auth{} }

// validateFor checks that the method fits the repository's protocol.
func (a Auth) validateFor(ep *transport.Endpoint) error {
	basic := a.PasswordFile != "" || a.PasswordEnv != ""
	switch ep.Protocol {
	case protoHTTP, protoHTTPS:
		if a.SSHKeyFile != "" {
			return fmt.Errorf("auth: an SSH key cannot be used with an %s URL", ep.Protocol)
		}
	case protoSSH:
		if basic {
			return errors.New("auth: a password cannot be used with an ssh URL; use an SSH key")
		}
		if a.SSHKeyFile == "" {
			return errors.New("auth: an ssh URL needs an SSH key file and a known hosts file")
		}
	case protoFile:
		if !a.isZero() {
			return errors.New("auth: local repositories take no credentials")
		}
	}
	return nil
}

// Method builds the go-git AuthMethod for the repository at repoURL, reading
// the secret now. It returns nil when no credentials are configured. Errors
// name the file or variable, never its content.
func (a Auth) Method(repoURL string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(repoURL)
	if err != nil {
		return nil, fmt.Errorf("auth: repository URL %q: %w", RedactURL(repoURL), err)
	}
	switch {
	case a.PasswordFile != "" || a.PasswordEnv != "":
		pw, err := a.readPassword()
		if err != nil {
			return nil, err
		}
		user := a.Username
		if user == "" {
			user = DefaultTokenUsername
		}
		return &githttp.BasicAuth{Username: user, Password: pw}, nil
	case a.SSHKeyFile != "":
		return a.sshMethod(ep)
	}
	return nil, nil
}

func (a Auth) readPassword() (string, error) {
	if a.PasswordFile != "" {
		b, err := os.ReadFile(a.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("auth: read password file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return "", fmt.Errorf("auth: password file %s is empty", a.PasswordFile)
		}
		return pw, nil
	}
	pw, ok := os.LookupEnv(a.PasswordEnv)
	if !ok {
		return "", fmt.Errorf("auth: environment variable %s is not set", a.PasswordEnv)
	}
	if pw == "" {
		return "", fmt.Errorf("auth: environment variable %s is empty", a.PasswordEnv)
	}
	return pw, nil
}

func (a Auth) sshMethod(ep *transport.Endpoint) (transport.AuthMethod, error) {
	user := ep.User
	if user == "" {
		user = "git"
	}
	key, err := os.ReadFile(a.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("auth: read SSH key file: %w", err)
	}
	m, err := gitssh.NewPublicKeys(user, key, "")
	if err != nil {
		// The parse error never quotes key material, but say which file.
		return nil, fmt.Errorf("auth: SSH key file %s: %w", a.SSHKeyFile, err)
	}
	if a.InsecureIgnoreHostKey {
		m.HostKeyCallback = ssh.InsecureIgnoreHostKey()
		return m, nil
	}
	db, err := gitssh.NewKnownHostsDb(a.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("auth: known hosts file %s: %w", a.KnownHostsFile, err)
	}
	m.HostKeyCallback = db.HostKeyCallback()
	// Offer only the key types known_hosts holds for this host, so the server
	// does not pick a type we would then reject as unknown.
	port := ep.Port
	if port == 0 {
		port = 22
	}
	m.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	return m, nil
}

package source

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// RefKind says what a configured ref names.
type RefKind int

const (
	// Branch follows the tip of a branch.
	Branch RefKind = iota
	// Tag follows a tag (lightweight or annotated); a moved tag is followed too.
	Tag
	// Commit pins one commit by its full SHA.
	Commit
)

// String names the kind the way error messages do.
func (k RefKind) String() string {
	switch k {
	case Branch:
		return "branch"
	case Tag:
		return "tag"
	case Commit:
		return "commit"
	}
	return fmt.Sprintf("RefKind(%d)", int(k))
}

// Ref is a parsed ref: what to follow in the repository.
type Ref struct {
	Kind RefKind
	// Name is the short name for a branch or tag and the lowercase SHA for a commit.
	Name string
}

// ParseRef reads the forms a user may configure: a 40-hex commit SHA, a full
// "refs/heads/NAME" or "refs/tags/NAME", or a plain NAME, which is a branch.
// A plain name is never guessed to be a tag: a GitOps source that silently
// switched to a tag because someone pushed one of the same name would be a
// surprise no one wants.
func ParseRef(s string) (Ref, error) {
	switch {
	case s == "":
		return Ref{}, fmt.Errorf("ref is empty")
	case isFullSHA(s):
		return Ref{Kind: Commit, Name: strings.ToLower(s)}, nil
	case strings.HasPrefix(s, "refs/heads/"):
		return checkRefName(Ref{Kind: Branch, Name: strings.TrimPrefix(s, "refs/heads/")}, s)
	case strings.HasPrefix(s, "refs/tags/"):
		return checkRefName(Ref{Kind: Tag, Name: strings.TrimPrefix(s, "refs/tags/")}, s)
	case strings.HasPrefix(s, "refs/"):
		return Ref{}, fmt.Errorf("ref %q: only refs/heads/ and refs/tags/ can be followed", s)
	}
	return checkRefName(Ref{Kind: Branch, Name: s}, s)
}

// FullName is the name the remote advertises, e.g. refs/heads/main; empty for
// a commit.
func (r Ref) FullName() plumbing.ReferenceName {
	switch r.Kind {
	case Branch:
		return plumbing.NewBranchReferenceName(r.Name)
	case Tag:
		return plumbing.NewTagReferenceName(r.Name)
	}
	return ""
}

// String is the ref as error messages name it: branch "main", tag "v1".
func (r Ref) String() string {
	return fmt.Sprintf("%s %q", r.Kind, r.Name)
}

func isFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// checkRefName applies the parts of git-check-ref-format that matter for a
// name we put into a refspec: anything else is refused by the server anyway,
// but with a far less helpful message.
func checkRefName(r Ref, configured string) (Ref, error) {
	n := r.Name
	bad := n == "" || strings.HasPrefix(n, "/") || strings.HasSuffix(n, "/") ||
		strings.HasSuffix(n, ".lock") || strings.HasSuffix(n, ".") ||
		strings.Contains(n, "..") || strings.Contains(n, "//") || strings.Contains(n, "@{") ||
		strings.HasPrefix(n, "-") || strings.ContainsAny(n, " ~^:?*[\\")
	for _, c := range n {
		if c < 0x20 || c == 0x7f {
			bad = true
		}
	}
	if bad {
		return Ref{}, fmt.Errorf("ref %q is not a valid git ref name", configured)
	}
	return r, nil
}

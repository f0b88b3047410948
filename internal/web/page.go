package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// page is what a template renders: the status at one moment, and the
// helpers that turn its values into words and links.
type page struct {
	Title   string
	Now     time.Time
	Refresh time.Duration
	Status  *Status
	// Installation is the installation of an installation's page; nil on
	// the fleet page and when Missing names one that does not exist.
	Installation *reconcile.InstallationStatus
	Missing      string
	// Pull is the pull request of a plan's page; nil on other pages and
	// when MissingPull names one that is not known.
	Pull        *plancheck.Pull
	MissingPull string
	// PlanChecks says, on a missing plan's page, whether the daemon plans
	// pull requests at all.
	PlanChecks bool

	repository string // OWNER/NAME when the source is on GitHub
	drifted    map[string]bool
}

func newPage(s *Status, now time.Time, refresh time.Duration) *page {
	p := &page{Title: "gitopsd · fleet", Now: now, Refresh: refresh, Status: s}
	if s.Source != nil {
		// A repository elsewhere (a path, another host) is not linked.
		p.repository, _ = github.RepositoryOf(s.Source.URL, "https://api.github.com")
	}
	if n := s.count(reconcile.Failed); n > 0 {
		p.Title = fmt.Sprintf("(%d failed) %s", n, p.Title)
	}
	return p
}

// forInstallation turns p into the page of the installation called name.
func (p *page) forInstallation(name string) {
	p.Title = name + " · gitopsd"
	in, ok := p.Status.Installation(name)
	if !ok {
		p.Missing = name
		return
	}
	p.Installation = &in
	if in.Phase == reconcile.Failed {
		p.Title = "(failed) " + p.Title
	}
	p.drifted = map[string]bool{}
	for _, d := range in.Drift {
		p.drifted[d.Object] = true
	}
}

// RefreshMillis is how often the script fetches the page again.
func (p *page) RefreshMillis() int64 { return p.Refresh.Milliseconds() }

// RepositoryURL is where a browser shows the repository; empty when it is
// not on GitHub (a file path or another host is not linked).
func (p *page) RepositoryURL() string {
	if p.repository == "" {
		return ""
	}
	u := url.URL{Scheme: "https", Host: "github.com", Path: "/" + p.repository}
	if ref := p.Status.Source.Ref; ref != "" {
		u.Path += "/tree/" + strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	}
	return u.String()
}

// Commit is a commit as the "commit" template shows it: short, linked to
// the repository's page of it when the repository is on GitHub.
func (p *page) Commit(sha string) commit {
	c := commit{Full: sha, Short: sha}
	if len(sha) > 7 {
		c.Short = sha[:7]
	}
	if p.repository != "" && sha != "" {
		c.URL = "https://github.com/" + p.repository + "/commit/" + url.PathEscape(sha)
	}
	return c
}

type commit struct{ Full, Short, URL string }

// JSONURL is the API twin of the page.
func (p *page) JSONURL() string {
	switch {
	case p.Installation != nil:
		return "/api/v1/installations/" + url.PathEscape(p.Installation.Name)
	case p.Pull != nil:
		return "/api/v1/plans/" + strconv.Itoa(p.Pull.Number)
	}
	return "/api/v1/installations"
}

// Drifted reports whether the object has drift now.
func (p *page) Drifted(object string) bool { return p.drifted[object] }

// Phases counts the installations in each phase that has any.
func (p *page) Phases() []phaseCount {
	var out []phaseCount
	for _, ph := range []reconcile.Phase{reconcile.Ready, reconcile.Progressing, reconcile.Held, reconcile.Failed} {
		if n := p.Status.count(ph); n > 0 {
			out = append(out, phaseCount{Phase: ph, Count: n})
		}
	}
	return out
}

type phaseCount struct {
	Phase reconcile.Phase
	Count int
}

func (s *Status) count(phase reconcile.Phase) int {
	n := 0
	for _, in := range s.Installations {
		if in.Phase == phase {
			n++
		}
	}
	return n
}

// Reason is what the fleet row says after the phase: why it is held or
// failed, and when it is tried again; what is under way; or the last
// apply's summary.
func (p *page) Reason(in reconcile.InstallationStatus) string {
	return message(in, p.Now)
}

// Actions counts the last apply's objects by action, in summary order.
func (p *page) Actions(counts map[string]int) []actionCount {
	var out []actionCount
	for _, a := range apply.Actions {
		if n := counts[string(a)]; n > 0 {
			out = append(out, actionCount{Action: string(a), Count: n})
		}
	}
	return out
}

type actionCount struct {
	Action string
	Count  int
}

// ObjectCount is the number of objects the installation has in the
// cluster after its last apply.
func (p *page) ObjectCount(counts map[string]int) string { return objectCount(counts) }

// Ago is a past time for the page: relative words, the exact time on hover.
func (p *page) Ago(t *time.Time) moment {
	if t == nil {
		return moment{Text: "never"}
	}
	return moment{ISO: t.UTC().Format(time.RFC3339), Title: t.UTC().Format("2006-01-02 15:04:05 UTC"), Text: humanDuration(p.Now.Sub(*t)) + " ago"}
}

// Since is Ago of a time that is always set.
func (p *page) Since(t time.Time) moment { return p.Ago(&t) }

// In is a future time for the page; one already past reads "now".
func (p *page) In(t *time.Time) moment {
	if t == nil {
		return moment{Text: "-"}
	}
	text := "now"
	if d := t.Sub(p.Now); d >= time.Second {
		text = "in " + humanDuration(d)
	}
	return moment{ISO: t.UTC().Format(time.RFC3339), Title: t.UTC().Format("2006-01-02 15:04:05 UTC"), Text: text}
}

// moment is a time as the "time" template shows it.
type moment struct{ ISO, Title, Text string }

// humanDuration keeps the two largest units: 45s, 3m12s, 2h5m, 3d4h.
func humanDuration(d time.Duration) string {
	d = max(d.Round(time.Second), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// kindName splits "Kind.group/namespace/name" into the kind and the rest,
// which the pages show apart.
func kindName(object string) [2]string {
	kind, rest, _ := strings.Cut(object, "/")
	return [2]string{kind, rest}
}

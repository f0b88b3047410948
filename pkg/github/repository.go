package github

import (
	"fmt"
	"net/url"
	"strings"
)

// RepositoryOf derives OWNER/NAME from the URL of a repository hosted by
// the GitHub whose API is at apiURL: https://github.com/OWNER/NAME(.git),
// ssh://git@github.com/OWNER/NAME or git@github.com:OWNER/NAME for
// api.github.com, the same on HOST for an Enterprise Server API at
// https://HOST/api/v3/. Anything else is an error saying to name the
// repository explicitly.
func RepositoryOf(repoURL, apiURL string) (string, error) {
	api, err := url.Parse(apiURL)
	if err != nil || api.Host == "" {
		return "", fmt.Errorf("github: API URL %q is not a URL", apiURL)
	}
	web := strings.ToLower(api.Hostname())
	if web == "api.github.com" {
		web = "github.com"
	}
	host, path, ok := splitRepoURL(repoURL)
	if !ok || !strings.EqualFold(host, web) {
		return "", fmt.Errorf("github: repository URL %q is not on %s; name the repository as OWNER/NAME", repoURL, web)
	}
	repo := strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if _, _, err := splitRepository(repo); err != nil || strings.Count(repo, "/") != 1 {
		return "", fmt.Errorf("github: repository URL %q does not end in OWNER/NAME", repoURL)
	}
	return repo, nil
}

// splitRepoURL reads the host and path of an https, ssh or scp-like URL.
func splitRepoURL(raw string) (host, path string, ok bool) {
	if !strings.Contains(raw, "://") {
		// scp-like: [user@]host:path
		at := strings.LastIndex(raw, "@")
		host, path, ok = strings.Cut(raw[at+1:], ":")
		return host, path, ok && host != "" && !strings.Contains(host, "/")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh") {
		return "", "", false
	}
	return u.Hostname(), u.Path, u.Hostname() != ""
}

// Package githubtest is an in-process fake of the few GitHub REST endpoints
// gitopsd calls, for tests and the demo. It serves one repository over
// HTTP, speaks JSON shaped with go-github's own types, and keeps what
// clients post so a test can read it back:
//
//   - commit statuses: create, list for a ref, combined status for a ref
//   - pull requests: list (filtered by state, base and head), get, and the
//     pull requests associated with a commit (commits/{sha}/pulls)
//   - issue comments on pull requests: list, create, edit
//   - GET /user, the token's own account
//
// Like GitHub it answers 401 without the token, 422 for a status
// description over 140 characters or a comment body over 65,536, and 404
// for what it does not know. It can be told to answer the next requests
// with a primary or secondary rate-limit error. Paths are served both at
// the root (github.com's https://api.github.com/) and under /api/v3/
// (GitHub Enterprise Server).
//
// Usage:
//
//	srv := githubtest.NewServer(githubtest.Options{})
//	defer srv.Close()
//	pr, _ := srv.OpenPR(githubtest.PR{HeadRef: "change", HeadSHA: head, BaseRef: "main", BaseSHA: base})
//	// point a client at srv.URL with srv.Token() ...
//	statuses := srv.Statuses(head)
//
// Every method is safe for concurrent use.
package githubtest

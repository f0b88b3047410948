// Package gittest makes real Git repositories with the git CLI and serves
// them over smart HTTP with git http-backend, for tests, the demo and the
// benchmarks. Nothing is faked: what a client fetches is what git serves.
//
// A Repo is a bare repository (what is served) and a working clone that
// commits and pushes to it. SetRef moves any ref of the bare repository, as
// GitHub does with refs/pull/N/head when a pull request's branch moves.
//
//	srv, err := gittest.NewServer(root)
//	defer srv.Close()
//	repo, err := gittest.NewRepo(root, "fleet")
//	main, err := repo.Commit("main", "the fleet", map[string]string{"gitopsd.yaml": "..."})
//	head, err := repo.Commit("change", "a change", map[string]string{"web/cm.yaml": "..."})
//	err = repo.SetRef("refs/pull/1/head", head)
//	url := srv.URL + "/fleet.git"
//
// NewHandler is the same http-backend without a server, for a test that
// wraps it (authentication, outages).
//
// The git CLI runs isolated from the machine's and the user's configuration.
package gittest

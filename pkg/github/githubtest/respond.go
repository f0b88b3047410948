package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-github/v57/github"
)

const restDoc = "https://docs.github.com/rest"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers GitHub's error shape: a message and a documentation URL.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorDoc(w, status, msg, restDoc)
}

func writeErrorDoc(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, &github.ErrorResponse{Message: msg, DocumentationURL: doc})
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, "Not Found") }

// validationFailed is GitHub's 422 for one bad field.
func validationFailed(w http.ResponseWriter, resource, field, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, &github.ErrorResponse{
		Message:          "Validation Failed",
		Errors:           []github.Error{{Resource: resource, Field: field, Code: "custom", Message: msg}},
		DocumentationURL: restDoc,
	})
}

// decode reads a JSON request body into v, answering 400 as GitHub does
// when it does not parse.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// page cuts items to the page the request asks for (per_page default 30,
// at most 100) and sets the Link header GitHub sends, which go-github
// reads into Response.NextPage.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per := min(max(atoiOr(q.Get("per_page"), 30), 1), 100)
	n := max(atoiOr(q.Get("page"), 1), 1)
	last := max((len(items)+per-1)/per, 1)
	var links []string
	link := func(p int, rel string) {
		q.Set("page", strconv.Itoa(p))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
	}
	if n < last {
		link(n+1, "next")
		link(last, "last")
	}
	if n > 1 {
		link(1, "first")
		link(n-1, "prev")
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo := min((n-1)*per, len(items))
	return items[lo:min(lo+per, len(items))]
}

func atoiOr(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

// isSHA reports whether s is a full commit SHA (SHA-1 or SHA-256).
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

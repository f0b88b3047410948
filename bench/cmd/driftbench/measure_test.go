package main

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	counts, reads := classify([]string{
		"GET /api/v1/configmaps?allowWatchBookmarks=true&labelSelector=gitopsd.io%2Finstallation&watch=true",
		"GET /apis/apps/v1/deployments?labelSelector=gitopsd.io%2Finstallation&limit=500",
		"GET /api/v1/namespaces/a/services/web?",
		"PATCH /api/v1/namespaces/a/configmaps/x?dryRun=All&fieldManager=gitopsd&force=true",
	})
	if want := (RequestCounts{Watches: 1, Reads: 2, Writes: 1}); counts != want {
		t.Errorf("classify = %+v, want %+v", counts, want)
	}
	if len(reads) != 2 {
		t.Errorf("reads listed: %v", reads)
	}
}

func TestPerMinute(t *testing.T) {
	if got := PerMinute(3, 30*time.Second); got != 6 {
		t.Errorf("PerMinute(3, 30s) = %v, want 6", got)
	}
}

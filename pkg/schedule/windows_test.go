package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustWindow(t *testing.T, kind Kind, expr string, d time.Duration, tz string) Window {
	t.Helper()
	w, err := NewWindow(kind, expr, d, tz)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAllowed(t *testing.T) {
	// Weekdays 09:00-17:00 Berlin time are denied; 2026-11-23 is a Monday.
	office := mustWindow(t, Deny, "0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")
	nights := mustWindow(t, Allow, "0 22 * * *", 2*time.Hour, "UTC")
	tests := []struct {
		name    string
		windows Windows
		t       string
		ok      bool
		until   string
	}{
		{"no windows", nil, "2026-11-23T10:00:00Z", true, ""},
		{"inside a deny window", Windows{office}, "2026-11-23T10:00:00Z", false, "2026-11-23T16:00:00Z"},
		{"deny window edge is open at its start", Windows{office}, "2026-11-23T08:00:00Z", false, "2026-11-23T16:00:00Z"},
		{"deny window closed at its end", Windows{office}, "2026-11-23T16:00:00Z", true, ""},
		{"weekend", Windows{office}, "2026-11-28T10:00:00Z", true, ""},
		{"outside the only allow window", Windows{nights}, "2026-11-23T10:00:00Z", false, "2026-11-23T22:00:00Z"},
		{"inside an allow window", Windows{nights}, "2026-11-23T23:30:00Z", true, ""},
		{"allow window over midnight", Windows{nights}, "2026-11-24T00:00:00Z", false, "2026-11-24T22:00:00Z"},
		{"deny beats allow", Windows{mustWindow(t, Allow, "@daily", 24*time.Hour, ""), office}, "2026-11-23T10:00:00Z", false, "2026-11-23T16:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, until := tt.windows.Allowed(at(tt.t))
			if ok != tt.ok {
				t.Fatalf("Allowed(%s) = %v, want %v", tt.t, ok, tt.ok)
			}
			if tt.until != "" && !until.Equal(at(tt.until)) {
				t.Errorf("until = %s, want %s", until.UTC(), tt.until)
			}
		})
	}
}

func TestNewWindowErrors(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		expr string
		d    time.Duration
		tz   string
		want string
	}{
		{Allow, "61 * * * *", time.Hour, "", `schedule "61 * * * *"`},
		{Allow, "* * *", time.Hour, "", "schedule"},
		{Deny, "@daily", 0, "", "duration 0s must be positive"},
		{Deny, "@daily", time.Hour, "Mars/Olympus", `timezone "Mars/Olympus"`},
		{"maybe", "@daily", time.Hour, "", `kind "maybe"`},
	} {
		_, err := NewWindow(tt.kind, tt.expr, tt.d, tt.tz)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewWindow(%s, %q, %s, %q) = %v, want %q", tt.kind, tt.expr, tt.d, tt.tz, err, tt.want)
		}
	}
}

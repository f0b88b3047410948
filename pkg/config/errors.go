package config

import "fmt"

// Error is a mistake in gitopsd.yaml, at a line and field.
type Error struct {
	File  string
	Line  int
	Field string // e.g. installations[1].interval; empty for the whole file
	Err   error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", loc, e.Field, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

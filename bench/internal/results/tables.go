package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ApplyTitle is the heading of the apply benchmark's section, which the
// steady-state benchmark reads Flux's figures from.
const ApplyTitle = "Apply-engine benchmark"

// Row is one row of a Markdown table: its cells by column heading.
type Row map[string]string

// ReadSection returns the section of the file at path under the level-one
// heading title; false when the file or the section does not exist.
func ReadSection(path, title string) (string, bool, error) {
	doc, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	for _, s := range split(string(doc)) {
		if heading, _, _ := strings.Cut(s, "\n"); heading == "# "+title {
			return s, true, nil
		}
	}
	return "", false, nil
}

// Tables reads every Markdown table of md, each as its rows.
func Tables(md string) ([][]Row, error) {
	var (
		tables [][]Row
		header []string
		rows   []Row
	)
	end := func() {
		if header != nil {
			tables = append(tables, rows)
		}
		header, rows = nil, nil
	}
	lines := strings.Split(md, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") {
			end()
			continue
		}
		cells := cells(line)
		switch {
		case header == nil && i+1 < len(lines) && separator(lines[i+1]):
			header = cells
		case header == nil:
			return nil, fmt.Errorf("line %d: a table row without a header: %q", i+1, line)
		case separator(line):
		case len(cells) != len(header):
			return nil, fmt.Errorf("line %d: %d cells under %d headings", i+1, len(cells), len(header))
		default:
			row := Row{}
			for j, h := range header {
				row[h] = cells[j]
			}
			rows = append(rows, row)
		}
	}
	end()
	return tables, nil
}

// separator reports whether line is the one under a table's header, such
// as "|---:|---|".
func separator(line string) bool {
	return strings.HasPrefix(line, "|") && strings.Trim(line, "|-: ") == ""
}

// cells splits a table line "| a | b |" into its trimmed cells.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	parts := strings.Split(line, "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

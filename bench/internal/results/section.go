package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// WriteSection puts section, Markdown that starts with a level-one heading,
// into the file at path: in place of the section with the same heading, or
// after the others when there is none. The other sections are kept as they
// are, so that each benchmark command can rewrite its own.
func WriteSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	merged, err := ReplaceSection(string(old), section)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(merged), 0o644)
}

// ReplaceSection returns doc with section in place of the section of the
// same level-one heading, or appended.
func ReplaceSection(doc, section string) (string, error) {
	heading, _, _ := strings.Cut(section, "\n")
	if !strings.HasPrefix(heading, "# ") {
		return "", fmt.Errorf("a section starts with a level-one heading, not %q", heading)
	}
	section = strings.TrimRight(section, "\n") + "\n"
	sections := split(doc)
	for i, s := range sections {
		if first, _, _ := strings.Cut(s, "\n"); first == heading {
			sections[i] = section
			return join(sections), nil
		}
	}
	return join(append(sections, section)), nil
}

// split cuts doc before each level-one heading. Text before the first
// heading, if any, is a section of its own.
func split(doc string) []string {
	var sections []string
	var cur strings.Builder
	for line := range strings.Lines(doc) {
		if strings.HasPrefix(line, "# ") && cur.Len() > 0 {
			sections = append(sections, cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
	}
	if strings.TrimSpace(cur.String()) != "" {
		sections = append(sections, cur.String())
	}
	return sections
}

// join puts sections back together, one blank line between two.
func join(sections []string) string {
	for i, s := range sections {
		sections[i] = strings.TrimRight(s, "\n") + "\n"
	}
	return strings.Join(sections, "\n")
}

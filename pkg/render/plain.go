package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// renderPlain decodes the *.yaml and *.yml files directly in dir (not in its
// subdirectories), in name order.
func renderPlain(repo fs.FS, dir string) ([]Object, error) {
	entries, err := fs.ReadDir(repo, dir)
	if err != nil {
		return nil, &Error{Path: dir, Err: err}
	}
	var names []string
	for _, e := range entries {
		if ext := path.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var objs []Object
	for _, name := range names {
		file := path.Join(dir, name)
		if _, err := resolve(repo, file); err != nil {
			return nil, &Error{Path: file, Err: err}
		}
		data, err := fs.ReadFile(repo, file)
		if err != nil {
			return nil, &Error{Path: file, Err: err}
		}
		decoded, err := decodeManifests(file, data)
		if err != nil {
			return nil, err
		}
		objs = append(objs, decoded...)
	}
	return objs, nil
}

var docSeparator = regexp.MustCompile(`^---\s*(#.*)?$`)

// decodeManifests decodes a multi-document YAML file into objects; a List's
// items are decoded as objects of their own. Errors carry the file's line.
func decodeManifests(file string, data []byte) ([]Object, error) {
	var objs []Object
	for _, doc := range splitDocuments(data) {
		if len(bytes.TrimSpace(doc.data)) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.UnmarshalStrict(doc.data, &m); err != nil {
			return nil, &Error{Path: withLine(file, doc.line, err), Err: yamlMessage(err)}
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, &Error{Path: fmt.Sprintf("%s:%d", file, doc.line), Err: err}
			}
			for i := range list.Items {
				objs = append(objs, Object{Unstructured: &list.Items[i], Source: file})
			}
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, &Error{Path: fmt.Sprintf("%s:%d", file, doc.line), Err: fmt.Errorf("not a Kubernetes object: apiVersion and kind are required")}
		}
		objs = append(objs, Object{Unstructured: u, Source: file})
	}
	return objs, nil
}

type document struct {
	data []byte
	line int // first line of the document in its file
}

func splitDocuments(data []byte) []document {
	docs := []document{{line: 1}}
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if docSeparator.Match(bytes.TrimRight(line, "\r\n")) {
			docs = append(docs, document{line: i + 2})
			continue
		}
		docs[len(docs)-1].data = append(docs[len(docs)-1].data, line...)
	}
	return docs
}

var yamlErrorLine = regexp.MustCompile(`(?:error converting YAML to JSON: )?yaml: line (\d+): `)

// withLine names file and the line of a YAML error, counted from the start
// of the file rather than of the document.
func withLine(file string, docLine int, err error) string {
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("%s:%d", file, docLine+n-1)
	}
	return fmt.Sprintf("%s:%d", file, docLine)
}

func yamlMessage(err error) error {
	msg := yamlErrorLine.ReplaceAllString(err.Error(), "")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

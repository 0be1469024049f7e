package resource

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/codec"
	"kube5/proto/scheme"

	"sigs.k8s.io/yaml"
)

// Doc is one object read from a manifest.
type Doc struct {
	Source string // file name, or "STDIN"
	Res    *scheme.Resource
	// Obj is the manifest as written (JSON map), what apply records as last-applied.
	Obj map[string]any
	// Err is why the document cannot be used (syntax, unknown kind, unknown field); the
	// other documents of the file still are.
	Err error
}

// FileOptions are -f, -R and --validate.
type FileOptions struct {
	Filenames []string
	Recursive bool
	// Validate false accepts unknown fields (dropping them), as --validate=false.
	Validate bool
}

// Read reads every manifest named by -f: files, directories (their .json, .yaml and .yml
// files; -R recurses), and "-" for stdin. A file that cannot be read is an error; a
// document that does not decode is a Doc with Err, so the caller can report which
// documents succeeded.
func (o FileOptions) Read(stdin io.Reader) ([]Doc, error) {
	if len(o.Filenames) == 0 {
		return nil, errors.New("must specify one of -f and -k")
	}
	var docs []Doc
	for _, name := range o.Filenames {
		if name == "-" {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, err
			}
			docs = append(docs, o.decodeStream("STDIN", b)...)
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("the path %q does not exist", name)
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, err
			}
			docs = append(docs, o.decodeStream(name, b)...)
			continue
		}
		var files []string
		err = filepath.WalkDir(name, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != name && !o.Recursive {
					return filepath.SkipDir
				}
				return nil
			}
			switch filepath.Ext(p) {
			case ".json", ".yaml", ".yml":
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			docs = append(docs, o.decodeStream(f, b)...)
		}
	}
	return docs, nil
}

// splitYAML splits a stream on "---" document separators.
func splitYAML(b []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "---"); ok && (strings.TrimSpace(rest) == "" || strings.HasPrefix(strings.TrimSpace(rest), "#")) {
			out = append(out, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	out = append(out, cur.Bytes())
	return out
}

func (o FileOptions) decodeStream(source string, b []byte) []Doc {
	var docs []Doc
	trimmed := bytes.TrimSpace(b)
	var raw [][]byte
	if len(trimmed) > 0 && trimmed[0] == '{' {
		// JSON: one or more concatenated objects.
		d := json.NewDecoder(bytes.NewReader(trimmed))
		for {
			var m json.RawMessage
			if err := d.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				return append(docs, Doc{Source: source, Err: fmt.Errorf("error parsing %s: %v", source, err)})
			}
			raw = append(raw, m)
		}
	} else {
		raw = splitYAML(b)
	}
	for _, part := range raw {
		if len(bytes.TrimSpace(stripComments(part))) == 0 {
			continue
		}
		docs = append(docs, o.decodeDoc(source, part)...)
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out
}

func (o FileOptions) decodeDoc(source string, part []byte) []Doc {
	j, err := yaml.YAMLToJSON(part)
	if err != nil {
		return []Doc{{Source: source, Err: fmt.Errorf("error parsing %s: %v", source, err)}}
	}
	m, err := u.FromJSON(j)
	if err != nil || m == nil {
		return []Doc{{Source: source, Err: fmt.Errorf("error parsing %s: the document is not an object", source)}}
	}
	if kind := u.Kind(m); kind == "List" || strings.HasSuffix(kind, "List") && u.Slice(m, "items") != nil {
		var out []Doc
		for _, it := range u.Maps(m, "items") {
			b, _ := json.Marshal(it)
			out = append(out, o.decodeDoc(source, b)...)
		}
		return out
	}
	return []Doc{o.Decode(source, m)}
}

// Decode checks a manifest object against the schema: its kind must be served and its
// fields known (unless validation is off).
func (o FileOptions) Decode(source string, m map[string]any) Doc {
	d := Doc{Source: source, Obj: m}
	apiVersion, kind := u.String(m, "apiVersion"), u.Kind(m)
	if kind == "" || apiVersion == "" {
		missing := "kind"
		if kind != "" {
			missing = "apiVersion"
		}
		d.Err = fmt.Errorf("error validating %q: error validating data: %s not set; if you choose to ignore these errors, turn validation off with --validate=false", source, missing)
		return d
	}
	r, ok := scheme.ByKind(apiVersion, kind)
	if !ok || r.Resource == "" {
		d.Err = fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: no matches for kind %q in version %q\nensure CRDs are installed first",
			u.Name(m), u.Namespace(m), source, kind, apiVersion)
		return d
	}
	d.Res = r
	if _, err := u.ToProto(m, r); err != nil {
		if !o.Validate && codec.OnlyUnknown(err) {
			return d
		}
		d.Err = fmt.Errorf("error validating %q: error validating data: %v; if you choose to ignore these errors, turn validation off with --validate=false", source, err)
	}
	return d
}

func onlyUnknown(err error) bool { return codec.OnlyUnknown(err) }

// Command wasmsize breaks a Go js/wasm binary down by package: it sums the
// size of each function body in the code section under the package of the
// function's name (from the wasm "name" section, so the binary must be built
// without -s), and reports the data section as one line, since Go's wasm
// data (read-only data, type descriptors, the pc tables) carries no names.
// `go tool nm` does not read wasm files, hence this.
//
//	GOOS=js GOARCH=wasm go build -trimpath -o /tmp/g.wasm ./wasm/cmd/grapevine
//	go run ./scripts/wasmsize [-by package|module] [-n 40] /tmp/g.wasm ./wasm/cmd/grapevine
//
// Go's linker writes names with every character other than letters, digits,
// '_' and '.' replaced by '_' ("github.com_libp2p_go_libp2p_p2p_net_swarm.__Swarm_.dialPeer"),
// so the tool maps them back to import paths with the dependency list of the
// main package (the last argument), from `GOOS=js GOARCH=wasm go list -deps`.
// With -by module, packages are grouped by their module; the standard
// library is "std".
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

func main() {
	by := flag.String("by", "package", "group by package or module")
	n := flag.Int("n", 40, "rows to print (0: all)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-by package|module] [-n N] file.wasm main-package")
		os.Exit(2)
	}
	buf, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fatal(err)
	}
	m, err := parse(buf)
	if err != nil {
		fatal(err)
	}
	if len(m.names) == 0 {
		fatal(errors.New("no function names: build without -ldflags=-s"))
	}
	pkgs, err := deps(flag.Arg(1))
	if err != nil {
		fatal(err)
	}
	group := func(fn string) string {
		p := pkgs.lookup(fn)
		if *by == "module" {
			return p.module
		}
		return p.path
	}
	sizes := map[string]int{}
	for i, sz := range m.bodies {
		name, ok := m.names[m.imports+i]
		if !ok {
			name = "?unnamed"
		}
		sizes[group(name)] += sz
	}
	type row struct {
		key  string
		size int
	}
	var rows []row
	code := 0
	for k, v := range sizes {
		rows = append(rows, row{k, v})
		code += v
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
	fmt.Printf("file %d B; code section %d B (function bodies %d B in %d functions); data section %d B; name section %d B; other %d B\n",
		len(buf), m.sections[10], code, len(m.bodies), m.sections[11], m.nameSec,
		len(buf)-m.sections[10]-m.sections[11]-m.nameSec)
	fmt.Printf("%12s %6s  %s\n", "code bytes", "%code", *by)
	for i, r := range rows {
		if *n > 0 && i >= *n {
			rest := 0
			for _, r := range rows[i:] {
				rest += r.size
			}
			fmt.Printf("%12d %5.1f%%  (%d more)\n", rest, 100*float64(rest)/float64(code), len(rows)-i)
			break
		}
		fmt.Printf("%12d %5.1f%%  %s\n", r.size, 100*float64(r.size)/float64(code), r.key)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wasmsize:", err)
	os.Exit(1)
}

// module is what parse reads from a wasm binary.
type module struct {
	imports  int            // imported functions (they come first in the index space)
	bodies   []int          // size of each defined function's body, in order
	names    map[int]string // function index → name
	sections map[byte]int   // section id → total size
	nameSec  int            // size of the "name" custom section
}

func parse(b []byte) (*module, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errors.New("not a wasm binary")
	}
	m := &module{names: map[int]string{}, sections: map[byte]int{}}
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		size := int(r.uleb())
		start := r.off
		if r.err != nil || start+size > len(b) {
			return nil, errors.New("truncated section")
		}
		s := &reader{b: b[:start+size], off: start}
		m.sections[id] += size
		switch id {
		case 2: // imports
			for n := s.uleb(); n > 0 && s.err == nil; n-- {
				s.name()
				s.name()
				switch s.byte() {
				case 0:
					s.uleb()
					m.imports++
				case 1: // table
					s.byte()
					s.limits()
				case 2: // memory
					s.limits()
				case 3: // global
					s.byte()
					s.byte()
				}
			}
		case 10: // code
			for n := s.uleb(); n > 0 && s.err == nil; n-- {
				sz := int(s.uleb())
				m.bodies = append(m.bodies, sz)
				s.off += sz
			}
		case 0: // custom
			if s.name() == "name" {
				m.nameSec = size
				for s.off < start+size && s.err == nil {
					sub := s.byte()
					subSize := int(s.uleb())
					end := s.off + subSize
					if sub == 1 {
						for n := s.uleb(); n > 0 && s.err == nil; n-- {
							idx := int(s.uleb())
							m.names[idx] = s.name()
						}
					}
					s.off = end
				}
			}
		}
		if s.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, s.err)
		}
		r.off = start + size
	}
	return m, nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.err = errors.New("truncated")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uleb() uint64 {
	if r.off >= len(r.b) {
		r.err = errors.New("truncated")
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = errors.New("bad LEB128")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) name() string {
	n := int(r.uleb())
	if r.err != nil || r.off+n > len(r.b) {
		r.err = errors.New("truncated name")
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) limits() {
	if r.byte() == 1 {
		r.uleb()
	}
	r.uleb()
}

// pkg is a package the binary may contain.
type pkg struct{ path, module string }

// pkgIndex maps sanitized package names (as in the name section) to packages.
type pkgIndex map[string]pkg

var unsafeChars = regexp.MustCompile(`[^\w.]`) // as cmd/link/internal/wasm

func deps(main string) (pkgIndex, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", main)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w", main, err)
	}
	idx := pkgIndex{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, mod, _ := strings.Cut(sc.Text(), " ")
		if mod == "" {
			mod = "std"
		}
		idx[unsafeChars.ReplaceAllString(path, "_")] = pkg{path, mod}
	}
	return idx, nil
}

// lookup finds the package of a function name: the longest prefix, ending
// before a '.', that names a package. Names of no package (compiler-made
// "type:.eq.…" functions, say) get a group of their own.
func (idx pkgIndex) lookup(fn string) pkg {
	if i := strings.IndexByte(fn, '['); i >= 0 {
		fn = fn[:i]
	}
	for i := len(fn) - 1; i > 0; i-- {
		if fn[i] != '.' {
			continue
		}
		if p, ok := idx[fn[:i]]; ok {
			return p
		}
	}
	if strings.HasPrefix(fn, "type_.") || strings.HasPrefix(fn, "go_.") {
		// type:.eq.T, type:.hash.T and go:… symbols, sanitized.
		return pkg{"(compiler-generated: type equality, hash)", "(compiler-generated)"}
	}
	g := "(other: " + fn
	if i := strings.IndexByte(fn, '.'); i >= 0 {
		g = "(other: " + fn[:i]
	}
	return pkg{g + ")", g + ")"}
}

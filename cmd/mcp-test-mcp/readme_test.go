package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is where README.md is, two levels above this package.
const repoRoot = "../.."

var (
	// mdLink is a markdown link's target.
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// codeSpan is a backticked word that may be a path.
	codeSpan = regexp.MustCompile("`([^`\\s]+)`")
	// codeMapLine is a line of the Development section's code map.
	codeMapLine = regexp.MustCompile(`(?m)^((?:cmd|internal|testdata|docs)/[^\s]*)\s`)
)

// readmePaths returns the repository files README.md points at: relative
// link targets, backticked paths under the repository's own top-level
// folders and files, and the code map's entries.
func readmePaths(t *testing.T, readme string) []string {
	t.Helper()
	entries, err := os.ReadDir(repoRoot)
	require.NoError(t, err)
	top := map[string]bool{}
	for _, e := range entries {
		top[e.Name()] = true
	}
	// Made by the build or by make deps (what .gitignore names at the
	// top), not kept in the repository.
	generated := map[string]bool{".git": true}
	if ignore, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore")); err == nil {
		for _, line := range strings.Split(string(ignore), "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "/"); ok {
				generated[strings.TrimSuffix(name, "/")] = true
			}
		}
	}
	var paths []string
	for _, m := range mdLink.FindAllStringSubmatch(readme, -1) {
		p := m[1]
		if strings.Contains(p, "://") || strings.HasPrefix(p, "#") || strings.HasPrefix(p, "mailto:") {
			continue
		}
		paths = append(paths, strings.SplitN(p, "#", 2)[0])
	}
	for _, m := range codeSpan.FindAllStringSubmatch(readme, -1) {
		p := strings.TrimSuffix(m[1], "/")
		first := strings.SplitN(p, "/", 2)[0]
		if !strings.Contains(p, "/") && !strings.Contains(p, ".") {
			continue
		}
		// A path into one of the repository's own top-level entries (or a
		// top-level file such as go.mod); go-sdk's paths and MCP method
		// names begin with other words.
		if top[first] && !generated[first] {
			paths = append(paths, p)
		}
	}
	for _, m := range codeMapLine.FindAllStringSubmatch(readme, -1) {
		paths = append(paths, strings.TrimSuffix(m[1], "/"))
	}
	return paths
}

func TestReadmePointsOnlyAtFilesTheRepoHas(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	paths := readmePaths(t, string(b))
	require.Contains(t, paths, "docs/spec.md", "the scan finds the README's links")
	require.Contains(t, paths, "internal/exampleserver", "the scan finds the code map")
	for _, p := range paths {
		_, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(p)))
		assert.NoError(t, err, "README.md points at %s, which the repository lacks", p)
	}
}

// readmeExitCode is a code in README.md's list of check's exit codes: the
// number after the colon or a comma, then its meaning.
var readmeExitCode = regexp.MustCompile(`(?:: |, )(\d+) [a-zA-Z]`)

// exitCodeTable is every code in internal/exitcode's const block, read
// from its source so that a code added there must be added to README.md.
func exitCodeTable(t *testing.T) []int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "internal", "exitcode", "exitcode.go"), nil, 0)
	require.NoError(t, err)
	var codes []int
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.INT {
			c, err := strconv.Atoi(lit.Value)
			require.NoError(t, err)
			codes = append(codes, c)
		}
		return true
	})
	slices.Sort(codes)
	return codes
}

func TestReadmeListsTheExitCodeTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "- **Exit codes**:")
	require.True(t, ok, "README.md lists the exit codes")
	// The list item runs to the next item or the next paragraph.
	item, _, _ := strings.Cut(rest, "\n\n")
	item, _, _ = strings.Cut(item, "\n- ")
	var listed []int
	for _, m := range readmeExitCode.FindAllStringSubmatch(": "+strings.TrimSpace(item), -1) {
		c, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		listed = append(listed, c)
	}
	slices.Sort(listed)
	table := exitCodeTable(t)
	require.NotEmpty(t, table)
	assert.Equal(t, table, listed, "README.md's exit codes and internal/exitcode's table differ")
}

// usageExitCode is a code in `check --help`'s exit-code list.
var usageExitCode = regexp.MustCompile(`(?m)^  (\d+) +\S`)

func TestCheckHelpListsTheExitCodeTable(t *testing.T) {
	_, list, ok := strings.Cut(checkUsage, "\nExit codes:\n")
	require.True(t, ok, "check --help lists the exit codes")
	list, _, _ = strings.Cut(list, "\n\n")
	var listed []int
	for _, m := range usageExitCode.FindAllStringSubmatch(list, -1) {
		c, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		listed = append(listed, c)
	}
	slices.Sort(listed)
	assert.Equal(t, exitCodeTable(t), listed, "check --help's exit codes and internal/exitcode's table differ")
}

// TestArchitectureMatchesTheCode keeps ARCHITECTURE.md's maps true: its
// package table names every package under internal/ and no other, and its
// connmgr table names every non-test file of internal/connmgr and no other.
func TestArchitectureMatchesTheCode(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "ARCHITECTURE.md"))
	require.NoError(t, err)
	doc := string(b)

	row := regexp.MustCompile("(?m)^\\| `(internal/[a-z]+)` \\|")
	var listed []string
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		listed = append(listed, m[1])
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "internal"))
	require.NoError(t, err)
	var pkgs []string
	for _, e := range entries {
		if e.IsDir() {
			pkgs = append(pkgs, "internal/"+e.Name())
		}
	}
	// Imports point down the table: a package imports only those listed
	// after it.
	const module = "github.com/mcp-test-mcp/mcp-test-mcp/"
	for i, pkg := range listed {
		files, err := filepath.Glob(filepath.Join(repoRoot, pkg, "*.go"))
		require.NoError(t, err)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				rest, ok := strings.CutPrefix(path, module+"internal/")
				if !ok {
					continue
				}
				dep := "internal/" + strings.Split(rest, "/")[0]
				if dep == pkg {
					continue
				}
				assert.Contains(t, listed[i+1:], dep, "%s imports %s, which ARCHITECTURE.md lists above it", f, dep)
			}
		}
	}
	slices.Sort(listed)
	assert.Equal(t, pkgs, listed, "ARCHITECTURE.md's package table and the folders under internal/")

	section := doc[strings.Index(doc, "### Inside `internal/connmgr`"):]
	section = section[:strings.Index(section, "\n## ")]
	files := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z]+\\.go)`").FindAllStringSubmatch(section, -1) {
		files[m[1]] = true
	}
	goFiles, err := filepath.Glob(filepath.Join(repoRoot, "internal", "connmgr", "*.go"))
	require.NoError(t, err)
	var missing []string
	for _, f := range goFiles {
		name := filepath.Base(f)
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		if !files[name] {
			missing = append(missing, name)
		}
		delete(files, name)
	}
	assert.Empty(t, missing, "connmgr files ARCHITECTURE.md does not place")
	assert.Empty(t, files, "files ARCHITECTURE.md places in connmgr that do not exist")
}

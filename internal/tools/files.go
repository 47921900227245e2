package tools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// clientPath resolves a path a client named (run_checks spec_path,
// export_checks path) to the file of the tester's machine it may read or
// write. Locally (not Deps.Remote) any path is fine. A remote tester refuses
// every path unless Deps.Workdir is set, and then takes only paths inside
// it: no "..", and no symlink that leads out (the parent directory is
// resolved with EvalSymlinks; a written file that is a symlink is refused).
// what names the argument for errors ("spec_path").
func (h *handlers) clientPath(p, what string, write bool) (string, error) {
	if !h.remote {
		return filepath.Abs(p)
	}
	if h.workdir == "" {
		return "", &argError{
			msg: fmt.Sprintf("this tester is served over HTTP and does not read or write its own files at a path a client names, so %s is refused", what),
			suggestion: "Pass the spec inline: run_checks {\"spec\": {...}} takes the spec as an object, and export_checks without path returns it in spec and spec_text. " +
				"The operator can allow one directory with serve --workdir DIR.",
		}
	}
	outside := &argError{
		msg:        fmt.Sprintf("%s must name a file inside this tester's working directory (serve --workdir), without .. and without symlinks that lead out of it", what),
		suggestion: "Pass a path relative to the working directory, such as checks.yaml, or pass the spec inline.",
	}
	if slices.Contains(strings.Split(filepath.ToSlash(p), "/"), "..") {
		return "", outside
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(h.workdir, full)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(filepath.Clean(full)))
	if err != nil {
		return "", &argError{msg: fmt.Sprintf("the directory of %s does not exist in this tester's working directory", what), suggestion: outside.suggestion}
	}
	if !within(h.workdir, dir) {
		return "", outside
	}
	full = filepath.Join(dir, filepath.Base(full))
	fi, err := os.Lstat(full)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0 && write:
		return "", outside
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		real, err := filepath.EvalSymlinks(full)
		if err != nil || !within(h.workdir, real) {
			return "", outside
		}
		full = real
	case err != nil && !write:
		return "", &argError{msg: fmt.Sprintf("%s names no file in this tester's working directory", what), suggestion: outside.suggestion}
	}
	if fi, err := os.Stat(full); err == nil && !fi.Mode().IsRegular() {
		return "", &argError{msg: fmt.Sprintf("%s must name a regular file", what), suggestion: outside.suggestion}
	}
	return full, nil
}

// within reports whether path is dir or inside it; both are clean and
// absolute, with symlinks resolved.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// writeClientFile writes data to the path clientPath returned. A remote
// tester never follows a symlink there, even one created since.
func (h *handlers) writeClientFile(path string, data []byte) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if h.remote {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

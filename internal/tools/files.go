package tools

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
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
		return "", &errtype.ArgError{
			Msg: fmt.Sprintf("this tester is served over HTTP and does not read or write its own files at a path a client names, so %s is refused", what),
			Suggestion: "Pass the spec inline: run_checks {\"spec\": {...}} takes the spec as an object, and export_checks without path returns it in spec and spec_text. " +
				"The operator can allow one directory with serve --workdir DIR.",
		}
	}
	outside := &errtype.ArgError{
		Msg:        fmt.Sprintf("%s must name a file inside this tester's working directory (serve --workdir), without .. and without symlinks that lead out of it", what),
		Suggestion: "Pass a path relative to the working directory, such as checks.yaml, or pass the spec inline.",
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
		return "", &errtype.ArgError{Msg: fmt.Sprintf("the directory of %s does not exist in this tester's working directory", what), Suggestion: outside.Suggestion}
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
		return "", &errtype.ArgError{Msg: fmt.Sprintf("%s names no file in this tester's working directory", what), Suggestion: outside.Suggestion}
	}
	if fi, err := os.Stat(full); err == nil && !fi.Mode().IsRegular() {
		return "", &errtype.ArgError{Msg: fmt.Sprintf("%s must name a regular file", what), Suggestion: outside.Suggestion}
	}
	return full, nil
}

// within reports whether path is dir or inside it; both are clean and
// absolute, with symlinks resolved.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// readClientFile reads the file at the path clientPath returned. A remote
// tester opens it without following a symlink and then checks, on the open
// file, that it is a regular file inside Deps.Workdir: a file or directory
// swapped for a symlink since clientPath looked is refused, not read.
func (h *handlers) readClientFile(path string) ([]byte, error) {
	if !h.remote {
		return os.ReadFile(path)
	}
	// O_NONBLOCK: a FIFO swapped in does not block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := h.checkOpened(f); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// writeClientFile writes data to the path clientPath returned. A remote
// tester never follows a symlink there, even one created since: it opens
// the directory first, checks where that is, and creates the file in that
// very directory (through /proc/self/fd where there is one), so that
// nothing is created outside Deps.Workdir; then it checks the open file
// before it truncates it.
func (h *handlers) writeClientFile(path string, data []byte) error {
	if !h.remote {
		return os.WriteFile(path, data, 0o644)
	}
	dir, err := os.OpenFile(filepath.Dir(path), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer dir.Close()
	name := path
	if real, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", dir.Fd())); err == nil {
		if !within(h.workdir, real) {
			return errOutsideWorkdir
		}
		name = fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path))
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return err
	}
	if err := h.checkOpened(f); err != nil {
		return errors.Join(err, f.Close())
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.Write(data)
	}
	return errors.Join(err, f.Close())
}

// errOutsideWorkdir is the error of a file that, once open, turns out not to
// be a regular file inside Deps.Workdir.
var errOutsideWorkdir = errors.New("the file is not a regular file inside this tester's working directory (was it replaced while the tool ran?)")

// checkOpened checks that f, just opened by a remote tester, is a regular
// file inside Deps.Workdir, by what the kernel opened (/proc/self/fd), not
// by its name: a directory on the way may have become a symlink since it
// was checked. Where /proc is missing, the name resolved now must lead to
// the same file.
func (h *handlers) checkOpened(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errOutsideWorkdir
	}
	real, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		if real, err = filepath.EvalSymlinks(f.Name()); err != nil {
			return errOutsideWorkdir
		}
		if again, err := os.Stat(real); err != nil || !os.SameFile(fi, again) {
			return errOutsideWorkdir
		}
	}
	if !within(h.workdir, real) {
		return errOutsideWorkdir
	}
	return nil
}

// pathErr returns what went wrong in err without the path a *fs.PathError
// names: under serve that path is the server's, not the client's.
func pathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

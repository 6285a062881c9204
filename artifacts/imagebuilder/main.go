// imagebuilder writes a container image as a docker archive (the `docker save` format,
// which `ctr -n k8s.io images import` and `docker load` read) from local directories only:
// each -layer DIR becomes one layer, in order, over an empty base. No registry is contacted.
//
// Layers are reproducible: entries in lexical order, owner root (or the owner -chown names
// for a path and everything under it), one fixed modification time (-created), so the same
// inputs give the same digests and containerd shares common layers.
//
//	imagebuilder -out kube-proxy.tar -ref registry.k8s.io/kube-proxy:v1.36.1 \
//	  -layer base/ -layer iptables/ -layer kube-proxy/ \
//	  -entrypoint '["/usr/local/bin/kube-proxy"]' -created 2026-05-12T09:51:33Z
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var refs, layers, envs, labels, exposes, chowns multi
	out := flag.String("out", "", "docker archive to write")
	entrypoint := flag.String("entrypoint", "", `entrypoint as a JSON array, e.g. ["/pause"]`)
	cmd := flag.String("cmd", "", "default arguments as a JSON array")
	workdir := flag.String("workdir", "/", "working directory")
	user := flag.String("user", "", "user (uid[:gid]); empty: root")
	created := flag.String("created", "1970-01-01T00:00:00Z", "creation time (RFC 3339), also every file's mtime")
	platform := flag.String("platform", "linux/amd64", "os/architecture")
	flag.Var(&refs, "ref", "image name with tag (repeatable)")
	flag.Var(&layers, "layer", "directory that becomes one layer (repeatable, in order)")
	flag.Var(&envs, "env", "KEY=VALUE (repeatable)")
	flag.Var(&labels, "label", "KEY=VALUE (repeatable)")
	flag.Var(&exposes, "expose", "exposed port, PORT[/PROTO] (repeatable), like EXPOSE")
	flag.Var(&chowns, "chown", "UID:GID:/PATH, owner of PATH and all under it in every layer (repeatable; the longest PATH wins)")
	stopSignal := flag.String("stop-signal", "", "signal that stops the container, e.g. SIGQUIT; empty: the runtime's default")
	flag.Parse()
	if *out == "" || len(refs) == 0 || len(layers) == 0 {
		fail(fmt.Errorf("-out, -ref and -layer are required"))
	}
	when, err := time.Parse(time.RFC3339, *created)
	check(err)
	osArch := strings.SplitN(*platform, "/", 2)
	if len(osArch) != 2 {
		fail(fmt.Errorf("-platform %q is not os/architecture", *platform))
	}

	owners, err := parseChowns(chowns)
	check(err)

	img := empty.Image
	for _, dir := range layers {
		data, err := tarDir(dir, when, owners)
		check(err)
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		check(err)
		img, err = mutateAppend(img, layer, dir, when)
		check(err)
	}

	cf, err := img.ConfigFile()
	check(err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = osArch[0], osArch[1]
	cf.Created = v1.Time{Time: when}
	cf.Config.Entrypoint = jsonList(*entrypoint)
	cf.Config.Cmd = jsonList(*cmd)
	cf.Config.Env = envs
	cf.Config.WorkingDir = *workdir
	cf.Config.User = *user
	cf.Config.StopSignal = *stopSignal
	if len(exposes) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range exposes {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if len(labels) > 0 {
		cf.Config.Labels = map[string]string{}
		for _, kv := range labels {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fail(fmt.Errorf("-label %q is not KEY=VALUE", kv))
			}
			cf.Config.Labels[k] = v
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	check(err)

	tagged := map[name.Reference]v1.Image{}
	for _, r := range refs {
		tag, err := name.NewTag(r, name.StrictValidation)
		check(err)
		tagged[tag] = img
	}
	tmp := *out + ".tmp"
	check(tarball.MultiRefWriteToFile(tmp, tagged))
	check(os.Rename(tmp, *out))
	digest, err := img.Digest()
	check(err)
	fmt.Printf("%s %s %s\n", *out, strings.Join(refs, ","), digest)
}

// mutateAppend adds one layer with a history entry naming its source directory.
func mutateAppend(img v1.Image, layer v1.Layer, dir string, when time.Time) (v1.Image, error) {
	return mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: when}, CreatedBy: "imagebuilder -layer " + filepath.Base(filepath.Clean(dir))},
	})
}

// owner is the numeric owner of a path in the image and everything under it.
type owner struct {
	path     string // absolute, cleaned, e.g. /home/user
	uid, gid int
}

// parseChowns reads UID:GID:/PATH values; the result is ordered longest path first.
func parseChowns(values []string) ([]owner, error) {
	var owners []owner
	for _, v := range values {
		parts := strings.SplitN(v, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("-chown %q is not UID:GID:/PATH", v)
		}
		var o owner
		if _, err := fmt.Sscanf(parts[0]+" "+parts[1], "%d %d", &o.uid, &o.gid); err != nil {
			return nil, fmt.Errorf("-chown %q: %w", v, err)
		}
		o.path = filepath.Clean(parts[2])
		owners = append(owners, o)
	}
	sort.SliceStable(owners, func(i, j int) bool { return len(owners[i].path) > len(owners[j].path) })
	return owners, nil
}

// ownerOf is the owner of the image path name (slash-separated, relative to /).
func ownerOf(owners []owner, name string) (int, int) {
	p := "/" + strings.TrimSuffix(name, "/")
	for _, o := range owners {
		if p == o.path || o.path == "/" || strings.HasPrefix(p, o.path+"/") {
			return o.uid, o.gid
		}
	}
	return 0, 0
}

// tarDir archives dir's contents (paths relative to dir) reproducibly.
func tarDir(dir string, when time.Time, owners []owner) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid = ownerOf(owners, hdr.Name)
		hdr.Uname, hdr.Gname = "", ""
		if hdr.Uid == 0 && hdr.Gid == 0 {
			hdr.Uname, hdr.Gname = "root", "root"
		}
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = when, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		hdr.PAXRecords = nil
		hdr.Xattrs = nil //nolint:staticcheck // cleared so host xattrs never leak into a layer
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonList(s string) []string {
	if s == "" {
		return nil
	}
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		fail(fmt.Errorf("%q is not a JSON list of strings: %w", s, err))
	}
	return list
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imagebuilder:", err)
	os.Exit(1)
}

// Package leakscan finds a PIN, PUK or key where it must not be: in text a
// program wrote (logs, configuration, a diagnostics archive, stdout and
// stderr, a goroutine dump) and in the memory of a running process. It
// looks for each secret in every encoding it could take on its way there:
//
//   - raw bytes;
//   - hex, lower and upper case (what %x prints, and a big-endian word),
//     and as a hex dump prints it, the bytes apart;
//   - little-endian words of 8 and 4 bytes as a Go traceback prints a
//     function's argument words ("0x3238363431393337"), at every alignment
//     of the secret within the words, leading zeros dropped;
//   - base64, standard and URL alphabets, at each of the 3 alignments of
//     the secret within a longer encoded value (the local API's frames
//     carry secrets as base64);
//   - UTF-16, little- and big-endian (Windows strings, some toolkits);
//   - JSON's \u00XX escapes.
//
// One Scanner serves every leak test, so that they all look for the same
// things. Imported by tests only (internal/deptest keeps it out of shipped
// code).
package leakscan

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Finding is one place a secret was found.
type Finding struct {
	// Where names the haystack: a file, an output, a process mapping.
	Where string
	// Secret is the secret found and Encoding how it was written.
	Secret, Encoding string
	// Offset is where in the haystack (an address in a process).
	Offset uint64
	// Context is the text around it, printable bytes only.
	Context string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s holds %q (%s) at %#x: …%s…", f.Where, f.Secret, f.Encoding, f.Offset, f.Context)
}

// needle is one encoding of one secret: a literal to look for, and, for
// words that the secret fills only in part, a pattern the text at the
// literal must match (pre is how many bytes before the literal it may
// start).
type needle struct {
	secret, encoding string
	lit              []byte
	re               *regexp.Regexp
	pre              int
}

// Scanner searches haystacks for a set of secrets.
type Scanner struct {
	needles []needle
	maxLen  int
}

// New makes a Scanner for secrets (each at least 4 bytes: shorter ones
// would match by chance).
func New(secrets ...string) *Scanner {
	s := &Scanner{}
	for _, sec := range secrets {
		if len(sec) < 4 {
			panic("leakscan: a secret of fewer than 4 bytes matches by chance")
		}
		s.needles = append(s.needles, needles(sec)...)
	}
	s.maxLen = 4096 // every needle is shorter: the overlap of chunks
	return s
}

// Encodings lists the names of the encodings a Scanner looks for, one per
// needle of secret, for tests of the Scanner itself.
func Encodings(secret string) []string {
	var names []string
	for _, n := range needles(secret) {
		if !slices.Contains(names, n.encoding) {
			names = append(names, n.encoding)
		}
	}
	return names
}

// needles are every encoding of secret that a Scanner looks for.
func needles(secret string) []needle {
	raw := []byte(secret)
	var ns []needle
	add := func(enc string, lit []byte) {
		for _, n := range ns {
			if bytes.Equal(n.lit, lit) && n.re == nil {
				return
			}
		}
		ns = append(ns, needle{secret: secret, encoding: enc, lit: lit})
	}
	add("raw", raw)
	add("hex", []byte(hex.EncodeToString(raw)))
	add("HEX", []byte(strings.ToUpper(hex.EncodeToString(raw))))
	for _, alpha := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		for k := range 3 {
			add(fmt.Sprintf("%s, offset %d", alpha.name, k), base64Aligned(alpha.enc, raw, k))
		}
	}
	add("UTF-16LE", utf16(raw, false))
	add("UTF-16BE", utf16(raw, true))
	var esc, escUpper strings.Builder
	for _, c := range raw {
		fmt.Fprintf(&esc, `\u%04x`, c)
		fmt.Fprintf(&escUpper, `\u%04X`, c)
	}
	add("JSON \\u escapes", []byte(esc.String()))
	add("JSON \\u escapes", []byte(escUpper.String()))
	// A hex dump (OpenSC's APDU log, hexdump -C, openssl) separates the
	// bytes by a space or a colon, two spaces in the middle of a line.
	for _, f := range []string{"%02x", "%02X"} {
		var hd strings.Builder
		for i, c := range raw {
			if i > 0 {
				hd.WriteString(`[ :]{1,2}`)
			}
			fmt.Fprintf(&hd, f, c)
		}
		if !slices.ContainsFunc(ns, func(n needle) bool { return n.re != nil && n.re.String() == hd.String() }) {
			ns = append(ns, needle{secret: secret, encoding: "hex dump", re: regexp.MustCompile(hd.String())})
		}
	}
	// A traceback prints an array or struct argument component by
	// component: a [8]byte PIN is {0x37, 0x33, …}, a component it is not
	// sure of ends in "?".
	var tb strings.Builder
	for i, c := range raw {
		if i > 0 {
			tb.WriteString(`,\s*`)
		}
		fmt.Fprintf(&tb, `0x%x\??`, c)
	}
	ns = append(ns, needle{secret: secret, encoding: "traceback bytes", re: regexp.MustCompile(tb.String())})
	for _, size := range []int{8, 4} {
		for a := range size {
			ns = append(ns, leWords(secret, size, a)...)
		}
	}
	return ns
}

// base64Aligned is the part of the base64 of secret that does not depend
// on its neighbours when it starts k bytes (mod 3) into an encoded value:
// the characters whose 6 bits all come from the secret.
func base64Aligned(enc *base64.Encoding, secret []byte, k int) []byte {
	buf := make([]byte, k+len(secret)+3)
	copy(buf[k:], secret)
	full := enc.EncodeToString(buf)
	first := (8*k + 5) / 6
	last := 8*(k+len(secret))/6 - 1
	return []byte(full[first : last+1])
}

func utf16(b []byte, bigEndian bool) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		if bigEndian {
			out = append(out, 0, c)
		} else {
			out = append(out, c, 0)
		}
	}
	return out
}

// leWords are the needles for secret laid into little-endian words of
// size bytes starting a bytes into the first word, each word printed as a
// traceback prints it: 0x and lowercase hex without leading zeros, words
// separated by ", " (or any space). The literal is the longest run of the
// secret's hex in one word; the pattern covers every word the secret
// touches, its other bytes unknown.
func leWords(secret string, size, a int) []needle {
	raw := []byte(secret)
	type word struct {
		known     []byte // the secret's bytes in this word, in memory order
		lo, hi    int    // unknown bytes below and above them
		reversedH string // hex of known, most significant first
	}
	var words []word
	for off := -a; off < len(raw); off += size {
		lo := max(0, -off)
		end := min(len(raw), off+size)
		known := raw[max(0, off):end]
		hi := size - lo - len(known)
		r := slices.Clone(known)
		slices.Reverse(r)
		words = append(words, word{known: known, lo: lo, hi: hi, reversedH: hex.EncodeToString(r)})
	}
	if len(words) == 1 && (words[0].lo > 0 || words[0].hi > 0) && len(words[0].known) < 4 {
		return nil
	}
	var pat strings.Builder
	pat.WriteString("(?i)")
	best, bestPre := -1, 0
	for i, w := range words {
		if i > 0 {
			pat.WriteString(`(?:,\s*|\s+)`)
		}
		pat.WriteString("0x")
		// Leading zeros are dropped: the unknown high bytes print as 0 to
		// 2*hi digits.
		if w.hi > 0 {
			fmt.Fprintf(&pat, "[0-9a-f]{0,%d}", 2*w.hi)
		}
		pat.WriteString(w.reversedH)
		if w.lo > 0 {
			fmt.Fprintf(&pat, "[0-9a-f]{%d}", 2*w.lo)
		}
		if best < 0 || len(w.known) > len(words[best].known) {
			best = i
		}
	}
	// The literal: the best word's hex; the pattern may start this many
	// bytes before it ("0x", the digits and a separator of each earlier
	// word, then this word's "0x" and unknown high digits).
	bestPre = best*(2+2*size+8) + 2 + 2*words[best].hi
	enc := fmt.Sprintf("little-endian %d-byte words, offset %d", size, a)
	if len(words[best].known) < 3 {
		return nil
	}
	return []needle{{secret: secret, encoding: enc, lit: []byte(words[best].reversedH), re: regexp.MustCompile(pat.String()), pre: bestPre}}
}

// Bytes searches one haystack.
func (s *Scanner) Bytes(where string, b []byte) []Finding {
	return s.scan(where, 0, b)
}

func (s *Scanner) scan(where string, base uint64, b []byte) []Finding {
	var out []Finding
	for _, n := range s.needles {
		if n.lit == nil {
			for _, l := range n.re.FindAllIndex(b, -1) {
				out = append(out, Finding{Where: where, Secret: n.secret, Encoding: n.encoding, Offset: base + uint64(l[0]), Context: printable(b[max(0, l[0]-60):min(len(b), l[1]+60)])})
			}
			continue
		}
		for from := 0; from < len(b); {
			i := bytes.Index(b[from:], n.lit)
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			start, end := i, i+len(n.lit)
			if n.re != nil {
				lo := max(0, i-n.pre)
				hi := min(len(b), i+len(n.lit)+n.pre+64)
				locs := n.re.FindAllIndex(b[lo:hi], -1)
				ok := false
				for _, l := range locs {
					if lo+l[0] <= i && i+len(n.lit) <= lo+l[1] {
						start, end, ok = lo+l[0], lo+l[1], true
						break
					}
				}
				if !ok {
					continue
				}
			}
			out = append(out, Finding{Where: where, Secret: n.secret, Encoding: n.encoding, Offset: base + uint64(start), Context: printable(b[max(0, start-60):min(len(b), end+60)])})
			from = end
		}
	}
	return out
}

func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('.')
		}
	}
	return sb.String()
}

// Dir searches every regular file under root, and the files inside each
// zip archive there (a diagnostics archive), except those skip names.
func (s *Scanner) Dir(root string, skip ...string) ([]Finding, int, error) {
	var out []Finding
	files := 0
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.Type().IsRegular() || slices.Contains(skip, path) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		out = append(out, s.Bytes(path, b)...)
		if zr, zerr := zip.NewReader(bytes.NewReader(b), int64(len(b))); zerr == nil {
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					return fmt.Errorf("%s: %s: %w", path, f.Name, err)
				}
				zb, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					return fmt.Errorf("%s: %s: %w", path, f.Name, err)
				}
				files++
				out = append(out, s.Bytes(path+":"+f.Name, zb)...)
			}
		}
		return nil
	})
	return out, files, err
}

// Mapping is one readable region of a process's memory.
type Mapping struct {
	Start, End uint64
	Perms      string
	Name       string
}

// ProcessStats say what Process read.
type ProcessStats struct {
	Mappings, Unreadable int
	Bytes                uint64
}

// Process searches every readable mapping of the running process pid
// (/proc/PID/maps and /proc/PID/mem; Linux). Reading another process's
// memory needs ptrace access to it: the same user and a dumpable process,
// or CAP_SYS_PTRACE (root). The agent makes itself undumpable, so only
// root can read it; the error says so when the read is refused.
//
// Mappings of the files named in skip are left out: a test binary that
// runs as the agent carries the test's secrets among its constants.
func (s *Scanner) Process(pid int, skip ...string) ([]Finding, ProcessStats, error) {
	var st ProcessStats
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, st, err
	}
	mem, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return nil, st, err
	}
	defer mem.Close()
	var out []Finding
	const chunk = 8 << 20
	buf := make([]byte, chunk+s.maxLen)
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		m, ok := parseMapping(sc.Text())
		if !ok || m.Perms[0] != 'r' || slices.Contains(skip, m.Name) || m.Name == "[vvar]" || m.Name == "[vsyscall]" || m.Name == "[vvar_vclock]" {
			continue
		}
		st.Mappings++
		where := fmt.Sprintf("pid %d %s %s", pid, m.Perms, m.Name)
		for addr := m.Start; addr < m.End; addr += chunk {
			n := min(uint64(len(buf)), m.End-addr)
			got, err := mem.ReadAt(buf[:n], int64(addr))
			if err != nil && got == 0 {
				st.Unreadable++
				if st.Mappings == 1 && addr == m.Start {
					return nil, st, fmt.Errorf("reading the memory of pid %d: %w", pid, err)
				}
				break
			}
			st.Bytes += uint64(min(got, chunk))
			for _, f := range s.scan(where, addr, buf[:got]) {
				if f.Offset < addr+chunk { // the rest is the next chunk's
					out = append(out, f)
				}
			}
		}
	}
	return dedupe(out), st, nil
}

func dedupe(fs []Finding) []Finding {
	seen := map[string]bool{}
	var out []Finding
	for _, f := range fs {
		k := fmt.Sprintf("%x/%s/%s", f.Offset, f.Secret, f.Encoding)
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

func parseMapping(line string) (Mapping, bool) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return Mapping{}, false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return Mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || len(f[1]) < 4 {
		return Mapping{}, false
	}
	m := Mapping{Start: start, End: end, Perms: f[1]}
	if len(f) >= 6 {
		m.Name = strings.Join(f[5:], " ")
	}
	return m, true
}

// MallocArenas are the mappings of process pid that C's malloc (glibc)
// manages: the brk heap ("[heap]") and each thread arena's heap, a
// mapping aligned to 64 MB (HEAP_MAX_SIZE) that starts with a heap_info
// whose first word points to its arena: just past the heap_info (0x20 to
// 0x30 bytes, by glibc version) in an arena's first heap, into that first
// heap in the others.
// The Go runtime never uses brk, and its heap arenas start with no such
// word, so a finding outside these is in Go's memory, a stack, or a
// mapped file. (glibc malloc/arena.c; x86-64 and arm64.)
func MallocArenas(pid int) ([]Mapping, error) {
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, err
	}
	mem, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	const heapMax = 64 << 20
	var all, arenas []Mapping
	firstWord := map[uint64]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		m, ok := parseMapping(sc.Text())
		if !ok {
			continue
		}
		all = append(all, m)
		if m.Name == "[heap]" {
			arenas = append(arenas, m)
			continue
		}
		if m.Name != "" || m.Perms[:2] != "rw" || m.Start%heapMax != 0 {
			continue
		}
		var w [8]byte
		if _, err := mem.ReadAt(w[:], int64(m.Start)); err == nil {
			firstWord[m.Start] = uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		}
	}
	first := map[uint64]bool{}
	for start, w := range firstWord {
		if start < w && w <= start+0x100 {
			first[start] = true
		}
	}
	heaps := map[uint64]bool{}
	for start, w := range firstWord {
		if first[start] || first[w&^(heapMax-1)] {
			heaps[start] = true
		}
	}
	// A heap's mapping may show as several lines (grown, trimmed).
	for _, m := range all {
		if m.Name == "" && heaps[m.Start&^(heapMax-1)] {
			arenas = append(arenas, m)
		}
	}
	return arenas, nil
}

// In reports whether addr lies in one of ms.
func In(ms []Mapping, addr uint64) bool {
	for _, m := range ms {
		if m.Start <= addr && addr < m.End {
			return true
		}
	}
	return false
}

package csvimport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// The encodings Header.Encoding reports. A file of plain ASCII is reported as
// UTF-8.
const (
	EncodingUTF8        = "UTF-8"
	EncodingUTF8BOM     = "UTF-8 with BOM"
	EncodingUTF16LE     = "UTF-16LE"
	EncodingUTF16BE     = "UTF-16BE"
	EncodingWindows1252 = "Windows-1252"
)

// bufSize is the size of each read buffer, and so of the prefix sniffed for
// the file type and the encoding.
const bufSize = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
	bomUTF32BE = []byte{0x00, 0x00, 0xFE, 0xFF}
	zipMagic   = []byte("PK\x03\x04")
	oleMagic   = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1} // .xls and other legacy Office files
)

// binaryError refuses a file with NUL bytes.
func binaryError() error {
	return &HeaderError{Reason: "the file contains binary data (NUL bytes), not CSV text: in your spreadsheet choose File > Save As > CSV UTF-8"}
}

// decoder turns the file's bytes into UTF-8 text.
//
// A byte order mark decides the encoding at once. Without one, ASCII is passed
// through until the first non-ASCII byte, and that byte decides for the rest
// of the file: when the (up to) 64 KiB starting there are valid UTF-8 the file
// is UTF-8, otherwise it is Windows-1252, which is what Excel writes for "CSV"
// on Windows in Western locales. Everything before that byte was ASCII, which
// reads the same in both, so the decision is never taken back. A "UTF-8" file
// that has invalid bytes further on gets row errors for the cells holding
// them (see Reader.Next); they are not silently replaced.
type decoder struct {
	src *bufio.Reader
	out io.Reader // nil while only ASCII has been seen
	enc string    // "" while only ASCII has been seen
}

// newDecoder sniffs the start of src and refuses what is not CSV text.
func newDecoder(src *bufio.Reader) (*decoder, error) {
	prefix, err := src.Peek(bufSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	d := &decoder{src: src}
	switch {
	case len(prefix) == 0:
		return nil, &HeaderError{Reason: "the file is empty"}
	case bytes.HasPrefix(prefix, zipMagic):
		if bytes.Contains(prefix[:min(len(prefix), 100)], []byte("mimetypeapplication/vnd.oasis.opendocument")) {
			return nil, &HeaderError{Reason: "this is an OpenDocument spreadsheet (.ods), not a CSV file: choose File > Save As and the Text CSV format"}
		}
		return nil, &HeaderError{Reason: "this is an Excel workbook (.xlsx), not a CSV file: in Excel choose File > Save As > CSV UTF-8"}
	case bytes.HasPrefix(prefix, oleMagic):
		return nil, &HeaderError{Reason: "this is an Excel 97-2003 workbook (.xls), not a CSV file: in Excel choose File > Save As > CSV UTF-8"}
	case bytes.HasPrefix(prefix, bomUTF8):
		if bytes.IndexByte(prefix, 0) >= 0 {
			return nil, binaryError()
		}
		_, _ = src.Discard(len(bomUTF8)) // peeked, so it cannot fail
		d.enc, d.out = EncodingUTF8BOM, src
		return d, nil
	case bytes.HasPrefix(prefix, bomUTF32LE), bytes.HasPrefix(prefix, bomUTF32BE):
		return nil, &HeaderError{Reason: "the file is UTF-32 text, which Roster does not read: in your spreadsheet choose File > Save As > CSV UTF-8"}
	case bytes.HasPrefix(prefix, bomUTF16LE):
		// ExpectBOM consumes the mark; unpaired surrogates become U+FFFD.
		d.enc, d.out = EncodingUTF16LE, transform.NewReader(src, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
		return d, nil
	case bytes.HasPrefix(prefix, bomUTF16BE):
		d.enc, d.out = EncodingUTF16BE, transform.NewReader(src, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
		return d, nil
	}
	if bytes.IndexByte(prefix, 0) >= 0 {
		if looksUTF16(prefix) {
			return nil, &HeaderError{Reason: "the file looks like UTF-16 text without a byte order mark, which cannot be read reliably: in Excel choose File > Save As > CSV UTF-8"}
		}
		return nil, binaryError()
	}
	return d, nil
}

// looksUTF16 reports whether the NUL bytes of b sit mostly on one parity, as
// in UTF-16 text of a Latin script.
func looksUTF16(b []byte) bool {
	var even, odd int
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	nul := even + odd
	return nul >= len(b)/4 && (even >= nul*9/10 || odd >= nul*9/10)
}

// encoding names the encoding decided so far.
func (d *decoder) encoding() string {
	if d.enc == "" {
		return EncodingUTF8
	}
	return d.enc
}

// Read implements io.Reader, returning UTF-8 text.
func (d *decoder) Read(p []byte) (int, error) {
	if d.out != nil {
		return d.out.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := d.src.Peek(1); err != nil {
		return 0, err
	}
	buf, _ := d.src.Peek(min(len(p), d.src.Buffered()))
	if i := indexNonASCII(buf); i != 0 {
		if i < 0 {
			i = len(buf)
		}
		n := copy(p, buf[:i])
		_, _ = d.src.Discard(n)
		return n, nil
	}
	window, err := d.src.Peek(d.src.Size())
	if err != nil && err != io.EOF {
		return 0, err
	}
	if utf8.Valid(trimPartialRune(window, err == io.EOF)) {
		d.enc, d.out = EncodingUTF8, d.src
	} else {
		d.enc, d.out = EncodingWindows1252, transform.NewReader(d.src, charmap.Windows1252.NewDecoder())
	}
	return d.out.Read(p)
}

// indexNonASCII returns the index of the first byte of b that is not ASCII,
// or -1. It looks at eight bytes at a time: all-ASCII files pass through here.
func indexNonASCII(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

// trimPartialRune drops an incomplete UTF-8 sequence cut off at the end of b,
// unless b ends the file (then it is simply invalid).
func trimPartialRune(b []byte, atEOF bool) []byte {
	if atEOF {
		return b
	}
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// byteLimiter passes on at most max bytes of r; the next byte is a
// *LimitError. Its errors are sticky so that the buffers above it stop.
type byteLimiter struct {
	r   io.Reader
	n   int64
	max int64
	err error
}

func (l *byteLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// Read one byte past the limit to tell "exactly max" from "more".
	if rem := l.max + 1 - l.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		n -= int(l.n - l.max)
		l.n = l.max
		err = &LimitError{Kind: LimitBytes, Limit: l.max}
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

// errRowTooLong is what rowGuard returns; Reader turns it into a *LimitError.
var errRowTooLong = errors.New("row too long")

// rowGuard stops the CSV parser when one record grows past max bytes, which is
// what a quote that is never closed does: without it, encoding/csv would read
// the rest of the file into one cell. The Reader moves start to the end of each
// record it gets; read-ahead by the buffers above is included in max.
type rowGuard struct {
	r     io.Reader
	read  int64 // bytes passed on
	start int64 // stream offset where the current record starts
	max   int64
	eof   bool // r has reported io.EOF
	err   error
}

func (g *rowGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.read-g.start > g.max {
		g.err = errRowTooLong
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	switch {
	case err == io.EOF:
		g.eof = true
	case err != nil:
		g.err = err
	}
	return n, err
}

// crToLF turns carriage returns into line feeds, for files with classic Mac
// line endings (Excel for Mac's "CSV (Macintosh)"), whose lines encoding/csv
// would not otherwise split.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// encoded is a response body made once and sent many times: the cached
// /api/images, the dashboard and the static files. Its gzip encoding is made
// on the first request that accepts it, then kept beside the plain body, so
// a busy page costs one compression per state, not one per request.
type encoded struct {
	body  []byte
	ctype string
	etag  string // strong, of body, or none; the gzip variant gets its own (RFC 9110 §8.8.3)

	gzOnce sync.Once
	gz     []byte // nil when compressing does not pay
}

// minGzip is the smallest body worth compressing: below it the gzip header
// and the CPU cost more than the bytes saved.
const minGzip = 1024

// gzipWriters are reused: each holds about 800 KiB of compressor state, which
// would otherwise be garbage after every compression.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// newEncoded keeps body; with tagged it is served with an ETag, a hash of
// body, so it stays right across restarts.
func newEncoded(body []byte, ctype string, tagged bool) *encoded {
	e := &encoded{body: body, ctype: ctype}
	if tagged {
		sum := sha256.Sum256(body)
		e.etag = base64.RawURLEncoding.EncodeToString(sum[:12])
	}
	return e
}

// gzipped returns the gzip encoding of the body, or nil if it would not be smaller.
func (e *encoded) gzipped() []byte {
	e.gzOnce.Do(func() {
		if len(e.body) < minGzip {
			return
		}
		var b bytes.Buffer
		b.Grow(len(e.body) / 4) // HTML and JSON shrink 5 to 30 times
		w := gzipWriters.Get().(*gzip.Writer)
		defer func() { w.Reset(io.Discard); gzipWriters.Put(w) }() // not pinning b
		w.Reset(&b)
		if _, err := w.Write(e.body); err != nil || w.Close() != nil || b.Len() >= len(e.body) {
			return
		}
		e.gz = b.Bytes()
	})
	return e.gz
}

// send answers e, gzip-encoded when the client accepts that. With an ETag, a
// matching If-None-Match gets a 304 instead.
func (e *encoded) send(c *fiber.Ctx) error {
	c.Vary(fiber.HeaderAcceptEncoding)
	body, etag := e.body, `"`+e.etag+`"`
	if acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		if b := e.gzipped(); b != nil {
			body, etag = b, `"`+e.etag+`-gz"`
			c.Set(fiber.HeaderContentEncoding, "gzip")
		}
	}
	if e.etag != "" {
		c.Set(fiber.HeaderETag, etag)
		if etagMatch(c.Get(fiber.HeaderIfNoneMatch), etag) {
			c.Response().Header.Del(fiber.HeaderContentEncoding)
			c.Status(fiber.StatusNotModified)
			return nil
		}
	}
	c.Set(fiber.HeaderContentType, e.ctype)
	return c.Send(body) // shared: fasthttp only reads a raw body
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (RFC 9110 §12.5.3): named with a q above 0, or covered by "*" when not named.
func acceptsGzip(header string) bool {
	named, star := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			named = q
		case "*":
			star = q
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

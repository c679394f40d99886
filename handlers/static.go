package handlers

import (
	"cmp"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"

	"refit/static"
)

// staticFiles serves the embedded assets under /static/. Each is read once
// and served with a strong ETag and, to clients that take it, its gzip
// encoding (htmx shrinks from 51 to 16 KiB); browsers revalidate after an hour.
func staticFiles() fiber.Handler {
	files := map[string]*encoded{}
	err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return err
		}
		files["/static/"+p] = newEncoded(b, cmp.Or(mime.TypeByExtension(path.Ext(p)), fiber.MIMEOctetStream), true)
		return nil
	})
	if err != nil {
		panic("handlers: reading the embedded static files: " + err.Error()) // a broken build
	}
	return func(c *fiber.Ctx) error {
		e := files[c.Path()]
		if e == nil {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		return e.send(c)
	}
}

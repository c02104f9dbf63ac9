package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// multipartOverhead is what the upload form adds to the file: part headers,
// boundaries and the two text fields.
const multipartOverhead = 1 << 20

// maxImportField bounds a text field of the upload form; the service
// refuses a welcome message far shorter than this with a precise message.
const maxImportField = 64 << 10

// importFormView is what the upload page shows.
type importFormView struct {
	MaxRows     int
	MaxBytes    int64
	MaxWelc     int
	DateExample string // a date in the organization's locale
	FileError   string
}

func (h *Handler) importForm(a *roster.Actor, fileError string) importFormView {
	rows, bytes := admin.ImportLimits()
	example := "12/31/2026"
	if a.Org.Locale == "en-GB" {
		example = "31/12/2026"
	}
	return importFormView{MaxRows: rows, MaxBytes: bytes, MaxWelc: admin.MaxWelcomeMessage, DateExample: example, FileError: fileError}
}

func (h *Handler) showImport(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	notice := ""
	if r.URL.Query().Get("notice") == "discarded" {
		notice = "The upload was discarded; nothing changed."
	}
	h.render(w, r, "import", &view{Title: "Bulk upload", Notice: notice, Form: map[string]string{}, Data: h.importForm(a, "")})
}

// discardImport is the preview's Cancel: the upload is forgotten.
func (h *Handler) discardImport(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, roster.ErrNotFound)
		return
	}
	err = h.svc.DiscardImport(r.Context(), a, id)
	switch {
	case errors.Is(err, admin.ErrImportNotPreviewed):
		http.Redirect(w, r, importPath(id)+"?"+url.Values{"notice": {"already_applied"}}.Encode(), http.StatusSeeOther)
	case err != nil:
		h.fail(w, r, err)
	default:
		http.Redirect(w, r, "/users/import?notice=discarded", http.StatusSeeOther)
	}
}

func (h *Handler) importTemplate(w http.ResponseWriter, r *http.Request) {
	if h.requireManager(w, r) == nil {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="roster-users-template.csv"`)
	w.Write(csvimport.Template())
}

// uploadImport previews an uploaded file. The file part is streamed into
// the service as it arrives, never buffered whole: the form puts its text
// fields before the file, so they are read first.
func (h *Handler) uploadImport(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	form := map[string]string{}
	page := func(status int, fileErr string, fields map[string]string) {
		h.render(w, r, "import", &view{Title: "Bulk upload", Form: form, Fields: fields, Status: status,
			Error: "Nothing was uploaded. Correct the problem marked below and choose the file again.",
			Data:  h.importForm(a, fileErr)})
	}
	_, maxBytes := admin.ImportLimits()
	if r.ContentLength > maxBytes+multipartOverhead {
		// Refused before reading a byte of it (SPEC "Bulk Upload": anything
		// over a limit is refused before any change).
		page(http.StatusRequestEntityTooLarge, (&csvimport.LimitError{Kind: csvimport.LimitBytes, Limit: maxBytes}).Error(), nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes+multipartOverhead)
	refuse := func(status int, fileErr string, fields map[string]string) {
		// Read what is left of the upload (MaxBytesReader bounds it), so
		// that a browser still sending the file receives the page rather
		// than a reset connection.
		io.Copy(io.Discard, r.Body)
		page(status, fileErr, fields)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		refuse(http.StatusBadRequest, "choose a CSV file and press Preview", nil)
		return
	}
	var opts admin.ImportOptions
	var fields map[string]string
	fieldErr := func(k, msg string) {
		if fields == nil {
			fields = map[string]string{}
		}
		fields[k] = msg
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.uploadBroken(w, r, a, form, err)
			return
		}
		switch part.FormName() {
		case "welcome_message", "default_expiration_date":
			b, err := io.ReadAll(io.LimitReader(part, maxImportField+1))
			if err != nil {
				h.uploadBroken(w, r, a, form, err)
				return
			}
			form[part.FormName()] = string(b)
			if len(b) > maxImportField {
				form[part.FormName()] = string(b[:maxImportField])
				fieldErr(part.FormName(), fmt.Sprintf("use at most %d characters", admin.MaxWelcomeMessage))
			}
		case "file":
			// Fields after the file part would not be read (the service
			// has consumed the file by then); the form puts none there.
			// An empty welcome message means "not given": each user keeps
			// theirs (a welcome_message column in the file still sets it).
			if s := form["welcome_message"]; strings.TrimSpace(s) != "" {
				opts.WelcomeMessage = roster.Some(s)
			}
			d, err := formDate(form["default_expiration_date"])
			if err != nil {
				fieldErr("default_expiration_date", err.Error())
			}
			if fields != nil {
				refuse(http.StatusUnprocessableEntity, "", fields)
				return
			}
			opts.DefaultExpiration = d
			h.previewUpload(w, r, a, part, opts, form, refuse)
			return
		}
	}
	if fields != nil {
		refuse(http.StatusUnprocessableEntity, "", fields)
		return
	}
	refuse(http.StatusUnprocessableEntity, "choose a CSV file to upload", nil)
}

// previewUpload hands the file part to the service and answers.
func (h *Handler) previewUpload(w http.ResponseWriter, r *http.Request, a *roster.Actor, part *multipart.Part, opts admin.ImportOptions,
	form map[string]string, refuse func(int, string, map[string]string)) {
	body := &uploadReader{r: bufio.NewReader(part)}
	if _, err := body.r.Peek(1); err == io.EOF && part.FileName() == "" {
		// A browser sends an empty, nameless part when no file was chosen.
		refuse(http.StatusUnprocessableEntity, "choose a CSV file to upload", nil)
		return
	}
	opts.FileName = part.FileName()
	p, err := h.svc.PreviewImport(r.Context(), a, body, opts)
	if err == nil {
		http.Redirect(w, r, importPath(p.Import.ID), http.StatusSeeOther)
		return
	}
	if body.err != nil {
		// The request itself failed (cut off, or over the body limit),
		// whatever the service made of the truncated file.
		h.uploadBroken(w, r, a, form, body.err)
		return
	}
	var ve *roster.ValidationError
	var he *csvimport.HeaderError
	var le *csvimport.LimitError
	var re *csvimport.RowError
	switch {
	case errors.As(err, &ve):
		refuse(http.StatusUnprocessableEntity, "", ve.Fields)
	case errors.As(err, &le):
		refuse(http.StatusRequestEntityTooLarge, le.Error(), nil)
	case errors.As(err, &he):
		refuse(http.StatusUnprocessableEntity, he.Error(), nil)
	case errors.As(err, &re):
		refuse(http.StatusUnprocessableEntity, re.Error(), nil)
	default:
		h.fail(w, r, err)
	}
}

// uploadBroken answers a request whose body could not be read to its end:
// over the size limit, or cut off on the way.
func (h *Handler) uploadBroken(w http.ResponseWriter, r *http.Request, a *roster.Actor, form map[string]string, err error) {
	var mbe *http.MaxBytesError
	status, msg := http.StatusBadRequest, "the upload was interrupted before the whole file arrived; try again"
	if errors.As(err, &mbe) {
		_, maxBytes := admin.ImportLimits()
		status, msg = http.StatusRequestEntityTooLarge, (&csvimport.LimitError{Kind: csvimport.LimitBytes, Limit: maxBytes}).Error()
	}
	h.render(w, r, "import", &view{Title: "Bulk upload", Form: form, Status: status,
		Error: "Nothing was uploaded. Correct the problem marked below and choose the file again.", Data: h.importForm(a, msg)})
}

// uploadReader remembers the first error reading the request gave, so that
// a broken upload is told apart from a bad file.
type uploadReader struct {
	r   *bufio.Reader
	err error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF && u.err == nil {
		u.err = err
	}
	return n, err
}

func importPath(id int64) string { return "/imports/" + strconv.FormatInt(id, 10) }

// importFromPath loads the import named in the URL for the actor, answering
// 404 for a missing id and another organization's alike.
func (h *Handler) importFromPath(w http.ResponseWriter, r *http.Request, a *roster.Actor) *admin.ImportPreview {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, roster.ErrNotFound)
		return nil
	}
	p, err := h.svc.Import(r.Context(), a, id)
	if err != nil {
		h.fail(w, r, err)
		return nil
	}
	return p
}

// importView is what the preview, progress and result pages show.
type importView struct {
	Import  *store.Import
	Path    string
	Invites int // invitations the preview expects to send
	Issues  []store.ImportIssue
	// MoreIssues: the table holds the first problems only.
	MoreIssues  bool
	Changes     []changeView
	MoreChanges bool
	Limit       int
}

// changeView is an existing user's changed fields, old -> new.
type changeView struct {
	Row    int
	Email  string
	Fields []fieldChange
}

type fieldChange struct {
	Label, Old, New string
}

// changeFields is the order and labels of the fields a change may hold.
var changeFields = []struct{ key, label string }{
	{"first_name", "First name"},
	{"last_name", "Last name"},
	{"permissions", "Permissions"},
	{"expiration_date", "Expiration date"},
	{"welcome_message", "Welcome message"},
}

func toChangeView(c store.ImportChange) changeView {
	var before, after map[string]any
	json.Unmarshal([]byte(c.Before), &before)
	json.Unmarshal([]byte(c.After), &after)
	cv := changeView{Row: c.Row, Email: c.Email}
	for _, f := range changeFields {
		b, okb := before[f.key]
		n, okn := after[f.key]
		if !okb && !okn {
			continue
		}
		cv.Fields = append(cv.Fields, fieldChange{Label: f.label, Old: changeValue(f.key, b), New: changeValue(f.key, n)})
	}
	return cv
}

// changeValue shows one field's value as the users table does.
func changeValue(key string, v any) string {
	switch x := v.(type) {
	case string:
		if key == "expiration_date" && x == "none" {
			return "none"
		}
		return x
	case []any:
		var labels []string
		for _, p := range x {
			s, _ := p.(string)
			if perm, err := roster.ParsePermission(s); err == nil {
				labels = append(labels, perm.Label())
			} else {
				labels = append(labels, s)
			}
		}
		if len(labels) == 0 {
			return "none"
		}
		return strings.Join(labels, ", ")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// issueRows counts the distinct rows of issues.
func issueRows(issues []store.ImportIssue) int {
	n, last := 0, -1
	for _, is := range issues {
		if is.Row != last {
			n++
			last = is.Row
		}
	}
	return n
}

func (h *Handler) showImportByID(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	p := h.importFromPath(w, r, a)
	if p == nil {
		return
	}
	im := p.Import
	v := importView{Import: im, Path: importPath(im.ID), Issues: p.Issues, Limit: admin.ImportIssueLimit}
	var notice string
	if r.URL.Query().Get("notice") == "already_applied" {
		notice = "This upload was already applied, so it was not applied again. Here is where it stands."
	}
	switch im.State {
	case store.ImportPreviewed:
		v.Invites = im.WillCreate + im.WillUpdate
		v.MoreIssues = issueRows(p.Issues) < im.WillFail
		for _, c := range p.Changes {
			v.Changes = append(v.Changes, toChangeView(c))
		}
		v.MoreChanges = len(p.Changes) >= admin.ImportIssueLimit
		h.render(w, r, "import_preview", &view{Title: "Preview of " + importName(im), Notice: notice, Data: v})
	case store.ImportApplying:
		h.render(w, r, "import_progress", &view{Title: "Inviting users", Notice: notice, Data: v})
	default:
		v.MoreIssues = issueRows(p.Issues) < im.Errors
		title := "Upload complete"
		if im.State == store.ImportFailed {
			title = "Upload stopped"
		}
		h.render(w, r, "import_result", &view{Title: title, Notice: notice, Data: v})
	}
}

func importName(im *store.Import) string {
	if im.FileName != "" {
		return im.FileName
	}
	return "upload " + strconv.FormatInt(im.ID, 10)
}

// importStatusJSON is what the progress page polls.
type importStatusJSON struct {
	State     string `json:"state"`
	Rows      int    `json:"rows"`
	Processed int    `json:"processed"`
	Counts    struct {
		Created int `json:"created"`
		Updated int `json:"updated"`
		Invited int `json:"invited"`
		Errors  int `json:"errors"`
	} `json:"counts"`
}

func (h *Handler) importStatus(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var im *store.Import
	if err == nil {
		im, err = h.svc.ImportStatus(r.Context(), a, id)
	} else {
		err = roster.ErrNotFound
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		if errors.Is(err, roster.ErrNotFound) {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"not found"}` + "\n"))
			return
		}
		h.log.Error("Dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":"internal error"}` + "\n"))
		return
	}
	var s importStatusJSON
	s.State, s.Rows, s.Processed = im.State, im.Rows, im.Processed
	s.Counts.Created, s.Counts.Updated, s.Counts.Invited, s.Counts.Errors = im.Created, im.Updated, im.Invited, im.Errors
	json.NewEncoder(w).Encode(s)
}

func (h *Handler) applyImport(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, roster.ErrNotFound)
		return
	}
	_, err = h.svc.ApplyImport(r.Context(), a, id)
	switch {
	case errors.Is(err, admin.ErrImportNotPreviewed):
		http.Redirect(w, r, importPath(id)+"?"+url.Values{"notice": {"already_applied"}}.Encode(), http.StatusSeeOther)
	case err != nil:
		h.fail(w, r, err)
	default:
		http.Redirect(w, r, importPath(id), http.StatusSeeOther)
	}
}

func (h *Handler) importReport(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	// Load it first, so that a missing one is the 404 page.
	p := h.importFromPath(w, r, a)
	if p == nil {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="roster-import-%d-report.csv"`, p.Import.ID))
	w.Header().Set("Cache-Control", "no-store")
	if err := h.svc.WriteImportReport(r.Context(), a, p.Import.ID, w); err != nil {
		// Headers are gone: all that is left is to log it.
		h.log.Error("Write import report", "org_id", a.Org.ID, "import_id", p.Import.ID, "err", err)
	}
}

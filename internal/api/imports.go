package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// importJSON is an import as GET /api/v1/imports/{id} shows it (SPEC
// "Interfaces", imports), with the preview's counts and changes besides.
type importJSON struct {
	ID        int64  `json:"id"`
	State     string `json:"state"`
	FileName  string `json:"file_name"`
	Rows      int    `json:"rows"`
	Processed int    `json:"processed"`
	Counts    struct {
		Created int `json:"created"`
		Updated int `json:"updated"`
		Invited int `json:"invited"`
		Errors  int `json:"errors"`
	} `json:"counts"`
	Preview struct {
		Create  int `json:"create"`
		Update  int `json:"update"`
		Invite  int `json:"invite"`
		Errors  int `json:"errors"`
		Changes []struct {
			Row    int             `json:"row"`
			Email  string          `json:"email"`
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
		} `json:"changes"`
	} `json:"preview"`
	// Errors lists the first row problems (at most admin.ImportIssueLimit):
	// the preview's, then those met while applying.
	Errors         []importErrorJSON `json:"errors"`
	UnknownColumns string            `json:"unknown_columns"`
	Failure        string            `json:"failure,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	FinishedAt     *time.Time        `json:"finished_at"`
}

type importErrorJSON struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// ImportView is an import as the API shows it (the CLI's --json too).
func ImportView(p *admin.ImportPreview) any { return toImportJSON(p) }

func toImportJSON(p *admin.ImportPreview) importJSON {
	im := p.Import
	var j importJSON
	j.ID, j.State, j.FileName, j.Rows, j.Processed = im.ID, im.State, im.FileName, im.Rows, im.Processed
	// SPEC "Interfaces": while previewed, counts are what applying will do;
	// from then on, what it did.
	j.Counts.Created, j.Counts.Updated, j.Counts.Invited, j.Counts.Errors = im.Created, im.Updated, im.Invited, im.Errors
	if im.State == store.ImportPreviewed {
		j.Counts.Created, j.Counts.Updated, j.Counts.Invited, j.Counts.Errors = im.WillCreate, im.WillUpdate, im.WillCreate+im.WillUpdate, im.WillFail
	}
	j.Preview.Create, j.Preview.Update, j.Preview.Errors = im.WillCreate, im.WillUpdate, im.WillFail
	j.Preview.Invite = im.WillCreate + im.WillUpdate
	j.Preview.Changes = make([]struct {
		Row    int             `json:"row"`
		Email  string          `json:"email"`
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
	}, len(p.Changes))
	for i, c := range p.Changes {
		j.Preview.Changes[i].Row, j.Preview.Changes[i].Email = c.Row, c.Email
		j.Preview.Changes[i].Before, j.Preview.Changes[i].After = json.RawMessage(c.Before), json.RawMessage(c.After)
	}
	j.Errors = make([]importErrorJSON, len(p.Issues))
	for i, is := range p.Issues {
		j.Errors[i] = importErrorJSON{Row: is.Row, Column: is.Column, Message: is.Message}
	}
	j.UnknownColumns, j.Failure, j.CreatedAt = im.UnknownColumns, im.Failure, im.CreatedAt
	if !im.FinishedAt.IsZero() {
		j.FinishedAt = &im.FinishedAt
	}
	return j
}

func (h *Handler) importTemplate(w http.ResponseWriter, r *http.Request) {
	if h.actor(w, r) == nil {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="roster-users-template.csv"`)
	w.Write(csvimport.Template())
}

// createImport previews an upload: the body is the CSV file.
func (h *Handler) createImport(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	_, maxBytes := admin.ImportLimits()
	if r.ContentLength > maxBytes {
		// Refused before reading a byte of it.
		h.writeErr(w, r, &csvimport.LimitError{Kind: csvimport.LimitBytes, Limit: maxBytes})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes+1)
	opts := admin.ImportOptions{FileName: r.URL.Query().Get("file_name")}
	q := r.URL.Query()
	if q.Has("welcome_message") {
		opts.WelcomeMessage = roster.Some(q.Get("welcome_message"))
	}
	if s := q.Get("default_expiration_date"); s != "" {
		d, err := roster.ParseDate(s)
		if err != nil {
			h.writeErr(w, r, roster.FieldError("default_expiration_date", fmt.Sprintf("%q is not a date; use YYYY-MM-DD", s)))
			return
		}
		opts.DefaultExpiration = d
	}
	p, err := h.svc.PreviewImport(r.Context(), a, r.Body, opts)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/imports/%d", p.Import.ID))
	writeJSON(w, http.StatusCreated, toImportJSON(p))
}

func (h *Handler) getImport(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		var p *admin.ImportPreview
		if p, err = h.svc.Import(r.Context(), a, id); err == nil {
			writeJSON(w, http.StatusOK, toImportJSON(p))
			return
		}
	}
	h.writeErr(w, r, err)
}

func (h *Handler) applyImport(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		if _, err = h.svc.ApplyImport(r.Context(), a, id); err == nil {
			var p *admin.ImportPreview
			if p, err = h.svc.Import(r.Context(), a, id); err == nil {
				w.Header().Set("Location", fmt.Sprintf("/api/v1/imports/%d", id))
				writeJSON(w, http.StatusAccepted, toImportJSON(p))
				return
			}
		}
	}
	h.writeErr(w, r, err)
}

func (h *Handler) importReport(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		// Check first, so that an error can still be a JSON answer.
		if _, err = h.svc.Import(r.Context(), a, id); err == nil {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="roster-import-%d-report.csv"`, id))
			if err := h.svc.WriteImportReport(r.Context(), a, id, w); err != nil {
				h.log.Error("Write import report", "import_id", id, "err", err)
			}
			return
		}
	}
	h.writeErr(w, r, err)
}

// Package api is Roster's JSON REST API under /api/v1, authenticated by
// per-organization API tokens. Handlers decode, call one admin method and
// encode; errors become {"error":{"code","message","fields"}}.
package api

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
)

//go:embed openapi.json
var openapiJSON []byte

// Handler serves /api/v1.
type Handler struct {
	svc *admin.Service
	log *slog.Logger
}

// New returns the API handler.
func New(svc *admin.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// Register adds the API's routes to mux.
func (h *Handler) Register(mux interface {
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}) {
	mux.HandleFunc("GET /api/v1/openapi.json", h.openAPI)

	// The signed-in user or token (what the learning platform reads)
	mux.HandleFunc("GET /api/v1/me", h.me)

	// Users
	mux.HandleFunc("GET /api/v1/users", h.listUsers)
	mux.HandleFunc("POST /api/v1/users", h.inviteUser)
	mux.HandleFunc("GET /api/v1/users/{id}", h.getUser)
	mux.HandleFunc("POST /api/v1/users/{id}/resend", h.resendInvitation)
	mux.HandleFunc("PATCH /api/v1/users/{id}", h.updateUser)
	mux.HandleFunc("DELETE /api/v1/users/{id}", h.removeUser)
	mux.HandleFunc("POST /api/v1/users/bulk", h.bulkUsers)
	mux.HandleFunc("GET /api/v1/bulk/{id}", h.getBulkJob)
	mux.HandleFunc("GET /api/v1/users/export.csv", h.exportUsers)

	// Audit log
	mux.HandleFunc("GET /api/v1/audit", h.listAudit)

	// CSV imports (SPEC "Bulk Upload")
	mux.HandleFunc("GET /api/v1/imports/template.csv", h.importTemplate)
	mux.HandleFunc("POST /api/v1/imports", h.createImport)
	mux.HandleFunc("GET /api/v1/imports/{id}", h.getImport)
	mux.HandleFunc("POST /api/v1/imports/{id}/apply", h.applyImport)
	mux.HandleFunc("GET /api/v1/imports/{id}/report.csv", h.importReport)

	// Anything else under the prefix is a JSON 404, not the dashboard's page.
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path, nil)
	})
}

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiJSON)
}

// actor returns the request's actor or answers 401.
func (h *Handler) actor(w http.ResponseWriter, r *http.Request) *roster.Actor {
	if a := auth.ActorFrom(r.Context()); a != nil {
		return a
	}
	err := auth.AuthErrorFrom(r.Context())
	var ae *roster.AccessError
	if errors.As(err, &ae) {
		h.writeErr(w, r, ae)
		return nil
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	msg := "send a valid API token: Authorization: Bearer <token>"
	if err != nil && !errors.Is(err, roster.ErrUnauthenticated) && !strings.HasPrefix(err.Error(), "admin:") {
		msg = err.Error()
	}
	writeError(w, http.StatusUnauthorized, "unauthenticated", msg, nil)
	return nil
}

// tooLargeError is a request body over the limit.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the request body is larger than the limit of %d bytes", e.limit)
}

// errorStatus maps a domain error to an HTTP status and code.
func errorStatus(err error) (int, string) {
	var ve *roster.ValidationError
	var ae *roster.AccessError
	var tl *tooLargeError
	var le *csvimport.LimitError
	var he *csvimport.HeaderError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &tl), errors.As(err, &le), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.As(err, &he):
		return http.StatusUnprocessableEntity, "invalid_file"
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, "invalid"
	case errors.As(err, &ae):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, roster.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, roster.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, roster.ErrLastAdmin):
		return http.StatusConflict, "last_admin"
	case errors.Is(err, admin.ErrExpiredNoResend):
		return http.StatusConflict, "expired"
	case errors.Is(err, roster.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	}
	return http.StatusInternalServerError, "internal"
}

// writeErr answers err with a safe message; internal errors are logged only.
func (h *Handler) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	var fields map[string]string
	msg := ""
	var ve *roster.ValidationError
	var ae *roster.AccessError
	switch {
	case errors.As(err, &ve):
		fields, msg = ve.Fields, "the request has invalid fields"
	case errors.As(err, &ae):
		msg = ae.Reason
		if ae.Contact != "" {
			msg += " Ask " + ae.Contact + "."
		}
	case status == http.StatusNotFound:
		msg = "not found"
	case status == http.StatusInternalServerError:
		h.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; it has been logged"
	case status == http.StatusRequestEntityTooLarge:
		msg = tooLargeMessage(err)
	default:
		msg = rootMessage(err)
	}
	writeError(w, status, code, msg, fields)
}

// tooLargeMessage states the limit a too-large body broke.
func tooLargeMessage(err error) string {
	var le *csvimport.LimitError
	var tl *tooLargeError
	switch {
	case errors.As(err, &le):
		return le.Error()
	case errors.As(err, &tl):
		return tl.Error()
	}
	_, max := admin.ImportLimits()
	return (&csvimport.LimitError{Kind: csvimport.LimitBytes, Limit: max}).Error()
}

// rootMessage is the innermost sentinel's text (never a wrapped SQL error).
func rootMessage(err error) string {
	var ee *admin.ExpiredError
	var he *csvimport.HeaderError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ee):
		return ee.Error()
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &mbe):
		_, max := admin.ImportLimits()
		return (&csvimport.LimitError{Kind: csvimport.LimitBytes, Limit: max}).Error()
	case errors.Is(err, admin.ErrImportNotPreviewed):
		return admin.ErrImportNotPreviewed.Error()
	}
	for _, s := range []error{roster.ErrLastAdmin, roster.ErrConflict, roster.ErrUnauthenticated} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "request failed"
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, fields map[string]string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Fields = code, msg, fields
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decode reads a JSON body into v, refusing unknown fields and trailing data.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return roster.FieldError("body", "send JSON with Content-Type: application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &tooLargeError{limit: mbe.Limit}
		}
		return roster.FieldError("body", "invalid JSON: "+err.Error())
	}
	if dec.More() {
		return roster.FieldError("body", "invalid JSON: unexpected data after the object")
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, roster.ErrNotFound
	}
	return id, nil
}

// userJSON is the user object of SPEC "user fields".
type userJSON struct {
	ID              int64      `json:"id"`
	Email           string     `json:"email"`
	FirstName       string     `json:"first_name"`
	LastName        string     `json:"last_name"`
	Permissions     []string   `json:"permissions"`
	Status          string     `json:"status"`
	ExpirationDate  *string    `json:"expiration_date"`
	LastLoginAt     *time.Time `json:"last_login_at"`
	LastInvitedAt   *time.Time `json:"last_invited_at"`
	InvitationCount int        `json:"invitation_count"`
	WelcomeMessage  string     `json:"welcome_message"`
	// Delivery of the latest invitation: "", queued, sent, retrying, failed.
	DeliveryStatus string `json:"delivery_status"`
	DeliveryDetail string `json:"delivery_detail,omitempty"`
}

func toJSON(u *roster.User, today roster.Date) userJSON {
	j := userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Permissions: u.Permissions.Names(),
		Status: string(u.StatusOn(today)), InvitationCount: u.InvitationCount, WelcomeMessage: u.WelcomeMessage,
		DeliveryStatus: u.DeliveryStatus, DeliveryDetail: u.DeliveryDetail}
	if !u.ExpirationDate.IsZero() {
		d := u.ExpirationDate.String()
		j.ExpirationDate = &d
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		j.LastLoginAt = &t
	}
	if !u.LastInvitedAt.IsZero() {
		t := u.LastInvitedAt.UTC()
		j.LastInvitedAt = &t
	}
	return j
}

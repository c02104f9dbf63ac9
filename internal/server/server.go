// Package server assembles Roster's HTTP handler (the routes of web and api
// behind one middleware chain, plus /healthz) and runs it: the HTTP server
// and its background work, with a graceful stop.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/api"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/web"
)

// MaxBodyBytes bounds request bodies on every route that does not set its
// own limit.
const MaxBodyBytes = 1 << 20

// Options configures the handler.
type Options struct {
	Service       *admin.Service
	Logger        *slog.Logger
	SecureCookies bool
	// Ready reports whether the server may take traffic (migrations done).
	Ready *atomic.Bool
}

// Handler returns the root handler: every route, behind recover, request
// id and logging, security headers, cross-origin protection, body limits and
// authentication, in that order.
func Handler(o Options) (http.Handler, error) {
	h, _, err := build(o)
	return h, err
}

// recordingMux remembers every pattern registered on it.
type recordingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *recordingMux) Handle(p string, h http.Handler) {
	m.patterns = append(m.patterns, p)
	m.ServeMux.Handle(p, h)
}

func (m *recordingMux) HandleFunc(p string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, p)
	m.ServeMux.HandleFunc(p, h)
}

// build returns the root handler and every route pattern registered.
func build(o Options) (http.Handler, []string, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mux := &recordingMux{ServeMux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil && !o.Ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if err := o.Service.DB().Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	wh, err := web.New(o.Service, o.Logger, web.Options{SecureCookies: o.SecureCookies})
	if err != nil {
		return nil, nil, err
	}
	wh.Register(mux)
	api.New(o.Service, o.Logger).Register(mux)

	var h http.Handler = mux
	h = authenticate(o.Service, h)
	h = limitBody(h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(denyCrossOrigin))
	h = cop.Handler(h)
	h = securityHeaders(h)
	h = logRequests(o.Logger, mux.ServeMux, h)
	h = recoverPanics(o.Logger, h)
	return h, mux.patterns, nil
}

// denyCrossOrigin answers a refused cross-origin request: JSON under the
// API, a plain sentence elsewhere.
func denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	msg := "cross-origin request refused: submit forms from Roster's own pages"
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":{"code":"forbidden","message":%q}}`+"\n", msg)
		return
	}
	http.Error(w, msg, http.StatusForbidden)
}

// recoverPanics turns a panic in a handler into a logged 500.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("Handler panicked", "method", r.Method, "path", web.RedactPath(r.URL.Path), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				http.Error(w, "Internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id (X-Request-ID) and logs one line per
// request: failures at warn or error, the rest at debug.
func logRequests(log *slog.Logger, mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		_, pattern := mux.Handler(r)
		attrs := []any{slog.Group("request", "method", r.Method, "route", pattern, "status", sw.status,
			"duration_ms", time.Since(start).Milliseconds(), "request_id", id)}
		if a := auth.ActorFrom(r.Context()); a != nil {
			attrs = append(attrs, "org_id", a.Org.ID)
		}
		switch {
		case sw.status >= 500:
			log.Error("Request failed", attrs...)
		case sw.status >= 400:
			log.Warn("Request refused", attrs...)
		default:
			log.Debug("Request", attrs...)
		}
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body; routes that take large uploads
// replace the limit themselves.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A CSV upload, through the API or the dashboard's form, sets its
		// own, larger limit (SPEC "Bulk Upload").
		upload := r.Method == http.MethodPost && (r.URL.Path == "/api/v1/imports" || r.URL.Path == "/users/import")
		if r.Body != nil && !upload {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the actor of a Bearer token or a session cookie in the
// request's context. It refuses nothing itself: each route decides.
func authenticate(svc *admin.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				ctx = auth.WithAuthError(ctx, errors.New("use Authorization: Bearer <token>"))
			} else if a, err := svc.ActorByToken(ctx, strings.TrimSpace(tok)); err != nil {
				ctx = auth.WithAuthError(ctx, err)
			} else {
				ctx = auth.WithActor(ctx, a)
			}
		} else if c, err := r.Cookie(web.SessionCookie); err == nil && c.Value != "" {
			if a, err := svc.ActorBySession(ctx, c.Value); err != nil {
				ctx = auth.WithAuthError(ctx, err)
			} else {
				ctx = auth.WithActor(ctx, a)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Run serves h on ln until ctx is cancelled, then stops accepting, lets
// requests in flight finish (up to 15 s), and returns.
func Run(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	log.Info("Shutting down; finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	<-errc
	return nil
}

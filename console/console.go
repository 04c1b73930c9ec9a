package console

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Defaults for [Config].
const (
	DefaultTimeout   = 10 * time.Second
	DefaultPageSize  = 50
	MaxPageSize      = 500
	DefaultMaxLive   = 32
	DefaultTitle     = "chronicle"
	DefaultCacheFor  = time.Second
	correlationLimit = 1000
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a [Console]. Events is required; every other field has
// a working zero value.
type Config struct {
	// Events is the event store whose streams and log the console shows
	// and tails.
	Events eventstore.Store
	// Index lists streams, finds events by ID and correlation ID and
	// measures the log; default [ScanIndex] over Events (bounded scans of
	// the most recent events). console/postgres provides an indexed one.
	Index Index
	// Projections, Sagas and Relays feed their pages and the overview;
	// each section is hidden while its source is nil.
	Projections Projections
	Sagas       Sagas
	Relays      Relays
	// AdminToken enables the actions (retry, skip, rebuild). Without it the
	// console is read-only: no action is offered and every POST is
	// refused. An operator signs in by entering the token once; the browser
	// keeps a session cookie derived from it (never the token itself).
	// Scripts may send it as "Authorization: Bearer TOKEN" instead.
	AdminToken string
	// Prefix is the path the handler is mounted under ("/console"), used
	// in every link it renders; default "" (mounted at the root). Mount it
	// with http.StripPrefix:
	//
	//	mux.Handle("/console/", http.StripPrefix("/console", c))
	Prefix string
	// Title names the console in its pages; default [DefaultTitle].
	Title string
	// Timeout bounds each page's work (every query it runs); default
	// [DefaultTimeout].
	Timeout time.Duration
	// PageSize is the rows per page of listings; default
	// [DefaultPageSize], at most [MaxPageSize].
	PageSize int
	// MaxLive bounds the live connections (tail, overview, rebuild
	// progress) served at once; default [DefaultMaxLive].
	MaxLive int
	// CacheFor is how long the overview's figures are shared between
	// requests (many open overviews then cost one set of queries); default
	// [DefaultCacheFor], negative: never shared.
	CacheFor time.Duration
	// Logger receives request failures and actions; default discard.
	Logger *slog.Logger
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Events == nil {
		errs = append(errs, errors.New("console: Config.Events is nil"))
	}
	if c.Prefix != "" && (!strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") || strings.ContainsAny(c.Prefix, "?#\"'<> ")) {
		errs = append(errs, fmt.Errorf("console: Prefix %q: want a path like /console (leading slash, no trailing slash)", c.Prefix))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("console: Timeout is negative (%v)", c.Timeout))
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("console: PageSize is %d, want 0 (the default) to %d", c.PageSize, MaxPageSize))
	}
	if c.MaxLive < 0 {
		errs = append(errs, fmt.Errorf("console: MaxLive is negative (%d)", c.MaxLive))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("console: AdminToken is shorter than 16 bytes: too easy to guess"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Index == nil {
		c.Index = ScanIndex(c.Events, 0)
	}
	c.Title = cmp.Or(c.Title, DefaultTitle)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
	c.MaxLive = cmp.Or(c.MaxLive, DefaultMaxLive)
	c.CacheFor = cmp.Or(c.CacheFor, DefaultCacheFor)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Console is the web console: an [http.Handler] serving server-rendered
// pages of the log, the projections, the sagas and the relays. It is safe
// for concurrent use. [Console.Close] stops the rebuilds it started and
// ends its live connections.
type Console struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
	key   [32]byte // signs CSRF tokens and admin sessions; new per process
	live  chan struct{}

	bg     context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   map[string]*rebuildJob
	stats  cached[overviewData]
	closed bool
}

var _ http.Handler = (*Console)(nil)

// New returns a console serving cfg's sources.
func New(cfg Config) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Console{cfg: cfg, mux: http.NewServeMux(), jobs: map[string]*rebuildJob{}, live: make(chan struct{}, cfg.MaxLive)}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil, fmt.Errorf("console: random key: %w", err)
	}
	c.bg, c.stop = context.WithCancel(context.Background())
	var err error
	if c.pages, err = parsePages(c); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Close stops the rebuilds the console started (their projections are
// left rebuilding; the runner finishes them) and ends live connections.
func (c *Console) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	return nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	c.mux.Handle("GET /static/", http.StripPrefix("/static", cacheStatic(files)))
	c.handle("GET /{$}", c.overview)
	c.mux.HandleFunc("GET /overview/live", c.overviewLive)
	c.handle("GET /streams", c.streams)
	c.handle("GET /stream", c.stream)
	c.handle("GET /event", c.event)
	c.handle("GET /correlation", c.correlation)
	c.handle("GET /search", c.search)
	c.handle("GET /tail", c.tail)
	c.mux.HandleFunc("GET /tail/live", c.tailLive)
	c.handle("GET /projections", c.projections)
	c.handle("GET /projection", c.projectionPage)
	c.mux.HandleFunc("GET /projection/live", c.projectionLive)
	c.action("POST /projection/retry", c.projectionRetry)
	c.action("POST /projection/skip", c.projectionSkip)
	c.action("POST /projection/rebuild", c.projectionRebuild)
	c.handle("GET /sagas", c.sagas)
	c.handle("GET /saga", c.sagaPage)
	c.handle("GET /saga/instance", c.sagaInstance)
	c.action("POST /saga/retry", c.sagaRetry)
	c.handle("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.HandleFunc("POST /logout", c.logout)
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, errors.New("no such page"))
	})
}

// ServeHTTP implements [http.Handler]: every response carries the
// security headers (see docs/console.md).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// handle registers a page: its work is bounded by the timeout.
func (c *Console) handle(pattern string, page func(w http.ResponseWriter, r *http.Request) error) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), c.cfg.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		if err := page(w, r); err != nil {
			c.failErr(w, r, err)
		}
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// acquireLive takes one of the live connection slots, or reports false.
func (c *Console) acquireLive() bool {
	select {
	case c.live <- struct{}{}:
		return true
	default:
		return false
	}
}

func (c *Console) releaseLive() { <-c.live }

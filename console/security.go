package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Cookie names. The CSRF cookie holds a random value; forms carry its
// HMAC under the console's per-process key (a synchronizer token that
// needs no server-side state). The admin cookie holds an HMAC of the admin
// token, never the token.
const (
	csrfCookie  = "chronicle_console_csrf"
	adminCookie = "chronicle_console_admin"
	csrfField   = "csrf"
)

// errForbidden and its friends are the refusals of actions.
var (
	errReadOnly  = errors.New("this console is read-only: it was started without an admin token")
	errNotAdmin  = errors.New("sign in with the admin token first")
	errBadCSRF   = errors.New("the form's CSRF token is missing or stale: reload the page and try again")
	errBadOrigin = errors.New("cross-site request refused")
)

func (c *Console) mac(parts ...string) string {
	m := hmac.New(sha256.New, c.key[:])
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (c *Console) cookiePath() string { return c.cfg.Prefix + "/" }

// csrfToken returns the token the page's forms carry, setting the CSRF
// cookie if the request had none.
func (c *Console) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 64 {
		v = ck.Value
	} else {
		var b [32]byte
		_, _ = rand.Read(b[:])
		v = hex.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: c.cookiePath(), HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	}
	return c.mac("csrf", v)
}

// checkPost refuses a POST that is cross-site or carries no valid CSRF
// token.
func (c *Console) checkPost(r *http.Request) error {
	// Browsers say where a request comes from in Sec-Fetch-Site; older
	// ones only in Origin ("null" when a page's referrer policy hides it).
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return c.checkCSRF(r)
	case "":
	default:
		return errBadOrigin
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return errBadOrigin
		}
	}
	return c.checkCSRF(r)
}

func (c *Console) checkCSRF(r *http.Request) error {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 64 {
		return errBadCSRF
	}
	if !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(c.mac("csrf", ck.Value))) {
		return errBadCSRF
	}
	return nil
}

// adminSession is the admin cookie's value for the configured token.
func (c *Console) adminSession() string {
	sum := sha256.Sum256([]byte(c.cfg.AdminToken))
	return c.mac("admin", hex.EncodeToString(sum[:]))
}

// tokenOK compares a presented token with the configured one in constant
// time (both hashed first, so lengths leak nothing).
func (c *Console) tokenOK(presented string) bool {
	a := sha256.Sum256([]byte(presented))
	b := sha256.Sum256([]byte(c.cfg.AdminToken))
	return c.cfg.AdminToken != "" && hmac.Equal(a[:], b[:])
}

// isAdmin reports whether the request carries the admin session or the
// token itself.
func (c *Console) isAdmin(r *http.Request) bool {
	if c.cfg.AdminToken == "" {
		return false
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return c.tokenOK(tok)
	}
	ck, err := r.Cookie(adminCookie)
	return err == nil && hmac.Equal([]byte(ck.Value), []byte(c.adminSession()))
}

// action registers a POST that changes something: it needs an admin token
// configured, the admin session (or token), and a valid CSRF token.
func (c *Console) action(pattern string, do func(w http.ResponseWriter, r *http.Request) error) {
	c.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		switch {
		case c.cfg.AdminToken == "":
			return statusError{http.StatusForbidden, errReadOnly}
		case !c.isAdmin(r):
			return statusError{http.StatusForbidden, errNotAdmin}
		}
		if err := c.checkPost(r); err != nil {
			return statusError{http.StatusForbidden, err}
		}
		return do(w, r)
	})
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) error {
	if c.cfg.AdminToken == "" {
		return statusError{http.StatusForbidden, errReadOnly}
	}
	return c.render(w, r, "login", "Sign in", map[string]any{"Next": c.localNext(r.FormValue("next")), "Failed": r.FormValue("failed") != ""})
}

// localNext keeps a redirect target only if it is a path inside the
// console.
func (c *Console) localNext(next string) string {
	if next == "" || !strings.HasPrefix(next, c.cfg.Prefix+"/") || strings.HasPrefix(next, "//") ||
		strings.Contains(next, "\\") || strings.ContainsAny(next, "\r\n") {
		return c.cfg.Prefix + "/"
	}
	return next
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if c.cfg.AdminToken == "" {
		c.fail(w, r, http.StatusForbidden, errReadOnly)
		return
	}
	if err := c.checkPost(r); err != nil {
		c.fail(w, r, http.StatusForbidden, err)
		return
	}
	next := c.localNext(r.PostFormValue("next"))
	if !c.tokenOK(r.PostFormValue("token")) {
		c.cfg.Logger.Warn("console: sign-in refused", "remote", r.RemoteAddr)
		http.Redirect(w, r, c.cfg.Prefix+"/login?failed=1&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	c.cfg.Logger.Info("console: signed in", "remote", r.RemoteAddr)
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: c.adminSession(), Path: c.cookiePath(), HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := c.checkPost(r); err != nil {
		c.fail(w, r, http.StatusForbidden, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: c.cookiePath(), MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, c.cfg.Prefix+"/", http.StatusSeeOther)
}

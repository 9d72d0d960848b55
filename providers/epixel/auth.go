package epixel

import (
	"context"
	"errors"
	"net/http"

	"github.com/crmsync/crmsync/providers"
)

// tokenData is the data of POST /user/login/ and POST /user/token/refresh/.
type tokenData struct {
	Refresh string `json:"refresh"`
	Access  string `json:"access"`
}

// token returns the current access token and its generation, logging in
// first when there is none.
func (a *Adapter) token(ctx context.Context) (string, uint64, error) {
	a.tokMu.Lock()
	tok, gen := a.access, a.gen
	a.tokMu.Unlock()
	if tok != "" {
		return tok, gen, nil
	}
	tok, err := a.renew(ctx, gen)
	if err != nil {
		return "", 0, err
	}
	a.tokMu.Lock()
	gen = a.gen
	a.tokMu.Unlock()
	return tok, gen, nil
}

// renew replaces the access token of generation seen: with the refresh token
// when there is one, else (or when it is refused) by logging in again. One
// renewal runs at a time; callers that saw an older generation than the
// current one get the token another caller already obtained, so many
// goroutines meeting an expired token cause one renewal.
func (a *Adapter) renew(ctx context.Context, seen uint64) (string, error) {
	select {
	case a.renewSem <- struct{}{}:
	case <-ctx.Done():
		return "", &providers.Error{Class: providers.ClassPermanent, Op: "POST /user/login/", Err: ctx.Err()}
	}
	defer func() { <-a.renewSem }()

	a.tokMu.Lock()
	if a.gen != seen && a.access != "" {
		tok := a.access
		a.tokMu.Unlock()
		return tok, nil
	}
	refresh := a.refresh
	a.tokMu.Unlock()

	if refresh != "" {
		var d tokenData
		err := a.call(ctx, &request{method: http.MethodPost, route: "/user/token/refresh/", form: [][2]string{{"refresh", refresh}}}, &d)
		switch {
		case err == nil && d.Access != "":
			a.store(d.Access, refresh)
			return d.Access, nil
		case err != nil && !refusedToken(err):
			return "", err
		}
		a.log.DebugContext(ctx, "epixel: refresh token refused, logging in again", "connection", a.name)
	}
	var d tokenData
	err := a.call(ctx, &request{method: http.MethodPost, route: "/user/login/",
		form: [][2]string{{"username", a.username}, {"password", a.password}}}, &d)
	if err != nil {
		return "", err
	}
	if d.Access == "" {
		return "", &providers.Error{Class: providers.ClassAuth, Op: "POST /user/login/", Message: "login answered no access token"}
	}
	a.store(d.Access, d.Refresh)
	return d.Access, nil
}

// refusedToken reports whether a refresh failed because the refresh token
// itself was refused (so logging in again may help).
func refusedToken(err error) bool {
	var e *providers.Error
	return errors.As(err, &e) && (e.Class == providers.ClassAuth || e.Class == providers.ClassValidation)
}

// store installs new tokens as the next generation.
func (a *Adapter) store(access, refresh string) {
	a.tokMu.Lock()
	defer a.tokMu.Unlock()
	a.access, a.refresh = access, refresh
	a.gen++
}

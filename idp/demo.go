package idp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sithseid/sithseid/oob"
)

// The demo login page: a relying party built into the service, so a person
// can try the whole login with a browser and the app. The browser holds a
// demo session id; the order's orderRef and the relying party's side stay
// on the server.

// demoText is the userVisibleData of demo orders.
const demoText = "Inloggning till Demo-journalen (demo)\nLogin to Demo-journalen (demo)"

// demoQRSize is the side of the QR image in pixels.
const demoQRSize = 256

// demoSessions maps the browser's demo session id to an orderRef.
type demoSessions struct {
	mu       sync.Mutex
	sessions map[tokenKey]demoSession
}

type demoSession struct {
	id, ref string
	created time.Time
}

func newDemoSessions() *demoSessions { return &demoSessions{sessions: map[tokenKey]demoSession{}} }

func (d *demoSessions) ref(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[keyOf(id)]
	if !ok || subtle.ConstantTimeCompare([]byte(s.id), []byte(id)) != 1 {
		return "", false
	}
	return s.ref, true
}

func (s *Server) demoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleDemoPage)
	mux.HandleFunc("POST /demo/start", s.handleDemoStart)
	mux.HandleFunc("GET /demo/collect", s.handleDemoCollect)
	mux.HandleFunc("GET /demo/qr.png", s.handleDemoQR)
	mux.HandleFunc("POST /demo/cancel", s.handleDemoCancel)
}

// demoOrder finds the order of the request's ?order= demo session.
func (s *Server) demoOrder(w http.ResponseWriter, r *http.Request) (orderView, bool) {
	id := r.URL.Query().Get("order")
	ref, ok := s.demo.ref(id)
	if ok {
		var v orderView
		if v, ok = s.orders.collect(s.demoRP, ref); ok {
			return v, true
		}
	}
	writeError(w, http.StatusNotFound, oob.ErrorCodeNotFound, "no such demo order")
	return orderView{}, false
}

// demoReturnURL is the demo order id's return URL under the configured
// PublicURL, or "" without one. Not from the request's Host header: a
// client that sets it would have the service hand its own address to the
// app as the relying party's return URL.
func (s *Server) demoReturnURL(id string) string {
	if s.baseURL == "" {
		return ""
	}
	u := s.baseURL + "/?order=" + id
	if oob.CheckRedirect(u) != nil {
		return ""
	}
	return u
}

type demoStartReply struct {
	Order        string `json:"order"`
	AutoStartURL string `json:"autoStartUrl"`
}

type demoCollectReply struct {
	Status       string `json:"status"`
	HintCode     string `json:"hintCode,omitempty"`
	HSAID        string `json:"hsaId,omitempty"`
	Name         string `json:"name,omitempty"`
	AutoStartURL string `json:"autoStartUrl,omitempty"`
}

func writePlainJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) handleDemoStart(w http.ResponseWriter, r *http.Request) {
	// A POST that names no order: cross-site forms could start orders, but
	// an order is harmless until someone holding the card approves it.
	now := s.now()
	id := oob.NewUUID()
	returnURL := s.demoReturnURL(id)
	o, err := s.orders.create(s.demoRP, clientIP(r), demoText, returnURL)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, oob.ErrorCodeMaintenance, "too many orders in progress")
		return
	}
	s.demo.mu.Lock()
	s.demo.sessions[keyOf(id)] = demoSession{id: id, ref: o.ref, created: now}
	for k, ds := range s.demo.sessions {
		if now.Sub(ds.created) > s.lifetime+orderRetention {
			delete(s.demo.sessions, k)
		}
	}
	s.demo.mu.Unlock()
	s.log.Info("order started", "rp", s.demoRP.name, "orderRef", o.ref, "endUserIp", clientIP(r))
	writePlainJSON(w, http.StatusOK, demoStartReply{Order: id, AutoStartURL: oob.AutoStartURL(o.autoStartToken, returnURL)})
}

func (s *Server) handleDemoCollect(w http.ResponseWriter, r *http.Request) {
	v, ok := s.demoOrder(w, r)
	if !ok {
		return
	}
	reply := demoCollectReply{Status: v.status}
	switch v.status {
	case oob.StatusComplete:
		reply.HSAID, reply.Name = v.completion.User.HSAID, v.completion.User.Name
	case oob.StatusPending:
		reply.HintCode = v.hint
		reply.AutoStartURL = oob.AutoStartURL(v.autoStart, v.returnURL)
	default:
		reply.HintCode = v.hint
	}
	writePlainJSON(w, http.StatusOK, reply)
}

func (s *Server) handleDemoQR(w http.ResponseWriter, r *http.Request) {
	v, ok := s.demoOrder(w, r)
	if !ok {
		return
	}
	t, inWindow := qrTime(v, s.now())
	if v.status != oob.StatusPending || !inWindow {
		writeError(w, http.StatusGone, oob.ErrorCodeExpired, "QR window over")
		return
	}
	png, err := oob.QRPNG(oob.QRPayload(v.qrToken, v.qrSecret, t), demoQRSize)
	if err != nil {
		writeError(w, http.StatusInternalServerError, oob.ErrorCodeInternalError, "rendering QR code failed")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (s *Server) handleDemoCancel(w http.ResponseWriter, r *http.Request) {
	v, ok := s.demoOrder(w, r)
	if !ok {
		return
	}
	_ = s.orders.cancel(s.demoRP, v.ref) // an ended order stays as it is
	writePlainJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) handleDemoPage(w http.ResponseWriter, r *http.Request) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	n := base64.StdEncoding.EncodeToString(nonce)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; connect-src 'self'; style-src 'nonce-"+n+"'; script-src 'nonce-"+n+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	demoPage.Execute(w, struct {
		Nonce string
		RP    string
		Order string
	}{n, DemoRelyingPartyName, url.QueryEscape(r.URL.Query().Get("order"))})
}

var demoPage = template.Must(template.New("demo").Parse(`<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.RP}} – logga in med SITHS eID</title>
<style nonce="{{.Nonce}}">
body { font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em; color: #1a1a1a; }
h1 { font-size: 1.5em; }
.en { color: #555; font-size: 0.9em; }
#qr { width: 256px; height: 256px; image-rendering: pixelated; border: 1px solid #ccc; }
#autostart-link { display: inline-block; padding: 0.7em 1.2em; background: #00594f; color: #fff; text-decoration: none; border-radius: 4px; }
#result[hidden], #qr[hidden] { display: none; }
</style>
</head>
<body>
<h1>Logga in på {{.RP}}</h1>
<p class="en" lang="en">Log in to {{.RP}}</p>

<p><a id="autostart-link" href="#">Öppna SITHS eID på den här enheten<br><span lang="en">Open SITHS eID on this device</span></a></p>

<p>Eller skanna QR-koden med SITHS eID i en annan enhet.<br>
<span class="en" lang="en">Or scan the QR code with SITHS eID on another device.</span></p>
<img id="qr" alt="QR-kod för inloggning / QR code for login" width="256" height="256">

<p id="status" data-status="" aria-live="polite">Startar inloggning …<br><span class="en" lang="en">Starting login …</span></p>

<div id="result" hidden>
<p>Inloggad som <strong id="name"></strong>, HSA-id <code id="hsaid"></code>.<br>
<span class="en" lang="en">Logged in. The HSA-ID is shown above.</span></p>
</div>

<script nonce="{{.Nonce}}">
"use strict";
const texts = {
  outstandingTransaction: ["Starta SITHS eID med knappen ovan, eller skanna QR-koden.", "Start SITHS eID with the button above, or scan the QR code."],
  started: ["SITHS eID har öppnat inloggningen. Kontrollera uppgifterna och ange din PIN-kod i appen.", "SITHS eID has opened the login. Check the details and enter your PIN in the app."],
  userSign: ["Ange din PIN-kod i SITHS eID.", "Enter your PIN in SITHS eID."],
  complete: ["Du är inloggad.", "You are logged in."],
  userCancel: ["Inloggningen avbröts.", "The login was cancelled."],
  expiredTransaction: ["Tiden för inloggningen gick ut. Ladda om sidan för att försöka igen.", "The login timed out. Reload the page to try again."],
  certificateErr: ["Kortets certifikat godtogs inte (fel typ, utgånget eller spärrat).", "The card's certificate was not accepted (wrong kind, expired or revoked)."],
  startFailed: ["SITHS eID kunde inte starta inloggningen.", "SITHS eID could not start the login."],
  cardRemoved: ["Kortet togs ur under inloggningen.", "The card was removed during the login."],
  endUserIpMismatch: ["Inloggningen öppnades på en annan dator än den där den startades och stoppades.", "The login was opened on another computer than the one it was started on, and stopped."],
  failed: ["Inloggningen misslyckades.", "The login failed."],
  error: ["Kunde inte nå inloggningstjänsten.", "Could not reach the login service."]
};
const statusEl = document.getElementById("status");
const qr = document.getElementById("qr");
const link = document.getElementById("autostart-link");
let order = "{{.Order}}";
let qrTimer = null;

function show(status, key) {
  const t = texts[key] || texts[status] || texts.failed;
  statusEl.dataset.status = status;
  statusEl.textContent = t[0];
  statusEl.appendChild(document.createElement("br"));
  const en = document.createElement("span");
  en.className = "en"; en.lang = "en"; en.textContent = t[1];
  statusEl.appendChild(en);
}

function refreshQR() {
  qr.src = "/demo/qr.png?order=" + encodeURIComponent(order) + "&n=" + Date.now();
}
qr.addEventListener("error", () => { qr.hidden = true; if (qrTimer) { clearInterval(qrTimer); qrTimer = null; } });

async function poll() {
  let j;
  try {
    const r = await fetch("/demo/collect?order=" + encodeURIComponent(order), {cache: "no-store"});
    if (!r.ok) { show("failed", r.status === 404 ? "expiredTransaction" : "error"); stopQR(); return; }
    j = await r.json();
  } catch (e) { show("failed", "error"); setTimeout(poll, 2000); return; }
  if (j.autoStartUrl) { link.href = j.autoStartUrl; }
  if (j.status === "complete") {
    stopQR();
    document.getElementById("hsaid").textContent = j.hsaId;
    document.getElementById("name").textContent = j.name;
    document.getElementById("result").hidden = false;
    show("complete", "complete");
    return;
  }
  show(j.status, j.hintCode);
  if (j.status === "pending") { setTimeout(poll, 2000); } else { stopQR(); }
}

function stopQR() {
  if (qrTimer) { clearInterval(qrTimer); qrTimer = null; }
  qr.hidden = true;
}

async function start() {
  if (!order) {
    try {
      const r = await fetch("/demo/start", {method: "POST"});
      if (!r.ok) { show("failed", "error"); return; }
      const j = await r.json();
      order = j.order;
      link.href = j.autoStartUrl;
      history.replaceState(null, "", "/?order=" + encodeURIComponent(order));
    } catch (e) { show("failed", "error"); return; }
  }
  refreshQR();
  qrTimer = setInterval(refreshQR, 1000);
  poll();
}
start();
</script>
</body>
</html>
`))

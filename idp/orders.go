package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	"github.com/sithseid/sithseid/oob"
)

// order is one login order. The fields above the blank line are set at
// creation and never change; those below are guarded by orderStore.mu.
type order struct {
	ref            string
	rp             *relyingParty
	autoStartToken string
	qrStartToken   string
	qrStartSecret  string
	endUserIP      string
	requireIPMatch bool   // refuse, not flag, a lookup from another address
	text           string // decoded userVisibleData
	returnURL      string
	created        time.Time
	expires        time.Time

	status     string // oob.StatusPending, StatusFailed, StatusComplete
	hint       string // with pending and failed
	completion *oob.CompletionData
	ended      time.Time // when it left pending; zero while pending
	txs        int       // transactions handed out by lookup
}

// transaction is one authenticator session of an order, made by lookup.
type transaction struct {
	id        string
	order     *order
	challenge []byte
}

// maxTransactionsPerOrder bounds lookups of one order: the app looks an
// order up once or twice; more is someone probing with a leaked token.
const maxTransactionsPerOrder = 8

// orderRetention is how long an ended order stays for collect (and for
// refusing its tokens with "expired" rather than "notFound").
const orderRetention = 5 * time.Minute

// tokenKey indexes maps by the SHA-256 of a token, so a map lookup's string
// comparison does not leak the token's prefix through timing; the stored
// token is then compared in constant time.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// orderStore holds the orders. One mutex guards everything: the service's
// work per request under the lock is a few map operations; the expensive
// parts (chain building, OCSP, signature checks) run outside it.
type orderStore struct {
	now       func() time.Time
	lifetime  time.Duration
	maxOrders int

	mu          sync.Mutex
	byRef       map[tokenKey]*order
	byAutoStart map[tokenKey]*order
	byQR        map[tokenKey]*order
	byTx        map[tokenKey]*transaction
	lastPurge   time.Time
}

func newOrderStore(now func() time.Time, lifetime time.Duration, maxOrders int) *orderStore {
	return &orderStore{
		now: now, lifetime: lifetime, maxOrders: maxOrders,
		byRef:       map[tokenKey]*order{},
		byAutoStart: map[tokenKey]*order{},
		byQR:        map[tokenKey]*order{},
		byTx:        map[tokenKey]*transaction{},
	}
}

// storeFullError: too many live orders; the caller answers 503 maintenance.
type storeFullError struct{}

func (storeFullError) Error() string { return "too many live orders" }

// create starts an order for rp.
func (s *orderStore) create(rp *relyingParty, endUserIP, text, returnURL string) (*order, error) {
	return s.createOrder(rp, oob.AuthRequest{EndUserIP: endUserIP, UserVisibleData: oob.Base64(text), ReturnURL: returnURL})
}

// createOrder starts an order for rp from its auth request.
func (s *orderStore) createOrder(rp *relyingParty, req oob.AuthRequest) (*order, error) {
	endUserIP, text, returnURL := req.EndUserIP, string(req.UserVisibleData), req.ReturnURL
	now := s.now()
	o := &order{
		requireIPMatch: req.RequireEndUserIPMatch,
		ref:            oob.NewUUID(),
		rp:             rp,
		autoStartToken: oob.NewUUID(),
		qrStartToken:   oob.NewUUID(),
		qrStartSecret:  oob.NewUUID(),
		endUserIP:      endUserIP,
		text:           text,
		returnURL:      returnURL,
		created:        now,
		expires:        now.Add(s.lifetime),
		status:         oob.StatusPending,
		hint:           oob.HintOutstandingTransaction,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(now, false)
	if len(s.byAutoStart) >= s.maxOrders {
		s.purgeLocked(now, true)
		if len(s.byAutoStart) >= s.maxOrders {
			return nil, storeFullError{}
		}
	}
	s.byRef[keyOf(o.ref)] = o
	s.byAutoStart[keyOf(o.autoStartToken)] = o
	s.byQR[keyOf(o.qrStartToken)] = o
	return o, nil
}

// purgeLocked forgets orders that ended (or expired) more than
// orderRetention ago, at most every few seconds unless forced. This bounds
// memory to the orders of the last lifetime + retention.
func (s *orderStore) purgeLocked(now time.Time, force bool) {
	if !force && now.Sub(s.lastPurge) < 5*time.Second {
		return
	}
	s.lastPurge = now
	for k, o := range s.byAutoStart {
		s.expireLocked(o, now)
		if o.status == oob.StatusPending || now.Sub(o.ended) < orderRetention {
			continue
		}
		delete(s.byAutoStart, k)
		delete(s.byRef, keyOf(o.ref))
		delete(s.byQR, keyOf(o.qrStartToken))
	}
	for k, tx := range s.byTx {
		if _, live := s.byAutoStart[keyOf(tx.order.autoStartToken)]; !live {
			delete(s.byTx, k)
		}
	}
}

// expireLocked fails a pending order whose lifetime is over.
func (s *orderStore) expireLocked(o *order, now time.Time) {
	if o.status == oob.StatusPending && !now.Before(o.expires) {
		o.status, o.hint, o.ended = oob.StatusFailed, oob.HintExpiredTransaction, o.expires
	}
}

func (s *orderStore) endLocked(o *order, status, hint string) {
	o.status, o.hint, o.ended = status, hint, s.now()
}

// find looks token up in m by its hash, then compares the stored token in
// constant time. The caller holds orderStore.mu.
func find[T any](m map[tokenKey]T, token string, tokenOf func(T) string) (T, bool) {
	v, ok := m[keyOf(token)]
	if !ok || subtle.ConstantTimeCompare([]byte(tokenOf(v)), []byte(token)) != 1 {
		var zero T
		return zero, false
	}
	return v, true
}

// orderView is a copy of an order's state for a reply, taken under the lock.
type orderView struct {
	ref        string
	rp         *relyingParty
	status     string
	hint       string
	completion *oob.CompletionData
	text       string
	returnURL  string
	created    time.Time
	expires    time.Time
	qrToken    string
	qrSecret   string
	autoStart  string
	endUserIP  string
	requireIP  bool
}

func viewOf(o *order) orderView {
	return orderView{
		ref: o.ref, rp: o.rp, status: o.status, hint: o.hint, completion: o.completion,
		text: o.text, returnURL: o.returnURL, created: o.created, expires: o.expires,
		qrToken: o.qrStartToken, qrSecret: o.qrStartSecret, autoStart: o.autoStartToken,
		endUserIP: o.endUserIP, requireIP: o.requireIPMatch,
	}
}

// collect returns the order orderRef of rp. Other relying parties' orders
// are not found.
func (s *orderStore) collect(rp *relyingParty, orderRef string) (orderView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byRef, orderRef, func(o *order) string { return o.ref })
	if !ok || o.rp != rp {
		return orderView{}, false
	}
	s.expireLocked(o, s.now())
	return viewOf(o), true
}

// cancel fails the pending order orderRef of rp with userCancel
// (docs/protocol.md §3). An ended order gives lookupEnded or
// lookupCompleted, an unknown one lookupNotFound.
func (s *orderStore) cancel(rp *relyingParty, orderRef string) lookupError {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byRef, orderRef, func(o *order) string { return o.ref })
	if !ok || o.rp != rp {
		return lookupNotFound
	}
	if e := s.liveLocked(o); e != lookupOK {
		return e
	}
	s.endLocked(o, oob.StatusFailed, oob.HintUserCancel)
	return lookupOK
}

// lookupError is why an authenticator call on an order is refused.
type lookupError int

const (
	lookupOK        lookupError = iota
	lookupNotFound              // no such token (or long purged)
	lookupEnded                 // the order failed, expired or was cancelled
	lookupCompleted             // the order is complete (first completion won)
	lookupTooMany               // too many transactions on the order
)

// byAutoStartToken returns the live order with that autostart token.
func (s *orderStore) byAutoStartToken(token string) (orderView, lookupError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byAutoStart, token, func(o *order) string { return o.autoStartToken })
	if !ok {
		return orderView{}, lookupNotFound
	}
	return viewOf(o), s.liveLocked(o)
}

// failByAutoStartToken fails the live order with that autostart token
// with hint (a lookup the order's terms refuse).
func (s *orderStore) failByAutoStartToken(token, hint string) lookupError {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byAutoStart, token, func(o *order) string { return o.autoStartToken })
	if !ok {
		return lookupNotFound
	}
	if e := s.liveLocked(o); e != lookupOK {
		return e
	}
	s.endLocked(o, oob.StatusFailed, hint)
	return lookupOK
}

// byQRStartToken returns the live order with that QR start token.
func (s *orderStore) byQRStartToken(token string) (orderView, lookupError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byQR, token, func(o *order) string { return o.qrStartToken })
	if !ok {
		return orderView{}, lookupNotFound
	}
	return viewOf(o), s.liveLocked(o)
}

func (s *orderStore) liveLocked(o *order) lookupError {
	s.expireLocked(o, s.now())
	switch {
	case o.status == oob.StatusComplete:
		return lookupCompleted
	case o.status != oob.StatusPending:
		return lookupEnded
	}
	return lookupOK
}

// startTransaction opens an authenticator session on the live order whose
// autostart token is autoStartToken (the order was found by either token;
// the caller passes the autostart token from the view). The order's hint
// becomes "started".
func (s *orderStore) startTransaction(autoStartToken string) (*transaction, orderView, lookupError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := find(s.byAutoStart, autoStartToken, func(o *order) string { return o.autoStartToken })
	if !ok {
		return nil, orderView{}, lookupNotFound
	}
	if e := s.liveLocked(o); e != lookupOK {
		return nil, orderView{}, e
	}
	if o.txs >= maxTransactionsPerOrder {
		return nil, orderView{}, lookupTooMany
	}
	o.txs++
	tx := &transaction{id: oob.NewUUID(), order: o, challenge: make([]byte, oob.ChallengeSize)}
	rand.Read(tx.challenge) // never fails (crypto/rand, Go ≥ 1.24)
	s.byTx[keyOf(tx.id)] = tx
	o.hint = oob.HintStarted
	return tx, viewOf(o), lookupOK
}

// transactionView is what complete needs of a transaction, copied under
// the lock.
type transactionView struct {
	tx    *transaction
	order orderView
}

// transaction finds a transaction of a live order.
func (s *orderStore) transaction(id string) (transactionView, lookupError) {
	return s.transactionHint(id, "")
}

// beginComplete is transaction for a completion: the order's hint becomes
// userSign while the service verifies (docs/protocol.md §6).
func (s *orderStore) beginComplete(id string) (transactionView, lookupError) {
	return s.transactionHint(id, oob.HintUserSign)
}

func (s *orderStore) transactionHint(id, hint string) (transactionView, lookupError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := find(s.byTx, id, func(t *transaction) string { return t.id })
	if !ok {
		return transactionView{}, lookupNotFound
	}
	e := s.liveLocked(tx.order)
	if e == lookupOK && hint != "" {
		tx.order.hint = hint
	}
	return transactionView{tx: tx, order: viewOf(tx.order)}, e
}

// complete marks the transaction's order complete if it is still pending:
// the first completion wins, every later one gets lookupCompleted.
func (s *orderStore) complete(tx *transaction, cd *oob.CompletionData) (orderView, lookupError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := tx.order
	if e := s.liveLocked(o); e != lookupOK {
		return orderView{}, e
	}
	s.endLocked(o, oob.StatusComplete, "")
	o.completion = cd
	return viewOf(o), lookupOK
}

// fail ends the transaction's order with hint if it is still pending.
func (s *orderStore) fail(tx *transaction, hint string) lookupError {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := tx.order
	if e := s.liveLocked(o); e != lookupOK {
		return e
	}
	s.endLocked(o, oob.StatusFailed, hint)
	return lookupOK
}

// size is the number of orders held (tests check the purge).
func (s *orderStore) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byAutoStart)
}
